/* Progressive enhancement of the share form: search the directory as you type.
   Without this script the GET search form re-renders the page with « Ajouter » buttons. */
(function () {
  "use strict";
  var input = document.getElementById("dir-q");
  var list = document.getElementById("matches");
  var chosen = document.getElementById("chosen");
  var postInputs = document.getElementById("chosen-inputs");
  var searchForm = document.getElementById("dir-search");
  if (!input || !list || !chosen || !postInputs || !searchForm) { return; }
  var timer = null;
  var seq = 0;

  function chosenIds() {
    return Array.prototype.map.call(
      postInputs.querySelectorAll("input[name=recipients]"), function (i) { return i.value; });
  }

  function hidden(name, value) {
    var el = document.createElement("input");
    el.type = "hidden"; el.name = name; el.value = value;
    return el;
  }

  function describe(item) {
    if (item.external) {  // another operator's address: never mistaken for the directory's
      return item.name + " — correspondant externe <" + item.address + ">";
    }
    var text = item.name + " — " + item.profession;
    if (item.specialty) { text += " (" + item.specialty + ")"; }
    if (item.city) { text += ", " + item.city; }
    return text;
  }

  function add(item) {
    if (chosenIds().indexOf(item.id) >= 0) { return; }
    var postInput = hidden("recipients", item.id);
    var getInput = hidden("r", item.id);
    postInputs.appendChild(postInput);
    searchForm.insertBefore(getInput, searchForm.firstChild);
    var li = document.createElement("li");
    li.dataset.id = item.id;
    var span = document.createElement("span");
    span.textContent = describe(item);
    var remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Retirer";
    remove.setAttribute("aria-label", "Retirer " + item.name);
    remove.addEventListener("click", function () {
      li.remove(); postInput.remove(); getInput.remove(); input.focus();
    });
    li.appendChild(span); li.appendChild(remove);
    chosen.appendChild(li);
    var none = document.getElementById("no-recipient");
    if (none) { none.remove(); }
  }

  function render(items) {
    list.textContent = "";
    var ids = chosenIds();
    var shown = items.filter(function (it) { return ids.indexOf(it.id) < 0; });
    if (!shown.length) {
      var empty = document.createElement("li");
      empty.className = "hint";
      empty.textContent = "Aucun professionnel trouvé.";
      list.appendChild(empty);
      return;
    }
    shown.forEach(function (item) {
      var li = document.createElement("li");
      if (item.external) { li.className = "external"; }
      var span = document.createElement("span");
      span.textContent = describe(item);
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = "Ajouter";
      button.setAttribute("aria-label", "Ajouter " + item.name);
      button.addEventListener("click", function () { add(item); li.remove(); input.focus(); });
      li.appendChild(span); li.appendChild(button);
      list.appendChild(li);
    });
  }

  function search() {
    var q = input.value.trim();
    var mine = ++seq;
    if (q.length < 2) { list.textContent = ""; return; }
    fetch("/web/annuaire?q=" + encodeURIComponent(q),
          { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .then(function (data) { if (mine === seq) { render(data.items || []); } })
      .catch(function () { /* the « Rechercher » button still works */ });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(search, 250);
  });
})();

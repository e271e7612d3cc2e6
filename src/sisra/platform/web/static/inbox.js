// « Documents reçus »: the Tous / Non lus switch submits the search form, and hovering (or
// focusing) a title shows the first page of the document, loaded only then (MonSisra's tooltip).
// The patient's record: a first page that cannot be drawn says so, as in the tooltip.
(function () {
  "use strict";
  var UNAVAILABLE = "Aperçu indisponible : ouvrez le PDF pour le consulter.";

  document.querySelectorAll("details.preview img").forEach(function (img) {
    img.addEventListener("error", function () {
      var p = document.createElement("p");
      p.textContent = UNAVAILABLE;
      img.replaceWith(p);
    });
  });
  var form = document.getElementById("inbox-form");
  if (form) {
    form.querySelectorAll("input[name=etat]").forEach(function (radio) {
      radio.addEventListener("change", function () { form.requestSubmit(); });
    });
  }

  var tip = null;
  var timer = null;
  var cache = {};

  function hide() {
    if (timer) { clearTimeout(timer); timer = null; }
    if (tip) { tip.remove(); tip = null; }
  }

  function show(cell) {
    hide();
    var url = cell.getAttribute("data-preview");
    tip = document.createElement("div");
    tip.className = "preview-tip";
    tip.setAttribute("role", "tooltip");
    tip.id = "preview-tip";
    var img = document.createElement("img");
    img.alt = "Aperçu de la première page de « " + cell.getAttribute("data-title") + " »";
    img.width = 360;
    img.addEventListener("error", function () {
      var p = document.createElement("p");
      p.textContent = UNAVAILABLE;
      img.replaceWith(p);
    });
    img.src = cache[url] || url;
    cache[url] = url;
    tip.appendChild(img);
    var box = cell.getBoundingClientRect();
    tip.style.left = Math.round(window.scrollX + box.left) + "px";
    tip.style.top = Math.round(window.scrollY + box.bottom + 4) + "px";
    document.body.appendChild(tip);
    cell.setAttribute("aria-describedby", "preview-tip");
  }

  document.querySelectorAll("[data-preview]").forEach(function (cell) {
    function later() {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(function () { timer = null; show(cell); }, 350);
    }
    cell.addEventListener("mouseenter", later);
    cell.addEventListener("focus", later);
    cell.addEventListener("mouseleave", hide);
    cell.addEventListener("blur", hide);
  });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") { hide(); } });
})();

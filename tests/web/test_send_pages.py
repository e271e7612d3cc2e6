"""Sending a document from the web pages, clicked through in Chromium."""

import io
import re
from typing import Any

import httpx
from playwright.sync_api import Page, expect
from pypdf import PdfReader
from sqlalchemy import func, select

from sisra.platform.models import Document, Notification


def _inbox(live_server: Any, persona: Any) -> list[dict[str, Any]]:
    r = httpx.get(f"{live_server.url}/api/v1/inbox", headers=persona.headers, timeout=30)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def _record(live_server: Any, persona: Any, patient_id: Any) -> list[dict[str, Any]]:
    r = httpx.get(
        f"{live_server.url}/api/v1/patients/{patient_id}/documents",
        headers=persona.headers,
        timeout=30,
    )
    assert r.status_code == 200, r.text
    docs: list[dict[str, Any]] = r.json()["documents"]
    return docs


def _add_recipient_typing(page: Page, query: str, name: str) -> None:
    """Search as you type (send.js) then « Ajouter »."""
    page.get_by_label("+ Ajouter un destinataire").fill(query)
    page.get_by_role("button", name=f"Ajouter {name}").click()
    expect(page.locator("#chosen")).to_contain_text(name)


def _add_recipient_without_js(page: Page, query: str, name: str) -> None:
    """The GET search form (no script needed): Enter re-renders the page with the matches."""
    field = page.get_by_label("+ Ajouter un destinataire")
    field.fill(query)
    with page.expect_navigation():
        field.press("Enter")
    expect(page).to_have_url(re.compile(r"q="))
    with page.expect_navigation():
        page.get_by_role("button", name=f"Ajouter {name}").click()
    expect(page.locator("#chosen")).to_contain_text(name)


def _open_identity_form(page: Page) -> None:
    page.get_by_role("link", name="je souhaite créer son identité").click()
    expect(page.get_by_role("heading", name="Créer l'identité d'un patient")).to_be_visible()


def test_send_with_a_new_identity(live_server, make_pro, web_as):
    sender = make_pro("ines.roux", first_name="Inès", last_name="Roux", city="Lyon")
    dest = make_pro(
        "hugo.blanc", first_name="Hugo", last_name="Blanc", city="Bron", specialty="Cardiologie"
    )
    page = web_as(sender, "/envoyer")
    expect(page.get_by_role("heading", name="Envoyer un document")).to_be_visible()
    page.get_by_label("Nom du patient").fill("Lemaire")
    page.get_by_label("Nom du patient").press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Recherche trop large")  # one patient
    page.get_by_label("Prénom", exact=True).fill("Rose")
    page.get_by_label("Prénom", exact=True).press("Enter")
    expect(page.get_by_role("heading", name="Aucun patient trouvé")).to_be_visible()
    _open_identity_form(page)

    def fill_identity() -> None:
        page.get_by_label("Nom de naissance", exact=True).fill("Lemaire")
        page.get_by_label("Prénoms de naissance").fill("Rose Alice")
        page.get_by_label("Date de naissance").fill("1961-04-12")
        page.get_by_label("Sexe").select_option("F")
        page.get_by_label("Code INSEE du lieu de naissance (facultatif)").fill("69123")

    fill_identity()
    page.get_by_label("INS (facultatif)").fill("123")
    page.get_by_role("button", name="Créer l'identité").click()
    expect(page.locator("#ins-error")).to_be_visible()  # French message next to the field
    expect(page.get_by_label("Nom de naissance", exact=True)).to_have_value("Lemaire")
    page.get_by_label("INS (facultatif)").fill("")
    page.get_by_role("button", name="Créer l'identité").click()
    # after the redirect (POST-redirect-GET), the page says the identity was created
    expect(page).to_have_url(re.compile(r"/envoyer/[0-9a-f-]{36}\?identite=creee$"))
    patient_id = page.url.rsplit("/", 1)[1].split("?")[0]
    expect(page.get_by_label("Patient")).to_contain_text("LEMAIRE Rose")
    expect(page.get_by_role("status")).to_contain_text("Identité créée")

    # the same identity again: the existing patient is proposed, nothing is created
    page.goto(f"{live_server.url}/envoyer")
    _open_identity_form(page)
    fill_identity()
    page.get_by_role("button", name="Créer l'identité").click()
    expect(page.get_by_role("alert")).to_contain_text("Cette identité existe déjà")
    page.get_by_role("link", name="Choisir ce patient").click()
    expect(page).to_have_url(f"{live_server.url}/envoyer/{patient_id}")
    expect(page.get_by_text("Identité créée")).to_have_count(0)  # it existed already

    page.get_by_role("link", name="Créer un document").click()
    _add_recipient_typing(page, "blanc bron", "Hugo BLANC")
    page.get_by_label("Titre").fill("Lettre de liaison")
    page.get_by_label("Type de document").select_option("lettre_liaison")
    page.get_by_label("Texte du document").fill("Patiente adressée pour avis.")
    page.get_by_role("button", name="Partager").click()
    expect(page.get_by_role("status")).to_contain_text("Document partagé avec Hugo BLANC")
    items = _inbox(live_server, dest)
    assert [i["patient"]["id"] for i in items] == [patient_id]
    assert [d["title"] for d in _record(live_server, sender, patient_id)] == ["Lettre de liaison"]


def test_attach_a_pdf_for_two_recipients(
    live_server, make_pro, make_patient, pdf, web_as, tmp_path
):
    sender = make_pro("ines.roux", first_name="Inès", last_name="Roux", city="Lyon")
    cardio = make_pro(
        "hugo.blanc", first_name="Hugo", last_name="Blanc", city="Bron", specialty="Cardiologie"
    )
    gp = make_pro("eva.petit", first_name="Eva", last_name="Petit", city="Vienne")
    patient_id = str(make_patient("LEMAIRE"))
    page = web_as(sender, f"/envoyer/{patient_id}")
    _add_recipient_without_js(page, "blanc bron", "Hugo BLANC")
    _add_recipient_typing(page, "petit vien", "Eva PETIT")
    file = tmp_path / "compte-rendu.pdf"
    file.write_bytes(pdf("Échographie cardiaque"))
    page.get_by_label("Fichier PDF").set_input_files(str(file))
    page.get_by_label("Titre").fill("Échographie cardiaque")
    page.get_by_label("Type de document").select_option("cr_imagerie")
    page.get_by_label("Réservé aux destinataires").check()
    page.get_by_role("button", name="Partager").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Document partagé avec Hugo BLANC, Eva PETIT"
    )

    for persona in (cardio, gp):
        items = _inbox(live_server, persona)
        assert [i["document"]["title"] for i in items] == ["Échographie cardiaque"]
        assert items[0]["patient"]["id"] == patient_id
        assert items[0]["sender"]["id"] == str(sender.id)
    record = _record(live_server, sender, patient_id)
    assert [d["title"] for d in record] == ["Échographie cardiaque"]
    assert record[0]["restricted"] is True


def test_create_a_document_in_the_editor(live_server, make_pro, make_patient, web_as):
    sender = make_pro(
        "lou.garnier",
        first_name="Lou",
        last_name="Garnier",
        city="Annecy",
        specialty="Pneumologie",
    )
    dest = make_pro("tom.noel", first_name="Tom", last_name="Noël", city="Chambéry")
    patient_id = make_patient("BERNARD")
    page = web_as(sender, f"/envoyer/{patient_id}")
    page.get_by_role("link", name="Créer un document").click()
    expect(page.get_by_label("Texte du document")).to_be_visible()
    _add_recipient_typing(page, "noel", "Tom NOËL")
    page.get_by_label("Titre").fill("Consultation de pneumologie")
    page.get_by_label("Type de document").select_option("cr_consultation")
    page.get_by_label("Texte du document").fill(
        "Cher confrère,\n\nJ'ai vu votre patiente ce jour pour une toux chronique.\n\n"
        "Bien confraternellement."
    )
    page.get_by_role("button", name="Partager").click()
    expect(page.get_by_role("status")).to_contain_text("Document partagé avec Tom NOËL")

    items = _inbox(live_server, dest)
    assert [i["document"]["title"] for i in items] == ["Consultation de pneumologie"]
    r = httpx.get(f"{live_server.url}/api/v1/inbox/{items[0]['id']}/content", headers=dest.headers)
    assert r.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    for expected in ("Lou GARNIER", "Pneumologie", "Annecy", "BERNARD", "toux chronique"):
        assert expected in text
    assert [d["title"] for d in _record(live_server, dest, patient_id)] == [
        "Consultation de pneumologie"
    ]


def test_reply_preselects_the_sender(live_server, make_pro, make_patient, pdf, share, web_as):
    sender = make_pro("ana.colin", first_name="Ana", last_name="Colin")
    other = make_pro("max.henry", first_name="Max", last_name="Henry", city="Grenoble")
    me = make_pro("zoe.leroy", first_name="Zoé", last_name="Leroy")
    patient_id = make_patient("GIRARD")
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        r = share(client, sender, patient_id, [me], pdf(), title="Bilan sanguin")
        assert r.status_code == 201, r.text
    note_id = _inbox(live_server, me)[0]["id"]
    original = _inbox(live_server, me)[0]["document"]["id"]

    page = web_as(me, f"/repondre/{note_id}")
    expect(page.get_by_role("heading", name="Répondre")).to_be_visible()
    expect(page.locator("#chosen")).to_contain_text("Ana COLIN")
    expect(page.get_by_label("Titre")).to_have_value("Réponse : Bilan sanguin")
    _add_recipient_without_js(page, "henry", "Max HENRY")
    expect(page.locator("#chosen")).to_contain_text("Ana COLIN")  # still there
    page.get_by_role("link", name="Créer un document").click()
    expect(page.get_by_label("Titre")).to_have_value("Réponse : Bilan sanguin")
    page.get_by_label("Type de document").select_option("courrier")
    page.get_by_label("Texte du document").fill("Merci, résultats pris en compte.")
    page.get_by_role("button", name="Partager").click()
    expect(page.get_by_role("status")).to_contain_text("Document partagé avec Ana COLIN, Max HENRY")

    for persona in (sender, other):
        items = _inbox(live_server, persona)
        assert [i["document"]["title"] for i in items] == ["Réponse : Bilan sanguin"]
        assert items[0]["document"]["in_reply_to"] == original
    titles = {d["title"] for d in _record(live_server, me, patient_id)}
    assert titles == {"Bilan sanguin", "Réponse : Bilan sanguin"}


def test_not_a_pdf_is_refused_in_french_and_nothing_is_created(
    live_server, make_pro, make_patient, web_as, tmp_path, db
):
    sender = make_pro("jade.faure", first_name="Jade", last_name="Faure")
    dest = make_pro("leo.dupuis", first_name="Léo", last_name="Dupuis")
    patient_id = make_patient("MOREAU")
    page = web_as(sender, f"/envoyer/{patient_id}")
    # no recipient, no file: each error next to its field
    page.get_by_role("button", name="Partager").click()
    expect(page.locator("#recipients-error")).to_have_text("Ajoutez au moins un destinataire.")
    expect(page.locator("#file-error")).to_have_text("Choisissez le fichier PDF à joindre.")

    _add_recipient_typing(page, "dupuis", "Léo DUPUIS")
    file = tmp_path / "notes.pdf"
    file.write_bytes(b"ceci n'est pas un PDF\n" * 20)
    page.get_by_label("Fichier PDF").set_input_files(str(file))
    page.get_by_label("Titre").fill("Notes")
    page.get_by_label("Type de document").select_option("autre")
    page.get_by_role("button", name="Partager").click()
    expect(page.get_by_role("alert")).to_contain_text("Rien n'a été envoyé")
    expect(page.locator("#file-error")).to_contain_text("PDF")
    expect(page.locator("#chosen")).to_contain_text("Léo DUPUIS")  # the form is kept
    expect(page.get_by_label("Titre")).to_have_value("Notes")
    assert _inbox(live_server, dest) == []
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 0
        assert session.scalar(select(func.count()).select_from(Notification)) == 0


def test_an_outsider_cannot_open_someone_elses_reply_page(
    live_server, make_pro, make_patient, pdf, share, web_as
):
    sender = make_pro("paul.mercier", first_name="Paul", last_name="Mercier")
    me = make_pro("lina.fabre", first_name="Lina", last_name="Fabre")
    outsider = make_pro("marc.vidal", first_name="Marc", last_name="Vidal")
    patient_id = make_patient("ROUSSEAU")
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        r = share(client, sender, patient_id, [me], pdf(), title="Radiographie")
        assert r.status_code == 201, r.text
    note_id = _inbox(live_server, me)[0]["id"]
    page = web_as(outsider, f"/repondre/{note_id}")
    expect(page.get_by_role("heading", name="Document introuvable")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("pas (ou plus) dans vos documents reçus")
    expect(page.get_by_text("Radiographie")).to_have_count(0)
    expect(page.get_by_text("ROUSSEAU")).to_have_count(0)


def test_patient_search_by_name_and_the_keyboard(live_server, make_pro, make_patient, web_as):
    sender = make_pro("ella.perrin", first_name="Ella", last_name="Perrin")
    patient_id = make_patient("FONTAINE")
    make_patient("DURAND")
    page = web_as(sender, "/envoyer")
    page.get_by_label("Nom du patient").fill("fontai")
    page.get_by_label("Prénom", exact=True).fill("jea")
    page.keyboard.press("Enter")
    results = page.get_by_role("heading", name="1 patient trouvé")
    expect(results).to_be_visible()
    link = page.get_by_role("link", name=re.compile("FONTAINE"))
    link.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"/envoyer/{patient_id}$"))
    # the directory search endpoint, with the page's cookie session
    r = page.request.get(f"{live_server.url}/web/annuaire?q=perrin")
    assert r.ok and r.json() == {"items": []}  # the caller is never their own recipient


def test_the_sent_page_offers_to_join_the_care_team(live_server, make_pro, make_patient, web_as):
    """Sending opens that document only; the page after sending offers the declaration."""
    sender = make_pro("lou.garnier", first_name="Lou", last_name="Garnier", city="Annecy")
    make_pro("tom.noel", first_name="Tom", last_name="Noël", city="Chambéry")
    patient_id = make_patient("BERNARD")
    page = web_as(sender, f"/envoyer/{patient_id}")
    page.get_by_role("link", name="Créer un document").click()
    _add_recipient_typing(page, "noel", "Tom NOËL")
    page.get_by_label("Titre").fill("Consultation de pneumologie")
    page.get_by_label("Type de document").select_option("cr_consultation")
    page.get_by_label("Texte du document").fill("Cher confrère, bien confraternellement.")
    page.get_by_role("button", name="Partager").click()
    expect(page.get_by_role("status")).to_contain_text("Document partagé avec Tom NOËL")
    expect(page.get_by_text("vous donne accès à ce document seulement")).to_be_visible()
    page.get_by_label("Consultation ou visite").check()
    page.get_by_label("Précisions").fill("suivi en pneumologie")
    page.get_by_label("Le patient, informé, consent").check()
    page.get_by_label("J'atteste prendre en charge ce patient").check()
    page.get_by_role("button", name="Je déclare prendre en charge ce patient").click()
    expect(page).to_have_url(f"{live_server.url}/patients/{patient_id}?equipe=declare")
    team = page.get_by_role("table").filter(has_text="Depuis le")
    expect(team.get_by_role("row").filter(has_text="Lou GARNIER")).to_contain_text(
        "déclaré par le professionnel"
    )


def test_a_too_large_file_is_refused_in_french(
    live_server, make_pro, make_patient, web_as, tmp_path, db, settings
):
    """The upload is cut at the limit while it is received; the browser shows why."""
    sender = make_pro("nina.roche", first_name="Nina", last_name="Roche")
    make_pro("yves.martin", first_name="Yves", last_name="Martin")
    patient_id = make_patient("LEFORT")
    page = web_as(sender, f"/envoyer/{patient_id}")
    _add_recipient_typing(page, "yves", "Yves MARTIN")
    big = tmp_path / "scanner.pdf"
    big.write_bytes(b"%PDF-1.7\n" + b"0" * (3 * settings.max_document_bytes))
    page.get_by_label("Fichier PDF").set_input_files(str(big))
    page.get_by_label("Titre").fill("Scanner")
    page.get_by_label("Type de document").select_option("cr_imagerie")
    page.get_by_role("button", name="Partager").click()
    expect(page.get_by_role("alert")).to_contain_text("taille maximale")
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 0

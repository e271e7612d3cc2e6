"""« Documents reçus » and « Dossier régional du patient », clicked through in Chromium."""

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect


@pytest.fixture
def shared(live_server: Any, make_pro: Any, make_patient: Any, pdf: Any, share: Any) -> Any:
    """Dr Rey shares one PDF about a patient with Dr Blanc; returns everything a test needs."""
    author = make_pro("alice.rey", first_name="Alice", last_name="Rey")
    reader = make_pro("bruno.blanc", first_name="Bruno", last_name="Blanc")
    patient_id = make_patient("DURAND", "Lucie")
    data = pdf("Compte rendu de cardiologie")
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        r = share(client, author, patient_id, [reader], data, title="Bilan cardiologique")
        assert r.status_code in (200, 201), r.text
        inbox = client.get("/api/v1/inbox", headers=reader.headers).json()
    note = inbox["items"][0]
    return {
        "author": author,
        "reader": reader,
        "patient_id": patient_id,
        "data": data,
        "note_id": note["id"],
        "doc_id": note["document"]["id"],
    }


def _row(page: Page, title: str) -> Any:
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=title))


def test_inbox_lists_the_shared_document(web_as: Any, shared: Any) -> None:
    page = web_as(shared["reader"], "/documents-recus")
    expect(page.get_by_role("heading", name="Documents reçus", level=1)).to_be_visible()
    row = _row(page, "Bilan cardiologique")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("DURAND Lucie")
    expect(row).to_contain_text("Alice REY")
    expect(row).to_contain_text("Non lu")
    expect(row.get_by_role("rowheader")).to_have_css("font-weight", "700")
    expect(row).to_contain_text(re.compile(r"\d{2}/\d{2}/\d{4}"))
    expect(row.get_by_role("link", name="Répondre à « Bilan cardiologique »")).to_have_attribute(
        "href", f"/repondre/{shared['note_id']}"
    )
    expect(row.get_by_role("link", name=re.compile("Dossier du patient"))).to_have_attribute(
        "href", f"/patients/{shared['patient_id']}"
    )


def test_opening_the_pdf_streams_it_and_marks_it_read(
    live_server: Any, web_as: Any, shared: Any
) -> None:
    page = web_as(shared["reader"], "/documents-recus")
    link = page.get_by_role("link", name="Ouvrir « Bilan cardiologique »")
    href = link.get_attribute("href")
    assert href == f"/web/documents-recus/{shared['note_id']}/pdf"
    response = page.request.get(live_server.url + href)
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body() == shared["data"]
    page.reload()
    row = _row(page, "Bilan cardiologique")
    expect(row).not_to_contain_text("Non lu")
    expect(row.get_by_role("rowheader")).to_have_css("font-weight", "400")
    # the read receipt was posted
    item = httpx.get(
        f"{live_server.url}/api/v1/inbox/{shared['note_id']}", headers=shared["reader"].headers
    ).json()
    assert item["read_at"] is not None


def test_delete_with_confirmation_keeps_the_document_in_the_record(
    web_as: Any, shared: Any
) -> None:
    page = web_as(shared["reader"], "/documents-recus")
    _row(page, "Bilan cardiologique").get_by_role(
        "button", name="Supprimer « Bilan cardiologique »"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Supprimer ce document")
    expect(page.get_by_text("il reste dans le dossier régional du patient")).to_be_visible()
    page.get_by_role("button", name="Confirmer la suppression").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/documents-recus\?supprime=1$"))
    expect(page.get_by_role("status")).to_contain_text("retiré de vos documents reçus")
    expect(page.get_by_text("Vous n'avez aucun document reçu.")).to_be_visible()
    page.goto(page.url.split("/documents-recus")[0] + f"/patients/{shared['patient_id']}")
    expect(page.get_by_role("heading", name="Bilan cardiologique")).to_be_visible()


def test_cancel_delete_keeps_the_document(web_as: Any, shared: Any) -> None:
    page = web_as(shared["reader"], "/documents-recus")
    page.get_by_role("button", name="Supprimer « Bilan cardiologique »").click()
    page.get_by_role("link", name="Annuler").click()
    expect(_row(page, "Bilan cardiologique")).to_have_count(1)


def test_the_record_shows_identity_and_receipts_to_the_author(
    live_server: Any, web_as: Any, shared: Any
) -> None:
    httpx.get(
        f"{live_server.url}/api/v1/inbox/{shared['note_id']}/content",
        headers=shared["reader"].headers,
    )
    httpx.post(
        f"{live_server.url}/api/v1/inbox/{shared['note_id']}/receipts",
        headers=shared["reader"].headers,
        json={"kind": "read"},
    )
    page = web_as(shared["author"], f"/patients/{shared['patient_id']}")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(
        re.compile(r"^Dossier régional de DURAND Lucie\d+, né\(e\) le \d{2}/\d{2}/\d{4}$")
    )
    expect(page.get_by_text("DURAND", exact=True)).to_be_visible()
    expect(page.get_by_text("Féminin")).to_be_visible()
    expect(page.get_by_text("provisoire")).to_be_visible()
    doc = page.get_by_role("article", name="Bilan cardiologique")
    expect(doc).to_contain_text(re.compile(r"du \d{2}/\d{2}/\d{4}, par Alice REY"))
    receipt = doc.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Bruno BLANC"))
    expect(receipt).to_contain_text(re.compile(r"le \d{2}/\d{2}/\d{4} à \d{2}h\d{2}"))
    expect(receipt).not_to_contain_text("non lu")
    href = doc.get_by_role("link", name="Ouvrir « Bilan cardiologique »").get_attribute("href")
    assert href == f"/web/documents/{shared['doc_id']}/pdf"
    response = page.request.get(live_server.url + href)
    assert response.status == 200
    assert response.body() == shared["data"]
    expect(page.get_by_text("Accès en urgence (bris de glace)")).to_have_count(0)


def test_the_reader_sees_the_record_without_receipts(web_as: Any, shared: Any) -> None:
    page = web_as(shared["reader"], f"/patients/{shared['patient_id']}")
    doc = page.get_by_role("article", name="Bilan cardiologique")
    expect(doc).to_be_visible()
    expect(doc.get_by_role("table")).to_have_count(0)


def test_an_outsider_is_refused_then_uses_break_glass(
    live_server: Any, make_pro: Any, web_as: Any, shared: Any
) -> None:
    outsider = make_pro("chloe.noir", first_name="Chloé", last_name="Noir")
    page = web_as(outsider, f"/patients/{shared['patient_id']}")
    expect(page.get_by_role("heading", name="Accès au dossier refusé")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("équipe de soins")
    # the refusal names whom it is about (decision 143), and shows nothing of the record
    expect(page.get_by_text(re.compile("Dossier régional de DURAND Lucie"))).to_be_visible()
    expect(page.get_by_text("Bilan cardiologique")).to_have_count(0)
    reason = page.get_by_label("Motif de l'accès en urgence")
    reason.fill("Patiente inconsciente aux urgences, besoin des antécédents")
    reason.press("Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/patients/{shared['patient_id']}")
    expect(page.get_by_role("status")).to_contain_text("(bris de glace)")
    expect(page.get_by_role("heading", name="Bilan cardiologique")).to_be_visible()
    response = page.request.get(f"{live_server.url}/web/documents/{shared['doc_id']}/pdf")
    assert response.status == 200
    assert response.body() == shared["data"]


def test_break_glass_needs_a_real_reason(make_pro: Any, web_as: Any, shared: Any) -> None:
    outsider = make_pro("chloe.noir", first_name="Chloé", last_name="Noir")
    page = web_as(outsider, f"/patients/{shared['patient_id']}")
    reason = page.get_by_label("Motif de l'accès en urgence")
    # bypass the browser's own minlength check to see the server's message
    reason.evaluate("el => el.removeAttribute('minlength')")
    reason.fill("urgence")
    page.get_by_role("button", name="Accéder au dossier en urgence").click()
    expect(page.get_by_role("alert").filter(has_text="au moins 15 caractères")).to_be_visible()
    expect(page.get_by_label("Motif de l'accès en urgence")).to_have_value("urgence")
    expect(page.get_by_role("heading", name="Bilan cardiologique")).to_have_count(0)


def test_an_outsider_cannot_open_the_pdfs(
    live_server: Any, make_pro: Any, web_as: Any, shared: Any
) -> None:
    outsider = make_pro("chloe.noir", first_name="Chloé", last_name="Noir")
    page = web_as(outsider, "/documents-recus")
    record = page.request.get(f"{live_server.url}/web/documents/{shared['doc_id']}/pdf")
    assert record.status == 403
    assert "application/pdf" not in record.headers["content-type"]
    assert "pas accès" in record.text()
    other = page.request.get(f"{live_server.url}/web/documents-recus/{shared['note_id']}/pdf")
    assert other.status in (403, 404)
    assert "application/pdf" not in other.headers["content-type"]
    assert "pas (ou plus) dans vos documents reçus" in other.text()
    # nor delete someone else's notification
    page.goto(f"{live_server.url}/documents-recus")
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    gone = page.request.post(
        f"{live_server.url}/documents-recus/{shared['note_id']}/supprimer",
        form={"csrf": csrf or "", "confirmer": "oui"},
    )
    assert gone.status == 404
    still = httpx.get(f"{live_server.url}/api/v1/inbox", headers=shared["reader"].headers).json()
    assert [i["id"] for i in still["items"]] == [shared["note_id"]]


def test_delete_without_csrf_is_refused(live_server: Any, web_as: Any, shared: Any) -> None:
    page = web_as(shared["reader"], "/documents-recus")
    r = page.request.post(
        f"{live_server.url}/documents-recus/{shared['note_id']}/supprimer",
        form={"csrf": "faux", "confirmer": "oui"},
    )
    assert r.status == 403
    page.reload()
    expect(_row(page, "Bilan cardiologique")).to_have_count(1)


@pytest.mark.parametrize(
    "path",
    [
        "/documents-recus",
        "/patients/00000000-0000-0000-0000-000000000001",
        "/web/documents/00000000-0000-0000-0000-000000000001/pdf",
    ],
)
def test_pages_without_a_session_redirect_to_the_login(
    live_server: Any, page: Page, path: str
) -> None:
    page.goto(live_server.url + path)
    expect(page).to_have_url(re.compile(r"/connexion\?next="))
    expect(page.get_by_label("Identifiant")).to_be_visible()


def test_unknown_patient_shows_a_french_page(live_server: Any, make_pro: Any, web_as: Any) -> None:
    pro = make_pro("dan.vert", first_name="Dan", last_name="Vert")
    page = web_as(pro, "/patients/00000000-0000-0000-0000-000000000001")
    expect(page.get_by_role("heading", name="Dossier indisponible")).to_be_visible()


def test_record_preview_shows_the_first_page_to_allowed_viewers_only(
    live_server, make_pro, make_patient, pdf, share, web_as
):
    import httpx

    author, outsider = make_pro(), make_pro()
    recipient = make_pro()
    patient = make_patient()
    with httpx.Client(base_url=live_server.url) as client:
        doc = share(client, author, patient, [recipient], pdf("Aperçu")).json()["document"]["id"]
    page = web_as(author, f"/patients/{patient}")
    page.get_by_text("Aperçu").first.click()
    image = page.get_by_role("img", name="Première page")
    expect(image).to_be_visible()
    png = page.request.get(f"{live_server.url}/web/documents/{doc}/apercu.png")
    assert png.status == 200 and png.body().startswith(b"\x89PNG")
    other = web_as(outsider, "/accueil")
    refused = other.request.get(f"{live_server.url}/web/documents/{doc}/apercu.png")
    assert refused.status == 403


def test_record_preview_of_a_page_too_long_to_draw_says_so(
    live_server, make_pro, make_patient, share, web_as
):
    """A page that takes PDFium minutes to draw: the record's « Aperçu » says it is
    unavailable (within seconds) rather than showing a broken image."""
    import httpx

    from support.documents import slow_to_draw_pdf

    author, recipient = make_pro(), make_pro()
    patient = make_patient()
    with httpx.Client(base_url=live_server.url) as client:
        r = share(client, author, patient, [recipient], slow_to_draw_pdf())
        assert r.status_code == 201, r.text
    page = web_as(author, f"/patients/{patient}")
    page.get_by_text("Aperçu").first.click()
    expect(
        page.get_by_text("Aperçu indisponible : ouvrez le PDF pour le consulter.")
    ).to_be_visible(timeout=15_000)
    expect(page.get_by_role("img", name="Première page")).to_have_count(0)


# --- care team -------------------------------------------------------------------------------


def _declare(page: Page, context: str = "suivi de cardiologie") -> None:
    page.get_by_label("Consultation ou visite").check()
    page.get_by_label("Précisions").fill(context)
    page.get_by_label("Le patient, informé, consent").check()
    page.get_by_label("J'atteste prendre en charge ce patient").check()
    page.get_by_role("button", name="Je déclare prendre en charge ce patient").click()


def test_the_refusal_page_offers_the_declaration_which_opens_the_record(
    live_server: Any, make_pro: Any, web_as: Any, shared: Any
) -> None:
    """Also MonSisra's « Dossier du patient »: it opens this page through a web ticket."""
    outsider = make_pro("chloe.noir", first_name="Chloé", last_name="Noir")
    page = web_as(outsider, f"/patients/{shared['patient_id']}")
    expect(page.get_by_role("heading", name="Accès au dossier refusé")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Je déclare prendre en charge ce patient")
    expect(
        page.get_by_role("heading", name="Je déclare prendre en charge ce patient")
    ).to_be_visible()
    _declare(page)
    expect(page).to_have_url(f"{live_server.url}/patients/{shared['patient_id']}?equipe=declare")
    expect(page.get_by_role("status").first).to_contain_text("équipe de soins")
    expect(page.get_by_role("heading", name="Bilan cardiologique")).to_be_visible()
    team = page.get_by_role("table").filter(has_text="Depuis le")
    me = team.get_by_role("row").filter(has=page.get_by_role("rowheader", name=re.compile("Chloé")))
    expect(me).to_contain_text("(vous)")
    expect(me).to_contain_text("déclaré par le professionnel")
    expect(me).to_contain_text("suivi de cardiologie")
    expect(me).to_contain_text(re.compile(r"\d{2}/\d{2}/\d{4}"))
    # leaving closes the record again (the outsider has no document of their own)
    page.get_by_role("button", name="Quitter l'équipe de soins").click()
    expect(page.get_by_role("heading", name="Accès au dossier refusé")).to_be_visible()
    expect(page.get_by_role("heading", name="Bilan cardiologique")).to_have_count(0)


def test_a_declaration_needs_the_attestation_and_the_csrf_token(
    live_server: Any, make_pro: Any, web_as: Any, shared: Any
) -> None:
    outsider = make_pro("chloe.noir", first_name="Chloé", last_name="Noir")
    page = web_as(outsider, f"/patients/{shared['patient_id']}")
    box = page.get_by_label("J'atteste prendre en charge ce patient")
    box.evaluate("el => el.removeAttribute('required')")
    page.get_by_label("Consultation ou visite").check()
    page.get_by_label("Précisions").fill("suivi de cardiologie")
    page.get_by_label("Le patient, informé, consent").check()
    page.get_by_role("button", name="Je déclare prendre en charge ce patient").click()
    expect(page.get_by_role("alert").filter(has_text="Cochez l'attestation")).to_be_visible()
    expect(page.get_by_label("Précisions")).to_have_value("suivi de cardiologie")
    expect(page.get_by_label("Consultation ou visite")).to_be_checked()
    expect(page.get_by_role("heading", name="Bilan cardiologique")).to_have_count(0)
    forged = page.request.post(
        f"{live_server.url}/patients/{shared['patient_id']}/equipe-de-soins",
        form={
            "csrf": "faux",
            "motif": "consultation",
            "cadre": "suivi de cardiologie",
            "consentement": "oui",
            "atteste": "oui",
        },
    )
    assert forged.status == 403
    r = httpx.get(
        f"{live_server.url}/api/v1/patients/{shared['patient_id']}/documents",
        headers=outsider.headers,
    )
    assert r.status_code == 403 and r.json()["code"] == "not_in_care_team"


def test_an_author_outside_the_team_sees_only_their_documents(
    live_server: Any, make_pro: Any, make_patient: Any, pdf: Any, share: Any, web_as: Any
) -> None:
    """The reported attack, in the browser: sending a PDF does not open the record."""
    gp = make_pro("eva.petit", first_name="Eva", last_name="Petit")
    cardio = make_pro("hugo.blanc", first_name="Hugo", last_name="Blanc")
    outsider = make_pro("chloe.noir", first_name="Chloé", last_name="Noir")
    patient = make_patient("DURAND", "Lucie")
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        assert (
            share(client, gp, patient, [cardio], pdf("a"), title="Bilan ancien").status_code == 201
        )
        r = share(client, outsider, patient, [cardio], pdf("b"), title="Une page")
        assert r.status_code == 201
        hidden = client.get(f"/api/v1/patients/{patient}/documents", headers=gp.headers).json()
    page = web_as(outsider, f"/patients/{patient}")
    expect(page.get_by_role("heading", name="Une page")).to_be_visible()
    expect(page.get_by_role("heading", name="Bilan ancien")).to_have_count(0)
    expect(
        page.get_by_text("vous ne voyez que les documents dont vous êtes l'auteur")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Équipe de soins")).to_have_count(0)
    expect(
        page.get_by_role("heading", name="Je déclare prendre en charge ce patient")
    ).to_be_visible()
    old = next(d["id"] for d in hidden["documents"] if d["title"] == "Bilan ancien")
    refused = page.request.get(f"{live_server.url}/web/documents/{old}/pdf")
    assert refused.status == 403 and "application/pdf" not in refused.headers["content-type"]


def test_the_record_lists_the_team_with_how_each_joined(
    live_server: Any, make_pro: Any, web_as: Any, shared: Any
) -> None:
    from sisra.platform.models import Role

    admin = make_pro("admin", role=Role.administrator)
    member = make_pro("dan.vert", first_name="Dan", last_name="Vert")
    base = f"{live_server.url}/api/v1/patients/{shared['patient_id']}/care-team"
    r = httpx.post(
        base,
        headers=member.headers,
        json={"attestation": True, "reason": "consultation", "consent": True},
    )
    assert r.status_code == 201
    r = httpx.post(
        base + "/members",
        headers=admin.headers,
        json={"professional_id": str(shared["reader"].id), "reason": "Cardiologue référent"},
    )
    assert r.status_code == 201
    page = web_as(member, f"/patients/{shared['patient_id']}")
    team = page.get_by_role("table").filter(has_text="Depuis le")
    expect(team.get_by_role("row")).to_have_count(3)  # header + two members
    expect(team.get_by_role("row").filter(has_text="Dan VERT")).to_contain_text("déclaré")
    expect(team.get_by_role("row").filter(has_text="Bruno BLANC")).to_contain_text(
        "ajouté par un administrateur"
    )
    expect(page.get_by_text("vous ne voyez que les documents")).to_have_count(0)


# --- « Rechercher un patient »: a way to a record without a received document ------------


def test_searching_a_patient_leads_to_the_refusal_then_break_glass_says_until_when(
    live_server: Any, make_pro: Any, web_as: Any, shared: Any
) -> None:
    outsider = make_pro("chloe.noir", first_name="Chloé", last_name="Noir")
    page = web_as(outsider, "/accueil")
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Rechercher un patient"
    ).click()
    expect(page.get_by_role("heading", name="Rechercher un patient", level=1)).to_be_visible()
    # too broad: the platform's one search rule answers, nothing is listed
    page.get_by_label("Nom du patient").fill("DU")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("alert")).to_contain_text("Recherche trop large")
    page.get_by_label("Nom du patient").fill("durand")
    page.get_by_label("Prénom").fill("luc")
    page.get_by_role("button", name="Rechercher").click()
    expect(page).to_have_url(f"{live_server.url}/patients/rechercher")  # traits stay in the body
    expect(page.get_by_role("heading", name="1 patient trouvé")).to_be_visible()
    page.get_by_role("link", name=re.compile("DURAND Lucie")).click()
    expect(page).to_have_url(f"{live_server.url}/patients/{shared['patient_id']}")
    expect(page.get_by_role("heading", name="Accès au dossier refusé")).to_be_visible()
    expect(
        page.get_by_text(re.compile(r"Dossier régional de DURAND Lucie\d+, né\(e\) le"))
    ).to_be_visible()
    expect(
        page.get_by_role("heading", name="Je déclare prendre en charge ce patient")
    ).to_be_visible()
    page.get_by_label("Motif de l'accès en urgence").fill(
        "Patiente inconsciente aux urgences, besoin des antécédents"
    )
    page.get_by_role("button", name="Accéder au dossier en urgence").click()
    expect(page).to_have_url(f"{live_server.url}/patients/{shared['patient_id']}")
    expect(page.get_by_role("status").filter(has_text="bris de glace")).to_contain_text(
        re.compile(r"Accès d'urgence jusqu'au \d{2}/\d{2}/\d{4} à \d{2}h\d{2}")
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text("DURAND Lucie")


def test_the_patient_search_is_counted_and_audited(
    live_server: Any, make_pro: Any, web_as: Any, shared: Any, db: Any
) -> None:
    from sqlalchemy import select

    from sisra.platform.models import AuditEvent

    page = web_as(shared["reader"], "/patients/rechercher")
    page.get_by_label("Nom du patient").fill("DURAND")
    page.get_by_label("Prénom").fill("Luc")
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_role("link", name=re.compile("DURAND Lucie")).click()
    expect(page.get_by_role("article", name="Bilan cardiologique")).to_be_visible()
    with db() as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "patient.search")))
    assert [e.details["results"] for e in events] == [1]
    assert "DURAND" not in str(events[0].details)


def test_the_patient_search_form_needs_the_csrf_token(
    live_server: Any, shared: Any, web_as: Any
) -> None:
    page = web_as(shared["reader"], "/patients/rechercher")
    r = page.request.post(
        f"{live_server.url}/patients/rechercher", form={"q": "DURAND", "given": "Luc"}
    )
    assert r.status == 403


def test_the_top_bar_wraps_at_390_px(web_as: Any, shared: Any) -> None:
    page = web_as(shared["reader"], "/accueil")
    page.set_viewport_size({"width": 390, "height": 800})
    links = page.get_by_role("navigation", name="Menu principal").get_by_role("link")
    boxes = [links.nth(i).bounding_box() for i in range(links.count())]
    assert len(boxes) >= 4 and all(boxes)
    for i, a in enumerate(boxes):
        assert a is not None and a["x"] >= 0 and a["x"] + a["width"] <= 390, a
        for b in boxes[i + 1 :]:
            assert b is not None
            apart = (
                a["x"] + a["width"] <= b["x"]
                or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"]
                or b["y"] + b["height"] <= a["y"]
            )
            assert apart, (a, b)


def test_leaving_the_care_team_is_a_secondary_button(
    live_server: Any, web_as: Any, shared: Any
) -> None:
    r = httpx.post(
        f"{live_server.url}/api/v1/patients/{shared['patient_id']}/care-team",
        headers=shared["reader"].headers,
        json={
            "attestation": True,
            "reason": "consultation",
            "consent": True,
            "context": "suivi de médecine générale",
        },
        timeout=30,
    )
    assert r.status_code == 201, r.text
    page = web_as(shared["reader"], f"/patients/{shared['patient_id']}")
    leave = page.get_by_role("button", name="Quitter l'équipe de soins")
    expect(leave).to_be_visible()
    primary = page.evaluate(
        "() => { const b = document.createElement('button'); document.body.append(b);"
        " const c = getComputedStyle(b).backgroundColor; b.remove(); return c; }"
    )
    assert leave.evaluate("b => getComputedStyle(b).backgroundColor") != primary

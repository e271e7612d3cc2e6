"""« Identités à rapprocher » clicked through in Chromium by the recipient."""

import os
from datetime import date
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from sisra.platform.models import Document, MailPending

from .mails import SENDER, lmtp, with_xdm, xdm_zip
from .shared import new_patient, running_gateway

TRAITS = {
    "birth_name": "FONTAINE",
    "first_given_name": "Rose",
    "birth_date": "1942-11-05",
    "sex": "F",
}


def test_the_recipient_chooses_among_the_candidates(
    live_server, settings, web_as, mailbox, db, pdf, tmp_path
):
    claire = mailbox("claire.martin", first_name="Claire", last_name="Martin")
    fontaine = {"birth_name": "FONTAINE", "birth_date": date(1942, 11, 5), "sex": "F"}
    right_id = new_patient(
        db, birth_given_names=["Rose", "Anne"], birth_place_code="69123", **fontaine
    )
    new_patient(  # a homonym the platform received before it refused duplicates
        db, birth_given_names=["Rose", "Marie"], birth_place_code="13055", homonym=True, **fontaine
    )
    archive = xdm_zip(tmp_path, TRAITS, pdf("Lettre de liaison"))
    with running_gateway(live_server.app, settings) as gateway:
        msg = with_xdm(claire.address, archive)
        assert lmtp(gateway.port, SENDER, [claire.address], msg)[claire.address][0] == 250

    page = web_as(claire, "/accueil")
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Identités à rapprocher"
    ).click()
    expect(page.get_by_role("heading", name="Identités à rapprocher", level=1)).to_be_visible()
    row = page.get_by_role("row").filter(has_text="FONTAINE")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Nom de naissance : FONTAINE")
    expect(row).to_contain_text("Jean MARTIN")
    row.get_by_role("link", name="Rapprocher « Compte rendu d'hospitalisation »").click()
    expect(page.get_by_text("Plusieurs patients pourraient correspondre")).to_be_visible()
    candidates = page.get_by_role("table").filter(has_text="Patients dont les traits")
    expect(candidates.get_by_role("row")).to_have_count(3)  # header + the two homonyms
    shots = os.environ.get("SISRA_SCREENSHOT_DIR")
    if shots:  # docs/screenshots, taken on demand
        page.screenshot(path=str(Path(shots) / "identites-a-rapprocher.png"), full_page=True)
    page.get_by_role(
        "button", name="Rattacher à FONTAINE Rose (Rose Anne), né(e) le 05/11/1942 à 69123"
    ).click()
    expect(page.get_by_role("status").first).to_contain_text("Le document a été rattaché")
    expect(page.get_by_text("Aucun document n'attend de rapprochement")).to_be_visible()
    with db() as session:
        pending = session.scalars(select(MailPending)).one()
        assert pending.patient_id == right_id and pending.resolved_by_id == claire.id
        doc = session.get(Document, pending.document_id)
        assert doc is not None and doc.patient_id == right_id
    page.get_by_role("link", name="Documents reçus").first.click()
    expect(page.get_by_role("row").filter(has_text="FONTAINE Rose")).to_have_count(1)

"""« Envoyer à une adresse MSSanté » from the web send page, clicked through in Chromium, with
the mail delivered by the real Postfix to Dovecot and the receipt shown in the record."""

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from sisra.devtools.mailservers import MailServers, new_mailbox
from sisra.platform.models import Professional
from sisra.platform.mssante import receipts
from support.documents import make_pdf
from support.mssante import EXTERNAL_DOMAIN, PLATFORM_DOMAIN

pytestmark = pytest.mark.usefixtures("mssante_relay")


def _fill_and_share(page: Any, tmp_path: Path, address: str) -> None:
    page.get_by_label("Adresses MSSanté d'autres messageries").fill(address)
    file = tmp_path / "lettre.pdf"
    file.write_bytes(make_pdf("Lettre de liaison"))
    page.get_by_label("Fichier PDF").set_input_files(str(file))
    page.get_by_label("Titre").fill("Lettre de liaison")
    page.get_by_label("Type de document").select_option("cr_consultation")
    page.get_by_role("button", name="Partager").click()


def test_send_to_a_typed_mssante_address_and_see_its_receipt(
    live_server: Any,
    make_pro: Any,
    make_patient: Any,
    web_as: Any,
    db: Any,
    mail_servers: MailServers,
    tmp_path: Path,
) -> None:
    sender = make_pro("lea.morel", first_name="Léa", last_name="Morel")
    mine = new_mailbox(PLATFORM_DOMAIN)
    with db() as session:
        session.get(Professional, sender.id).mssante = mine
    patient_id = make_patient("GARNIER")
    outside = new_mailbox(EXTERNAL_DOMAIN)
    page = web_as(sender, f"/envoyer/{patient_id}")
    _fill_and_share(page, tmp_path, outside)
    expect(page.get_by_role("status")).to_contain_text("Document partagé avec")

    (mail,) = mail_servers.wait_for(outside, 1)
    assert mail["Subject"].startswith("Lettre de liaison")
    for report in mail_servers.wait_for(mine, 1):
        with db() as session:
            assert receipts.apply_report(session, report)
    page.goto(f"{live_server.url}/patients/{patient_id}")
    expect(page.locator(".mssante")).to_contain_text(
        f"MSSanté {outside} : reçu par la messagerie du destinataire"
    )


def test_a_sender_without_mssante_address_is_told_why(
    live_server: Any, make_pro: Any, make_patient: Any, web_as: Any, tmp_path: Path
) -> None:
    sender = make_pro("paul.faure", first_name="Paul", last_name="Faure")
    page = web_as(sender, f"/envoyer/{make_patient('BONNET')}")
    _fill_and_share(page, tmp_path, new_mailbox(EXTERNAL_DOMAIN))
    expect(page.locator("#form-error")).to_contain_text("Rien n'a été envoyé")
    expect(page.locator("#external-error")).to_contain_text("adresse MSSanté sur cette plateforme")

"""Sharing with correspondents of other MSSanté operators, end to end: the platform mails the
document through the real Postfix relay (client certificate), Dovecot receives it (read by
IMAP), the DSN and the MDN come back and become the receipts the author sees."""

import io
import time
import uuid
from datetime import date
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from sisra.common.ins import OID_NIR_TEST, with_key
from sisra.common.xdm import read_xdm, validate_archive
from sisra.common.xdm.cda import TEMPLATES, read_cda_n1
from sisra.common.xdm.metadata import FORMAT_CDA_PDF
from sisra.devtools.mailservers import MailServers, new_mailbox
from sisra.platform.auth.mailer import wire_bytes
from sisra.platform.context import SYSTEM
from sisra.platform.models import AuditEvent, MssanteOutbox, OutboxStatus, Professional
from sisra.platform.mssante import receipts
from sisra.platform.patients import service as patients
from sisra.platform.settings import Settings
from support.documents import make_pdf, share_request
from support.mssante import EXTERNAL_DOMAIN, PLATFORM_DOMAIN, mdn_for, report_part

INS = with_key("2690469123045")


pytestmark = pytest.mark.usefixtures("mssante_relay")


def _patient(db: Any) -> uuid.UUID:
    with db() as session:
        return patients.create(
            session,
            SYSTEM,
            patients.NewPatient(
                birth_name="LEFÈVRE",
                birth_given_names=["Hélène"],
                birth_date=date(1969, 4, 12),
                sex="F",
                ins=INS,
                ins_oid=OID_NIR_TEST,
                identity_status="qualifiée",  # the INS travels: see test_export_from_platform
            ),
        ).id


def _with_mailbox(db: Any, persona: Any) -> str:
    address = new_mailbox(PLATFORM_DOMAIN)
    with db() as session:
        session.get(Professional, persona.id).mssante = address
    return address


def _row(db: Any, document_id: str) -> MssanteOutbox:
    with db() as session:
        assert isinstance(session, Session)
        row = session.scalar(
            select(MssanteOutbox).where(MssanteOutbox.document_id == uuid.UUID(document_id))
        )
        assert row is not None
        session.expunge(row)
        return row


def _wait_status(db: Any, document_id: str, *wanted: OutboxStatus) -> MssanteOutbox:
    deadline = time.monotonic() + 60
    while True:
        row = _row(db, document_id)
        if row.status in wanted:
            return row
        assert time.monotonic() < deadline, (row.status, row.last_error)
        time.sleep(0.1)


def _share_outside(app_client: Any, db: Any, sender: Any) -> Any:
    """Share a document with one fresh address of the other operator."""
    outside = [new_mailbox(EXTERNAL_DOMAIN)]
    return share_request(
        app_client, sender, _patient(db), [], make_pdf(), external_recipients=outside
    )


def _report(mail_servers: MailServers, address: str, count: int, report_type: str) -> Any:
    for message in mail_servers.wait_for(address, count):
        if message.get_param("report-type") == report_type:
            return message
    raise AssertionError(f"no {report_type} report for {address}")


def _actions(db: Any, document_id: str) -> list[str]:
    with db() as session:
        return list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.document_id == uuid.UUID(document_id))
                .order_by(AuditEvent.seq)
            )
        )


def test_a_typed_address_gets_the_pdf_and_a_valid_xdm_then_both_receipts(
    app_client: Any, make_pro: Any, db: Any, mail_servers: MailServers
) -> None:
    sender = make_pro(first_name="Marc", last_name="Gauthier", profession="Cardiologue")
    sender_address = _with_mailbox(db, sender)
    outside = new_mailbox(EXTERNAL_DOMAIN)
    data = make_pdf("Compte rendu pour un autre opérateur")
    shared = share_request(
        app_client, sender, _patient(db), [], data, external_recipients=[outside.upper()]
    )
    assert shared.status_code == 201, shared.text
    document_id = shared.json()["document"]["id"]

    # the mail arrives in the other operator's mailbox
    (mail,) = mail_servers.wait_for(outside, 1)
    assert mail["From"].addresses[0].addr_spec == sender_address
    assert mail["Disposition-Notification-To"] == sender_address
    assert mail["X-MSS-CODECDA"]
    body = mail.get_body().get_content()  # type: ignore[union-attr]
    assert "Dr Marc GAUTHIER" in body and "LEFÈVRE" in body and INS in body
    parts = {p.get_filename(): p.get_content() for p in mail.iter_attachments()}
    pdf_name = next(n for n in parts if n.endswith(".pdf"))
    assert parts[pdf_name] == data
    archive = parts["IHE_XDM.ZIP"]
    validate_archive(io.BytesIO(archive))  # ebRIM schema + XDS rules
    back = read_xdm(io.BytesIO(archive))
    assert (back["patient_id"], back["patient_oid"]) == (INS, OID_NIR_TEST)
    assert back["codes"]["formatCode"]["code"] == FORMAT_CDA_PDF
    assert back["author"].startswith("8") and "1.2.250.1.71.4.2.1" in back["author"]
    cda = read_cda_n1(back["pdf"])  # the archive's document is the CDA
    assert set(TEMPLATES) <= set(cda["templates"])
    assert (cda["patient_root"], cda["patient_id"]) == (OID_NIR_TEST, INS)
    assert cda["author_root"] == "1.2.250.1.71.4.2.1" and cda["author_id"] == back["author"][:12]
    assert cda["pdf"] == data and cda["code"] == mail["X-MSS-CODECDA"]

    _wait_status(db, document_id, OutboxStatus.sent)
    # the success DSN comes back to the sender's mailbox; the incoming gateway applies it
    dsn = _report(mail_servers, sender_address, 1, "delivery-status")
    with db() as session:
        assert receipts.apply_report(session, dsn) is True
    detail = app_client.get(f"/api/v1/documents/{document_id}", headers=sender.headers).json()
    (receipt,) = detail["shares"]
    assert receipt["mssante_address"] == outside.lower()
    assert receipt["mssante_status"] == "delivered" and receipt["delivered_at"]
    assert receipt["read_at"] is None

    # the other side reads it and sends an MDN (RFC 8098) to Disposition-Notification-To
    mail_servers.send(mdn_for(mail, outside))
    mdn = _report(mail_servers, sender_address, 2, "disposition-notification")
    with db() as session:
        assert receipts.apply_report(session, mdn) is True
    detail = app_client.get(f"/api/v1/documents/{document_id}", headers=sender.headers).json()
    (receipt,) = detail["shares"]
    assert receipt["mssante_status"] == "read" and receipt["read_at"]
    actions = _actions(db, document_id)
    for action in ("mssante.queued", "mssante.sent", "mssante.delivered", "mssante.read"):
        assert action in actions


def test_a_directory_correspondent_and_a_refused_address(
    app_client: Any, make_pro: Any, db: Any, mail_servers: MailServers
) -> None:
    """A correspondent already in the directory is named by id; an address outside the
    operators' space bounces: the failure DSN marks that mail failed, with its reason."""
    from sisra.platform.directory import correspondents

    sender = make_pro()
    sender_address = _with_mailbox(db, sender)
    known, unknown = new_mailbox(EXTERNAL_DOMAIN), "personne@inconnu.mssante.test"
    with db() as session:
        known_id = correspondents.correspondent_for(session, known).id
    shared = share_request(
        app_client, sender, _patient(db), [known_id], make_pdf(), external_recipients=[unknown]
    )
    assert shared.status_code == 201, shared.text
    document_id = shared.json()["document"]["id"]
    assert len(mail_servers.wait_for(known, 1)) == 1
    reports = mail_servers.wait_for(sender_address, 2)  # one success, one failure
    with db() as session:
        assert all(receipts.apply_report(session, r) for r in reports)
    detail = app_client.get(f"/api/v1/documents/{document_id}", headers=sender.headers)
    shares = {s["mssante_address"]: s for s in detail.json()["shares"]}
    assert shares[known]["mssante_status"] == "delivered" and shares[known]["delivered_at"]
    assert shares[unknown]["mssante_status"] == "failed"
    assert shares[unknown]["delivered_at"] is None
    assert "n'a pas pu être remis" in shares[unknown]["mssante_error"]
    assert "mssante.failed" in _actions(db, document_id)


def test_relay_down_is_retried_then_shown_failed(
    settings: Settings, app_client: Any, make_pro: Any, db: Any, mail_servers: MailServers
) -> None:
    from sisra.devtools.ports import free_port

    settings.mssante_relay_port = free_port()  # nothing listens there
    sender = make_pro()
    _with_mailbox(db, sender)
    shared = _share_outside(app_client, db, sender)
    assert shared.status_code == 201, shared.text
    document_id = shared.json()["document"]["id"]
    row = _wait_status(db, document_id, OutboxStatus.failed)
    assert row.attempts == settings.mssante_max_attempts
    assert row.last_error and "injoignable" in row.last_error
    assert "3 tentatives" in row.last_error
    detail = app_client.get(f"/api/v1/documents/{document_id}", headers=sender.headers).json()
    assert detail["shares"][0]["mssante_error"] == row.last_error
    actions = _actions(db, document_id)
    assert actions.count("mssante.retry") == 2 and "mssante.failed" in actions


def test_a_sender_without_mssante_address_is_refused(
    app_client: Any, make_pro: Any, db: Any
) -> None:
    sender = make_pro()
    shared = _share_outside(app_client, db, sender)
    assert shared.status_code == 422
    assert shared.json()["code"] == "sender_without_mssante"
    assert "adresse MSSanté" in shared.json()["message"]
    with db() as session:  # nothing half-done
        assert session.scalar(select(MssanteOutbox.id)) is None


def test_bad_addresses_and_empty_recipients_are_refused(
    app_client: Any, make_pro: Any, db: Any
) -> None:
    sender = make_pro()
    _with_mailbox(db, sender)
    patient = _patient(db)
    bad = share_request(
        app_client, sender, patient, [], make_pdf(), external_recipients=["pas une adresse"]
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_mssante_address"
    empty = share_request(app_client, sender, patient, [], make_pdf())
    assert empty.status_code == 422 and empty.json()["code"] == "invalid_metadata"
    assert "au moins un destinataire" in empty.text


def test_an_outsider_sees_no_mssante_status(
    app_client: Any, make_pro: Any, db: Any, mail_servers: MailServers
) -> None:
    sender, outsider = make_pro(), make_pro()
    _with_mailbox(db, sender)
    outside = new_mailbox(EXTERNAL_DOMAIN)
    shared = share_request(
        app_client, sender, _patient(db), [], make_pdf(), external_recipients=[outside]
    )
    document_id = shared.json()["document"]["id"]
    refused = app_client.get(f"/api/v1/documents/{document_id}", headers=outsider.headers)
    assert refused.status_code == 403
    assert outside not in refused.text
    mail_servers.wait_for(outside, 1)  # the mail still went


def test_reports_about_other_mail_are_ignored(db: Any) -> None:
    plain = EmailMessage()
    plain["Subject"] = "Bonjour"
    plain.set_content("rien")
    with db() as session:
        assert receipts.apply_report(session, plain) is False


def test_a_row_is_claimed_by_one_sender_only(
    settings: Settings, app_client: Any, make_pro: Any, db: Any
) -> None:
    """Two nodes' senders racing for a due row: one claim wins, the other is refused until
    the lease runs out; the attempt is counted at the claim."""
    from datetime import timedelta

    from sisra.devtools.ports import free_port
    from sisra.platform.mssante import outbox

    settings.mssante_relay_port = free_port()  # the first attempt fails...
    settings.mssante_retry_base_s = 3600.0  # ...and the retry is due in an hour
    sender = make_pro()
    _with_mailbox(db, sender)
    document_id = _share_outside(app_client, db, sender).json()["document"]["id"]
    deadline = time.monotonic() + 60
    while (row := _row(db, document_id)).attempts < 1 or row.claimed_until is not None:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    later = row.next_attempt_at + timedelta(seconds=1)  # when the retry is due
    with db() as first:
        assert outbox.claim(first, row.id, later) is True
    with db() as second:
        assert outbox.claim(second, row.id, later) is False
    with db() as third:  # the lease has run out: a sender that died lets the row go
        assert outbox.claim(third, row.id, later + outbox.CLAIM_LEASE * 2) is True
    assert _row(db, document_id).attempts == 3


def _lines_ok(data: bytes) -> None:
    assert b"\n" not in data.replace(b"\r\n", b"") and b"\r" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 998


def test_mail_goes_on_the_wire_in_crlf_lines_of_at_most_998_characters() -> None:
    """RFC 5321 §2.3.8 and §4.5.3.1.6: CRLF line ends only, at most 998 characters a line;
    long headers are folded, long body lines encoded, verbatim message/* parts normalised."""
    msg = EmailMessage()
    msg["From"] = formataddr(("Dr Hélène Lefèvre-" + "é" * 300, "expediteur@sisra.test"))
    msg["To"] = "destinataire@chu-exemple.mssante.test"
    msg["Subject"] = "Compte rendu très détaillé " * 40
    msg.set_content("Une ligne sans fin " + "x" * 3000 + "\nsuite\n")
    msg.add_attachment(b"\x00\xff" * 5000, maintype="application", subtype="zip",
                       filename="IHE_XDM.ZIP")  # fmt: skip
    msg.attach(report_part("message/disposition-notification", "Final-Recipient: rfc822;a@b\n"))
    assert b"\n" in msg.as_bytes().replace(b"\r\n", b"")  # what was sent before: bare LF
    data = wire_bytes(msg)
    _lines_ok(data)
    assert message_from_bytes(data, policy=SMTP)["Subject"] == msg["Subject"]


def test_a_long_titled_share_passes_the_strict_relay(
    app_client: Any, make_pro: Any, db: Any, mail_servers: MailServers
) -> None:
    """Through the relay that refuses bare LF (the platform's share used to be refused by
    every such relay): a 200-character accented title still arrives, the row is sent."""
    sender = make_pro(first_name="Élodie", last_name="Bœuf-Lefèvre", profession="Cardiologue")
    _with_mailbox(db, sender)
    outside = new_mailbox(EXTERNAL_DOMAIN)
    title = ("Échographie cœur à l'effort, contrôle " * 6)[:200]
    shared = share_request(
        app_client, sender, _patient(db), [], make_pdf(), external_recipients=[outside],
        title=title,
    )  # fmt: skip
    assert shared.status_code == 201, shared.text
    row = _wait_status(db, shared.json()["document"]["id"], OutboxStatus.sent)
    assert row.last_error is None
    (mail,) = mail_servers.wait_for(outside, 1)
    # compared without spaces: Python's header folder drops a space between two encoded
    # words of a long non-ASCII subject (docs/interop.md, what is left)
    assert str(mail["Subject"]).replace(" ", "").startswith(title.replace(" ", ""))

"""Messages from another operator, delivered over LMTP: filed about the right patient, or
waiting for their recipient (« identité à rapprocher »), never a guess."""

from datetime import date
from typing import Any

from sqlalchemy import select

from sisra.common.ins import OID_NIR, with_key
from sisra.platform.models import (
    AuditEvent,
    Document,
    MailPending,
    Notification,
    PendingReason,
    Professional,
)

from .mails import SENDER, lmtp, message, with_pdf, with_xdm, xdm_zip
from .shared import new_patient

INS = with_key("2690469123045")


def _patient(db: Any, **traits: Any) -> Any:
    data = {
        "birth_name": "LEFÈVRE",
        "birth_given_names": ["Hélène", "Marie"],
        "birth_date": date(1969, 4, 12),
        "sex": "F",
        **traits,
    }
    return new_patient(db, **data)


XDM_TRAITS = {
    "birth_name": "LEFEVRE",
    "first_given_name": "Helene",
    "birth_date": "1969-04-12",
    "sex": "F",
}


def test_an_xdm_with_a_known_ins_is_filed_about_that_patient(
    gateway, mailbox, db, app_client, pdf, tmp_path
):
    claire = mailbox("claire.martin")
    patient_id = _patient(db, ins=INS, ins_oid=OID_NIR)
    _patient(db, birth_name="DURAND", birth_given_names=["Paul"], sex="M")
    data = pdf("Compte rendu d'hospitalisation")
    archive = xdm_zip(tmp_path, {**XDM_TRAITS, "ins": INS}, data)
    replies = lmtp(gateway.port, SENDER, [claire.address], with_xdm(claire.address, archive))
    assert replies[claire.address][0] == 250, replies

    inbox = app_client.get("/api/v1/inbox", headers=claire.headers).json()["items"]
    assert len(inbox) == 1
    item = inbox[0]
    assert item["patient"]["id"] == str(patient_id)
    assert item["document"]["title"] == "Compte rendu d'hospitalisation"
    assert item["document"]["type_code"] == "cr_hospitalisation"
    content = app_client.get(f"/api/v1/inbox/{item['id']}/content", headers=claire.headers)
    assert content.content == data
    with db() as session:
        doc = session.scalars(select(Document)).one()
        author = session.get(Professional, doc.author_id)
        # the author is the sender's directory row: an external correspondent
        assert author.external and author.mssante == SENDER
        assert (author.first_name, author.last_name) == ("Jean", "Martin")
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "mssante.receive")
        ).one()
        assert event.patient_id == patient_id and event.details["matched_by"] == "ins"


def test_the_strict_traits_file_it_when_there_is_no_ins(
    gateway, mailbox, db, app_client, pdf, tmp_path
):
    claire = mailbox("claire.martin")
    patient_id = _patient(db, birth_place_code="69123")
    _patient(db, birth_given_names=["Hélène"], birth_date=date(1970, 1, 1))  # not her
    archive = xdm_zip(tmp_path, XDM_TRAITS, pdf())
    assert (
        lmtp(gateway.port, SENDER, [claire.address], with_xdm(claire.address, archive))[
            claire.address
        ][0]
        == 250
    )
    inbox = app_client.get("/api/v1/inbox", headers=claire.headers).json()["items"]
    assert [i["patient"]["id"] for i in inbox] == [str(patient_id)]


def test_two_patients_with_the_same_traits_mean_a_human_decides(
    gateway, mailbox, db, app_client, pdf, tmp_path
):
    claire = mailbox("claire.martin")
    first = _patient(db)
    twin = _patient(db, birth_given_names=["Hélène", "Louise"], homonym=True)
    assert twin != first
    archive = xdm_zip(tmp_path, XDM_TRAITS, pdf())
    assert (
        lmtp(gateway.port, SENDER, [claire.address], with_xdm(claire.address, archive))[
            claire.address
        ][0]
        == 250
    )
    assert app_client.get("/api/v1/inbox", headers=claire.headers).json()["items"] == []
    with db() as session:
        pending = session.scalars(select(MailPending)).one()
        assert pending.reason == PendingReason.several
        assert pending.birth_name == "LEFEVRE" and pending.birth_date == date(1969, 4, 12)
        assert session.scalars(select(Document)).all() == []


def test_an_ins_whose_traits_disagree_is_not_trusted(gateway, mailbox, db, pdf, tmp_path):
    claire = mailbox("claire.martin")
    _patient(db, ins=INS, ins_oid=OID_NIR)
    archive = xdm_zip(tmp_path, {**XDM_TRAITS, "ins": INS, "birth_date": "1980-01-01"}, pdf())
    lmtp(gateway.port, SENDER, [claire.address], with_xdm(claire.address, archive))
    with db() as session:
        assert session.scalars(select(MailPending)).one().reason == PendingReason.several
        assert session.scalars(select(Document)).all() == []


def test_a_plain_mail_with_a_pdf_waits_for_its_recipients(gateway, mailbox, db, pdf):
    claire = mailbox("claire.martin")
    paul = mailbox("paul.durand")
    msg = with_pdf([claire.address, paul.address], pdf(), subject="Résultats de biologie")
    replies = lmtp(gateway.port, SENDER, [claire.address, paul.address], msg)
    # LMTP: one reply per recipient, both accepted
    assert [replies[a][0] for a in (claire.address, paul.address)] == [250, 250]
    with db() as session:
        pending = session.scalars(select(MailPending)).one()
        assert pending.reason == PendingReason.unstructured
        assert pending.title == "Résultats de biologie"
        assert pending.birth_name is None
        assert session.scalars(select(Notification)).all() == []


def test_the_same_mailbox_twice_in_the_envelope_gets_one_notification(
    gateway, mailbox, db, app_client, pdf, tmp_path
):
    claire = mailbox("claire.martin")
    _patient(db, ins=INS, ins_oid=OID_NIR)
    archive = xdm_zip(tmp_path, {**XDM_TRAITS, "ins": INS}, pdf())
    upper = claire.address.upper()
    replies = lmtp(gateway.port, SENDER, [claire.address, upper], with_xdm(claire.address, archive))
    assert replies[claire.address][0] == 250
    assert replies[upper][0] == 550
    assert len(app_client.get("/api/v1/inbox", headers=claire.headers).json()["items"]) == 1


def test_a_message_handed_over_again_is_not_filed_twice(
    gateway, mailbox, db, app_client, pdf, tmp_path
):
    claire, paul = mailbox("claire.martin"), mailbox("paul.durand")
    _patient(db, ins=INS, ins_oid=OID_NIR)
    msg = with_xdm(claire.address, xdm_zip(tmp_path, {**XDM_TRAITS, "ins": INS}, pdf()))
    assert lmtp(gateway.port, SENDER, [claire.address], msg)[claire.address][0] == 250
    # the relay did not get the reply, and hands the same message over again, now with Paul
    replies = lmtp(gateway.port, SENDER, [claire.address, paul.address], msg)
    assert replies[claire.address] == (
        250,
        "2.0.0 Message deja recu, non classe une seconde fois",
    )
    assert replies[paul.address][0] == 250 and "classe" in replies[paul.address][1]
    for persona in (claire, paul):
        items = app_client.get("/api/v1/inbox", headers=persona.headers).json()["items"]
        assert len(items) == 1
    # and once more for Claire alone: nothing stored, audited
    assert lmtp(gateway.port, SENDER, [claire.address], msg)[claire.address][0] == 250
    with db() as session:
        assert len(session.scalars(select(Document)).all()) == 2
        assert len(session.scalars(select(Notification)).all()) == 2
        assert session.scalars(
            select(AuditEvent).where(AuditEvent.action == "mssante.duplicate")
        ).one()


def test_a_cda_n1_mail_as_the_outgoing_half_writes_it_is_filed(
    gateway, mailbox, db, app_client, pdf
):
    """The MSSanté guide's shape: the PDF attached, and the IHE_XDM.ZIP holding a CDA R2 N1
    document with the same PDF in its body (what this platform sends other operators)."""
    from sisra.platform.mssante.message import xdm_archive

    from .mails import xdm_item

    claire = mailbox("claire.martin")
    patient_id = _patient(db, ins=INS, ins_oid=OID_NIR)
    data = pdf("Lettre de liaison")
    item = xdm_item({**XDM_TRAITS, "ins": INS}, title="Lettre de liaison")
    archive, cda = xdm_archive(item, data)
    assert b"nonXMLBody" in cda
    msg = message(
        claire.address,
        attachments=[
            ("lettre.pdf", "application/pdf", data),
            ("IHE_XDM.ZIP", "application/zip", archive),
        ],
    )
    assert lmtp(gateway.port, SENDER, [claire.address], msg)[claire.address][0] == 250
    items = app_client.get("/api/v1/inbox", headers=claire.headers).json()["items"]
    assert [i["patient"]["id"] for i in items] == [str(patient_id)]
    content = app_client.get(f"/api/v1/inbox/{items[0]['id']}/content", headers=claire.headers)
    assert content.content == data


def test_the_logo_of_an_html_signature_is_not_a_second_document(gateway, mailbox, db, pdf):
    claire = mailbox("claire.martin")
    msg = message(claire.address, subject="Résultats")
    msg.add_alternative('<p>Bonjour</p><img src="cid:logo">', subtype="html")
    html = msg.get_payload()[1]
    html.add_related(b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image", "png", cid="<logo>")
    msg.add_attachment(pdf(), maintype="application", subtype="pdf", filename="cr.pdf")
    assert lmtp(gateway.port, SENDER, [claire.address], msg)[claire.address][0] == 250
    with db() as session:
        assert session.scalars(select(MailPending)).one().title == "Résultats"

"""Every CDA R2 N1 document the platform writes meets the CI-SIS « Structuration minimale »
rules of ``cda_rules`` (issue 19, point 4): for each identity status, traits known and
unknown, built from an item and from a real share through the MSSanté outbox."""

from __future__ import annotations

import io
import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from sisra.common.ins import IDENTITY_STATUSES, OID_NIR_TEST, QUALIFIED, with_key
from sisra.common.xdm import read_xdm
from sisra.common.xdm.cda import HL7, cda_n1, read_cda_n1
from sisra.devtools.mailservers import new_mailbox
from sisra.platform.context import SYSTEM
from sisra.platform.models import MssanteOutbox, Professional
from sisra.platform.mssante import message
from sisra.platform.patients import service as patients
from support.documents import make_pdf, share_request
from support.mssante import EXTERNAL_DOMAIN

from .cda_rules import failures

INS = with_key("2690413055012")
PDF = b"%PDF-1.4\n%%EOF\n"


def _item(status: str, known: bool) -> dict[str, Any]:
    """An inbox item as the platform builds it; ``known`` False leaves every optional trait
    and the author's identifiers out."""
    patient: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "birth_name": "LEFÈVRE",
        "used_name": "DURAND" if known else None,
        "first_given_name": "Hélène" if known else "",
        "birth_given_names": ["Hélène", "Marie", "Louise"] if known else [],
        "birth_date": "1969-04-12" if known else None,
        "sex": "F" if known else "I",
        "birth_place_code": "69123" if known else None,
        "ins": INS if status == QUALIFIED else None,
        "ins_oid": OID_NIR_TEST if status == QUALIFIED else None,
        "identity_status": status,
    }
    sender = {"first_name": "Marc", "last_name": "Gauthier", "name": "Marc GAUTHIER"}
    if known:
        sender |= {"rpps": "10003456789", "structure": "CHU de Lyon", "finess": "690781810"}
    return {
        "id": str(uuid.uuid4()),
        "created_at": "2026-11-19T10:00:00+00:00",
        "document": {"id": str(uuid.uuid4()), "title": "CR", "type_code": "cr_consultation"},
        "patient": patient,
        "sender": sender,
        "platform": {"name": "Sisra"},
    }


@pytest.mark.parametrize("known", [True, False], ids=["traits-connus", "traits-inconnus"])
@pytest.mark.parametrize("status", IDENTITY_STATUSES)
def test_every_cda_meets_structuration_minimale(status: str, known: bool) -> None:
    xml = cda_n1(_item(status, known), PDF)
    assert failures(xml, expect_ins=status == QUALIFIED) == []


def test_the_ins_traits_are_written_as_the_ins_referential_says() -> None:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(cda_n1(_item(QUALIFIED, True), PDF))  # noqa: S314
    ns = {"h": HL7}
    person = root.find("h:recordTarget/h:patientRole/h:patient", ns)
    assert person is not None
    (name,) = person.findall("h:name", ns)
    parts = [(e.tag.split("}")[1], e.get("qualifier"), e.text) for e in name]
    assert ("family", "BR", "LEFÈVRE") in parts and ("family", "SP", "DURAND") in parts
    assert ("given", None, "Hélène") in parts
    assert ("given", "BR", "Hélène Marie Louise") in parts  # all of them, space-separated
    county = person.find("h:birthplace/h:place/h:addr/h:county", ns)
    assert county is not None and county.text == "69123"
    assert read_cda_n1(ET.tostring(root))["pdf"] == PDF

    unknown = ET.fromstring(cda_n1(_item(QUALIFIED, False), PDF))  # noqa: S314
    person = unknown.find("h:recordTarget/h:patientRole/h:patient", ns)
    assert person is not None
    birth = person.find("h:birthTime", ns)
    assert birth is not None and birth.get("nullFlavor") == "UNK" and birth.get("value") is None
    given_br = person.find("h:name/h:given[@qualifier='BR']", ns)
    assert given_br is not None and given_br.get("nullFlavor") == "UNK" and not given_br.text
    gender = person.find("h:administrativeGenderCode", ns)
    assert gender is not None and gender.get("code") == "U"
    assert person.find("h:birthplace", ns) is None  # an unknown place is not invented


def test_the_checker_catches_what_the_rules_forbid() -> None:
    """The rules can fail: a document without performer, legal authenticator and the INS
    traits (the header written before this change) breaks each of them."""
    good = cda_n1(_item(QUALIFIED, True), PDF).decode()
    bad = good
    start, end = bad.index("<legalAuthenticator>"), bad.index("</legalAuthenticator>")
    bad = bad[:start] + bad[end + len("</legalAuthenticator>") :]
    start, end = bad.index("<performer"), bad.index("</performer>")
    bad = bad[:start] + bad[end + len("</performer>") :]
    bad = bad.replace('<given qualifier="BR">Hélène Marie Louise</given>', "")
    broken = {line.split()[0] for line in failures(bad.encode())}
    assert {"SM-04", "SM-14", "SM-16"} <= broken


pytestmark_relay = pytest.mark.usefixtures("mssante_relay")


@pytestmark_relay
@pytest.mark.parametrize("status", IDENTITY_STATUSES)
def test_the_mail_of_a_share_carries_a_conforming_cda_and_names_the_typed_address(
    status: str, app_client: Any, make_pro: Any, db: Any
) -> None:
    """Through the platform: a share to a typed MSSanté address, for an identity of each
    status. The CDA of the mail meets the rules; the XDS intendedRecipient is the address as
    an XTN; the correspondent created for it is named by its address (issue 19, point 7)."""
    sender = make_pro(first_name="Marc", last_name="Gauthier", profession="Cardiologue")
    with db() as session:
        session.get(Professional, sender.id).mssante = new_mailbox("sisra.mssante.test")
        patient = patients.create(
            session,
            SYSTEM,
            patients.NewPatient(
                birth_name="LEFÈVRE",
                birth_given_names=["Hélène", "Marie"],
                birth_date=date(1969, 4, 12),
                sex="F",
                birth_place_code="69123",
                ins=INS if status != "provisoire" else None,
                ins_oid=OID_NIR_TEST if status != "provisoire" else None,
                identity_status=status,
            ),
        ).id
    outside = new_mailbox(EXTERNAL_DOMAIN)
    shared = share_request(
        app_client, sender, patient, [], make_pdf(), external_recipients=[outside.upper()]
    )
    assert shared.status_code == 201, shared.text
    document_id = uuid.UUID(shared.json()["document"]["id"])
    with db() as session:
        row = session.scalars(
            select(MssanteOutbox).where(MssanteOutbox.document_id == document_id)
        ).one()
        item = message.document_item(session, row)
        correspondent = session.scalars(
            select(Professional).where(Professional.mssante == outside.lower())
        ).one()
        assert (correspondent.first_name, correspondent.last_name) == ("", outside.lower())
        assert correspondent.display_name == outside.lower()
    archive, cda = message.xdm_archive(item, make_pdf())
    assert failures(cda, expect_ins=status == QUALIFIED) == []
    back = read_xdm(io.BytesIO(archive))
    assert back["intended_recipient"] == f"||^^Internet^{outside.lower()}"
    assert item["recipient"]["name"] == outside.lower()

"""End to end: what the platform puts in an inbox item is what the exports write.

The patient's INS OID (NIR, NIA, test ranges), the sender's RPPS and structure identifiers
(FINESS, SIRET), the recipient and the platform's contact travel from the database through
the inbox API to the HPRIM and XDM files, as the sync engine's exporter receives them.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy.orm import Session

from conftest import make_pdf, share_request
from sisra.client.accounts import Account, AccountSettings
from sisra.client.engine import exporter_for
from sisra.client.export import get_profile, parse_hprim, read_xdm, write_export
from sisra.common.ins import OID_NIA, OID_NIR, OID_NIR_DEMO, OID_NIR_TEST, with_key
from sisra.common.xdm import archive as xdm_module
from sisra.platform.context import SYSTEM
from sisra.platform.models import Professional
from sisra.platform.patients import service as patients

INS_BY_OID = {
    OID_NIR: with_key("1800175123456"),
    OID_NIA: with_key("7800175123457"),
    OID_NIR_TEST: with_key("2690469123045"),
    OID_NIR_DEMO: with_key("2690469123046"),
}


def _patient(db: Any, oid: str) -> uuid.UUID:
    with db() as session:
        assert isinstance(session, Session)
        return patients.create(
            session,
            SYSTEM,
            patients.NewPatient(
                birth_name="LEFÈVRE",
                used_name="GAUTHIER",
                birth_given_names=["Hélène"],
                birth_date=date(1969, 4, 12),
                sex="F",
                ins=INS_BY_OID[oid],
                ins_oid=oid,
            ),
        ).id


def _set(db: Any, pro_id: uuid.UUID, **values: Any) -> None:
    with db() as session:
        pro = session.get(Professional, pro_id)
        for name, value in values.items():
            setattr(pro, name, value)


def _inbox(app_client: Any, persona: Any) -> list[dict[str, Any]]:
    response = app_client.get("/api/v1/inbox", headers=persona.headers)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.fixture
def world(app_client: Any, make_pro: Any, db: Any) -> dict[str, Any]:
    sender = make_pro(first_name="Marc", last_name="Gauthier", profession="Cardiologue")
    recipient = make_pro(first_name="Claire", last_name="Martin")
    _set(db, sender.id, structure="Centre hospitalier de Vienne", finess="380781435")
    _set(db, recipient.id, structure="Maison de santé des Pentes", siret="73282932000074")
    return {"sender": sender, "recipient": recipient}


def test_inbox_items_carry_what_exports_need(app_client: Any, db: Any, world: Any) -> None:
    sender, recipient = world["sender"], world["recipient"]
    data = make_pdf("Compte rendu")
    first = share_request(app_client, sender, _patient(db, OID_NIR_TEST), [recipient], data)
    assert first.status_code == 201, first.text
    (item,) = _inbox(app_client, recipient)
    assert item["patient"]["ins_oid"] == OID_NIR_TEST
    assert item["sender"]["finess"] == "380781435" and item["sender"]["rpps"]
    assert (item["sender"]["first_name"], item["sender"]["last_name"]) == ("Marc", "Gauthier")
    assert item["recipient"]["id"] == str(recipient.id)
    assert item["recipient"]["siret"] == "73282932000074"
    assert item["platform"]["contact_email"] and item["platform"]["name"]
    # the directory API shows the structure identifiers too
    found = app_client.get("/api/v1/professionals?q=gauthier", headers=recipient.headers)
    assert found.status_code == 200
    (card,) = [p for p in found.json() if p["id"] == str(sender.id)]
    assert (card["finess"], card["siret"]) == ("380781435", None)


@pytest.mark.parametrize("oid", sorted(INS_BY_OID))
def test_each_ins_kind_reaches_the_xdm_archive_and_hprim_file(
    app_client: Any, db: Any, world: Any, tmp_path: Path, oid: str
) -> None:
    sender, recipient = world["sender"], world["recipient"]
    data = make_pdf("Compte rendu")
    response = share_request(app_client, sender, _patient(db, oid), [recipient], data)
    assert response.status_code == 201, response.text
    (item,) = _inbox(app_client, recipient)
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(data)
    out = tmp_path / "xdm"
    out.mkdir()
    (archive,) = write_export(get_profile("xdm"), out, item, pdf)  # as the engine calls it
    back = read_xdm(archive)
    assert xdm_module.schema_errors(back["metadata"]) == []
    assert xdm_module.xds_errors(back["metadata"]) == []
    assert back["patient_oid"] == oid and back["patient_id"] == INS_BY_OID[oid]
    assert back["author"].startswith(f"8{item['sender']['rpps']}^GAUTHIER^Marc^")
    assert back["author_institution"].endswith("^IDNST^^^1380781435")
    assert back["codes"]["healthcareFacilityTypeCode"]["code"] == "SA01"
    assert back["intended_recipient"].startswith("Maison de santé des Pentes^")
    assert back["intended_recipient"].endswith(f"|8{item['recipient']['rpps']}"
                                               "^MARTIN^Claire^^^^^^&1.2.250.1.71.4.2.1&ISO"
                                               "^D^^^IDNPS")  # fmt: skip

    hpr = tmp_path / "hprim"
    hpr.mkdir()
    _pdf, hprim = write_export(get_profile("hprim"), hpr, item, pdf)
    parsed = parse_hprim(hprim.read_bytes())
    assert parsed["last_name"] == "GAUTHIER" and parsed["birth_date"] == "1969-04-12"
    assert parsed["recipient"] == "Dr Claire MARTIN"
    nir = oid in (OID_NIR, OID_NIR_TEST, OID_NIR_DEMO)  # every INS but the NIA
    assert parsed["nss"] == (INS_BY_OID[oid] if nir else None)


def test_reply_and_restricted_document_through_the_engine_exporter(
    app_client: Any, db: Any, world: Any, tmp_path: Path
) -> None:
    """The engine's own exporter (profile and folder from the account) writes the codes."""
    sender, recipient = world["sender"], world["recipient"]
    patient = _patient(db, OID_NIR_DEMO)
    first = share_request(app_client, recipient, patient, [sender], make_pdf("Question"))
    assert first.status_code == 201, first.text
    original = first.json()["document"]["id"]
    data = make_pdf("Réponse")
    reply = share_request(
        app_client, sender, patient, [recipient], data, in_reply_to=original, restricted=True
    )
    assert reply.status_code == 201, reply.text
    (item,) = _inbox(app_client, recipient)
    assert item["document"]["restricted"] is True
    assert item["document"]["in_reply_to"] == original

    settings = AccountSettings(
        "Claire MARTIN", recipient.login, str(recipient.id), "http://127.0.0.1:1",
        software_profile_id="mlm_eo", export_folder=tmp_path / "out",
    )  # fmt: skip
    account = cast(Account, SimpleNamespace(settings=settings))  # all the exporter reads
    (tmp_path / "out").mkdir()
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(data)
    (archive,) = exporter_for(account)(item, pdf)
    back = read_xdm(archive)
    assert xdm_module.xds_errors(back["metadata"]) == []
    assert back["patient_oid"] == OID_NIR_DEMO
    assert back["codes"]["confidentialityCode"]["code"] == "R"
    assert back["reference_ids"] == [
        f"{xdm_module.uuid_oid(original)}^^^^urn:ihe:iti:xds:2013:uniqueId"
    ]

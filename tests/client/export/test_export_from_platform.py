"""End to end: what the platform puts in an inbox item is what the exports write.

The patient's INS OID (NIR, NIA, test ranges), the sender's RPPS and structure identifiers
(FINESS, SIRET), the recipient and the platform's contact travel from the database through
the inbox API to the HPRIM and XDM files, as the sync engine's exporter receives them.
"""

from __future__ import annotations

import io
import json
import random
import re
import uuid
import zipfile
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from sisra.client.accounts import Account, AccountSettings
from sisra.client.engine import exporter_for
from sisra.client.export import get_profile, parse_hprim, read_xdm, write_export
from sisra.common.ins import OID_NIA, OID_NIR, OID_NIR_DEMO, OID_NIR_TEST, with_key
from sisra.common.xdm import metadata as xdm_metadata
from sisra.common.xdm import validation as xdm_validation
from sisra.common.xdm.cda import read_cda_n1
from sisra.platform.context import SYSTEM
from sisra.platform.demo.pdfs import render_pdf
from sisra.platform.models import IdentityStatus, Patient, Professional
from sisra.platform.mssante import message
from sisra.platform.patients import service as patients
from sisra.platform.settings import Settings
from sisra.platform.web import letter
from support.documents import make_pdf, share_request
from support.export import typed

INS_BY_OID = {
    OID_NIR: with_key("1800175123456"),
    OID_NIA: with_key("7800175123457"),
    OID_NIR_TEST: with_key("2690469123045"),
    OID_NIR_DEMO: with_key("2690469123046"),
}


def _patient(db: Any, oid: str, status: str = "qualifiée") -> uuid.UUID:
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
                identity_status=status,
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
    (archive,) = write_export(get_profile("xdm"), out, typed(item), pdf)  # as the engine calls it
    back = read_xdm(archive)
    assert xdm_validation.schema_errors(back["metadata"]) == []
    assert xdm_validation.xds_errors(back["metadata"]) == []
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
    _pdf, hprim = write_export(get_profile("hprim"), hpr, typed(item), pdf)
    parsed = parse_hprim(hprim.read_bytes())
    assert parsed["last_name"] == "GAUTHIER" and parsed["birth_date"] == "1969-04-12"
    assert parsed["recipient"] == "Dr Claire MARTIN"
    # line 8 (NSS): only a production NIR; a NIA, a test or demonstration NIR is nobody's
    assert parsed["nss"] == (INS_BY_OID[oid] if oid == OID_NIR else None)


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
    (archive,) = exporter_for(account)(typed(item), pdf)
    back = read_xdm(archive)
    assert xdm_validation.xds_errors(back["metadata"]) == []
    assert back["patient_oid"] == OID_NIR_DEMO
    assert back["codes"]["confidentialityCode"]["code"] == "R"
    assert back["reference_ids"] == [
        f"{xdm_metadata.uuid_oid(original)}^^^^urn:ihe:iti:xds:2013:uniqueId"
    ]


# ----------------------------------------------------- the INS leaves only when qualified

STATUSES = [s.value for s in IdentityStatus]  # provisoire, récupérée, validée, qualifiée


def _digits(data: bytes | str) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return re.sub(r"\s", "", text)


def _zip_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return "".join(_digits(archive.read(n)) for n in archive.namelist())


def _pdf_text(data: bytes) -> str:
    return _digits("".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))


@pytest.mark.parametrize("status", STATUSES)
def test_every_writer_carries_the_ins_only_for_a_qualified_identity(
    app_client: Any, db: Any, world: Any, tmp_path: Path, status: str
) -> None:
    """INS référentiel: the INS (matricule and OID) of an identity that is not « qualifiée »
    is not exchanged. Walk every writer with a patient holding a production NIR: the
    inbox API MonSisra stores, its XDM, HPRIM and PDF exports, the MSSanté mail (body,
    CDA patientRole/id, XDM patientId, README), FHIR, the web letter and the demo's PDFs.
    Without the INS they carry the platform's patient id under the platform's OID."""
    sender, recipient = world["sender"], world["recipient"]
    ins = INS_BY_OID[OID_NIR]
    patient_id = _patient(db, OID_NIR, status)
    data = make_pdf("Compte rendu")
    shared = share_request(app_client, sender, patient_id, [recipient], data)
    assert shared.status_code == 201, shared.text
    qualified = status == "qualifiée"
    (item,) = _inbox(app_client, recipient)
    assert item["patient"]["identity_status"] == status
    outputs: dict[str, str] = {"inbox API": _digits(json.dumps(item))}

    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(data)
    for profile in ("xdm", "hprim", "pdf"):
        out = tmp_path / profile
        out.mkdir()
        for path in write_export(get_profile(profile), out, typed(item), pdf):
            raw = path.read_bytes()
            outputs[f"{profile} {path.suffix}"] = (
                _zip_text(raw) if path.suffix == ".zip" else _digits(raw)
            )
    (archive,) = (tmp_path / "xdm").glob("*.zip")
    back = read_xdm(archive)
    hprim = parse_hprim(next((tmp_path / "hprim").glob("*.hpr")).read_bytes())

    # the MSSanté mail of the same item: its body, and IHE_XDM.ZIP with the CDA inside
    outputs["mail body"] = _digits(message._body(item))
    mail_zip, cda = message.xdm_archive(item, data)
    outputs["mail XDM"] = _zip_text(mail_zip)
    mail_xdm, cda_back = read_xdm(io.BytesIO(mail_zip)), read_cda_n1(cda)

    fhir = app_client.get(f"/fhir/r4/Patient/{patient_id}", headers=recipient.headers)
    assert fhir.status_code == 200, fhir.text
    outputs["FHIR"] = _digits(fhir.text)

    with db() as session:
        pat, author = session.get(Patient, patient_id), session.get(Professional, sender.id)
        assert pat.ins == ins  # the platform holds it whatever the status
        written = letter.render(author, pat, letter.Letter("Courrier", "Courrier", date.today(),
                                                           "Texte."))  # fmt: skip
    outputs["web letter"] = _pdf_text(written)
    outputs["demo PDF"] = _pdf_text(
        render_pdf(title="Compte rendu", type_label="Compte rendu de consultation",
                   author_name="Marc GAUTHIER", author_profession="Cardiologue",
                   author_structure="Cabinet", author_city="Lyon",
                   patient_name="GAUTHIER Hélène", patient_birth_date=date(1969, 4, 12),
                   patient_ins=ins, patient_identity_status=status,
                   clinical_date=date(2026, 11, 19), rng=random.Random(3))
    )  # fmt: skip

    carrying = {name for name, text in outputs.items() if ins[:13] in text}
    if qualified:
        assert {"inbox API", "xdm .zip", "hprim .hpr", "mail body", "mail XDM", "FHIR",
                "web letter", "demo PDF"} <= carrying  # fmt: skip
    else:
        assert carrying == set(), carrying
    oid = OID_NIR if qualified else item["platform"]["patient_id_oid"]
    value = ins if qualified else str(patient_id)
    for found in (back, mail_xdm):
        assert (found["patient_id"], found["patient_oid"]) == (value, oid)
        assert f"{value}^^^&{oid}&ISO" in found["source_patient_id"]
    assert (cda_back["patient_id"], cda_back["patient_root"]) == (value, oid)
    assert hprim["patient_code"] == value
    assert hprim["nss"] == (ins if qualified else None)
    assert item["platform"]["patient_id_oid"] == Settings().patient_id_oid

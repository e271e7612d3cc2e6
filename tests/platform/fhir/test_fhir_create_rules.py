"""Create as practice software sends it: a wrong status, size or hash is refused (nothing
shared), a subject given by a qualified INS is accepted, ``Prefer: return=`` is honoured."""

import base64
import hashlib
from typing import Any

import pytest
from fhir_helpers import (
    document_reference,
    outcome,
    post_document,
    qualified_patient,
    validate,
)
from sqlalchemy import func, select

from sisra.common.ins import OID_NIR
from sisra.platform.models import Document

__all__ = ["qualified_patient"]  # the fixture, used by name


def _count(db: Any) -> int:
    with db() as s:
        return int(s.scalar(select(func.count()).select_from(Document)) or 0)


def _with_attachment(resource: dict[str, Any], **fields: Any) -> dict[str, Any]:
    resource["content"][0]["attachment"].update(fields)
    return resource


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"status": "entered-in-error"}, "invalid_status"),
        ({"status": "bogus"}, "invalid_status"),
        ({"size": 12}, "attachment_size_mismatch"),
        ({"hash": base64.b64encode(b"x" * 20).decode()}, "attachment_hash_mismatch"),
    ],
)
def test_a_wrong_status_size_or_hash_is_refused(
    app_client, make_pro, make_patient, pdf, db, change, code
):
    author, recipient = make_pro(), make_pro()
    resource = document_reference(make_patient(), [recipient], pdf("CR"))
    if "status" in change:
        resource.update(change)
    else:
        _with_attachment(resource, **change)
    before = _count(db)
    outcome(post_document(app_client, author, resource), 422, code)
    assert _count(db) == before


def test_the_right_size_and_hash_are_accepted(app_client, make_pro, make_patient, pdf):
    author, recipient = make_pro(), make_pro()
    data = pdf("CR")
    resource = document_reference(make_patient(), [recipient], data)
    sha1 = base64.b64encode(hashlib.sha1(data).digest()).decode()  # noqa: S324 (FHIR's)
    _with_attachment(resource, size=len(data), hash=sha1)
    assert post_document(app_client, author, resource).status_code == 201


def test_a_subject_by_qualified_ins_is_accepted(app_client, make_pro, pdf, qualified_patient):
    author, recipient = make_pro(), make_pro()
    pid, ins = qualified_patient("BERTHIER")
    resource = document_reference(pid, [recipient], pdf("CR"))
    resource["subject"] = {"identifier": {"system": f"urn:oid:{OID_NIR}", "value": ins}}
    r = post_document(app_client, author, resource)
    assert r.status_code == 201, r.text
    assert validate(r.json())["subject"]["reference"] == f"Patient/{pid}"
    # the INS of an identity that is not qualified designates nobody
    _other, other_ins = qualified_patient("BERTHIER", status="validée")
    resource["subject"] = {"identifier": {"system": f"urn:oid:{OID_NIR}", "value": other_ins}}
    outcome(post_document(app_client, author, resource), 422, "unknown_subject")


def test_prefer_return_is_honoured(app_client, make_pro, make_patient, pdf):
    author, recipient = make_pro(), make_pro()
    patient = make_patient()
    r = post_document(
        app_client,
        author,
        document_reference(patient, [recipient], pdf("A")),
        Prefer="return=minimal",
    )
    assert r.status_code == 201 and r.content == b""
    assert "/_history/1" in r.headers["location"]
    r = post_document(
        app_client,
        author,
        document_reference(patient, [recipient], pdf("B")),
        Prefer="return=OperationOutcome",
    )
    assert r.status_code == 201
    body = validate(r.json())
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] == "information"
    r = post_document(
        app_client,
        author,
        document_reference(patient, [recipient], pdf("C")),
        Prefer="return=representation",
    )
    assert r.status_code == 201 and validate(r.json())["resourceType"] == "DocumentReference"

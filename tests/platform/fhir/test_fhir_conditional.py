"""FHIR as practice software uses it: conditional create on the masterIdentifier, versions
(``meta.versionId``, ``ETag``, ``Last-Modified``, ``Location`` of the version)."""

from email.utils import parsedate_to_datetime
from typing import Any

from fhir_helpers import BASE, document_reference, fhir_get, outcome, post_document, validate
from sqlalchemy import func, select

from sisra.platform.models import Document

SYSTEM = "urn:oid:1.2.250.1.999.1.2"  # a practice software's own document identifiers


def _count(db: Any) -> int:
    with db() as s:
        return int(s.scalar(select(func.count()).select_from(Document)) or 0)


def _resource(patient: Any, recipient: Any, data: bytes, value: str) -> dict[str, Any]:
    return document_reference(
        patient, [recipient], data, masterIdentifier={"system": SYSTEM, "value": value}
    )


def test_conditional_create_returns_the_document_already_shared(
    app_client, make_pro, make_patient, pdf, db
):
    author, recipient = make_pro(), make_pro()
    patient = make_patient()
    resource = _resource(patient, recipient, pdf("Lettre"), "CR-2026-0001")
    cond = {"If-None-Exist": f"identifier={SYSTEM}|CR-2026-0001"}
    first = post_document(app_client, author, resource, **cond)
    assert first.status_code == 201, first.text
    created = validate(first.json())
    # the client's own identifier is kept; the platform's id is a further identifier
    assert created["masterIdentifier"] == {"system": SYSTEM, "value": "CR-2026-0001"}
    assert created["identifier"] == [
        {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{created['id']}"}
    ]
    before = _count(db)
    again = post_document(app_client, author, resource, **cond)
    assert again.status_code == 200, again.text  # the existing one, not a duplicate
    assert validate(again.json())["id"] == created["id"]
    assert again.headers["location"] == first.headers["location"]
    assert _count(db) == before
    # another identifier: a new share
    other = _resource(patient, recipient, pdf("Autre"), "CR-2026-0002")
    third = post_document(
        app_client, author, other, **{"If-None-Exist": f"identifier={SYSTEM}|CR-2026-0002"}
    )
    assert third.status_code == 201 and _count(db) == before + 1


def test_conditional_create_never_matches_someone_elses_document(
    app_client, make_pro, make_patient, pdf, db
):
    author, other, recipient = make_pro(), make_pro(), make_pro()
    patient = make_patient()
    resource = _resource(patient, recipient, pdf("Lettre"), "X-1")
    cond = {"If-None-Exist": f"identifier={SYSTEM}|X-1"}
    assert post_document(app_client, author, resource, **cond).status_code == 201
    r = post_document(app_client, other, resource, **cond)
    assert r.status_code == 201  # another sender's identifier space


def test_if_none_exist_on_anything_but_identifier_is_refused(
    app_client, make_pro, make_patient, pdf, db
):
    author, recipient = make_pro(), make_pro()
    resource = _resource(make_patient(), recipient, pdf("Lettre"), "Y-1")
    before = _count(db)
    r = post_document(app_client, author, resource, **{"If-None-Exist": "subject=Patient/1"})
    outcome(r, 422, "invalid_conditional_create")
    assert _count(db) == before


def test_master_identifier_is_searchable(app_client, make_pro, make_patient, pdf):
    author, recipient = make_pro(), make_pro()
    patient = make_patient()
    created = post_document(
        app_client, author, _resource(patient, recipient, pdf("Lettre"), "Z-9")
    ).json()
    post_document(app_client, author, _resource(patient, recipient, pdf("Autre"), "Z-10"))
    for params in (
        {"identifier": f"{SYSTEM}|Z-9"},
        {"identifier": "Z-9"},
        {"identifier": f"{SYSTEM}|Z-9", "patient": f"Patient/{patient}"},
    ):
        r = fhir_get(app_client, "DocumentReference", author.headers, **params)
        assert r.status_code == 200, r.text
        assert [e["resource"]["id"] for e in r.json().get("entry", [])] == [created["id"]]
    # the recipient sees the document in the record, but the identifier alone searches only
    # the caller's own shares
    r = fhir_get(app_client, "DocumentReference", recipient.headers, identifier=f"{SYSTEM}|Z-9")
    assert r.status_code == 200 and r.json()["total"] == 0


def test_capability_claims_conditional_create(app_client):
    r = fhir_get(app_client, "metadata", {})
    [doc_ref] = [x for x in r.json()["rest"][0]["resource"] if x["type"] == "DocumentReference"]
    assert doc_ref["conditionalCreate"] is True
    assert "identifier" in {p["name"] for p in doc_ref["searchParam"]}


def test_reads_carry_version_etag_and_last_modified(app_client, make_pro, make_patient, pdf):
    author, recipient = make_pro(), make_pro()
    patient = make_patient()
    r = post_document(app_client, author, document_reference(patient, [recipient], pdf("CR")))
    created = r.json()
    vid = created["meta"]["versionId"]
    assert r.headers["location"].endswith(
        f"{BASE}/DocumentReference/{created['id']}/_history/{vid}"
    )
    for path in (f"DocumentReference/{created['id']}", f"Binary/{created['id']}"):
        got = fhir_get(app_client, path, {**author.headers, "Accept": "application/fhir+json"})
        assert got.status_code == 200, got.text
        assert got.json()["meta"]["versionId"] == vid
        assert got.headers["etag"] == f'W/"{vid}"'
        modified = parsedate_to_datetime(got.headers["last-modified"])
        assert modified.isoformat().replace("+00:00", "Z") == got.json()["meta"]["lastUpdated"]
    got = fhir_get(app_client, f"Patient/{patient}", author.headers)
    vid = got.json()["meta"]["versionId"]
    assert got.headers["etag"] == f'W/"{vid}"'
    got = fhir_get(app_client, f"Practitioner/{author.id}", author.headers)
    assert got.headers["etag"] == f'W/"{got.json()["meta"]["versionId"]}"'

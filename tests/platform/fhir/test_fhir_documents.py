"""DocumentReference and Binary through the real app: create = share, search, read, content,
and the record policy (care team, restricted documents, break-glass) exactly as on API v1."""

import base64
import hashlib
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fhir_helpers import (
    BASE,
    document_reference,
    fhir_get,
    outcome,
    post_document,
    qualified_patient,
    validate,
)
from sqlalchemy import func, select

from sisra.platform.models import AuditEvent, Document, Notification, Professional
from support.documents import share_request

__all__ = ["qualified_patient"]  # the fixture, used by name

DECLARE = {
    "attestation": True,
    "reason": "consultation",
    "consent": True,
    "context": "suivi de médecine générale",
}


def _counts(db: Any) -> tuple[int, int]:
    with db() as s:
        return (
            s.scalar(select(func.count()).select_from(Document)),
            s.scalar(select(func.count()).select_from(Notification)),
        )


def _audit(db: Any, document_id: str) -> list[tuple[str, str, list[str]]]:
    """(action, outcome, detail keys) of a document's audit rows, in order."""
    with db() as s:
        rows = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.document_id == uuid.UUID(document_id))
            .order_by(AuditEvent.seq)
        )
        return [(e.action, e.outcome, sorted(e.details)) for e in rows]


def _blobs(settings: Any) -> list[Path]:
    root = Path(settings.effective_blob_dir)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_create_is_a_share_the_recipient_sees_in_its_inbox(
    app_client, make_pro, make_patient, pdf, db
):
    author, recipient, other = make_pro(), make_pro(), make_pro()
    patient = make_patient()
    data = pdf("Consultation de cardiologie", pages=2)
    r = post_document(app_client, author, document_reference(patient, [recipient], data))
    assert r.status_code == 201, r.text
    created = validate(r.json())
    doc_id = created["id"]
    assert r.headers["location"].endswith(f"/fhir/r4/DocumentReference/{doc_id}/_history/1")
    assert r.headers["content-type"].startswith("application/fhir+json")
    assert created["type"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "11488-4",
        "display": "CR ou fiche de consultation ou de visite",  # JDV_J07's label
    }
    assert created["type"]["text"] == "Compte rendu de consultation"  # the platform's name
    # the CI-SIS class, as in the XDM archives (TRE_A03 « Compte rendu »)
    [klass] = created["category"][0]["coding"]
    assert (klass["code"], klass["display"]) == ("10", "Compte rendu")
    assert klass["system"] == (
        "https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument"
    )
    assert created["subject"]["reference"] == f"Patient/{patient}"
    assert created["author"][0]["reference"] == f"Practitioner/{author.id}"
    assert created["context"]["related"][0]["reference"] == f"Practitioner/{recipient.id}"
    assert created["content"][0]["attachment"]["size"] == len(data)
    # the recipient finds it with API v1, and nobody else
    items = app_client.get("/api/v1/inbox", headers=recipient.headers).json()["items"]
    assert [i["document"]["id"] for i in items] == [doc_id]
    assert items[0]["document"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert app_client.get("/api/v1/inbox", headers=other.headers).json()["items"] == []
    # the audit holds what an API v1 share writes
    api = share_request(app_client, author, patient, [recipient], pdf("Autre"))
    assert api.status_code == 201
    assert _audit(db, doc_id) == _audit(db, api.json()["document"]["id"])
    assert [a for a, _, _ in _audit(db, doc_id)] == ["document.share"]


def test_recipients_by_rpps_and_idempotent_retry(app_client, make_pro, make_patient, pdf, db):
    author, recipient = make_pro(), make_pro()
    with db() as s:
        rpps = s.get(Professional, recipient.id).rpps
    patient = make_patient()
    by_rpps = {"identifier": {"system": "https://rpps.esante.gouv.fr", "value": rpps}}
    resource = document_reference(patient, [by_rpps], pdf("Bilan"))
    first = post_document(app_client, author, resource, **{"Idempotency-Key": "fhir-7f3a"})
    assert first.status_code == 201, first.text
    again = post_document(app_client, author, resource, **{"Idempotency-Key": "fhir-7f3a"})
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json() and again.headers["location"] == first.headers["location"]
    assert _counts(db) == (1, 1)
    other = document_reference(patient, [by_rpps], pdf("Autre bilan"))
    reused = post_document(app_client, author, other, **{"Idempotency-Key": "fhir-7f3a"})
    outcome(reused, 422, "idempotency_key_reused")
    too_long = post_document(app_client, author, other, **{"Idempotency-Key": "x" * 256})
    outcome(too_long, 422, "invalid_idempotency_key")
    assert _counts(db) == (1, 1)
    unknown = {"identifier": {"system": "https://rpps.esante.gouv.fr", "value": "10000000009"}}
    bad = post_document(app_client, author, document_reference(patient, [unknown], pdf()))
    outcome(bad, 422, "unknown_recipient")


def test_bad_input_is_an_operation_outcome_and_creates_nothing(
    app_client, make_pro, make_patient, pdf, db, settings
):
    author, recipient = make_pro(), make_pro()
    patient = make_patient()
    good = document_reference(patient, [recipient], pdf())
    not_pdf = document_reference(patient, [recipient], b"%PDF- pas vraiment un PDF")
    cases: list[tuple[Any, int, str]] = [
        (not_pdf, 422, "not_a_pdf"),
        (
            {**good, "content": [{"attachment": {"contentType": "text/plain", "data": "eA=="}}]},
            422,
            "not_a_pdf",
        ),
        (
            document_reference("00000000-0000-0000-0000-000000000000", [recipient], pdf()),
            404,
            "patient_not_found",
        ),
        (
            document_reference(patient, ["00000000-0000-0000-0000-000000000000"], pdf()),
            422,
            "unknown_recipient",
        ),
        (document_reference(patient, [author], pdf()), 422, "self_recipient"),
        (b'{"resourceType": "DocumentReference", ', 422, "invalid_json"),
        ({**good, "resourceType": "Patient"}, 422, "invalid_resource_type"),
        (
            {**good, "type": {"coding": [{"system": "http://loinc.org", "code": "0000-0"}]}},
            422,
            "invalid_document_type",
        ),
        (
            {
                **good,
                "context": {
                    "period": {"start": "2999-01-01"},
                    "related": good["context"]["related"],
                },
            },
            422,
            "invalid_date",
        ),
        (
            {**good, "content": [{"attachment": {"contentType": "application/pdf", "data": "@@"}}]},
            422,
            "invalid_attachment",
        ),
    ]
    for body, status, code in cases:
        outcome(post_document(app_client, author, body), status, code)
    r = app_client.post(
        f"{BASE}/DocumentReference",
        headers={**author.headers, "Content-Type": "text/plain"},
        content=b"x",
    )
    outcome(r, 415, "unsupported_media_type")
    assert _counts(db) == (0, 0)
    assert _blobs(settings) == []
    # an administrator is refused as on API v1
    from sisra.platform.models import Role

    admin = make_pro(role=Role.administrator)
    api = share_request(app_client, admin, patient, [recipient], pdf())
    outcome(post_document(app_client, admin, good), api.status_code, api.json()["code"])


def test_too_large_is_refused_while_received(app_client, make_pro, make_patient, pdf, settings, db):
    author, recipient = make_pro(), make_pro()
    big = pdf(padding=settings.max_document_bytes + 1024)
    r = post_document(app_client, author, document_reference(make_patient(), [recipient], big))
    outcome(r, 413, "file_too_large")
    assert _counts(db) == (0, 0)


def _share_api(client, sender, patient, recipients, data, **meta) -> str:
    r = share_request(client, sender, patient, recipients, data, **meta)
    assert r.status_code == 201, r.text
    return str(r.json()["document"]["id"])


def test_search_read_and_binary_for_who_may_see(app_client, make_pro, make_patient, pdf, db):
    author, recipient = make_pro(), make_pro()
    patient = make_patient()
    old = _share_api(
        app_client,
        author,
        patient,
        [recipient],
        pdf("Ancien"),
        type_code="biologie",
        clinical_date=(date.today() - timedelta(days=400)).isoformat(),
    )
    data = pdf("Récent")
    new = _share_api(app_client, author, patient, [recipient], data)
    h = recipient.headers
    r = fhir_get(app_client, "DocumentReference", h, patient=f"Patient/{patient}")
    bundle = r.json()
    assert bundle["total"] == 2 and [e["resource"]["id"] for e in bundle["entry"]] == [new, old]
    assert "related" not in bundle["entry"][0]["resource"]["context"]  # receipts: author only
    for params, expected in (
        ({"type": "http://loinc.org|11502-2"}, [old]),
        ({"type": "11488-4,11502-2"}, [new, old]),
        ({"period": f"ge{date.today().year}"}, [new]),
        ({"period": ["ge2000", f"lt{date.today().isoformat()}"]}, [old]),
        ({"date": date.today().isoformat()}, [new, old]),
        ({"date": "lt2001"}, []),
        ({"_count": 1}, [new]),
    ):
        found = fhir_get(app_client, "DocumentReference", h, patient=str(patient), **params)
        assert [e["resource"]["id"] for e in found.json().get("entry", [])] == expected, params
    paged = fhir_get(app_client, "DocumentReference", h, patient=str(patient), _count=1).json()
    assert paged["total"] == 2
    assert "_offset=1" in next(x["url"] for x in paged["link"] if x["relation"] == "next")
    outcome(fhir_get(app_client, "DocumentReference", h, patient=str(patient), date="hier"), 422)
    outcome(fhir_get(app_client, "DocumentReference", h), 422)
    wrong = fhir_get(app_client, "DocumentReference", h, patient=f"Practitioner/{patient}")
    outcome(wrong, 422, "invalid_search_parameter")

    read = fhir_get(app_client, f"DocumentReference/{new}", author.headers).json()
    assert read["context"]["related"][0]["reference"] == f"Practitioner/{recipient.id}"
    assert "related" not in fhir_get(app_client, f"DocumentReference/{new}", h).json()["context"]

    pdf_answer = app_client.get(f"{BASE}/Binary/{new}", headers={**h, "Accept": "application/pdf"})
    assert pdf_answer.status_code == 200 and pdf_answer.content == data
    assert pdf_answer.headers["content-type"] == "application/pdf"
    assert pdf_answer.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    as_fhir = fhir_get(app_client, f"Binary/{new}", h, _format="json")
    assert as_fhir.json()["contentType"] == "application/pdf"
    assert base64.b64decode(as_fhir.json()["data"]) == data
    accept = app_client.get(
        f"{BASE}/Binary/{new}", headers={**h, "Accept": "application/fhir+json"}
    )
    assert validate(accept.json())["resourceType"] == "Binary"
    outcome(app_client.get(f"{BASE}/Binary/{new}", headers={**h, "Accept": "image/png"}), 406)
    with db() as s:
        downloads = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "document.download",
                AuditEvent.document_id == uuid.UUID(new),
            )
        ).all()
    assert [d.details["via"] for d in downloads] == ["fhir", "fhir", "fhir"]


def test_an_outsider_is_refused_exactly_as_on_api_v1(app_client, make_pro, make_patient, pdf, db):
    author, recipient, outsider = make_pro(), make_pro(), make_pro()
    patient = make_patient()
    doc = _share_api(app_client, author, patient, [recipient], pdf())
    h = outsider.headers
    pairs = (
        (f"/api/v1/documents/{doc}", f"{BASE}/DocumentReference/{doc}"),
        (f"/api/v1/documents/{doc}/content", f"{BASE}/Binary/{doc}"),
        (f"/api/v1/patients/{patient}/documents", f"{BASE}/DocumentReference?patient={patient}"),
    )
    for api_path, fhir_path in pairs:
        with db() as s:
            before = s.scalar(select(func.max(AuditEvent.seq))) or 0
        api = app_client.get(api_path, headers=h)
        fhir = app_client.get(fhir_path, headers=h)
        assert api.status_code == 403
        body = outcome(fhir, api.status_code, api.json()["code"])
        assert body["issue"][0]["diagnostics"] == api.json()["message"]
        with db() as s:
            rows = s.scalars(
                select(AuditEvent).where(AuditEvent.seq > before).order_by(AuditEvent.seq)
            ).all()
        refused = [(e.action, e.outcome, e.patient_id, e.document_id) for e in rows]
        assert len(refused) == 2 and refused[0] == refused[1], refused
        assert refused[0][1] == "refused"
    # re-sharing a document one may not read is refused too, and creates nothing
    body = document_reference(patient, [author], b"")
    body["content"] = [{"attachment": {"contentType": "application/pdf", "url": f"Binary/{doc}"}}]
    outcome(post_document(app_client, outsider, body), 403, "not_in_care_team")
    assert _counts(db) == (1, 1)


def test_care_team_restricted_and_break_glass_hold_through_fhir(
    app_client, make_pro, make_patient, pdf
):
    author, recipient, member = make_pro(), make_pro(), make_pro()
    patient = make_patient()
    open_doc = _share_api(app_client, author, patient, [recipient], pdf("Ouvert"))
    secret = _share_api(app_client, author, patient, [recipient], pdf("Secret"), restricted=True)
    r = app_client.post(
        f"/api/v1/patients/{patient}/care-team", headers=member.headers, json=DECLARE
    )
    assert r.status_code == 201, r.text
    seen = fhir_get(app_client, "DocumentReference", member.headers, patient=str(patient)).json()
    assert [e["resource"]["id"] for e in seen["entry"]] == [open_doc] and seen["total"] == 1
    api = app_client.get(f"/api/v1/documents/{secret}", headers=member.headers)
    outcome(
        fhir_get(app_client, f"DocumentReference/{secret}", member.headers),
        api.status_code,
        api.json()["code"],
    )
    assert api.json()["code"] == "document_restricted"
    labels = fhir_get(app_client, f"DocumentReference/{secret}", author.headers).json()
    assert labels["securityLabel"][0]["coding"][0]["code"] == "R"
    # break-glass (API v1) opens the whole record, restricted documents included
    stranger = make_pro()
    glass = app_client.post(
        f"/api/v1/patients/{patient}/break-glass",
        headers=stranger.headers,
        json={"reason": "Urgence vitale, patient inconscient aux urgences"},
    )
    assert glass.status_code == 201, glass.text
    found = fhir_get(app_client, "DocumentReference", stranger.headers, patient=str(patient))
    assert {e["resource"]["id"] for e in found.json()["entry"]} == {open_doc, secret}
    binary = app_client.get(f"{BASE}/Binary/{secret}", headers=stranger.headers)
    assert binary.status_code == 200 and binary.content.startswith(b"%PDF-")


def test_documents_of_a_patient_found_by_ins(app_client, make_pro, pdf, qualified_patient):
    author, recipient, outsider = make_pro(), make_pro(), make_pro()
    pid, ins = qualified_patient()
    doc = _share_api(app_client, author, pid, [recipient], pdf())
    chained = {"patient.identifier": f"urn:oid:1.2.250.1.213.1.4.8|{ins}"}
    found = fhir_get(app_client, "DocumentReference", recipient.headers, **chained).json()
    assert found["total"] == 1 and found["entry"][0]["resource"]["id"] == doc
    assert "patient.identifier=" in found["link"][0]["url"]
    api = app_client.get(f"/api/v1/patients/{pid}/documents", headers=outsider.headers)
    refused = fhir_get(app_client, "DocumentReference", outsider.headers, **chained)
    outcome(refused, api.status_code, api.json()["code"])
    both = fhir_get(app_client, "DocumentReference", recipient.headers, patient=str(pid), **chained)
    outcome(both, 422, "invalid_search_parameter")
    # the INS of an identity that is not qualified finds nothing (decision 109)
    other, other_ins = qualified_patient(birth_name="MOREAU", status="validée")
    _share_api(app_client, author, other, [recipient], pdf())
    unqualified = {"patient.identifier": other_ins}
    none = fhir_get(app_client, "DocumentReference", recipient.headers, **unqualified).json()
    assert none["total"] == 0 and "entry" not in none


def test_a_document_one_may_read_is_shared_again_by_its_binary(
    app_client, make_pro, make_patient, pdf, db
):
    author, recipient, colleague = make_pro(), make_pro(), make_pro()
    patient = make_patient()
    data = pdf("Compte rendu à transmettre")
    doc = _share_api(app_client, author, patient, [recipient], data)
    body = document_reference(patient, [colleague], b"")
    body["content"] = [{"attachment": {"contentType": "application/pdf", "url": f"Binary/{doc}"}}]
    r = post_document(app_client, recipient, validate(body))
    assert r.status_code == 201, r.text
    again = r.json()["id"]
    assert again != doc
    items = app_client.get("/api/v1/inbox", headers=colleague.headers).json()["items"]
    assert [i["document"]["id"] for i in items] == [again]
    assert items[0]["document"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert items[0]["sender"]["id"] == str(recipient.id)
    # reading the source was audited as a download by the one who shared it again
    with db() as s:
        reads = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "document.download", AuditEvent.document_id == uuid.UUID(doc)
            )
        ).all()
    assert [(r.actor_id, r.details["via"]) for r in reads] == [(recipient.id, "fhir")]


def test_create_refuses_a_noncharacter_in_the_title(app_client, make_pro, make_patient, pdf, db):
    author, recipient = make_pro(), make_pro()
    resource = document_reference(make_patient(), [recipient], pdf())
    resource["description"] = "Compte rendu\ufffe"
    outcome(post_document(app_client, author, resource), 422, "invalid_characters")
    resource["description"] = "Compte rendu"
    resource["content"][0]["attachment"]["title"] = "Compte rendu\U0001fffe"
    del resource["description"]
    outcome(post_document(app_client, author, resource), 422, "invalid_characters")
    assert _counts(db) == (0, 0)

"""One idempotency key, two doors: API v1 and FHIR share through the same use case, and a key
used on one is never replayed on the other in the wrong shape."""

import json
from datetime import date
from typing import Any

from fhir_helpers import document_reference, outcome, post_document
from sqlalchemy import func, select

from sisra.platform.models import Document


def _api_share(client: Any, sender: Any, patient: Any, recipient: Any, data: bytes, key: str):
    metadata = {
        "patient_id": str(patient),
        "title": "Compte rendu de consultation",
        "type_code": "cr_consultation",
        "clinical_date": date.today().isoformat(),
        "recipients": [str(recipient.id)],
    }
    return client.post(
        "/api/v1/documents",
        headers={**sender.headers, "Idempotency-Key": key},
        data={"metadata": json.dumps(metadata)},
        files={"file": ("document.pdf", data, "application/pdf")},
    )


def test_a_key_used_on_api_v1_is_reused_on_fhir_not_replayed(
    app_client, make_pro, make_patient, pdf, db
):
    author, recipient = make_pro(), make_pro()
    patient = make_patient()
    data = pdf("Bilan")
    api = _api_share(app_client, author, patient, recipient, data, "porte-1")
    assert api.status_code == 201, api.text
    again = _api_share(app_client, author, patient, recipient, data, "porte-1")
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == api.json()
    # the very same share through FHIR, under the same key: refused, not answered as API v1
    fhir = document_reference(patient, [recipient], data)
    reused = post_document(app_client, author, fhir, **{"Idempotency-Key": "porte-1"})
    outcome(reused, 422, "idempotency_key_reused")
    # under a key of its own it is a share (FHIR's answer), replayed as FHIR
    created = post_document(app_client, author, fhir, **{"Idempotency-Key": "porte-2"})
    assert created.status_code == 201 and created.json()["resourceType"] == "DocumentReference"
    replay = post_document(app_client, author, fhir, **{"Idempotency-Key": "porte-2"})
    assert replay.headers["idempotent-replayed"] == "true" and replay.json() == created.json()
    with db() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 2

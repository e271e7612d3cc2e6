"""FHIR test helpers: every resource the API returns is validated with the R4B models of
``fhir.resources`` (the nearest to R4 4.0.1 installable next to pydantic 2, docs/interop.md)
and, where Node.js is installed, with the npm package ``fhir`` (R4 core definitions and value
sets, :mod:`sisra.devtools.fhir_validator`): two validators the project did not write."""

import atexit
import base64
from datetime import date
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from needs import need, present
from sisra.common.ins import OID_NIR, with_key
from sisra.devtools.fhir_validator import FhirValidator
from sisra.platform.context import SYSTEM
from sisra.platform.patients import service as patients

FHIR_JSON = "application/fhir+json"
BASE = "/fhir/r4"


_NPM: list[FhirValidator] = []


def npm_validator() -> FhirValidator | None:
    """The npm ``fhir`` validator, started once for the session (None without Node.js)."""
    if not _NPM and present("node"):
        _NPM.append(FhirValidator().start())
        atexit.register(_NPM[0].stop)
    return _NPM[0] if _NPM else None


@pytest.fixture
def fhir_validator() -> FhirValidator:
    """The npm validator itself, for tests about it (skipped without Node.js)."""
    need("node")
    validator = npm_validator()
    assert validator is not None
    return validator


def validate(body: dict[str, Any], *, npm: bool = True) -> dict[str, Any]:
    """Validate a resource (and each entry of a Bundle) against its FHIR model, and with the
    npm validator when Node.js is there; returns it."""
    if npm and (validator := npm_validator()) is not None:
        errors = validator.validate(body)
        assert not errors, (errors, body)
    kind = body["resourceType"]
    get_fhir_model_class(kind).model_validate(body)
    for entry in body.get("entry", []):
        validate(entry["resource"], npm=False)  # the npm validator walked the Bundle
    return body


def fhir_get(client: Any, path: str, headers: dict[str, str], **params: Any) -> Any:
    """GET under /fhir/r4; checks the content type and validates the body (errors included)."""
    r = client.get(f"{BASE}/{path}", headers=headers, params=params or None)
    if r.headers.get("content-type", "").startswith(FHIR_JSON):
        validate(r.json())
    return r


def outcome(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert an OperationOutcome answer with ``status`` (and the platform's error ``code``)."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(FHIR_JSON)
    body = validate(r.json())
    assert body["resourceType"] == "OperationOutcome"
    issue = body["issue"][0]
    assert issue["severity"] == "error" and issue["diagnostics"]
    if code is not None:
        assert issue["details"]["coding"][0]["code"] == code, body
    return body


def document_reference(
    patient: Any, recipients: list[Any], data: bytes, **extra: Any
) -> dict[str, Any]:
    """A DocumentReference to POST: the PDF in base64, recipients in context.related."""
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "description": "Compte rendu de consultation",
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "data": base64.b64encode(data).decode(),
                }
            }
        ],
        "context": {
            "period": {"start": date.today().isoformat()},
            "related": [
                r if isinstance(r, dict) else {"reference": f"Practitioner/{getattr(r, 'id', r)}"}
                for r in recipients
            ],
        },
    }
    resource.update(extra)
    return validate(resource)


def post_document(client: Any, sender: Any, resource: Any, **headers: str) -> Any:
    return client.post(
        f"{BASE}/DocumentReference",
        headers={**sender.headers, "Content-Type": FHIR_JSON, **headers},
        content=resource if isinstance(resource, bytes) else None,
        json=None if isinstance(resource, bytes) else resource,
    )


@pytest.fixture
def qualified_patient(db: Any) -> Any:
    """A qualified identity (INS, birth place), as after an INSi call and an identity check."""
    counter = iter(range(1, 1000))

    def _make(birth_name: str = "LEFEBVRE", status: str = "qualifiée") -> tuple[Any, str]:
        n = next(counter)
        ins = with_key(f"2850369123{n:03d}")
        with db() as session:
            p = patients.create(
                session,
                SYSTEM,
                patients.NewPatient(
                    birth_name=birth_name,
                    birth_given_names=["Claire", "Anne"],
                    first_given_name="Claire",
                    birth_date=date(1985, 3, 12 + n % 10),
                    sex="F",
                    birth_place_code="69123",
                    ins=ins,
                    ins_oid=OID_NIR,
                    identity_status=status,
                ),
            )
            return p.id, ins

    return _make

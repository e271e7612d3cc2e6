"""FHIR R4 resources built as plain JSON from the platform's rows (no FHIR library at run time).

Each builder takes what the services return and gives the resource's JSON; the tests validate
every one of them with the ``fhir.resources`` models (docs/interop.md).
"""

import base64
import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sisra.common import doctypes, valuesets
from sisra.common.ins import shareable_ins
from sisra.common.xdm import codes as xdm_codes
from sisra.platform.fhir import codes
from sisra.platform.models import Document, Patient, Professional

Json = dict[str, Any]


def instant(value: datetime) -> str:
    """An ``instant``: UTC, to the second, with its zone."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# A document never changes once shared: its only version
DOCUMENT_VERSION = "1"


def content_version(resource: Json) -> Json:
    """Give a resource that has no stored version counter (Patient, Practitioner) a
    ``meta.versionId`` derived from its content: it changes exactly when the resource does,
    so ``ETag`` and ``If-Match`` work as FHIR clients expect."""
    meta = resource.setdefault("meta", {})
    meta.pop("versionId", None)
    canonical = json.dumps(resource, sort_keys=True, ensure_ascii=False).encode()
    meta["versionId"] = hashlib.sha256(canonical).hexdigest()[:16]
    return resource


def reference(kind: str, id_: object, display: str | None = None) -> Json:
    ref: Json = {"reference": f"{kind}/{id_}"}
    if display:
        ref["display"] = display
    return ref


def _coding(system: str, code: str, display: str | None = None) -> Json:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


# --- Patient ------------------------------------------------------------------------------


def _ins_identifier(p: Patient) -> Json | None:
    """The INS, only for a qualified identity: the INS référentiel forbids exchanging the
    matricule of an identity that is not qualified (FR Core: fr-core-patient-ins); the rule
    every writer follows is :func:`sisra.common.ins.shareable_ins`."""
    ins = shareable_ins(p.ins, p.identity_status.value)
    if not ins or not p.ins_oid:
        return None
    kind = codes.INS_TYPES.get(p.ins_oid)
    if kind is None:
        return None
    type_code, use = kind
    return {
        "use": use,
        "type": {"coding": [_coding(codes.CS_IDENTIFIER_TYPE, type_code)]},
        "system": codes.urn_oid(p.ins_oid),
        "value": ins,
    }


def _birth_place(code: str | None) -> Json | None:
    """The INSEE code of the birth commune (a 99xxx country code is not a commune: left out)."""
    if not code or code.startswith("99"):
        return None
    insee = {"url": codes.EXT_INSEE_CODE, "valueCoding": _coding(codes.CS_COMMUNE, code)}
    return {"url": codes.EXT_BIRTH_PLACE, "valueAddress": {"extension": [insee]}}


def patient(p: Patient) -> Json:
    status_code, status_label = codes.IDENTITY_STATUS[p.identity_status]
    extensions: list[Json] = [
        {
            "url": codes.EXT_IDENTITY_RELIABILITY,
            "extension": [
                {
                    "url": "identityStatus",
                    "valueCoding": _coding(codes.CS_IDENTITY_STATUS, status_code, status_label),
                }
            ],
        }
    ]
    if place := _birth_place(p.birth_place_code):
        extensions.append(place)
    official: Json = {
        "extension": [
            {"url": codes.EXT_BIRTH_LIST_GIVEN_NAME, "valueString": " ".join(p.birth_given_names)}
        ],
        "use": "official",
        "family": p.birth_name,
        "given": [p.first_given_name],
    }
    names = [official]
    if p.used_name:
        names.append({"use": "usual", "family": p.used_name, "given": [p.first_given_name]})
    ins = _ins_identifier(p)
    profiles = [codes.PROFILE_PATIENT]
    if ins is not None and place is not None:  # fr-core-patient-ins requires the birth place
        profiles.append(codes.PROFILE_PATIENT_INS)
    resource: Json = {
        "resourceType": "Patient",
        "id": str(p.id),
        "meta": {"profile": profiles},
        "extension": extensions,
    }
    if ins is not None:
        resource["identifier"] = [ins]
    resource.update(
        name=names,
        gender=codes.GENDER[p.sex],
        birthDate=p.birth_date.isoformat(),
    )
    return content_version(resource)


# --- Practitioner -------------------------------------------------------------------------


def practitioner(pro: Professional) -> Json:
    identifiers: list[Json] = []
    if pro.national_id:
        identifiers.append(
            {
                "type": {"coding": [_coding(codes.CS_IDENTIFIER_TYPE, "IDNPS")]},
                "system": codes.SYSTEM_IDNPS,
                "value": pro.national_id,
            }
        )
    if pro.rpps:
        identifiers.append(
            {
                "type": {"coding": [_coding(codes.CS_IDENTIFIER_TYPE, "RPPS")]},
                "system": codes.SYSTEM_RPPS,
                "value": pro.rpps,
            }
        )
    resource: Json = {
        "resourceType": "Practitioner",
        "id": str(pro.id),
        "meta": {"profile": [codes.PROFILE_PRACTITIONER]},
    }
    if identifiers:
        resource["identifier"] = identifiers
    resource["active"] = pro.active
    resource["name"] = [{"use": "usual", "family": pro.last_name, "given": [pro.first_name]}]
    if pro.mssante:  # the secure messaging address, never the personal e-mail
        resource["telecom"] = [
            {
                # FR Core: the address is an MSSanté mailbox (TRE_R256-TypeMessagerie)
                "extension": [
                    {
                        "url": codes.EXT_EMAIL_TYPE,
                        "valueCoding": _coding(codes.CS_EMAIL_TYPE, *codes.EMAIL_TYPE_MSSANTE),
                    }
                ],
                "system": "email",
                "value": pro.mssante,
                "use": "work",
            }
        ]
    if pro.city:
        resource["address"] = [{"use": "work", "city": pro.city}]
    # Profession and specialty are free text in the directory (no RASS codes held)
    qualification = " — ".join(x for x in (pro.profession, pro.specialty) if x)
    if qualification:
        resource["qualification"] = [{"code": {"text": qualification}}]
    return content_version(resource)


# --- DocumentReference and Binary ---------------------------------------------------------


def document_reference(
    doc: Document,
    base: str,
    *,
    author: str | None = None,
    recipients: Sequence[tuple[uuid.UUID, str]] = (),
) -> Json:
    """``recipients`` (id, name) only for the author, as API v1 shows receipts only to them."""
    dtype = doctypes.get(doc.type_code)
    label = dtype.label if dtype else doc.type_code
    kind = valuesets.type_concept(doc.type_code)  # JDV_J07 code and label (decision 137)
    confidentiality = ("R", "restricted") if doc.restricted else ("N", "normal")
    klass = xdm_codes.class_code(doc.type_code)
    own = {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{doc.id}"}
    resource: Json = {
        "resourceType": "DocumentReference",
        "id": str(doc.id),
        "meta": {"versionId": DOCUMENT_VERSION, "lastUpdated": instant(doc.created_at)},
    }
    if doc.master_value:  # the sender's identifier, as it gave it; ours as a further one
        master: Json = {"value": doc.master_value}
        if doc.master_system:
            master = {"system": doc.master_system, **master}
        resource.update(masterIdentifier=master, identifier=[own])
    else:
        resource["masterIdentifier"] = own
    resource |= {
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [_coding(codes.LOINC, kind.code, kind.label)], "text": label},
        "category": [{"coding": [_coding(codes.CS_DOCUMENT_CLASS, klass.code, klass.label)]}],
        "subject": reference("Patient", doc.patient_id),
        "date": instant(doc.created_at),
        "author": [reference("Practitioner", doc.author_id, author)],
        "description": doc.title,
        "securityLabel": [{"coding": [_coding(codes.CONFIDENTIALITY, *confidentiality)]}],
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "language": "fr-FR",
                    "url": f"{base}Binary/{doc.id}",
                    "size": doc.size,
                    "title": doc.title,
                    "creation": doc.clinical_date.isoformat(),
                }
            }
        ],
    }
    context: Json = {"period": {"start": doc.clinical_date.isoformat()}}
    if recipients:
        context["related"] = [reference("Practitioner", rid, name) for rid, name in recipients]
    resource["context"] = context
    return resource


def binary(doc: Document, data: bytes) -> Json:
    return {
        "resourceType": "Binary",
        "id": str(doc.id),
        "meta": {"versionId": DOCUMENT_VERSION, "lastUpdated": instant(doc.created_at)},
        "contentType": "application/pdf",
        "securityContext": reference("DocumentReference", doc.id),
        "data": base64.b64encode(data).decode("ascii"),
    }


# --- Bundle and OperationOutcome ----------------------------------------------------------


def searchset(
    base: str,
    kind: str,
    resources: list[Json],
    total: int,
    self_url: str,
    next_url: str | None,
    warning: str | None = None,
) -> Json:
    """A searchset Bundle; ``warning`` (French) becomes an OperationOutcome entry of search
    mode ``outcome``, as FHIR tells a client that its search was cut short."""
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    bundle: Json = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": instant(datetime.now(UTC)),
        "total": total,
        "link": links,
    }
    entries: list[Json] = [
        {"fullUrl": f"{base}{kind}/{r['id']}", "resource": r, "search": {"mode": "match"}}
        for r in resources
    ]
    if warning:
        issue = {"severity": "warning", "code": "too-costly", "diagnostics": warning}
        outcome = {"resourceType": "OperationOutcome", "issue": [issue]}
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    if entries:  # FHIR JSON has no empty arrays
        bundle["entry"] = entries
    return bundle


# HTTP status -> OperationOutcome issue type (FHIR's IssueType value set)
_ISSUE_TYPES = {
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    408: "timeout",
    409: "conflict",
    413: "too-long",
    415: "not-supported",
    416: "invalid",
    422: "invalid",
    429: "throttled",
    503: "transient",
}


def operation_outcome(status: int, code: str, message: str, errors: list[str]) -> Json:
    """An error: its French message in ``diagnostics`` and ``details.text``, the platform's
    stable code (API v1's ``code``) in ``details.coding``; field errors as further issues."""
    issue_type = _ISSUE_TYPES.get(status, "exception" if status >= 500 else "processing")
    issues: list[Json] = [
        {
            "severity": "error",
            "code": issue_type,
            "details": {"coding": [_coding(codes.CS_ERROR, code)], "text": message},
            "diagnostics": message,
        }
    ]
    issues += [{"severity": "error", "code": issue_type, "diagnostics": e} for e in errors]
    return {"resourceType": "OperationOutcome", "issue": issues}

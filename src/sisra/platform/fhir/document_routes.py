"""``/fhir/r4/DocumentReference`` and ``/fhir/r4/Binary``: documents read, searched and
shared (DocumentReference create), thin routes over API v1's document services."""

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Header, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from sisra.common import valuesets
from sisra.platform.deps import AppSettings, Blobs, DbSession, Hub, ProContext
from sisra.platform.documents import content, idempotency, sharing
from sisra.platform.documents import service as documents
from sisra.platform.errors import Invalid, NotFound, SisraError
from sisra.platform.fhir import codes, openapi, params, resources, share
from sisra.platform.fhir.params import DEFAULT_COUNT
from sisra.platform.fhir.patient_routes import _qualified_by_ins
from sisra.platform.fhir.route_helpers import (
    _ANY,
    _JSON_FORMATS,
    PREFIX,
    Count,
    Dates,
    FormCount,
    FormDates,
    FormOffset,
    FormText,
    Negotiated,
    Offset,
    Text,
    _accepted,
    _bundle,
    _maybe_id,
    _not_acceptable,
    _page,
    _resource_id,
    base_url,
    fhir_json,
    form_body,
    read_json,
    search_control,
    versioned,
)
from sisra.platform.models import Document, Notification, Professional
from sisra.platform.record import service as record
from sisra.platform.settings import Settings

# prefixed here, not by routes.py: the OpenAPI bearer scheme reads the included routers' paths
router = APIRouter(prefix=PREFIX)  # tagged « fhir » by routes.py, which includes it

# --- DocumentReference --------------------------------------------------------------------


def _names(session: DbSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = session.scalars(select(Professional).where(Professional.id.in_(ids)))
    return {p.id: p.display_name for p in rows}


@router.get("/DocumentReference/{document_id}", responses=openapi.responses("DocumentReference"))
def read_document_reference(
    session: DbSession,
    ctx: ProContext,
    settings: AppSettings,
    document_id: str,
    _: None = Negotiated,
) -> Response:
    """Metadata, by the record policy (as ``GET /api/v1/documents/{id}``, same audit)."""
    doc = documents.get(session, _document_id(document_id))
    return read_json(_document_body(session, ctx, base_url(settings), doc), doc.created_at)


@dataclass(frozen=True)
class DocumentQuery:
    """The parameters of a DocumentReference search (URL or form body)."""

    patient: str | None = None
    patient_ins: str | None = None
    date: list[str] | None = None
    period: list[str] | None = None
    type: str | None = None
    identifier: str | None = None
    id: str | None = None
    count: int = DEFAULT_COUNT
    offset: int = 0

    def used(self) -> list[tuple[str, str]]:
        used = [("patient", self.patient)] if self.patient is not None else []
        if self.patient_ins is not None:
            used.append(("patient.identifier", self.patient_ins))
        used += [("date", d) for d in self.date or []]
        used += [("period", d) for d in self.period or []]
        named = (("type", self.type), ("identifier", self.identifier), ("_id", self.id))
        return used + [(k, v) for k, v in named if v is not None]


def _one_document(session: DbSession, ctx: ProContext, value: str) -> list[Any]:
    """``_id`` alone: the document if it exists, by the record policy (as a read)."""
    doc_id = _maybe_id(value)
    if doc_id is None or session.get(Document, doc_id) is None:
        return []
    documents.detail(session, ctx, doc_id)  # refused (403) and audited as a read
    return [documents.get(session, doc_id)]


def _search_documents(
    session: DbSession,
    ctx: ProContext,
    settings: Settings,
    q: DocumentQuery,
    control: params.Control,
) -> Response:
    page = _page(q.count, q.offset)
    used = q.used()
    if q.patient is not None and q.patient_ins is not None:
        raise params.bad_parameter(
            "patient", "indiquez le patient : patient=Patient/<id> ou patient.identifier=<INS>."
        )
    tests = [params.date_filter("date", d) for d in q.date or []]
    periods = [params.date_filter("period", d) for d in q.period or []]
    loincs = _loincs(q.type)
    assert ctx.actor is not None
    own = None if q.identifier is None else share.by_identifier(session, ctx.actor.id, q.identifier)
    candidates: list[Any]
    if q.patient is None and q.patient_ins is None:
        if own is not None:
            candidates = own  # the caller's own shares: nothing of anyone else's record
        elif q.id is not None:
            candidates = _one_document(session, ctx, q.id)
        else:
            raise params.bad_parameter(
                "patient",
                "indiquez le patient (patient=Patient/<id> ou patient.identifier=<INS>), "
                "l'identifiant du document (identifier) ou _id.",
            )
    else:
        if q.patient is not None:
            patient_id = params.reference_id("patient", q.patient, "Patient")
        else:
            # resolving an INS lists no patient: audited as a search, not counted against the
            # hourly limit (the record's own policy decides what is shown)
            found = _qualified_by_ins(session, ctx, settings, q.patient_ins or "", counted=False)
            if not found:  # no qualified identity with this INS: nothing to show
                return _bundle(settings, "DocumentReference", [], 0, page, used, control)
            patient_id = found[0].id
        candidates = record.open_record(session, ctx, patient_id).documents
    same = None if own is None else {d.id for d in own}
    wanted_id = None if q.id is None else _maybe_id(q.id)
    docs = [
        d
        for d in candidates
        if all(t(d.created_at) for t in tests)
        and all(t(d.clinical_date) for t in periods)
        # the J07 code the document is shown with, or the code stored by an older version
        and (
            loincs is None
            or valuesets.type_concept(d.type_code).code in loincs
            or d.loinc in loincs
        )
        and (same is None or d.id in same)
        and (q.id is None or d.id == wanted_id)
    ]
    shown = docs[page.offset :][: page.count]
    names = _names(session, {d.author_id for d in shown})
    base = base_url(settings)
    entries = [resources.document_reference(d, base, author=names.get(d.author_id)) for d in shown]
    return _bundle(settings, "DocumentReference", entries, len(docs), page, used, control)


@router.get("/DocumentReference", responses=openapi.responses("Bundle"))
def search_document_references(
    session: DbSession,
    ctx: ProContext,
    settings: AppSettings,
    patient: Text = None,
    patient_ins: Annotated[str | None, Query(alias="patient.identifier", max_length=200)] = None,
    date: Dates = None,
    period: Dates = None,
    type: Text = None,
    identifier: Text = None,
    id_: Annotated[str | None, Query(alias="_id", max_length=200)] = None,
    count: Count = DEFAULT_COUNT,
    offset: Offset = 0,
    control: params.Control = search_control("DocumentReference"),
    _: None = Negotiated,
) -> Response:
    """A patient's documents the caller may see (the regional record, same refusal and audit
    as ``GET /api/v1/patients/{id}/documents``), filtered by dates and LOINC type. The
    patient is ``patient=Patient/<id>`` or, by INS, ``patient.identifier=<system>|<INS>``.
    Without a patient, ``identifier`` (the masterIdentifier) finds the caller's own shares,
    and ``_id`` one document."""
    query = DocumentQuery(patient, patient_ins, date, period, type, identifier, id_, count, offset)
    return _search_documents(session, ctx, settings, query, control)


@router.post("/DocumentReference/_search", responses=openapi.responses("Bundle"))
def search_document_references_by_post(
    session: DbSession,
    ctx: ProContext,
    settings: AppSettings,
    _form: Annotated[None, Depends(form_body)],
    patient: FormText = None,
    patient_ins: Annotated[str | None, Form(alias="patient.identifier", max_length=200)] = None,
    date: FormDates = None,
    period: FormDates = None,
    type: FormText = None,
    identifier: FormText = None,
    id_: Annotated[str | None, Form(alias="_id", max_length=200)] = None,
    count: FormCount = DEFAULT_COUNT,
    offset: FormOffset = 0,
    control: params.Control = search_control("DocumentReference"),
    _: None = Negotiated,
) -> Response:
    """The same search, its parameters in a form body (FHIR's search by POST)."""
    query = DocumentQuery(patient, patient_ins, date, period, type, identifier, id_, count, offset)
    return _search_documents(session, ctx, settings, query, control)


def _loincs(value: str | None) -> set[str] | None:
    if value is None:
        return None
    wanted = set()
    for part in value.split(","):
        tok = params.token("type", part)
        if tok.system in (None, codes.LOINC):
            wanted.add(tok.code)
    return wanted


async def request_body(request: Request) -> bytes:
    """The JSON body: a base64 PDF, bounded in size and pace while it is received
    (``bodies.BodyGuard``, the document upload limit)."""
    mime = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if mime not in ("application/fhir+json", "application/json", "application/json+fhir"):
        raise SisraError(
            "Envoyez la ressource en JSON FHIR (Content-Type: application/fhir+json).",
            code="unsupported_media_type",
            status=415,
        )
    return await request.body()


@router.post(
    "/DocumentReference",
    status_code=201,
    responses=openapi.responses("DocumentReference", created=True),
    openapi_extra=openapi.DOCUMENT_REFERENCE_BODY,
)
def create_document_reference(
    session: DbSession,
    ctx: ProContext,
    settings: AppSettings,
    blobs: Blobs,
    hub: Hub,
    raw: Annotated[bytes, Depends(request_body)],
    idempotency_key: Annotated[str | None, Header(alias=idempotency.HEADER)] = None,
    if_none_exist: Annotated[str | None, Header(alias="If-None-Exist", max_length=600)] = None,
    prefer: Annotated[str | None, Header(max_length=200)] = None,
    _: None = Negotiated,
) -> Response:
    """Create = share (``POST /api/v1/documents``): the same checks, notifications and audit.
    With ``If-None-Exist: identifier=<system>|<value>`` (the masterIdentifier), the caller's
    document already shared with it is returned (200) instead of sharing it twice."""
    assert ctx.actor is not None
    key = idempotency.parse_key(idempotency_key)
    resource = share.parse_json(raw)
    if (ins := share.subject_ins(resource)) is not None:
        # by INS: only a qualified identity carries it (the INS référentiel)
        found = _qualified_by_ins(session, ctx, settings, ins, counted=False)
        if not found:
            raise Invalid(
                "Aucune identité qualifiée ne porte cet INS (subject.identifier) : indiquez le "
                "patient par sa référence Patient/<id>.",
                code="unknown_subject",
            )
        resource["subject"] = {"reference": f"Patient/{found[0].id}"}
    wanted = share.read(session, resource, settings.max_document_bytes)
    base = base_url(settings)
    if if_none_exist is not None:
        existing = share.if_none_exist(session, ctx.actor.id, if_none_exist)
        if existing is not None:
            body = _document_body(session, ctx, base, existing)
            return _created(prefer, body, 200, _history(base, existing.id))
    pdf = wanted.pdf
    if wanted.binary_id is not None:  # an existing document's PDF, if the caller may read it
        source = documents.get(session, wanted.binary_id)
        documents.open_content(session, ctx, source, via="fhir")
        pdf = share.spooled(content.read_all(session, ctx, blobs, source))
    assert pdf is not None

    def answer(doc: Document, notes: list[Notification]) -> dict[str, Any]:
        share.keep_master(doc, wanted.master)
        names = _names(session, {doc.author_id, *(n.recipient_id for n in notes)})
        return resources.document_reference(
            doc,
            base,
            author=names.get(doc.author_id),
            recipients=[(n.recipient_id, names.get(n.recipient_id, "")) for n in notes],
        )

    # marked as FHIR: a key already used on API v1 is "reused", not replayed as FHIR
    shared = sharing.share_once(
        session, settings, ctx, blobs, hub, wanted.meta, pdf, key, answer=answer, door="fhir"
    )
    location = _history(base, shared.document_id)
    return _created(prefer, shared.body, shared.status, location, shared.headers)


def _created(
    prefer: str | None,
    body: dict[str, Any],
    status: int,
    location: str,
    headers: dict[str, str] | None = None,
) -> Response:
    """The answer to a create, as ``Prefer: return=`` asks: the resource (representation,
    the default), nothing (minimal) or an OperationOutcome saying what was done."""
    wanted = ""
    for part in (prefer or "").replace(" ", "").lower().split(";"):
        for item in part.split(","):
            if item.startswith("return="):
                wanted = item.removeprefix("return=")
    extra = {"Location": location, **(headers or {}), **versioned(body)}
    if wanted == "minimal":
        return Response(status_code=status, headers=extra)
    if wanted == "operationoutcome":
        text = "Document partagé." if status == 201 else "Document déjà partagé (rendu tel quel)."
        issue = {"severity": "information", "code": "informational", "diagnostics": text}
        return fhir_json({"resourceType": "OperationOutcome", "issue": [issue]}, status, **extra)
    return fhir_json(body, status, **extra)


def _document_id(value: str) -> uuid.UUID:
    return _resource_id(value, NotFound("Document introuvable.", code="document_not_found"))


def _history(base: str, document_id: uuid.UUID | None) -> str:
    """The created version's address (FHIR « create »: ``Location`` names the version)."""
    return f"{base}DocumentReference/{document_id}/_history/{resources.DOCUMENT_VERSION}"


def _document_body(session: DbSession, ctx: ProContext, base: str, doc: Any) -> dict[str, Any]:
    """The DocumentReference of an existing document, as its author reads it."""
    detail = documents.detail(session, ctx, doc.id)
    names = _names(session, {doc.author_id})
    recipients = [(s.recipient_id, s.recipient_name) for s in detail.shares]
    return resources.document_reference(
        doc, base, author=names.get(doc.author_id), recipients=recipients
    )


# --- Binary -------------------------------------------------------------------------------


def _wants_fhir(request: Request, fmt: str | None) -> bool:
    """FHIR JSON when asked for (``_format`` or Accept), the PDF itself otherwise."""
    if fmt is not None:
        if fmt.strip().lower() in _JSON_FORMATS:
            return True
        if fmt.strip().lower() != "application/pdf":
            raise _not_acceptable("JSON FHIR ou PDF")
        return False
    accepted = _accepted(request)
    if accepted & _JSON_FORMATS:
        return True
    if accepted and not accepted & (_ANY | {"application/pdf"}):
        raise _not_acceptable("JSON FHIR (application/fhir+json) ou PDF (application/pdf)")
    return False


@router.get("/Binary/{document_id}", responses=openapi.binary_responses())
def read_binary(
    request: Request,
    session: DbSession,
    ctx: ProContext,
    blobs: Blobs,
    document_id: str,
    _format: Annotated[str | None, Query(max_length=50)] = None,
) -> Response:
    """The PDF (ETag, Range, as API v1's content), or a Binary resource with it in base64;
    by the record policy, audited ``document.download``."""
    as_fhir = _wants_fhir(request, _format)
    doc = documents.get(session, _document_id(document_id))
    documents.open_content(session, ctx, doc, via="fhir")
    if as_fhir:
        body = resources.binary(doc, content.read_all(session, ctx, blobs, doc))
        return read_json(body, doc.created_at)
    return content.respond(request, session, ctx, blobs, doc)

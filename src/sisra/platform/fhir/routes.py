"""``/fhir/r4``: FHIR R4 reads, searches and the share as DocumentReference create.

Thin routes over API v1's services: the same bearer tokens (``deps``), the same access
policy (``record`` and ``documents``) and the same audit rows; errors become OperationOutcome
at the edge (:mod:`sisra.platform.fhir.outcome`). Bodies are JSON built in
:mod:`sisra.platform.fhir.resources`.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Header, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from sisra.common import valuesets
from sisra.common.text import fold
from sisra.platform.deps import AppSettings, Blobs, Context, DbSession, Hub, ProContext
from sisra.platform.directory import service as directory
from sisra.platform.documents import content, idempotency
from sisra.platform.documents import service as documents
from sisra.platform.errors import Invalid, NotFound, SisraError
from sisra.platform.fhir import capability, codes, openapi, params, resources, share
from sisra.platform.fhir.params import DEFAULT_COUNT, MAX_COUNT, MAX_OFFSET, Page
from sisra.platform.models import Document, IdentityStatus, Patient, Professional, Role
from sisra.platform.patients import service as patients
from sisra.platform.record import service as record
from sisra.settings import Settings

PREFIX = "/fhir/r4"
router = APIRouter(prefix=PREFIX, tags=["fhir"])

_JSON_FORMATS = {"json", "application/json", "application/fhir+json", "application/json+fhir"}
_ANY = {"*/*", "application/*"}


def base_url(settings: Settings) -> str:
    """The FHIR base from the configured public address (not from the request's Host)."""
    return f"{settings.public_url.rstrip('/')}{PREFIX}/"


def _accepted(request: Request) -> set[str]:
    header = request.headers.get("accept", "")
    return {part.split(";")[0].strip().lower() for part in header.split(",") if part.strip()}


def _not_acceptable(what: str) -> SisraError:
    return SisraError(
        f"Format de réponse non disponible : ce serveur répond en {what}.",
        code="format_not_supported",
        status=406,
    )


def json_format(request: Request, _format: str | None = Query(None, max_length=50)) -> None:
    """Content negotiation: FHIR JSON only (``_format`` or ``Accept``), else 406."""
    if _format is not None and _format.strip().lower() not in _JSON_FORMATS:
        raise _not_acceptable("JSON FHIR (_format=json)")
    accepted = _accepted(request)
    if accepted and not accepted & (_JSON_FORMATS | _ANY):
        raise _not_acceptable("JSON FHIR (application/fhir+json)")


Negotiated = Depends(json_format)


def fhir_json(body: dict[str, Any], status: int = 200, **headers: str) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False),
        status_code=status,
        media_type=f"{codes.MEDIA_TYPE}; charset=utf-8",
        headers=headers or None,
    )


def versioned(body: dict[str, Any], modified: datetime | None = None) -> dict[str, str]:
    """The headers of a read: ``ETag`` (weak, the ``meta.versionId``) and, when the time of
    the version is known, ``Last-Modified`` (FHIR RESTful API, « read »)."""
    vid = body.get("meta", {}).get("versionId")
    headers = {"ETag": f'W/"{vid}"'} if vid else {}
    if modified is not None:
        headers["Last-Modified"] = format_datetime(modified.astimezone(UTC), usegmt=True)
    return headers


def read_json(body: dict[str, Any], modified: datetime | None = None) -> Response:
    return fhir_json(body, 200, **versioned(body, modified))


def _page(count: int, offset: int) -> Page:
    return Page(count, offset)


Count = Annotated[int, Query(alias="_count", ge=0, le=MAX_COUNT)]
Offset = Annotated[int, Query(alias="_offset", ge=0, le=MAX_OFFSET)]
Text = Annotated[str | None, Query(max_length=200)]
Dates = Annotated[list[str] | None, Query(max_length=10)]


def _bundle(
    settings: Settings,
    kind: str,
    entries: list[dict[str, Any]],
    total: int,
    page: Page,
    used: list[tuple[str, str]],
    control: params.Control,
    warning: str | None = None,
) -> Response:
    base = base_url(settings)
    if control.count_only:  # _summary=count: the total alone
        entries, page, used = [], Page(0, 0), [*used, ("_summary", "count")]
    self_url, next_url = page.links(f"{base}{kind}", used, total)
    notes = "\n".join(w for w in (warning, control.warning()) if w) or None
    return fhir_json(resources.searchset(base, kind, entries, total, self_url, next_url, notes))


KNOWN = {
    "Patient": frozenset({"identifier", "family", "given", "birthdate", "gender", "_id"}),
    "Practitioner": frozenset({"identifier", "family", "given", "name", "_id"}),
    "DocumentReference": frozenset(
        {"patient", "patient.identifier", "date", "period", "type", "identifier", "_id"}
    ),
}
REFUSED = {
    "Patient": {"name": "utilisez family (nom de naissance ou d'usage) et given (premier prénom)."},
}


def search_control(kind: str) -> Any:
    """The dependency that checks a search's parameter names (URL, and form body of a POST
    search) and reads ``Prefer: handling`` and ``_summary``."""

    async def check(request: Request) -> params.Control:
        items = list(request.query_params.multi_items())
        if request.method == "POST":
            form_body(request)
            form = await request.form()
            items += [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        prefer = request.headers.get("prefer", "")
        return params.control(KNOWN[kind], items, prefer, REFUSED.get(kind))

    return Depends(check)


def _resource_id(value: str, error: NotFound) -> uuid.UUID:
    """The id of a read: anything that is not one of ours is simply not found (404)."""
    try:
        if len(value) not in (32, 36):
            raise ValueError(value)
        return uuid.UUID(value)
    except ValueError:
        raise error from None


def _maybe_id(value: str) -> uuid.UUID | None:
    try:
        return _resource_id(value.strip(), NotFound(""))
    except NotFound:
        return None


# --- metadata -----------------------------------------------------------------------------


@router.get("/metadata", responses=openapi.responses("CapabilityStatement", auth=False))
def metadata(settings: AppSettings, _: None = Negotiated) -> Response:
    """The CapabilityStatement (no authentication, as FHIR clients expect)."""
    return fhir_json(capability.capability_statement(base_url(settings)))


# --- Patient ------------------------------------------------------------------------------


@router.get("/Patient/{patient_id}", responses=openapi.responses("Patient"))
def read_patient(
    session: DbSession, ctx: ProContext, patient_id: str, _: None = Negotiated
) -> Response:
    """A patient identity (as ``GET /api/v1/patients/{id}``)."""
    pid = _resource_id(patient_id, NotFound("Patient introuvable.", code="patient_not_found"))
    return read_json(resources.patient(patients.get(session, pid)))


@dataclass(frozen=True)
class PatientQuery:
    """The parameters of a Patient search, from the URL (GET) or the form body (POST)."""

    identifier: str | None = None
    family: str | None = None
    given: str | None = None
    birthdate: str | None = None
    gender: str | None = None
    count: int = DEFAULT_COUNT
    offset: int = 0
    id: str | None = None

    def used(self) -> list[tuple[str, str]]:
        named = (
            ("identifier", self.identifier),
            ("family", self.family),
            ("given", self.given),
            ("birthdate", self.birthdate),
            ("gender", self.gender),
            ("_id", self.id),
        )
        return [(k, v) for k, v in named if v is not None]


def _search_patients(
    session: DbSession,
    ctx: ProContext,
    settings: Settings,
    query: PatientQuery,
    control: params.Control,
) -> Response:
    """By INS, or by traits (patients.check_criteria); at most a small page, no paging past
    it: beyond, the Bundle says to narrow the search."""
    page = _page(min(query.count, settings.patient_search_max_results), query.offset)
    used = query.used()
    truncated = False
    if query.id is not None:  # one patient by its id, as a read
        if len(used) > 1:
            raise params.bad_parameter("_id", "ne se combine pas avec d'autres critères.")
        pid = _maybe_id(query.id)
        found_one = session.get(Patient, pid) if pid is not None else None
        rows = [found_one] if found_one is not None else []
    elif query.identifier is not None:
        if len(used) > 1:
            raise params.bad_parameter(
                "identifier", "la recherche par INS ne se combine pas avec les traits."
            )
        rows = _qualified_by_ins(session, ctx, settings, query.identifier)
    else:
        criteria = patients.Criteria(
            q=query.family,
            given=query.given,
            birth_date=(
                params.exact_date("birthdate", query.birthdate) if query.birthdate else None
            ),
            sex=_sex(query.gender),
        )
        found = patients.search(session, ctx, settings, criteria)
        rows, truncated = found.patients, found.truncated
    entries = [resources.patient(p) for p in rows[page.offset :][: page.count]]
    warning = None
    if truncated:
        warning = (
            f"Plus de {settings.patient_search_max_results} patients correspondent : seuls les "
            "premiers sont rendus. Précisez la recherche (date de naissance, prénom, INS)."
        )
    return _bundle(settings, "Patient", entries, len(rows), page, used, control, warning)


@router.get("/Patient", responses=openapi.responses("Bundle"))
def search_patients(
    session: DbSession,
    ctx: ProContext,
    settings: AppSettings,
    identifier: Text = None,
    family: Text = None,
    given: Text = None,
    birthdate: Text = None,
    gender: Text = None,
    id_: Annotated[str | None, Query(alias="_id", max_length=200)] = None,
    count: Count = DEFAULT_COUNT,
    offset: Offset = 0,
    control: params.Control = search_control("Patient"),
    _: None = Negotiated,
) -> Response:
    """By INS (``identifier``), or by traits; audited ``patient.search`` as API v1. Prefer
    ``POST Patient/_search``: the traits then stay out of URLs (the access log masks them)."""
    query = PatientQuery(identifier, family, given, birthdate, gender, count, offset, id_)
    return _search_patients(session, ctx, settings, query, control)


def form_body(request: Request) -> None:
    """FHIR's POST search takes a form body: anything else is refused (415), not read as an
    empty (too broad) search."""
    mime = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if mime != "application/x-www-form-urlencoded":
        raise SisraError(
            "Envoyez les paramètres de recherche en formulaire "
            "(Content-Type: application/x-www-form-urlencoded).",
            code="unsupported_media_type",
            status=415,
        )


FormText = Annotated[str | None, Form(max_length=200)]
FormDates = Annotated[list[str] | None, Form(max_length=10)]
FormCount = Annotated[int, Form(alias="_count", ge=0, le=MAX_COUNT)]
FormOffset = Annotated[int, Form(alias="_offset", ge=0, le=MAX_OFFSET)]


@router.post("/Patient/_search", responses=openapi.responses("Bundle"))
def search_patients_by_post(
    session: DbSession,
    ctx: ProContext,
    settings: AppSettings,
    _form: Annotated[None, Depends(form_body)],
    identifier: FormText = None,
    family: FormText = None,
    given: FormText = None,
    birthdate: FormText = None,
    gender: FormText = None,
    id_: Annotated[str | None, Form(alias="_id", max_length=200)] = None,
    count: FormCount = DEFAULT_COUNT,
    offset: FormOffset = 0,
    control: params.Control = search_control("Patient"),
    _: None = Negotiated,
) -> Response:
    """The same search, its parameters in an ``application/x-www-form-urlencoded`` body (FHIR's
    search by POST): names, birth dates and INS appear in no URL."""
    query = PatientQuery(identifier, family, given, birthdate, gender, count, offset, id_)
    return _search_patients(session, ctx, settings, query, control)


def _sex(gender: str | None) -> Any:
    if gender is None:
        return None
    sex = codes.SEX_OF_GENDER.get(gender.strip().lower())
    if sex is None:
        raise params.bad_parameter("gender", "valeurs possibles : male, female, unknown.")
    return sex


def _qualified_by_ins(
    session: DbSession, ctx: ProContext, settings: Settings, value: str, *, counted: bool = True
) -> list[Patient]:
    """Only qualified identities carry their INS in FHIR, so only they are found by it."""
    tok = params.token("identifier", value)
    oids = {codes.urn_oid(oid): oid for oid in codes.INS_TYPES}
    if tok.system is not None and tok.system not in oids:
        return []  # another identifier system: nothing of ours matches
    criteria = patients.Criteria(ins=tok.code)
    found = patients.search(session, ctx, settings, criteria, counted=counted)
    wanted = oids.get(tok.system or "")
    return [
        p
        for p in found.patients
        if p.identity_status == IdentityStatus.qualifiee and (wanted is None or p.ins_oid == wanted)
    ]


# --- Practitioner -------------------------------------------------------------------------


def _listed(pro: Professional | None) -> Professional:
    if pro is None or pro.role != Role.professional:
        raise NotFound("Professionnel introuvable.", code="professional_not_found")
    return pro


@router.get("/Practitioner/{professional_id}", responses=openapi.responses("Practitioner"))
def read_practitioner(
    session: DbSession, ctx: Context, professional_id: str, _: None = Negotiated
) -> Response:
    """A professional of the directory (administrators are not practitioners)."""
    missing = NotFound("Professionnel introuvable.", code="professional_not_found")
    pro = session.get(Professional, _resource_id(professional_id, missing))
    return read_json(resources.practitioner(_listed(pro)))


@dataclass(frozen=True)
class PractitionerQuery:
    identifier: str | None = None
    family: str | None = None
    given: str | None = None
    name: str | None = None
    id: str | None = None
    count: int = DEFAULT_COUNT
    offset: int = 0

    def used(self) -> list[tuple[str, str]]:
        named = (
            ("identifier", self.identifier),
            ("family", self.family),
            ("given", self.given),
            ("name", self.name),
            ("_id", self.id),
        )
        return [(k, v) for k, v in named if v is not None]


def _by_identifier(session: DbSession, identifier: str) -> list[Professional]:
    """By national id (IdNat_PS) or RPPS, as FR Core's practitioner identifiers."""
    tok = params.token("identifier", identifier)
    candidates = {
        codes.SYSTEM_IDNPS: [tok.code],
        codes.SYSTEM_RPPS: ["8" + tok.code],
        None: [tok.code, "8" + tok.code],
    }.get(tok.system, [])
    for national_id in candidates:
        pro = directory.by_national_id(session, national_id)
        if pro is not None:
            return [pro]
    return []


def _by_name(session: DbSession, query: PractitionerQuery) -> list[Professional]:
    """The directory's search (every word, accent- and case-free), then FHIR's ``family``
    and ``given`` as the beginning of the last and first names."""
    words = " ".join(x for x in (query.family, query.given, query.name) if x)
    if len(fold(words).replace(" ", "")) < 2:
        raise params.bad_parameter("family", "2 lettres au moins.")
    found = directory.search(session, words, limit=MAX_COUNT)
    family, given = fold(query.family or ""), fold(query.given or "")
    return [
        p
        for p in found
        if fold(p.last_name).startswith(family) and fold(p.first_name).startswith(given)
    ]


def _search_practitioners(
    session: DbSession, settings: Settings, query: PractitionerQuery, control: params.Control
) -> Response:
    if query.id is not None:
        pid = _maybe_id(query.id)
        pro = session.get(Professional, pid) if pid is not None else None
        rows = [pro] if pro is not None and pro.role == Role.professional else []
    elif query.identifier is not None:
        rows = _by_identifier(session, query.identifier)
    elif query.family or query.given or query.name:
        rows = _by_name(session, query)
    else:
        raise params.bad_parameter(
            "identifier", "indiquez identifier (RPPS, IdNat_PS), family/given ou name."
        )
    page = _page(query.count, query.offset)
    entries = [resources.practitioner(p) for p in rows[page.offset :][: page.count]]
    return _bundle(settings, "Practitioner", entries, len(rows), page, query.used(), control)


@router.get("/Practitioner", responses=openapi.responses("Bundle"))
def search_practitioners(
    session: DbSession,
    ctx: Context,
    settings: AppSettings,
    identifier: Text = None,
    family: Text = None,
    given: Text = None,
    name: Text = None,
    id_: Annotated[str | None, Query(alias="_id", max_length=200)] = None,
    count: Count = DEFAULT_COUNT,
    offset: Offset = 0,
    control: params.Control = search_control("Practitioner"),
    _: None = Negotiated,
) -> Response:
    """By national id (IdNat_PS) or RPPS, by name (``family``, ``given``, ``name``) or ``_id``."""
    query = PractitionerQuery(identifier, family, given, name, id_, count, offset)
    return _search_practitioners(session, settings, query, control)


@router.post("/Practitioner/_search", responses=openapi.responses("Bundle"))
def search_practitioners_by_post(
    session: DbSession,
    ctx: Context,
    settings: AppSettings,
    _form: Annotated[None, Depends(form_body)],
    identifier: FormText = None,
    family: FormText = None,
    given: FormText = None,
    name: FormText = None,
    id_: Annotated[str | None, Form(alias="_id", max_length=200)] = None,
    count: FormCount = DEFAULT_COUNT,
    offset: FormOffset = 0,
    control: params.Control = search_control("Practitioner"),
    _: None = Negotiated,
) -> Response:
    """The same search, its parameters in a form body (FHIR's search by POST)."""
    query = PractitionerQuery(identifier, family, given, name, id_, count, offset)
    return _search_practitioners(session, settings, query, control)


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
    if key is not None:
        # marked as FHIR: a key already used on API v1 is "reused", not replayed as FHIR
        digest = hashlib.sha256(b"fhir\n" + idempotency.digest(pdf).encode()).hexdigest()
        replay = idempotency.claim(
            session, settings, ctx.actor.id, key, idempotency.fingerprint(wanted.meta, digest)
        )
        if replay is not None:
            location = _history(base, replay.document_id)
            return _created(prefer, replay.body, 201, location, {"Idempotent-Replayed": "true"})
    doc, notes = documents.share(session, settings, ctx, blobs, hub, wanted.meta, pdf)
    share.keep_master(doc, wanted.master)
    names = _names(session, {doc.author_id, *(n.recipient_id for n in notes)})
    body = resources.document_reference(
        doc,
        base,
        author=names.get(doc.author_id),
        recipients=[(n.recipient_id, names.get(n.recipient_id, "")) for n in notes],
    )
    if key is not None:
        idempotency.complete(session, ctx.actor.id, key, 201, body, doc.id)
    return _created(prefer, body, 201, _history(base, doc.id))


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

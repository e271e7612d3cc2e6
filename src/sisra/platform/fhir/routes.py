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

from sisra.platform.deps import AppSettings, Blobs, Context, DbSession, Hub, ProContext
from sisra.platform.directory import service as directory
from sisra.platform.documents import content, idempotency
from sisra.platform.documents import service as documents
from sisra.platform.errors import NotFound, SisraError
from sisra.platform.fhir import capability, codes, openapi, params, resources, share
from sisra.platform.fhir.params import DEFAULT_COUNT, MAX_COUNT, MAX_OFFSET, Page
from sisra.platform.models import IdentityStatus, Patient, Professional, Role
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
    headers = {"ETag": f'W/"{body["meta"]["versionId"]}"'}
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
    warning: str | None = None,
) -> Response:
    base = base_url(settings)
    self_url, next_url = page.links(f"{base}{kind}", used, total)
    return fhir_json(resources.searchset(base, kind, entries, total, self_url, next_url, warning))


# --- metadata -----------------------------------------------------------------------------


@router.get("/metadata", responses=openapi.responses("CapabilityStatement", auth=False))
def metadata(settings: AppSettings, _: None = Negotiated) -> Response:
    """The CapabilityStatement (no authentication, as FHIR clients expect)."""
    return fhir_json(capability.capability_statement(base_url(settings)))


# --- Patient ------------------------------------------------------------------------------


@router.get("/Patient/{patient_id}", responses=openapi.responses("Patient"))
def read_patient(
    session: DbSession, ctx: ProContext, patient_id: uuid.UUID, _: None = Negotiated
) -> Response:
    """A patient identity (as ``GET /api/v1/patients/{id}``)."""
    return read_json(resources.patient(patients.get(session, patient_id)))


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

    def used(self) -> list[tuple[str, str]]:
        named = (
            ("identifier", self.identifier),
            ("family", self.family),
            ("given", self.given),
            ("birthdate", self.birthdate),
            ("gender", self.gender),
        )
        return [(k, v) for k, v in named if v is not None]


def _search_patients(
    session: DbSession, ctx: ProContext, settings: Settings, query: PatientQuery
) -> Response:
    """By INS, or by traits (patients.check_criteria); at most a small page, no paging past
    it: beyond, the Bundle says to narrow the search."""
    page = _page(min(query.count, settings.patient_search_max_results), query.offset)
    used = query.used()
    truncated = False
    if query.identifier is not None:
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
    return _bundle(settings, "Patient", entries, len(rows), page, used, warning)


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
    count: Count = DEFAULT_COUNT,
    offset: Offset = 0,
    _: None = Negotiated,
) -> Response:
    """By INS (``identifier``), or by traits; audited ``patient.search`` as API v1. Prefer
    ``POST Patient/_search``: the traits then stay out of URLs (the access log masks them)."""
    query = PatientQuery(identifier, family, given, birthdate, gender, count, offset)
    return _search_patients(session, ctx, settings, query)


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
    count: Annotated[int, Form(alias="_count", ge=0, le=MAX_COUNT)] = DEFAULT_COUNT,
    offset: Annotated[int, Form(alias="_offset", ge=0, le=MAX_OFFSET)] = 0,
    _: None = Negotiated,
) -> Response:
    """The same search, its parameters in an ``application/x-www-form-urlencoded`` body (FHIR's
    search by POST): names, birth dates and INS appear in no URL."""
    query = PatientQuery(identifier, family, given, birthdate, gender, count, offset)
    return _search_patients(session, ctx, settings, query)


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
    session: DbSession, ctx: Context, professional_id: uuid.UUID, _: None = Negotiated
) -> Response:
    """A professional of the directory (administrators are not practitioners)."""
    return read_json(resources.practitioner(_listed(session.get(Professional, professional_id))))


@router.get("/Practitioner", responses=openapi.responses("Bundle"))
def search_practitioners(
    session: DbSession,
    ctx: Context,
    settings: AppSettings,
    identifier: Annotated[str, Query(max_length=200)],
    count: Count = DEFAULT_COUNT,
    offset: Offset = 0,
    _: None = Negotiated,
) -> Response:
    """By national id (IdNat_PS) or RPPS, as FR Core's practitioner identifiers."""
    tok = params.token("identifier", identifier)
    candidates = {
        codes.SYSTEM_IDNPS: [tok.code],
        codes.SYSTEM_RPPS: ["8" + tok.code],
        None: [tok.code, "8" + tok.code],
    }.get(tok.system, [])
    found: list[dict[str, Any]] = []
    for national_id in candidates:
        pro = directory.by_national_id(session, national_id)
        if pro is not None:
            found.append(resources.practitioner(pro))
            break
    page = _page(count, offset)
    entries = found[page.offset :][: page.count]
    return _bundle(
        settings, "Practitioner", entries, len(found), page, [("identifier", identifier)]
    )


# --- DocumentReference --------------------------------------------------------------------


def _names(session: DbSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = session.scalars(select(Professional).where(Professional.id.in_(ids)))
    return {p.id: p.display_name for p in rows}


@router.get("/DocumentReference/{document_id}", responses=openapi.responses("DocumentReference"))
def read_document_reference(
    session: DbSession,
    ctx: ProContext,
    settings: AppSettings,
    document_id: uuid.UUID,
    _: None = Negotiated,
) -> Response:
    """Metadata, by the record policy (as ``GET /api/v1/documents/{id}``, same audit)."""
    doc = documents.get(session, document_id)
    return read_json(_document_body(session, ctx, base_url(settings), doc), doc.created_at)


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
    count: Count = DEFAULT_COUNT,
    offset: Offset = 0,
    _: None = Negotiated,
) -> Response:
    """A patient's documents the caller may see (the regional record, same refusal and audit
    as ``GET /api/v1/patients/{id}/documents``), filtered by dates and LOINC type. The
    patient is ``patient=Patient/<id>`` or, by INS, ``patient.identifier=<system>|<INS>``.
    Without a patient, ``identifier`` (the masterIdentifier) finds the caller's own shares."""
    page = _page(count, offset)
    used = [("patient", patient)] if patient is not None else []
    if patient_ins is not None:
        used.append(("patient.identifier", patient_ins))
    used += [("date", d) for d in date or []] + [("period", d) for d in period or []]
    used += [("type", type)] if type is not None else []
    used += [("identifier", identifier)] if identifier is not None else []
    if patient is not None and patient_ins is not None:
        raise params.bad_parameter(
            "patient", "indiquez le patient : patient=Patient/<id> ou patient.identifier=<INS>."
        )
    tests = [params.date_filter("date", d) for d in date or []]
    periods = [params.date_filter("period", d) for d in period or []]
    loincs = _loincs(type)
    assert ctx.actor is not None
    own = None if identifier is None else share.by_identifier(session, ctx.actor.id, identifier)
    candidates: list[Any]
    if patient is None and patient_ins is None:
        if own is None:
            raise params.bad_parameter(
                "patient",
                "indiquez le patient (patient=Patient/<id> ou patient.identifier=<INS>) ou "
                "l'identifiant du document (identifier).",
            )
        candidates = own  # the caller's own shares: nothing of anyone else's record
    else:
        if patient is not None:
            patient_id = params.reference_id("patient", patient, "Patient")
        else:
            # resolving an INS lists no patient: audited as a search, not counted against the
            # hourly limit (the record's own policy decides what is shown)
            found = _qualified_by_ins(session, ctx, settings, patient_ins or "", counted=False)
            if not found:  # no qualified identity with this INS: nothing to show
                return _bundle(settings, "DocumentReference", [], 0, page, used)
            patient_id = found[0].id
        candidates = record.open_record(session, ctx, patient_id).documents
    same = None if own is None else {d.id for d in own}
    docs = [
        d
        for d in candidates
        if all(t(d.created_at.date()) for t in tests)
        and all(t(d.clinical_date) for t in periods)
        and (loincs is None or d.loinc in loincs)
        and (same is None or d.id in same)
    ]
    shown = docs[page.offset :][: page.count]
    names = _names(session, {d.author_id for d in shown})
    base = base_url(settings)
    entries = [resources.document_reference(d, base, author=names.get(d.author_id)) for d in shown]
    return _bundle(settings, "DocumentReference", entries, len(docs), page, used)


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
    _: None = Negotiated,
) -> Response:
    """Create = share (``POST /api/v1/documents``): the same checks, notifications and audit.
    With ``If-None-Exist: identifier=<system>|<value>`` (the masterIdentifier), the caller's
    document already shared with it is returned (200) instead of sharing it twice."""
    assert ctx.actor is not None
    key = idempotency.parse_key(idempotency_key)
    wanted = share.read(session, share.parse_json(raw), settings.max_document_bytes)
    base = base_url(settings)
    if if_none_exist is not None:
        existing = share.if_none_exist(session, ctx.actor.id, if_none_exist)
        if existing is not None:
            body = _document_body(session, ctx, base, existing)
            return fhir_json(body, 200, Location=_history(base, existing.id))
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
            return fhir_json(replay.body, 201, Location=location, **{"Idempotent-Replayed": "true"})
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
    return fhir_json(body, 201, Location=_history(base, doc.id))


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
    document_id: uuid.UUID,
    _format: Annotated[str | None, Query(max_length=50)] = None,
) -> Response:
    """The PDF (ETag, Range, as API v1's content), or a Binary resource with it in base64;
    by the record policy, audited ``document.download``."""
    as_fhir = _wants_fhir(request, _format)
    doc = documents.get(session, document_id)
    documents.open_content(session, ctx, doc, via="fhir")
    if as_fhir:
        body = resources.binary(doc, content.read_all(session, ctx, blobs, doc))
        return read_json(body, doc.created_at)
    return content.respond(request, session, ctx, blobs, doc)

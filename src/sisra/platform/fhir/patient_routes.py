"""``/fhir/r4/Patient`` and ``/fhir/r4/Practitioner``: reads and searches (GET and POST
``_search``), thin routes over API v1's patient and directory services."""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import Response

from sisra.common.text import fold
from sisra.platform.deps import AppSettings, Context, DbSession, ProContext
from sisra.platform.directory import service as directory
from sisra.platform.errors import NotFound
from sisra.platform.fhir import codes, openapi, params, resources
from sisra.platform.fhir.params import DEFAULT_COUNT, MAX_COUNT
from sisra.platform.fhir.route_helpers import (
    PREFIX,
    Count,
    FormCount,
    FormOffset,
    FormText,
    Negotiated,
    Offset,
    Text,
    _bundle,
    _maybe_id,
    _page,
    _resource_id,
    form_body,
    read_json,
    search_control,
)
from sisra.platform.models import IdentityStatus, Patient, Professional, Role
from sisra.platform.patients import service as patients
from sisra.platform.settings import Settings

# prefixed here, not by routes.py: the OpenAPI bearer scheme reads the included routers' paths
router = APIRouter(prefix=PREFIX)  # tagged « fhir » by routes.py, which includes it

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

"""Patient identities: strict traits, INS, search, and creation without duplicates.

A search finds one patient, it does not list the region (docs/security.md « Patient search »,
decision 120): enough traits to point at a person, a small page of answers, a limit per
professional and per hour, an audit row per search.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, or_, select
from sqlalchemy.orm import Session

from sisra.common.ins import KNOWN_OIDS, OID_NIR, InvalidINS, validate_ins
from sisra.common.text import fold
from sisra.platform import ratelimit
from sisra.platform.audit import service as audit
from sisra.platform.context import RequestContext
from sisra.platform.errors import Conflict, Invalid, NotFound, SisraError, TooManyAttempts
from sisra.platform.models import IdentityStatus, Patient, Sex, utcnow
from sisra.platform.settings import Settings

MAX_TRAIT = 100  # the length of the name columns


def get(session: Session, patient_id: uuid.UUID) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise _not_found()
    return patient


def require(session: Session, patient_id: uuid.UUID) -> None:
    """That the patient exists (:func:`get`'s error if not), when the caller needs no more:
    one indexed read of the key, no identity loaded (a share does this once)."""
    if session.scalar(_exists_stmt(), {"id": patient_id}) is None:
        raise _not_found()


@cache
def _exists_stmt() -> Select[uuid.UUID]:
    return select(Patient.id).where(Patient.id == bindparam("id"))


def _not_found() -> NotFound:
    return NotFound("Patient introuvable.", code="patient_not_found")


@dataclass(frozen=True)
class Criteria:
    """What a patient search asks for: an INS, or traits (name start, birth date, given, sex)."""

    q: str | None = None
    birth_date: date | None = None
    ins: str | None = None
    given: str | None = None  # start of the first given name (FHIR ``given``)
    sex: Sex | None = None  # FHIR ``gender``

    def kinds(self) -> list[str]:
        """The kinds of trait given, never their values (audit details)."""
        given = [
            ("INS", self.ins),
            ("nom", self.q),
            ("prénom", self.given),
            ("date de naissance", self.birth_date),
            ("sexe", self.sex),
        ]
        return [label for label, value in given if value not in (None, "")]


class SearchTooBroad(SisraError):
    """The traits given cannot point at one person: the search would list many patients."""

    status = 400
    code = "search_too_broad"


TOO_BROAD = (
    "Recherche trop large : indiquez le nom (au moins 2 lettres) et la date de naissance, "
    "ou le nom et le prénom (au moins 3 lettres chacun), ou l'INS du patient."
)
NAME_WITH_BIRTH_DATE = 2  # letters of the name, with the birth date
NAME_WITH_GIVEN = 3  # letters of the name and of the first given name, without a birth date


def _letters(text: str | None) -> int:
    return sum(ch.isalpha() for ch in fold(text or ""))


def check_criteria(c: Criteria) -> str:
    """The one rule of every patient search (API v1, FHIR, web pages): enough traits to point
    at a person, not at a part of the region. An INS; or the start of the name (2 letters)
    and the birth date; or the starts of the name and of the first given name (3 letters
    each). Returns how the search points (``ins`` or ``traits``); refuses anything less with
    :class:`SearchTooBroad`. Sex narrows a search but never makes one enough."""
    if (c.ins or "").strip():
        return "ins"
    name = _letters(c.q)
    if name >= NAME_WITH_BIRTH_DATE and c.birth_date is not None:
        return "traits"
    if name >= NAME_WITH_GIVEN and _letters(c.given) >= NAME_WITH_GIVEN:
        return "traits"
    raise SearchTooBroad(TOO_BROAD)


def _statement(c: Criteria) -> Select[Patient]:
    """The search's ``select``: by INS, or by the start of the birth or used name (accents
    ignored), narrowed by the birth date, the first given name and the sex when asked."""
    stmt = select(Patient)
    if c.ins and c.ins.strip():
        try:
            return stmt.where(Patient.ins == validate_ins(c.ins))
        except InvalidINS as exc:
            raise Invalid(str(exc), code="invalid_ins") from exc
    if prefix := fold(c.q or ""):
        stmt = stmt.where(
            or_(
                Patient.birth_name_fold.startswith(prefix, autoescape=True),
                Patient.used_name_fold.startswith(prefix, autoescape=True),
            )
        )
    if c.birth_date:
        stmt = stmt.where(Patient.birth_date == c.birth_date)
    if given := fold(c.given or ""):
        stmt = stmt.where(Patient.first_given_name_fold.startswith(given, autoescape=True))
    if c.sex is not None:
        stmt = stmt.where(Patient.sex == c.sex)
    return stmt


@dataclass(frozen=True)
class Found:
    """A search's answer: at most ``patient_search_max_results`` patients; ``truncated`` when
    more matched (the search must be narrowed, not paged through)."""

    patients: list[Patient]
    truncated: bool


SEARCH_WINDOW = timedelta(hours=1)


def _claim_search(
    session: Session, ctx: RequestContext, settings: Settings, details: dict[str, Any]
) -> None:
    """Count one search of the professional this hour, or refuse it (429, audited)."""
    assert ctx.actor is not None
    limit = settings.patient_search_per_hour
    got = ratelimit.claim(session, f"patient-search:{ctx.actor.id}", limit, SEARCH_WINDOW)
    if got.allowed:
        return
    wait = got.minutes_left()
    audit.record(
        session,
        ctx,
        "patient.search",
        outcome="refused",
        details={**details, "reason": f"plus de {limit} recherches en une heure"},
        keep_on_failure=True,
    )
    raise TooManyAttempts(
        f"Vous avez atteint la limite de {limit} recherches de patients par heure. "
        f"Réessayez dans {wait} minute(s).",
        code="search_rate_limited",
        extra={"retry_after_minutes": wait},
    )


def search(
    session: Session,
    ctx: RequestContext,
    settings: Settings,
    criteria: Criteria,
    *,
    counted: bool = True,
) -> Found:
    """Patients the criteria point at, ordered by name: by INS, or by the start of the birth or
    used name (accents ignored) with the birth date or the first given name.

    Every search route comes here: the traits are checked (:func:`check_criteria`), the search
    is counted against the professional's hourly limit (unless ``counted`` is false: the
    resolution of an INS inside a document search, which lists no patient) and audited with
    the kinds of traits given, never their values."""
    details: dict[str, Any] = {"criteria": criteria.kinds()}
    try:
        details["by"] = check_criteria(criteria)
    except SearchTooBroad:
        audit.record(
            session,
            ctx,
            "patient.search",
            outcome="refused",
            details={**details, "reason": "recherche trop large"},
            keep_on_failure=True,
        )
        raise
    stmt = _statement(criteria).order_by(  # a malformed INS is refused here, uncounted
        Patient.birth_name, Patient.first_given_name, Patient.birth_date, Patient.id
    )
    if counted:
        _claim_search(session, ctx, settings, details)
    cap = settings.patient_search_max_results
    rows = list(session.scalars(stmt.limit(cap + 1)))
    found = Found(rows[:cap], len(rows) > cap)
    details |= {"results": len(found.patients), "truncated": found.truncated}
    audit.record(session, ctx, "patient.search", details=details)
    return found


@dataclass
class NewPatient:
    birth_name: str
    birth_given_names: list[str]
    birth_date: date
    sex: str
    first_given_name: str | None = None
    used_name: str | None = None
    birth_place_code: str | None = None
    ins: str | None = None
    ins_oid: str | None = None
    identity_status: str = IdentityStatus.provisoire.value
    extra: dict[str, str] = field(default_factory=dict)


class DuplicateIdentity(Conflict):
    code = "identity_exists"

    def __init__(self, message: str, candidates: list[Patient]) -> None:
        super().__init__(message)
        self.candidates = candidates


def _validated(data: NewPatient) -> Patient:
    names = [n.strip() for n in data.birth_given_names if n.strip()]
    if not data.birth_name.strip() or not names:
        raise Invalid(
            "Le nom de naissance et au moins un prénom de naissance sont obligatoires.",
            code="missing_traits",
        )
    traits = [
        ("nom de naissance", data.birth_name),
        ("nom utilisé", data.used_name or ""),
        ("premier prénom", data.first_given_name or ""),
        *(("prénom", n) for n in names),
    ]
    for label, value in traits:
        if len(value.strip()) > MAX_TRAIT:  # the web form has no length limit of its own
            raise Invalid(f"Le {label} dépasse {MAX_TRAIT} caractères.", code="trait_too_long")
    if data.birth_date > utcnow().date() or data.birth_date.year < 1880:
        raise Invalid("La date de naissance n'est pas plausible.", code="invalid_birth_date")
    try:
        sex = Sex(data.sex.upper())
    except ValueError as exc:
        raise Invalid("Le sexe doit être M, F ou I.", code="invalid_sex") from exc
    try:
        status = IdentityStatus(data.identity_status)
    except ValueError as exc:
        raise Invalid("Statut d'identité inconnu.", code="invalid_identity_status") from exc
    ins = oid = None
    if data.ins:
        try:
            ins = validate_ins(data.ins)
        except InvalidINS as exc:
            raise Invalid(str(exc), code="invalid_ins") from exc
        oid = data.ins_oid or OID_NIR
        if oid not in KNOWN_OIDS:
            raise Invalid("L'OID de l'INS n'est pas reconnu.", code="invalid_ins")
    elif status == IdentityStatus.qualifiee:
        raise Invalid("Une identité qualifiée doit porter son INS.", code="ins_required")
    place = (data.birth_place_code or "").strip().upper() or None
    if place and (len(place) != 5 or not place.replace("A", "").replace("B", "").isdigit()):
        raise Invalid(
            "Le code INSEE du lieu de naissance comporte 5 caractères.", code="invalid_birth_place"
        )
    first = (data.first_given_name or names[0]).strip()
    birth_name = data.birth_name.strip().upper()
    used = data.used_name.strip().upper() if data.used_name and data.used_name.strip() else None
    return Patient(
        ins=ins,
        ins_oid=oid,
        birth_name=birth_name,
        used_name=used,
        birth_given_names=names,
        first_given_name=first,
        birth_date=data.birth_date,
        sex=sex,
        birth_place_code=place,
        identity_status=status,
        birth_name_fold=fold(birth_name),
        used_name_fold=fold(used) if used else None,
        first_given_name_fold=fold(first),
    )


def find_duplicates(session: Session, p: Patient) -> list[Patient]:
    """Same INS, or same birth name + first given name + birth date + sex."""
    conds: list[ColumnElement[bool]] = [
        (Patient.birth_name_fold == p.birth_name_fold)
        & (Patient.first_given_name_fold == p.first_given_name_fold)
        & (Patient.birth_date == p.birth_date)
        & (Patient.sex == p.sex)
    ]
    if p.ins:
        conds.append(Patient.ins == p.ins)
    return list(session.scalars(select(Patient).where(or_(*conds)).limit(10)))


def create(session: Session, ctx: RequestContext, data: NewPatient) -> Patient:
    """Create an identity, or raise :class:`DuplicateIdentity` carrying the candidates."""
    patient = _validated(data)
    candidates = find_duplicates(session, patient)
    if candidates:
        raise DuplicateIdentity(
            "Cette identité existe déjà : sélectionnez le patient proposé plutôt que d'en créer "
            "un doublon.",
            candidates,
        )
    patient.created_by_id = ctx.actor.id if ctx.actor else None
    session.add(patient)
    session.flush()
    audit.record(session, ctx, "patient.create", patient_id=patient.id)
    return patient

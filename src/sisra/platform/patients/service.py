"""Patient identities: strict traits, INS, search, and creation without duplicates."""

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from sisra.common.ins import KNOWN_OIDS, OID_NIR, InvalidINS, validate_ins
from sisra.common.text import fold
from sisra.platform.audit import service as audit
from sisra.platform.context import RequestContext
from sisra.platform.errors import Conflict, Invalid, NotFound
from sisra.platform.models import IdentityStatus, Patient, Sex, utcnow

MAX_TRAIT = 100  # the length of the name columns


def get(session: Session, patient_id: uuid.UUID) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound("Patient introuvable.", code="patient_not_found")
    return patient


@dataclass(frozen=True)
class Criteria:
    """What a patient search asks for: an INS, or traits (name start, birth date, given, sex)."""

    q: str | None = None
    birth_date: date | None = None
    ins: str | None = None
    given: str | None = None  # start of the first given name (FHIR ``given``)
    sex: Sex | None = None  # FHIR ``gender``


def _statement(c: Criteria) -> Select[Patient]:
    """The search's ``select``: by INS, or by the start of the birth or used name (accents
    ignored) + birth date, narrowed by the first given name and the sex when asked."""
    stmt = select(Patient)
    if c.ins:
        try:
            return stmt.where(Patient.ins == validate_ins(c.ins))
        except InvalidINS as exc:
            raise Invalid(str(exc), code="invalid_ins") from exc
    prefix = fold(c.q or "")
    if len(prefix) < 2 and c.birth_date is None:
        raise Invalid(
            "Saisissez au moins deux lettres du nom, ou la date de naissance, ou l'INS.",
            code="search_too_broad",
        )
    if prefix:
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


def _audit_search(session: Session, ctx: RequestContext, c: Criteria, results: int) -> None:
    details = {"by": "ins" if c.ins else "traits", "results": results}
    audit.record(session, ctx, "patient.search", details=details)


def search(
    session: Session,
    ctx: RequestContext,
    *,
    q: str | None,
    birth_date: date | None,
    ins: str | None,
    limit: int = 30,
) -> list[Patient]:
    """By INS, or by the start of the birth or used name (accents ignored) + birth date."""
    criteria = Criteria(q=q, birth_date=birth_date, ins=ins)
    stmt = _statement(criteria).order_by(Patient.birth_name, Patient.first_given_name)
    found = list(session.scalars(stmt.limit(limit)))
    _audit_search(session, ctx, criteria, len(found))
    return found


def search_page(
    session: Session, ctx: RequestContext, criteria: Criteria, offset: int, limit: int
) -> tuple[list[Patient], int]:
    """One page of a search and the number of matches over all pages (FHIR searchsets)."""
    stmt = _statement(criteria)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    page = stmt.order_by(Patient.birth_name, Patient.first_given_name, Patient.id)
    found = list(session.scalars(page.offset(offset).limit(limit)))
    _audit_search(session, ctx, criteria, total)
    return found, total


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

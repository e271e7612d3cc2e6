"""A patient's care team: explicit, attested, limited, expiring and notified membership.

Members read the patient's unrestricted documents (see :mod:`sisra.platform.record.policy`).
A professional joins by declaring a care relationship (decision 117): a reason from a closed
list (« autre » with a written reason of at least 15 characters) and the patient's consent,
attested. Each professional's declarations are counted per rolling hour and day, under a lock
(decision 118): beyond the limit the declaration is refused (429), audited and shown to the
administrators. A declared membership ends by itself after ``care_team_membership_days`` and
may be renewed by declaring again; an administrator's addition states its own end or none.
The rest of the team sees each new declaration on the record page and in a daily e-mail
digest (:mod:`sisra.platform.record.digest`, decision 119). Ended and expired memberships
stay listed: leaving never hides that someone was there.

Every change is its own audit action (``care_team.declare``, ``care_team.add``,
``care_team.remove``, ``care_team.leave``), so that an administrator can review who declared
what, and abuse shows.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NoReturn

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from sisra.common import clock
from sisra.platform.audit import service as audit
from sisra.platform.context import RequestContext
from sisra.platform.errors import Forbidden, Invalid, NotFound, TooManyAttempts
from sisra.platform.models import (
    CareTeamHow,
    CareTeamMember,
    Patient,
    Professional,
    Role,
    utcnow,
)
from sisra.platform.patients import service as patients
from sisra.platform.record import care_team_limits
from sisra.platform.record.care_team_limits import Alert as Alert
from sisra.platform.record.care_team_limits import alerts as alerts
from sisra.platform.record.policy import active_membership
from sisra.platform.settings import Settings

ATTESTATION = "J'atteste prendre en charge ce patient"
CONSENT = "le patient, informé, consent à ce que je consulte son dossier"
MIN_REASON = 5
MIN_OTHER = 15  # « autre »: as long as a break-glass reason
MAX_TEXT = 400
LEFT = "Quitte l'équipe de soins."

# The closed list of reasons a professional declares a care relationship for (decision 117).
REASONS: dict[str, str] = {
    "consultation": "consultation ou visite",
    "hospitalisation": "hospitalisation ou admission",
    "demande_medecin_traitant": "demande du médecin traitant du patient",
    "remplacement": "remplacement d'un confrère",
    "autre": "autre",
}
OTHER = "autre"

MAX_ADMIN_YEARS = 10


HOW_LABELS = {
    CareTeamHow.declared: "déclaré par le professionnel",
    CareTeamHow.admin: "ajouté par un administrateur",
    CareTeamHow.history: "repris de l'historique des documents",
}


@dataclass(frozen=True)
class MemberView:
    """One membership as pages and the API show it."""

    id: uuid.UUID
    patient_id: uuid.UUID
    professional_id: uuid.UUID
    professional_name: str
    how: CareTeamHow
    since: datetime
    attestation: str | None
    added_by_name: str | None
    ended_at: datetime | None
    ended_by_name: str | None
    end_reason: str | None
    reason: str | None = None
    consent: bool | None = None
    expires_at: datetime | None = None
    declared_at: datetime | None = None

    @property
    def how_label(self) -> str:
        return HOW_LABELS[self.how]

    @property
    def reason_label(self) -> str | None:
        return REASONS.get(self.reason) if self.reason else None

    @property
    def status(self) -> str:
        """``active``, ``expired`` (past its end, never renewed) or ``ended`` (left, removed)."""
        if self.ended_at is not None:
            return "ended"
        if self.expires_at is not None and self.expires_at <= utcnow():
            return "expired"
        return "active"

    @property
    def active(self) -> bool:
        return self.status == "active"


def _open_membership(
    session: Session, patient_id: uuid.UUID, professional_id: uuid.UUID
) -> CareTeamMember | None:
    return session.scalars(
        select(CareTeamMember).where(
            CareTeamMember.patient_id == patient_id,
            CareTeamMember.professional_id == professional_id,
            CareTeamMember.ended_at.is_(None),
        )
    ).first()


def _expired(member: CareTeamMember) -> bool:
    return member.expires_at is not None and member.expires_at <= utcnow()


def _close_expired(session: Session, member: CareTeamMember) -> None:
    """An expired membership is ended (at its end date) before a new one is opened: the
    history keeps both, and the partial unique index allows only one open row."""
    member.ended_at = member.expires_at
    member.end_reason = "Appartenance expirée, non renouvelée."
    session.flush()


def _join(
    session: Session,
    patient_id: uuid.UUID,
    professional_id: uuid.UUID,
    how: CareTeamHow,
    attestation: str,
    added_by: uuid.UUID | None,
    *,
    expires_at: datetime | None = None,
    reason: str | None = None,
    consent: bool | None = None,
) -> tuple[CareTeamMember, bool]:
    """The open membership, created unless an active one exists; True when it was created.

    The partial unique index decides between two simultaneous requests: the loser's insert
    fails inside its savepoint and it returns the winner's row.
    """
    existing = _open_membership(session, patient_id, professional_id)
    if existing is not None and not _expired(existing):
        return existing, False
    if existing is not None:
        _close_expired(session, existing)
    now = utcnow()
    member = CareTeamMember(
        patient_id=patient_id,
        professional_id=professional_id,
        how=how,
        since=now,
        attestation=attestation,
        added_by_id=added_by,
        expires_at=expires_at,
        reason=reason,
        consent=consent,
        declared_at=now if how == CareTeamHow.declared else None,
    )
    try:
        with session.begin_nested():
            session.add(member)
            session.flush()
    except IntegrityError:
        existing = _open_membership(session, patient_id, professional_id)
        assert existing is not None
        return existing, False
    return member, True


def _text(value: str, minimum: int, message: str, code: str) -> str:
    value = " ".join((value or "").split())
    if len(value) < minimum:
        raise Invalid(message, code=code)
    return value[:MAX_TEXT]


def meaningful(value: str, minimum: int, message: str, code: str) -> str:
    """A written reason someone could read: long enough, mostly letters, several words and not
    one character repeated (« ..... », « aaaaaaaaaaaaaaa » and « 123456789012345 » are not)."""
    text = _text(value, minimum, message, code)
    letters = [c.lower() for c in text if c.isalpha()]
    words = [w for w in text.split() if sum(c.isalpha() for c in w) >= 2]
    if len(letters) < minimum * 2 // 3 or len(set(letters)) < 5 or len(words) < 2:
        raise Invalid(message, code=code)
    return text


def _check_declarer(ctx: RequestContext, professional_id: uuid.UUID | None) -> uuid.UUID:
    """The professional declaring: the caller, never an administrator nor someone else."""
    assert ctx.actor is not None
    if ctx.actor.is_admin:
        raise Forbidden(
            "Les administrateurs ne font pas partie des équipes de soins : ajoutez un "
            "professionnel depuis l'administration.",
            code="professionals_only",
        )
    if professional_id is not None and professional_id != ctx.actor.id:
        raise Forbidden(
            "Vous ne pouvez déclarer une prise en charge que pour vous-même.",
            code="declare_for_self_only",
        )
    return ctx.actor.id


def _declared_text(reason: str | None, details: str) -> str:
    """The written complement of a declaration, checked against its reason (decision 117):
    required and longer for « autre », optional but readable otherwise."""
    if reason not in REASONS:
        raise Invalid(
            "Choisissez le motif de la prise en charge dans la liste : "
            + ", ".join(f"« {label} »" for label in REASONS.values())
            + ".",
            code="care_reason_required",
        )
    if reason == OTHER:
        return meaningful(
            details,
            MIN_OTHER,
            f"Pour le motif « autre », décrivez la prise en charge en quelques mots (au moins "
            f"{MIN_OTHER} caractères, un texte lisible).",
            "care_context_required",
        )
    if (details or "").strip():
        return meaningful(
            details,
            MIN_REASON,
            "Le complément doit être un texte lisible (ou laissez-le vide).",
            "care_context_required",
        )
    return ""


def _check_ticked(*, consent: bool, attested: bool) -> None:
    if not consent:
        raise Invalid(
            "Cochez « Le patient, informé, consent à ce que je consulte son dossier » : sans son "
            "consentement, la déclaration n'est pas possible.",
            code="consent_required",
        )
    if not attested:
        raise Invalid(
            "Cochez l'attestation « J'atteste prendre en charge ce patient » pour vous "
            "déclarer dans son équipe de soins.",
            code="attestation_required",
        )


def _refuse_over_limit(
    session: Session,
    settings: Settings,
    ctx: RequestContext,
    patient_id: uuid.UUID,
    reason: str,
    count: care_team_limits.Count,
) -> NoReturn:
    """Audit a declaration over the limit (kept although the request fails) and refuse it."""
    audit.record(
        session,
        ctx,
        "care_team.declare",
        patient_id=patient_id,
        outcome="limited",
        details={
            "reason": REASONS[reason],
            "last_hour": count.hour,
            "last_day": count.day,
            "limits": f"{settings.care_team_declarations_per_hour}/h, "
            f"{settings.care_team_declarations_per_day}/24 h",
        },
        keep_on_failure=True,
    )
    raise TooManyAttempts(
        "Vous avez atteint le nombre maximal de déclarations de prise en charge "
        f"({settings.care_team_declarations_per_hour} par heure, "
        f"{settings.care_team_declarations_per_day} par 24 heures). Votre déclaration n'a "
        "pas été enregistrée et les administrateurs en sont informés. Réessayez plus tard "
        "ou, en cas d'urgence, utilisez l'accès en urgence (bris de glace).",
        code="care_team_rate_limited",
    )


def _join_or_renew(
    session: Session,
    settings: Settings,
    patient_id: uuid.UUID,
    professional_id: uuid.UUID,
    existing: CareTeamMember | None,
    reason: str,
    attestation: str,
) -> tuple[CareTeamMember, str]:
    """An active declared membership gets a new end; otherwise the professional joins."""
    expires = utcnow() + timedelta(days=settings.care_team_membership_days)
    if existing is not None and not _expired(existing):
        existing.attestation = attestation[:500]
        existing.reason = reason
        existing.consent = True
        existing.expires_at = expires
        existing.declared_at = utcnow()
        session.flush()
        return existing, "renewed"
    member, created = _join(
        session,
        patient_id,
        professional_id,
        CareTeamHow.declared,
        attestation[:500],
        professional_id,
        expires_at=expires,
        reason=reason,
        consent=True,
    )
    return member, "created" if created else "already_member"


def declare(
    session: Session,
    settings: Settings,
    ctx: RequestContext,
    patient_id: uuid.UUID,
    *,
    attested: bool,
    reason: str | None,
    details: str = "",
    consent: bool = False,
    professional_id: uuid.UUID | None = None,
) -> tuple[CareTeamMember, str]:
    """« Je déclare prendre en charge ce patient »: the caller joins the care team.

    Returns the membership and what happened: ``created``, ``renewed`` (an active declared
    membership gets a new end) or ``already_member`` (added by an administrator or carried
    over: nothing changes).
    """
    declarer = _check_declarer(ctx, professional_id)
    patients.require(session, patient_id)
    text = _declared_text(reason, details)
    assert reason is not None  # _declared_text refused any reason outside REASONS
    _check_ticked(consent=consent, attested=attested)
    existing = _open_membership(session, patient_id, declarer)
    if existing is not None and not _expired(existing) and existing.how != CareTeamHow.declared:
        audit.record(
            session,
            ctx,
            "care_team.declare",
            patient_id=patient_id,
            outcome="already_member",
            details={"member_id": str(existing.id), "how": existing.how.value},
        )
        return existing, "already_member"
    count = care_team_limits.count_attempt(session, settings, declarer, patient_id)
    if count.refused:
        _refuse_over_limit(session, settings, ctx, patient_id, reason, count)
    attestation = f"{ATTESTATION} : {REASONS[reason]}" + (f" — {text}" if text else "")
    attestation += f" ; {CONSENT}."
    member, outcome = _join_or_renew(
        session, settings, patient_id, declarer, existing, reason, attestation
    )
    audit.record(
        session,
        ctx,
        "care_team.declare",
        patient_id=patient_id,
        outcome="ok" if outcome == "created" else outcome,
        details={
            "attestation": attestation,
            "reason": REASONS[reason],
            "member_id": str(member.id),
            "expires_at": member.expires_at.isoformat() if member.expires_at else None,
        },
    )
    return member, outcome


def _admin_only(ctx: RequestContext, session: Session, action: str, patient_id: uuid.UUID) -> None:
    assert ctx.actor is not None
    if not ctx.actor.is_admin:
        audit.record(
            session,
            ctx,
            action,
            patient_id=patient_id,
            outcome="refused",
            keep_on_failure=True,
        )
        raise Forbidden(
            "Seul un administrateur peut ajouter ou retirer un autre professionnel de l'équipe "
            "de soins. Pour vous-même, utilisez « Je déclare prendre en charge ce patient ».",
            code="admin_only",
        )


def _professional(session: Session, professional_id: uuid.UUID) -> Professional:
    pro = session.get(Professional, professional_id)
    if pro is None or pro.role != Role.professional:
        raise NotFound("Professionnel introuvable dans l'annuaire.", code="professional_not_found")
    return pro


def add(
    session: Session,
    ctx: RequestContext,
    patient_id: uuid.UUID,
    professional_id: uuid.UUID,
    reason: str,
    until: date | None = None,
) -> tuple[CareTeamMember, bool]:
    """An administrator adds a professional to the care team, with a reason, until the end of
    ``until`` (Paris time) or with no end. An active member keeps their membership, whose end
    becomes the one stated here; False then."""
    _admin_only(ctx, session, "care_team.add", patient_id)
    assert ctx.actor is not None
    patients.require(session, patient_id)
    pro = _professional(session, professional_id)
    if not pro.active:
        raise Invalid(
            "Ce professionnel est désactivé dans l'annuaire.", code="professional_inactive"
        )
    why = _text(
        reason,
        MIN_REASON,
        f"Indiquez le motif de l'ajout (au moins {MIN_REASON} caractères).",
        "reason_required",
    )
    if until is not None and until > utcnow().date() + timedelta(days=366 * MAX_ADMIN_YEARS):
        raise Invalid(
            f"La date de fin doit être dans les {MAX_ADMIN_YEARS} ans (ou laissez-la vide : "
            "sans fin).",
            code="end_too_far",
        )
    expires_at = end_of_day(until) if until is not None else None
    if expires_at is not None and expires_at <= utcnow():
        raise Invalid(
            "La date de fin doit être dans le futur (ou laissez-la vide : sans fin).",
            code="end_in_past",
        )
    member, created = _join(
        session, patient_id, pro.id, CareTeamHow.admin, why, ctx.actor.id, expires_at=expires_at
    )
    if not created:
        member.expires_at = expires_at
        session.flush()
    audit.record(
        session,
        ctx,
        "care_team.add",
        patient_id=patient_id,
        outcome="ok" if created else "already_member",
        details={
            "professional_id": str(pro.id),
            "professional": f"{pro.display_name} ({pro.login})",
            "reason": why,
            "member_id": str(member.id),
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return member, created


def _end(session: Session, ctx: RequestContext, member: CareTeamMember, reason: str | None) -> None:
    assert ctx.actor is not None
    member.ended_at = utcnow()
    member.ended_by_id = ctx.actor.id
    member.end_reason = reason
    session.flush()


def remove(
    session: Session,
    ctx: RequestContext,
    patient_id: uuid.UUID,
    professional_id: uuid.UUID,
    reason: str,
) -> CareTeamMember:
    """An administrator ends a professional's membership, with a reason."""
    _admin_only(ctx, session, "care_team.remove", patient_id)
    why = _text(
        reason,
        MIN_REASON,
        f"Indiquez le motif du retrait (au moins {MIN_REASON} caractères).",
        "reason_required",
    )
    member = _open_membership(session, patient_id, professional_id)
    if member is None:
        raise NotFound(
            "Ce professionnel ne fait pas partie de l'équipe de soins de ce patient.",
            code="not_a_member",
        )
    pro = session.get(Professional, professional_id)
    _end(session, ctx, member, why)
    audit.record(
        session,
        ctx,
        "care_team.remove",
        patient_id=patient_id,
        details={
            "professional_id": str(professional_id),
            "professional": f"{pro.display_name} ({pro.login})" if pro else None,
            "reason": why,
            "member_id": str(member.id),
            "how": member.how.value,
        },
    )
    return member


def leave(session: Session, ctx: RequestContext, patient_id: uuid.UUID) -> CareTeamMember:
    """The caller leaves the patient's care team."""
    assert ctx.actor is not None
    member = _open_membership(session, patient_id, ctx.actor.id)
    if member is None:
        raise NotFound(
            "Vous ne faites pas partie de l'équipe de soins de ce patient.", code="not_a_member"
        )
    _end(session, ctx, member, LEFT)
    audit.record(
        session,
        ctx,
        "care_team.leave",
        patient_id=patient_id,
        details={"member_id": str(member.id), "how": member.how.value},
    )
    return member


def status_label(m: MemberView) -> str:
    """« membre jusqu'au … », « expirée le … », « a quitté l'équipe le … » (Paris dates)."""

    def day(value: datetime) -> str:
        return value.astimezone(clock.platform_zone()).strftime("%d/%m/%Y")

    if m.ended_at is not None:
        left = m.end_reason == LEFT
        verb = "a quitté l'équipe le" if left else "retiré(e) de l'équipe le"
        if m.end_reason and m.end_reason.startswith("Appartenance expirée"):
            verb = "appartenance expirée le"
        return f"{verb} {day(m.ended_at)}"
    if m.expires_at is not None:
        if m.expires_at <= utcnow():
            return f"appartenance expirée le {day(m.expires_at)}"
        return f"membre jusqu'au {day(m.expires_at - timedelta(seconds=1))}"
    return "membre, sans date de fin"


def end_of_day(day: date) -> datetime:
    """The end of ``day`` in Paris, as a UTC datetime."""
    return datetime.combine(
        day + timedelta(days=1), time.min, tzinfo=clock.platform_zone()
    ).astimezone(UTC)


def is_member(session: Session, patient_id: uuid.UUID, professional_id: uuid.UUID) -> bool:
    member = _open_membership(session, patient_id, professional_id)
    return member is not None and not _expired(member)


def _membership_filters(
    patient_id: uuid.UUID | None,
    professional_id: uuid.UUID | None,
    how: CareTeamHow | None,
    include_ended: bool,
) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if patient_id is not None:
        conds.append(CareTeamMember.patient_id == patient_id)
    if professional_id is not None:
        conds.append(CareTeamMember.professional_id == professional_id)
    if how is not None:
        conds.append(CareTeamMember.how == how)
    if not include_ended:
        conds.append(active_membership())
    return conds


def count_memberships(
    session: Session,
    *,
    patient_id: uuid.UUID | None = None,
    professional_id: uuid.UUID | None = None,
    how: CareTeamHow | None = None,
    include_ended: bool = False,
) -> int:
    """How many memberships :func:`memberships` pages through with the same filters."""
    stmt = (
        select(func.count())
        .select_from(CareTeamMember)
        .where(*_membership_filters(patient_id, professional_id, how, include_ended))
    )
    return int(session.scalar(stmt) or 0)


def memberships(
    session: Session,
    *,
    patient_id: uuid.UUID | None = None,
    professional_id: uuid.UUID | None = None,
    how: CareTeamHow | None = None,
    include_ended: bool = False,
    limit: int = 500,
    offset: int = 0,
) -> list[tuple[MemberView, Patient]]:
    """Memberships, newest first, filtered by patient, professional and how (``include_ended``:
    also the ended and the expired ones); ``offset`` and ``limit`` give one page of them."""
    member_pro = aliased(Professional)
    added_by = aliased(Professional)
    ended_by = aliased(Professional)
    stmt = (
        select(CareTeamMember, member_pro, added_by, ended_by, Patient)
        .join(member_pro, member_pro.id == CareTeamMember.professional_id)
        .join(Patient, Patient.id == CareTeamMember.patient_id)
        .outerjoin(added_by, added_by.id == CareTeamMember.added_by_id)
        .outerjoin(ended_by, ended_by.id == CareTeamMember.ended_by_id)
        .where(*_membership_filters(patient_id, professional_id, how, include_ended))
        .order_by(CareTeamMember.since.desc(), CareTeamMember.id)
        .offset(offset)
        .limit(limit)
    )
    return [
        (
            MemberView(
                id=m.id,
                patient_id=m.patient_id,
                professional_id=m.professional_id,
                professional_name=pro.display_name,
                how=m.how,
                since=m.since,
                attestation=m.attestation,
                added_by_name=by.display_name if by is not None else None,
                ended_at=m.ended_at,
                ended_by_name=end.display_name if end is not None else None,
                end_reason=m.end_reason,
                reason=m.reason,
                consent=m.consent,
                expires_at=m.expires_at,
                declared_at=m.declared_at,
            ),
            patient,
        )
        for m, pro, by, end, patient in session.execute(stmt)
    ]


def view(session: Session, member: CareTeamMember) -> MemberView:
    """One membership with the names pages show."""
    names = {
        p.id: p.display_name
        for p in session.scalars(
            select(Professional).where(
                Professional.id.in_(
                    {member.professional_id, member.added_by_id, member.ended_by_id} - {None}
                )
            )
        )
    }
    return MemberView(
        id=member.id,
        patient_id=member.patient_id,
        professional_id=member.professional_id,
        professional_name=names.get(member.professional_id, "—"),
        how=member.how,
        since=member.since,
        attestation=member.attestation,
        added_by_name=names.get(member.added_by_id) if member.added_by_id else None,
        ended_at=member.ended_at,
        ended_by_name=names.get(member.ended_by_id) if member.ended_by_id else None,
        end_reason=member.end_reason,
        reason=member.reason,
        consent=member.consent,
        expires_at=member.expires_at,
        declared_at=member.declared_at,
    )


def team(session: Session, patient_id: uuid.UUID) -> list[MemberView]:
    """The patient's care team, past members included: active members first (longest-standing
    first), then the expired and those who left, most recent end first. Leaving never hides
    that someone was there."""
    rows = [m for m, _p in memberships(session, patient_id=patient_id, include_ended=True)]
    active = sorted((m for m in rows if m.active), key=lambda m: m.since)
    past = sorted(
        (m for m in rows if not m.active),
        key=lambda m: m.ended_at or m.expires_at or m.since,
        reverse=True,
    )
    return active + past


def recent_declarations(
    session: Session, patient_id: uuid.UUID, *, days: int = 30
) -> list[MemberView]:
    """Declarations (new or renewed) of the last ``days`` days, newest first: the notice the
    rest of the team reads on the record page."""
    cutoff = utcnow() - timedelta(days=days)
    rows = [m for m, _p in memberships(session, patient_id=patient_id, include_ended=True)]
    found = [
        m
        for m in rows
        if m.how == CareTeamHow.declared and m.declared_at is not None and m.declared_at > cutoff
    ]
    return sorted(found, key=lambda m: m.declared_at or m.since, reverse=True)

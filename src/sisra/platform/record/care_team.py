"""A patient's care team: explicit, attested, audited membership.

Members read the patient's unrestricted documents (see :mod:`sisra.platform.record.policy`).
A professional joins by declaring a care relationship, with an attestation; an administrator
adds or removes members; a member may leave. Every change is its own audit action
(``care_team.declare``, ``care_team.add``, ``care_team.remove``, ``care_team.leave``), so
that an administrator can review who declared what, and abuse shows.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from sisra.platform.audit import service as audit
from sisra.platform.context import RequestContext
from sisra.platform.errors import Forbidden, Invalid, NotFound
from sisra.platform.models import (
    CareTeamHow,
    CareTeamMember,
    Patient,
    Professional,
    Role,
    utcnow,
)
from sisra.platform.patients import service as patients

ATTESTATION = "J'atteste prendre en charge ce patient dans le cadre de : "
MIN_CONTEXT = 5
MIN_REASON = 5
MAX_TEXT = 400

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

    @property
    def how_label(self) -> str:
        return HOW_LABELS[self.how]


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


def _join(
    session: Session,
    patient_id: uuid.UUID,
    professional_id: uuid.UUID,
    how: CareTeamHow,
    attestation: str,
    added_by: uuid.UUID | None,
) -> tuple[CareTeamMember, bool]:
    """The open membership, created unless one exists; True when it was created.

    The partial unique index decides between two simultaneous requests: the loser's insert
    fails inside its savepoint and it returns the winner's row.
    """
    existing = _open_membership(session, patient_id, professional_id)
    if existing is not None:
        return existing, False
    member = CareTeamMember(
        patient_id=patient_id,
        professional_id=professional_id,
        how=how,
        since=utcnow(),
        attestation=attestation,
        added_by_id=added_by,
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


def declare(
    session: Session,
    ctx: RequestContext,
    patient_id: uuid.UUID,
    *,
    attested: bool,
    context: str,
    professional_id: uuid.UUID | None = None,
) -> tuple[CareTeamMember, bool]:
    """« Je déclare prendre en charge ce patient »: the caller joins the care team."""
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
    patients.get(session, patient_id)
    if not attested:
        raise Invalid(
            "Cochez l'attestation « J'atteste prendre en charge ce patient » pour vous "
            "déclarer dans son équipe de soins.",
            code="attestation_required",
        )
    reason = _text(
        context,
        MIN_CONTEXT,
        f"Précisez dans quel cadre vous prenez en charge ce patient (au moins {MIN_CONTEXT} "
        "caractères).",
        "care_context_required",
    )
    attestation = ATTESTATION + reason
    member, created = _join(
        session, patient_id, ctx.actor.id, CareTeamHow.declared, attestation, ctx.actor.id
    )
    audit.record(
        session,
        ctx,
        "care_team.declare",
        patient_id=patient_id,
        outcome="ok" if created else "already_member",
        details={"attestation": attestation, "member_id": str(member.id)},
    )
    return member, created


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
) -> tuple[CareTeamMember, bool]:
    """An administrator adds a professional to the care team, with a reason."""
    _admin_only(ctx, session, "care_team.add", patient_id)
    assert ctx.actor is not None
    patients.get(session, patient_id)
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
    member, created = _join(session, patient_id, pro.id, CareTeamHow.admin, why, ctx.actor.id)
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
    _end(session, ctx, member, "Quitte l'équipe de soins.")
    audit.record(
        session,
        ctx,
        "care_team.leave",
        patient_id=patient_id,
        details={"member_id": str(member.id), "how": member.how.value},
    )
    return member


def is_member(session: Session, patient_id: uuid.UUID, professional_id: uuid.UUID) -> bool:
    return _open_membership(session, patient_id, professional_id) is not None


def memberships(
    session: Session,
    *,
    patient_id: uuid.UUID | None = None,
    professional_id: uuid.UUID | None = None,
    how: CareTeamHow | None = None,
    include_ended: bool = False,
    limit: int = 500,
) -> list[tuple[MemberView, Patient]]:
    """Memberships, newest first, filtered by patient, professional and how."""
    member_pro = aliased(Professional)
    added_by = aliased(Professional)
    ended_by = aliased(Professional)
    stmt = (
        select(CareTeamMember, member_pro, added_by, ended_by, Patient)
        .join(member_pro, member_pro.id == CareTeamMember.professional_id)
        .join(Patient, Patient.id == CareTeamMember.patient_id)
        .outerjoin(added_by, added_by.id == CareTeamMember.added_by_id)
        .outerjoin(ended_by, ended_by.id == CareTeamMember.ended_by_id)
        .order_by(CareTeamMember.since.desc(), CareTeamMember.id)
        .limit(limit)
    )
    if patient_id is not None:
        stmt = stmt.where(CareTeamMember.patient_id == patient_id)
    if professional_id is not None:
        stmt = stmt.where(CareTeamMember.professional_id == professional_id)
    if how is not None:
        stmt = stmt.where(CareTeamMember.how == how)
    if not include_ended:
        stmt = stmt.where(CareTeamMember.ended_at.is_(None))
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
    )


def team(session: Session, patient_id: uuid.UUID) -> list[MemberView]:
    """The patient's current care team, longest-standing members first."""
    rows = [m for m, _p in memberships(session, patient_id=patient_id)]
    return sorted(rows, key=lambda m: m.since)

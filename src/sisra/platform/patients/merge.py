"""Identity merge: two rows for the same patient become one.

The kept identity receives the removed one's documents, break-glass grants and care-team
memberships (a professional already in the kept identity's team keeps that membership; the
duplicate one is ended); the removed
row is deleted. The trace is the audit row ``patient.merge`` (both ids and the reason).
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sisra.platform.audit import service as audit
from sisra.platform.context import RequestContext
from sisra.platform.errors import Forbidden, Invalid, NotFound
from sisra.platform.models import (
    BreakGlass,
    CareTeamDeclaration,
    CareTeamMember,
    Document,
    Patient,
    utcnow,
)


@dataclass(frozen=True)
class MergeResult:
    keep_id: uuid.UUID
    remove_id: uuid.UUID
    documents: int
    break_glass: int


def duplicate_groups(session: Session, limit: int = 100) -> list[list[Patient]]:
    """Probable duplicates: identities sharing folded birth name and birth date."""
    keys = session.execute(
        select(Patient.birth_name_fold, Patient.birth_date)
        .group_by(Patient.birth_name_fold, Patient.birth_date)
        .having(func.count(Patient.id) > 1)
        .order_by(Patient.birth_name_fold, Patient.birth_date)
        .limit(limit)
    ).all()
    groups: list[list[Patient]] = []
    for name_fold, birth_date in keys:
        rows = session.scalars(
            select(Patient)
            .where(Patient.birth_name_fold == name_fold, Patient.birth_date == birth_date)
            .order_by(Patient.created_at)
        ).all()
        groups.append(list(rows))
    return groups


def document_count(session: Session, patient_id: uuid.UUID) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(Document).where(Document.patient_id == patient_id)
        )
        or 0
    )


def _move_care_team(session: Session, keep_id: uuid.UUID, remove_id: uuid.UUID) -> None:
    kept = set(
        session.scalars(
            select(CareTeamMember.professional_id).where(
                CareTeamMember.patient_id == keep_id, CareTeamMember.ended_at.is_(None)
            )
        )
    )
    if kept:
        # one open membership per professional and patient (partial unique index)
        session.execute(
            update(CareTeamMember)
            .where(
                CareTeamMember.patient_id == remove_id,
                CareTeamMember.ended_at.is_(None),
                CareTeamMember.professional_id.in_(kept),
            )
            .values(ended_at=utcnow(), end_reason="Fusion d'identités : déjà membre.")
        )
    session.execute(
        update(CareTeamMember)
        .where(CareTeamMember.patient_id == remove_id)
        .values(patient_id=keep_id)
    )
    session.execute(
        update(CareTeamDeclaration)
        .where(CareTeamDeclaration.patient_id == remove_id)
        .values(patient_id=keep_id)
    )


def merge(
    session: Session,
    ctx: RequestContext,
    keep_id: uuid.UUID,
    remove_id: uuid.UUID,
    reason: str,
) -> MergeResult:
    """Merge ``remove_id`` into ``keep_id`` (administrators only)."""
    if ctx.actor is not None and not ctx.actor.is_admin:
        raise Forbidden("Réservé aux administrateurs.", code="admin_only")
    reason = reason.strip()
    if not reason:
        raise Invalid("Indiquez le motif de la fusion.", code="merge_reason_required")
    if keep_id == remove_id:
        raise Invalid("Impossible de fusionner une identité avec elle-même.", code="merge_same")
    keep = session.get(Patient, keep_id)
    remove = session.get(Patient, remove_id)
    if keep is None or remove is None:
        raise NotFound("Identité introuvable.", code="patient_not_found")
    if keep.ins and remove.ins and keep.ins != remove.ins:
        raise Invalid(
            "Ces deux identités ont des INS différents : ce ne sont pas le même patient.",
            code="merge_different_ins",
        )
    docs = session.execute(
        update(Document).where(Document.patient_id == remove_id).values(patient_id=keep_id)
    )
    grants = session.execute(
        update(BreakGlass).where(BreakGlass.patient_id == remove_id).values(patient_id=keep_id)
    )
    _move_care_team(session, keep_id, remove_id)
    moved_ins, moved_oid = remove.ins, remove.ins_oid
    session.delete(remove)
    session.flush()
    if moved_ins and not keep.ins:
        keep.ins, keep.ins_oid = moved_ins, moved_oid
        session.flush()
    n_docs = int(getattr(docs, "rowcount", 0) or 0)
    n_grants = int(getattr(grants, "rowcount", 0) or 0)
    audit.record(
        session,
        ctx,
        "patient.merge",
        patient_id=keep_id,
        details={
            "kept": str(keep_id),
            "removed": str(remove_id),
            "reason": reason[:500],
            "documents": n_docs,
            "break_glass": n_grants,
        },
    )
    return MergeResult(keep_id, remove_id, n_docs, n_grants)

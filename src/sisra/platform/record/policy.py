"""Who may see which document of the regional patient record.

- Authoring or receiving a document gives access to *that document*, and to nothing else:
  sending a PDF about a patient to anyone never opens the rest of the patient's record.
- The record (all the patient's unrestricted documents) is open to the patient's **care
  team**, whose membership is explicit (:mod:`sisra.platform.record.care_team`): a
  professional declared a care relationship (a reason from a closed list, the patient's
  consent attested, limited per hour and day, for a limited time, notified to the rest of
  the team), or an administrator added them (with an end date or none), or the membership
  was carried over from the old implicit rule by migration 0003. Every declaration,
  renewal, addition, removal and departure is audited.
- A restricted document stays with its author and recipients, members or not.
- An active break-glass (temporary, written reason, flagged in the audit) opens the whole
  record, restricted documents included.
- Administrators manage the directory, the care teams and read the audit; they never see
  clinical content.
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from sisra.platform.context import Actor
from sisra.platform.models import BreakGlass, CareTeamMember, Document, Notification, utcnow


class Grounds(StrEnum):
    author = "author"
    recipient = "recipient"
    care_team = "care_team"
    break_glass = "break_glass"


def active_membership() -> ColumnElement[bool]:
    """A membership that grants access now: not ended, and not past its end date."""
    return and_(
        CareTeamMember.ended_at.is_(None),
        or_(CareTeamMember.expires_at.is_(None), CareTeamMember.expires_at > utcnow()),
    )


def in_care_team(session: Session, actor_id: uuid.UUID, patient_id: uuid.UUID) -> bool:
    """Whether the professional is an active member of the patient's care team (an expired
    declaration gives nothing: it must be renewed)."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    CareTeamMember.patient_id == patient_id,
                    CareTeamMember.professional_id == actor_id,
                    active_membership(),
                )
            )
        )
    )


def active_break_glass(session: Session, actor_id: uuid.UUID, patient_id: uuid.UUID) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    BreakGlass.professional_id == actor_id,
                    BreakGlass.patient_id == patient_id,
                    BreakGlass.expires_at > utcnow(),
                )
            )
        )
    )


def break_glass_until(
    session: Session, actor_id: uuid.UUID, patient_id: uuid.UUID
) -> datetime | None:
    """When the caller's latest running emergency access to this record ends (None: none)."""
    return session.scalar(
        select(BreakGlass.expires_at)
        .where(
            BreakGlass.professional_id == actor_id,
            BreakGlass.patient_id == patient_id,
            BreakGlass.expires_at > utcnow(),
        )
        .order_by(BreakGlass.expires_at.desc())
        .limit(1)
    )


def _is_recipient(actor_id: uuid.UUID) -> ColumnElement[bool]:
    return exists().where(
        Notification.document_id == Document.id, Notification.recipient_id == actor_id
    )


def visible_documents_clause(
    session: Session, actor: Actor, patient_id: uuid.UUID
) -> tuple[ColumnElement[bool], bool, bool]:
    """SQL filter for the actor's visible documents of a patient, plus (care team, break-glass)."""
    if actor.is_admin:
        return Document.id.is_(None), False, False
    team = in_care_team(session, actor.id, patient_id)
    glass = active_break_glass(session, actor.id, patient_id)
    if glass:
        return Document.patient_id == patient_id, team, True
    own = or_(Document.author_id == actor.id, _is_recipient(actor.id))
    if team:
        clause = and_(Document.patient_id == patient_id, or_(own, Document.restricted.is_(False)))
    else:
        clause = and_(Document.patient_id == patient_id, own)
    return clause, team, False


def grounds_for(
    session: Session, actor: Actor, doc: Document, *, known_recipient: bool = False
) -> Grounds | None:
    """Why the actor may see ``doc``, or None when they may not. ``known_recipient``: the
    caller holds the actor's own notification of ``doc`` (the inbox), so the query that
    would find it is skipped."""
    if actor.is_admin:
        return None
    if doc.author_id == actor.id:
        return Grounds.author
    if known_recipient or session.scalar(
        select(
            exists().where(
                Notification.document_id == doc.id, Notification.recipient_id == actor.id
            )
        )
    ):
        return Grounds.recipient
    if not doc.restricted and in_care_team(session, actor.id, doc.patient_id):
        return Grounds.care_team
    if active_break_glass(session, actor.id, doc.patient_id):
        return Grounds.break_glass
    return None

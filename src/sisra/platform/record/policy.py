"""Who may see which document of the regional patient record.

A professional sees a document when they are its author or one of its recipients, or when
they belong to the patient's care team (author or recipient of any document about the
patient) and the author did not restrict the document to its recipients. An active
break-glass opens the whole record. Administrators manage the directory and read the audit;
they never see clinical content.
"""

import uuid
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from sisra.platform.context import Actor
from sisra.platform.models import BreakGlass, Document, Notification, utcnow


class Grounds(StrEnum):
    author = "author"
    recipient = "recipient"
    care_team = "care_team"
    break_glass = "break_glass"


def in_care_team(session: Session, actor_id: uuid.UUID, patient_id: uuid.UUID) -> bool:
    authored = exists().where(Document.patient_id == patient_id, Document.author_id == actor_id)
    received = (
        exists()
        .where(Notification.document_id == Document.id)
        .where(Document.patient_id == patient_id, Notification.recipient_id == actor_id)
    )
    return bool(session.scalar(select(or_(authored, received))))


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


def grounds_for(session: Session, actor: Actor, doc: Document) -> Grounds | None:
    """Why the actor may see ``doc``, or None when they may not."""
    if actor.is_admin:
        return None
    if doc.author_id == actor.id:
        return Grounds.author
    if session.scalar(
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

"""The regional patient record: the documents about a patient the caller may see."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sisra.platform.audit import service as audit
from sisra.platform.context import RequestContext
from sisra.platform.errors import Forbidden, Invalid
from sisra.platform.models import BreakGlass, Document, Patient, utcnow
from sisra.platform.patients import service as patients
from sisra.platform.record import policy
from sisra.platform.settings import Settings

MIN_REASON = 15

# The refusal's code and French hint: what the professional can do about it.
NOT_IN_CARE_TEAM = "not_in_care_team"
NOT_IN_CARE_TEAM_MESSAGE = (
    "Vous n'avez pas accès au dossier de ce patient : vous ne faites pas partie de son "
    "équipe de soins. Envoyer ou recevoir un document ne donne accès qu'à ce document. Si "
    "vous prenez en charge ce patient, déclarez-le (« Je déclare prendre en charge ce "
    "patient ») ; en cas d'urgence, utilisez l'accès « bris de glace » en indiquant le motif."
)
RESTRICTED_MESSAGE = (
    "Ce document est réservé à son auteur et à ses destinataires, même au sein de l'équipe "
    "de soins. En cas d'urgence, utilisez l'accès « bris de glace » en indiquant le motif."
)


def refuse(
    session: Session,
    ctx: RequestContext,
    action: str,
    patient_id: uuid.UUID,
    document_id: uuid.UUID | None = None,
    *,
    restricted: bool = False,
) -> Forbidden:
    audit.record(
        session,
        ctx,
        action,
        patient_id=patient_id,
        document_id=document_id,
        outcome="refused",
        keep_on_failure=True,
    )
    return Forbidden(
        RESTRICTED_MESSAGE if restricted else NOT_IN_CARE_TEAM_MESSAGE,
        code="document_restricted" if restricted else NOT_IN_CARE_TEAM,
        extra={
            "patient_id": str(patient_id),
            "declare_url": f"/api/v1/patients/{patient_id}/care-team",
            "break_glass_url": f"/api/v1/patients/{patient_id}/break-glass",
        },
    )


@dataclass(frozen=True)
class RecordAccess:
    """What the caller may see of a patient's record, and on which grounds.

    ``care_team`` False without ``break_glass``: the caller sees only the documents they
    authored or received (the record itself stays closed to them).
    """

    patient: Patient
    documents: list[Document]
    care_team: bool
    break_glass: bool
    break_glass_until: datetime | None = None  # when the emergency access ends


def open_record(session: Session, ctx: RequestContext, patient_id: uuid.UUID) -> RecordAccess:
    """The visible documents, newest first; refused when there is none to show."""
    assert ctx.actor is not None
    patient = patients.get(session, patient_id)
    clause, team, glass = policy.visible_documents_clause(session, ctx.actor, patient_id)
    docs = list(
        session.scalars(
            select(Document)
            .where(clause)
            .order_by(Document.clinical_date.desc(), Document.created_at.desc())
        )
    )
    if not team and not glass and not docs:
        raise refuse(session, ctx, "record.read", patient_id)
    audit.record(
        session,
        ctx,
        "record.read",
        patient_id=patient_id,
        details={"documents": len(docs), "break_glass": glass, "care_team": team},
    )
    until = policy.break_glass_until(session, ctx.actor.id, patient_id) if glass else None
    return RecordAccess(patient, docs, team, glass, until)


def list_documents(
    session: Session, ctx: RequestContext, patient_id: uuid.UUID
) -> tuple[Patient, list[Document], bool]:
    """The visible documents, newest first, and whether access is by break-glass."""
    access = open_record(session, ctx, patient_id)
    return access.patient, access.documents, access.break_glass


def check_document_access(
    session: Session,
    ctx: RequestContext,
    doc: Document,
    action: str,
    *,
    known_recipient: bool = False,
) -> policy.Grounds:
    assert ctx.actor is not None
    grounds = policy.grounds_for(session, ctx.actor, doc, known_recipient=known_recipient)
    if grounds is None:
        restricted = doc.restricted and policy.in_care_team(session, ctx.actor.id, doc.patient_id)
        raise refuse(session, ctx, action, doc.patient_id, doc.id, restricted=restricted)
    return grounds


def break_glass(
    session: Session, settings: Settings, ctx: RequestContext, patient_id: uuid.UUID, reason: str
) -> BreakGlass:
    assert ctx.actor is not None
    if ctx.actor.is_admin:
        raise Forbidden(
            "Les administrateurs n'accèdent pas aux contenus cliniques.",
            code="admin_no_clinical_access",
        )
    patients.require(session, patient_id)
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise Invalid(
            f"Indiquez le motif de l'accès en urgence (au moins {MIN_REASON} caractères).",
            code="reason_required",
        )
    grant = BreakGlass(
        professional_id=ctx.actor.id,
        patient_id=patient_id,
        reason=reason[:1000],
        expires_at=utcnow() + timedelta(hours=settings.break_glass_hours),
    )
    session.add(grant)
    session.flush()
    audit.record(
        session,
        ctx,
        "record.break_glass",
        patient_id=patient_id,
        outcome="emergency",
        details={"reason": reason[:1000], "hours": settings.break_glass_hours},
    )
    return grant

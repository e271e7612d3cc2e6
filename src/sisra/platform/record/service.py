"""The regional patient record: the documents about a patient the caller may see."""

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sisra.platform.audit import service as audit
from sisra.platform.context import RequestContext
from sisra.platform.errors import Forbidden, Invalid
from sisra.platform.models import BreakGlass, Document, Patient, utcnow
from sisra.platform.patients import service as patients
from sisra.platform.record import policy
from sisra.settings import Settings

MIN_REASON = 15


def _refuse(
    session: Session,
    ctx: RequestContext,
    action: str,
    patient_id: uuid.UUID,
    document_id: uuid.UUID | None = None,
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
        "Vous n'avez pas accès au dossier de ce patient : vous ne faites pas partie de son "
        "équipe de soins. En cas d'urgence, utilisez l'accès « bris de glace » en indiquant "
        "le motif.",
        code="record_access_denied",
    )


def list_documents(
    session: Session, ctx: RequestContext, patient_id: uuid.UUID
) -> tuple[Patient, list[Document], bool]:
    """The visible documents, newest first, and whether access is by break-glass."""
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
    if not team and not glass:
        raise _refuse(session, ctx, "record.read", patient_id)
    audit.record(
        session,
        ctx,
        "record.read",
        patient_id=patient_id,
        details={"documents": len(docs), "break_glass": glass},
    )
    return patient, docs, glass


def check_document_access(
    session: Session, ctx: RequestContext, doc: Document, action: str
) -> policy.Grounds:
    assert ctx.actor is not None
    grounds = policy.grounds_for(session, ctx.actor, doc)
    if grounds is None:
        raise _refuse(session, ctx, action, doc.patient_id, doc.id)
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
    patients.get(session, patient_id)
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

import uuid

from fastapi import APIRouter, status
from sqlalchemy import select

from sisra.platform.deps import AppSettings, DbSession, ProContext
from sisra.platform.documents.service import to_out
from sisra.platform.models import Professional
from sisra.platform.patients.schemas import BreakGlassIn, PatientOut
from sisra.platform.record import service
from sisra.platform.record.schemas import BreakGlassOut, PatientRecord, RecordDocument

router = APIRouter(prefix="/api/v1", tags=["record"])


@router.get("/patients/{patient_id}/documents", response_model=PatientRecord)
def patient_record(session: DbSession, ctx: ProContext, patient_id: uuid.UUID) -> PatientRecord:
    """The regional record: only the documents the caller may see."""
    patient, docs, glass = service.list_documents(session, ctx, patient_id)
    authors = {
        p.id: p.display_name
        for p in session.scalars(
            select(Professional).where(Professional.id.in_({d.author_id for d in docs}))
        )
    }
    return PatientRecord(
        patient=PatientOut.model_validate(patient),
        documents=[
            RecordDocument(**to_out(d).model_dump(), author_name=authors[d.author_id]) for d in docs
        ],
        break_glass=glass,
    )


@router.post(
    "/patients/{patient_id}/break-glass",
    response_model=BreakGlassOut,
    status_code=status.HTTP_201_CREATED,
)
def break_glass(
    session: DbSession,
    ctx: ProContext,
    settings: AppSettings,
    patient_id: uuid.UUID,
    body: BreakGlassIn,
) -> BreakGlassOut:
    """Emergency access to the whole record for a few hours, with a written reason."""
    grant = service.break_glass(session, settings, ctx, patient_id, body.reason)
    return BreakGlassOut(id=grant.id, patient_id=grant.patient_id, expires_at=grant.expires_at)

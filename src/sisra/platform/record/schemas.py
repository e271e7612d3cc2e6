import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from sisra.platform.documents.schemas import DocumentOut
from sisra.platform.patients.schemas import PatientOut


class RecordDocument(DocumentOut):
    author_name: str


class PatientRecord(BaseModel):
    patient: PatientOut
    documents: list[RecordDocument]
    break_glass: bool
    # False: the caller is not in the care team and sees only what they authored or received.
    care_team: bool = True


class BreakGlassOut(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    expires_at: datetime


class CareTeamDeclareIn(BaseModel):
    """« Je déclare prendre en charge ce patient »."""

    attestation: bool = Field(
        description="True: « J'atteste prendre en charge ce patient dans le cadre de … »"
    )
    context: str = Field(
        max_length=400, description="Le cadre de la prise en charge (suivi, consultation…)"
    )
    # Only the caller themself; present so that a client asking for someone else is refused
    # clearly instead of silently declaring the caller.
    professional_id: uuid.UUID | None = None


class CareTeamAddIn(BaseModel):
    professional_id: uuid.UUID
    reason: str = Field(max_length=400)


class CareTeamMemberOut(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    professional_id: uuid.UUID
    professional_name: str
    how: str
    how_label: str
    since: datetime
    attestation: str | None
    added_by_name: str | None
    ended_at: datetime | None = None
    end_reason: str | None = None


class CareTeamOut(BaseModel):
    patient_id: uuid.UUID
    members: list[CareTeamMemberOut]

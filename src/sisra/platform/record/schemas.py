import uuid
from datetime import date, datetime

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
    """« Je déclare prendre en charge ce patient » (decision 117)."""

    attestation: bool = Field(description="True: « J'atteste prendre en charge ce patient »")
    reason: str | None = Field(
        default=None,
        max_length=40,
        description="The reason, from the closed list: consultation (consultation ou visite), "
        "hospitalisation (hospitalisation ou admission), demande_medecin_traitant (demande du "
        "médecin traitant du patient), remplacement (remplacement d'un confrère), autre "
        "(then ``context`` is required: at least 15 characters of readable text).",
        examples=["consultation"],
    )
    consent: bool = Field(
        default=False,
        description="True: « Le patient, informé, consent à ce que je consulte son dossier ». "
        "Required.",
    )
    context: str = Field(
        default="",
        max_length=400,
        description="Free text: required for the reason « autre » (at least 15 characters), "
        "optional otherwise.",
    )
    # Only the caller themself; present so that a client asking for someone else is refused
    # clearly instead of silently declaring the caller.
    professional_id: uuid.UUID | None = None


class CareTeamAddIn(BaseModel):
    professional_id: uuid.UUID
    reason: str = Field(max_length=400)
    until: date | None = Field(
        default=None,
        description="Last day of the membership (Paris time); none: no end.",
    )


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
    reason: str | None = Field(default=None, description="The declared reason's code")
    reason_label: str | None = None
    consent: bool | None = None
    expires_at: datetime | None = Field(default=None, description="None: no end")
    declared_at: datetime | None = Field(default=None, description="Last declaration or renewal")
    status: str = Field(
        default="active",
        description="active; expired (past its end, never renewed: no access); ended (left "
        "or removed). Past members stay listed.",
    )
    status_label: str = ""


class CareTeamOut(BaseModel):
    patient_id: uuid.UUID
    members: list[CareTeamMemberOut]

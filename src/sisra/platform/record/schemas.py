import uuid
from datetime import datetime

from pydantic import BaseModel

from sisra.platform.documents.schemas import DocumentOut
from sisra.platform.patients.schemas import PatientOut


class RecordDocument(DocumentOut):
    author_name: str


class PatientRecord(BaseModel):
    patient: PatientOut
    documents: list[RecordDocument]
    break_glass: bool


class BreakGlassOut(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    expires_at: datetime

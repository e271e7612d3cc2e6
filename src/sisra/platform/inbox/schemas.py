import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel


class PatientSummary(BaseModel):
    id: uuid.UUID
    birth_name: str
    used_name: str | None
    first_given_name: str
    birth_date: date
    sex: str
    ins: str | None


class SenderSummary(BaseModel):
    id: uuid.UUID
    name: str
    profession: str
    specialty: str | None
    structure: str | None


class DocumentSummary(BaseModel):
    id: uuid.UUID
    title: str
    type_code: str
    type_label: str
    loinc: str
    clinical_date: date
    size: int
    sha256: str
    page_count: int
    in_reply_to: uuid.UUID | None


class InboxItem(BaseModel):
    id: uuid.UUID
    cursor: int
    created_at: datetime
    document: DocumentSummary
    patient: PatientSummary
    sender: SenderSummary
    delivered_at: datetime | None
    read_at: datetime | None


class InboxPage(BaseModel):
    items: list[InboxItem]
    next_cursor: int
    has_more: bool


class ReceiptIn(BaseModel):
    kind: Literal["downloaded", "read"]

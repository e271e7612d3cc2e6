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
    # the INS's assigning authority: NIR, NIA, or their test ranges (1.2.250.1.213.1.4.8-11)
    ins_oid: str | None = None


class SenderSummary(BaseModel):
    """A professional of the directory as exports name them (XDS author, HPRIM sender)."""

    id: uuid.UUID
    name: str
    first_name: str = ""
    last_name: str = ""
    profession: str
    specialty: str | None
    structure: str | None
    rpps: str | None = None
    adeli: str | None = None
    finess: str | None = None
    siret: str | None = None
    city: str | None = None


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
    restricted: bool = False


class PlatformSummary(BaseModel):
    """The platform that carried the document: exports name it with its contact details."""

    name: str
    url: str
    contact_email: str


class InboxItem(BaseModel):
    id: uuid.UUID
    cursor: int
    created_at: datetime
    document: DocumentSummary
    patient: PatientSummary
    sender: SenderSummary
    # the professional the document was sent to (the inbox's owner): HPRIM line 12, XDS
    # intendedRecipient
    recipient: SenderSummary | None = None
    platform: PlatformSummary | None = None
    delivered_at: datetime | None
    read_at: datetime | None


class InboxPage(BaseModel):
    items: list[InboxItem]
    next_cursor: int
    has_more: bool


class ReceiptIn(BaseModel):
    kind: Literal["downloaded", "read"]

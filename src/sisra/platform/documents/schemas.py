import uuid
from datetime import date, datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ShareMetadata(BaseModel):
    """The ``metadata`` part of a document upload (JSON)."""

    patient_id: uuid.UUID
    title: str = Field(min_length=1, max_length=200)
    type_code: str
    clinical_date: date
    recipients: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    # MSSanté addresses of correspondents of other operators, typed by the sender (those
    # already in the directory may be named in ``recipients`` instead)
    external_recipients: list[Annotated[str, Field(max_length=254)]] = Field(
        default_factory=list, max_length=50
    )
    in_reply_to: uuid.UUID | None = None
    restricted: bool = False

    @model_validator(mode="after")
    def _someone(self) -> Self:
        if not self.recipients and not self.external_recipients:
            raise ValueError("ajoutez au moins un destinataire")
        if len(self.recipients) + len(self.external_recipients) > 50:
            raise ValueError("au plus 50 destinataires par envoi")
        return self


class DocumentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    author_id: uuid.UUID
    title: str
    type_code: str
    type_label: str
    loinc: str
    clinical_date: date
    sha256: str
    size: int
    page_count: int
    in_reply_to_id: uuid.UUID | None
    restricted: bool
    created_at: datetime


class ShareReceipt(BaseModel):
    """What the sender sees of each recipient's copy."""

    notification_id: uuid.UUID
    recipient_id: uuid.UUID
    recipient_name: str
    delivered_at: datetime | None
    read_at: datetime | None
    deleted: bool
    # a correspondent of another MSSanté operator: the mail's address, state and last error
    mssante_address: str | None = None
    mssante_status: str | None = None
    mssante_error: str | None = None


class DocumentDetail(DocumentOut):
    shares: list[ShareReceipt] = []


class ShareResult(BaseModel):
    document: DocumentOut
    notifications: list[uuid.UUID]

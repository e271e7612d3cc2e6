import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sisra.platform.errors import Invalid


class ShareMetadata(BaseModel):
    """The ``metadata`` part of a document upload (JSON)."""

    patient_id: uuid.UUID
    title: str = Field(min_length=1, max_length=200)
    type_code: str
    clinical_date: date
    recipients: list[uuid.UUID] = Field(min_length=1, max_length=50)
    in_reply_to: uuid.UUID | None = None
    restricted: bool = False


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


class DocumentDetail(DocumentOut):
    shares: list[ShareReceipt] = []


class ShareResult(BaseModel):
    document: DocumentOut
    notifications: list[uuid.UUID]


def invalid_metadata(exc: ValidationError) -> Invalid:
    """The share's metadata failed its schema: the French refusal, with each field's error."""
    return Invalid(
        "Les informations du document sont incomplètes ou invalides.",
        code="invalid_metadata",
        extra={
            "errors": [
                {"field": ".".join(map(str, e["loc"])), "error": e["msg"]} for e in exc.errors()
            ]
        },
    )

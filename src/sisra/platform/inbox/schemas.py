import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from sisra.common.ins import DEFAULT_PATIENT_ID_OID


class PatientSummary(BaseModel):
    id: uuid.UUID
    birth_name: str
    used_name: str | None
    first_given_name: str
    # all the birth first names (INS traits), None from platforms that did not send them
    birth_given_names: list[str] | None = None
    birth_date: date
    sex: str
    # INSEE code (COG) of the birth place, when known
    birth_place_code: str | None = None
    # the INS and its assigning authority (NIR, NIA, or their test ranges 1.2.250.1.213.1.4.8
    # to 11), given only for a « qualifiée » identity (INS référentiel); None otherwise
    ins: str | None
    ins_oid: str | None = None
    # provisoire, récupérée, validée or qualifiée; None from platforms that did not send it
    identity_status: str | None = None


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
    # the MSSanté address (XDS intendedRecipient's XTN)
    mssante: str | None = None
    # TRE_R02-SecteurActivite of the structure when known (an archive from another operator
    # said it); exports use it as healthcareFacilityTypeCode instead of guessing from the name
    sector_code: str | None = None
    sector_label: str | None = None


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
    # the OID of the platform's own patient ids (the XDM patientId of an unqualified identity)
    patient_id_oid: str = DEFAULT_PATIENT_ID_OID


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


# receipts of one kind for several items in one request (decision 207)
MAX_RECEIPTS = 100


class ReceiptsIn(BaseModel):
    kind: Literal["downloaded", "read"]
    ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_RECEIPTS)

    @field_validator("ids")
    @classmethod
    def _once_each(cls, ids: list[uuid.UUID]) -> list[uuid.UUID]:
        if len(set(ids)) != len(ids):
            raise ValueError("chaque document une seule fois")
        return ids


class ReceiptsOut(BaseModel):
    kind: Literal["downloaded", "read"]
    ids: list[uuid.UUID]

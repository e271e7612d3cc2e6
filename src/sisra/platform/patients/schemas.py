import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class PatientIn(BaseModel):
    birth_name: str = Field(min_length=1, max_length=100)
    used_name: str | None = Field(None, max_length=100)
    birth_given_names: list[str] = Field(min_length=1, max_length=10)
    first_given_name: str | None = Field(None, max_length=100)
    birth_date: date
    sex: str = Field(pattern="^[MFImfi]$")
    birth_place_code: str | None = Field(None, max_length=5)
    ins: str | None = Field(None, max_length=25)
    ins_oid: str | None = None
    identity_status: str = "provisoire"


class PatientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    ins: str | None
    ins_oid: str | None
    birth_name: str
    used_name: str | None
    birth_given_names: list[str]
    first_given_name: str
    birth_date: date
    sex: str
    birth_place_code: str | None
    identity_status: str


class PatientSearchIn(BaseModel):
    """Patient traits travel in a request body, never in a URL (nor in an access log).

    Enough traits to point at one person: ``ins``; or ``q`` (2 letters) and ``birth_date``;
    or ``q`` and ``given`` (3 letters each). Anything less is refused (400
    ``search_too_broad``)."""

    q: str | None = Field(None, max_length=100, description="Start of the birth or used name")
    given: str | None = Field(
        None, max_length=100, description="Start of the first given name (prénom)"
    )
    birth_date: date | None = None
    ins: str | None = Field(None, max_length=25)


class BreakGlassIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)

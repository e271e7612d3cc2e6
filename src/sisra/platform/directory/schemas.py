import uuid

from pydantic import BaseModel, ConfigDict


class ProfessionalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    first_name: str
    last_name: str
    display_name: str
    profession: str
    specialty: str | None
    structure: str | None
    finess: str | None
    siret: str | None
    city: str | None
    rpps: str | None
    adeli: str | None
    mssante: str | None
    # a correspondent of another MSSanté operator (added from an address or a received mail,
    # never checked): shown as « correspondant externe » with its address
    external: bool = False


class Me(ProfessionalOut):
    login: str
    email: str
    role: str

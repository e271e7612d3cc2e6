import enum

from sqlalchemy import Boolean, Enum, Index, String, false, text
from sqlalchemy.orm import Mapped, mapped_column

from sisra.common.text import named_by_address
from sisra.platform.models.base import Base, Timestamped, UUIDPk


class Role(enum.StrEnum):
    professional = "professional"
    administrator = "administrator"


class Professional(UUIDPk, Timestamped, Base):
    """A health professional of the regional directory (or an administrator)."""

    __tablename__ = "professionals"
    # MSSanté addresses are matched whatever their case (mail in, recipients typed by hand)
    __table_args__ = (Index("ix_professionals_mssante_lower", text("lower(mssante)")),)

    rpps: Mapped[str | None] = mapped_column(String(11), unique=True)
    adeli: Mapped[str | None] = mapped_column(String(9), unique=True)
    national_id: Mapped[str | None] = mapped_column(String(12), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    profession: Mapped[str] = mapped_column(String(100))
    specialty: Mapped[str | None] = mapped_column(String(150))
    structure: Mapped[str | None] = mapped_column(String(200))
    # the structure's identifiers, for the authorInstitution of exported documents (XDS)
    finess: Mapped[str | None] = mapped_column(String(9))
    siret: Mapped[str | None] = mapped_column(String(14))
    # the structure's sector of activity (TRE_R02-SecteurActivite, e.g. SA01 « Etablissement
    # public de santé »), as another operator's archive coded it (healthcareFacilityTypeCode);
    # None: derived from the structure's name when a document is exported
    sector_code: Mapped[str | None] = mapped_column(String(10))
    sector_label: Mapped[str | None] = mapped_column(String(150))
    city: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    mssante: Mapped[str | None] = mapped_column(String(254))
    login: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=20, validate_strings=True),
        default=Role.professional,
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # An MSSanté correspondent on another operator (a hospital, a colleague elsewhere): listed
    # so documents can be sent to their ``mssante`` address and mail from them attributed;
    # never logs in here and has no inbox of its own (docs/interop.md).
    external: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Folded "last first city specialty profession" for accent- and case-insensitive search.
    search_text: Mapped[str] = mapped_column(String(600), index=True)

    @property
    def display_name(self) -> str:
        if self.external and named_by_address(self.first_name, self.last_name, self.mssante):
            return (self.mssante or "").lower()  # a typed address: shown as typed
        return f"{self.first_name} {self.last_name.upper()}"

import enum
import uuid
from datetime import date

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from sisra.platform.models.base import Base, Timestamped, UUIDPk


class IdentityStatus(enum.StrEnum):
    provisoire = "provisoire"
    recuperee = "récupérée"
    validee = "validée"
    qualifiee = "qualifiée"


class Sex(enum.StrEnum):
    M = "M"
    F = "F"
    I = "I"  # noqa: E741  (indéterminé, as in the INS referential)


class Patient(UUIDPk, Timestamped, Base):
    """A patient identity with its strict traits and, when known, its INS."""

    __tablename__ = "patients"
    __table_args__ = (
        Index("ix_patients_birth_name_fold_birth_date", "birth_name_fold", "birth_date"),
    )

    ins: Mapped[str | None] = mapped_column(String(15), unique=True)
    ins_oid: Mapped[str | None] = mapped_column(String(40))
    birth_name: Mapped[str] = mapped_column(String(100))
    used_name: Mapped[str | None] = mapped_column(String(100))
    birth_given_names: Mapped[list[str]] = mapped_column(JSON)
    first_given_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[Sex] = mapped_column(Enum(Sex, native_enum=False, length=1, validate_strings=True))
    birth_place_code: Mapped[str | None] = mapped_column(String(5))
    identity_status: Mapped[IdentityStatus] = mapped_column(
        Enum(
            IdentityStatus,
            native_enum=False,
            length=20,
            validate_strings=True,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=IdentityStatus.provisoire,
    )
    birth_name_fold: Mapped[str] = mapped_column(String(100))
    used_name_fold: Mapped[str | None] = mapped_column(String(100), index=True)
    first_given_name_fold: Mapped[str] = mapped_column(String(100))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("professionals.id"))

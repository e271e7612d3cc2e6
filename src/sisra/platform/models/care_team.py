import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from sisra.platform.models.base import Base, Timestamped, UTCDateTime, UUIDPk


class CareTeamHow(enum.StrEnum):
    """How a professional joined a patient's care team."""

    declared = "declared"  # the professional attested a care relationship
    admin = "admin"  # an administrator added them
    history = "history"  # kept from the old implicit rule when migration 0003 ran


class CareTeamMember(UUIDPk, Timestamped, Base):
    """One professional's membership of one patient's care team.

    Members read the patient's unrestricted documents. A membership is never deleted: it is
    ended (``ended_at``) by its member leaving or by an administrator, so the history of who
    could read the record stays. At most one open membership per (patient, professional),
    enforced by a partial unique index so two simultaneous declarations make one row.
    """

    __tablename__ = "care_team_members"
    __table_args__ = (
        Index(
            "uq_care_team_members_open",
            "patient_id",
            "professional_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"), index=True)
    professional_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("professionals.id"), index=True)
    how: Mapped[CareTeamHow] = mapped_column(
        Enum(CareTeamHow, native_enum=False, length=10, validate_strings=True)
    )
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    # The declaration's words (« J'atteste prendre en charge ce patient dans le cadre de … »)
    # or the administrator's reason.
    attestation: Mapped[str | None] = mapped_column(String(500))
    added_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("professionals.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("professionals.id"))
    end_reason: Mapped[str | None] = mapped_column(String(500))
    # Declarations (decision 117): the reason from the closed list, the attested consent, the
    # end of the membership (None: no end, for administrators' additions that state none and
    # for the memberships carried over by migration 0003) and the last declaration or renewal.
    reason: Mapped[str | None] = mapped_column(String(30))
    consent: Mapped[bool | None] = mapped_column(Boolean)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class CareTeamDeclaration(UUIDPk, Base):
    """One declaration attempt, counted against the professional's limits (decision 118).

    Counted and written under a per-professional lock held until the request commits:
    parallel requests are counted one after the other. ``refused``: the attempt was over a
    limit (written although the request fails; the administrators' « Équipes de soins » page
    shows it).
    """

    __tablename__ = "care_team_declarations"
    __table_args__ = (Index("ix_care_team_declarations_pro_at", "professional_id", "at"),)

    professional_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("professionals.id"))
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    refused: Mapped[bool] = mapped_column(Boolean, default=False)


class CareTeamDigest(UUIDPk, Base):
    """One recipient's daily digest of new declarations, claimed before it is sent.

    The unique (day, recipient) pair is the claim: of several workers or nodes running the
    digest, one inserts the row and sends; the others find it taken (decision 119).
    """

    __tablename__ = "care_team_digests"
    __table_args__ = (UniqueConstraint("day", "professional_id"),)

    day: Mapped[date] = mapped_column(Date)
    professional_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("professionals.id"))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    declarations: Mapped[int] = mapped_column(Integer, default=0)

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, validates

from sisra.common.text import fold
from sisra.platform.models.base import Base, Timestamped, UTCDateTime, UUIDPk


class StoredPdf:
    """A PDF as stored: its type, date, digest, size and encrypted blob (a document, or a
    document received by MSSanté that still waits for its patient)."""

    type_code: Mapped[str] = mapped_column(String(40))
    loinc: Mapped[str] = mapped_column(String(20))
    clinical_date: Mapped[date] = mapped_column(Date)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    page_count: Mapped[int] = mapped_column(Integer)
    blob_key: Mapped[str] = mapped_column(String(100), unique=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary(200))


class Document(StoredPdf, UUIDPk, Timestamped, Base):
    """A PDF about a patient. Its bytes live encrypted in the blob store."""

    __tablename__ = "documents"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"), index=True)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("professionals.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    # accent- and case-free title for searching (« echographie » finds « Échographie »); kept in
    # step with ``title`` by :meth:`_fold_title`, whoever creates the row
    title_fold: Mapped[str] = mapped_column(String(250), default="")
    in_reply_to_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("documents.id"))
    # When set, only the author and the recipients may see it, not the rest of the care team.
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    # The sender's own identifier of the document (FHIR ``masterIdentifier``: its system and
    # value), kept so that a conditional create (``If-None-Exist``) finds it again
    master_system: Mapped[str | None] = mapped_column(String(255))
    master_value: Mapped[str | None] = mapped_column(String(255), index=True)

    @validates("title")
    def _fold_title(self, _key: str, value: str) -> str:
        self.title_fold = fold(value)[:250]
        return value


class Notification(UUIDPk, Timestamped, Base):
    """One recipient's copy of a share: an item of their inbox."""

    __tablename__ = "notifications"
    # « Documents reçus » and the API listing: one recipient's items in cursor order.
    __table_args__ = (Index("ix_notifications_recipient_seq", "recipient_id", "seq"),)

    # The inbox cursor: empty when the share inserts the row, given by the inbox sequencer
    # (:mod:`sisra.platform.inbox.sequencer`) just before the share commits, under a lock
    # held through that commit, so cursors become visible in order and a client listing
    # ``after=cursor`` never skips an item committed late.
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"), index=True)
    recipient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("professionals.id"))
    sender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("professionals.id"))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BreakGlass(UUIDPk, Timestamped, Base):
    """Emergency access to a patient's whole record, with the written reason."""

    __tablename__ = "break_glass"

    professional_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("professionals.id"))
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    reason: Mapped[str] = mapped_column(String(1000))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

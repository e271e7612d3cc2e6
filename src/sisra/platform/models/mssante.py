import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sisra.platform.models.base import Base, Timestamped, UTCDateTime, UUIDPk, utcnow


class OutboxStatus(enum.StrEnum):
    queued = "queued"  # waiting for the sender (first attempt or a retry)
    sent = "sent"  # handed to the operator's relay
    delivered = "delivered"  # a delivery status notification said so
    read = "read"  # a disposition notification (« displayed ») came back
    failed = "failed"  # refused, bounced, or the relay stayed unreachable


class MssanteOutbox(UUIDPk, Timestamped, Base):
    """One mail to a correspondent of another MSSanté operator: the copy of a share that
    leaves by mail. Written in the share's transaction; the sender sends it after the commit
    and retries it; the reports that come back (DSN, MDN) move it on. The id is the envelope
    id (``ENVID``) the DSNs quote; ``message_id`` (another random value: the recipient sees
    it) is the ``Message-ID`` MDNs quote."""

    __tablename__ = "mssante_outbox"
    # the sender's scan: due rows in order
    __table_args__ = (Index("ix_mssante_outbox_due", "status", "next_attempt_at"),)

    notification_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notifications.id"), unique=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"), index=True)
    sender_address: Mapped[str] = mapped_column(String(254))
    recipient_address: Mapped[str] = mapped_column(String(254))
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(
        Enum(OutboxStatus, native_enum=False, length=20, validate_strings=True),
        default=OutboxStatus.queued,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # a sender working on the row holds it until then (several nodes run senders)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

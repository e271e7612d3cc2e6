import enum
import uuid
from datetime import date, datetime

from sqlalchemy import Date, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sisra.platform.models.base import Base, Timestamped, UTCDateTime, UUIDPk, utcnow
from sisra.platform.models.documents import StoredPdf


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


# --- MSSanté reception (the incoming gateway) ------------------------------------------


class PendingReason(enum.StrEnum):
    no_match = "no_match"  # the identity received matches no patient of the platform
    several = "several"  # it matches more than one: never a guess
    unstructured = "unstructured"  # a plain mail with a PDF: no identity was sent at all


class MailPending(StoredPdf, UUIDPk, Timestamped, Base):
    """A document received by MSSanté whose patient is still to be found: « identité à
    rapprocher ».

    The PDF is already stored (encrypted, bound to ``document_id``, the id the document
    will have); the identity as received waits here until one of the recipients picks the
    patient or creates the identity from these traits. Then the document is created with
    that id, the row is marked resolved, and the recipients get their notification.
    """

    __tablename__ = "mssante_pending"

    document_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    reason: Mapped[PendingReason] = mapped_column(
        Enum(PendingReason, native_enum=False, length=20, validate_strings=True)
    )
    message_id: Mapped[str] = mapped_column(String(300))
    sender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("professionals.id"))
    subject: Mapped[str] = mapped_column(String(300))
    # the identity as received (XDM sourcePatientInfo / patientId); empty for a plain mail
    ins: Mapped[str | None] = mapped_column(String(15))
    ins_oid: Mapped[str | None] = mapped_column(String(40))
    birth_name: Mapped[str | None] = mapped_column(String(100))
    used_name: Mapped[str | None] = mapped_column(String(100))
    first_given_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))
    birth_place_code: Mapped[str | None] = mapped_column(String(5))
    # the document to create
    title: Mapped[str] = mapped_column(String(200))
    # set once resolved (the document then exists with id ``document_id``)
    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patients.id"))
    resolved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("professionals.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class MailPendingRecipient(Base):
    """A local professional the pending mail was addressed to: it is in their list."""

    __tablename__ = "mssante_pending_recipients"

    pending_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mssante_pending.id"), primary_key=True
    )
    professional_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("professionals.id"), primary_key=True, index=True
    )


class MailDelivery(Base):
    """One received message delivered to one recipient, so that a message the relay hands
    over again (it did not get the reply to an earlier delivery) is not filed twice.

    ``key`` is the SHA-256 of the sender, the ``Message-ID`` and the recipient; messages
    without a ``Message-ID`` are not remembered (nothing tells a repeat from a new message).
    """

    __tablename__ = "mssante_deliveries"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    document_id: Mapped[uuid.UUID] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

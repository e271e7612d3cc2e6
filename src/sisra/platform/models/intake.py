import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sisra.platform.models.base import Base, UTCDateTime, utcnow


class ShareIdempotencyKey(Base):
    """The first answer to a share sent with an ``Idempotency-Key``, replayed to its retries.

    Keyed by the professional and their key; ``fingerprint`` (metadata + PDF digest) tells a
    retry from a different request reusing the key. Only successful shares are kept (a failed
    one created nothing and is simply run again); rows older than the retention are swept.
    """

    __tablename__ = "share_idempotency_keys"

    professional_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("professionals.id"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    # Empty only inside the claiming transaction (the row is claimed before the document
    # exists, so that a concurrent retry waits on it instead of sharing a second time).
    status: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict[str, object] | None] = mapped_column(JSON)
    document_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("documents.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

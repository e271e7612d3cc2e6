import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from sisra.platform.models.base import Base, Timestamped, UTCDateTime, UUIDPk


class PasswordLink(UUIDPk, Timestamped, Base):
    """A one-time link, sent by an administrator, to choose one's portal password.

    For professionals without a card (imported or created by an administrator): the link goes
    to the directory's e-mail address, works once, for ``password_link_ttl_hours``. Only its
    hash is stored.
    """

    __tablename__ = "password_links"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    professional_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("professionals.id"), index=True)
    issued_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("professionals.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

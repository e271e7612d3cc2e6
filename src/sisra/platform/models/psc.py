"""Pro Santé Connect logins in progress (OpenID Connect authorization code flow)."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from sisra.platform.models.base import Base, Timestamped, UTCDateTime, UUIDPk


class PscFlow(UUIDPk, Timestamped, Base):
    """One trip to Pro Santé Connect and back, for a browser (``web``) or MonSisra (``app``).

    The ``state`` sent to the provider is kept only hashed and spent by the callback. A web
    flow is bound to the browser that started it (a cookie, hashed here). An app flow ends with
    a one-time code handed to MonSisra's loopback address, redeemed once with MonSisra's own
    PKCE verifier (its S256 challenge is kept here)."""

    __tablename__ = "psc_flows"

    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(10))
    nonce: Mapped[str] = mapped_column(String(100))
    # PKCE verifier towards the provider: needed once, at the code exchange
    code_verifier: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # web: the page to open afterwards, and the browser binding
    next_target: Mapped[str | None] = mapped_column(String(500))
    browser_hash: Mapped[str | None] = mapped_column(String(64))
    # app: MonSisra's loopback redirect, its state, its PKCE challenge, and the code it redeems
    app_redirect_uri: Mapped[str | None] = mapped_column(String(200))
    app_state: Mapped[str | None] = mapped_column(String(200))
    app_challenge: Mapped[str | None] = mapped_column(String(100))
    app_code_hash: Mapped[str | None] = mapped_column(String(64))
    app_code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    app_code_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    professional_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("professionals.id"))

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sisra.platform.models.base import Base, Timestamped, UTCDateTime, UUIDPk


class Device(UUIDPk, Timestamped, Base):
    """A computer (MonSisra) or browser a professional logged in from.

    ``strong_auth_at`` is the time of the last CPS or e-mail-code authentication; refresh is
    refused once it is older than the policy. A password-only login leaves it empty.
    """

    __tablename__ = "devices"

    professional_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("professionals.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default="api")
    auth_method: Mapped[str] = mapped_column(String(20))
    strong_auth_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(100))


class AccessToken(Timestamped, Base):
    __tablename__ = "access_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("devices.id"), index=True)
    professional_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("professionals.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RefreshToken(Timestamped, Base):
    """Rotating refresh token; ``used_at`` set on rotation, so a replay is detectable."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("devices.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginThrottle(Base):
    """Failed-login counter per key (see :mod:`sisra.platform.auth.throttle`).

    ``failures`` counts failed attempts *and attempts being evaluated*: an attempt is counted
    before its password or code is checked, and given back if it succeeds. ``not_before``
    spaces out attempts on an account under attack (progressive delay, never a hard lock).
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginFlow(UUIDPk, Timestamped, Base):
    """Two-step login: the password was right, a one-time code was e-mailed.

    Only the code's hash is kept. Single use, ``expires_at`` (10 min), at most N tries.
    """

    __tablename__ = "login_flows"

    professional_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("professionals.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20), default="device")
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sends: Mapped[int] = mapped_column(Integer, default=1)
    last_sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the login throttle counter of the known device that started the flow (none: an unknown
    # device); its code tries count there too (docs/security.md « Login throttling »)
    known_device: Mapped[str | None] = mapped_column(String(80))


class KnownDevice(UUIDPk, Timestamped, Base):
    """A browser that completed a two-step login: its long-lived cookie, stored hashed.

    Presented again at the next login of the same professional, it puts the password and code
    attempts in the browser's own throttle counter, out of reach of strangers' failures. It
    never logs anyone in by itself. Ended when revoked or expired.
    """

    __tablename__ = "known_devices"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    professional_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("professionals.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CpsChallenge(UUIDPk, Timestamped, Base):
    """A random challenge for the CPS card to sign; single use, short-lived."""

    __tablename__ = "cps_challenges"

    nonce: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebTicket(Timestamped, Base):
    """One-time link that opens a web page already logged in (from MonSisra)."""

    __tablename__ = "web_tickets"

    ticket_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    professional_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("professionals.id"))
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("devices.id"))
    target: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSession(Timestamped, Base):
    """A browser session (HttpOnly cookie); the cookie value is stored hashed.

    ``device_id`` is the MonSisra device whose one-time link opened it (none for a web login):
    revoking or logging out that device closes the session.
    """

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    professional_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("professionals.id"), index=True)
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("devices.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)

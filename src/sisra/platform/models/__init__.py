"""SQLAlchemy models of the platform, imported here so Alembic sees the whole metadata."""

from sisra.platform.models.audit import AuditEvent
from sisra.platform.models.auth import AccessToken, Device, LoginThrottle, RefreshToken
from sisra.platform.models.base import Base, utcnow
from sisra.platform.models.counters import Counter
from sisra.platform.models.directory import Professional, Role
from sisra.platform.models.documents import BreakGlass, Document, Notification
from sisra.platform.models.patients import IdentityStatus, Patient, Sex

__all__ = [
    "AccessToken",
    "AuditEvent",
    "Base",
    "BreakGlass",
    "Counter",
    "Device",
    "Document",
    "IdentityStatus",
    "LoginThrottle",
    "Notification",
    "Patient",
    "Professional",
    "RefreshToken",
    "Role",
    "Sex",
    "utcnow",
]

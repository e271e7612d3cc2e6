"""SQLAlchemy models of the platform, imported here so Alembic sees the whole metadata."""

from sisra.platform.models.audit import AuditEvent
from sisra.platform.models.auth import (
    AccessToken,
    CpsChallenge,
    Device,
    KnownDevice,
    LoginFlow,
    LoginThrottle,
    RefreshToken,
    WebSession,
    WebTicket,
)
from sisra.platform.models.base import Base, utcnow
from sisra.platform.models.care_team import (
    CareTeamDeclaration,
    CareTeamDigest,
    CareTeamHow,
    CareTeamMember,
)
from sisra.platform.models.counters import Counter, RateLimit
from sisra.platform.models.directory import Professional, Role
from sisra.platform.models.documents import BreakGlass, Document, Notification
from sisra.platform.models.first_login import PasswordLink
from sisra.platform.models.intake import ShareIdempotencyKey

# MSSanté gateway: outgoing mail (outbox), reception (documents whose patient is still to be
# found, deliveries remembered)
from sisra.platform.models.mssante import (
    MailDelivery,
    MailPending,
    MailPendingRecipient,
    MssanteOutbox,
    OutboxStatus,
    PendingReason,
)
from sisra.platform.models.patients import IdentityStatus, Patient, Sex

# Pro Santé Connect (e-CPS) logins
from sisra.platform.models.psc import PscFlow

__all__ = [
    "AccessToken",
    "AuditEvent",
    "Base",
    "BreakGlass",
    "CareTeamDeclaration",
    "CareTeamDigest",
    "CareTeamHow",
    "CareTeamMember",
    "Counter",
    "CpsChallenge",
    "Device",
    "Document",
    "IdentityStatus",
    "KnownDevice",
    "LoginFlow",
    "LoginThrottle",
    "MailDelivery",
    "MailPending",
    "MailPendingRecipient",
    "MssanteOutbox",
    "Notification",
    "OutboxStatus",
    "PasswordLink",
    "Patient",
    "PendingReason",
    "Professional",
    "PscFlow",
    "RateLimit",
    "RefreshToken",
    "Role",
    "Sex",
    "ShareIdempotencyKey",
    "WebSession",
    "WebTicket",
    "utcnow",
]

"""Login, token issuance and rotation, and bearer-token authentication.

Tokens hang off a :class:`Device`, enrolled by a strong authentication (CPS card or e-mail
code: :mod:`cps`, :mod:`otp`; or Pro Santé Connect: :mod:`psc`). A portal password alone
never yields tokens. Refresh is refused with ``strong_auth_required`` once the device's last
strong authentication is older than ``strong_auth_max_age_days``; strong authentication again
renews the same device.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from sisra.platform.audit import service as audit
from sisra.platform.auth import revocation
from sisra.platform.auth.tokens import hash_token, new_token
from sisra.platform.context import Actor, RequestContext
from sisra.platform.db import on_failure
from sisra.platform.errors import NotAuthenticated, NotFound
from sisra.platform.models import AccessToken, Device, Professional, RefreshToken, utcnow
from sisra.platform.settings import Settings

STRONG_METHODS = frozenset({"cps", "otp", "psc"})


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: datetime
    device_id: uuid.UUID
    professional_id: uuid.UUID


def enrol(
    session: Session,
    settings: Settings,
    ctx: RequestContext,
    pro: Professional,
    method: str,
    device_name: str,
    device_id: uuid.UUID | None = None,
) -> TokenPair:
    """After a strong authentication: enrol a new device, or renew the same one.

    Giving ``device_id`` (the device the client already has) after ``strong_auth_required``
    restores that device: same id, fresh tokens, old refresh tokens dropped.
    """
    assert method in STRONG_METHODS
    now = utcnow()
    device = session.get(Device, device_id) if device_id else None
    if device is not None and (device.professional_id != pro.id or device.revoked_at is not None):
        device = None  # not theirs or revoked: a new device, never a resurrection
    renewed = device is not None
    if device is None:
        device = Device(
            professional_id=pro.id,
            name=(device_name or "Appareil")[:100],
            kind="api",
            auth_method=method,
        )
        session.add(device)
    device.auth_method = method
    device.strong_auth_at = now
    device.last_seen_at = now
    session.flush()
    session.execute(delete(RefreshToken).where(RefreshToken.device_id == device.id))
    audit.record(
        session,
        ctx.with_actor(Actor.of(pro, device.id)),
        "auth.device_renewed" if renewed else "auth.device_enrolled",
        details={"method": method, "device": device.name},
    )
    return issue_tokens(session, settings, device)


def issue_tokens(session: Session, settings: Settings, device: Device) -> TokenPair:
    now = utcnow()
    access, refresh = new_token("sat"), new_token("srt")
    expires = now + timedelta(minutes=settings.access_token_minutes)
    session.add(
        AccessToken(
            token_hash=hash_token(access),
            device_id=device.id,
            professional_id=device.professional_id,
            expires_at=expires,
        )
    )
    session.add(
        RefreshToken(
            token_hash=hash_token(refresh),
            device_id=device.id,
            expires_at=now + timedelta(days=settings.refresh_token_days),
        )
    )
    session.flush()
    return TokenPair(access, refresh, expires, device.id, device.professional_id)


def _revoke_device(session: Session, device_id: uuid.UUID, reason: str) -> None:
    revocation.end_device(session, device_id, reason)


def refresh(session: Session, settings: Settings, ctx: RequestContext, token: str) -> TokenPair:
    """Rotate a refresh token. A token used twice means theft: the device is revoked."""
    now = utcnow()
    row = session.get(RefreshToken, hash_token(token))
    invalid = NotAuthenticated(
        "Votre session a expiré. Reconnectez-vous.", code="invalid_refresh_token"
    )
    if row is None:
        audit.record(
            session,
            ctx,
            "auth.refresh",
            outcome="refused",
            details={"reason": "unknown"},
            keep_on_failure=True,
        )
        raise invalid
    device = session.get(Device, row.device_id)
    assert device is not None
    pro = session.get(Professional, device.professional_id)
    assert pro is not None
    actx = ctx.with_actor(Actor.of(pro, device.id))
    # a spent token is a replay, unless the device was ended otherwise (logout, revocation);
    # a device already revoked for a replay answers the same to every parallel latecomer
    if device.revoked_reason == "refresh_token_reused" or (
        row.used_at is not None and device.revoked_at is None
    ):
        raise _reused(session, actx, device.id)
    # the device's current token when the account was disabled (revocation.py spends it at
    # that very instant): proof that its holder is this account's own device, which is told
    # why (a distinct code its client shows) rather than « session expirée »; anyone else (an
    # unknown, earlier or expired token) learns nothing about the account
    current_at_disable = row.used_at is None or (
        device.revoked_reason == "account_disabled" and row.used_at == device.revoked_at
    )
    if not pro.active and current_at_disable and row.expires_at > now:
        audit.record(
            session,
            actx,
            "auth.refresh",
            outcome="refused",
            details={"reason": "account_disabled"},
            keep_on_failure=True,
        )
        raise NotAuthenticated("Ce compte est désactivé.", code="account_disabled")
    if row.expires_at <= now or device.revoked_at is not None:
        audit.record(
            session,
            actx,
            "auth.refresh",
            outcome="refused",
            details={"reason": "expired_or_revoked"},
            keep_on_failure=True,
        )
        raise invalid
    max_age = timedelta(days=settings.strong_auth_max_age_days)
    if device.strong_auth_at is None or now - device.strong_auth_at > max_age:
        audit.record(
            session,
            actx,
            "auth.refresh",
            outcome="refused",
            details={"reason": "strong_auth_required"},
            keep_on_failure=True,
        )
        raise NotAuthenticated(
            "Pour votre sécurité, authentifiez-vous à nouveau avec votre carte CPS, e-CPS "
            "(Pro Santé Connect) ou votre code reçu par e-mail.",
            code="strong_auth_required",
            extra={"device_id": str(device.id)},
        )
    # one conditional UPDATE spends the token: of parallel refreshes exactly one wins; the
    # others wait for its commit, find the token used, and revoke the device as a replay
    won = session.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == row.token_hash, RefreshToken.used_at.is_(None))
        .values(used_at=now)
        .returning(RefreshToken.token_hash)
        .execution_options(synchronize_session=False)
    ).first()
    if won is None:
        raise _reused(session, actx, device.id)
    device.last_seen_at = now
    session.execute(
        delete(AccessToken).where(AccessToken.device_id == device.id, AccessToken.expires_at <= now)
    )
    return issue_tokens(session, settings, device)


def _reused(session: Session, actx: RequestContext, device_id: uuid.UUID) -> NotAuthenticated:
    """A refresh token used twice means theft: revoke the device (after the rollback)."""
    on_failure(session, lambda s: _revoke_device(s, device_id, "refresh_token_reused"))
    audit.record(
        session,
        actx,
        "auth.refresh",
        outcome="refused",
        details={"reason": "reused", "device_revoked": True},
        keep_on_failure=True,
    )
    return NotAuthenticated(
        "Ce jeton a déjà été utilisé : par sécurité, cet appareil a été déconnecté. "
        "Authentifiez-vous à nouveau.",
        code="refresh_token_reused",
    )


def authenticate(session: Session, token: str) -> tuple[Professional, Device]:
    """The professional and device behind a bearer access token."""
    pro, device, _expires_at = authenticate_until(session, token)
    return pro, device


def authenticate_until(session: Session, token: str) -> tuple[Professional, Device, datetime]:
    """:func:`authenticate`, with the token's expiry (for :mod:`auth.cache`)."""
    # one round trip: the token with its device and professional
    found = session.execute(
        select(AccessToken.expires_at, Device, Professional)
        .outerjoin(Device, Device.id == AccessToken.device_id)
        .outerjoin(Professional, Professional.id == AccessToken.professional_id)
        .where(AccessToken.token_hash == hash_token(token))
    ).first()
    if found is None:
        raise NotAuthenticated("Connexion requise.", code="invalid_token")
    expires_at, device, pro = found
    if expires_at <= utcnow():
        raise NotAuthenticated("Votre jeton d'accès a expiré.", code="token_expired")
    if pro is None or not pro.active:
        raise NotAuthenticated("Ce compte est désactivé.", code="account_disabled")
    if device is None or device.revoked_at is not None:
        raise NotAuthenticated("Cet appareil a été déconnecté.", code="device_revoked")
    return pro, device, expires_at


def logout(session: Session, ctx: RequestContext, device_id: uuid.UUID) -> None:
    """The device logs itself out: its tokens, browser sessions, links and streams end."""
    _revoke_device(session, device_id, "logout")
    audit.record(session, ctx, "auth.logout")


def list_devices(session: Session, professional_id: uuid.UUID) -> list[Device]:
    return list(
        session.scalars(
            select(Device)
            .where(Device.professional_id == professional_id)
            .order_by(Device.created_at.desc())
        )
    )


def revoke_device(session: Session, ctx: RequestContext, device_id: uuid.UUID) -> None:
    assert ctx.actor is not None
    device = session.get(Device, device_id)
    if device is None or (device.professional_id != ctx.actor.id and not ctx.actor.is_admin):
        raise NotFound("Appareil introuvable.", code="device_not_found")
    _revoke_device(session, device_id, "revoked_by_user")
    audit.record(session, ctx, "auth.device_revoked", details={"device": str(device_id)})

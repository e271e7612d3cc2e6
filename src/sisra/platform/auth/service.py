"""Login, token issuance and rotation, and bearer-token authentication.

Tokens hang off a :class:`Device`. The next stage (CPS card, e-mail code) enrols devices by
strong authentication and sets ``strong_auth_at``; the refresh rule below already enforces
its maximum age for such devices.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from sisra.platform.audit import service as audit
from sisra.platform.auth import passwords, throttle
from sisra.platform.auth.tokens import hash_token, new_token
from sisra.platform.context import Actor, RequestContext
from sisra.platform.db import on_failure
from sisra.platform.errors import NotAuthenticated, NotFound
from sisra.platform.models import AccessToken, Device, Professional, RefreshToken, utcnow
from sisra.settings import Settings

STRONG_METHODS = frozenset({"cps", "otp"})


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: datetime
    device_id: uuid.UUID
    professional_id: uuid.UUID


def _bad_credentials() -> NotAuthenticated:
    return NotAuthenticated(
        "Identifiant ou mot de passe incorrect. Vérifiez votre saisie ; après plusieurs échecs "
        "la connexion est suspendue quelques minutes.",
        code="invalid_credentials",
    )


def login_password(
    session: Session,
    settings: Settings,
    ctx: RequestContext,
    login: str,
    password: str,
    device_name: str,
) -> TokenPair:
    """Portal identifier + password. Failures are throttled per account and per IP."""
    login = login.strip().lower()
    try:
        throttle.check(session, settings, login, ctx.ip)
    except Exception:
        audit.record(
            session,
            ctx,
            "auth.login",
            outcome="throttled",
            details={"login": login},
            keep_on_failure=True,
        )
        raise
    pro = session.scalar(select(Professional).where(func.lower(Professional.login) == login))
    ok = passwords.verify_password(pro.password_hash if pro else None, password)
    if not ok or pro is None or not pro.active:
        audit.record(
            session,
            ctx,
            "auth.login",
            outcome="refused",
            details={"login": login, "reason": "inactive" if pro and ok else "bad_credentials"},
            keep_on_failure=True,
        )
        on_failure(session, lambda s: throttle.record_failure(s, settings, login, ctx.ip))
        raise _bad_credentials()
    throttle.reset_account(session, login)
    device = Device(
        professional_id=pro.id,
        name=device_name[:100] or "Appareil",
        kind="api",
        auth_method="password",
        last_seen_at=utcnow(),
    )
    session.add(device)
    session.flush()
    audit.record(
        session,
        ctx.with_actor(Actor.of(pro, device.id)),
        "auth.login",
        details={"method": "password", "device": device.name},
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
    session.execute(
        update(Device)
        .where(Device.id == device_id, Device.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    session.execute(delete(AccessToken).where(AccessToken.device_id == device_id))
    session.execute(delete(RefreshToken).where(RefreshToken.device_id == device_id))


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
    if row.used_at is not None:
        device_id = device.id
        on_failure(session, lambda s: _revoke_device(s, device_id, "refresh_token_reused"))
        audit.record(
            session,
            actx,
            "auth.refresh",
            outcome="refused",
            details={"reason": "reused", "device_revoked": True},
            keep_on_failure=True,
        )
        raise NotAuthenticated(
            "Ce jeton a déjà été utilisé : par sécurité, cet appareil a été déconnecté. "
            "Authentifiez-vous à nouveau.",
            code="refresh_token_reused",
        )
    if row.expires_at <= now or device.revoked_at is not None or not pro.active:
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
    if device.strong_auth_at is not None and now - device.strong_auth_at > max_age:
        audit.record(
            session,
            actx,
            "auth.refresh",
            outcome="refused",
            details={"reason": "strong_auth_required"},
            keep_on_failure=True,
        )
        raise NotAuthenticated(
            "Pour votre sécurité, authentifiez-vous à nouveau avec votre carte CPS ou votre "
            "code reçu par e-mail.",
            code="strong_auth_required",
        )
    row.used_at = now
    device.last_seen_at = now
    session.execute(
        delete(AccessToken).where(AccessToken.device_id == device.id, AccessToken.expires_at <= now)
    )
    return issue_tokens(session, settings, device)


def authenticate(session: Session, token: str) -> tuple[Professional, Device]:
    """The professional and device behind a bearer access token."""
    row = session.get(AccessToken, hash_token(token))
    if row is None:
        raise NotAuthenticated("Connexion requise.", code="invalid_token")
    if row.expires_at <= utcnow():
        raise NotAuthenticated("Votre jeton d'accès a expiré.", code="token_expired")
    device = session.get(Device, row.device_id)
    pro = session.get(Professional, row.professional_id)
    if device is None or device.revoked_at is not None:
        raise NotAuthenticated("Cet appareil a été déconnecté.", code="device_revoked")
    if pro is None or not pro.active:
        raise NotAuthenticated("Ce compte est désactivé.", code="account_disabled")
    return pro, device


def logout(session: Session, ctx: RequestContext, device_id: uuid.UUID) -> None:
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

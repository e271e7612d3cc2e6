"""Known devices: the owner's way in, whatever strangers try on the account.

Failures from unknown devices fill the login throttle's counters per account and per source
(:mod:`throttle`), which slows everyone trying that account. A login attempt that proves it
comes from a device the professional already used takes the device's own counter instead:

- **MonSisra** presents the refresh token it holds (current, unexpired, device not revoked):
  the case of a renewal after ``strong_auth_required``. The token is only looked up, never
  spent.
- **A browser** presents its known-device cookie, set after a complete two-step web login:
  random, HttpOnly, stored only hashed in ``known_devices``, valid ``known_device_days``,
  bound to one professional, revocable.

The proof only chooses the counter. It never logs anyone in: the password and the e-mailed
code are still required, and that device's failures still count, in its own counter (a stolen
marker gives no more guesses than one more address). A marker of another professional, or a
forged, expired or revoked one, is no proof: the attempt takes the usual counters.
"""

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sisra.platform.auth import throttle
from sisra.platform.auth.tokens import hash_token, new_token
from sisra.platform.models import Device, KnownDevice, Professional, RefreshToken, utcnow
from sisra.platform.settings import Settings

COOKIE = "sisra_appareil"
COOKIE_PATH = "/connexion"


def _same_login(session: Session, professional_id: uuid.UUID, login: str) -> bool:
    pro = session.get(Professional, professional_id)
    return pro is not None and pro.active and pro.login.strip().lower() == login.strip().lower()


def _browser(session: Session, cookie: str | None) -> KnownDevice | None:
    if not cookie or len(cookie) > 200:
        return None
    known = session.scalar(select(KnownDevice).where(KnownDevice.token_hash == hash_token(cookie)))
    if known is None or known.revoked_at is not None or known.expires_at <= utcnow():
        return None
    return known


def _monsisra(session: Session, refresh_token: str | None) -> Device | None:
    if not refresh_token:
        return None
    row = session.get(RefreshToken, hash_token(refresh_token))
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    device = session.get(Device, row.device_id)
    if device is None or device.revoked_at is not None:
        return None
    return device


def counter(
    session: Session,
    login: str,
    *,
    cookie: str | None = None,
    refresh_token: str | None = None,
) -> str | None:
    """The throttle counter of the known device behind this login attempt, or None (an
    unknown device: the usual counters)."""
    device = _monsisra(session, refresh_token)
    if device is not None and _same_login(session, device.professional_id, login):
        return throttle.device_key(device.id)
    known = _browser(session, cookie)
    if known is not None and _same_login(session, known.professional_id, login):
        return throttle.device_key(known.id)
    return None


def remember_browser(
    session: Session, settings: Settings, pro: Professional, cookie: str | None
) -> str:
    """After a complete two-step web login: the known-device cookie value to set.

    The browser's own cookie, extended, when it is already this professional's; otherwise a
    new one (a browser remembers the last professional who completed a login on it)."""
    now = utcnow()
    expires = now + timedelta(days=settings.known_device_days)
    known = _browser(session, cookie)
    if cookie and known is not None and known.professional_id == pro.id:
        known.last_used_at, known.expires_at = now, expires
        return cookie
    token = new_token("skd")
    session.add(
        KnownDevice(
            token_hash=hash_token(token),
            professional_id=pro.id,
            expires_at=expires,
            last_used_at=now,
        )
    )
    return token

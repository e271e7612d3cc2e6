"""Failed-login throttling per account and per IP address, persisted in the database."""

from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sisra.platform.errors import TooManyAttempts
from sisra.platform.models import LoginThrottle, utcnow
from sisra.settings import Settings


def keys_for(login: str, ip: str | None) -> list[tuple[str, str]]:
    """(key, kind) pairs; kind selects the limit."""
    keys = [(f"account:{login.strip().lower()}", "account")]
    if ip:
        keys.append((f"ip:{ip}", "ip"))
    return keys


def check(session: Session, settings: Settings, login: str, ip: str | None) -> None:
    """Refuse the attempt while either counter is over its limit inside the window."""
    window = timedelta(minutes=settings.login_failure_window_minutes)
    now = utcnow()
    limits = {
        "account": settings.login_max_failures_per_account,
        "ip": settings.login_max_failures_per_ip,
    }
    for key, kind in keys_for(login, ip):
        row = session.get(LoginThrottle, key)
        if row and row.failures >= limits[kind] and now - row.window_start < window:
            wait = int((row.window_start + window - now).total_seconds() // 60) + 1
            raise TooManyAttempts(
                f"Trop de tentatives de connexion échouées. Réessayez dans {wait} minute(s).",
                extra={"retry_after_minutes": wait},
            )


def record_failure(session: Session, settings: Settings, login: str, ip: str | None) -> None:
    window = timedelta(minutes=settings.login_failure_window_minutes)
    now = utcnow()
    for key, _kind in keys_for(login, ip):
        row = session.execute(select(LoginThrottle).where(LoginThrottle.key == key)).scalar()
        if row is None:
            try:
                with session.begin_nested():
                    session.add(LoginThrottle(key=key, failures=1, window_start=now))
                continue
            except IntegrityError:  # another worker created it meanwhile
                row = session.get(LoginThrottle, key)
                assert row is not None
        if now - row.window_start >= window:
            row.failures, row.window_start = 1, now
        else:
            session.execute(
                update(LoginThrottle)
                .where(LoginThrottle.key == key)
                .values(failures=LoginThrottle.failures + 1)
            )
    session.flush()


def reset_account(session: Session, login: str) -> None:
    session.execute(
        delete(LoginThrottle).where(LoginThrottle.key == f"account:{login.strip().lower()}")
    )

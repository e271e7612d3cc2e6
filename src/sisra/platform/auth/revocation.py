"""Ending everything a device (or a disabled professional) holds, everywhere at once.

Revoking a device deletes its access tokens, spends its refresh tokens (kept, so a late replay
is still recognised as reuse), closes the browser sessions its one-time links opened and drops
its unused links. Open event streams are not in the database: each revocation bumps the
``revocations`` counter (a generation number), every worker reads it at most once per
``events_revocation_check_s``, and a stream re-checks its own token only when it moved. This
costs one small query per second per process, and works across processes and machines.
"""

import asyncio
import threading
import time
import uuid

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from sisra.platform.db import after_commit
from sisra.platform.models import (
    AccessToken,
    Counter,
    Device,
    KnownDevice,
    LoginFlow,
    RefreshToken,
    WebSession,
    WebTicket,
    utcnow,
)

GENERATION = "revocations"


# This process's own revocations, counted as they are written and again once committed:
# the authentication cache of this process (auth/cache.py) drops what it holds at once, without
# waiting for the database's generation to be read again.
_local = 0
_local_lock = threading.Lock()


def _bump_local() -> None:
    global _local
    with _local_lock:
        _local += 1


def local_generation() -> int:
    """How many revocations this process has written (a number that only grows)."""
    return _local


def bump(session: Session) -> None:
    """Tell every open stream, in every process, to check its token again (after commit)."""
    _bump_local()
    after_commit(session, _bump_local)
    done = session.execute(
        update(Counter)
        .where(Counter.name == GENERATION)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    ).first()
    if done is None:  # a database older than the counter: create it
        session.add(Counter(name=GENERATION, value=1, last_hash="0" * 64))
        session.flush()


def end_device(session: Session, device_id: uuid.UUID, reason: str) -> None:
    """Revoke the device and everything opened from it."""
    _end(session, Device.id == device_id, reason)
    session.execute(delete(AccessToken).where(AccessToken.device_id == device_id))


def end_professional(session: Session, professional_id: uuid.UUID, reason: str) -> None:
    """A disabled account: all its devices, browser sessions, links and streams end.

    Its access tokens are refused from now on (account disabled, devices revoked) and kept
    until they expire, so that a client is told « compte désactivé » rather than nothing."""
    _end(session, Device.professional_id == professional_id, reason)
    session.execute(delete(WebSession).where(WebSession.professional_id == professional_id))
    session.execute(
        delete(WebTicket).where(
            WebTicket.professional_id == professional_id, WebTicket.used_at.is_(None)
        )
    )
    # their known browsers stop being known (auth/known_devices.py)
    session.execute(
        update(KnownDevice)
        .where(KnownDevice.professional_id == professional_id, KnownDevice.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _end(session: Session, which: ColumnElement[bool], reason: str) -> None:
    now = utcnow()
    devices = select(Device.id).where(which).scalar_subquery()
    session.execute(
        update(Device)
        .where(which, Device.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session="fetch")
    )
    # spent, not deleted: a late replay is still recognised as a reuse
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.device_id.in_(devices), RefreshToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(WebSession).where(WebSession.device_id.in_(devices)))
    session.execute(
        delete(WebTicket).where(WebTicket.device_id.in_(devices), WebTicket.used_at.is_(None))
    )
    bump(session)


class RevocationWatch:
    """The revocation generation of the database, read at most once per ``interval`` seconds
    by this process however many streams ask."""

    def __init__(self, factory: sessionmaker[Session], interval: float) -> None:
        self._factory = factory
        self._interval = interval
        self._value = -1
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def _read(self) -> int:
        with self._lock:
            if time.monotonic() - self._read_at >= self._interval:
                with self._factory() as session:
                    value = session.scalar(select(Counter.value).where(Counter.name == GENERATION))
                self._value = int(value or 0)
                self._read_at = time.monotonic()
            return self._value

    async def generation(self) -> int:
        """The generation; reads the database (off the event loop) only when stale."""
        if time.monotonic() - self._read_at < self._interval:
            return self._value
        return await asyncio.to_thread(self._read)


def end_others(
    session: Session,
    professional_id: uuid.UUID,
    keep_session: str,
    keep_device: uuid.UUID | None,
    reason: str,
) -> None:
    """After a password change: everything the professional holds ends except the browser
    session ``keep_session`` (a token hash) and the MonSisra device that opened it, if any.

    Other devices lose their tokens (refresh tokens spent, access tokens deleted), other
    browser sessions close, unused links and login flows started with the old password stop
    working. Known browsers stay known: they log nobody in (auth/known_devices.py)."""
    others = Device.professional_id == professional_id
    if keep_device is not None:
        others &= Device.id != keep_device
    _end(session, others, reason)
    session.execute(
        delete(AccessToken).where(
            AccessToken.device_id.in_(select(Device.id).where(others).scalar_subquery())
        )
    )
    session.execute(
        delete(WebSession).where(
            WebSession.professional_id == professional_id, WebSession.token_hash != keep_session
        )
    )
    tickets = WebTicket.professional_id == professional_id
    if keep_device is not None:
        tickets &= WebTicket.device_id.is_distinct_from(keep_device)
    session.execute(delete(WebTicket).where(tickets, WebTicket.used_at.is_(None)))
    session.execute(
        update(LoginFlow)
        .where(LoginFlow.professional_id == professional_id, LoginFlow.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )

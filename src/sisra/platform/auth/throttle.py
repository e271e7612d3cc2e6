"""Login throttling: counters in the database, claimed atomically before a secret is checked.

Three kinds of counter for attempts from unknown devices (docs/security.md « Login
throttling »):

- ``pair:<login>|<source>``: failures of one account from one source address; a low hard
  limit (``login_max_failures_per_account_source``). Only that source is refused.
- ``ip:<source>``: failures from one source, whatever the account
  (``login_max_failures_per_ip``).
- ``account:<login>``: failures from everywhere. Never a hard lock (anybody could lock anybody
  out): past ``login_account_delay_after`` failures, attempts are spaced out by a delay that
  doubles up to ``login_account_max_delay_s``.

A login from a *known device* (MonSisra presenting its refresh token, a browser its
known-device cookie, :mod:`sisra.platform.auth.known_devices`) takes none of those: it takes
``device:<id>``, the device's own counter, a hard limit (``login_max_failures_per_device``)
that only that device's failures fill. Strangers' failures therefore never slow or refuse the
owner's known device, and a stolen device marker gives no more guesses than one address.

An attempt is *counted before it is evaluated*: one conditional ``UPDATE`` per counter takes the
slot only while the limit allows it, in a short transaction of its own committed at once
(:func:`sisra.platform.db.side_transaction`), so N simultaneous guesses cannot all pass a
check made before any of them is recorded. A successful attempt gives its slot back.
"""

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, TypeVar

from sqlalchemy import case, delete, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from sisra.platform.db import side_transaction
from sisra.platform.errors import TooManyAttempts
from sisra.platform.models import LoginFlow, LoginThrottle, utcnow
from sisra.platform.settings import Settings

T = TypeVar("T")

Kind = Literal["pair", "ip", "account", "device"]


@dataclass(frozen=True, order=True)
class Counter:
    key: str
    kind: Kind


def _login(login: str) -> str:
    return login.strip().lower()


def device_key(device_id: uuid.UUID) -> str:
    """The counter of one known device (a MonSisra device or a known browser)."""
    return f"device:{device_id}"


def password_counters(login: str, ip: str | None, device: str | None = None) -> list[Counter]:
    """Counters a password attempt takes: per (account, source), per source, per account; or,
    from a known device (``device``: its :func:`device_key`), that device's counter alone."""
    if device is not None:
        return [Counter(device, "device")]
    counters = [Counter(f"account:{_login(login)}", "account")]
    if ip:
        counters += [Counter(f"pair:{_login(login)}|{ip}", "pair"), Counter(f"ip:{ip}", "ip")]
    return sorted(counters)  # one locking order for every request: no deadlock


def code_counters(login: str, ip: str | None, device: str | None = None) -> list[Counter]:
    """A code attempt: per (account, source) and per source, or the known device's counter.
    The account-wide delay is left out: a flow exists only after the right password, and has
    its own few tries."""
    return [c for c in password_counters(login, ip, device) if c.kind != "account"]


def own_counter(login: str, ip: str | None, device: str | None = None) -> str | None:
    """The counter a complete login clears: its known device's, else its source's for the
    account."""
    if device is not None:
        return device
    return f"pair:{_login(login)}|{ip}" if ip else None


@dataclass
class Reservation:
    """Slots taken by one attempt; :meth:`failed` or :meth:`succeeded` once it is judged."""

    counters: list[Counter]
    counts: dict[str, int] = field(default_factory=dict)

    def _held(self, settings: Settings) -> Counter | None:
        """The account counter, if this attempt holds it (past the free failures, only one
        attempt at a time can: the hold refuses the others)."""
        account = next((c for c in self.counters if c.kind == "account"), None)
        if account and self.counts.get(account.key, 0) > settings.login_account_delay_after:
            return account
        return None

    def failed(self, session: Session, settings: Settings) -> None:
        """The attempt failed: its slots stay taken; past the free failures, the next attempt
        on the account waits 1, 2, 4 … seconds, up to ``login_account_max_delay_s``."""
        account = self._held(settings)
        if account is None:
            return
        over = self.counts[account.key] - settings.login_account_delay_after
        delay = min(2 ** min(over - 1, 16), settings.login_account_max_delay_s)

        def _hold() -> None:
            with side_transaction(session) as side:
                side.execute(
                    update(LoginThrottle)
                    .where(LoginThrottle.key == account.key)
                    .values(not_before=utcnow() + timedelta(seconds=delay))
                )

        _retrying(_hold)

    def succeeded(
        self,
        session: Session,
        settings: Settings,
        *,
        forgive: str | None = None,
    ) -> None:
        """The secret was right: give the slots back (and lift the hold on the account).

        ``forgive``: a counter key (:func:`own_counter`) a complete login (password and code)
        also clears: its own source's counter for the account, or its known device's.

        Runs in a transaction of its own, before the request writes: the request's later locks
        (the login flow) are then never taken before these, the order every claim follows
        (counters, then flow), so two requests cannot deadlock.
        """
        if not self.counters and forgive is None:
            return
        held = self._held(settings)

        def _give_back() -> None:
            with side_transaction(session) as side:
                for c in self.counters:
                    side.execute(
                        update(LoginThrottle)
                        .where(LoginThrottle.key == c.key, LoginThrottle.failures > 0)
                        .values(
                            failures=LoginThrottle.failures - 1,
                            not_before=None if c == held else LoginThrottle.not_before,
                        )
                        .execution_options(synchronize_session=False)
                    )
                if forgive is not None:
                    side.execute(delete(LoginThrottle).where(LoginThrottle.key == forgive))

        _retrying(_give_back)


def _insert_missing(side: Session, keys: list[str], now: datetime) -> None:
    dialect = side.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    side.execute(
        insert(LoginThrottle)
        .values([{"key": k, "failures": 0, "window_start": now} for k in keys])
        .on_conflict_do_nothing(index_elements=["key"])
    )


def _claim(side: Session, settings: Settings, c: Counter, now: datetime) -> int | None:
    """Take one slot of counter ``c`` if its limit allows; the new count, or None."""
    cutoff = now - timedelta(minutes=settings.login_failure_window_minutes)
    stale = LoginThrottle.window_start <= cutoff
    when = LoginThrottle.window_start.type
    values: dict[str, object] = {
        "failures": case((stale, 1), else_=LoginThrottle.failures + 1),
        "window_start": case((stale, literal(now, when)), else_=LoginThrottle.window_start),
    }
    if c.kind == "account":
        # past the free failures, hold the account while this attempt is judged; failed()
        # then sets the real delay, succeeded() lifts it
        hold = now + timedelta(seconds=settings.login_account_max_delay_s)
        busy = ~stale & (LoginThrottle.failures >= settings.login_account_delay_after)
        values["not_before"] = case((busy, literal(hold, when)), else_=None)
        allowed = stale | LoginThrottle.not_before.is_(None) | (LoginThrottle.not_before <= now)
    else:
        limit = {
            "pair": settings.login_max_failures_per_account_source,
            "ip": settings.login_max_failures_per_ip,
            "device": settings.login_max_failures_per_device,
        }[c.kind]
        allowed = stale | (LoginThrottle.failures < limit)
    row = side.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == c.key, allowed)
        .values(values)
        .returning(LoginThrottle.failures)
        .execution_options(synchronize_session=False)
    ).first()
    return int(row[0]) if row else None


def _refusal(side: Session, settings: Settings, c: Counter, now: datetime) -> TooManyAttempts:
    row = side.get(LoginThrottle, c.key)
    if row is None:  # cannot happen once re-inserted; never a 500 if it does
        return TooManyAttempts("Trop de tentatives de connexion. Réessayez dans une minute.")
    if c.kind == "account" and row.not_before is not None:
        wait_s = max(int((row.not_before - now).total_seconds()) + 1, 1)
        return TooManyAttempts(
            "Trop de tentatives de connexion échouées sur ce compte. "
            f"Réessayez dans {wait_s} seconde(s), ou connectez-vous avec votre carte CPS.",
            extra={"retry_after_s": wait_s},
        )
    window = timedelta(minutes=settings.login_failure_window_minutes)
    wait = int((row.window_start + window - now).total_seconds() // 60) + 1
    return TooManyAttempts(
        f"Trop de tentatives de connexion échouées. Réessayez dans {wait} minute(s).",
        extra={"retry_after_minutes": wait, "retry_after_s": wait * 60},
    )


# PostgreSQL may pick one of two claims racing for the same rows as a deadlock victim (or, at
# a stricter isolation level, refuse it with a serialization failure). The claim is a short
# transaction of its own and rolled back whole: running it again is safe, and right.
_RETRY_SQLSTATES = frozenset({"40P01", "40001"})
_RETRIES = 5


def _retrying(claim: Callable[[], T]) -> T:
    for attempt in range(_RETRIES):
        try:
            return claim()
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) not in _RETRY_SQLSTATES:
                raise
            if attempt == _RETRIES - 1:
                raise
            time.sleep(0.02 * (attempt + 1))
    raise AssertionError("unreachable")


def reserve(
    session: Session,
    settings: Settings,
    counters: list[Counter],
    flow_id: uuid.UUID | None = None,
    max_tries: int = 0,
) -> Reservation:
    """Count one attempt on every counter (and one try of ``flow_id``), all or nothing.

    Raises :class:`TooManyAttempts` when a limit is reached. When the flow refuses its try
    (used, expired, out of tries) nothing is counted and the reservation has no ``"flow"``
    entry in ``counts``.
    """
    return _retrying(lambda: _reserve_once(session, settings, counters, flow_id, max_tries))


def _reserve_once(
    session: Session,
    settings: Settings,
    counters: list[Counter],
    flow_id: uuid.UUID | None,
    max_tries: int,
) -> Reservation:
    now = utcnow()
    reservation = Reservation(list(counters))
    with side_transaction(session) as side:
        if counters:
            _insert_missing(side, [c.key for c in counters], now)
        for c in counters:
            count = _claim(side, settings, c, now)
            if count is None and side.get(LoginThrottle, c.key) is None:
                # forgiven (deleted) by a completed login since the insert: count afresh
                _insert_missing(side, [c.key], now)
                count = _claim(side, settings, c, now)
            if count is None:
                raise _refusal(side, settings, c, now)  # rolls the other claims back
            reservation.counts[c.key] = count
        if flow_id is not None:
            tries = side.execute(
                update(LoginFlow)
                .where(
                    LoginFlow.id == flow_id,
                    LoginFlow.used_at.is_(None),
                    LoginFlow.expires_at > now,
                    LoginFlow.attempts < max_tries,
                )
                .values(attempts=LoginFlow.attempts + 1)
                .returning(LoginFlow.attempts)
                .execution_options(synchronize_session=False)
            ).first()
            if tries is None:
                side.rollback()  # the flow refused: nothing was evaluated, nothing counts
                return Reservation([])
            reservation.counts["flow"] = int(tries[0])
    return reservation

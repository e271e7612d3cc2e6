"""Fixed-window rate limits shared by every worker and node (table ``rate_limits``).

A use is *claimed* before the limited action runs: one conditional ``UPDATE`` takes a slot
only while the window's count is under the limit, so N simultaneous requests cannot all pass a
check made before any of them is counted (the same rule as the login counters of
:mod:`sisra.platform.auth.throttle`). The claim runs in the request's own transaction: an
action that fails afterwards (and rolls back) does not count. On SQLite the statement takes
the database's write lock; on PostgreSQL the row lock serialises the claims of one key and
the second claim re-reads the row the first one committed.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sisra.platform.models import RateLimit, utcnow


@dataclass(frozen=True)
class Claim:
    """The outcome of a claim: ``allowed``, the uses counted in the window, its reset time."""

    allowed: bool
    count: int
    resets_at: datetime

    def minutes_left(self, now: datetime | None = None) -> int:
        """Whole minutes until the window resets (at least 1), for the refusal's message."""
        seconds = (self.resets_at - (now or utcnow())).total_seconds()
        return max(int(seconds // 60) + 1, 1)


def _insert_missing(session: Session, key: str, now: datetime) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(RateLimit)
        .values(key=key, count=0, window_start=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )


def claim(session: Session, key: str, limit: int, window: timedelta) -> Claim:
    """Count one use of ``key`` if fewer than ``limit`` were counted in the current window.

    A window starts at the first use after the previous one ended (fixed windows: at most
    ``limit`` uses in any window, up to ``2 * limit`` across the boundary of two).
    """
    now = utcnow()
    _insert_missing(session, key, now)
    stale = RateLimit.window_start <= now - window
    when = RateLimit.window_start.type
    row = session.execute(
        update(RateLimit)
        .where(RateLimit.key == key, stale | (RateLimit.count < limit))
        .values(
            count=case((stale, 1), else_=RateLimit.count + 1),
            window_start=case((stale, literal(now, when)), else_=RateLimit.window_start),
        )
        .returning(RateLimit.count, RateLimit.window_start)
        .execution_options(synchronize_session=False)
    ).first()
    if row is not None:
        return Claim(True, int(row[0]), row[1] + window)
    count, start = session.execute(
        select(RateLimit.count, RateLimit.window_start).where(RateLimit.key == key)
    ).one()  # inserted above, never deleted
    return Claim(False, int(count), start + window)

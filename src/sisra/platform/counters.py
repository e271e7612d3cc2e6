"""Monotonic counters shared by all workers (see :class:`~sisra.platform.models.Counter`)."""

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from sisra.platform.models import Counter

NAMES = ("inbox", "revocations")
# Core, not ORM: a reservation is one UPDATE … RETURNING, with no ORM object to keep in step
_TABLE: Table = Counter.__table__  # type: ignore[assignment]


def take(session: Session, name: str, n: int = 1) -> tuple[int, str]:
    """Reserve ``n`` values; returns the last reserved value and the stored ``last_hash``.

    The row stays locked until the transaction ends, so reservations commit in order.
    """
    row = session.execute(
        update(_TABLE)
        .where(_TABLE.c.name == name)
        .values(value=_TABLE.c.value + n)
        .returning(_TABLE.c.value, _TABLE.c.last_hash)
    ).one()
    return int(row[0]), str(row[1])


def set_hash(session: Session, name: str, value: str) -> None:
    session.execute(update(Counter).where(Counter.name == name).values(last_hash=value))


def current(session: Session, name: str) -> int:
    return int(session.scalar(select(Counter.value).where(Counter.name == name)) or 0)


def ensure(session: Session) -> None:
    """Create missing counter rows (fresh databases are seeded by the first migration)."""
    existing = set(session.scalars(select(Counter.name)))
    for name in NAMES:
        if name not in existing:
            session.add(Counter(name=name, value=0, last_hash="0" * 64))
    session.flush()

"""The inbox sequencer: gives notifications their cursor, in the transaction that commits them.

A share inserts its notifications with ``seq`` empty, without any lock shared with other
requests. Just before its commit (:func:`sequence_on_commit`) it takes the sequencer's lock
(PostgreSQL: a transaction-scoped advisory lock; SQLite: the database's write lock, which the
share already holds), gives every notification still without a cursor (its own, and any a
dead request left behind) the next value of the ``inbox`` counter, and commits, which
releases the lock. Then it fans the new items out to this process's event streams.

Why a listing ``after=cursor`` never skips a late commit: a cursor is only ever given by a
transaction that holds the sequencer's lock until it has committed (PostgreSQL makes a
commit visible before it releases the transaction's locks), and the next holder reads the
counter after that commit. So cursors become visible in increasing order, 1, 2, 3… with no
gap (a rolled-back numbering rolls its counter update back), and a row committed without a
cursor is numbered by the next holder after everything already visible: the next share, or
the periodic catch-up of :class:`SequencerThread` (:func:`publish`, in a transaction of its
own). Listings and the event replay only return rows with a cursor.
"""

import logging
import uuid
from typing import Any

from sqlalchemy import Engine, Table, bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from sisra.platform import counters
from sisra.platform.db import after_commit, before_commit, exclusive_lock
from sisra.platform.events.hub import EventHub
from sisra.platform.models import Notification
from sisra.platform.periodic import Periodic

log = logging.getLogger(__name__)

# Any constant works; it only has to differ from the other advisory locks (audit sealer).
ADVISORY_LOCK_ID = 0x5153_494E_424F_5831  # ASCII "QSINBOX1"
BATCH = 1000
CATCH_UP_INTERVAL_S = 1.0

# Core statements, built once: the numbering reads and writes plain rows, so the ORM's
# per-statement work (entity compile state, bulk-update bookkeeping) buys nothing here
_TABLE: Table = Notification.__table__  # type: ignore[assignment]
_PENDING_ROWS = (
    select(_TABLE.c.id, _TABLE.c.recipient_id)
    .where(_TABLE.c.seq.is_(None))
    .order_by(_TABLE.c.created_at, _TABLE.c.id)
    .limit(BATCH)
)
_SET_SEQ = update(_TABLE).where(_TABLE.c.id == bindparam("nid")).values(seq=bindparam("nseq"))


def publish(
    bind: Engine,
    hub: EventHub | None = None,
    platform: dict[str, Any] | None = None,
    *,
    wait: bool = True,
) -> int:
    """Give a cursor to every committed notification without one; returns how many.

    With ``wait=True`` it returns once the rows pending when it was called have a cursor:
    either an earlier holder of the lock numbered them or this call does. ``wait=False``
    (the periodic catch-up) gives up at once when another holder has the lock (PostgreSQL);
    pending rows stay for the next call.
    """
    total = 0
    while True:
        done = _publish_batch(bind, wait, hub)
        total += len(done)
        if done and hub is not None:
            _fan_out(bind, hub, platform, done)
        if len(done) < BATCH:
            return total


def sequence_on_commit(session: Session, hub: EventHub | None) -> None:
    """Have ``session``'s request number its new notifications (and any left behind) in its
    own transaction, just before it commits (decisions 67 and 194).

    PostgreSQL: the request takes the sequencer's advisory lock there, after everything else
    is written, and holds it through its commit, as the sequencer's own transaction did; its
    rows are numbered by the transaction that commits them, so the counter, the cursors and
    the ``NOTIFY`` of the events all commit (or roll back) with the share. SQLite: it already
    holds the database's only write lock from its first write to its commit. Either way no
    other numbering can commit in between, and the share costs no second transaction.
    """
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    platform = session.info.get("platform")
    numbered: list[tuple[uuid.UUID, uuid.UUID]] = []

    def _number(s: Session) -> None:
        # The rest of the transaction is written first (audit rows are registered earlier,
        # so written earlier), so the lock is held for the numbering and the commit only.
        s.flush()
        if engine.dialect.name == "postgresql":
            exclusive_lock(s, ADVISORY_LOCK_ID)
        numbered.extend(_number_pending(s, hub))

    def _fan_out_after() -> None:
        if hub is not None and numbered:
            _fan_out(engine, hub, platform, numbered)

    before_commit(session, _number)
    after_commit(session, _fan_out_after)


def _publish_batch(
    bind: Engine, wait: bool, hub: EventHub | None = None
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    with Session(bind=bind) as session:
        pending = select(Notification.id).where(Notification.seq.is_(None)).limit(1)
        if session.scalar(pending) is None:
            return []
        session.rollback()  # end the read before taking the write lock (SQLite)
        if not exclusive_lock(session, ADVISORY_LOCK_ID, wait=wait):
            return []
        done = _number_pending(session, hub)
        session.commit()
    return done


def _number_pending(
    session: Session, hub: EventHub | None = None
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Number the rows without a cursor; the caller holds the sequencer's lock (or SQLite's).

    The hub announces the new cursors inside this transaction: PostgreSQL's ``NOTIFY`` leaves
    when (and only if) the numbering commits and reaches the streams of every worker."""
    session.flush()
    rows = session.execute(_PENDING_ROWS).all()
    if not rows:
        return []
    last, _ = counters.take(session, "inbox", len(rows))
    first = last - len(rows) + 1
    session.execute(_SET_SEQ, [{"nid": row.id, "nseq": first + i} for i, row in enumerate(rows)])
    if hub is not None:
        hub.announce(session, [(row.recipient_id, first + i) for i, row in enumerate(rows)])
    return [(row.id, row.recipient_id) for row in rows]


def _fan_out(
    bind: Engine,
    hub: EventHub,
    platform: dict[str, Any] | None,
    done: list[tuple[uuid.UUID, uuid.UUID]],
) -> None:
    """Publish the new items to the open event streams of this process (if any listens)."""
    from sisra.platform.inbox.service import items_for  # late import: the service uses us

    if not hub.fans_out_locally:
        return
    wanted = [nid for nid, rid in done if hub.subscribers(rid)]
    if not wanted:
        return
    try:
        with Session(bind=bind, info={"platform": platform}) as session:
            notes = list(
                session.scalars(
                    select(Notification)
                    .where(Notification.id.in_(wanted))
                    .order_by(Notification.seq)
                )
            )
            items = items_for(session, notes)
    except Exception:  # streams catch up from the database on their next connection
        log.exception("inbox events could not be built")
        return
    for note, item in zip(notes, items, strict=True):
        hub.publish(note.recipient_id, item)


class SequencerThread(Periodic):
    """Numbers rows committed without a cursor: a share numbers its own before its commit,
    so these come from elsewhere (a server of an earlier version, which numbered after its
    commit and may have died in between, during a rolling upgrade; a script)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        hub: EventHub,
        interval: float = CATCH_UP_INTERVAL_S,
    ) -> None:
        super().__init__("inbox-seq", interval, self._catch_up)
        self.factory = factory
        self.hub = hub

    def _catch_up(self) -> None:
        bind = self.factory.kw["bind"]
        platform = (self.factory.kw.get("info") or {}).get("platform")
        publish(bind, self.hub, platform, wait=False)

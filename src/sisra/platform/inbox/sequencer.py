"""The inbox sequencer: gives committed notifications their cursor, after their share commits.

A share inserts its notifications with ``seq`` empty and commits without any lock shared
with other requests. Right after that commit, the request calls :func:`publish`, which takes
every notification still without a cursor, gives each the next value of the ``inbox``
counter, and commits — in one short transaction that only the sequencer locks (PostgreSQL:
a transaction-scoped advisory lock; SQLite: ``BEGIN IMMEDIATE``). Then it fans the new items
out to this process's event streams.

Why a listing ``after=cursor`` never skips a late commit: a cursor is only ever given to a
row that has *already committed*, by a transaction that holds the sequencer's lock until it
commits, and the next sequencer transaction reads the counter after that commit. So cursors
become visible in increasing order, 1, 2, 3… with no gap, and a row that committed late is
simply still without a cursor: the next :func:`publish` (its own request's, or the periodic
catch-up of :class:`SequencerThread` if that request died in between) numbers it after
everything already visible. Listings and the event replay only return rows with a cursor.

On SQLite the numbering is done inside the share's own transaction, just before its commit
(:func:`sequence_on_commit`): SQLite has one writer, whose lock the share already holds.
"""

import logging
import uuid
from typing import Any

from sqlalchemy import Engine, select, update
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


def publish(
    bind: Engine,
    hub: EventHub | None = None,
    platform: dict[str, Any] | None = None,
    *,
    wait: bool = True,
) -> int:
    """Give a cursor to every committed notification without one; returns how many.

    With ``wait=True`` (a request, right after its share committed) it returns once that
    share's rows have a cursor: they were pending before the lock was taken, so either an
    earlier holder numbered them or this call does. ``wait=False`` (the periodic catch-up)
    gives up at once when another sequencer holds the lock (PostgreSQL); pending rows stay
    for the next call.
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
    """Have ``session``'s request number its new notifications (and any left behind).

    PostgreSQL: right after the request's commit, in the sequencer's own short transaction.
    SQLite: in the request's own transaction, just before it commits — it already holds the
    database's only write lock from its first write to its commit, so no other transaction
    can commit in between and numbering there costs no extra wait and no extra transaction.
    """
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    platform = session.info.get("platform")
    if engine.dialect.name == "sqlite":
        numbered: list[tuple[uuid.UUID, uuid.UUID]] = []

        def _number(s: Session) -> None:
            numbered.extend(_number_pending(s, hub))

        def _fan_out_after() -> None:
            if hub is not None and numbered:
                _fan_out(engine, hub, platform, numbered)

        before_commit(session, _number)
        after_commit(session, _fan_out_after)
        return

    def _run() -> None:
        try:
            publish(engine, hub, platform)
        except Exception:  # the share is committed; the catch-up thread numbers it soon
            log.exception("inbox sequencing after a share failed; the catch-up will retry")

    after_commit(session, _run)


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
    rows = session.execute(
        select(Notification.id, Notification.recipient_id)
        .where(Notification.seq.is_(None))
        .order_by(Notification.created_at, Notification.id)
        .limit(BATCH)
    ).all()
    if not rows:
        return []
    last, _ = counters.take(session, "inbox", len(rows))
    first = last - len(rows) + 1
    session.execute(
        update(Notification),
        [{"id": row.id, "seq": first + i} for i, row in enumerate(rows)],
    )
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
    """Publishes what a request left without a cursor (it died between commit and publish)."""

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

"""Database engine and the unit of work: one session per request, committed once.

Services only ``flush()``. The request's unit of work commits after the handler returns and
then runs the ``after_commit`` callbacks (event fan-out). On error it rolls back and runs the
``on_failure`` callbacks in a fresh transaction: this is how a refused access or a failed
login is still audited and throttled although the request itself failed.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from sisra.platform import sqlite_gate
from sisra.platform.inputs import refuse_nul_parameters
from sisra.platform.settings import Settings

AfterCommit = Callable[[], None]
OnFailure = Callable[[Session], None]


# A request may hold two connections at once: its own transaction and a side transaction
# (:func:`side_transaction`, for claims that must outlive a rollback). With at most 40 requests
# in the server's thread pool, a pool that cannot give 2 x 40 would let 40 requests each hold
# one connection and wait for a second until they time out. Beyond POOL_SIZE, connections are
# closed when returned, so an idle worker keeps POOL_SIZE open (docs/deploy.md: PostgreSQL's
# max_connections). Connections held between a request's hops are bounded by its request slots
# (deps.REQUEST_SLOTS, decision 206).
THREADPOOL_LIMIT = 40
POOL_SIZE = 10
POOL_OVERFLOW = 2 * THREADPOOL_LIMIT - POOL_SIZE


def make_engine(url: str, settings: Settings | None = None) -> Engine:
    """Create the engine; SQLite gets WAL, a busy timeout and foreign keys."""
    busy = settings.sqlite_busy_timeout_s if settings else 30.0
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={
                "timeout": busy,
                "check_same_thread": False,
                "factory": sqlite_gate.GatedConnection,
            },
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
        )
        # this process's writers take turns in order (decision 204)
        sqlite_gate.install(engine, sqlite_gate.WriterGate(), busy)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
            cur.close()

    else:
        engine = create_engine(url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
        ping_when_idle(engine)
    event.listen(engine, "before_cursor_execute", refuse_nul_parameters)
    return engine


# A connection given back less than this long ago is used without a ping (decision 189).
IDLE_PING_S = 5.0


def ping_when_idle(engine: Engine, idle_s: float = IDLE_PING_S) -> None:
    """``pool_pre_ping``, but only for a connection that sat idle ``idle_s`` or more.

    The ping is a round trip per checkout; it exists for connections the server (or a
    failover, or a firewall) closed while they waited in the pool, which is what idle ones
    risk. A connection in steady use skips it. A dead one found by the ping is replaced
    (``DisconnectionError``: the pool reconnects, up to three times); one that died within
    ``idle_s`` of its last use fails its request, and SQLAlchemy then recycles every
    connection of the pool opened before the failure."""

    @event.listens_for(engine.pool, "checkin")
    def _given_back(_dbapi_conn: Any, record: Any) -> None:
        record.info["sisra_idle_since"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _taken(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("sisra_idle_since")
        if since is not None and time.monotonic() - since < idle_s:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("ping failed") from exc
        if not alive:
            raise DisconnectionError("ping failed")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)


def after_commit(session: Session, callback: AfterCommit) -> None:
    """Run ``callback`` once the request's transaction has committed."""
    session.info.setdefault("after_commit", []).append(callback)


def on_failure(session: Session, callback: OnFailure) -> None:
    """Run ``callback(session)`` in a fresh transaction if the request fails."""
    session.info.setdefault("on_failure", []).append(callback)


def before_commit(session: Session, callback: OnFailure) -> None:
    """Run ``callback(session)`` just before the commit (used to chain audit rows last)."""
    session.info.setdefault("before_commit", []).append(callback)


@contextmanager
def side_transaction(session: Session) -> Iterator[Session]:
    """A short transaction of its own on ``session``'s database, committed on leaving the block.

    For claims that must hold whatever becomes of the request (a counted login attempt, a
    single-use challenge spent): the request's own transaction may still roll back. Open it
    before the request has written anything, or SQLite would wait for the request's lock.
    """
    side = Session(bind=session.get_bind(), expire_on_commit=False)
    try:
        yield side
        side.commit()
    except BaseException:
        side.rollback()
        raise
    finally:
        side.close()


# what the session factory puts in every session (app.py): it outlives a rollback
_OPENING_INFO = ("platform",)


def rollback_attempt(session: Session) -> bool:
    """Undo the transaction's work, then redo what must outlive a failure (``on_failure``
    callbacks: refusals' audit rows); True when there is such work to commit."""
    session.rollback()
    failure_callbacks: list[OnFailure] = session.info.pop("on_failure", [])
    kept = {k: session.info[k] for k in _OPENING_INFO if k in session.info}
    session.info.clear()
    session.info.update(kept)
    for fcb in failure_callbacks:
        fcb(session)
    return bool(failure_callbacks)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, rollback and run failure callbacks on error."""
    session = factory()
    try:
        try:
            yield session
            for cb in session.info.pop("before_commit", []):
                cb(session)
            session.commit()
        except BaseException:
            if rollback_attempt(session):
                for cb in session.info.pop("before_commit", []):
                    cb(session)
                session.commit()
            raise
        for acb in session.info.pop("after_commit", []):
            acb()
    finally:
        session.close()


def exclusive_lock(session: Session, lock_id: int, *, wait: bool = True) -> bool:
    """Take a lock only one transaction at a time holds, until it ends; ``False`` when busy
    and not waiting. PostgreSQL: a transaction-scoped advisory lock ``lock_id``. SQLite: the
    database's write lock, taken now (``BEGIN IMMEDIATE``), so what the holder reads next stays
    the latest (a deferred transaction could fail to upgrade if another writer came in)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        fn = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        got = conn.execute(text(f"SELECT {fn}(:id)"), {"id": lock_id}).scalar()
        return got is not False
    conn.exec_driver_sql("BEGIN IMMEDIATE")
    return True

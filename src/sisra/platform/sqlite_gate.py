"""SQLite's writers of one process take turns in the order they came (first come, first served).

SQLite has one writer at a time. A connection that finds the write lock taken sleeps in
SQLite's busy handler by steps of 1, 2, 5, … up to 100 ms and tries again, so a writer that
has waited long may lose the lock again and again to one that has just arrived: at 16
concurrent shares the slowest waited 1.5 s while the mean was a few milliseconds (the p99
of the side-by-side benchmark, docs/decisions.md 204). Within one process the writers
(requests and background threads) now queue in order on a :class:`WriterGate` taken before
a transaction's first write and given back when SQLite says the transaction is over (its
commit or rollback, or a statement that committed by itself). Other processes on the same
file still meet SQLite's busy handler, as before.

The gate mirrors SQLite's own write lock (taken at the first write, released when the
transaction ends), so it adds no wait SQLite would not have imposed; if it cannot be had
within the busy timeout, the statement goes on and SQLite decides, as before.
"""

import sqlite3
import threading
from collections import deque
from typing import Any

# statements that take SQLite's write lock (a read or a SAVEPOINT does not)
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN IMMEDIATE", "BEGIN EXCLUSIVE")


class WriterGate:
    """A lock handed to its waiters in the order they asked for it."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiting: deque[threading.Event] = deque()
        self._held = False

    @property
    def held(self) -> bool:
        return self._held

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(timeout):
            return True
        with self._mutex:
            if turn.is_set():  # handed over just as the wait ended
                return True
            self._waiting.remove(turn)
            return False

    def release(self) -> None:
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().set()  # still held: by the next in line
            else:
                self._held = False


class GatedConnection(sqlite3.Connection):
    """A DB-API connection that gives the gate back when its transaction ends."""

    gate: WriterGate | None = None
    holds = False

    def let_go(self) -> None:
        if self.holds:
            self.holds = False
            assert self.gate is not None
            self.gate.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.let_go()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.let_go()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.let_go()


def install(engine: Any, gate: WriterGate, timeout: float) -> None:
    """Make ``engine``'s SQLite connections take ``gate`` before writing.

    The engine must create :class:`GatedConnection` objects (``connect_args={"factory":
    GatedConnection}``)."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _attach(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.gate = gate

    @event.listens_for(engine, "before_cursor_execute")
    def _before(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        dbapi = cursor.connection
        if dbapi.holds or not statement.lstrip()[:15].upper().startswith(_WRITES):
            return
        if gate.acquire(timeout):
            dbapi.holds = True

    @event.listens_for(engine, "after_cursor_execute")
    def _after(_conn: Any, cursor: Any, *_args: Any) -> None:
        dbapi = cursor.connection
        if dbapi.holds and not dbapi.in_transaction:  # the statement committed by itself
            dbapi.let_go()

    @event.listens_for(engine, "handle_error")
    def _failed(context: Any) -> None:
        cursor = getattr(context.execution_context, "cursor", None)
        dbapi = getattr(cursor, "connection", None)
        if isinstance(dbapi, GatedConnection) and dbapi.holds and not dbapi.in_transaction:
            dbapi.let_go()

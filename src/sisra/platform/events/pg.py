"""Live events across workers and machines through PostgreSQL ``LISTEN/NOTIFY``.

The transaction that creates inbox items also runs ``pg_notify('sisra_events', payload)`` for
each (:meth:`PostgresEventHub.announce`); PostgreSQL delivers the notification to every
listening connection exactly when (and only if) that transaction commits. The payload is small,
``{"r": recipient id, "c": cursor}``: it only wakes the recipient's open streams, which then read
their new items from the database by cursor — the same query as the replay on connect.

Each process holds one listening connection, on a thread. When it is lost (database restart,
network cut) the thread reconnects with a growing delay and then wakes every local stream, so
that whatever was committed while it was deaf is read by cursor: nothing is lost.
"""

import json
import logging
import threading
import time
import uuid
from typing import Any

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from sisra.platform.events.hub import WAKE, Event, EventHub

log = logging.getLogger("sisra.events")

CHANNEL = "sisra_events"
_MAX_BACKOFF_S = 5.0
_CHECK_S = 5.0  # a query on the listening connection at least this often


def conninfo(engine: Engine) -> str:
    """A libpq connection string for the engine's database."""
    url = engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class PostgresEventHub(EventHub):
    fans_out_locally = False

    def __init__(self, engine: Engine, poll_s: float = 0.5) -> None:
        super().__init__()
        self._conninfo = conninfo(engine)
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()  # set while the LISTEN connection is up
        # how the connection shows in pg_stat_activity (one per process)
        self.application_name = f"sisra-events-{uuid.uuid4().hex[:8]}"
        self.reconnections = 0

    def announce(self, session: Session, items: list[tuple[uuid.UUID, int]]) -> None:
        for recipient, cursor in items:
            payload = json.dumps({"r": str(recipient), "c": cursor})
            session.execute(text("SELECT pg_notify(:ch, :p)"), {"ch": CHANNEL, "p": payload})

    def publish(self, professional_id: uuid.UUID, event: Event) -> None:
        """Nothing to do: the notification sent by :meth:`announce` reaches every process,
        this one included."""

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sisra-events-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        backoff = 0.1
        first = True
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    self._conninfo,
                    autocommit=True,
                    connect_timeout=5,
                    application_name=self.application_name,
                    # a peer gone silently (network cut) is noticed by TCP keepalives
                    keepalives=1,
                    keepalives_idle=10,
                    keepalives_interval=5,
                    keepalives_count=3,
                ) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    if not first:
                        self.reconnections += 1
                        log.warning("événements : écoute PostgreSQL rétablie")
                    first = False
                    self.wake_all()  # read whatever was committed while not listening
                    backoff = 0.1
                    checked = time.monotonic()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=self._poll_s):
                            self._dispatch(note.payload)
                        if time.monotonic() - checked >= _CHECK_S:
                            conn.execute("SELECT 1")  # notice a dead connection
                            checked = time.monotonic()
            except psycopg.Error as exc:
                self.listening.clear()
                first = False
                log.warning("événements : écoute PostgreSQL perdue (%s), nouvel essai", exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)
        self.listening.clear()

    def _dispatch(self, payload: str) -> None:
        try:
            data: dict[str, Any] = json.loads(payload)
            recipient = uuid.UUID(str(data["r"]))
        except (ValueError, KeyError, TypeError):
            log.warning("événements : notification illisible ignorée")
            return
        if self.subscribers(recipient):
            self.deliver(recipient, WAKE)

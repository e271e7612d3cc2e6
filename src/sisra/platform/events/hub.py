"""In-process fan-out of inbox events to the Server-Sent Events streams of one worker.

Publishing happens from worker threads (sync routes) after commit; subscribers are asyncio
mailboxes on the server's event loop, so publish hops onto the loop thread-safely. Across
several workers and machines, :class:`sisra.platform.events.pg.PostgresEventHub` feeds the
same subscribers from PostgreSQL ``LISTEN/NOTIFY`` (:func:`hub_for` picks it on PostgreSQL).
"""

import asyncio
import threading
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

Event = dict[str, Any]
QUEUE_LIMIT = 1000
# "new items may be in the database for you": the stream reads them by its cursor
WAKE: Event = {"wake": True}


class Mailbox:
    """One stream's pending events: what an ``asyncio.Queue`` does for a single reader on one
    loop, in a tenth of its memory (an idle stream holds one list, not four deques; decision
    206). Used on the event loop's thread only (:meth:`EventHub.deliver` hops onto it).

    ``None`` in the box ends the stream: it fell behind (its client reconnects and catches up
    from the database) or its client left (:mod:`sisra.platform.events.lane`)."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Event | None] = []
        self._waiter: asyncio.Future[None] | None = None

    def offer(self, event: Event | None) -> None:
        if len(self._items) >= QUEUE_LIMIT:
            # A stream that cannot keep up is told to reconnect (None); on reconnect it catches
            # up from the database with Last-Event-ID, so nothing is lost.
            self._items = [None]
        else:
            self._items.append(event)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Event | None:
        """The oldest pending event, waiting for one (cancellable: a timeout loses nothing)."""
        while not self._items:
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None
        return self._items.pop(0)

    def __len__(self) -> int:
        return len(self._items)


class EventHub:
    # whether :meth:`publish` hands items to this process's streams (the PostgreSQL hub
    # delivers through LISTEN/NOTIFY instead, so nobody needs to build the items for it)
    fans_out_locally = True

    def __init__(self) -> None:
        self._subs: dict[uuid.UUID, set[Mailbox]] = defaultdict(set)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    @asynccontextmanager
    async def subscribe(self, professional_id: uuid.UUID) -> AsyncIterator[Mailbox]:
        box = Mailbox()
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._subs[professional_id].add(box)
        try:
            yield box
        finally:
            with self._lock:
                self._subs[professional_id].discard(box)
                if not self._subs[professional_id]:
                    del self._subs[professional_id]

    def subscribers(self, professional_id: uuid.UUID) -> int:
        with self._lock:
            return len(self._subs.get(professional_id, ()))

    def announce(self, session: Session, items: list[tuple[uuid.UUID, int]]) -> None:
        """Inside the transaction that creates inbox items ``(recipient, cursor)``.

        Nothing to do in one process (:meth:`publish` follows the commit); the PostgreSQL hub
        sends its notifications here, so that they leave exactly when the transaction commits.
        """

    def start(self) -> None:
        """Begin receiving events from elsewhere (the server's start-up)."""

    def stop(self) -> None:
        """Stop receiving events from elsewhere (the server's shutdown)."""

    def wake_all(self) -> None:
        """Tell every open stream of this process to re-read its items from the database."""
        self.broadcast(WAKE)

    def broadcast(self, event: Event) -> None:
        """Deliver ``event`` to every open stream of this process."""
        with self._lock:
            pros = list(self._subs)
        for pro in pros:
            self.deliver(pro, event)

    def has_subscribers(self) -> bool:
        with self._lock:
            return bool(self._subs)

    def publish(self, professional_id: uuid.UUID, event: Event) -> None:
        """After commit: the new item ``event`` for the professional's open streams."""
        self.deliver(professional_id, event)

    def deliver(self, professional_id: uuid.UUID, event: Event) -> None:
        """Deliver to every open stream of the professional (safe from any thread)."""
        with self._lock:
            boxes = list(self._subs.get(professional_id, ()))
            loop = self._loop
        if not boxes or loop is None or loop.is_closed():
            return
        for box in boxes:
            loop.call_soon_threadsafe(box.offer, event)


def hub_for(engine: Engine) -> EventHub:
    """The in-process hub for SQLite (one process), the ``LISTEN/NOTIFY`` one for PostgreSQL."""
    if engine.dialect.name == "postgresql":
        from sisra.platform.events.pg import PostgresEventHub

        return PostgresEventHub(engine)
    return EventHub()

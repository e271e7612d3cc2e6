"""In-process fan-out of inbox events to the Server-Sent Events streams of one worker.

Publishing happens from worker threads (sync routes) after commit; subscribers are asyncio
queues on the server's event loop, so publish hops onto the loop thread-safely. Across several
workers the same interface would be fed by PostgreSQL LISTEN/NOTIFY (not needed on one node).
"""

import asyncio
import threading
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

Event = dict[str, Any]
QUEUE_LIMIT = 1000


class EventHub:
    def __init__(self) -> None:
        self._subs: dict[uuid.UUID, set[asyncio.Queue[Event | None]]] = defaultdict(set)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    @asynccontextmanager
    async def subscribe(
        self, professional_id: uuid.UUID
    ) -> AsyncIterator[asyncio.Queue[Event | None]]:
        queue: asyncio.Queue[Event | None] = asyncio.Queue(QUEUE_LIMIT)
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._subs[professional_id].add(queue)
        try:
            yield queue
        finally:
            with self._lock:
                self._subs[professional_id].discard(queue)
                if not self._subs[professional_id]:
                    del self._subs[professional_id]

    def subscribers(self, professional_id: uuid.UUID) -> int:
        with self._lock:
            return len(self._subs.get(professional_id, ()))

    def publish(self, professional_id: uuid.UUID, event: Event) -> None:
        """Deliver to every open stream of the professional (safe from any thread)."""
        with self._lock:
            queues = list(self._subs.get(professional_id, ()))
            loop = self._loop
        if not queues or loop is None or loop.is_closed():
            return
        for q in queues:
            loop.call_soon_threadsafe(_offer, q, event)


def _offer(queue: asyncio.Queue[Event | None], event: Event) -> None:
    # A stream that cannot keep up is told to reconnect (None); on reconnect it catches up
    # from the database with Last-Event-ID, so nothing is lost.
    try:
        queue.put_nowait(event)
    except asyncio.QueueFull:
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)

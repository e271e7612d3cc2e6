"""One watcher per process tells the open event streams when to re-check their tokens.

A stream must end within about ``events_revocation_check_s`` of its device's revocation
(:mod:`sisra.platform.auth.revocation`: a generation number moves in the database). Each
stream used to wake up every such interval to read the generation, look for a disconnection
and go back to sleep: a few hundred microseconds each time, about 9 % of a core for 1,000
idle streams, most of a core for 10,000. Now one task per event loop reads the generation
every interval while streams are open and, when it moved, sends every stream of this process
a :data:`RECHECK`; an idle stream sleeps until an event, its keepalive or its end
(docs/decisions.md 205).

No revocation is missed: a stream subscribes, then makes sure the watcher runs (a new
watcher takes its first reading before :meth:`RevocationTicker.running` returns), then
checks its token against the database. A revocation committed before that check is seen by
the check; one committed after the watcher's last reading is seen at its next one, and the
stream, already subscribed, gets the :data:`RECHECK`.
"""

import asyncio

from sisra.platform.auth.revocation import RevocationWatch
from sisra.platform.events.hub import Event, EventHub

# "a device or an account was revoked somewhere: is it you?"
RECHECK: Event = {"recheck": True}


class RevocationTicker:
    def __init__(self, hub: EventHub, watch: RevocationWatch, interval: float) -> None:
        self.hub = hub
        self.watch = watch
        self.interval = max(interval, 0.05)
        self._task: asyncio.Task[None] | None = None

    async def running(self) -> None:
        """Start the watcher on this event loop unless it runs already (call it subscribed)."""
        loop = asyncio.get_running_loop()
        task = self._task
        if task is not None and not task.done() and task.get_loop() is loop:
            return
        seen = await self.watch.generation()
        task = self._task  # another stream may have started it meanwhile
        if task is not None and not task.done() and task.get_loop() is loop:
            return
        self._task = loop.create_task(self._run(seen), name="sisra-revocation-ticker")

    async def _run(self, seen: int) -> None:
        while self.hub.has_subscribers():
            await asyncio.sleep(self.interval)
            generation = await self.watch.generation()
            if generation != seen:
                seen = generation
                self.hub.broadcast(RECHECK)

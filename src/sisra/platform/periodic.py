"""One shape for the platform's background loops: call a function every N seconds in a thread.

The audit sealer, the inbox sequencer's catch-up and the orphan-blob sweeper all run this way:
a daemon thread, a tick that must never kill the loop (a failure is logged and retried at the
next tick, nothing is lost since the work stays in the database), and a prompt stop.
"""

import logging
import threading
from collections.abc import Callable
from typing import Self

log = logging.getLogger("sisra.periodic")


class StopLoop(Exception):
    """Raised by a tick that has nothing more to do, ever (e.g. a store that cannot be listed)."""


class Periodic:
    """Runs ``tick`` every ``interval`` seconds until :meth:`stop`.

    ``immediately``: the first tick runs at start rather than one interval later.
    ``wake``: an event that starts the next tick at once when set (work was just committed).
    """

    def __init__(
        self,
        name: str,
        interval: float,
        tick: Callable[[], None],
        *,
        immediately: bool = True,
        join_timeout: float = 30.0,
        wake: threading.Event | None = None,
    ) -> None:
        self.name = name
        self.interval = interval
        self._tick = tick
        self._immediately = immediately
        self._join_timeout = join_timeout
        self._wake = wake
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sisra-{name}", daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._wake is not None:
            self._wake.set()
        if self._thread.is_alive():
            self._thread.join(self._join_timeout)

    def _run(self) -> None:
        if not self._immediately and self._pause():
            return
        while True:
            try:
                self._tick()
            except StopLoop as exc:
                log.warning("%s stopped: %s", self.name, exc)
                return
            except Exception:  # the next tick retries; the work stays in the database
                log.exception("%s failed; retrying in %.1f s", self.name, self.interval)
            if self._pause():
                return

    def _pause(self) -> bool:
        """Wait for the next tick; True when stopping."""
        if self._wake is None:
            return self._stop.wait(self.interval)
        self._wake.wait(self.interval)
        self._wake.clear()
        return self._stop.is_set()

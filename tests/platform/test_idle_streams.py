"""Idle event streams cost nothing between their keepalives (decision 205): one watcher per
process reads the revocation generation for all of them, instead of every stream waking up
each interval to read it, and a revocation still reaches them."""

import threading
import time
from typing import Any

import httpx
import pytest

from sisra.platform.auth.revocation import RevocationWatch
from sisra.platform.settings import Settings
from support.servers import RunningServer

STREAMS = 8
INTERVAL = 0.05


def _listen(url: str, headers: dict[str, str], opened: threading.Semaphore) -> None:
    try:
        with (
            httpx.Client(timeout=httpx.Timeout(30, read=60)) as client,
            client.stream("GET", f"{url}/api/v1/events", headers=headers) as resp,
        ):
            for line in resp.iter_lines():
                if line.startswith(": connected"):
                    opened.release()
    except httpx.HTTPError:
        pass


def test_idle_streams_share_one_reading_of_the_revocations(
    settings: Settings, make_pro: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    readings: list[float] = []
    real = RevocationWatch.generation

    async def counted(self: RevocationWatch) -> int:
        readings.append(time.monotonic())
        return await real(self)

    monkeypatch.setattr(RevocationWatch, "generation", counted)
    pro = make_pro()
    server = RunningServer(settings.model_copy(update={"events_revocation_check_s": INTERVAL}))
    try:
        opened = threading.Semaphore(0)
        for _ in range(STREAMS):
            threading.Thread(
                target=_listen, args=(server.url, pro.headers, opened), daemon=True
            ).start()
        for _ in range(STREAMS):
            assert opened.acquire(timeout=30), "a stream did not open"
        readings.clear()
        started = time.monotonic()
        time.sleep(1.0)
        elapsed = time.monotonic() - started
        count = len(readings)
        # one reading per interval for the whole process (plus a few at the edges), where
        # each stream reading it at each interval would make STREAMS times as many
        ticks = elapsed / INTERVAL
        assert 0 < count <= ticks + 5, (count, ticks)

        # a revocation still reaches every idle stream
        logout = httpx.post(f"{server.url}/api/v1/auth/logout", headers=pro.headers)
        assert logout.status_code == 204
        deadline = time.monotonic() + 10
        while server.app.state.hub.subscribers(pro.id) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.app.state.hub.subscribers(pro.id) == 0, "a stream outlived its token"
    finally:
        server.stop()

"""`sisra serve` stops within 5 s of SIGTERM with MonSisra event streams open: the streams are
ended (MonSisra reconnects, to another node behind a balancer) instead of being waited for."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from sisra.devtools.children import end
from sisra.devtools.ports import start_on_fresh_ports
from support.servers import serve_process

STREAMS = 5


def test_sigterm_with_event_streams_open_stops_the_platform_within_5_s(
    settings: Any, make_pro: Any
) -> None:
    pro = make_pro()
    proc, url = start_on_fresh_ports(lambda: serve_process(settings), lambda: None, RuntimeError)
    connected = threading.Semaphore(0)
    ended: list[str] = []

    def listen() -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(60, connect=10)) as client,
                client.stream("GET", f"{url}/api/v1/events", headers=pro.headers) as resp,
            ):
                assert resp.status_code == 200
                for line in resp.iter_lines():
                    if line.startswith(": connected"):
                        connected.release()
            ended.append("closed")
        except httpx.HTTPError as exc:  # a stream cut short is what a client sees too
            ended.append(type(exc).__name__)

    threads = [threading.Thread(target=listen, daemon=True) for _ in range(STREAMS)]
    try:
        for thread in threads:
            thread.start()
        for _ in range(STREAMS):
            assert connected.acquire(timeout=30), "a stream did not open"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            end(proc)
        took = time.monotonic() - started
        log = proc.stderr.read().decode() if proc.stderr else ""
        assert took < 5, f"{took:.1f} s to stop with {STREAMS} streams open:\n{log}"
        for thread in threads:
            thread.join(timeout=10)
        assert len(ended) == STREAMS  # every client learnt that its stream ended
    finally:
        end(proc)


def test_the_server_raises_its_open_files_limit_for_the_streams(settings: Any) -> None:
    """Each running MonSisra holds a stream (a socket): `sisra serve` started with the usual
    1,024 (here 256) open files raises its limit to what the system allows."""
    proc, _url = start_on_fresh_ports(
        lambda: serve_process(settings, open_files=256), lambda: None, RuntimeError
    )
    try:
        limits = Path(f"/proc/{proc.pid}/limits").read_text()
    finally:
        end(proc)
    line = next(x for x in limits.splitlines() if x.startswith("Max open files"))
    soft, hard = line.split()[3:5]
    assert soft == hard and soft != "256", line

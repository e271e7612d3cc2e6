"""Memory and CPU of idle event streams (``GET /api/v1/events``) on one server process.

MonSisra keeps one event stream open per running client, all day, and almost all of them
are idle. This starts the real server (``sisra serve``, one process, SQLite by default or
``--pg-url``), logs in a few professionals, opens ``--streams`` streams from this process
(plain asyncio sockets, a few KiB each on this side), waits until each has received its
« connected » line, lets them sit idle, and prints:

- the server's resident memory before the streams and with them (psutil, the whole process
  tree), and the difference per stream;
- the server's CPU while the streams are idle (``--idle`` seconds), as a share of one core;
- that every stream is still open at the end, and that a share made then reaches a stream
  of its recipient (the streams are idle, not dead).

Timings are not asserted anywhere; compare runs with each other on one machine.

    .venv/bin/python bench/event_streams.py [--streams 1000 10000] [--idle 30] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import resource
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import httpx
import psutil

from flow import (
    Server,
    login,
    mail_sink,
    make_pdf,
    recreate_postgres,
    seed,
    workdir,
)

PROFESSIONALS = 10
CONNECT_BATCH = 500


def rss_mb(pid: int) -> float:
    proc = psutil.Process(pid)
    tree = [proc, *proc.children(recursive=True)]
    return sum(p.memory_info().rss for p in tree) / 2**20


def cpu_s(pid: int) -> float:
    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        t = p.cpu_times()
        total += t.user + t.system
    return total


class Stream:
    """One open ``GET /api/v1/events``: the request sent, the answer read as it comes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.received = bytearray()

    async def wait_for(self, marker: bytes, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while marker not in self.received:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                chunk = await asyncio.wait_for(self.reader.read(65536), left)
            except TimeoutError:
                return False
            if not chunk:
                return False
            self.received += chunk
        return True

    def open(self) -> bool:
        """False once the server has closed the connection (what arrived is not read)."""
        return not self.writer.transport.is_closing()


async def open_stream(port: int, token: str) -> Stream:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    stream = Stream(reader, writer)
    if not await stream.wait_for(b": connected", 60):
        raise RuntimeError(f"a stream did not connect: {bytes(stream.received[:300])!r}")
    return stream


async def open_streams(port: int, tokens: list[str], n: int) -> list[Stream]:
    streams: list[Stream] = []
    for start in range(0, n, CONNECT_BATCH):
        batch = range(start, min(n, start + CONNECT_BATCH))
        streams += await asyncio.gather(
            *(open_stream(port, tokens[i % len(tokens)]) for i in batch)
        )
        print(f"  {len(streams)} streams open", file=sys.stderr)
    return streams


def share(url: str, sender_token: str, patient: str, recipient: str, pdf: bytes) -> None:
    metadata = {
        "patient_id": patient,
        "title": "Compte rendu",
        "type_code": "cr_consultation",
        "clinical_date": date.today().isoformat(),
        "recipients": [recipient],
    }
    r = httpx.post(
        f"{url}/api/v1/documents",
        headers={"Authorization": f"Bearer {sender_token}"},
        data={"metadata": json.dumps(metadata)},
        files={"file": ("cr.pdf", pdf, "application/pdf")},
        timeout=60,
    )
    if r.status_code != 201:
        raise RuntimeError(f"share: {r.status_code} {r.text[:300]}")


async def measure(
    server: Server, tokens: list[str], n: int, idle: float, share_now: Callable[[], None]
) -> dict[str, float]:
    await asyncio.sleep(2)
    before = rss_mb(server.pid)
    t0 = time.monotonic()
    streams = await open_streams(server.port, tokens, n)
    opened_s = time.monotonic() - t0
    await asyncio.sleep(5)  # let the connections' first work settle
    with_streams = rss_mb(server.pid)
    cpu0, wall0 = cpu_s(server.pid), time.monotonic()
    await asyncio.sleep(idle)
    idle_cpu = (cpu_s(server.pid) - cpu0) / (time.monotonic() - wall0)
    after_idle = rss_mb(server.pid)
    alive = sum(s.open() for s in streams)
    # idle, not dead: a share made now reaches a stream of its recipient (tokens[0]'s)
    await asyncio.to_thread(share_now)
    delivered = await streams[0].wait_for(b"event: notification", 30)
    for s in streams:
        s.writer.close()
    return {
        "streams": n,
        "open_s": opened_s,
        "rss_before_mb": before,
        "rss_with_streams_mb": with_streams,
        "rss_after_idle_mb": after_idle,
        "kb_per_stream": (after_idle - before) * 1024 / n,
        "idle_cpu_pct_of_core": 100 * idle_cpu,
        "alive": alive,
        "delivered": float(delivered),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--idle", type=float, default=30.0, help="idle seconds measured (30)")
    parser.add_argument("--pg-url", help="a PostgreSQL database to drop and recreate")
    args = parser.parse_args(argv)
    # this process holds one socket per stream (the server raises its own limit)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(
        "| streams | open (s) | server RSS before (MB) | with the streams | "
        f"after {args.idle:.0f} s idle | KiB per stream | idle CPU (% of a core) | still open |"
    )
    print("|---|---|---|---|---|---|---|---|")
    pdf = make_pdf()
    for n in args.streams:
        with workdir(False) as tmp:
            if args.pg_url:
                url = args.pg_url
                recreate_postgres(url)
            else:
                url = f"sqlite:///{(Path(tmp) / 'sisra.db').as_posix()}"
            seeded = seed(url, PROFESSIONALS, 1)
            with mail_sink() as (mailbox, mail_env):
                server = Server(url, Path(tmp), 1, mail_env)
                server.start()
                try:
                    with httpx.Client(base_url=server.url, timeout=60) as client:
                        for account in seeded.professionals:
                            login(client, account, mailbox)
                    tokens = [a.token for a in seeded.professionals[1:]]
                    sender, recipient = seeded.professionals[0], seeded.professionals[1]

                    share_now = functools.partial(
                        share, server.url, sender.token, seeded.patients[0], recipient.id, pdf
                    )
                    result = asyncio.run(measure(server, tokens, n, args.idle, share_now))
                finally:
                    server.stop()
        r = result
        print(
            f"| {n} | {r['open_s']:.1f} | {r['rss_before_mb']:.0f} | "
            f"{r['rss_with_streams_mb']:.0f} | {r['rss_after_idle_mb']:.0f} | "
            f"{r['kb_per_stream']:.1f} | {r['idle_cpu_pct_of_core']:.1f} | "
            f"{r['alive']:.0f}/{n}, {'a share reached one' if r['delivered'] else 'NO EVENT'} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

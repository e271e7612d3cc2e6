"""CPU time and SQL statements per API request, in process, for the four steps of a document.

Drives the app in this process through Starlette's ``TestClient`` (no network, no
concurrency) against a fresh database (a SQLite file by default, ``--pg-url`` for PostgreSQL):
``--n`` shares of a ~100 KiB PDF from one sender to one recipient, then ``--n`` listings of one
inbox item, ``--n`` downloads and ``--n`` receipts. For each request type it prints:

- process CPU milliseconds per request (``time.process_time``: the client's work is included,
  the same for every run, so compare runs with each other, not with the flow's server CPU);
- SQL statements per request (SQLAlchemy's ``before_cursor_execute`` on the app's engine);
- pool checkouts per request (on PostgreSQL each is one more round trip with ``pool_pre_ping``,
  which the cursor event does not see);
- with ``--profile``, Python function calls per request (a count: the steadiest figure on a
  busy machine) and cProfile's top 20 by cumulative and by own time, over every thread that
  serves the requests (the event loop's and the thread pool's), timed by each thread's CPU
  time (the profiler inflates Python code: read proportions).

CPU time and counts do not depend on the machine's load the way wall-clock figures do, which
is why they are the measure here. Only loopback addresses are contacted.

    .venv/bin/python bench/profile_requests.py [--n 100] [--pg-url URL] [--profile]
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import json
import pstats
import secrets
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from flow import make_pdf, recreate_postgres, seed

STEPS = ("share", "list", "download", "receipt")


@dataclass
class StepResult:
    name: str
    requests: int
    cpu_s: float
    statements: int
    checkouts: int
    profile: pstats.Stats | None = None

    @property
    def cpu_ms(self) -> float:
        return self.cpu_s * 1000 / self.requests

    @property
    def statements_per_request(self) -> float:
        return self.statements / self.requests

    @property
    def checkouts_per_request(self) -> float:
        return self.checkouts / self.requests


@dataclass
class Counter:
    statements: int = 0
    checkouts: int = 0
    texts: dict[str, int] = field(default_factory=dict)

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements += 1
        head = " ".join(statement.split())[:90]
        self.texts[head] = self.texts.get(head, 0) + 1

    def checkout(self, *_args: Any) -> None:
        self.checkouts += 1


@contextmanager
def thread_profiles(enabled: bool) -> Iterator[list[cProfile.Profile]]:
    """A profiler in every thread started inside the block (the client's portal, the event
    loop, the thread pool): cProfile only sees the thread that enables it."""
    profilers: list[cProfile.Profile] = []
    if not enabled:
        yield profilers
        return

    def start(*_args: Any) -> None:
        # each thread's own CPU time, not the wall clock: waits and the machine's load
        # (other processes) stay out of the tables
        prof = cProfile.Profile(time.thread_time)
        profilers.append(prof)
        prof.enable()  # replaces this hook in the new thread

    threading.setprofile(start)
    try:
        yield profilers
    finally:
        threading.setprofile(None)  # type: ignore[arg-type]


def merged(profilers: list[cProfile.Profile]) -> pstats.Stats | None:
    stats: pstats.Stats | None = None
    for prof in profilers:
        prof.create_stats()
        if not prof.stats:  # type: ignore[attr-defined]
            continue
        if stats is None:
            stats = pstats.Stats(prof)
        else:
            stats.add(prof)
    return stats


def run(
    url: str, data_dir: Path, n: int, profile: bool, show_sql: bool, page: int = 1
) -> list[StepResult]:
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from sisra.platform.app import create_app
    from sisra.platform.auth import service as auth
    from sisra.platform.context import SYSTEM
    from sisra.platform.db import make_engine, make_session_factory, unit_of_work
    from sisra.platform.models import Professional
    from sisra.platform.settings import Settings

    seeded = seed(url, 2, 1)
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        master_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        _env_file=None,  # type: ignore[call-arg]
    )
    engine = make_engine(url)
    tokens: list[str] = []
    with unit_of_work(make_session_factory(engine)) as session:
        for account in seeded.professionals:
            pro = session.get(Professional, uuid.UUID(account.id))
            assert pro is not None
            tokens.append(auth.enrol(session, settings, SYSTEM, pro, "otp", "bench").access_token)
    engine.dispose()
    sender = {"Authorization": f"Bearer {tokens[0]}"}
    reader = {"Authorization": f"Bearer {tokens[1]}"}
    recipient_id = seeded.professionals[1].id
    pdf = make_pdf()
    metadata = json.dumps(
        {
            "patient_id": seeded.patients[0],
            "title": "Compte rendu de consultation",
            "type_code": "cr_consultation",
            "clinical_date": date.today().isoformat(),
            "recipients": [recipient_id],
        }
    )
    notes: list[str] = []

    def share(c: TestClient, _i: int) -> None:
        r = c.post(
            "/api/v1/documents",
            headers=sender,
            data={"metadata": metadata},
            files={"file": ("cr.pdf", pdf, "application/pdf")},
        )
        assert r.status_code == 201, r.text
        notes.extend(r.json()["notifications"])

    def listing(c: TestClient, i: int) -> None:
        # one item after cursor i; or, with --page P, the first page of P items (the poll of
        # the side-by-side harness)
        after, limit = (i, 1) if page == 1 else (0, page)
        r = c.get("/api/v1/inbox", params={"after": after, "limit": limit}, headers=reader)
        assert r.status_code == 200 and r.json()["items"], r.text

    def download(c: TestClient, i: int) -> None:
        r = c.get(f"/api/v1/inbox/{notes[i]}/content", headers=reader)
        assert r.status_code == 200 and len(r.content) == len(pdf), r.status_code

    def receipt(c: TestClient, i: int) -> None:
        r = c.post(
            f"/api/v1/inbox/{notes[i]}/receipts", headers=reader, json={"kind": "downloaded"}
        )
        assert r.status_code == 200, r.text

    calls: dict[str, Callable[[TestClient, int], None]] = {
        "share": share,
        "list": listing,
        "download": download,
        "receipt": receipt,
    }
    app = create_app(settings)
    counter = Counter()
    event.listen(app.state.engine, "before_cursor_execute", counter)
    # a pool checkout: on PostgreSQL, ``pool_pre_ping`` adds a round trip the cursor event
    # does not see
    event.listen(app.state.engine.pool, "checkout", counter.checkout)
    results: list[StepResult] = []
    # one warm-up share, so every step has one more item than it measures
    with TestClient(app, base_url="http://127.0.0.1") as client:
        share(client, 0)
        for name in STEPS[1:]:
            calls[name](client, 0)
    for name in STEPS:
        # a fresh client per step: its threads start inside thread_profiles
        with (
            thread_profiles(profile) as profilers,
            TestClient(app, base_url="http://127.0.0.1") as client,
        ):
            counter.statements, counter.checkouts, counter.texts = 0, 0, {}
            cpu0 = time.process_time()
            for i in range(1, n + 1):
                calls[name](client, i)
            cpu = time.process_time() - cpu0
            statements, checkouts = counter.statements, counter.checkouts
            texts = dict(counter.texts)
        results.append(StepResult(name, n, cpu, statements, checkouts, merged(profilers)))
        if show_sql:
            print(f"  {name}: statements per request")
            for text, count in sorted(texts.items(), key=lambda kv: -kv[1]):
                print(f"    {count / n:5.2f}  {text}")
    app.state.engine.dispose()
    return results


def report(database: str, results: list[StepResult], top: int) -> None:
    for r in results:
        if r.profile is None:
            continue
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            r.profile.stream = out  # type: ignore[attr-defined]
            r.profile.sort_stats(order).print_stats(top)
            body = out.getvalue()
            start = body.find("   ncalls")
            print(f"\n### {database}, {r.name}: top {top} by {order}\n")
            print(body[start:].rstrip())
    print(f"\n| {database} | " + " | ".join(STEPS) + " |")
    print("|---|" + "---|" * len(STEPS))
    print("| CPU ms / request | " + " | ".join(f"{r.cpu_ms:.2f}" for r in results) + " |")
    print(
        "| SQL statements / request | "
        + " | ".join(f"{r.statements_per_request:.2f}" for r in results)
        + " |"
    )
    if all(r.profile is not None for r in results):
        print(
            "| Python function calls / request | "
            + " | ".join(
                f"{r.profile.total_calls / r.requests:.0f}"  # type: ignore[union-attr]
                for r in results
            )
            + " |"
        )
    print(
        "| pool checkouts / request | "
        + " | ".join(f"{r.checkouts_per_request:.2f}" for r in results)
        + " |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100, help="requests per step (100)")
    parser.add_argument("--pg-url", help="a PostgreSQL database to drop and recreate")
    parser.add_argument("--profile", action="store_true", help="cProfile top tables per step")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--page", type=int, default=1, help="items per listing (1)")
    parser.add_argument("--sql", action="store_true", help="list the statements per step")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sisra-bench-profile-") as tmp:
        if args.pg_url:
            recreate_postgres(args.pg_url)
            url, database = args.pg_url, "postgresql"
        else:
            url, database = f"sqlite:///{Path(tmp) / 'bench.db'}", "sqlite"
        results = run(url, Path(tmp) / "data", args.n, args.profile, args.sql, args.page)
    report(database, results, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())

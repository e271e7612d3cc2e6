"""Server-side timing of « Documents reçus » with a 10,000-item inbox.

For each database (SQLite file, PostgreSQL) the script migrates a fresh database, seeds
professionals, patients and ``--count`` notifications for one professional
(:mod:`sisra.platform.demo.volume`), opens a browser session for them and calls the page
routes in-process (FastAPI's ``TestClient``: no network, no browser), ``--repeat`` times each:

- ``first``: ``GET /documents-recus`` (the newest 50 and the total);
- ``deep``: ``GET /documents-recus?avant=…`` (a page in the middle: keyset, no OFFSET);
- ``unread``: ``GET /documents-recus?etat=non-lus``;
- ``search``: ``POST /documents-recus`` with a patient's name (folded columns, in SQL).

    .venv/bin/python bench/inbox_page.py [--db sqlite|postgres|both] [--count 10000]
                                         [--repeat 30] [--pg-url URL]

Prints p50 / p95 / max in milliseconds per scenario. Only loopback addresses are contacted.
"""

from __future__ import annotations

import argparse
import base64
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from httpx import Response

from flow import recreate_postgres

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/sisra_bench_inbox"
N_PATIENTS = 200
N_SENDERS = 20


def run(url: str, data_dir: Path, count: int, repeat: int) -> dict[str, list[float]]:
    from sisra.common.identifiers import luhn_complete
    from sisra.platform.app import create_app
    from sisra.platform.auth import web
    from sisra.platform.context import SYSTEM
    from sisra.platform.db import make_engine, make_session_factory, unit_of_work
    from sisra.platform.demo.volume import seed_inbox
    from sisra.platform.directory import service as directory
    from sisra.platform.migrate import upgrade
    from sisra.platform.patients import service as patients
    from sisra.platform.settings import Settings

    upgrade(url)
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        master_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        _env_file=None,  # type: ignore[call-arg]
    )
    engine = make_engine(url)
    factory = make_session_factory(engine)
    started = time.perf_counter()
    with unit_of_work(factory) as session:
        pros = [
            directory.create(
                session,
                SYSTEM,
                directory.NewProfessional(
                    first_name="Camille",
                    last_name=f"Banc{n:03d}",
                    profession="Médecin",
                    email=f"banc{n:03d}@bench.sisra.test",
                    login=f"banc{n:03d}",
                    rpps=luhn_complete(f"30{n:08d}"),
                ),
            )
            for n in range(N_SENDERS + 1)
        ]
        pats = [
            patients.create(
                session,
                SYSTEM,
                patients.NewPatient(
                    birth_name=f"ESSAI{n:03d}",
                    birth_given_names=["Jeanne"],
                    first_given_name="Jeanne",
                    birth_date=date(1940 + n % 60, 1 + n % 12, 1 + n % 28),
                    sex="F",
                ),
            ).id
            for n in range(N_PATIENTS)
        ]
        reader = pros[0]
        seeded = seed_inbox(
            session,
            recipient_id=reader.id,
            sender_ids=[p.id for p in pros[1:]],
            patient_ids=pats,
            count=count,
            read_every=3,
        )
        cookie, csrf = web.open_session(session, settings, reader)
    print(f"  seeded {count} notifications in {time.perf_counter() - started:.1f} s")
    engine.dispose()

    app = create_app(settings)
    timings: dict[str, list[float]] = {}
    middle = (seeded.first_seq + seeded.last_seq) // 2
    scenarios: dict[str, Callable[[TestClient], Response]] = {
        "first": lambda c: c.get("/documents-recus"),
        "deep": lambda c: c.get(f"/documents-recus?avant={middle}"),
        "unread": lambda c: c.get("/documents-recus?etat=non-lus"),
        "search": lambda c: c.post(
            "/documents-recus", data={"csrf": csrf, "q": "essai042 jeanne", "etat": "tous"}
        ),
    }
    with TestClient(app, base_url="http://127.0.0.1") as client:
        client.cookies.set("sisra_session", cookie)
        for name, call in scenarios.items():
            r = call(client)  # warm-up (and check)
            if r.status_code != 200 or ("Documents 1 à" not in r.text and name != "deep"):
                raise SystemExit(f"{name}: HTTP {r.status_code}\n{r.text[:500]}")
            samples = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                r = call(client)
                samples.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200
            timings[name] = samples
    app.state.engine.dispose()
    return timings


def report(db: str, timings: dict[str, list[float]]) -> None:
    for name, samples in timings.items():
        s = sorted(samples)
        p95 = s[max(0, int(len(s) * 0.95) - 1)]
        print(
            f"| {db} | {name} | {statistics.median(s):.1f} | {p95:.1f} | {s[-1]:.1f} | {len(s)} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    args = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="sisra-bench-inbox-") as tmp:
        if args.db in ("sqlite", "both"):
            print("sqlite:")
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            results["sqlite"] = run(url, Path(tmp) / "data-sqlite", args.count, args.repeat)
        if args.db in ("postgres", "both"):
            print("postgres:")
            recreate_postgres(args.pg_url)
            results["postgres"] = run(args.pg_url, Path(tmp) / "data-pg", args.count, args.repeat)
    print("\n| Database | Scenario | p50 ms | p95 ms | max ms | Requests |")
    print("|---|---|---|---|---|---|")
    for db, timings in results.items():
        report(db, timings)


if __name__ == "__main__":
    main()

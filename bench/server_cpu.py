"""The real server's CPU time per request, by request type (share, list, download, receipt).

Starts ``python -m sisra.cli serve`` (as ``flow.py`` does) on a fresh database, logs two
professionals in through the API, then runs ``--rounds`` rounds; each round sends, one
request at a time over one keep-alive connection, ``--n`` shares of a ~100 KiB PDF, then
``--n`` listings of one inbox item, ``--n`` downloads and ``--n`` receipts. Around each batch it
reads the server process's CPU time (user + system, from the kernel) and, on PostgreSQL, the
CPU time of the ``postgres`` processes, and prints the **median over the rounds** of the CPU
milliseconds per request: the server's own figure, without the client's, which the machine's
load changes far less than wall-clock times (a shared machine still adds some noise: compare
medians of many rounds).

    .venv/bin/python bench/server_cpu.py [--db sqlite|postgres] [--n 100] [--rounds 7]
                                         [--pg-url URL] [--markdown]

Only loopback addresses are contacted.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx

import flow
from flow import (
    DEFAULT_PG_URL,
    Account,
    PostgresCpu,
    Server,
    auth,
    cpu_seconds,
    log,
    login,
    mail_sink,
    make_pdf,
    recreate_postgres,
    seed,
    workdir,
)

STEPS = ("share", "list", "download", "receipt")


class OwnBackends:
    """CPU seconds of the PostgreSQL backends connected to the benchmark's database (other
    databases of a shared server, and its background processes, stay out)."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        self._engine = create_engine(url, poolclass=NullPool)
        self._name = url.rpartition("/")[2]
        self._base: dict[int, float] = {}

    def _pids(self) -> list[int]:
        from sqlalchemy import text

        with self._engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = :n "
                    "AND pid <> pg_backend_pid()"
                ),
                {"n": self._name},
            )
            return [int(r[0]) for r in rows]

    def _cpu(self, pids: list[int]) -> dict[int, float]:
        import psutil

        out: dict[int, float] = {}
        for pid in pids:
            try:
                t = psutil.Process(pid).cpu_times()
            except psutil.NoSuchProcess:
                continue
            out[pid] = t.user + t.system
        return out

    def start(self) -> None:
        self._base = self._cpu(self._pids())

    def stop(self) -> float:
        now = self._cpu(self._pids())
        return sum(cpu - self._base.get(pid, 0.0) for pid, cpu in now.items())


@dataclass
class Target:
    """One server under measure, with its own database and accounts."""

    label: str
    server: Server
    url: str
    sender: Account
    reader: Account
    patient: str
    client: httpx.Client
    notes: list[str] = field(default_factory=list)
    # per step: server CPU ms per request of each round, its database backends', every
    # PostgreSQL process's (the whole shared server)
    out: dict[str, tuple[list[float], list[float], list[float]]] = field(
        default_factory=lambda: {s: ([], [], []) for s in STEPS}
    )


def _calls(t: Target, pdf: bytes, page: int = 1) -> dict[str, Callable[[int], None]]:
    sha = hashlib.sha256(pdf).hexdigest()
    metadata = json.dumps(
        {
            "patient_id": t.patient,
            "title": "Compte rendu de consultation",
            "type_code": "cr_consultation",
            "clinical_date": date.today().isoformat(),
            "recipients": [t.reader.id],
        }
    )
    c = t.client

    def share(_i: int) -> None:
        r = c.post(
            "/api/v1/documents",
            headers=auth(t.sender),
            data={"metadata": metadata},
            files={"file": ("cr.pdf", pdf, "application/pdf")},
        )
        assert r.status_code == 201, r.text
        assert r.json()["document"]["sha256"] == sha
        t.notes.extend(r.json()["notifications"])

    def listing(i: int) -> None:
        # one item after a cursor (MonSisra's poll), or with --page the first page of that
        # many (the peer bench's poll)
        after, limit = (i, 1) if page == 1 else (0, page)
        r = c.get("/api/v1/inbox", params={"after": after, "limit": limit}, headers=auth(t.reader))
        # a page is full once the first round's shares are in (--n ≥ --page)
        assert r.status_code == 200 and r.json()["items"], r.text

    def download(i: int) -> None:
        r = c.get(f"/api/v1/inbox/{t.notes[i]}/content", headers=auth(t.reader))
        assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == sha

    def receipt(i: int) -> None:
        r = c.post(
            f"/api/v1/inbox/{t.notes[i]}/receipts",
            headers=auth(t.reader),
            json={"kind": "downloaded"},
        )
        assert r.status_code == 200, r.text

    return {"share": share, "list": listing, "download": download, "receipt": receipt}


def measure(
    targets: list[Target], pdf: bytes, n: int, rounds: int, postgres: bool, page: int = 1
) -> None:
    """Rounds of batches; within a round each step runs on every server in turn (alternating
    the order), so that a change of the machine's load falls on all of them alike."""
    calls = {t.label: _calls(t, pdf, page) for t in targets}
    own = {t.label: OwnBackends(t.url) for t in targets} if postgres else {}
    for t in targets:  # warm-up: one of each, not measured
        for name in STEPS:
            calls[t.label][name](0)
    done = 1
    for k in range(rounds):
        for name in STEPS:
            for t in targets if k % 2 == 0 else list(reversed(targets)):
                pg = PostgresCpu() if postgres else None
                if pg is not None:
                    own[t.label].start()
                    pg.__enter__()
                cpu0 = cpu_seconds(t.server.pid)
                for i in range(done, done + n):
                    calls[t.label][name](i)
                cpu1 = cpu_seconds(t.server.pid)
                backends = 0.0
                if pg is not None:
                    pg.__exit__(None, None, None)
                    backends = own[t.label].stop()
                t.out[name][0].append((cpu1 - cpu0) * 1000 / n)
                t.out[name][1].append(backends * 1000 / n)
                t.out[name][2].append(pg.seconds * 1000 / n if pg is not None else 0.0)
        done += n
        time.sleep(0.5)  # let the background threads (sealer, sequencer) settle


def report(t: Target, postgres: bool) -> None:
    print(f"\n| {t.label}, CPU ms / request (median; min–max) | " + " | ".join(STEPS) + " |")
    print("|---|" + "---|" * len(STEPS))
    rows = [("server", 0)]
    if postgres:
        rows += [("PostgreSQL, its backends", 1), ("PostgreSQL, all processes", 2)]
    for label, k in rows:
        cells = []
        for name in STEPS:
            values = t.out[name][k]
            cells.append(f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})")
        print(f"| {label} | " + " | ".join(cells) + " |")
    cycle = sum(statistics.median(t.out[name][0]) for name in STEPS)
    print(f"\nserver CPU per cycle (sum of medians): {cycle:.2f} ms")
    if postgres:
        pg_cycle = sum(statistics.median(t.out[name][1]) for name in STEPS)
        print(f"PostgreSQL CPU per cycle, its backends (sum of medians): {pg_cycle:.2f} ms")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    p.add_argument("--n", type=int, default=100, help="requests per step and round (100)")
    p.add_argument("--rounds", type=int, default=7, help="rounds; medians are reported (7)")
    p.add_argument("--pg-url", default=DEFAULT_PG_URL)
    p.add_argument("--page", type=int, default=1, help="items per listing (1: after a cursor)")
    p.add_argument(
        "--against",
        action="append",
        default=[],
        metavar="LABEL=PYTHONPATH[,VAR=VALUE…]",
        help="also measure a server started with this PYTHONPATH (another copy of src/, say "
        "`git archive`'d; empty: this one) and these environment variables, side by side "
        "with this one; repeatable",
    )
    args = p.parse_args(argv)
    flow.HEALTH_TIMEOUT_S = 300.0  # a loaded machine starts Python slowly
    postgres = args.db == "postgres"
    pdf = make_pdf()
    variants = [("this", "")] + [tuple(a.split("=", 1)) for a in args.against]
    targets: list[Target] = []
    with workdir(False) as tmp, mail_sink() as (mailbox, mail_env), contextlib.ExitStack() as stack:
        for j, (label, pythonpath) in enumerate(variants):
            folder = Path(tmp) / f"s{j}"
            folder.mkdir()
            if postgres:
                url = args.pg_url + (f"_{j}" if j else "")
                recreate_postgres(url)
            else:
                url = f"sqlite:///{(folder / 'sisra.db').as_posix()}"
            seeded = seed(url, 2, 1)
            # a loaded machine can take longer than an access token's 15 minutes
            env = {**mail_env, "SISRA_ACCESS_TOKEN_MINUTES": "600"}
            pythonpath, *extra = pythonpath.split(",")
            env.update(dict(kv.split("=", 1) for kv in extra))
            if pythonpath:
                env["PYTHONPATH"] = pythonpath
            server = Server(url, folder, 1, env)
            stack.callback(server.stop)
            server.start()
            client = stack.enter_context(httpx.Client(base_url=server.url, timeout=60))
            for account in seeded.professionals:
                login(client, account, mailbox)
            sender, reader = seeded.professionals
            targets.append(Target(label, server, url, sender, reader, seeded.patients[0], client))
        measure(targets, pdf, args.n, args.rounds, postgres, args.page)
    log(f"[{args.db}] {args.rounds} rounds of {args.n} requests per step and server")
    for t in targets:
        report(t, postgres)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""End-to-end benchmark of the document flow against the real server.

One cycle = a sender shares a ~100 KB PDF with one recipient (``share``), the recipient lists
its inbox after its cursor (``inbox``), downloads the content and checks its SHA-256
(``download``), then posts the "downloaded" receipt (``receipt``).

For each database (SQLite file, PostgreSQL) the script prepares a fresh database, seeds
professionals and patients in-process with the platform's services, starts
``python -m sisra.cli serve`` on a free loopback port as a subprocess, and runs the cycles
from a thread pool at each requested concurrency. It reports documents/s, p50/p99 latency per
step, the server's CPU time per HTTP operation and its peak RSS.

    .venv/bin/python bench/flow.py [--db sqlite|postgres|both] [--cycles N]
                                   [--concurrency 1,16] [--pg-url URL] [--markdown]

Only loopback addresses are contacted; every loop is bounded in count and in time.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import io
import json
import math
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, Self, TextIO

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/sisra_bench"
PASSWORD = "Motdepasse-2026!"
STEPS = ("share", "inbox", "download", "receipt")
PDF_TARGET_BYTES = 100 * 1024
N_PATIENTS = 50
MIN_PROFESSIONALS = 20
HEALTH_TIMEOUT_S = 60.0
POLL_S = 0.05  # RSS and PostgreSQL CPU sampling
MAX_ERRORS = 25  # a run stops early once this many cycles have failed


class BenchError(RuntimeError):
    """The benchmark could not be set up or run."""


class CycleError(RuntimeError):
    """One step of a cycle failed."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step


# --------------------------------------------------------------------------------------------
# The PDF


def make_pdf(target: int = PDF_TARGET_BYTES, seed: int = 2026) -> bytes:
    """A real multi-page PDF made with reportlab, padded with text to about ``target`` bytes."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    words = [
        *("patient", "consultation", "examen", "clinique", "tension", "artérielle"),
        *("traitement", "suivi", "bilan", "biologique", "cardiologie", "antécédents"),
        *("allergie", "ordonnance", "posologie", "échographie", "conclusion", "contrôle"),
        *("recommandations", "médecin", "traitant", "hospitalisation", "radiographie"),
    ]

    def build(pages: int) -> bytes:
        rng = random.Random(seed)
        buf = io.BytesIO()
        c = canvas.Canvas(buf, pagesize=A4, pageCompression=0)
        c.setTitle("Compte rendu de consultation (banc d'essai)")
        for page in range(pages):
            c.setFont("Helvetica-Bold", 12)
            c.drawString(56, 800, f"Compte rendu de consultation - page {page + 1}/{pages}")
            c.setFont("Helvetica", 8)
            for line in range(70):
                text = " ".join(rng.choice(words) for _ in range(14))
                c.drawString(56, 780 - line * 10.5, text)
            c.showPage()
        c.save()
        return buf.getvalue()

    one = len(build(1))
    pages = max(2, round(target / one))
    data = build(pages)
    for _ in range(10):  # converge on the target size (a page is a few KB)
        if abs(len(data) - target) <= one // 2:
            break
        pages = max(2, pages + (1 if len(data) < target else -1))
        data = build(pages)
    if not (0.85 * target <= len(data) <= 1.15 * target) or not data.startswith(b"%PDF-"):
        raise BenchError(f"the benchmark PDF is {len(data)} bytes, expected about {target}")
    return data


# --------------------------------------------------------------------------------------------
# Database preparation (in-process, with the platform's own services)


@dataclass
class Account:
    id: str
    login: str
    email: str
    token: str = ""
    cursor: int = 0  # the last inbox cursor seen (used by the worker that owns this recipient)


@dataclass
class Seeded:
    professionals: list[Account]
    patients: list[str]


def recreate_postgres(url: str) -> None:
    """Drop and create the benchmark database (connecting to the ``postgres`` database)."""
    from sqlalchemy import create_engine, text

    base, _, name = url.rpartition("/")
    if not name or not name.replace("_", "").isalnum():
        raise BenchError(f"unexpected database name in {url!r}")
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def postgres_version(url: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar_one())
    finally:
        engine.dispose()


def seed(url: str, n_professionals: int, n_patients: int) -> Seeded:
    """Migrate, then create professionals (with a portal password) and patients."""
    from sisra.common.identifiers import luhn_complete
    from sisra.platform.context import SYSTEM
    from sisra.platform.db import make_engine, make_session_factory, unit_of_work
    from sisra.platform.directory import service as directory
    from sisra.platform.migrate import upgrade
    from sisra.platform.patients import service as patients

    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    pros: list[Account] = []
    pats: list[str] = []
    try:
        with unit_of_work(factory) as session:
            for n in range(1, n_professionals + 1):
                login = f"bench{n:03d}"
                pro = directory.create(
                    session,
                    SYSTEM,
                    directory.NewProfessional(
                        first_name="Camille",
                        last_name=f"Banc{n:03d}",
                        profession="Médecin",
                        email=f"{login}@bench.sisra.test",
                        login=login,
                        rpps=luhn_complete(f"20{n:08d}"),
                        city="Lyon",
                        password=PASSWORD,
                    ),
                )
                pros.append(Account(id=str(pro.id), login=login, email=pro.email))
            for n in range(1, n_patients + 1):
                patient = patients.create(
                    session,
                    SYSTEM,
                    patients.NewPatient(
                        birth_name=f"ESSAI{n:03d}",
                        birth_given_names=["Jeanne", f"Marie{n}"],
                        first_given_name="Jeanne",
                        birth_date=date(1940 + n % 60, 1 + n % 12, 1 + n % 28),
                        sex="F" if n % 2 else "M",
                    ),
                )
                pats.append(str(patient.id))
    finally:
        engine.dispose()
    return Seeded(pros, pats)


# --------------------------------------------------------------------------------------------
# The server subprocess and its resource usage


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


class Server:
    """``python -m sisra.cli serve`` on a loopback port, stopped with terminate/wait."""

    def __init__(
        self,
        database_url: str,
        workdir: Path,
        workers: int = 1,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.log_path = workdir / "server.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SISRA_")}
        self.env.update(
            {
                "SISRA_DATABASE_URL": database_url,
                "SISRA_DATA_DIR": str(workdir / "data"),
                "SISRA_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
                "PYTHONUNBUFFERED": "1",
                **(extra_env or {}),
            }
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: TextIO | None = None

    def start(self) -> None:
        self._log = self.log_path.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [
                server_python(),
                "-m",
                "sisra.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                *(["--workers", str(self.workers)] if self.workers > 1 else []),
            ],
            env=self.env,
            cwd=self.workdir,  # no stray .env file gets picked up
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"the server exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise BenchError(f"the server did not become healthy:\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def problem_lines(self) -> list[str]:
        """Lines of the server log that report an error, a warning or a traceback."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        marks = ("ERROR", "WARNING", "Traceback", "Exception")
        return [line for line in text.splitlines() if any(m in line for m in marks)]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None


def _tree(pid: int) -> list[psutil.Process]:
    proc = psutil.Process(pid)
    return [proc, *proc.children(recursive=True)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children."""
    total = 0.0
    for p in _tree(pid):
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            continue
    return total


def _cpu(p: psutil.Process) -> float:
    t = p.cpu_times()
    return float(t.user + t.system)


def own_cpu_seconds() -> float:
    return _cpu(psutil.Process())


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores: user, nice, system, irq)."""
    t = psutil.cpu_times()
    extra = ("nice", "irq", "softirq")  # Linux; guest time is already inside user
    return t.user + t.system + sum(float(getattr(t, name, 0.0)) for name in extra)


def cpu_snapshot(server_pid: int) -> tuple[float, float, float]:
    """CPU seconds so far of the server, of this script and of the whole machine."""
    return cpu_seconds(server_pid), own_cpu_seconds(), machine_busy_seconds()


class _Poller:
    """Samples something every 50 ms in a thread while a run lasts (``with``)."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-poller", daemon=True)

    def _sample(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._sample()
            except psutil.NoSuchProcess:
                return
            self._stop.wait(POLL_S)

    def __enter__(self) -> Self:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        with contextlib.suppress(psutil.NoSuchProcess):
            self._sample()


class RssMonitor(_Poller):
    """The server's peak RSS (children included)."""

    def __init__(self, pid: int) -> None:
        super().__init__()
        self.pid = pid
        self.peak = 0

    def _sample(self) -> None:
        rss = 0
        for p in _tree(self.pid):
            try:
                rss += p.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        self.peak = max(self.peak, rss)


class PostgresCpu(_Poller):
    """CPU seconds of the local ``postgres`` processes during a run, those that start and end
    meanwhile included: the server's pool opens connections beyond its size under load and
    closes them when returned, and a backend that exits takes its CPU time with it, so two
    snapshots would miss it (and could even go negative). Polled: an exiting backend loses
    at most its last 50 ms."""

    def __init__(self) -> None:
        super().__init__()
        self._base: dict[int, float] | None = None
        self._last: dict[int, float] = {}

    def _sample(self) -> None:
        seen: dict[int, float] = {}
        for p in psutil.process_iter(["name"]):
            if p.info["name"] != "postgres":
                continue
            try:
                seen[p.pid] = _cpu(p)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        if self._base is None:
            self._base = dict(seen)
        self._last.update(seen)

    @property
    def seconds(self) -> float:
        base = self._base or {}
        return sum(cpu - base.get(pid, 0.0) for pid, cpu in self._last.items())


# --------------------------------------------------------------------------------------------
# The cycle


@dataclass
class Pair:
    """A worker's sender and recipient; each recipient belongs to exactly one worker."""

    sender: Account
    recipient: Account


def auth(account: Account) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.token}"}


class Mail(Protocol):
    @property
    def received_at(self) -> float: ...

    def code(self) -> str | None: ...


class Mailbox(Protocol):
    def last_to(self, address: str) -> Mail | None: ...


@contextmanager
def mail_sink() -> Iterator[tuple[Mailbox | None, dict[str, str]]]:
    """The project's loopback SMTP sink, when it has one, and the server settings to use it.

    The two-step login e-mails a one-time code; the sink keeps it for :func:`login`."""
    try:
        from sisra.devtools.smtp_sink import SmtpSink
    except ImportError:  # a platform whose login returns the tokens directly
        yield None, {}
        return
    sink = SmtpSink(host="127.0.0.1", port=free_port()).start()
    try:
        env = {"SISRA_SMTP_HOST": "127.0.0.1", "SISRA_SMTP_PORT": str(sink.port)}
        yield sink, env
    finally:
        sink.stop()


def login(
    client: httpx.Client, account: Account, mailbox: Mailbox | None, device_name: str = "bench"
) -> dict[str, Any]:
    """Log in through the API: password, then (two-step login) the e-mailed code. Sets
    ``account.token`` and returns the whole token answer (refresh token, device id)."""
    started = time.time()
    r = client.post(
        "/api/v1/auth/login",
        json={"identifier": account.login, "password": PASSWORD, "device_name": device_name},
    )
    if r.status_code != 200:
        raise BenchError(f"login {account.login}: {r.status_code} {r.text[:300]}")
    body = r.json()
    if "access_token" in body:
        account.token = body["access_token"]
        return dict(body)
    if "flow_id" not in body or mailbox is None:
        raise BenchError(f"login {account.login}: unexpected answer {r.text[:300]}")
    code = None
    deadline = time.monotonic() + 10
    while code is None and time.monotonic() < deadline:
        mail = mailbox.last_to(account.email)
        if mail is not None and mail.received_at >= started - 1:
            code = mail.code()
        if code is None:
            time.sleep(0.05)
    if code is None:
        raise BenchError(f"login {account.login}: no code was e-mailed")
    v = client.post(
        "/api/v1/auth/otp/verify",
        json={"flow_id": body["flow_id"], "code": code, "device_name": device_name},
    )
    if v.status_code != 200:
        raise BenchError(f"login {account.login}: code refused: {v.status_code} {v.text[:300]}")
    account.token = v.json()["access_token"]
    return dict(v.json())


def _expect(step: str, r: httpx.Response, status: int) -> None:
    if r.status_code != status:
        raise CycleError(step, f"HTTP {r.status_code} {r.text[:300]}")


def run_cycle(
    client: httpx.Client,
    pair: Pair,
    patient_id: str,
    pdf: bytes,
    pdf_sha: str,
    clinical_date: str,
    record: Callable[[str, float], None],
) -> int:
    """One share → inbox → download → receipt cycle; returns the number of HTTP operations."""
    metadata = {
        "patient_id": patient_id,
        "title": "Compte rendu de consultation",
        "type_code": "cr_consultation",
        "clinical_date": clinical_date,
        "recipients": [pair.recipient.id],
    }
    t0 = time.perf_counter()
    r = client.post(
        "/api/v1/documents",
        headers=auth(pair.sender),
        data={"metadata": json.dumps(metadata)},
        files={"file": ("cr.pdf", pdf, "application/pdf")},
    )
    record("share", time.perf_counter() - t0)
    _expect("share", r, 201)
    shared = r.json()
    doc_id = shared["document"]["id"]
    if shared["document"]["sha256"] != pdf_sha:
        raise CycleError("share", "the server computed another SHA-256")

    rec = pair.recipient
    t0 = time.perf_counter()
    r = client.get("/api/v1/inbox", params={"after": rec.cursor, "limit": 50}, headers=auth(rec))
    record("inbox", time.perf_counter() - t0)
    _expect("inbox", r, 200)
    page = r.json()
    rec.cursor = max(rec.cursor, int(page["next_cursor"]))
    items = [i for i in page["items"] if i["document"]["id"] == doc_id]
    if len(items) != 1:
        raise CycleError("inbox", f"the shared document is not in the page ({len(page['items'])})")
    note_id = items[0]["id"]
    if note_id not in shared["notifications"]:
        raise CycleError("inbox", "the inbox item is not the notification returned by the share")

    t0 = time.perf_counter()
    r = client.get(f"/api/v1/inbox/{note_id}/content", headers=auth(rec))
    record("download", time.perf_counter() - t0)
    _expect("download", r, 200)
    if hashlib.sha256(r.content).hexdigest() != pdf_sha:
        raise CycleError("download", f"content differs ({len(r.content)} bytes)")

    t0 = time.perf_counter()
    r = client.post(
        f"/api/v1/inbox/{note_id}/receipts", headers=auth(rec), json={"kind": "downloaded"}
    )
    record("receipt", time.perf_counter() - t0)
    _expect("receipt", r, 200)
    if not r.json().get("delivered_at"):
        raise CycleError("receipt", "delivered_at is not set")
    return 4


# --------------------------------------------------------------------------------------------
# A run at one concurrency


@dataclass
class RunResult:
    database: str
    concurrency: int
    cycles: int
    errors: int
    wall_s: float
    operations: int
    latencies: dict[str, list[float]]
    server_cpu_s: float
    postgres_cpu_s: float | None
    client_cpu_s: float
    other_cpu_s: float  # everything else on the machine during the run (other processes)
    peak_rss: int
    error_samples: list[str] = field(default_factory=list)

    @property
    def docs_per_s(self) -> float:
        return self.cycles / self.wall_s if self.wall_s > 0 else 0.0

    def per_op_ms(self, seconds: float | None) -> float | None:
        if seconds is None or not self.operations:
            return None
        return 1000 * seconds / self.operations


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100) of ``values``; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


class Tickets:
    """Hands out at most ``total`` cycle numbers, until a deadline or an abort."""

    def __init__(self, total: int, max_seconds: float) -> None:
        self.total = total
        self.deadline = time.monotonic() + max_seconds
        self._next = 0
        self._lock = threading.Lock()
        self.aborted = threading.Event()

    def take(self) -> int | None:
        with self._lock:
            if self._next >= self.total or self.aborted.is_set():
                return None
            if time.monotonic() > self.deadline:
                return None
            self._next += 1
            return self._next - 1


@dataclass
class WorkerStats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    cycles: int = 0
    errors: int = 0
    operations: int = 0
    error_samples: list[str] = field(default_factory=list)


def run_phase(
    clients: list[httpx.Client],
    pairs: list[Pair],
    patients: list[str],
    pdf: bytes,
    cycles: int,
    max_seconds: float,
) -> tuple[list[WorkerStats], float]:
    """Run ``cycles`` cycles over ``len(pairs)`` worker threads; returns stats and wall time."""
    pdf_sha = hashlib.sha256(pdf).hexdigest()
    clinical_date = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    tickets = Tickets(cycles, max_seconds)
    errors_lock = threading.Lock()
    error_total = [0]

    def worker(index: int) -> WorkerStats:
        stats = WorkerStats()
        client, pair = clients[index], pairs[index]

        def record(step: str, seconds: float) -> None:
            stats.latencies[step].append(seconds)

        while (ticket := tickets.take()) is not None:
            done_ops = 0
            try:
                done_ops = run_cycle(
                    client,
                    pair,
                    patients[ticket % len(patients)],
                    pdf,
                    pdf_sha,
                    clinical_date,
                    record,
                )
                stats.cycles += 1
            except (CycleError, httpx.HTTPError, KeyError, ValueError) as exc:
                stats.errors += 1
                done_ops = 1 + STEPS.index(exc.step) if isinstance(exc, CycleError) else 1
                if len(stats.error_samples) < 3:
                    stats.error_samples.append(f"{type(exc).__name__}: {exc}")
                with errors_lock:
                    error_total[0] += 1
                    if error_total[0] >= MAX_ERRORS:
                        tickets.aborted.set()
            stats.operations += done_ops
        return stats

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(pairs), thread_name_prefix="bench") as pool:
        results = list(pool.map(worker, range(len(pairs))))
    return results, time.perf_counter() - start


def run_concurrency(
    database: str,
    server: Server,
    pros: list[Account],
    patients: list[str],
    pdf: bytes,
    concurrency: int,
    cycles: int,
    warmup: int,
    max_seconds: float,
) -> RunResult:
    n = len(pros)
    if concurrency > n:
        raise BenchError(f"not enough professionals ({n}) for concurrency {concurrency}")
    # worker i owns recipient i; its sender is taken half-way round the list, never itself
    pairs = [Pair(sender=pros[(i + n // 2) % n], recipient=pros[i]) for i in range(concurrency)]
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    clients = [
        httpx.Client(base_url=server.url, timeout=120, limits=limits) for _ in range(concurrency)
    ]
    try:
        if warmup:
            warm, _ = run_phase(clients, pairs, patients, pdf, warmup * concurrency, max_seconds)
            failed = sum(w.errors for w in warm)
            if failed:
                samples = [s for w in warm for s in w.error_samples][:3]
                raise BenchError(f"{failed} warm-up cycles failed: {samples}")
        pg = database == "postgres"
        cpu0, me0, all0 = cpu_snapshot(server.pid)
        with RssMonitor(server.pid) as rss, PostgresCpu() as pg_cpu:
            stats, wall = run_phase(clients, pairs, patients, pdf, cycles, max_seconds)
        cpu1, me1, all1 = cpu_snapshot(server.pid)
        pg_s = pg_cpu.seconds if pg else 0.0
    finally:
        for c in clients:
            c.close()
    return RunResult(
        database=database,
        concurrency=concurrency,
        cycles=sum(s.cycles for s in stats),
        errors=sum(s.errors for s in stats),
        wall_s=wall,
        operations=sum(s.operations for s in stats),
        latencies={step: [x for s in stats for x in s.latencies[step]] for step in STEPS},
        server_cpu_s=cpu1 - cpu0,
        postgres_cpu_s=pg_s if pg else None,
        client_cpu_s=me1 - me0,
        other_cpu_s=max(0.0, (all1 - all0) - (cpu1 - cpu0) - pg_s - (me1 - me0)),
        peak_rss=rss.peak,
        error_samples=[e for s in stats for e in s.error_samples][:5],
    )


# --------------------------------------------------------------------------------------------
# One database


@contextmanager
def workdir(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sisra-bench-"))
    try:
        yield path
    finally:
        if keep:
            print(f"  (kept {path})", file=sys.stderr)
        else:
            shutil.rmtree(path, ignore_errors=True)


def bench_database(database: str, args: argparse.Namespace, pdf: bytes) -> list[RunResult]:
    concurrencies: list[int] = args.concurrency
    n_pros = max(MIN_PROFESSIONALS, max(concurrencies) + 1)
    results: list[RunResult] = []
    with workdir(args.keep) as tmp:
        if database == "sqlite":
            url = f"sqlite:///{(tmp / 'sisra.db').as_posix()}"
        else:
            url = args.pg_url
            recreate_postgres(url)
        t0 = time.perf_counter()
        seeded = seed(url, n_pros, N_PATIENTS)
        log(
            f"[{database}] database ready in {time.perf_counter() - t0:.1f} s "
            f"({n_pros} professionals, {N_PATIENTS} patients)"
        )
        with mail_sink() as (mailbox, mail_env):
            server = Server(url, tmp, args.server_workers, mail_env)
            try:
                server.start()
                log(f"[{database}] server pid {server.pid} on {server.url}")
                with httpx.Client(base_url=server.url, timeout=60) as client:
                    for account in seeded.professionals:
                        login(client, account, mailbox)
                for concurrency in concurrencies:
                    result = run_concurrency(
                        database,
                        server,
                        seeded.professionals,
                        seeded.patients,
                        pdf,
                        concurrency,
                        args.cycles,
                        args.warmup,
                        args.max_seconds,
                    )
                    results.append(result)
                    log(
                        f"[{database}] concurrency {concurrency}: {result.cycles} cycles, "
                        f"{result.errors} errors, {result.docs_per_s:.1f} docs/s"
                    )
                    for sample in result.error_samples:
                        log(f"    error: {sample}")
                if server.proc is not None and server.proc.poll() is not None:
                    raise BenchError(f"the server died:\n{server.log_tail()}")
                problems = server.problem_lines()
                if problems:
                    log(f"[{database}] server log: {len(problems)} error/warning lines, e.g.")
                    for line in problems[:5]:
                        log(f"    {line}")
            finally:
                server.stop()
    return results


# --------------------------------------------------------------------------------------------
# Output


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{1000 * seconds:.1f}"


def _opt(value: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def text_report(results: list[RunResult], pdf_size: int) -> str:
    out: list[str] = []
    for r in results:
        out.append("")
        out.append(f"== {r.database}, concurrency {r.concurrency} ==")
        out.append(
            f"  cycles {r.cycles} ok, {r.errors} failed, in {r.wall_s:.1f} s "
            f"-> {r.docs_per_s:.1f} documents/s ({pdf_size / 1024:.0f} KiB PDF)"
        )
        out.append(f"  {'step':<10}{'n':>7}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
        for step in STEPS:
            lat = r.latencies[step]
            out.append(
                f"  {step:<10}{len(lat):>7}{_ms(percentile(lat, 50)):>10}"
                f"{_ms(percentile(lat, 99)):>10}{_ms(max(lat) if lat else math.nan):>10}"
            )
        out.append(
            f"  server CPU {_opt(r.per_op_ms(r.server_cpu_s))} ms/op over {r.operations} HTTP "
            f"ops ({r.server_cpu_s:.1f} s, {100 * r.server_cpu_s / r.wall_s:.0f}% of one core)"
        )
        if r.postgres_cpu_s is not None:
            out.append(
                f"  postgres CPU {_opt(r.per_op_ms(r.postgres_cpu_s))} ms/op "
                f"({r.postgres_cpu_s:.1f} s, all postgres processes)"
            )
        out.append(
            f"  client CPU {_opt(r.per_op_ms(r.client_cpu_s))} ms/op (this script, same machine)"
        )
        out.append(
            f"  other processes on the machine: {r.other_cpu_s:.1f} CPU s "
            f"({100 * r.other_cpu_s / r.wall_s:.0f}% of one core; ideally close to 0)"
        )
        out.append(f"  server peak RSS {r.peak_rss / 2**20:.0f} MiB")
    return "\n".join(out)


def markdown_report(results: list[RunResult]) -> str:
    head = (
        "| Database | Conc. | Cycles ok / failed | Docs/s "
        "| share p50 / p99 ms | inbox p50 / p99 ms | download p50 / p99 ms "
        "| receipt p50 / p99 ms | Server CPU ms/op | PG CPU ms/op | Server peak RSS MiB "
        "| Other load % core |"
    )
    lines = [head, "|" + "|".join(["---"] * (head.count("|") - 1)) + "|"]
    for r in results:
        cells = [
            r.database,
            str(r.concurrency),
            f"{r.cycles} / {r.errors}",
            f"{r.docs_per_s:.1f}",
            *(
                f"{_ms(percentile(r.latencies[s], 50))} / {_ms(percentile(r.latencies[s], 99))}"
                for s in STEPS
            ),
            _opt(r.per_op_ms(r.server_cpu_s)),
            _opt(r.per_op_ms(r.postgres_cpu_s)),
            f"{r.peak_rss / 2**20:.0f}",
            f"{100 * r.other_cpu_s / r.wall_s:.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument(
        "--cycles",
        type=int,
        default=500,
        help="measured cycles per (database, concurrency) (default 500)",
    )
    p.add_argument(
        "--concurrency",
        type=lambda s: [int(x) for x in s.split(",") if x.strip()],
        default=[1, 16],
        help="comma-separated worker counts (default 1,16)",
    )
    p.add_argument("--pg-url", default=DEFAULT_PG_URL, help=f"default {DEFAULT_PG_URL}")
    p.add_argument(
        "--warmup", type=int, default=2, help="unmeasured cycles per worker before each run"
    )
    p.add_argument(
        "--max-seconds",
        type=float,
        default=50.0,
        help="time cap of one measured run; it stops early with fewer cycles (default 50)",
    )
    p.add_argument(
        "--server-workers",
        type=int,
        default=1,
        help="uvicorn worker processes of the server (sisra serve --workers; default 1)",
    )
    p.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = p.parse_args(argv)
    if args.cycles < 1 or not args.concurrency or min(args.concurrency) < 1:
        p.error("--cycles and every --concurrency must be at least 1")
    if max(args.concurrency) > 64:
        p.error("--concurrency is capped at 64")
    if not 1 <= args.server_workers <= 8:
        p.error("--server-workers must be between 1 and 8")
    if not args.pg_url.startswith("postgresql"):
        p.error("--pg-url must be a postgresql+psycopg:// URL")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    load = os.getloadavg()
    log(f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if load[0] > 0.5:
        log("warning: the machine is not idle; the numbers will be pessimistic")
    pdf = make_pdf()
    log(f"PDF: {len(pdf)} bytes, sha256 {hashlib.sha256(pdf).hexdigest()[:16]}…")
    results: list[RunResult] = []
    failed = False
    started = time.perf_counter()
    for database in databases:
        try:
            results += bench_database(database, args, pdf)
        except Exception as exc:  # report and go on with the other database
            failed = True
            log(f"[{database}] FAILED: {type(exc).__name__}: {exc}")
    if "postgres" in databases:
        try:
            log(f"PostgreSQL server {postgres_version(args.pg_url)}")
        except Exception as exc:
            log(f"PostgreSQL version unavailable: {exc}")
    print(text_report(results, len(pdf)))
    if args.markdown:
        print()
        print(markdown_report(results))
    load = os.getloadavg()
    log(f"total {time.perf_counter() - started:.0f} s; load average {load[0]:.2f}")
    if any(r.errors for r in results):
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

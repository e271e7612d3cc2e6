"""Benchmark of the MonSisra sync engine against the real server.

Two measurements, for each database (SQLite file, PostgreSQL):

1. **live**: one recipient runs ``SyncEngine.run`` in a thread (live events, export into a
   temporary folder); one sender shares N ~100 KB PDFs one after another, each only once the
   previous one is on disk. Latency = from the share's HTTP 201 response (and, second row,
   from the start of the share request) to the engine's ``on_change("exported", ...)``
   callback, which fires after the exporter's atomic rename; the file's existence is checked.
2. **backfill**: M notifications are created beforehand for a fresh recipient (shares from
   several senders in a thread pool, not timed); then a fresh engine runs
   ``catch_up(since=since_days(60))`` + ``process_due()``, which is timed. The script checks
   that exactly M files were exported with the right content and that the platform shows M
   delivery receipts (``delivered_at`` in the inbox).

It reuses ``flow.py`` (PDF, seeding, server subprocess, SMTP sink, CPU accounting).

    .venv/bin/python bench/sync.py [--db sqlite|postgres|both] [--shares 200]
                                   [--backfill 1000] [--markdown]

Only loopback addresses are contacted; every loop is bounded in count and in time.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import inspect
import json
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import flow
from sisra.client.api import PlatformClient
from sisra.client.auth import Credentials
from sisra.client.items import InboxItem
from sisra.client.state import ItemState, LocalState
from sisra.client.sync import (
    CredentialTokens,
    Exporter,
    SyncEngine,
    since_days,
)

N_PATIENTS = 20
N_SENDERS = 4  # backfill senders (the live phase uses the first one)
EXPORT_TIMEOUT_S = 30.0  # one share that is not on disk after this counts as failed
ONLINE_TIMEOUT_S = 30.0
MAX_LIVE_FAILURES = 5
WARMUP_SHARES = 3
PDF_PROFILE_ID = "pdf"  # « PDF seul » in sisra/client/export/profiles.json


class BenchError(flow.BenchError):
    pass


# --------------------------------------------------------------------------------------------
# The exporter: the project's « PDF seul » profile when available, else a minimal one


def _as_paths(result: Any) -> list[Path]:
    """The files an exporter reports, whatever shape ``write_export`` returns."""
    if result is None:
        return []
    if isinstance(result, str | os.PathLike):
        return [Path(result)]
    for attr in ("files", "paths"):
        if hasattr(result, attr):
            return _as_paths(getattr(result, attr))
    return [Path(p) for p in result]


def project_exporter(folder: Path) -> tuple[Exporter, str] | None:
    """``sisra.client.export.write_export`` with the « PDF seul » profile, if it exists."""
    try:
        import sisra.client.export as export
    except ImportError:
        return None
    write_export = getattr(export, "write_export", None)
    get_profile = getattr(export, "get_profile", None)
    load_profiles = getattr(export, "load_profiles", None)
    if write_export is None or (get_profile is None and load_profiles is None):
        return None
    folder_exporter = getattr(export, "FolderExporter", None)
    if folder_exporter is not None and get_profile is not None:
        # as sisra.client.engine.exporter_for: its files staged in the download threads
        # (decision 208)
        profile = get_profile(PDF_PROFILE_ID)
        label = getattr(profile, "label", PDF_PROFILE_ID)
        return folder_exporter(profile, folder), (
            f"sisra.client.export.FolderExporter, profile {PDF_PROFILE_ID!r} ({label})"
        )
    if get_profile is not None:
        profile = get_profile(PDF_PROFILE_ID)
    else:
        assert load_profiles is not None
        matches = [p for p in load_profiles() if getattr(p, "id", None) == PDF_PROFILE_ID]
        if not matches:
            return None
        profile = matches[0]

    # as sisra.client.engine.exporter_for: the engine verified the PDF, so its SHA-256 is
    # handed over, and the engine fsyncs the folder itself, when write_export takes these
    # (older code reads the PDF for its SHA-256 and fsyncs the folder at each export)
    known = {"sha256", "sync_folder"} <= set(inspect.signature(write_export).parameters)

    def export_item(item: InboxItem, pdf: Path) -> list[Path]:
        # the profiles raise the engine's own ExportError, as sisra.client.engine relies on
        extra: dict[str, Any] = {}
        if known:
            extra = {"sha256": item.document.sha256, "sync_folder": False}
        return _as_paths(write_export(profile, folder, item, pdf, **extra))

    label = getattr(profile, "label", PDF_PROFILE_ID)
    return export_item, f"sisra.client.export.write_export, profile {PDF_PROFILE_ID!r} ({label})"


def minimal_exporter(folder: Path) -> Exporter:
    """Copy the PDF to ``<folder>/<notification id>.pdf`` atomically (temporary file in the
    same folder, fsync, os.replace)."""

    def export_item(item: InboxItem, pdf: Path) -> list[Path]:
        final = folder / f"{item.id}.pdf"
        tmp = folder / f".{final.name}.part"
        with tmp.open("wb") as out, pdf.open("rb") as src:
            while chunk := src.read(1 << 20):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, final)
        return [final]

    return export_item


def make_exporter(folder: Path) -> tuple[Exporter, str]:
    found = project_exporter(folder)
    if found is not None:
        return found
    return minimal_exporter(folder), (
        "minimal exporter of this script (sisra.client.export has no write_export yet): "
        "temporary file in the folder, fsync, os.replace"
    )


def exported_files(folder: Path) -> list[Path]:
    """Visible files in an export folder (temporary ``.*.part`` files excluded)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


# --------------------------------------------------------------------------------------------
# Accounts, shares, engines


def login_tokens(
    client: httpx.Client, account: flow.Account, mailbox: flow.Mailbox | None
) -> dict[str, Any]:
    """The two-step login, as MonSisra enrols a computer; returns the whole token answer."""
    return flow.login(client, account, mailbox, device_name="MonSisra (bench)")


def share(
    client: httpx.Client,
    sender: flow.Account,
    recipient: flow.Account,
    patient_id: str,
    pdf: bytes,
    title: str,
) -> str:
    """Share ``pdf`` with one recipient; returns the recipient's notification id."""
    metadata = {
        "patient_id": patient_id,
        "title": title,
        "type_code": "cr_consultation",
        "clinical_date": (datetime.now(UTC).date() - timedelta(days=1)).isoformat(),
        "recipients": [recipient.id],
    }
    r = client.post(
        "/api/v1/documents",
        headers=flow.auth(sender),
        data={"metadata": json.dumps(metadata)},
        files={"file": ("cr.pdf", pdf, "application/pdf")},
    )
    if r.status_code != 201:
        raise BenchError(f"share: HTTP {r.status_code} {r.text[:300]}")
    notes = r.json()["notifications"]
    if len(notes) != 1:
        raise BenchError(f"share: expected one notification, got {notes}")
    return str(notes[0])


@dataclass
class EngineBox:
    """A sync engine with its local state, HTTP client and export folder."""

    engine: SyncEngine
    state: LocalState
    client: PlatformClient
    folder: Path
    exporter_label: str

    def close(self) -> None:
        self.state.close()
        self.client.close()


def make_engine(
    server_url: str,
    tokens: dict[str, Any],
    root: Path,
    on_change: Callable[[str, ItemState | None], None] | None = None,
) -> EngineBox:
    root.mkdir(parents=True)
    folder = root / "export"
    folder.mkdir()
    client = PlatformClient(server_url)
    creds = Credentials.from_tokens(server_url, tokens)
    state = LocalState(root / "state.db")
    exporter, label = make_exporter(folder)
    engine = SyncEngine(
        client, CredentialTokens(client, creds), state, exporter, root / "work", on_change
    )
    return EngineBox(engine, state, client, folder, label)


def inbox_items(server_url: str, token: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = 0
    with httpx.Client(base_url=server_url, timeout=60) as client:
        for _ in range(1000):
            r = client.get(
                "/api/v1/inbox",
                params={"after": cursor, "limit": 500},
                headers={"Authorization": f"Bearer {token}"},
            )
            r.raise_for_status()
            page = r.json()
            items += page["items"]
            cursor = int(page["next_cursor"])
            if not page["has_more"]:
                break
    return items


def check_contents(files: list[Path], sha: str) -> int:
    """How many of ``files`` differ from the shared PDF."""
    return sum(hashlib.sha256(p.read_bytes()).hexdigest() != sha for p in files)


# --------------------------------------------------------------------------------------------
# CPU accounting over a phase (server, PostgreSQL, this script, everything else)


@dataclass
class Cpu:
    server_s: float = 0.0
    postgres_s: float | None = None
    own_s: float = 0.0
    other_s: float = 0.0


class CpuMeter:
    def __init__(self, server_pid: int, postgres: bool) -> None:
        self.pid, self.postgres = server_pid, postgres
        self.result = Cpu()

    def __enter__(self) -> CpuMeter:
        self._pg = flow.PostgresCpu().__enter__()
        self._t0 = flow.cpu_snapshot(self.pid)
        return self

    def __exit__(self, *_exc: object) -> None:
        s1, m1, a1 = flow.cpu_snapshot(self.pid)
        self._pg.__exit__()
        s0, m0, a0 = self._t0
        p = self._pg.seconds if self.postgres else 0.0
        self.result = Cpu(
            server_s=s1 - s0,
            postgres_s=p if self.postgres else None,
            own_s=m1 - m0,
            other_s=max(0.0, (a1 - a0) - (s1 - s0) - p - (m1 - m0)),
        )


# --------------------------------------------------------------------------------------------
# Phase 1: share → file on disk, with a running engine


@dataclass
class LiveResult:
    database: str
    shares: int
    ok: int
    wall_s: float
    from_response: list[float]  # 201 response received → exported callback
    from_request: list[float]  # share request started → exported callback
    share_request: list[float]  # the share request alone
    content_errors: int
    cpu: Cpu
    engine_stop_s: float = math.nan
    exporter: str = ""
    errors: list[str] = field(default_factory=list)


class ExportWatch:
    """Collects ``on_change("exported", ...)`` callbacks with their time."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.exported: dict[str, tuple[float, list[str]]] = {}
        self.failed: dict[str, str] = {}
        self.statuses: list[str] = []

    def on_change(self, kind: str, item: ItemState | None) -> None:
        now = time.perf_counter()
        if item is None:
            return
        with self.cond:
            if kind == "exported":
                self.exported[item.id] = (now, list(item.files))
            elif kind == "failed":
                self.failed[item.id] = f"{item.error_code}: {item.error_message}"
            self.cond.notify_all()

    def on_status(self, code: str, _message: str) -> None:
        with self.cond:
            self.statuses.append(code)
            self.cond.notify_all()


def run_live(
    database: str,
    server: flow.Server,
    tokens: dict[str, Any],
    sender: flow.Account,
    recipient: flow.Account,
    patients: list[str],
    pdf: bytes,
    n: int,
    root: Path,
    max_seconds: float,
) -> tuple[LiveResult, Callable[[], float]]:
    """Returns the result and a function that waits for the engine to stop (the engine is
    told to stop at the end; it only notices at its next SSE line, so the caller joins it
    later, after other work)."""
    watch = ExportWatch()
    box = make_engine(server.url, tokens, root, watch.on_change)
    stop = threading.Event()
    crash: list[BaseException] = []
    ended_at = [math.nan]

    def runner() -> None:
        try:
            box.engine.run(stop, watch.on_status)
        except BaseException as exc:  # reported by the sender loop
            crash.append(exc)
            with watch.cond:
                watch.cond.notify_all()
        finally:
            ended_at[0] = time.perf_counter()

    sha = hashlib.sha256(pdf).hexdigest()
    result = LiveResult(database, n, 0, 0.0, [], [], [], 0, Cpu(), exporter=box.exporter_label)
    files: list[Path] = []
    http = httpx.Client(base_url=server.url, timeout=60)
    thread = threading.Thread(target=runner, name="sync-engine", daemon=True)

    def one(index: int, measured: bool) -> None:
        t0 = time.perf_counter()
        note = share(
            http, sender, recipient, patients[index % len(patients)], pdf, f"Direct {index:04d}"
        )
        t1 = time.perf_counter()
        with watch.cond:
            done = watch.cond.wait_for(
                lambda: note in watch.exported or note in watch.failed or bool(crash),
                EXPORT_TIMEOUT_S,
            )
            exported = watch.exported.get(note)
            failure = watch.failed.get(note)
        if crash:
            raise BenchError(f"the engine crashed: {crash[0]!r}")
        if exported is None:
            raise BenchError(
                f"share {index}: {'export failed: ' + str(failure) if done else 'not exported'}"
                f" after {EXPORT_TIMEOUT_S:.0f} s"
            )
        at, paths = exported
        if not paths or not all(Path(p).is_file() for p in paths):
            raise BenchError(f"share {index}: exported but the file is missing: {paths}")
        if measured:
            result.share_request.append(t1 - t0)
            result.from_response.append(at - t1)
            result.from_request.append(at - t0)
            files.extend(Path(p) for p in paths if p.lower().endswith(".pdf"))

    try:
        thread.start()
        with watch.cond:
            online = watch.cond.wait_for(
                lambda: "online" in watch.statuses or bool(crash), ONLINE_TIMEOUT_S
            )
        if crash or not online:
            reason = repr(crash[0]) if crash else f"not online, statuses {watch.statuses}"
            raise BenchError(f"the engine did not start: {reason}")
        for i in range(WARMUP_SHARES):
            one(-1 - i, measured=False)
        deadline = time.monotonic() + max_seconds
        with CpuMeter(server.pid, database == "postgres") as meter:
            started = time.perf_counter()
            for i in range(n):
                if time.monotonic() > deadline:
                    result.errors.append(
                        f"time cap of {max_seconds:.0f} s reached after {i} shares"
                    )
                    break
                try:
                    one(i, measured=True)
                    result.ok += 1
                except (BenchError, httpx.HTTPError) as exc:
                    result.errors.append(str(exc))
                    if crash or len(result.errors) >= MAX_LIVE_FAILURES:
                        break
            result.wall_s = time.perf_counter() - started
        result.cpu = meter.result
    except BaseException:
        stop.set()
        box.engine.interrupt()
        thread.join(30)
        box.close()
        raise
    finally:
        http.close()
        stop_asked = time.perf_counter()
        stop.set()
        box.engine.interrupt()  # as MonSisra does: the live stream ends now, not at a keepalive

    result.content_errors = check_contents(files, sha)

    def join() -> float:
        """Wait for the engine thread; returns how long it took to stop after ``stop``."""
        thread.join(90)
        if thread.is_alive():
            raise BenchError("the engine did not stop within 90 s")
        box.close()
        if crash and not any("crashed" in e for e in result.errors):
            result.errors.append(f"the engine crashed: {crash[0]!r}")
        return ended_at[0] - stop_asked

    return result, join


# --------------------------------------------------------------------------------------------
# Phase 2: backfill of M documents by a fresh engine


@dataclass
class BackfillResult:
    database: str
    documents: int
    prepare_s: float
    catch_up_s: float
    process_s: float
    new_items: int
    exported: int
    failed: int
    files: int
    content_errors: int
    receipts: int
    leftovers: int
    cpu: Cpu
    exporter: str = ""
    failures: list[str] = field(default_factory=list)

    @property
    def total_s(self) -> float:
        return self.catch_up_s + self.process_s

    @property
    def docs_per_s(self) -> float:
        return self.exported / self.total_s if self.total_s > 0 else 0.0

    @property
    def ok(self) -> bool:
        m = self.documents
        return (
            self.new_items == m
            and self.exported == m
            and self.failed == 0
            and self.files == m
            and self.content_errors == 0
            and self.receipts == m
            and self.leftovers == 0
        )


def prepare_backfill(
    server: flow.Server,
    senders: list[flow.Account],
    recipient: flow.Account,
    patients: list[str],
    pdf: bytes,
    m: int,
) -> float:
    """Share ``m`` documents with ``recipient`` from ``senders`` (one thread each)."""
    clients = [httpx.Client(base_url=server.url, timeout=120) for _ in senders]
    started = time.perf_counter()
    last_log = [started]
    done = [0]
    lock = threading.Lock()

    def one(i: int) -> str:
        k = i % len(senders)
        note = share(
            clients[k],
            senders[k],
            recipient,
            patients[i % len(patients)],
            pdf,
            f"Rattrapage {i:05d}",
        )
        with lock:
            done[0] += 1
            if time.perf_counter() - last_log[0] > 10:
                last_log[0] = time.perf_counter()
                flow.log(f"    {done[0]}/{m} shares created")
        return note

    try:
        with ThreadPoolExecutor(len(senders), thread_name_prefix="prepare") as pool:
            notes = list(pool.map(one, range(m)))
    finally:
        for c in clients:
            c.close()
    if len(set(notes)) != m:
        raise BenchError(f"{m} shares gave {len(set(notes))} distinct notifications")
    return time.perf_counter() - started


def run_backfill(
    database: str,
    server: flow.Server,
    tokens: dict[str, Any],
    pdf: bytes,
    m: int,
    prepare_s: float,
    root: Path,
    profile: Path | None = None,
) -> BackfillResult:
    box = make_engine(server.url, tokens, root)
    profiler = cProfile.Profile() if profile is not None else None
    try:
        with CpuMeter(server.pid, database == "postgres") as meter:
            if profiler is not None:
                profiler.enable()
            t0 = time.perf_counter()
            new = box.engine.catch_up(since=since_days(60))
            t1 = time.perf_counter()
            report = box.engine.process_due()
            t2 = time.perf_counter()
            if profiler is not None:
                profiler.disable()
        if profiler is not None and profile is not None:
            profiler.dump_stats(profile)
            flow.log(f"[{database}] backfill profile (calling thread only) in {profile}")
        files = exported_files(box.folder)
        pdfs = [p for p in files if p.suffix.lower() == ".pdf"]
        failures = [f"{f.error_code}: {f.error_message}" for f in box.state.failures()][:5]
        items = inbox_items(server.url, box.engine.tokens.access_token())
        leftovers = [p for p in box.folder.iterdir() if p.name.startswith(".")]
        return BackfillResult(
            database=database,
            documents=m,
            prepare_s=prepare_s,
            catch_up_s=t1 - t0,
            process_s=t2 - t1,
            new_items=new,
            exported=report.exported,
            failed=report.failed,
            files=len(pdfs),
            content_errors=check_contents(pdfs, hashlib.sha256(pdf).hexdigest()),
            receipts=sum(1 for i in items if i.get("delivered_at")),
            leftovers=len(leftovers),
            cpu=meter.result,
            exporter=box.exporter_label,
            failures=failures,
        )
    finally:
        box.close()


# --------------------------------------------------------------------------------------------
# One database


def bench_database(
    database: str, args: argparse.Namespace, pdf: bytes
) -> tuple[LiveResult | None, BackfillResult | None]:
    n_pros = 2 + N_SENDERS
    with flow.workdir(args.keep) as tmp:
        if database == "sqlite":
            url = f"sqlite:///{(tmp / 'sisra.db').as_posix()}"
        else:
            url = args.pg_url
            flow.recreate_postgres(url)
        t0 = time.perf_counter()
        seeded = flow.seed(url, n_pros, N_PATIENTS)
        flow.log(f"[{database}] database ready in {time.perf_counter() - t0:.1f} s")
        live_rcpt, backfill_rcpt, *senders = seeded.professionals
        with flow.mail_sink() as (mailbox, mail_env):
            server = flow.Server(url, tmp, 1, mail_env)
            try:
                server.start()
                flow.log(f"[{database}] server pid {server.pid} on {server.url}")
                with httpx.Client(base_url=server.url, timeout=60) as client:
                    for account in senders:
                        flow.login(client, account, mailbox)
                    live_tokens = login_tokens(client, live_rcpt, mailbox)
                    backfill_tokens = login_tokens(client, backfill_rcpt, mailbox)

                live: LiveResult | None = None
                join: Callable[[], float] | None = None
                if args.shares:
                    flow.log(f"[{database}] live: {args.shares} shares, one at a time")
                    live, join = run_live(
                        database,
                        server,
                        live_tokens,
                        senders[0],
                        live_rcpt,
                        seeded.patients,
                        pdf,
                        args.shares,
                        tmp / "engine-live",
                        args.max_seconds,
                    )
                    flow.log(
                        f"[{database}] live: {live.ok}/{live.shares} on disk, p50 "
                        f"{_ms(flow.percentile(live.from_response, 50))} ms after the 201"
                    )
                    for error in live.errors[:5]:
                        flow.log(f"    error: {error}")

                backfill: BackfillResult | None = None
                if args.backfill:
                    flow.log(f"[{database}] backfill: creating {args.backfill} shares (untimed)")
                    prepare_s = prepare_backfill(
                        server, senders, backfill_rcpt, seeded.patients, pdf, args.backfill
                    )
                    flow.log(f"[{database}] backfill: created in {prepare_s:.1f} s")
                if live is not None and join is not None:
                    live.engine_stop_s = join()
                    flow.log(
                        f"[{database}] live engine stopped {live.engine_stop_s:.1f} s after stop"
                    )
                if args.backfill:
                    backfill = run_backfill(
                        database,
                        server,
                        backfill_tokens,
                        pdf,
                        args.backfill,
                        prepare_s,
                        tmp / "engine-backfill",
                        args.profile,
                    )
                    flow.log(
                        f"[{database}] backfill: {backfill.exported} exported in "
                        f"{backfill.total_s:.1f} s ({backfill.docs_per_s:.1f} docs/s)"
                    )
                if server.proc is not None and server.proc.poll() is not None:
                    raise BenchError(f"the server died:\n{server.log_tail()}")
                problems = server.problem_lines()
                if problems:
                    flow.log(f"[{database}] server log: {len(problems)} error/warning lines, e.g.")
                    for line in problems[:5]:
                        flow.log(f"    {line}")
            finally:
                server.stop()
    return live, backfill


# --------------------------------------------------------------------------------------------
# Output


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{1000 * seconds:.1f}"


def _pcts(values: list[float]) -> tuple[str, str, str, str]:
    return (
        _ms(flow.percentile(values, 50)),
        _ms(flow.percentile(values, 99)),
        _ms(max(values) if values else math.nan),
        _ms(min(values) if values else math.nan),
    )


def _core(cpu_s: float, wall_s: float) -> str:
    return f"{100 * cpu_s / wall_s:.0f}" if wall_s > 0 else "-"


def text_report(lives: list[LiveResult], backfills: list[BackfillResult], pdf_size: int) -> str:
    out: list[str] = []
    for r in lives:
        out += [
            "",
            f"== {r.database}: share -> file on disk (engine running, one share at a time) ==",
            f"  exporter: {r.exporter}",
            f"  {r.ok}/{r.shares} shares on disk in {r.wall_s:.1f} s "
            f"({pdf_size / 1024:.0f} KiB PDF); {r.content_errors} files with a wrong content",
            f"  {'latency':<34}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'min ms':>9}",
        ]
        for label, values in (
            ("201 response -> exported", r.from_response),
            ("share request start -> exported", r.from_request),
            ("share request alone", r.share_request),
        ):
            p50, p99, mx, mn = _pcts(values)
            out.append(f"  {label:<34}{len(values):>6}{p50:>9}{p99:>9}{mx:>9}{mn:>9}")
        out.append(
            f"  server CPU {1000 * r.cpu.server_s / max(r.ok, 1):.1f} ms/share "
            f"({_core(r.cpu.server_s, r.wall_s)}% of one core); this script (sender + engine) "
            f"{1000 * r.cpu.own_s / max(r.ok, 1):.1f} ms/share; other processes "
            f"{_core(r.cpu.other_s, r.wall_s)}% of one core"
        )
        if r.cpu.postgres_s is not None:
            out.append(f"  postgres CPU {1000 * r.cpu.postgres_s / max(r.ok, 1):.1f} ms/share")
        out.append(f"  the engine stopped {r.engine_stop_s:.1f} s after being asked to")
        for e in r.errors[:5]:
            out.append(f"  error: {e}")
    for b in backfills:
        out += [
            "",
            f"== {b.database}: backfill of {b.documents} documents by a fresh engine ==",
            f"  exporter: {b.exporter}",
            f"  catch_up(since=since_days(60)) {b.catch_up_s:.2f} s ({b.new_items} new items), "
            f"process_due() {b.process_s:.2f} s",
            f"  total {b.total_s:.1f} s -> {b.docs_per_s:.1f} documents/s "
            f"({1000 * b.total_s / max(b.exported, 1):.1f} ms/document)",
            f"  checks: {b.exported} exported, {b.failed} failed, {b.files} PDF files in the "
            f"folder, {b.content_errors} with a wrong content, {b.leftovers} temporary files "
            f"left, {b.receipts} delivered_at on the platform -> {'OK' if b.ok else 'FAILED'}",
            f"  server CPU {1000 * b.cpu.server_s / max(b.exported, 1):.1f} ms/document "
            f"({_core(b.cpu.server_s, b.total_s)}% of one core); engine (this script) "
            f"{1000 * b.cpu.own_s / max(b.exported, 1):.1f} ms/document "
            f"({_core(b.cpu.own_s, b.total_s)}% of one core); other processes "
            f"{_core(b.cpu.other_s, b.total_s)}% of one core",
        ]
        if b.cpu.postgres_s is not None:
            out.append(
                f"  postgres CPU {1000 * b.cpu.postgres_s / max(b.exported, 1):.1f} ms/document"
            )
        out.append(
            f"  (preparation, not timed above: {b.documents} shares from {N_SENDERS} senders "
            f"in {b.prepare_s:.1f} s)"
        )
        for f in b.failures:
            out.append(f"  failure: {f}")
    return "\n".join(out)


def markdown_report(lives: list[LiveResult], backfills: list[BackfillResult]) -> str:
    lines: list[str] = []
    if lives:
        head = (
            "| Database | Shares on disk | 201 → exported p50 / p99 / max ms "
            "| request start → exported p50 / p99 / max ms | share request p50 / p99 ms "
            "| Server CPU ms/share | Script CPU ms/share | Other load % core |"
        )
        lines += [head, "|" + "|".join(["---"] * (head.count("|") - 1)) + "|"]
        for r in lives:
            resp, req, alone = (
                _pcts(v)[:3] for v in (r.from_response, r.from_request, r.share_request)
            )
            cells = [
                r.database,
                f"{r.ok} / {r.shares}",
                " / ".join(resp),
                " / ".join(req),
                " / ".join(alone[:2]),
                f"{1000 * r.cpu.server_s / max(r.ok, 1):.1f}",
                f"{1000 * r.cpu.own_s / max(r.ok, 1):.1f}",
                _core(r.cpu.other_s, r.wall_s),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    if backfills:
        if lines:
            lines.append("")
        head = (
            "| Database | Documents | catch_up s | process_due s | Total s | Docs/s "
            "| Files / receipts | Server CPU ms/doc | Engine CPU ms/doc | Other load % core |"
        )
        lines += [head, "|" + "|".join(["---"] * (head.count("|") - 1)) + "|"]
        for b in backfills:
            cells = [
                b.database,
                str(b.documents),
                f"{b.catch_up_s:.2f}",
                f"{b.process_s:.1f}",
                f"{b.total_s:.1f}",
                f"{b.docs_per_s:.1f}",
                f"{b.files} / {b.receipts}" + ("" if b.ok else " (FAILED)"),
                f"{1000 * b.cpu.server_s / max(b.exported, 1):.1f}",
                f"{1000 * b.cpu.own_s / max(b.exported, 1):.1f}",
                _core(b.cpu.other_s, b.total_s),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    p.add_argument("--shares", type=int, default=200, help="live shares (default 200; 0 = skip)")
    p.add_argument(
        "--backfill", type=int, default=1000, help="backfilled documents (default 1000; 0 = skip)"
    )
    p.add_argument("--pg-url", default=flow.DEFAULT_PG_URL, help=f"default {flow.DEFAULT_PG_URL}")
    p.add_argument(
        "--max-seconds",
        type=float,
        default=120.0,
        help="time cap of the live phase; it stops early with fewer shares (default 120)",
    )
    p.add_argument("--markdown", action="store_true", help="also print Markdown tables")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="write a cProfile of the backfill (the calling thread) to this file",
    )
    args = p.parse_args(argv)
    if not 0 <= args.shares <= 10_000 or not 0 <= args.backfill <= 20_000:
        p.error("--shares must be 0..10000 and --backfill 0..20000")
    if not args.pg_url.startswith("postgresql"):
        p.error("--pg-url must be a postgresql+psycopg:// URL")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    load = os.getloadavg()
    flow.log(f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if load[0] > 0.5:
        flow.log("warning: the machine is not idle; the numbers will be pessimistic")
    pdf = flow.make_pdf()
    flow.log(f"PDF: {len(pdf)} bytes")
    lives: list[LiveResult] = []
    backfills: list[BackfillResult] = []
    failed = False
    started = time.perf_counter()
    for database in databases:
        try:
            live, backfill = bench_database(database, args, pdf)
        except Exception as exc:  # report and go on with the other database
            failed = True
            flow.log(f"[{database}] FAILED: {type(exc).__name__}: {exc}")
            continue
        if live is not None:
            lives.append(live)
            failed |= live.ok != live.shares or live.content_errors > 0
        if backfill is not None:
            backfills.append(backfill)
            failed |= not backfill.ok
    print(text_report(lives, backfills, len(pdf)))
    if args.markdown:
        print()
        print(markdown_report(lives, backfills))
    load = os.getloadavg()
    flow.log(f"total {time.perf_counter() - started:.0f} s; load average {load[0]:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

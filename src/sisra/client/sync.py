"""Background sync of one account: inbox catch-up by cursor, live events, export, receipts.

The order of every document is: download (resumable) → verify SHA-256 → export atomically
(the exporter writes a temporary file in the target folder, fsyncs, renames) → remember the
files locally → send the ``downloaded`` receipt. Each step is recorded in :class:`LocalState`
before the next, so a kill at any moment resumes where it stopped and never exports twice. A
failure is retried with backoff and listed with its reason until it succeeds; it is never
dropped. One document's failure never holds back the others: whatever an exporter raises
(its own :class:`ExportError`, a disk error, an unexpected exception from a writer) marks
that document failed with its reason, and the queue goes on. A failure that trying again
cannot cure (the document's own data, an unexpected error) is retried a few times
(``CONTENT_ATTEMPTS``) and then waits for the user's « Réessayer ». Live events (SSE) only
speed things up: after any gap the engine lists the inbox after its cursor, so nothing is
missed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx

from sisra.client.api import ApiError, PlatformClient
from sisra.client.auth import Credentials, StrongAuthRequired, refresh
from sisra.client.errors import EXPIRED, NETWORK, NO_REFRESH, ExportError, describe
from sisra.client.items import InboxItem
from sisra.client.state import ItemState, LocalState
from sisra.client.vault import fsync_dir

log = logging.getLogger(__name__)

BACKOFF_S = (5.0, 30.0, 120.0, 600.0, 1800.0)
# Failures that come from the document itself, not from the network or the folder: after
# this many tries MonSisra stops retrying on its own (the user's « Réessayer » still works).
CONTENT_FAILURES = frozenset({"invalid_content", "export_error"})
CONTENT_ATTEMPTS = 5
NEVER_S = 10 * 365 * 86400.0
LISTEN_S = 60.0  # a live stream is re-opened after a listing at least this often
CHUNK = 64 * 1024
# A backlog (enrolment, a night off) is downloaded this many documents at a time; exports and
# receipts stay one at a time, in the inbox's order (decision 201).
DOWNLOADS = 4
# ... and up to this many are downloaded ahead of the export (DOWNLOADS at a time): the
# exporting thread names and records those ready together, one folder fsync and one commit
# for them all (decision 208).
AHEAD = 16
# Answered receipts are marked in the state this many at a time (one commit): a mark lost in
# a crash only sends an idempotent receipt again.
RECEIPT_MARKS = 32
# At most this many receipts in one request (the platform's limit, decision 207).
GROUP_RECEIPTS = 100

Exporter = Callable[[InboxItem, Path], list[Path]]


class Staged(Protocol):
    """A document's files written under temporary names in its folder, not named yet."""

    def finish(self) -> list[Path]: ...  # named and renamed into place: the final paths

    def discard(self) -> None: ...  # removed: not exported in this run


class StagingExporter(Protocol):
    """An :data:`Exporter` that can also write a document's files first and name them after
    (``sisra.client.export.FolderExporter``): ``exporter(item, pdf)`` is
    ``exporter.stage(item, pdf).finish()``."""

    def __call__(self, item: InboxItem, pdf: Path) -> list[Path]: ...

    def stage(self, item: InboxItem, pdf: Path) -> Staged: ...


# a backlog's download: the verified PDF, and its files staged when the exporter can
Fetched = tuple[Path, Staged | None]
# each document's receipt: None when the platform recorded it, else why not
Receipts = dict[str, Exception | None]
T = TypeVar("T")


class Offline(Exception):
    """The platform cannot be reached (no network, or the platform down: ``code`` says
    which); the engine waits and resumes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class TokenSource(Protocol):
    def access_token(self) -> str: ...

    def refresh(self) -> None: ...

    def call(self, fn: Callable[[str], T]) -> T: ...


@dataclass
class CredentialTokens:
    """Tokens from :class:`Credentials`, refreshed on demand and saved through ``on_change``."""

    client: PlatformClient
    credentials: Credentials
    on_change: Callable[[Credentials], None] = lambda _c: None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def access_token(self) -> str:
        return self.credentials.access_token

    def refresh(self, stale: str | None = None) -> None:
        """New tokens; with ``stale``, only if the access token is still that one (several
        downloads that met the same expired token refresh it once: the refresh token
        rotates)."""
        with self._lock:
            if stale is not None and self.credentials.access_token != stale:
                return
            self.credentials = refresh(self.client, self.credentials)
            self.on_change(self.credentials)

    def call(self, fn: Callable[[str], T]) -> T:
        """``fn(access_token)``; an expired token (401) is refreshed once and ``fn`` retried.
        A refused account (strong authentication due, account disabled) is not: a refresh
        cannot cure it, a person must act."""
        token = self.access_token()
        try:
            return fn(token)
        except ApiError as exc:
            if exc.status != 401 or exc.code in NO_REFRESH:
                raise
        self.refresh(stale=token)
        return fn(self.access_token())


@dataclass
class Progress:
    done: int = 0
    total: int = 0
    exported: int = 0
    failed: int = 0


class SyncEngine:
    def __init__(
        self,
        client: PlatformClient,
        tokens: TokenSource,
        state: LocalState,
        exporter: Exporter,
        work_dir: Path,
        on_change: Callable[[str, ItemState | None], None] | None = None,
        on_connect: Callable[[], object] | None = None,
    ) -> None:
        self.client, self.tokens, self.state, self.exporter = client, tokens, state, exporter
        # called once, in the engine's thread, before the first catch-up (the platform's
        # name, contact and time zone are remembered then: sisra.client.region)
        self._on_connect = on_connect
        self.work_dir = work_dir
        self.on_change = on_change or (lambda _kind, _item: None)
        # set by another thread (« Réessayer », settings changed): the live stream returns at
        # its next line (at most one keepalive) and the loop catches up and exports at once
        self.wake = threading.Event()
        self._live: httpx.Response | None = None  # the open event stream, for interrupt()
        # while run() loops: a timer that cuts the live stream when a failed export is due
        self._running = False
        self._retry_timer: threading.Timer | None = None
        # a group's receipts in one request (decision 207), until a platform without it says so
        self._grouped_receipts = True
        # an exporter that writes its files in two steps (decision 208): the first in the
        # download threads of a backlog
        self._stage: Callable[[InboxItem, Path], Staged] | None = getattr(exporter, "stage", None)
        work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    # API calls with one transparent token refresh -----------------------------------------
    def _authorized(self, call: Callable[[str], Any]) -> Any:
        """``call(token)`` with one transparent refresh; an unreachable server → Offline."""
        try:
            return self.tokens.call(call)
        except ApiError as exc:
            if exc.unreachable:
                raise Offline(exc.code, exc.message) from exc
            raise

    # inbox ----------------------------------------------------------------------------------
    def catch_up(self, since: datetime | None = None) -> int:
        """Record every inbox item after the cursor; returns how many were new.

        With ``since`` (enrolment backfill), items created before it are recorded as
        ``skipped``: known, so never fetched later, but not exported.
        """
        if self._on_connect is not None:
            hook, self._on_connect = self._on_connect, None
            hook()
        new = 0
        while True:
            path = f"/api/v1/inbox?after={self.state.cursor}&limit=200"
            page = self._authorized(lambda t: self.client.get_json(path, token=t))  # noqa: B023
            fresh: list[str] = []
            # a page and its cursor in one transaction: one commit (fsync) instead of one per
            # item, and a kill leaves the page either recorded or to be listed again
            with self.state.batch():
                for item in map(InboxItem.from_json, page["items"]):
                    if self.state.record(item):
                        new += 1
                        if since is not None and item.created_at < since:
                            self.state.skip(item.id)
                        else:
                            fresh.append(item.id)
                self.state.set_cursor(int(page["next_cursor"]))
            for item_id in fresh:  # once committed: a listener may read the state at once
                self.on_change("new", self.state.get(item_id))
            if not page["has_more"]:
                return new

    def process_due(
        self, progress: Callable[[Progress], None] | None = None, downloads: int = DOWNLOADS
    ) -> Progress:
        """Every due item, in the inbox's order. With a backlog, up to ``downloads``
        documents are downloaded ahead in parallel (see :meth:`_pipeline`)."""
        due = self.state.due()
        report = Progress(total=len(due))
        results = self._pipeline(due, downloads) if downloads > 1 and len(due) > 1 else None
        for ok in results or (self.process(st) for st in due):
            report.done += 1
            report.exported += ok
            report.failed += not ok
            if progress:
                progress(report)
        return report

    def _pipeline(self, due: list[ItemState], downloads: int) -> Iterator[bool]:
        """What :meth:`process` does for each item, overlapped (decisions 201, 207, 208).

        ``downloads`` threads download the next documents (up to :data:`AHEAD` ahead), each
        into its own ``.part`` file, and stage their files in the practice's folder under
        temporary names, written and fsynced (when the exporter can:
        :meth:`StagingExporter.stage`); a thread of its own posts the receipts. The calling
        thread alone names and renames the files into place, in the
        inbox's order (two documents of the same name are numbered in that order), and
        writes the state: the documents whose download is over are exported one after the
        other, their files recorded in one transaction, and only then are their receipts
        posted; a receipt marks its document once it is answered. So, as one by one, no
        receipt goes before its files are fsynced in the folder and recorded, and a kill at
        any point leaves each document either recorded or to be exported again under the
        same name (the exporter reuses a name that holds the same content). An error that
        concerns the account (:class:`Offline`, a refused account) ends the loop as it did
        without the pool: downloads not started are cancelled, those under way finish into
        their ``.part`` file, which the next attempt resumes or verifies, and what was staged
        and not renamed is removed. A document counts (``True``) once exported; a receipt
        refused afterwards fails it in the state without counting it again."""
        run = _Backlog(self, due, downloads)
        try:
            while run.refill():
                yield from self._export_group(run)
                run.refill()  # the next downloads start before this group's receipts
                run.send_receipts()
                run.mark_answered(wait=False)
            run.send_receipts(force=True)
            run.mark_answered(wait=True)
        finally:
            run.close()

    def _export_group(self, run: _Backlog) -> Iterator[bool]:
        """Export the head of the backlog and every document after it already downloaded (up
        to :data:`AHEAD`), record them in one transaction, and queue their receipts."""
        to_ack: list[ItemState] = []
        exported: list[tuple[ItemState, list[Path], Path]] = []
        try:
            for st, download in run.next_group():
                if st.status == "exported":  # its receipt is what is left to do
                    to_ack.append(st)
                    continue
                try:
                    pdf, staged = run.take(st, download)
                    files = staged.finish() if staged is not None else self.exporter(st.item, pdf)
                    exported.append((st, files, pdf))
                except Exception as exc:
                    yield self._failure(st, exc)
                    continue
                to_ack.append(st)
                # counted as it reaches the folder: a progress callback that stops the loop
                # here (MonSisra's « Arrêter ») leaves as many files as it was told of,
                # recorded by the ``finally`` below, receipts to come
                yield True
        finally:  # also when an error ends the loop: what is in the folder is recorded
            unsynced = self._record_exported(exported)
        for st, error in unsynced:  # not durable: not acknowledged, tried again later
            to_ack.remove(st)
            self._failure(st, error)  # already counted: the state says it failed
        run.unsent.extend(to_ack)

    def _fetch(self, item: InboxItem) -> Fetched:
        """In a download thread: the verified PDF, and its files staged when the exporter
        can stage them."""
        pdf = self._download(item)
        return pdf, (self._stage(item, pdf) if self._stage is not None else None)

    def _record_exported(
        self, exported: list[tuple[ItemState, list[Path], Path]]
    ) -> list[tuple[ItemState, OSError]]:
        """Make a few exported documents' files durable (their folders fsynced once for all:
        the renames) and record them in one transaction (one fsync). When a folder cannot
        be synced, nothing is recorded and the documents are returned with the error."""
        if not exported:
            return []
        try:
            _sync_folders(f for _st, files, _pdf in exported for f in files)
        except OSError as exc:
            return [(st, exc) for st, _files, _pdf in exported]
        with self.state.batch():
            for st, files, _pdf in exported:
                self.state.mark_exported(st.id, files)
        for st, _files, pdf in exported:
            pdf.unlink(missing_ok=True)
            self.on_change("exported", self.state.current(st))
        return []

    def _answered(
        self, receipts: deque[tuple[ItemState, Future[Receipts]]], sent: list[str], wait: bool
    ) -> None:
        """The receipts answered at the head of ``receipts`` (all of them with ``wait``),
        added to ``sent``. A refused receipt fails its document as :meth:`process` does
        (retried later); its export was already counted."""
        while receipts and (wait or receipts[0][1].done()):
            st, answer = receipts.popleft()
            try:
                error = answer.result()[st.id]
            except Exception as exc:
                error = exc
            if error is not None:
                self._failure(st, error)
                continue
            sent.append(st.id)

    def _send_receipts(self, ids: list[str]) -> Receipts:
        """Several documents' « downloaded » receipts: one request where the platform takes
        them together (all or nothing), else one by one, so that a refused one fails alone.
        The platform cannot be reached, or the session ended: raised, for all of them."""
        if len(ids) > 1 and self._grouped_receipts:
            body = {"kind": "downloaded", "ids": ids}
            try:
                self._authorized(
                    lambda t: self.client.post_json("/api/v1/inbox/receipts", body, token=t)
                )
                return dict.fromkeys(ids)
            except ApiError as exc:
                if exc.state == EXPIRED:
                    raise
                if exc.status == 405:  # a platform from before decision 207
                    self._grouped_receipts = False
        answers: Receipts = {}
        for item_id in ids:
            try:
                self._send_receipt(item_id)
                answers[item_id] = None
            except Offline:
                raise
            except Exception as exc:
                answers[item_id] = exc
        return answers

    def _send_receipt(self, item_id: str) -> None:
        self._authorized(
            lambda t: self.client.post_json(
                f"/api/v1/inbox/{item_id}/receipts", {"kind": "downloaded"}, token=t
            )
        )

    def process(self, st: ItemState) -> bool:
        """Bring one item to « exported + receipt sent ». False when it failed (retried later)."""
        try:
            if st.status != "exported":
                pdf = self._download(st.item)
                files = self.exporter(st.item, pdf)
                _sync_folders(files)
                self.state.mark_exported(st.id, files)
                pdf.unlink(missing_ok=True)
                self.on_change("exported", self.state.get(st.id))
            if not (current := self.state.get(st.id)) or not current.receipt_sent:
                self._send_receipt(st.id)
                self.state.mark_receipt_sent(st.id)
            return True
        except Exception as exc:
            return self._failure(st, exc)

    def _failure(self, st: ItemState, exc: Exception) -> bool:
        """Record what went wrong with this document (False), or raise ``exc`` again when it
        is the account's state, not the document's (offline, refused account)."""
        if isinstance(exc, ExportError):
            self._failed(st, exc.code, exc.message)
        elif isinstance(exc, _HashMismatch):
            self._failed(
                st,
                "hash_mismatch",
                "Le document reçu est incomplet ou altéré "
                "(empreinte différente) : il sera téléchargé de nouveau.",
            )
        elif isinstance(exc, ApiError):
            if exc.code in ("notification_not_found",):
                self._failed(st, exc.code, exc.message, final=True)
            elif exc.status == 401 or exc.code == "strong_auth_required":
                raise exc
            else:
                self._failed(st, exc.code, exc.message)
        elif isinstance(exc, OSError):
            self._failed(st, "local_error", f"Erreur d'écriture locale : {exc.strerror or exc}.")
        elif isinstance(exc, Offline):
            raise exc  # the account's state, not this document's: the loop handles it
        else:  # a writer's bug or a document it cannot handle: this one only
            log.error("export of %s failed", st.id, exc_info=exc)
            self._failed(
                st,
                "export_error",
                f"Erreur inattendue pendant l'enregistrement ({type(exc).__name__} : {exc}).",
            )
        return False

    def _failed(self, st: ItemState, code: str, message: str, final: bool = False) -> None:
        if code in CONTENT_FAILURES and st.attempts + 1 >= CONTENT_ATTEMPTS:
            final = True
            message += (
                f" MonSisra a essayé {st.attempts + 1} fois et ne réessaiera plus de lui-même : "
                "« Réessayer » dans « Documents non enregistrés » une fois le problème corrigé."
            )
        delay = NEVER_S if final else BACKOFF_S[min(st.attempts, len(BACKOFF_S) - 1)]
        self.state.mark_failed(st.id, code, message, delay)
        self.on_change("failed", self.state.get(st.id))
        self._schedule_next_retry()

    def fetch(self, item: InboxItem, dest: Path) -> Path:
        """The document's PDF at ``dest``, downloaded and verified if it is not there yet,
        without exporting it (to open or preview a document that was not exported)."""
        if dest.is_file() and _sha256(dest, hashlib.sha256()).hexdigest() == item.document.sha256:
            return dest
        part = self._download(item, dest.with_name(dest.name + ".part"))
        os.replace(part, dest)
        return dest

    def _download(self, item: InboxItem, part: Path | None = None) -> Path:
        """Stream the PDF into the work folder, resuming a partial download (Range), and
        verify its SHA-256, computed as the bytes arrive (the file is not read again).

        The work file is not fsynced: it is verified before any use, and what must survive
        a crash is the exported copy, which the exporter fsyncs before the receipt goes."""
        doc = item.document
        part = part or self.work_dir / f"{item.id}.part"
        have = part.stat().st_size if part.exists() else 0
        if have > doc.size:
            part.unlink()
            have = 0
        if have < doc.size:
            prefix = _sha256(part, hashlib.sha256()) if have else hashlib.sha256()

            def fetch(token: str) -> str:
                headers = {"If-Range": f'"{doc.sha256}"', "Range": f"bytes={have}-"} if have else {}
                return self._stream_to(
                    part, f"/api/v1/inbox/{item.id}/content", token, headers, prefix.copy()
                )

            sha256 = self._authorized(fetch)
        else:  # complete already (a run stopped before its export): check what is there
            sha256 = _sha256(part, hashlib.sha256()).hexdigest()
        if sha256 != doc.sha256:
            part.unlink(missing_ok=True)
            raise _HashMismatch
        return part

    def _stream_to(
        self, part: Path, path: str, token: str, headers: dict[str, str], prefix: Any
    ) -> str:
        """Write the answer's body to ``part`` (appended for a 206); the SHA-256 of the whole
        file (``prefix``: a hash of what ``part`` held before)."""
        with self.client.stream("GET", path, token=token, headers=headers) as response:
            partial = response.status_code == 206
            digest = prefix if partial else hashlib.sha256()
            with part.open("ab" if partial else "wb") as fh:
                for chunk in response.iter_bytes(CHUNK):
                    digest.update(chunk)
                    fh.write(chunk)
        return str(digest.hexdigest())

    # live events ------------------------------------------------------------------------
    def listen(self, stop: threading.Event, max_seconds: float | None = None) -> None:
        """Follow the SSE stream until it ends, ``stop`` is set, or ``max_seconds`` pass."""
        deadline = time.monotonic() + max_seconds if max_seconds else None

        def stream(token: str) -> None:
            headers = {"Last-Event-ID": str(self.state.cursor)}
            timeout = httpx.Timeout(30.0, read=60.0)
            try:
                with self.client.stream(
                    "GET", "/api/v1/events", token=token, headers=headers, timeout=timeout
                ) as response:
                    self._live = response
                    if self.wake.is_set():  # interrupted while connecting
                        return
                    for item in _events(response.iter_lines(), stop, deadline, self.wake):
                        if self.state.record(item):
                            self.on_change("new", self.state.get(item.id))
                        self.state.set_cursor(item.cursor)
                        st = self.state.get(item.id)
                        if st is not None and st.status == "pending":
                            self.process(st)
            except ApiError as exc:
                if exc.unreachable and (stop.is_set() or self.wake.is_set()):
                    return  # we cut the stream ourselves
                raise
            finally:
                self._live = None

        self._authorized(stream)

    def interrupt(self) -> None:
        """Wake the engine now, from another thread (stop, « Réessayer », new settings).

        The live stream would otherwise only notice at its next line (a keepalive, up to
        15 s): shutting its socket down ends the blocked read at once. Nothing is lost — the
        loop lists the inbox after its cursor before listening again."""
        self.wake.set()
        response = self._live
        if response is None:
            return
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def run(
        self,
        stop: threading.Event,
        on_status: Callable[[str, str], None] | None = None,
    ) -> None:
        """Catch up, export, follow live events; offline → wait and retry. Until ``stop``."""
        status = on_status or (lambda _code, _msg: None)
        self._running = True
        try:
            self._loop(stop, status)
        finally:
            self._running = False
            if self._retry_timer is not None:
                self._retry_timer.cancel()

    def _loop(self, stop: threading.Event, status: Callable[[str, str], None]) -> None:
        attempt = 0
        while not stop.is_set():
            self.wake.clear()
            try:
                self.catch_up()
                self.process_due(lambda p: _progress(status, p))
                status("online", "Connecté")
                attempt = 0
                self._schedule_next_retry()
                self.listen(stop, max_seconds=LISTEN_S)
            except Offline as exc:
                # no network (« offline ») or the platform down: the same wait, two causes
                status("offline" if exc.code == NETWORK else exc.code, exc.message)
                self._nap(stop, BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)] / 5)
                attempt += 1
            except StrongAuthRequired as exc:
                status("strong_auth_required", exc.message)
                return
            except ApiError as exc:
                if exc.status == 401:  # session ended, account disabled: a person must act
                    status(*describe(exc))
                    return
                # throttling, another refusal: say so, wait, try again; nothing is lost
                status("error", exc.message)
                self._nap(stop, BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)] / 5)
                attempt += 1

    def _schedule_next_retry(self) -> None:
        """Keep a failed export's backoff (5 s, 30 s…) while documents arrive live: the
        stream is otherwise read until it ends (a minute), and the retry would wait that
        long. A timer set to the earliest failure's next try cuts it (see :meth:`interrupt`);
        the loop then lists, retries and listens again. Re-armed before each listen and at
        each failure; only while :meth:`run` loops."""
        if self._retry_timer is not None:
            self._retry_timer.cancel()
            self._retry_timer = None
        if not self._running:
            return
        retry_at = self.state.next_retry_at()
        if retry_at is None:
            return
        delay = retry_at - time.time()
        if delay < LISTEN_S:  # later ones are retried after the stream's minute anyway
            self._retry_timer = threading.Timer(max(delay, 1.0), self.interrupt)
            self._retry_timer.daemon = True
            self._retry_timer.start()

    def _nap(self, stop: threading.Event, seconds: float) -> None:
        """Wait before retrying, cut short by ``stop`` or :attr:`wake`."""
        deadline = time.monotonic() + seconds
        while not stop.is_set() and not self.wake.is_set() and time.monotonic() < deadline:
            stop.wait(min(0.2, seconds))


class _Backlog:
    """One pass of :meth:`SyncEngine._pipeline`: the downloads ahead, the receipts under way,
    those waiting to be asked for, and the answered ones waiting to be marked."""

    def __init__(self, engine: SyncEngine, due: list[ItemState], downloads: int) -> None:
        self.engine = engine
        self.ahead_max = max(AHEAD, downloads)
        self.pool = ThreadPoolExecutor(downloads, thread_name_prefix="monsisra-download")
        # one request of receipts at a time, never queued behind the downloads
        self.receipt_pool = ThreadPoolExecutor(1, thread_name_prefix="monsisra-receipts")
        self.ahead: deque[tuple[ItemState, Future[Fetched] | None]] = deque()
        self.receipts: deque[tuple[ItemState, Future[Receipts]]] = deque()
        self.acked: list[str] = []  # answered receipts, marked a few dozen at a time
        self.unsent: list[ItemState] = []  # exported and recorded, receipt not asked for yet
        self._queue = iter(due)
        # downloads the exporting thread has not taken: what they staged is removed at the end
        self._untaken: dict[str, Future[Fetched]] = {}

    def refill(self) -> bool:
        """Queue downloads up to :data:`AHEAD`; False once nothing is left to export."""
        while len(self.ahead) < self.ahead_max and (st := next(self._queue, None)) is not None:
            download = None
            if st.status != "exported":
                download = self.pool.submit(self.engine._fetch, st.item)
                self._untaken[st.id] = download
            self.ahead.append((st, download))
        return bool(self.ahead)

    def next_group(self) -> list[tuple[ItemState, Future[Fetched] | None]]:
        """The head, and after it every document already downloaded."""
        group = [self.ahead.popleft()]
        while self.ahead and _ready(self.ahead[0][1]):
            group.append(self.ahead.popleft())
        return group

    def take(self, st: ItemState, download: Future[Fetched] | None) -> Fetched:
        """The document's download (waited for); what it staged is the caller's from now."""
        if download is None:
            return self.engine._download(st.item), None
        self._untaken.pop(st.id, None)
        return download.result()

    def send_receipts(self, force: bool = False) -> None:
        """Ask for the waiting receipts in one request, unless one is under way: they gather
        meanwhile, so a backlog's receipts go a few dozen at a time and a lone document's at
        once (decision 207)."""
        receipts, unsent = self.receipts, self.unsent
        busy = bool(receipts) and not receipts[-1][1].done()
        while unsent and (force or not busy or len(unsent) >= GROUP_RECEIPTS):
            group = unsent[:GROUP_RECEIPTS]
            del unsent[:GROUP_RECEIPTS]
            sent = self.receipt_pool.submit(self.engine._send_receipts, [st.id for st in group])
            receipts.extend((st, sent) for st in group)
            busy = True

    def mark_answered(self, wait: bool) -> None:
        """Take the answered receipts (all of them with ``wait``); mark them a few dozen at a
        time (the rest when the pass ends)."""
        self.engine._answered(self.receipts, self.acked, wait=wait)
        if len(self.acked) >= RECEIPT_MARKS:
            self.engine.state.mark_receipts_sent(self.acked)
            self.acked.clear()

    def close(self) -> None:
        """Stop the downloads not started, wait for those under way, remove what was staged
        and not exported, and mark the answered receipts."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.receipt_pool.shutdown(wait=True)
        for download in self._untaken.values():
            if download.done() and not download.cancelled() and download.exception() is None:
                _pdf, staged = download.result()
                if staged is not None:
                    staged.discard()
        self._untaken.clear()
        self.engine.state.mark_receipts_sent(self.acked)


def _sync_folders(files: Iterator[Path] | list[Path]) -> None:
    """fsync each folder holding ``files`` once: the exporter's renames are durable before
    the engine records them and sends the receipt, whatever the exporter did (the project's
    leaves it to the engine, which syncs a few exports at once: decision 202)."""
    for folder in dict.fromkeys(Path(f).parent for f in files):
        fsync_dir(folder)


def _ready(download: Future[Fetched] | None) -> bool:
    return download is None or download.done()


def _progress(status: Callable[[str, str], None], p: Progress) -> None:
    """« syncing » while a backlog is written (after a night off, a week away)."""
    if p.total > 1:
        status("syncing", f"Enregistrement des documents reçus : {p.done} / {p.total}")


def _sha256(path: Path, digest: Any) -> Any:
    """``digest`` updated with the content of ``path``."""
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest


class _HashMismatch(Exception):
    pass


def since_days(days: int) -> datetime | None:
    """The backfill limit for « remonter N jours » (0 = nothing from the past)."""
    return datetime.now(UTC) - timedelta(days=days)


def _events(
    lines: Iterator[str],
    stop: threading.Event,
    deadline: float | None,
    wake: threading.Event | None = None,
) -> Iterator[InboxItem]:
    """The inbox items of an event stream, typed as they are read."""
    data: list[str] = []
    for line in lines:
        if stop.is_set() or (wake is not None and wake.is_set()):
            return
        if deadline is not None and time.monotonic() > deadline:
            return
        if not line:
            if data:
                yield InboxItem.from_json(json.loads("\n".join(data)))
                data = []
            continue
        if line.startswith("data:"):
            data.append(line[5:].lstrip())

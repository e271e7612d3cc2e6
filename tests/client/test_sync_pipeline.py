"""The backfill pipeline (decision 201): several downloads at a time, and still each document
exported once, in the inbox's order, recorded before its receipt; the PDF read once."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import stat
import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

import sisra.client.sync as sync_module
from sisra.client.api import PlatformClient
from sisra.client.auth import Credentials
from sisra.client.errors import ApiError
from sisra.client.export import FolderExporter, get_profile, stage_export, write_export
from sisra.client.items import InboxItem
from sisra.client.state import LocalState
from sisra.client.sync import DOWNLOADS, CredentialTokens, Offline, SyncEngine
from sisra.devtools.inbox import synthetic_item
from support.export import make_item, make_pdf

CONTENT = "/content"
NOT_IN_INBOX = {"code": "notification_not_found", "message": "Ce document n'est plus là."}


class FixedToken:
    def access_token(self) -> str:
        return "jeton"

    def refresh(self) -> None:
        raise AssertionError("no refresh expected")

    def call(self, fn: Any) -> Any:
        return fn("jeton")


class FakeInbox:
    """The platform's inbox API for one recipient, over ``httpx.MockTransport``: each
    request is logged, downloads in flight are counted."""

    def __init__(self, count: int) -> None:
        rng = random.Random(3)
        now = datetime.now(UTC)
        self.items: list[dict[str, Any]] = []
        self.pdfs: dict[str, bytes] = {}
        for i in range(count):
            data = b"%PDF-1.4\n" + f"document {i}\n".encode() * (2000 + i) + b"%%EOF\n"
            item = synthetic_item(i, rng, now - timedelta(minutes=1))
            item["cursor"] = i + 1
            item["delivered_at"] = item["read_at"] = None
            item["document"].update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
            self.items.append(item)
            self.pdfs[item["id"]] = data
        self.lock = threading.Lock()
        self.log: list[tuple[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.before_content: Any = None  # called (with the id) before a body is sent
        self.on_receipt: Any = None  # called (with the id) when a receipt arrives
        # the group receipt (decision 207): False answers 405 as a platform without it does
        self.grouped = True
        self.groups: list[int] = []  # the size of each group receipt recorded
        self.refused: set[str] = set()  # receipts answered 404, alone or in a group

    def client(self) -> PlatformClient:
        return PlatformClient("http://plateforme.test", transport=httpx.MockTransport(self))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/v1/inbox":
            after = int(request.url.params["after"])
            page = [i for i in self.items if i["cursor"] > after][:200]
            last = page[-1]["cursor"] if page else after
            return httpx.Response(
                200, json={"items": page, "next_cursor": last, "has_more": last < len(self.items)}
            )
        if path == "/api/v1/inbox/receipts":
            return self._group_receipt(json.loads(request.content))
        item_id = path.split("/")[4]
        if path.endswith(CONTENT):
            with self.lock:
                self.log.append(("download", item_id))
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                if self.before_content is not None:
                    self.before_content(item_id)
            finally:
                with self.lock:
                    self.in_flight -= 1
            return httpx.Response(200, content=self.pdfs[item_id])
        assert path.endswith("/receipts") and json.loads(request.content) == {"kind": "downloaded"}
        if item_id in self.refused:
            return httpx.Response(404, json=NOT_IN_INBOX)
        self._receipts([item_id])
        return httpx.Response(200, json={})

    def _group_receipt(self, body: dict[str, Any]) -> httpx.Response:
        """All or nothing, as the platform's ``POST /api/v1/inbox/receipts``."""
        if not self.grouped:
            return httpx.Response(405, json={"code": "method_not_allowed", "message": "Non."})
        assert body["kind"] == "downloaded" and 1 <= len(body["ids"]) <= 100
        if self.refused & set(body["ids"]):
            return httpx.Response(404, json=NOT_IN_INBOX)
        with self.lock:
            self.groups.append(len(body["ids"]))
        self._receipts(body["ids"])
        return httpx.Response(200, json=body)

    def _receipts(self, ids: list[str]) -> None:
        for item_id in ids:
            with self.lock:
                self.log.append(("receipt", item_id))
            if self.on_receipt is not None:
                self.on_receipt(item_id)

    def ids(self) -> list[str]:
        return [i["id"] for i in self.items]


def recording_exporter(folder: Path, log: list[tuple[str, str]], lock: threading.Lock):
    def export(item: InboxItem, pdf: Path) -> list[Path]:
        with lock:
            log.append(("export", item.id))
        final = folder / f"{item.cursor:03d}.pdf"
        final.write_bytes(pdf.read_bytes())
        return [final]

    return export


@pytest.fixture
def world(tmp_path: Path):
    inbox = FakeInbox(12)
    folder = tmp_path / "export"
    folder.mkdir()
    state = LocalState(tmp_path / "state.db")
    exporter = recording_exporter(folder, inbox.log, inbox.lock)
    engine = SyncEngine(inbox.client(), FixedToken(), state, exporter, tmp_path / "work")
    yield inbox, engine, folder, tmp_path
    state.close()


def test_a_backlog_is_downloaded_several_at_a_time_and_each_document_exported_once_in_order(
    world, monkeypatch
):
    inbox, engine, folder, tmp_path = world
    # the first two downloads wait for each other: one at a time, they would never meet
    meet = threading.Barrier(2, timeout=5)
    started = Counter[str]()

    def before_content(item_id: str) -> None:
        with inbox.lock:
            started["n"] += 1
            first_two = started["n"] <= 2
        if first_two:
            meet.wait()

    inbox.before_content = before_content
    # a receipt is posted only once its document's files are committed in the state: a
    # second connection sees only what is committed
    observer = LocalState(tmp_path / "state.db")
    observing = threading.Lock()  # receipts are posted from several threads at once
    acknowledged_unrecorded: list[str] = []

    def on_receipt(item_id: str) -> None:
        with observing:  # one connection, one reader at a time
            seen = observer.get(item_id)
        if seen is None or seen.status != "exported" or not seen.files:
            acknowledged_unrecorded.append(item_id)

    inbox.on_receipt = on_receipt
    # the downloaded PDF is handed to the exporter without being read back first
    work = tmp_path / "work"
    reads: list[Path] = []
    real_open = Path.open

    def spying_open(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if "r" in mode and self.parent == work:
            reads.append(self)
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", spying_open)

    assert engine.catch_up() == 12
    report = engine.process_due()

    assert (report.exported, report.failed) == (12, 0)
    assert 2 <= inbox.max_in_flight <= DOWNLOADS
    exports = [i for kind, i in inbox.log if kind == "export"]
    assert exports == inbox.ids()  # once each, in the inbox's order
    receipts = [i for kind, i in inbox.log if kind == "receipt"]
    assert sorted(receipts) == sorted(inbox.ids())
    for item_id in inbox.ids():  # never acknowledged before exported
        assert inbox.log.index(("export", item_id)) < inbox.log.index(("receipt", item_id))
    assert acknowledged_unrecorded == []
    # each PDF is read once, by the exporter: hashed as it arrived, not read back before
    assert Counter(reads) == {work / f"{item_id}.part": 1 for item_id in inbox.ids()}
    assert sorted(p.name for p in folder.iterdir()) == [f"{n:03d}.pdf" for n in range(1, 13)]
    for item in inbox.items:
        assert (folder / f"{item['cursor']:03d}.pdf").read_bytes() == inbox.pdfs[item["id"]]
    states = engine.state.all()
    assert all(s.status == "exported" and s.receipt_sent for s in states)
    assert list(work.iterdir()) == []  # the work files are removed once exported
    observer.close()


def test_a_backlog_cut_off_midway_resumes_with_each_document_exported_once(world):
    inbox, engine, folder, _tmp_path = world
    failing = inbox.ids()[6]

    def unreachable(item_id: str) -> None:
        if item_id == failing:
            raise httpx.ConnectError("connexion refusée")

    inbox.before_content = unreachable
    engine.catch_up()
    with pytest.raises(Offline):
        engine.process_due()
    done_first = {s.id for s in engine.state.all() if s.status == "exported"}
    assert failing not in done_first
    assert set(inbox.ids()[:6]) <= done_first  # what was exported before is recorded
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]

    inbox.before_content = None  # the platform is back
    report = engine.process_due()
    assert report.failed == 0
    exports = Counter(i for kind, i in inbox.log if kind == "export")
    assert exports == Counter(inbox.ids())  # exactly once each, over the two runs
    assert {i for kind, i in inbox.log if kind == "receipt"} == set(inbox.ids())
    assert all(s.status == "exported" and s.receipt_sent for s in engine.state.all())
    assert len(list(folder.iterdir())) == 12


def test_one_document_failing_in_a_backlog_holds_back_none_of_the_others(world):
    inbox, engine, folder, _tmp_path = world
    broken = inbox.ids()[3]
    inbox.pdfs[broken] = inbox.pdfs[broken][:-1] + b"?"  # not the announced SHA-256
    engine.catch_up()
    report = engine.process_due()
    assert (report.exported, report.failed) == (11, 1)
    (failure,) = engine.state.failures()
    assert failure.id == broken and failure.error_code == "hash_mismatch"
    assert ("receipt", broken) not in inbox.log
    assert len(list(folder.iterdir())) == 11


def _receipt_requests(inbox: FakeInbox) -> int:
    return (
        len(inbox.groups) + sum(1 for kind, _ in inbox.log if kind == "receipt") - sum(inbox.groups)
    )


def test_a_backlogs_receipts_go_by_group(world, monkeypatch):
    """Each group of documents exported together is acknowledged in one request
    (decision 207), after its files are recorded."""
    inbox, engine, _folder, _tmp_path = world
    # every download waits until four are under way: the groups are full
    meet = threading.Barrier(DOWNLOADS, timeout=5)
    inbox.before_content = lambda _item_id: meet.wait()
    engine.catch_up()
    report = engine.process_due()
    assert (report.exported, report.failed) == (12, 0)
    assert sorted(i for kind, i in inbox.log if kind == "receipt") == sorted(inbox.ids())
    assert max(inbox.groups) > 1
    assert _receipt_requests(inbox) < 12  # a group alone is a receipt of its own
    for item_id in inbox.ids():
        assert inbox.log.index(("export", item_id)) < inbox.log.index(("receipt", item_id))
    assert all(s.receipt_sent for s in engine.state.all())


def test_a_platform_without_group_receipts_gets_them_one_by_one(world):
    inbox, engine, _folder, _tmp_path = world
    inbox.grouped = False
    engine.catch_up()
    report = engine.process_due()
    assert (report.exported, report.failed) == (12, 0)
    assert inbox.groups == []
    assert sorted(i for kind, i in inbox.log if kind == "receipt") == sorted(inbox.ids())
    assert all(s.receipt_sent for s in engine.state.all())
    assert engine._grouped_receipts is False  # asked once, then remembered


def test_a_refused_receipt_in_a_group_fails_alone(world):
    inbox, engine, _folder, _tmp_path = world
    meet = threading.Barrier(DOWNLOADS, timeout=5)
    inbox.before_content = lambda _item_id: meet.wait()
    gone = inbox.ids()[1]  # deleted by its recipient on the web meanwhile
    inbox.refused = {gone}
    engine.catch_up()
    report = engine.process_due()
    assert report.exported == 12  # every document is in the folder
    (failure,) = engine.state.failures()
    assert failure.id == gone and failure.error_code == "notification_not_found"
    acknowledged = {i for kind, i in inbox.log if kind == "receipt"}
    assert acknowledged == set(inbox.ids()) - {gone}
    assert {s.id for s in engine.state.all() if s.receipt_sent} == acknowledged


def test_write_export_reads_a_pdf_once_when_its_sha256_is_given(tmp_path, monkeypatch):
    pdf = make_pdf(tmp_path / "document.pdf")
    item = InboxItem.from_json(make_item(pdf))
    folder = tmp_path / "export"
    folder.mkdir()
    reads: list[Path] = []
    real_open = Path.open

    def spying_open(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if "r" in mode and self == pdf:
            reads.append(self)
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", spying_open)
    (final,) = write_export(get_profile("pdf"), folder, item, pdf, sha256=item.document.sha256)
    assert len(reads) == 1  # the copy; its SHA-256 is not computed again
    assert final.read_bytes() == pdf.read_bytes()


def test_downloads_meeting_the_same_expired_token_refresh_it_once(monkeypatch):
    creds = Credentials(
        "http://plateforme.test",
        "pro",
        "poste",
        "ancien",
        "jeton-de-rafraichissement",
        datetime.now(UTC),
    )
    refreshed: list[str] = []

    def fake_refresh(_client: object, old: Credentials) -> Credentials:
        refreshed.append(old.refresh_token)
        return replace(old, access_token="nouveau", refresh_token="suivant")

    monkeypatch.setattr(sync_module, "refresh", fake_refresh)
    tokens = CredentialTokens(PlatformClient("http://plateforme.test"), creds)
    both_expired = threading.Barrier(2, timeout=5)

    def call(token: str) -> str:
        if token == "ancien":
            both_expired.wait()  # both calls hold the old token before either refreshes
            raise ApiError("token_expired", "Session expirée.", 401)
        return token

    answers: list[str] = []
    threads = [threading.Thread(target=lambda: answers.append(tokens.call(call))) for _ in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert answers == ["nouveau", "nouveau"]
    assert refreshed == ["jeton-de-rafraichissement"]  # the rotated token is never reused


def test_a_listed_page_is_recorded_in_one_transaction(world):
    inbox, engine, _folder, _tmp_path = world
    transactions: list[str] = []
    open_tx = [False]

    def trace(sql: str) -> None:
        word = sql.lstrip().split(None, 1)[0].upper()
        if word == "BEGIN":
            open_tx[0] = True
            transactions.append(sql)
        elif word in ("COMMIT", "ROLLBACK"):
            open_tx[0] = False
        elif word in ("INSERT", "UPDATE", "DELETE") and not open_tx[0]:
            transactions.append(sql)  # a statement of its own: its own commit (fsync)

    engine.state._db.set_trace_callback(trace)
    new: list[str] = []
    engine.on_change = lambda kind, st: new.append(st.id) if kind == "new" and st else None
    assert engine.catch_up() == 12
    assert len(transactions) == 1  # the 12 items and the cursor: one commit, not 13
    assert new == inbox.ids()  # told once committed, in order


def test_the_export_folder_is_synced_before_any_receipt_whatever_the_exporter(world, monkeypatch):
    inbox, engine, folder, _tmp_path = world
    real_fsync = os.fsync

    def spying_fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode) and os.path.samestat(os.fstat(fd), folder.stat()):
            with inbox.lock:
                inbox.log.append(("sync", str(folder)))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spying_fsync)
    engine.catch_up()
    assert engine.process_due().exported == 12
    syncs = [n for n, (kind, _i) in enumerate(inbox.log) if kind == "sync"]
    assert 1 <= len(syncs) <= 12  # once per group of exports, not per document
    for item_id in inbox.ids():  # the recording exporter syncs nothing: the engine did
        exported_at = inbox.log.index(("export", item_id))
        acknowledged_at = inbox.log.index(("receipt", item_id))
        assert any(exported_at < n < acknowledged_at for n in syncs)


def test_a_folder_that_cannot_be_synced_is_neither_recorded_nor_acknowledged(world, monkeypatch):
    inbox, engine, folder, _tmp_path = world
    calls = Counter[str]()
    real = sync_module.fsync_dir

    def failing_once(path: Path) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(errno.EIO, "Erreur d'entrée/sortie")
        real(path)

    monkeypatch.setattr(sync_module, "fsync_dir", failing_once)
    engine.catch_up()
    engine.process_due()  # counted as they reached the folder; the state says what failed
    failed = {f.id for f in engine.state.failures()}
    assert len(failed) >= 1
    assert {f.error_code for f in engine.state.failures()} == {"local_error"}
    assert not failed & {i for kind, i in inbox.log if kind == "receipt"}
    assert engine.state.retry_now() == len(failed)  # « Réessayer »
    assert engine.process_due().exported == len(failed)
    assert all(s.status == "exported" and s.receipt_sent for s in engine.state.all())
    assert len(list(folder.iterdir())) == 12


@pytest.mark.parametrize("sync_folder", [True, False])
def test_write_export_leaves_the_folder_sync_to_its_caller_when_asked(
    tmp_path, monkeypatch, sync_folder
):
    pdf = make_pdf(tmp_path / "document.pdf")
    item = InboxItem.from_json(make_item(pdf))
    folder = tmp_path / "export"
    folder.mkdir()
    synced: list[bool] = []  # one per fsync: a directory?
    real_fsync = os.fsync

    def spying_fsync(fd: int) -> None:
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spying_fsync)
    write_export(get_profile("pdf"), folder, item, pdf, sync_folder=sync_folder)
    assert synced == ([False, True] if sync_folder else [False])  # the file always


def test_receipt_marks_are_written_a_few_dozen_at_a_time(world):
    _inbox, engine, _folder, _tmp_path = world
    marks: list[str] = []
    engine.state._db.set_trace_callback(
        lambda sql: marks.append(sql) if "receipt_sent=1" in sql else None
    )
    engine.catch_up()
    assert engine.process_due().exported == 12
    assert len(marks) == 1  # one statement for the 12 answered receipts (one commit)
    assert all(s.receipt_sent for s in engine.state.all())


def test_an_export_folder_is_listed_once_for_many_exports(tmp_path, monkeypatch):
    pdf = make_pdf(tmp_path / "document.pdf")
    folder = tmp_path / "export"
    folder.mkdir()
    listed: list[Path] = []
    real_glob = Path.glob

    def spying_glob(self: Path, pattern: str, *args: Any, **kwargs: Any) -> Any:
        if self == folder:
            listed.append(self)
        return real_glob(self, pattern, *args, **kwargs)

    monkeypatch.setattr(Path, "glob", spying_glob)
    for n in range(5):
        data = make_item(pdf, document__title=f"Compte rendu {n}")
        data.update(id=f"6f1c1d7e-8a3b-4c2d-9e0f-12345678900{n}", cursor=n + 1)
        write_export(get_profile("pdf"), folder, InboxItem.from_json(data), pdf)
    assert len(list(folder.iterdir())) == 5
    assert len(listed) <= 1  # not once per export: a folder of thousands of files


@pytest.fixture
def staging_world(tmp_path: Path):
    """The fake platform's backlog, exported by the practice's real exporter (« PDF seul »),
    every document of the same patient, title and date: the same file name for all."""
    inbox = FakeInbox(12)
    first = inbox.items[0]
    for item in inbox.items:
        item["patient"] = first["patient"]
        item["document"].update(
            title=first["document"]["title"], clinical_date=first["document"]["clinical_date"]
        )
        item["created_at"] = first["created_at"]
    folder = tmp_path / "export"
    folder.mkdir()
    state = LocalState(tmp_path / "state.db")
    exporter = FolderExporter(get_profile("pdf"), folder)
    engine = SyncEngine(inbox.client(), FixedToken(), state, exporter, tmp_path / "work")
    yield inbox, engine, folder
    state.close()


def _assert_numbered_in_inbox_order(inbox: FakeInbox, engine: SyncEngine) -> None:
    """Each document exported under the one name, numbered in the inbox's order, with its
    own content."""
    by_id = {s.id: s.files for s in engine.state.all()}
    names = [Path(by_id[item_id][0]).name for item_id in inbox.ids()]
    stem = names[0].removesuffix(".pdf")
    assert names == [f"{stem}.pdf"] + [f"{stem} ({n}).pdf" for n in range(2, 13)]
    for item in inbox.items:
        assert Path(by_id[item["id"]][0]).read_bytes() == inbox.pdfs[item["id"]]


def _staged_parts(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".sisra-")]


def test_a_backlogs_files_are_written_in_the_download_threads_and_named_in_the_inbox_order(
    staging_world, monkeypatch
):
    """Decision 208: the writes and fsyncs of the files run beside each other, in the
    download threads; the names are chosen one after the other, so the twelve documents of
    the same name are numbered in the inbox's order, each with its own content."""
    import sisra.client.export as export_module

    inbox, engine, folder = staging_world
    writers: list[str] = []
    real_stage = export_module._stage

    def spying_stage(*args: Any, **kwargs: Any) -> Path:
        writers.append(threading.current_thread().name)
        return real_stage(*args, **kwargs)

    monkeypatch.setattr(export_module, "_stage", spying_stage)
    engine.catch_up()
    report = engine.process_due()
    assert (report.exported, report.failed) == (12, 0)
    assert len(writers) == 12
    assert all(name.startswith("monsisra-download") for name in writers), writers
    _assert_numbered_in_inbox_order(inbox, engine)
    assert _staged_parts(folder) == []


def test_a_backlog_cut_off_leaves_no_staged_file_in_the_practice_folder(staging_world):
    """The platform goes away mid-backlog: what the download threads had staged and the
    exporting thread had not named yet is removed, and the next pass exports each document
    once, under the name it would have had."""
    inbox, engine, folder = staging_world
    failing = inbox.ids()[6]
    gate = threading.Event()

    def unreachable(item_id: str) -> None:
        if item_id == failing:
            gate.wait(5)  # the downloads after it are staged meanwhile
            raise httpx.ConnectError("connexion refusée")
        if item_id in inbox.ids()[7:]:
            gate.set()

    inbox.before_content = unreachable
    engine.catch_up()
    with pytest.raises(Offline):
        engine.process_due()
    assert gate.is_set()  # a later document had been downloaded, hence staged
    assert _staged_parts(folder) == []
    done_first = {s.id for s in engine.state.all() if s.status == "exported"}
    assert set(inbox.ids()[:6]) <= done_first and failing not in done_first

    inbox.before_content = None  # the platform is back
    assert engine.process_due().failed == 0
    assert len(list(folder.iterdir())) == 12 and _staged_parts(folder) == []
    _assert_numbered_in_inbox_order(inbox, engine)


def test_a_staged_export_discarded_or_already_there_leaves_only_the_files(tmp_path):
    pdf = make_pdf(tmp_path / "document.pdf")
    item = InboxItem.from_json(make_item(pdf))
    folder = tmp_path / "export"
    folder.mkdir()
    stage_export(get_profile("xdm"), folder, item, pdf).discard()
    assert list(folder.iterdir()) == []  # the PDF's copy and the archive removed
    (final,) = stage_export(get_profile("pdf"), folder, item, pdf).finish()
    # staged again, and the same content is already there under its name: the name reused
    assert stage_export(get_profile("pdf"), folder, item, pdf).finish() == [final]
    assert list(folder.iterdir()) == [final]

"""The background service (no window) sets printed jobs aside for « À envoyer »; MonSisra's
own engine leaves them for its « Envoyer ce document » window (decision 191)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast

from sisra.client.outbox import OutboxWatcher, Platform, pending
from sisra.client.outbox.watcher import PRINTED_REASON

JOB = "imprime-20261207-101500-9.pdf"


def _watcher(outbox: Path, lines: list[str], **kw: Any) -> OutboxWatcher:
    # the printed pass never calls the platform
    return OutboxWatcher(outbox, cast(Platform, None), lines.append, settle_s=0.05, **kw)


def _printed(outbox: Path, data: bytes = b"%PDF-1.4 imprime") -> Path:
    folder = outbox / "imprimes"
    folder.mkdir(parents=True, exist_ok=True)
    job = folder / JOB
    job.write_bytes(data)
    return job


def test_the_headless_engine_sets_a_stable_printed_job_aside(tmp_path: Path) -> None:
    outbox = tmp_path / "a-envoyer"
    job = _printed(outbox)
    (outbox / "imprimes" / f".{JOB}.part").write_bytes(b"%PDF being written")
    lines: list[str] = []
    watcher = _watcher(outbox, lines, letters=False, printed=True)
    first = watcher.scan_once()  # seen once: not yet known complete
    assert job.is_file() and first.waiting == 1 and not first.set_aside
    time.sleep(0.1)
    second = watcher.scan_once()
    assert second.set_aside == [JOB.removesuffix(".pdf")]
    assert not job.exists()
    moved = outbox / "a-completer" / JOB
    assert moved.read_bytes() == b"%PDF-1.4 imprime"
    note = (outbox / "a-completer" / JOB.replace(".pdf", ".txt")).read_text(encoding="utf-8")
    assert f"Motif : {PRINTED_REASON}" in note
    assert "choisissez le patient et les destinataires dans MonSisra, « À envoyer »" in note
    assert "« Compléter et envoyer… »" in note
    [letter] = pending(outbox)
    assert letter.path == moved and letter.reason == PRINTED_REASON
    assert lines == [
        f"Document imprimé mis de côté : « {JOB} » — à compléter dans MonSisra, "
        "« À envoyer » → a-completer/"
    ]
    # the file being written stays; nothing at the top level is touched (letters off)
    (outbox / "autre.pdf").write_bytes(b"%PDF top level")
    time.sleep(0.1)
    watcher.scan_once()
    watcher.scan_once()
    assert (outbox / "imprimes" / f".{JOB}.part").is_file()
    assert (outbox / "autre.pdf").is_file()


def test_a_job_still_growing_waits(tmp_path: Path) -> None:
    outbox = tmp_path / "envoi"
    job = _printed(outbox)
    watcher = _watcher(outbox, [], letters=False, printed=True)
    watcher.scan_once()
    time.sleep(0.1)
    job.write_bytes(b"%PDF-1.4 imprime, plus long")
    assert watcher.scan_once().waiting == 1 and job.is_file()
    time.sleep(0.1)
    assert watcher.scan_once().set_aside and not job.exists()


def test_the_window_s_engine_leaves_printed_jobs_alone(tmp_path: Path) -> None:
    outbox = tmp_path / "envoi"
    job = _printed(outbox)
    lines: list[str] = []
    watcher = _watcher(outbox, lines)  # printed=False: MonSisra's window opens them
    for _ in range(3):
        watcher.scan_once()
        time.sleep(0.1)
    assert job.is_file() and not (outbox / "a-completer").exists() and not lines


def test_no_default_outbox_yet_is_not_an_error(tmp_path: Path) -> None:
    lines: list[str] = []
    watcher = _watcher(tmp_path / "absent", lines, letters=False, printed=True)
    assert watcher.scan_once().waiting == 0 and not lines

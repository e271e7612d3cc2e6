"""The outbox folder without a platform: what is complete, where set-aside letters go, what
« À envoyer » lists."""

from __future__ import annotations

import os
from pathlib import Path

from sisra.client.outbox import SET_ASIDE_DIR, pending, set_aside
from sisra.client.outbox.folder import Settle
from support.outbox import mode


def test_a_name_taken_in_a_completer_gets_a_number_and_nothing_is_overwritten(
    tmp_path: Path,
) -> None:
    for text in ("premier", "second"):
        (tmp_path / "lettre.pdf").write_bytes(text.encode())
        (tmp_path / "lettre.txt").write_bytes(b"en-tete " + text.encode())
        set_aside(tmp_path, [tmp_path / "lettre.pdf", tmp_path / "lettre.txt"], f"motif {text}")
    aside = tmp_path / SET_ASIDE_DIR
    assert sorted(p.name for p in aside.iterdir()) == [
        "lettre (2) - motif.txt",
        "lettre (2).pdf",
        "lettre (2).txt",
        "lettre - motif.txt",
        "lettre.pdf",
        "lettre.txt",
    ]
    assert (aside / "lettre.pdf").read_bytes() == b"premier"
    assert (aside / "lettre (2).txt").read_bytes() == b"en-tete second"
    listed = pending(tmp_path)
    assert [(p.path.name, p.reason) for p in listed] == [
        ("lettre.pdf", "motif premier"),
        ("lettre (2).pdf", "motif second"),
    ]
    assert mode(aside) == 0o700 and mode(aside / "lettre - motif.txt") == 0o600
    # a letter taken away (put back in the outbox once corrected) is no longer listed
    os.replace(aside / "lettre.pdf", tmp_path / "lettre.pdf")
    os.replace(aside / "lettre.txt", tmp_path / "lettre.txt")
    assert [p.path.name for p in pending(tmp_path)] == ["lettre (2).pdf"]
    assert pending(tmp_path / "absent") == []


def test_a_file_is_complete_after_two_unchanged_scans_and_writers_names_are_skipped(
    tmp_path: Path,
) -> None:
    settle = Settle(settle_s=1.0)
    (tmp_path / ".courrier.pdf.tmp").write_bytes(b"x")
    (tmp_path / "~$brouillon.pdf").write_bytes(b"x")
    (tmp_path / "sous-dossier").mkdir()
    os.replace(tmp_path / ".courrier.pdf.tmp", tmp_path / "courrier.pdf")  # renamed into place
    first = settle.scan(tmp_path, now=100.0)
    assert list(first) == ["courrier"] and first["courrier"][0][1] < 0
    assert settle.scan(tmp_path, now=100.5)["courrier"][0][1] < 0  # not a second apart yet
    assert settle.scan(tmp_path, now=101.0)["courrier"][0][1] == 1.0
    (tmp_path / "courrier.pdf").write_bytes(b"xy")  # written again: starts over
    assert settle.scan(tmp_path, now=102.0)["courrier"][0][1] < 0
    (tmp_path / "courrier.pdf").unlink()
    assert settle.scan(tmp_path, now=103.0) == {} and settle.seen == {}

"""The outbox folder: which files are complete, and where they go once handled.

Layout of an outbox ``DIR`` (the practice software drops letters at its top level)::

    DIR/NAME.pdf + NAME.hpr        a letter waiting (or NAME.zip, an XDM archive)
    DIR/envoyes/AAAA-MM/NAME.*     sent: the files as they were, by month of sending
    DIR/envoyes/.journal           the letters shared, by idempotency key (decision 181)
    DIR/a-completer/NAME.*         set aside, with NAME.txt saying what is missing

A file is taken only once complete (decision 183): its size and modification time unchanged
over two scans at least ``settle_s`` apart, so one being written is left for a later scan;
a name a writer uses while writing (``.part``, ``.tmp``, ``~$``, a leading dot) is never
taken, so a file renamed into place is complete as soon as it appears. Nothing is deleted:
every file ends in ``envoyes`` or ``a-completer``. Folders MonSisra creates are 0700 and
the reason files 0600 (or the practice software's group: :mod:`sisra.client.export.permissions`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sisra.client.export.permissions import PRIVATE, FileAccess

SENT_DIR = "envoyes"
SET_ASIDE_DIR = "a-completer"
JOURNAL = ".journal"
REASON_FIRST_LINE = "MonSisra n'a pas envoyé ce courrier."
_WRITING_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial", ".swp", "~")


@dataclass(frozen=True)
class PendingLetter:
    """A letter set aside: its main file (the PDF, else the archive, else the first file),
    every file of it, and why it was not sent (French)."""

    path: Path
    reason: str
    files: tuple[Path, ...] = ()
    note: Path | None = None


def being_written(name: str) -> bool:
    low = name.lower()
    return low.startswith((".", "~$")) or low.endswith(_WRITING_SUFFIXES)


@dataclass
class _Seen:
    stamp: tuple[int, int]
    since: float
    scans: int = 1


@dataclass
class Settle:
    """Remembers each file's size and modification time between scans."""

    settle_s: float = 1.0
    seen: dict[Path, _Seen] = field(default_factory=dict)

    def scan(self, folder: Path, now: float | None = None) -> dict[str, list[tuple[Path, float]]]:
        """The folder's files by letter name (stem, case ignored), each with how long it has
        been stable (negative: not yet)."""
        now = time.monotonic() if now is None else now
        groups: dict[str, list[tuple[Path, float]]] = {}
        present: set[Path] = set()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return {}
        for entry in entries:
            if being_written(entry.name):
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            path = Path(entry.path)
            present.add(path)
            stamp = (st.st_size, st.st_mtime_ns)
            seen = self.seen.get(path)
            if seen is None or seen.stamp != stamp:
                self.seen[path] = seen = _Seen(stamp, now)
            else:
                seen.scans += 1
            age = now - seen.since
            stable = age if seen.scans >= 2 and age >= self.settle_s else -1.0
            groups.setdefault(path.stem.casefold(), []).append((path, stable))
        for gone in set(self.seen) - present:
            del self.seen[gone]
        return groups

    def forget(self, paths: Iterable[Path]) -> None:
        for path in paths:
            self.seen.pop(path, None)


def _free_stem(target: Path, files: list[Path]) -> str:
    """A stem under which none of ``files`` collides with a file already in ``target``."""
    stem = files[0].stem
    n = 1
    candidate = stem
    while (
        any((target / f"{candidate}{f.suffix}").exists() for f in files)
        or (target / f"{candidate}.txt").exists()
    ):
        n += 1
        candidate = f"{stem} ({n})"
    return candidate


def _move(files: Iterable[Path], target: Path, access: FileAccess) -> list[Path]:
    files = list(files)
    access.make_folder(target)
    stem = _free_stem(target, files)
    moved = []
    for path in files:
        dest = target / f"{stem}{path.suffix}"
        os.replace(path, dest)
        moved.append(dest)
    return moved


def file_as_sent(
    outbox: Path, files: Iterable[Path], when: datetime | None = None, access: FileAccess = PRIVATE
) -> list[Path]:
    """Move a sent letter's files to ``outbox/envoyes/AAAA-MM/``; their new paths."""
    when = when or datetime.now()
    return _move(files, outbox / SENT_DIR / f"{when:%Y-%m}", access)


def set_aside(
    outbox: Path,
    files: Iterable[Path],
    reason: str,
    todo: str = "",
    access: FileAccess = PRIVATE,
) -> PendingLetter:
    """Move a letter's files to ``outbox/a-completer/`` and write beside them the note that
    says, in French, what is missing and what to do."""
    files = list(files)
    target = outbox / SET_ASIDE_DIR
    moved = _move(files, target, access)
    stem = moved[0].stem
    note = target / f"{stem}.txt"
    if note in moved:  # the header itself was NAME.txt
        note = target / f"{stem} - motif.txt"
    when = datetime.now()
    text = "\n".join(
        [
            REASON_FIRST_LINE,
            f"Fichiers : {', '.join(p.name for p in moved)}",
            f"Motif : {reason}",
            f"Que faire : {todo or TODO}",
            f"Mis de côté le {when:%d/%m/%Y} à {when:%H}h{when:%M}.",
            "",
        ]
    )
    write_private(note, text.encode("utf-8"), access)
    return PendingLetter(_main(moved), reason, tuple(moved), note)


TODO = (
    "corrigez le courrier (ou son en-tête) dans le logiciel métier puis déposez-le de "
    "nouveau dans le dossier d'envoi, ou envoyez-le depuis MonSisra ; ce fichier-ci peut "
    "ensuite être supprimé."
)


def write_private(path: Path, data: bytes, access: FileAccess = PRIVATE) -> None:
    """A new file, 0600 (or the group's 0640) whatever the umask, written then renamed."""
    tmp = path.with_name(f".{path.name}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        access.apply_to_fd(fd)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _main(files: Iterable[Path]) -> Path:
    files = list(files)
    for suffix in (".pdf", ".zip"):
        for path in files:
            if path.suffix.lower() == suffix:
                return path
    return files[0]


def _read_note(note: Path) -> tuple[list[str], str] | None:
    try:
        lines = note.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    if not lines or lines[0] != REASON_FIRST_LINE:
        return None
    names: list[str] = []
    reason = ""
    for line in lines[1:]:
        if line.startswith("Fichiers : "):
            names = [n.strip() for n in line[len("Fichiers : ") :].split(", ") if n.strip()]
        elif line.startswith("Motif : "):
            reason = line[len("Motif : ") :]
    return names, reason


def pending(outbox_dir: Path) -> list[PendingLetter]:
    """The letters waiting in ``outbox_dir/a-completer``, oldest first: each with its reason.
    A note whose files were all taken away (sent since, or put back in the outbox) is not
    listed."""
    folder = Path(outbox_dir) / SET_ASIDE_DIR
    try:
        notes = [p for p in folder.iterdir() if p.suffix.lower() == ".txt" and p.is_file()]
    except OSError:
        return []
    letters = []
    for note in notes:
        read = _read_note(note)
        if read is None:
            continue
        names, reason = read
        files = tuple(folder / n for n in names if (folder / n).is_file())
        if files:
            letters.append((note.stat().st_mtime, PendingLetter(_main(files), reason, files, note)))
    letters.sort(key=lambda pair: (pair[0], pair[1].path.name))
    return [letter for _mtime, letter in letters]

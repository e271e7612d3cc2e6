"""The engine's pass over an account's outbox: each complete letter sent or set aside.

One pass (:meth:`OutboxWatcher.scan_once`) lists the folder, leaves what is still being
written, reads each complete letter, finds its patient and recipients, shares it and moves
its files to ``envoyes/AAAA-MM``; a letter with anything missing or doubtful goes to
``a-completer`` with its reason. Each letter sent or set aside is one French line in the log
(the service's journal). The order is share → journal → move: killed between two steps, the
next pass finds the key in the journal (or the platform replays its first answer) and only
moves the files, so nothing is sent twice (decision 181).

Run by the background service (no window to open « Envoyer ce document »), a pass also
takes each complete printed job out of ``imprimes/`` to ``a-completer/``, with the note
that tells the practice's staff to finish it in MonSisra's « À envoyer » (decision 191).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sisra.client.api import ApiError
from sisra.client.export.permissions import PRIVATE, FileAccess
from sisra.client.outbox.folder import (
    JOURNAL,
    SENT_DIR,
    Settle,
    file_as_sent,
    set_aside,
    write_private,
)
from sisra.client.outbox.letters import (
    HEADER_SUFFIXES,
    NO_HEADER,
    Letter,
    Unreadable,
    read_hprim_letter,
    read_xdm_letter,
)
from sisra.client.outbox.sending import (
    Platform,
    TryLater,
    address,
    idempotency_key,
    share_pdf,
)
from sisra.client.printing.jobs import PRINTED, printed_jobs

log = logging.getLogger(__name__)

POLL_S = 3.0
# a PDF without its header (or a header without its PDF) waits this long for its companion
# before it is set aside: practice software writes the two files one after the other
COMPANION_WAIT_S = 30.0
RETRY_S = 60.0  # the platform could not answer: try this letter again after a minute
PRINTED_REASON = (
    "document imprimé vers MonSisra : choisissez le patient et les destinataires dans "
    "MonSisra, « À envoyer »"
)
PRINTED_TODO = (
    "ouvrez MonSisra, menu « À envoyer », choisissez ce document puis « Compléter et envoyer… »."
)

Say = Callable[[str], None]


@dataclass
class PassReport:
    sent: list[str] = field(default_factory=list)
    set_aside: list[str] = field(default_factory=list)
    waiting: int = 0


class Journal:
    """The letters already shared, by idempotency key: ``envoyes/.journal``, one
    ``key document_id`` line each, kept beyond the platform's 24 hours of keys."""

    def __init__(self, outbox: Path, access: FileAccess) -> None:
        self.path = outbox / SENT_DIR / JOURNAL
        self.access = access

    def get(self, key: str) -> str | None:
        try:
            text = self.path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            return None
        for line in text.splitlines():
            found, _, document = line.partition(" ")
            if found == key:
                return document.strip() or None
        return None

    def add(self, key: str, document_id: str) -> None:
        self.access.make_folder(self.path.parent)
        try:
            before = self.path.read_bytes()
        except FileNotFoundError:
            before = b""
        write_private(self.path, before + f"{key} {document_id}\n".encode("ascii"), self.access)


class OutboxWatcher:
    """One account's outbox folder, watched."""

    def __init__(
        self,
        folder: Path,
        platform: Platform,
        say: Say | None = None,
        *,
        access: FileAccess = PRIVATE,
        poll_s: float = POLL_S,
        settle_s: float = 1.0,
        companion_wait_s: float = COMPANION_WAIT_S,
        letters: bool = True,
        printed: bool = False,
    ) -> None:
        """``letters``: send the letters dropped at the folder's top level (off when only
        printed jobs are looked after); ``printed``: set printed jobs aside (headless)."""
        self.folder = Path(folder)
        self.platform = platform
        self.say = say or (lambda line: log.info("%s", line))
        self.access = access
        self.poll_s = poll_s
        self.companion_wait_s = companion_wait_s
        self.settle = Settle(settle_s)
        self.letters, self.printed = letters, printed
        self.printed_settle = Settle(settle_s)
        self.journal = Journal(self.folder, access)
        self._retry_at: dict[str, float] = {}
        self._said_missing = False
        # tests stop a pass right after the share, as a kill would
        self.after_share: Callable[[Letter], None] = lambda _letter: None

    def run(self, stop: threading.Event) -> None:
        """Pass after pass until ``stop``; a pass's failure is logged, never fatal."""
        while not stop.is_set():
            try:
                self.scan_once()
            except ApiError as exc:  # the session: the sync engine says what to do
                log.info("outbox pass stopped: %s", exc.code)
            except Exception:
                log.exception("outbox pass failed")
            stop.wait(self.poll_s)

    def scan_once(self) -> PassReport:
        report = PassReport()
        if not self.folder.is_dir():
            if self.letters and not self._said_missing:
                self._said_missing = True
                self.say(f"Dossier d'envoi introuvable : {self.folder} (créez-le).")
            return report
        self._said_missing = False
        if self.printed:
            self._set_aside_printed(report)
        if not self.letters:
            return report
        now = time.monotonic()
        for name, files in sorted(self.settle.scan(self.folder, now).items()):
            if self._retry_at.get(name, 0.0) > now:
                continue
            if any(stable < 0 for _path, stable in files):
                report.waiting += 1
                continue
            self._handle(name, files, report)
        return report

    # --- one letter ---------------------------------------------------------------------------

    def _handle(self, name: str, files: list[tuple[Path, float]], report: PassReport) -> None:
        paths = sorted(path for path, _stable in files)
        by_suffix = {p.suffix.lower(): p for p in paths}
        quiet = min(stable for _path, stable in files)
        headers = [by_suffix[s] for s in HEADER_SUFFIXES if s in by_suffix]
        pdf = by_suffix.get(".pdf")
        try:
            if ".zip" in by_suffix:
                letter: Letter | None = read_xdm_letter(paths[0].stem, by_suffix[".zip"])
            elif pdf is not None and headers:
                letter = read_hprim_letter(paths[0].stem, pdf, headers[0])
            elif pdf is not None or headers:
                if quiet < self.companion_wait_s:
                    report.waiting += 1
                    return
                missing = f"le PDF « {paths[0].stem}.pdf » est absent" if pdf is None else NO_HEADER
                raise Unreadable(missing)
            else:
                raise Unreadable(
                    "ce n'est pas un PDF : le logiciel métier doit déposer le courrier au "
                    "format PDF, avec son en-tête HPRIM, ou une archive IHE XDM"
                )
            assert letter is not None
            self._send(letter, paths, report)
        except Unreadable as exc:
            self._set_aside(paths, exc, report)
        except TryLater as exc:
            self._later(name, f"Envoi de « {_names(paths)} » différé : {exc.message}")
        except OSError as exc:
            self._later(name, f"Courrier « {_names(paths)} » : {exc.strerror or exc}.")
        except ApiError as exc:  # the session (the sync engine says what to do): wait
            self._later(name, f"Envoi de « {_names(paths)} » en attente : {exc.message}")

    def _later(self, name: str, line: str) -> None:
        self._retry_at[name] = time.monotonic() + RETRY_S
        self.say(f"{line} Nouvel essai dans une minute.")

    def _send(self, letter: Letter, paths: list[Path], report: PassReport) -> None:
        addressed = address(self.platform, letter)
        ids = [rid for rid, _name in addressed.recipients]
        key = idempotency_key(letter.pdf, addressed.patient_id, ids)
        document_id = self.journal.get(key)
        if document_id is None:
            sent = share_pdf(
                self.platform,
                letter.pdf,
                patient_id=addressed.patient_id,
                recipients=ids,
                title=letter.title,
                type_code=letter.type_code,
                clinical_date=letter.clinical_date,
                filename=f"{letter.name}.pdf",
                key=key,
            )
            self.after_share(letter)
            document_id = sent.document_id
            self.journal.add(key, document_id)
        moved = file_as_sent(self.folder, paths, access=self.access)
        self.settle.forget(paths)
        names = ", ".join(name for _rid, name in addressed.recipients)
        where = moved[0].parent.relative_to(self.folder)
        self.say(
            f"Courrier envoyé : « {_names(paths)} » à {names} "
            f"(document {document_id[:8]}) → {where}/"
        )
        report.sent.append(letter.name)

    def _set_aside(self, paths: list[Path], why: Unreadable, report: PassReport) -> None:
        set_aside(self.folder, paths, why.reason, access=self.access)
        self.settle.forget(paths)
        self.say(f"Courrier mis de côté : « {_names(paths)} » — {why.journal} → a-completer/")
        report.set_aside.append(paths[0].stem)

    def _set_aside_printed(self, report: PassReport) -> None:
        """Each complete printed job to ``a-completer/``: no window here to send it."""
        folder = self.folder / PRINTED
        stable = {
            path
            for files in self.printed_settle.scan(folder).values()
            for path, quiet in files
            if quiet >= 0
        }
        for path in printed_jobs(folder):
            if path not in stable:
                report.waiting += 1
                continue
            try:
                set_aside(self.folder, [path], PRINTED_REASON, PRINTED_TODO, access=self.access)
            except OSError as exc:
                self.say(f"Document imprimé « {path.name} » : {exc.strerror or exc}.")
                continue
            self.printed_settle.forget([path])
            self.say(
                f"Document imprimé mis de côté : « {path.name} » — à compléter dans MonSisra, "
                "« À envoyer » → a-completer/"
            )
            report.set_aside.append(path.stem)


def _names(paths: list[Path]) -> str:
    return ", ".join(p.name for p in paths)

"""« Envoyer ce document »: a letter printed to MonSisra, sent once the doctor confirms.

A printed job (:mod:`sisra.client.printing`) lands in ``<outbox>/imprimes/``;
:class:`PrintedWatcher` notices it (a file-system watch, and a scan every few seconds for
folders a watch misses) and MonSisra opens this window. It shows the first page, proposes the
patient and the recipients read from the letter's text (:mod:`sisra.client.letter_proposals`), each
with the words it came from, looked up on the platform; the doctor changes them as needed.
« Envoyer » asks for confirmation, then shares the PDF as the outbox does
(:func:`sisra.client.outbox.share_pdf`: a retry after a lost answer never sends twice) and
moves the file to ``<outbox>/envoyes/AAAA-MM/``. On any failure the file stays where it is,
and the window says why, in French.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QFileSystemWatcher, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from sisra.client.api import ApiError, PlatformClient
from sisra.client.letter_proposals import (
    LetterProposals,
    PatientProposal,
    RecipientProposal,
    propose_pdf,
)
from sisra.client.outbox import Platform, Unreadable, file_as_sent, share_pdf
from sisra.client.outbox.letters import read_hprim_letter
from sisra.client.printing import jobs
from sisra.common.ins import InvalidINS, validate_ins
from sisra.desktop.preview import render_first_page
from sisra.desktop.tasks import describe_error, run_task

if TYPE_CHECKING:
    from sisra.desktop.session import AccountSession

T = TypeVar("T")
ErrorFn = Callable[[Exception], None]

SCAN_MS = 5_000
TYPE_CODE = "courrier"
MAX_LOOKUPS = 4  # proposals looked up on the platform, each kind
ERROR_STYLE = "color: #b00020;"


@dataclass
class Candidate:
    """A patient or a professional found on the platform, with why it is proposed."""

    id: str
    label: str
    source: str | None = None  # the letter's words, when proposed from them
    checked: bool = False


@dataclass
class Lookup:
    proposals: LetterProposals
    patients: list[Candidate] = field(default_factory=list)
    recipients: list[Candidate] = field(default_factory=list)


def patient_label(p: dict[str, Any]) -> str:
    born = date.fromisoformat(p["birth_date"]).strftime("%d/%m/%Y")
    sex = "née" if p.get("sex") == "F" else "né"
    name = p.get("used_name") or p["birth_name"]
    return f"{name} {p['first_given_name']}, {sex} le {born}"


def professional_label(p: dict[str, Any]) -> str:
    where = ", ".join(x for x in (p.get("specialty") or p.get("profession"), p.get("city")) if x)
    return f"{p['display_name']} ({where})" if where else str(p["display_name"])


def typed_patient_search(text: str) -> dict[str, str] | None:
    """What the doctor typed: an INS, or « NOM JJ/MM/AAAA », or « NOM Prénom »."""
    words = text.split()
    if not words:
        return None
    try:
        return {"ins": validate_ins(text)}
    except InvalidINS:
        pass
    for i, word in enumerate(words):
        try:
            born = datetime.strptime(word, "%d/%m/%Y").date()
        except ValueError:
            continue
        rest = " ".join(words[:i] + words[i + 1 :])
        return {"q": rest, "birth_date": born.isoformat()} if rest else None
    if len(words) >= 2:
        return {"q": " ".join(words[:-1]), "given": words[-1]}
    return {"q": words[0]}


def _search_patients(
    client: PlatformClient, token: str, body: dict[str, str]
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.post_json("/api/v1/patients/search", body, token=token)
    return found


def _search_directory(
    client: PlatformClient, token: str, q: str, *, rpps: str | None = None
) -> list[dict[str, Any]]:
    """The directory's search for ``q``; an RPPS by its exact filter, as the outbox looks
    one up."""
    params: dict[str, str | int] = {"rpps": rpps} if rpps else {"q": q}
    found: list[dict[str, Any]] = client.get_json(
        "/api/v1/professionals", params={**params, "limit": 5}, token=token
    )
    return found


def header_proposals(pdf: Path, header: Path) -> LetterProposals:
    """What a set-aside letter's HPRIM header says (its patient, its recipients), as
    proposals — nothing when the header cannot be read."""
    try:
        letter = read_hprim_letter(pdf.stem, pdf, header)
    except (Unreadable, OSError):
        return LetterProposals("")
    p = letter.patient
    found = LetterProposals("")
    if p.ins or p.birth_name or p.last_name:
        found.patients.append(
            PatientProposal(
                f"en-tête HPRIM : {p.describe()}",
                ins=p.ins,
                birth_name=p.birth_name or p.last_name,
                given=p.first_name or None,
                birth_date=p.birth_date,
            )
        )
    for r in letter.recipients:
        source = f"en-tête HPRIM : {r.value}"
        if r.kind == "rpps":
            found.recipients.append(RecipientProposal(source, rpps=r.value))
        elif r.kind == "name":
            found.recipients.append(RecipientProposal(source, name=r.value))
    return found


def lookup(session: AccountSession, data: bytes, header: LetterProposals | None = None) -> Lookup:
    """The letter's proposals (its HPRIM header's first, when it has one: ``header``) and
    what the platform finds for them (a worker thread).

    A proposal the platform refuses (too broad, say) is skipped; the platform out of reach
    fails the whole lookup (the window says so and keeps the file)."""
    me = session.call(lambda c, t: c.get_json("/api/v1/me", token=t))
    result = Lookup(propose_pdf(data, exclude={me.get("last_name"), me.get("rpps")}))
    if header is not None:
        result.proposals.patients[:0] = header.patients
        result.proposals.recipients[:0] = header.recipients
    seen: set[str] = set()
    for proposal in result.proposals.patients[:MAX_LOOKUPS]:
        body = proposal.search()
        if body is None:
            continue
        found = _proposed(session, lambda c, t, b=body: _search_patients(c, t, b))
        for p in found:
            if p["id"] not in seen:
                seen.add(p["id"])
                result.patients.append(Candidate(p["id"], patient_label(p), proposal.source))
    for recipient in result.proposals.recipients[:MAX_LOOKUPS]:
        found = [
            p
            for p in _proposed(
                session, lambda c, t, r=recipient: _search_directory(c, t, r.query, rpps=r.rpps)
            )
            if p["id"] != me.get("id")
        ]
        for p in found:
            if p["id"] not in seen:
                seen.add(p["id"])
                label = professional_label(p)
                result.recipients.append(
                    Candidate(p["id"], label, recipient.source, len(found) == 1)
                )
    return result


def _proposed(session: AccountSession, fn: Any) -> list[dict[str, Any]]:
    try:
        found: list[dict[str, Any]] = session.call(fn)
    except ApiError as exc:
        if exc.unreachable:
            raise
        return []  # e.g. search_too_broad: the proposal finds nobody
    return found


def share(
    session: AccountSession,
    path: Path,
    metadata: dict[str, Any],
    outbox: Path | None = None,
    companions: tuple[Path, ...] = (),
) -> Path:
    """Share the PDF (a worker thread) as the outbox shares a letter — one idempotency key
    for the same PDF, patient and recipients, the platform's size limit checked first — then
    move it and its ``companions`` (a set-aside letter's header and note) to
    ``<outbox>/envoyes/AAAA-MM/``; the PDF's new path. ``outbox`` defaults to the printed
    job's (``<outbox>/imprimes/<file>``)."""
    platform = Platform(session.client, session.tokens)
    share_pdf(
        platform,
        path.read_bytes(),
        patient_id=metadata["patient_id"],
        recipients=metadata["recipients"],
        title=metadata["title"],
        type_code=metadata["type_code"],
        clinical_date=date.fromisoformat(metadata["clinical_date"]),
        filename=path.name,
    )
    outbox = outbox or path.parent.parent  # <outbox>/imprimes/<file>
    moved = file_as_sent(outbox, [path, *(p for p in companions if p != path and p.exists())])
    return moved[0]


class SendWindow(QDialog):
    """« Envoyer ce document » for one printed PDF, or a set-aside letter's PDF: ``outbox``
    is the folder whose ``envoyes/`` receives it once sent (by default the printed job's),
    ``companions`` the letter's other files (header, note), moved with it; ``header`` its
    HPRIM header, whose patient and recipients are proposed first."""

    sent = Signal(Path)

    def __init__(
        self,
        session: AccountSession,
        path: Path,
        parent: QWidget | None = None,
        *,
        outbox: Path | None = None,
        companions: tuple[Path, ...] = (),
        header: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.session, self.path = session, path
        self.outbox, self.companions, self.header = outbox, companions, header
        self.lookup_result: Lookup | None = None
        self.confirm_box: QMessageBox | None = None
        self.busy = False
        self.gone = False  # closed: late answers of background work are dropped
        self.setWindowTitle("Envoyer ce document")
        self._build()
        self._load()

    # building -------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QHBoxLayout(self)
        self.preview = QLabel("Aperçu en cours…")
        self.preview.setObjectName("send-preview")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumWidth(260)
        layout.addWidget(self.preview)
        side = QVBoxLayout()
        layout.addLayout(side, 1)
        sender = self.session.account.display_name
        head = QLabel(f"<b>Envoyer ce document</b><br>{self.path.name}<br>Envoyé par {sender}")
        head.setObjectName("send-head")
        side.addWidget(head)
        self.title = QLineEdit("Courrier")
        self.title.setPlaceholderText("Titre du document")
        side.addWidget(QLabel("Titre :"))
        side.addWidget(self.title)
        side.addWidget(self._build_patient())
        side.addWidget(self._build_recipients())
        self.message = QLabel("Lecture du document…")
        self.message.setWordWrap(True)
        side.addWidget(self.message)
        buttons = QHBoxLayout()
        self.later_button = QPushButton("Plus tard")
        self.later_button.clicked.connect(self.close)
        self.send_button = QPushButton("Envoyer")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.confirm)
        buttons.addStretch(1)
        buttons.addWidget(self.later_button)
        buttons.addWidget(self.send_button)
        side.addLayout(buttons)
        self.title.textChanged.connect(lambda _t: self._refresh_button())
        self._refresh_button()

    def _build_patient(self) -> QGroupBox:
        box = QGroupBox("Patient")
        col = QVBoxLayout(box)
        self.patient_source = QLabel()
        self.patient_source.setWordWrap(True)
        self.patients = QComboBox()
        self.patients.currentIndexChanged.connect(lambda _i: self._refresh_button())
        row = QHBoxLayout()
        self.patient_query = QLineEdit()
        self.patient_query.setPlaceholderText("NOM JJ/MM/AAAA, NOM Prénom ou INS")
        self.patient_query.returnPressed.connect(self.search_patient)
        find = QPushButton("Rechercher")
        find.clicked.connect(self.search_patient)
        row.addWidget(self.patient_query)
        row.addWidget(find)
        col.addWidget(self.patient_source)
        col.addWidget(self.patients)
        col.addLayout(row)
        return box

    def _build_recipients(self) -> QGroupBox:
        box = QGroupBox("Destinataires")
        col = QVBoxLayout(box)
        self.recipient_source = QLabel()
        self.recipient_source.setWordWrap(True)
        self.recipients = QListWidget()
        self.recipients.itemChanged.connect(lambda _i: self._refresh_button())
        row = QHBoxLayout()
        self.recipient_query = QLineEdit()
        self.recipient_query.setPlaceholderText("Nom, ville, spécialité ou RPPS")
        self.recipient_query.returnPressed.connect(self.search_recipient)
        find = QPushButton("Rechercher")
        find.clicked.connect(self.search_recipient)
        row.addWidget(self.recipient_query)
        row.addWidget(find)
        col.addWidget(self.recipient_source)
        col.addWidget(self.recipients)
        col.addLayout(row)
        return box

    # loading ----------------------------------------------------------------------------
    def _load(self) -> None:
        path, session, header = self.path, self.session, self.header
        self._run(lambda: render_first_page(path), self._preview_ready, self._preview_failed)
        self._run(
            lambda: lookup(
                session, path.read_bytes(), header_proposals(path, header) if header else None
            ),
            self._proposed,
            self._lookup_failed,
        )

    def _run(self, fn: Callable[[], T], done: Callable[[T], None], failed: ErrorFn) -> None:
        """``run_task``, its answer dropped when the window was closed meanwhile."""
        run_task(
            fn,
            lambda value: None if self.gone else done(value),
            lambda exc: None if self.gone else failed(exc),
            owner=self,  # deleted with the documents window at logout
        )

    def _preview_ready(self, image: QImage) -> None:
        self.preview.setPixmap(QPixmap.fromImage(image))

    def _preview_failed(self, exc: Exception) -> None:
        self.preview.setText(f"Aperçu indisponible : {describe_error(exc)}")

    def _proposed(self, result: Lookup) -> None:
        self.lookup_result = result
        for c in result.patients:
            self.patients.addItem(f"{c.label} — proposé", c.id)
        if result.patients:
            source = result.patients[0].source
            self.patient_source.setText(f"Proposé d'après le document : « {source} »")
        elif result.proposals.patients:
            self.patient_source.setText(
                "Patient non trouvé sur la plateforme d'après le document "
                f"(« {result.proposals.patients[0].source} ») : recherchez-le."
            )
        else:
            self.patient_source.setText("Aucun patient reconnu dans le document : recherchez-le.")
        for c in result.recipients:
            self._add_recipient(c)
        if result.recipients:
            self.recipient_source.setText(
                "Proposés d'après le document : vérifiez-les avant d'envoyer."
            )
        else:
            self.recipient_source.setText(
                "Aucun destinataire reconnu dans le document : recherchez-les."
            )
        self._say("" if result.patients and result.recipients else "Complétez l'envoi.")
        self._refresh_button()

    def _lookup_failed(self, exc: Exception) -> None:
        self.patient_source.setText("Recherchez le patient.")
        self.recipient_source.setText("Recherchez les destinataires.")
        self._say(f"{describe_error(exc)} Le document reste dans le dossier d'envoi.", error=True)

    def _add_recipient(self, c: Candidate) -> None:
        for i in range(self.recipients.count()):
            if self.recipients.item(i).data(Qt.ItemDataRole.UserRole) == c.id:
                return
        text = c.label + (f" — proposé d'après « {c.source} »" if c.source else "")
        item = QListWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, c.id)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if c.checked else Qt.CheckState.Unchecked)
        self.recipients.addItem(item)

    # the doctor's searches --------------------------------------------------------------------
    def search_patient(self) -> None:
        body = typed_patient_search(self.patient_query.text())
        if body is None:
            self._say("Tapez le nom de naissance et la date de naissance, ou l'INS.", error=True)
            return

        def found(patients: list[dict[str, Any]]) -> None:
            if not patients:
                self._say("Aucun patient trouvé : vérifiez le nom et la date.", error=True)
                return
            self.patients.clear()
            for p in patients:
                self.patients.addItem(patient_label(p), p["id"])
            self.patient_source.setText("Choisi par vous.")
            self._say("")

        self._run(
            lambda: self.session.call(lambda c, t: _search_patients(c, t, body)),
            found,
            lambda exc: self._say(describe_error(exc), error=True),
        )

    def search_recipient(self) -> None:
        q = self.recipient_query.text().strip()
        if not q:
            return

        def found(pros: list[dict[str, Any]]) -> None:
            if not pros:
                self._say(f"Personne ne correspond à « {q} » dans l'annuaire.", error=True)
                return
            for p in pros:
                self._add_recipient(Candidate(p["id"], professional_label(p)))
            self._say("Cochez les destinataires.")

        self._run(
            lambda: self.session.call(lambda c, t: _search_directory(c, t, q)),
            found,
            lambda exc: self._say(describe_error(exc), error=True),
        )

    # sending ------------------------------------------------------------------------------
    def checked_recipients(self) -> list[tuple[str, str]]:
        items = (self.recipients.item(i) for i in range(self.recipients.count()))
        return [
            (str(it.data(Qt.ItemDataRole.UserRole)), it.text().split(" — ")[0])
            for it in items
            if it.checkState() == Qt.CheckState.Checked
        ]

    def _refresh_button(self) -> None:
        ready = self.patients.currentData() is not None and bool(self.checked_recipients())
        self.send_button.setEnabled(ready and not self.busy and bool(self.title.text().strip()))

    def confirm(self) -> None:
        """« Envoyer »: nothing leaves before the doctor says yes to what is about to go."""
        if self.patients.currentData() is None or not self.checked_recipients():
            self._say("Choisissez le patient et au moins un destinataire.", error=True)
            return
        names = ", ".join(name for _id, name in self.checked_recipients())
        patient = self.patients.currentText().removesuffix(" — proposé")
        box = QMessageBox(self)
        box.setObjectName("confirm-send")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Envoyer ce document")
        box.setText(f"Envoyer « {self.title.text().strip()} » concernant {patient} ?")
        box.setInformativeText(f"Destinataires : {names}.")
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Yes).setText("Envoyer")
        box.button(QMessageBox.StandardButton.Cancel).setText("Annuler")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(
            lambda result: self.send() if result == QMessageBox.StandardButton.Yes else None
        )
        self.confirm_box = box
        box.open()

    def send(self) -> None:
        metadata = {
            "patient_id": str(self.patients.currentData()),
            "title": self.title.text().strip(),
            "type_code": TYPE_CODE,
            "clinical_date": date.today().isoformat(),
            "recipients": [rid for rid, _name in self.checked_recipients()],
        }
        self.busy = True
        self._refresh_button()
        self._say("Envoi en cours…")
        session, path, outbox, companions = self.session, self.path, self.outbox, self.companions
        # the file moves in the task itself, once sent; the window cannot close meanwhile
        # (closeEvent), and is deleted only with the documents window at logout
        run_task(
            lambda: share(session, path, metadata, outbox, companions),
            self._sent,
            self._send_failed,
        )

    def _sent(self, target: Path) -> None:
        self.busy = False
        self.path = target
        if self.gone:
            return
        self._say(f"Document envoyé ; rangé dans {target.parent}.")
        self.send_button.setEnabled(False)
        self.later_button.setText("Fermer")
        self.sent.emit(target)

    def _send_failed(self, exc: Exception) -> None:
        self.busy = False
        if self.gone:
            return
        self._refresh_button()
        self._say(
            f"Le document n'a pas été envoyé : {describe_error(exc)} Il reste dans le dossier "
            "d'envoi ; réessayez.",
            error=True,
        )

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if error else "")

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.busy:  # the share is on its way: its answer decides where the file goes
            event.ignore()
            return
        self.gone = True
        super().closeEvent(event)


class PrintedWatcher(QObject):
    """Emits ``found`` once for each printed PDF in the folder ``where()`` names (those
    waiting already, then each new one): a file-system watch, and a scan every
    :data:`SCAN_MS` for the folders a watch misses (network shares). :meth:`repoint` follows
    a new folder (the outbox changed in « Paramétrages »); each scan checks it too."""

    found = Signal(Path)

    def __init__(self, where: Path | Callable[[], Path], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.where: Callable[[], Path] = where if callable(where) else (lambda: where)
        self.folder = self.where()
        self._seen: set[Path] = set()
        self._watch = QFileSystemWatcher(self)
        self._watch.directoryChanged.connect(lambda _p: self.scan())
        self._follow(self.folder)
        self._timer = QTimer(self)
        self._timer.setInterval(SCAN_MS)
        self._timer.timeout.connect(self.scan)
        self._timer.start()
        QTimer.singleShot(0, self.scan)

    def _follow(self, folder: Path) -> None:
        with contextlib.suppress(OSError):  # a folder made later is picked up by the timer
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self._watch.directories():
            self._watch.removePaths(self._watch.directories())
        if folder.is_dir():
            self._watch.addPath(str(folder))

    def repoint(self) -> None:
        """Watch the folder ``where()`` names now, if it changed."""
        folder = self.where()
        if folder != self.folder:
            self.folder = folder
            self._follow(folder)
            self.scan()

    @Slot(str, str)
    def on_status(self, _code: str, _message: str) -> None:
        """The session (re)started — after « Paramétrages », maybe with another outbox."""
        self.repoint()

    def scan(self) -> None:
        folder = self.where()
        if folder != self.folder:
            self.repoint()
            return
        for path in jobs.printed_jobs(folder):
            if path not in self._seen:
                self._seen.add(path)
                self.found.emit(path)

    def stop(self) -> None:
        self._timer.stop()
        if self._watch.directories():
            self._watch.removePaths(self._watch.directories())

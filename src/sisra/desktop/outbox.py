"""« À envoyer »: the letters the practice software dropped in the outbox that MonSisra set
aside (no patient found, an unknown recipient, a PDF alone…) and the letters printed to
MonSisra while no window was open, each with its reason; a button that opens their folder,
and « Compléter et envoyer… » (or a double-click) which opens « Envoyer ce document » for the
selected letter's PDF: once sent, all of its files (header, note) go to ``envoyes/AAAA-MM/``
(decision 191)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from sisra.client.outbox import SET_ASIDE_DIR, PendingLetter, pending
from sisra.client.outbox.letters import HEADER_SUFFIXES as HEADERS
from sisra.client.printing.jobs import DEFAULT_OUTBOX
from sisra.desktop.send import SendWindow
from sisra.desktop.session import AccountSession

NOT_A_PDF = (
    "Archive IHE XDM : MonSisra ne peut pas la compléter ; corrigez-la dans votre logiciel "
    "métier puis déposez-la de nouveau."
)


class OutboxDialog(QDialog):
    def __init__(
        self,
        session: AccountSession,
        open_folder: Callable[[Path], object],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.open_folder = open_folder
        self.letters: list[PendingLetter] = []
        self.send_windows: dict[Path, SendWindow] = {}
        self.setObjectName("outbox-dialog")
        self.setWindowTitle("À envoyer")
        self.resize(820, 360)
        layout = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setObjectName("outbox-summary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.table = QTableWidget(0, 2)
        self.table.setObjectName("outbox-table")
        self.table.setHorizontalHeaderLabels(["Fichier", "Ce qui manque"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(0, 240)
        self.table.setWordWrap(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.cellDoubleClicked.connect(lambda _row, _col: self.complete())
        layout.addWidget(self.table, 1)
        self.why_not = QLabel()
        self.why_not.setObjectName("outbox-why-not")
        self.why_not.setWordWrap(True)
        layout.addWidget(self.why_not)
        buttons = QHBoxLayout()
        self.complete_button = QPushButton("Compléter et envoyer…")
        self.complete_button.setObjectName("complete-outbox")
        self.complete_button.clicked.connect(self.complete)
        self.open_button = QPushButton("Ouvrir le dossier")
        self.open_button.setObjectName("open-outbox")
        self.open_button.clicked.connect(self.open_set_aside)
        refresh = QPushButton("Actualiser")
        refresh.setObjectName("refresh-outbox")
        refresh.clicked.connect(self.refresh)
        close = QPushButton("Fermer")
        close.clicked.connect(self.accept)
        buttons.addWidget(self.complete_button)
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(refresh)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self.refresh()

    @property
    def outbox(self) -> Path | None:
        """The outbox setting; without it, the folder where printed letters wait, once the
        background service set one of them aside there."""
        configured = self.session.account.settings.outbox
        if configured is not None:
            return configured
        default = self.session.account.folder / DEFAULT_OUTBOX
        return default if (default / SET_ASIDE_DIR).is_dir() else None

    def selected(self) -> PendingLetter | None:
        rows = self.table.selectionModel().selectedRows()
        return self.letters[rows[0].row()] if rows and rows[0].row() < len(self.letters) else None

    def _selection_changed(self) -> None:
        letter = self.selected()
        pdf = letter is not None and letter.path.suffix.lower() == ".pdf"
        self.complete_button.setEnabled(pdf)
        reason = NOT_A_PDF if letter is not None and not pdf else ""
        self.complete_button.setToolTip(reason)
        self.why_not.setText(reason)
        self.why_not.setVisible(bool(reason))

    def complete(self) -> None:
        """« Envoyer ce document » for the selected letter's PDF, proposals read from its
        text; sent, its files all go to ``envoyes/`` and the list is read again."""
        letter, outbox = self.selected(), self.outbox
        if letter is None or outbox is None or letter.path.suffix.lower() != ".pdf":
            return
        window = self.send_windows.get(letter.path)
        if window is None:
            companions = tuple(p for p in (*letter.files, letter.note) if p is not None)
            header = next(
                (p for p in letter.files if p != letter.path and p.suffix.lower() in HEADERS),
                None,
            )
            # a child of the documents window: closed with it at logout, as the session ends
            owner = self.parentWidget() or self
            window = SendWindow(
                self.session,
                letter.path,
                owner,
                outbox=outbox,
                companions=companions,
                header=header,
            )
            window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            window.sent.connect(self._letter_sent)  # a bound slot: let go if this one is deleted
            window.destroyed.connect(lambda _o=None, p=letter.path: self._closed(p))
            self.send_windows[letter.path] = window
        window.show()
        window.raise_()
        window.activateWindow()

    def _letter_sent(self, _target: Path) -> None:
        self.refresh()

    def _closed(self, path: Path) -> None:
        with contextlib.suppress(RuntimeError):  # this dialog was closed and deleted first
            self.send_windows.pop(path, None)
            self.refresh()

    def refresh(self) -> None:
        outbox = self.outbox
        self.letters = pending(outbox) if outbox is not None else []
        self.table.setRowCount(len(self.letters))
        for i, letter in enumerate(self.letters):
            for j, text in enumerate((letter.path.name, letter.reason)):
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.resizeRowsToContents()
        if self.letters and not self.table.selectionModel().selectedRows():
            self.table.selectRow(0)
        self._selection_changed()
        self.open_button.setEnabled(outbox is not None)
        if outbox is None:
            text = (
                "Aucun dossier d'envoi : indiquez dans «\u00a0Paramétrages\u00a0» le dossier "
                "où votre logiciel métier dépose les courriers, MonSisra les enverra."
            )
        elif not self.letters:
            text = f"Rien à compléter : tout ce qui a été déposé dans {outbox} a été envoyé."
        else:
            text = (
                f"{len(self.letters)} courrier(s) déposé(s) dans {outbox} n'ont pas été envoyés : "
                f"ils attendent dans le sous-dossier «\u00a0{SET_ASIDE_DIR}\u00a0», chacun avec "
                "un fichier texte qui dit ce qui manque. Corrigez le courrier dans votre "
                "logiciel métier puis déposez-le de nouveau, ou choisissez-le ci-dessous puis "
                "«\u00a0Compléter et envoyer…\u00a0»."
            )
        self.summary.setText(text)

    def open_set_aside(self) -> None:
        outbox = self.outbox
        if outbox is None:
            return
        folder = outbox / SET_ASIDE_DIR
        self.open_folder(folder if folder.is_dir() else outbox)

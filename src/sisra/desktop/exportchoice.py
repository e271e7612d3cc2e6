"""The practice software a user's documents go to, and the folder MonSisra writes them in.

Used by the first-run wizard and by the « Répertoire d'enregistrement des documents »
setting. The profiles are data (:mod:`sisra.client.export.profiles`); each suggests a folder
for this computer, which the user may replace with their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from sisra.client.export.profiles import Profile, load_profiles

W = TypeVar("W", bound=QWidget)

DEFAULT_PROFILE = "pdf"
NOT_LISTED = (
    "Votre logiciel ne figure pas dans la liste ? Choisissez « Dossier des documents "
    "scannés » et indiquez le répertoire de dépôt de vos documents scannés."
)


def _named(widget: W, name: str) -> W:
    widget.setObjectName(name)  # how tests and accessibility tools find it
    return widget


class ExportChoice(QWidget):
    """A list of practice software profiles, the help of the selected one, and the folder."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._profiles = load_profiles()
        # The folder follows the profile until the user types or picks one of their own.
        self._custom_folder = False

        self._list = _named(QListWidget(), "profiles")
        self._list.setAccessibleName("Logiciel métier")
        for profile in self._profiles:
            item = QListWidgetItem(profile.label)
            item.setData(Qt.ItemDataRole.UserRole, profile.id)
            self._list.addItem(item)
        self._list.setMinimumHeight(140)
        self._list.setFixedWidth(250)

        self._help = _named(QLabel(wordWrap=True), "profile_help")
        self._help.setTextFormat(Qt.TextFormat.PlainText)
        self._help.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        # the help of some profiles is long: it scrolls beside the list rather than squeezing it
        help_area = QScrollArea()
        help_area.setWidget(self._help)
        help_area.setWidgetResizable(True)
        help_area.setFrameShape(QFrame.Shape.NoFrame)

        self._folder = _named(QLineEdit(), "folder")
        self._folder.setAccessibleName("Répertoire d'enregistrement des documents")
        browse = _named(QPushButton("Parcourir…"), "browse")
        browse.setAutoDefault(False)
        folder_label = QLabel("&Répertoire d'enregistrement des documents :")
        folder_label.setBuddy(self._folder)
        list_label = QLabel("&Votre logiciel métier :")
        list_label.setBuddy(self._list)

        row = QHBoxLayout()
        row.addWidget(self._folder, 1)
        row.addWidget(browse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(list_label)
        choice_row = QHBoxLayout()
        choice_row.addWidget(self._list)
        choice_row.addWidget(help_area, 1)
        layout.addLayout(choice_row, 1)
        layout.addWidget(_named(QLabel(NOT_LISTED, wordWrap=True), "not_listed"))
        layout.addWidget(folder_label)
        layout.addLayout(row)

        self._list.currentRowChanged.connect(self._profile_selected)
        self._folder.textEdited.connect(self._folder_typed)  # user edits only, not setText
        browse.clicked.connect(self._browse)
        self.set_values(None, None)

    # --- public ---------------------------------------------------------------------------

    def profile_id(self) -> str:
        return self._current().id

    def folder(self) -> Path:
        text = self._folder.text().strip()
        return Path(text).expanduser() if text else self._current().default_folder()

    def set_values(self, profile_id: str | None, folder: Path | None) -> None:
        """Select ``profile_id`` (else PDF seul); ``folder`` None means the profile's own."""
        ids = [p.id for p in self._profiles]
        wanted = profile_id if profile_id in ids else DEFAULT_PROFILE
        self._custom_folder = False
        row = ids.index(wanted) if wanted in ids else 0
        if self._list.currentRow() == row:
            self._profile_selected(row)
        else:
            self._list.setCurrentRow(row)
        if folder is not None:
            self._custom_folder = True
            self._folder.setText(str(folder))
            self.changed.emit()

    # --- internals ------------------------------------------------------------------------

    def _current(self) -> Profile:
        row = self._list.currentRow()
        return self._profiles[row if row >= 0 else 0]

    def _profile_selected(self, row: int) -> None:
        if row < 0:
            return
        profile = self._profiles[row]
        self._help.setText("\n\n".join(t for t in (profile.description, profile.note) if t))
        if not self._custom_folder:
            self._folder.setText(str(profile.default_folder()))
        self.changed.emit()

    def _folder_typed(self, text: str) -> None:
        # an emptied field goes back to following the profile
        self._custom_folder = bool(text.strip())
        self.changed.emit()

    def _browse(self) -> None:
        start = self._folder.text().strip() or str(Path.home())
        chosen = QFileDialog.getExistingDirectory(
            self, "Répertoire d'enregistrement des documents", start
        )
        if chosen:
            self._custom_folder = True
            self._folder.setText(chosen)
            self.changed.emit()

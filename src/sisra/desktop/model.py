"""The DOCUMENTS REÇUS table as a Qt model: one row per received document.

Rows are flattened once (display strings, sort keys, folded search text) when an item
arrives, so ``data()`` — called for every visible cell at every repaint — is a lookup, and
sorting or searching 10,000 rows is a Python sort/scan over ready-made keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QApplication, QStyle

from sisra.client.items import ItemPatient
from sisra.client.state import ItemState
from sisra.common import clock
from sisra.common.text import fold
from sisra.desktop.icons import glyph_icon

ModelIndex = QModelIndex | QPersistentModelIndex

COL_DATE, COL_PATIENT, COL_RECORD, COL_SENDER, COL_TITLE, COL_TYPE, COL_STATUS, COL_REPLY = range(8)
HEADERS = ("Reçu le", "Patient", "", "Expéditeur", "Libellé", "Type", "État", "")
ID_ROLE = Qt.ItemDataRole.UserRole + 2

STATUS_LABELS = {
    "pending": "À enregistrer",
    "exported": "Enregistré",
    "failed": "Échec d'enregistrement",
    "skipped": "Non enregistré (antérieur)",
}


@dataclass
class Row:
    state: ItemState
    received: str
    received_key: str
    patient: str
    sender: str
    title: str
    type_label: str
    unread: bool
    search: str
    patient_key: str

    @property
    def id(self) -> str:
        return self.state.id

    @property
    def status(self) -> str:
        return STATUS_LABELS.get(self.state.status, self.state.status)


def make_row(st: ItemState, read_here: bool, zone: tzinfo | None = None) -> Row:
    """One row; times in ``zone`` (the platform's, :func:`sisra.client.region.display_zone`),
    this computer's when None."""
    item = st.item
    patient = item.patient
    name = patient_name(patient)
    born = _date_fr(str(patient.birth_date or ""))
    created = clock.local(item.created_at, zone)
    doc, sender = item.document, item.sender
    patient_text = f"{name} ({born})" if born else name
    folded_name = fold(name)
    # « Documents reçus » on the web finds a patient by the used name and by the birth name
    names = fold(f"{patient.used_name or ''} {patient.birth_name}")
    return Row(
        state=st,
        received=clock.fr_datetime(created, zone, sep=" "),
        received_key=created.astimezone(UTC).isoformat(),  # orders across a DST change
        patient=patient_text,
        sender=sender.name,
        title=doc.title,
        type_label=doc.type_label or doc.type_code,
        unread=not read_here and item.read_at is None,
        search=f"{folded_name} {names} {born} " + fold(f"{sender.name} {doc.title}"),
        patient_key=folded_name,
    )


def patient_name(patient: ItemPatient) -> str:
    """« DUPONT Jeanne »: the used name (else the birth name) in capitals, first given name;
    « DURAND (né(e) DUPONT) Jeanne » when the birth name differs, as the web pages write
    it (a no-break space keeps « né(e) » with the name it introduces)."""
    birth = patient.birth_name.upper()
    used = (patient.used_name or "").upper()
    last = f"{used} (né(e)\u00a0{birth})" if used and used != birth else used or birth
    return f"{last} {patient.first_given_name}"


def make_rows(
    states: list[ItemState], read_here: set[str], zone: tzinfo | None = None
) -> list[Row]:
    return [make_row(st, st.id in read_here, zone) for st in states]


def _date_fr(iso: str) -> str:
    parts = iso.split("-")
    return f"{parts[2]}/{parts[1]}/{parts[0]}" if len(parts) == 3 else iso


class DocumentsModel(QAbstractTableModel):
    """Received documents: all of them in :attr:`all`, the searched/filtered/sorted ones in
    :attr:`rows` (what the table shows).

    Sorting and filtering are done here with Python's sort on precomputed keys rather than
    by a QSortFilterProxyModel, whose per-comparison call into Python made re-sorting 10,000
    rows take seconds (bench/desktop.py)."""

    MODES = ("all", "unread", "failed")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.all: dict[str, Row] = {}
        self.rows: list[Row] = []
        self.zone: tzinfo | None = None  # the zone « Reçu le » is shown in (None: this computer's)
        self._index: dict[str, int] = {}
        self._words: list[str] = []
        self._mode = "all"
        self._sort_col, self._descending = COL_DATE, True
        self._bold = QFont()
        self._bold.setBold(True)
        self._link = QFont()
        self._link.setUnderline(True)
        self._link_bold = QFont(self._link)
        self._link_bold.setBold(True)
        style = QApplication.style()
        self._record_icon = style.standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon)
        self._reply_icon = glyph_icon("↩", "#1f5fa8")
        self._failed = QBrush(QColor("#b00020"))
        self._link_color = QBrush(QColor("#0b57d0"))

    # Qt model API -------------------------------------------------------------------------
    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return HEADERS[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return {COL_RECORD: "Dossier du patient", COL_REPLY: "Répondre"}.get(section)
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, col = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(row, col)
        if role == ID_ROLE:
            return row.id
        if role == Qt.ItemDataRole.FontRole:
            if col == COL_TITLE:
                return self._link_bold if row.unread else self._link
            return self._bold if row.unread else None
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == COL_TITLE:
                return self._link_color
            if col == COL_STATUS and row.state.status == "failed":
                return self._failed
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            if col == COL_RECORD:
                return self._record_icon
            if col == COL_REPLY:
                return self._reply_icon
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(row, col)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return {COL_RECORD: "Dossier du patient", COL_REPLY: "Répondre"}.get(
                col, _display(row, col)
            )
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if column in (COL_RECORD, COL_REPLY):
            column = COL_PATIENT if column == COL_RECORD else COL_TITLE
        self._sort_col = column
        self._descending = order == Qt.SortOrder.DescendingOrder
        self._refresh()

    # search and filter ----------------------------------------------------------------------
    def set_search(self, text: str) -> None:
        self._words = fold(text).split()
        self._refresh()

    def set_mode(self, mode: str) -> None:
        self._mode = mode
        self._refresh()

    def _accepts(self, row: Row) -> bool:
        if self._mode == "unread" and not row.unread:
            return False
        if self._mode == "failed" and row.state.status != "failed":
            return False
        return all(word in row.search for word in self._words)

    def _key(self, row: Row) -> Any:
        return _sort_key(row, self._sort_col)

    def _refresh(self) -> None:
        self.layoutAboutToBeChanged.emit()
        shown = [row for row in self.all.values() if self._accepts(row)]
        shown.sort(key=self._key, reverse=self._descending)
        self.rows = shown
        self._index = {row.id: i for i, row in enumerate(shown)}
        self.layoutChanged.emit()

    # updates ------------------------------------------------------------------------------
    def reset(self, states: list[ItemState], read_here: set[str]) -> None:
        self.set_rows(make_rows(states, read_here, self.zone))

    def set_rows(self, rows: list[Row]) -> None:
        """Replace the list (rows built off the UI thread with :func:`make_rows`)."""
        self.all = {row.id: row for row in rows}
        self.beginResetModel()
        self._refresh()
        self.endResetModel()

    def upsert(self, st: ItemState, read_here: bool = False) -> None:
        if st.status == "deleted":
            self.remove(st.id)
            return
        old = self.all.get(st.id)
        row = make_row(st, read_here or (old is not None and not old.unread), self.zone)
        self.all[st.id] = row
        at = self._index.get(st.id)
        if at is not None and self._key(self.rows[at]) == self._key(row) and self._accepts(row):
            self.rows[at] = row  # same place: repaint the row only
            self.dataChanged.emit(self.index(at, 0), self.index(at, len(HEADERS) - 1))
            return
        if at is not None:
            self._take(at)
        if self._accepts(row):
            key = self._key(row)
            pos = next(
                (
                    i
                    for i, other in enumerate(self.rows)
                    if (self._key(other) < key if self._descending else self._key(other) > key)
                ),
                len(self.rows),
            )
            self.beginInsertRows(QModelIndex(), pos, pos)
            self.rows.insert(pos, row)
            self._index = {r.id: i for i, r in enumerate(self.rows)}
            self.endInsertRows()

    def _take(self, at: int) -> None:
        self.beginRemoveRows(QModelIndex(), at, at)
        del self.rows[at]
        self._index = {row.id: i for i, row in enumerate(self.rows)}
        self.endRemoveRows()

    def mark_read(self, item_id: str) -> None:
        row = self.all.get(item_id)
        if row is None or not row.unread:
            return
        row.unread = False
        at = self._index.get(item_id)
        if at is not None:
            if self._mode == "unread":
                self._take(at)
            else:
                self.dataChanged.emit(self.index(at, 0), self.index(at, len(HEADERS) - 1))

    def remove(self, item_id: str) -> None:
        self.all.pop(item_id, None)
        at = self._index.get(item_id)
        if at is not None:
            self._take(at)

    def row_for(self, item_id: str) -> Row | None:
        return self.all.get(item_id)

    def position(self, item_id: str) -> int | None:
        """The table row showing ``item_id`` (None when filtered out)."""
        return self._index.get(item_id)

    def total(self) -> int:
        return len(self.all)

    def filtered(self) -> bool:
        """Whether a search or a filter hides some documents."""
        return bool(self._words) or self._mode != "all"

    def unread_count(self) -> int:
        return sum(row.unread for row in self.all.values())

    def failed_count(self) -> int:
        return sum(row.state.status == "failed" for row in self.all.values())


def _sort_key(row: Row, col: int) -> Any:
    if col == COL_DATE:
        return row.received_key
    if col == COL_PATIENT:
        return (row.patient_key, row.received_key)
    if col == COL_SENDER:
        return (fold(row.sender), row.received_key)
    if col == COL_TYPE:
        return (fold(row.type_label), row.received_key)
    if col == COL_STATUS:
        return (row.status, row.received_key)
    return (fold(row.title), row.received_key)


def _display(row: Row, col: int) -> str | None:
    return {
        COL_DATE: row.received,
        COL_PATIENT: row.patient,
        COL_SENDER: row.sender,
        COL_TITLE: row.title,
        COL_TYPE: row.type_label,
        COL_STATUS: row.status + (" · Non lu" if row.unread else ""),
    }.get(col)


def _tooltip(row: Row, col: int) -> str | None:
    if col == COL_RECORD:
        return "Ouvrir le dossier régional du patient"
    if col == COL_REPLY:
        return "Répondre à l'expéditeur"
    if col == COL_TITLE:
        return None  # the first-page preview is shown instead
    if col in (COL_PATIENT, COL_SENDER, COL_TYPE):
        return _display(row, col)  # whole, when the column is narrower than the text
    if col == COL_STATUS:
        st = row.state
        if st.status == "failed":
            return (
                f"{st.error_message} ({st.attempts} essai(s)) — menu « Documents non enregistrés »"
            )
        if st.files:
            return "\n".join(st.files)
    return None

"""The DOCUMENTS REÇUS table as a Qt model: one row per received document.

Rows are flattened once (display strings, sort keys, folded search text) when an item
arrives, so ``data()`` — called for every visible cell at every repaint — is a tuple lookup.
Sorting and the search/filter run in :class:`DocumentsFilter` (a proxy) over those values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QApplication, QStyle

from sisra.client.state import ItemState
from sisra.common.text import fold

ModelIndex = QModelIndex | QPersistentModelIndex

COL_DATE, COL_PATIENT, COL_RECORD, COL_SENDER, COL_TITLE, COL_TYPE, COL_STATUS, COL_REPLY = range(8)
HEADERS = ("Reçu le", "Patient", "", "Expéditeur", "Libellé", "Type", "État", "")
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
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

    @property
    def id(self) -> str:
        return self.state.id

    @property
    def status(self) -> str:
        return STATUS_LABELS.get(self.state.status, self.state.status)


def make_row(st: ItemState, read_here: bool) -> Row:
    item = st.item
    patient = item["patient"]
    last = str(patient.get("used_name") or patient["birth_name"]).upper()
    name = f"{last} {patient['first_given_name']}"
    born = _date_fr(str(patient.get("birth_date", "")))
    created = datetime.fromisoformat(str(item["created_at"]).replace("Z", "+00:00")).astimezone()
    doc, sender = item["document"], item["sender"]
    patient_text = f"{name} ({born})" if born else name
    return Row(
        state=st,
        received=created.strftime("%d/%m/%Y %H:%M"),
        received_key=created.isoformat(),
        patient=patient_text,
        sender=str(sender["name"]),
        title=str(doc["title"]),
        type_label=str(doc.get("type_label") or doc.get("type_code", "")),
        unread=not read_here and item.get("read_at") is None,
        search=fold(" ".join((patient_text, str(sender["name"]), str(doc["title"]), born))),
    )


def _date_fr(iso: str) -> str:
    parts = iso.split("-")
    return f"{parts[2]}/{parts[1]}/{parts[0]}" if len(parts) == 3 else iso


class DocumentsModel(QAbstractTableModel):
    """Received documents, in arrival order; ``upsert`` keeps one row per notification."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[Row] = []
        self._index: dict[str, int] = {}
        self._bold = QFont()
        self._bold.setBold(True)
        self._link = QFont()
        self._link.setUnderline(True)
        self._link_bold = QFont(self._link)
        self._link_bold.setBold(True)
        style = QApplication.style()
        self._record_icon = style.standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon)
        self._reply_icon = style.standardIcon(QStyle.StandardPixmap.SP_ArrowBack)
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
        if role == SORT_ROLE:
            return row.received_key if col == COL_DATE else (_display(row, col) or "").lower()
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

    # updates ------------------------------------------------------------------------------
    def reset(self, states: list[ItemState], read_here: set[str]) -> None:
        self.beginResetModel()
        self.rows = [make_row(st, st.id in read_here) for st in states]
        self._index = {row.id: i for i, row in enumerate(self.rows)}
        self.endResetModel()

    def upsert(self, st: ItemState, read_here: bool = False) -> None:
        at = self._index.get(st.id)
        if st.status == "deleted":
            self.remove(st.id)
            return
        if at is None:
            n = len(self.rows)
            self.beginInsertRows(QModelIndex(), n, n)
            self.rows.append(make_row(st, read_here))
            self._index[st.id] = n
            self.endInsertRows()
            return
        old = self.rows[at]
        self.rows[at] = make_row(st, read_here or not old.unread)
        self.dataChanged.emit(self.index(at, 0), self.index(at, len(HEADERS) - 1))

    def mark_read(self, item_id: str) -> None:
        at = self._index.get(item_id)
        if at is not None and self.rows[at].unread:
            self.rows[at].unread = False
            self.dataChanged.emit(self.index(at, 0), self.index(at, len(HEADERS) - 1))

    def remove(self, item_id: str) -> None:
        at = self._index.pop(item_id, None)
        if at is None:
            return
        self.beginRemoveRows(QModelIndex(), at, at)
        del self.rows[at]
        self.endRemoveRows()
        self._index = {row.id: i for i, row in enumerate(self.rows)}

    def row_for(self, item_id: str) -> Row | None:
        at = self._index.get(item_id)
        return None if at is None else self.rows[at]

    def unread_count(self) -> int:
        return sum(row.unread for row in self.rows)


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
    if col == COL_STATUS:
        st = row.state
        if st.status == "failed":
            return (
                f"{st.error_message} ({st.attempts} essai(s)) — menu « Documents non enregistrés »"
            )
        if st.files:
            return "\n".join(st.files)
    return None


class DocumentsFilter(QSortFilterProxyModel):
    """Search (accents and case ignored) and the « Tous / Non lus / En échec » filter."""

    MODES = ("all", "unread", "failed")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._words: list[str] = []
        self._mode = "all"
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_search(self, text: str) -> None:
        self.beginFilterChange()
        self._words = fold(text).split()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_mode(self, mode: str) -> None:
        self.beginFilterChange()
        self._mode = mode
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:
        model = self.sourceModel()
        assert isinstance(model, DocumentsModel)
        row = model.rows[source_row]
        if self._mode == "unread" and not row.unread:
            return False
        if self._mode == "failed" and row.state.status != "failed":
            return False
        return all(word in row.search for word in self._words)

"""The DOCUMENTS REÇUS table as a Qt model: one row per received document.

Rows are flattened once (display strings, sort keys, folded search text) when an item
arrives, so ``data()`` — called for every visible cell at every repaint — is a lookup, and
sorting or searching 10,000 rows is a Python sort/scan over ready-made keys.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, tzinfo
from functools import lru_cache
from json import JSONDecoder
from operator import attrgetter
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
from sisra.client.state import ItemState, StoredItem, stored_state
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


class Row:
    """One row: what the table shows, sorts and searches, made once from the document's fields
    (the same from a typed state and from a stored row); the typed state (:attr:`state`, for
    the actions) is made from the stored row when first asked for."""

    __slots__ = (
        "_created",
        "_name",
        "_patient_key",
        "_received",
        "_state",
        "_stored",
        "_zone",
        "cursor",
        "id",
        "patient",
        "received_key",
        "search",
        "sender",
        "status_code",
        "title",
        "type_label",
        "unread",
    )

    def __init__(
        self,
        source: ItemState | StoredItem,
        ids: tuple[str, int, str],
        created: datetime,
        names: tuple[str, str, str, str],
        texts: tuple[str, str, str],
        unread: bool,
        zone: tzinfo | None,
    ) -> None:
        """``ids``: id, cursor, status; ``names``: the patient's birth name, used name, first
        given name and birth date (ISO); ``texts``: sender, title, type."""
        self._state: ItemState | None = None
        self._stored: StoredItem | None = None
        if isinstance(source, ItemState):
            self._state = source
        else:
            self._stored = source
        self._patient_key: str | None = None
        self.id, self.cursor, self.status_code = ids
        birth, used, first, birth_date = names
        self.sender, self.title, self.type_label = texts
        self.unread = unread
        self._name = name = _patient_name(birth, used, first)
        born = _date_fr(birth_date)
        self.patient = f"{name} ({born})" if born else name
        self._created, self._zone = created, zone
        self._received: str | None = None
        self.received_key = created.timestamp()  # orders across a DST change
        # everything searched, folded; « Documents reçus » on the web finds a patient by the
        # used name and by the birth name too. A patient, a sender, a title come back in many
        # rows: each is folded once.
        patient = _folded(f"{name} {used} {birth} {born}")
        self.search = f"{patient} {_folded(self.sender)} {_folded(self.title)}"

    @property
    def state(self) -> ItemState:
        if self._state is None:
            assert self._stored is not None
            self._state, self._stored = stored_state(self._stored), None
        return self._state

    @property
    def received(self) -> str:
        """« Reçu le » as shown (written when first shown: most rows never are)."""
        if self._received is None:
            self._received = clock.fr_datetime(self._created, self._zone, sep=" ")
        return self._received

    @property
    def status(self) -> str:
        return STATUS_LABELS.get(self.status_code, self.status_code)

    @property
    def patient_key(self) -> str:
        """The patient's name as sorted (folded when first sorted by patient)."""
        if self._patient_key is None:
            self._patient_key = fold(self._name)
        return self._patient_key


# fold() of the texts rows repeat (bounded: a text seen again costs a lookup, not a folding)
_folded = lru_cache(maxsize=1 << 14)(fold)


def make_row(st: ItemState, read_here: bool, zone: tzinfo | None = None) -> Row:
    """One row; times in ``zone`` (the platform's, :func:`sisra.client.region.display_zone`),
    this computer's when None."""
    item = st.item
    patient, doc = item.patient, item.document
    return Row(
        st,
        (st.id, st.cursor, st.status),
        item.created_at,
        (
            patient.birth_name,
            patient.used_name or "",
            patient.first_given_name,
            str(patient.birth_date or ""),
        ),
        (item.sender.name, doc.title, doc.type_label or doc.type_code),
        not read_here and item.read_at is None,
        zone,
    )


# the item's fields a row is made of, read from the local state by SQLite (make_rows)
FIELDS = (
    "$.created_at",
    "$.read_at",
    "$.patient.birth_name",
    "$.patient.used_name",
    "$.patient.first_given_name",
    "$.patient.birth_date",
    "$.sender.name",
    "$.document.title",
    "$.document.type_label",
    "$.document.type_code",
)


def make_rows(
    stored: list[StoredItem], read_here: set[str], zone: tzinfo | None = None
) -> list[Row]:
    """The rows of documents as the local state stores them, each followed by the values of
    its item's :data:`FIELDS` (:meth:`LocalState.visible_fields`), without typing them: the
    same rows as :func:`make_row` makes from their typed states. A row keeps the stored tuple
    as it came: each object kept is one more for the garbage collector to scan."""
    rows = []
    for raw in stored:
        created, read_at, birth, used, first, born, sender, title, type_label, type_code = _decode(
            raw[-1]
        )[0]
        id_ = raw[0]
        rows.append(
            Row(
                raw,
                (id_, int(raw[1]), raw[3]),  # the items table's id, cursor, item, status…
                clock.instant(str(created)),
                (_text(birth), _text(used), _text(first), _iso_date(born)),
                (_text(sender), _text(title), _text(type_label) or _text(type_code)),
                id_ not in read_here and read_at in (None, ""),
                zone,
            )
        )
    return rows


_decode = JSONDecoder().raw_decode


def _text(value: Any) -> str:
    """A text field as :class:`sisra.client.items.InboxItem` reads it (a number as its text)."""
    return value if type(value) is str else "" if value is None else str(value)


def _iso_date(value: Any) -> str:
    """A date field as ``str(patient.birth_date or "")`` gives it from the typed item."""
    if type(value) is str and len(value) == 10 and value[4] == value[7] == "-" and value[5] != "W":
        return value  # YYYY-MM-DD (a stored item's dates were read once, valid), not YYYY-Www-D
    return "" if value is None or value == "" else date.fromisoformat(str(value)[:10]).isoformat()


def patient_name(patient: ItemPatient) -> str:
    """« DUPONT Jeanne »: the used name (else the birth name) in capitals, first given name;
    « DURAND (né(e) DUPONT) Jeanne » when the birth name differs, as the web pages write
    it (a no-break space keeps « né(e) » with the name it introduces)."""
    return _patient_name(patient.birth_name, patient.used_name or "", patient.first_given_name)


def _patient_name(birth_name: str, used_name: str, first_given_name: str) -> str:
    birth, used = birth_name.upper(), used_name.upper()
    last = f"{used} (né(e)\u00a0{birth})" if used and used != birth else used or birth
    return f"{last} {first_given_name}"


def _date_fr(iso: str) -> str:
    parts = iso.split("-")
    return f"{parts[2]}/{parts[1]}/{parts[0]}" if len(parts) == 3 else iso


class DocumentsModel(QAbstractTableModel):
    """Received documents: all of them in :attr:`all`, the searched/filtered/sorted ones in
    :attr:`rows` (what the table shows).

    Sorting and filtering are done here with Python's sort on precomputed keys rather than
    by a QSortFilterProxyModel, whose per-comparison call into Python made re-sorting 10,000
    rows take seconds (bench/desktop.py). Every row in the current order is kept
    (:attr:`_ordered`), so a search keystroke only filters it, without sorting; a keystroke
    that narrows the search (« ma » after « m ») filters the rows shown only."""

    MODES = ("all", "unread", "failed")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.all: dict[str, Row] = {}
        self.rows: list[Row] = []
        self.zone: tzinfo | None = None  # the zone « Reçu le » is shown in (None: this computer's)
        self._ordered: list[Row] | None = []  # every row in the current order; None: to sort
        self._index: dict[str, int] | None = {}  # row id -> position in rows; None: to make
        self._counted: tuple[int, int] | None = (0, 0)  # unread, failed; None: to count
        self._words: list[str] = []
        self._mode = "all"
        self._shown_for: tuple[str, list[str]] | None = ("all", [])  # what rows is filtered by
        self._sort_col, self._descending = COL_DATE, True
        self._keys = _sort_keys(COL_DATE)
        self.bold = QFont()
        self.bold.setBold(True)
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
        # called for every role of every visible cell at each repaint: the frequent roles first
        if not index.isValid():
            return None
        row, col = self.rows[index.row()], index.column()
        if role == _DISPLAY:
            return cell_text(row, col)
        if role == _FONT:
            if col == COL_TITLE:
                return self._link_bold if row.unread else self._link
            return self.bold if row.unread else None
        if role == _FOREGROUND:
            if col == COL_TITLE:
                return self._link_color
            if col == COL_STATUS and row.status_code == "failed":
                return self._failed
            return None
        if role == _DECORATION:
            if col == COL_RECORD:
                return self._record_icon
            if col == COL_REPLY:
                return self._reply_icon
            return None
        if role == ID_ROLE:
            return row.id
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(row, col)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return {COL_RECORD: "Dossier du patient", COL_REPLY: "Répondre"}.get(
                col, cell_text(row, col)
            )
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if column in (COL_RECORD, COL_REPLY):
            column = COL_PATIENT if column == COL_RECORD else COL_TITLE
        self._sort_col = column
        self._descending = order == Qt.SortOrder.DescendingOrder
        self._keys = _sort_keys(column)
        self._ordered, self._shown_for = None, None  # every row sorted again, then filtered
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
        if self._mode == "failed" and row.status_code != "failed":
            return False
        return all(word in row.search for word in self._words)

    def _filter(self, rows: list[Row]) -> list[Row]:
        """``rows`` (in order) that the filter and every searched word accept: one list
        comprehension per condition rather than a call per row (a keystroke within a frame)."""
        if self._mode == "unread":
            rows = [row for row in rows if row.unread]
        elif self._mode == "failed":
            rows = [row for row in rows if row.status_code == "failed"]
        for word in self._words:
            rows = [row for row in rows if word in row.search]
        return rows

    def _narrows(self) -> bool:
        """Whether the rows shown hold every row now accepted: same filter, and each word
        searched before is within a word searched now (« ma » after « m », « dupont j »
        after « dupont »)."""
        if self._shown_for is None:
            return False
        mode, words = self._shown_for
        return mode == self._mode and all(any(old in new for new in self._words) for old in words)

    def _key(self, row: Row) -> tuple[Any, ...]:
        return tuple(key(row) for key in self._keys)

    def _refresh(self) -> None:
        if self._ordered is None:
            # one stable sort per key, the last key first: the same order as by their tuple,
            # without a tuple per row (10,000 of them woke the garbage collector)
            self._ordered = list(self.all.values())
            for key in reversed(self._keys):
                self._ordered.sort(key=key, reverse=self._descending)
        shown = self._filter(self.rows if self._narrows() else self._ordered)
        self.layoutAboutToBeChanged.emit()
        self.rows = shown if shown is not self._ordered else list(shown)
        self._shown_for = (self._mode, self._words)
        self._index = None
        self.layoutChanged.emit()

    def _position(self) -> dict[str, int]:
        if self._index is None:
            self._index = {row.id: i for i, row in enumerate(self.rows)}
        return self._index

    def _place(self, rows: list[Row], row: Row) -> int:
        """Where ``row`` goes in ``rows`` (in the current order): a binary search."""
        key, lo, hi = self._key(row), 0, len(rows)
        while lo < hi:
            mid = (lo + hi) // 2
            other = self._key(rows[mid])
            if (other > key) if self._descending else (other < key):
                lo = mid + 1
            else:
                hi = mid
        return lo

    # updates ------------------------------------------------------------------------------
    def reset(self, states: list[ItemState], read_here: set[str]) -> None:
        self.set_rows([make_row(st, st.id in read_here, self.zone) for st in states])

    def set_rows(self, rows: list[Row]) -> None:
        """Replace the list (rows built off the UI thread with :func:`make_rows`)."""
        self.all = {row.id: row for row in rows}
        self._ordered, self._shown_for, self._counted = None, None, None
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
        self._counted = None
        if self._ordered is not None:
            if old is not None:
                self._ordered.remove(old)  # by identity: a Row has no equality of its own
            self._ordered.insert(self._place(self._ordered, row), row)
        at = self._position().get(st.id)
        same_key = at is not None and self._key(self.rows[at]) == self._key(row)
        if same_key and self._accepts(row):
            assert at is not None
            self.rows[at] = row  # same place: repaint the row only
            self.dataChanged.emit(self.index(at, 0), self.index(at, len(HEADERS) - 1))
            return
        if at is not None:
            self._take(at)
        if self._accepts(row):
            pos = self._place(self.rows, row)
            self.beginInsertRows(QModelIndex(), pos, pos)
            self.rows.insert(pos, row)
            self._index = None
            self.endInsertRows()

    def _take(self, at: int) -> None:
        self.beginRemoveRows(QModelIndex(), at, at)
        del self.rows[at]
        self._index = None
        self.endRemoveRows()

    def mark_read(self, item_id: str) -> None:
        row = self.all.get(item_id)
        if row is None or not row.unread:
            return
        row.unread = False
        self._counted = None
        at = self._position().get(item_id)
        if at is not None:
            if self._mode == "unread":
                self._take(at)
            else:
                self.dataChanged.emit(self.index(at, 0), self.index(at, len(HEADERS) - 1))

    def remove(self, item_id: str) -> None:
        row = self.all.pop(item_id, None)
        if row is None:
            return
        self._counted = None
        if self._ordered is not None:
            self._ordered.remove(row)
        at = self._position().get(item_id)
        if at is not None:
            self._take(at)

    def row_for(self, item_id: str) -> Row | None:
        return self.all.get(item_id)

    def position(self, item_id: str) -> int | None:
        """The table row showing ``item_id`` (None when filtered out)."""
        return self._position().get(item_id)

    def total(self) -> int:
        return len(self.all)

    def filtered(self) -> bool:
        """Whether a search or a filter hides some documents."""
        return bool(self._words) or self._mode != "all"

    def _counts(self) -> tuple[int, int]:
        """Unread and failed documents, counted once per change (not per keystroke)."""
        if self._counted is None:
            rows = self.all.values()
            self._counted = (
                sum(row.unread for row in rows),
                sum(row.status_code == "failed" for row in rows),
            )
        return self._counted

    def unread_count(self) -> int:
        return self._counts()[0]

    def failed_count(self) -> int:
        return self._counts()[1]


_DISPLAY = Qt.ItemDataRole.DisplayRole
_FONT = Qt.ItemDataRole.FontRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_DECORATION = Qt.ItemDataRole.DecorationRole


_ARRIVAL = (attrgetter("received_key"), attrgetter("cursor"))


def _sort_keys(col: int) -> tuple[Callable[[Row], Any], ...]:
    """The sort keys of column ``col``, the first one first: the date then the arrival order
    (the cursor, unique) break ties, so that the order is the same however the rows came."""
    if col == COL_DATE:
        return _ARRIVAL
    if col == COL_PATIENT:
        return (attrgetter("patient_key"), *_ARRIVAL)
    if col == COL_STATUS:
        return (attrgetter("status"), *_ARRIVAL)
    text = attrgetter({COL_SENDER: "sender", COL_TYPE: "type_label"}.get(col, "title"))
    return (lambda row: _folded(text(row)), *_ARRIVAL)


def cell_text(row: Row, col: int) -> str | None:
    if col == COL_DATE:
        return row.received
    if col == COL_PATIENT:
        return row.patient
    if col == COL_TITLE:
        return row.title
    if col == COL_SENDER:
        return row.sender
    if col == COL_TYPE:
        return row.type_label
    if col == COL_STATUS:
        return row.status + (" · Non lu" if row.unread else "")
    return None


def _tooltip(row: Row, col: int) -> str | None:
    if col == COL_RECORD:
        return "Ouvrir le dossier régional du patient"
    if col == COL_REPLY:
        return "Répondre à l'expéditeur"
    if col == COL_TITLE:
        return None  # the first-page preview is shown instead
    if col in (COL_PATIENT, COL_SENDER, COL_TYPE):
        return cell_text(row, col)  # whole, when the column is narrower than the text
    if col == COL_STATUS:
        st = row.state
        if st.status == "failed":
            return (
                f"{st.error_message} ({st.attempts} essai(s)) — menu « Documents non enregistrés »"
            )
        if st.files:
            return "\n".join(st.files)
    return None

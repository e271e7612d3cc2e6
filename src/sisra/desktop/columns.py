"""The widths of DOCUMENTS REÇUS's short columns, fitted to their content (decision 200)."""

from __future__ import annotations

from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QStyleOptionViewItem, QTableView

from sisra.desktop.model import (
    COL_DATE,
    COL_PATIENT,
    COL_SENDER,
    COL_STATUS,
    COL_TYPE,
    DocumentsModel,
    cell_text,
)

# (column, least, most width in pixels) when fitted to the content: the rest goes to the title
FITTED_COLUMNS = (
    (COL_DATE, 110, 170),
    (COL_PATIENT, 140, 260),
    (COL_SENDER, 120, 240),
    (COL_TYPE, 70, 180),  # a long type's full label is in its tooltip
    (COL_STATUS, 70, 180),
)


def fit(table: QTableView, model: DocumentsModel) -> None:
    """Short columns (date, type, state…) as wide as their content, within bounds."""
    for col, low, high in FITTED_COLUMNS:
        table.setColumnWidth(col, max(low, min(high, content_width(table, model, col))))


def content_width(table: QTableView, model: DocumentsModel, col: int) -> int:
    """The width ``resizeColumnToContents(col)`` gives, without its call into the model for
    every role of every row it measures (the first 1,000: 150 ms at each load of 10,000
    documents): their texts are measured here, and Qt sizes the widest few only. The
    list is at its top when fitted, where Qt measures from."""
    header = table.horizontalHeader()
    precision = header.resizeContentsPrecision()
    rows = model.rows[:precision] if precision > 0 else model.rows
    option = QStyleOptionViewItem()
    table.initViewItemOption(option)
    metrics = {
        False: QFontMetrics(option.font),
        True: QFontMetrics(model.bold.resolve(option.font)),
    }
    first: dict[tuple[str, bool], int] = {}  # each (text, bold) once: its first row
    for i, row in enumerate(rows):
        first.setdefault((cell_text(row, col) or "", row.unread), i)
    widest = sorted(
        first.items(), key=lambda cell: metrics[cell[0][1]].horizontalAdvance(cell[0][0])
    )[-3:]  # a few: an advance rounds, the delegate's text layout may differ by a pixel
    delegate = table.itemDelegateForColumn(col) or table.itemDelegate()
    hint = max(
        (delegate.sizeHint(option, model.index(i, col)).width() for _cell, i in widest),
        default=0,
    )
    if table.showGrid():
        hint += 1
    return max(hint, 0 if header.isHidden() else header.sectionSizeHint(col))

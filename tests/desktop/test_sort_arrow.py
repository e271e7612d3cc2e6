"""The sort arrow points the way the list is sorted: ▼ when the newest (largest) comes first.

The arrow is found by drawing the header sorted one way and the other and keeping the pixels
that differ at the end of the sorted section (the label is drawn the same both ways); a ▼ is
wider at its top than at its bottom."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QTableView

from sisra.desktop.header_arrows import HeaderArrows


def _header_image(view: QTableView, order: Qt.SortOrder) -> QImage:
    view.sortByColumn(0, order)
    return view.horizontalHeader().grab().toImage()


def _arrow_points_down(view: QTableView, order: Qt.SortOrder) -> bool:
    other = (
        Qt.SortOrder.AscendingOrder
        if order == Qt.SortOrder.DescendingOrder
        else Qt.SortOrder.DescendingOrder
    )
    header = view.horizontalHeader()
    end = header.sectionViewportPosition(0) + header.sectionSize(0)
    against, drawn = _header_image(view, other), _header_image(view, order)
    widths = []
    for y in range(drawn.height()):
        row = [
            x
            for x in range(max(end - 24, 0), end - 1)
            if drawn.pixel(x, y) != against.pixel(x, y)
            and drawn.pixel(x, y) != drawn.pixel(end - 3, y)
        ]
        if row:
            widths.append(max(row) - min(row))
    assert len(widths) >= 2, "no sort arrow drawn"
    assert widths[0] != widths[-1]
    return widths[0] > widths[-1]


@pytest.mark.parametrize(
    ("order", "down"),
    [(Qt.SortOrder.DescendingOrder, True), (Qt.SortOrder.AscendingOrder, False)],
)
def test_the_arrow_points_the_way_of_the_sort(qtbot, order, down) -> None:
    model = QStandardItemModel(3, 2)
    for row, day in enumerate(("01/12/2026", "03/12/2026", "02/12/2026")):
        model.setItem(row, 0, QStandardItem(day))
    model.setHorizontalHeaderLabels(["Reçu le", "Patient"])
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    arrows = HeaderArrows()
    view.horizontalHeader().setStyle(arrows)
    view.setSortingEnabled(True)
    view.resize(400, 200)
    view.show()
    assert _arrow_points_down(view, order) is down


def test_the_documents_window_uses_these_arrows() -> None:
    import inspect

    from sisra.desktop import documents

    assert "HeaderArrows()" in inspect.getsource(documents)

"""Sort arrows that point the way the list is sorted: ▲ ascending, ▼ descending.

Qt's header hands the style ``SortDown`` for an ascending sort and ``SortUp`` for a
descending one, and Linux's Fusion style draws them as given: the list of received documents,
newest first, showed an arrow pointing up. People read the arrow as Windows' Explorer draws
it (▼ when the largest, here the newest, comes first), so this style swaps the two before the
arrow is drawn. It is set on the table's header only.
"""

from __future__ import annotations

from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QProxyStyle, QStyle, QStyleOption, QStyleOptionHeader, QWidget

_SWAP = {
    QStyleOptionHeader.SortIndicator.SortUp: QStyleOptionHeader.SortIndicator.SortDown,
    QStyleOptionHeader.SortIndicator.SortDown: QStyleOptionHeader.SortIndicator.SortUp,
}


class HeaderArrows(QProxyStyle):
    def drawPrimitive(
        self,
        element: QStyle.PrimitiveElement,
        option: QStyleOption,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        if element == QStyle.PrimitiveElement.PE_IndicatorHeaderArrow and isinstance(
            option, QStyleOptionHeader
        ):
            flipped = QStyleOptionHeader(option)
            flipped.sortIndicator = _SWAP.get(option.sortIndicator, option.sortIndicator)
            option = flipped
        super().drawPrimitive(element, option, painter, widget)

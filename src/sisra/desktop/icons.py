"""MonSisra's icon, drawn (no image files to ship), with the unread count as a badge."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

BLUE = QColor("#1f5fa8")
RED = QColor("#c62828")


def app_pixmap(size: int = 64, unread: int = 0) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(BLUE)
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRoundedRect(QRectF(2, 2, size - 4, size - 4), size / 6, size / 6)
    p.setPen(QColor("white"))
    font = QFont()
    font.setBold(True)
    font.setPixelSize(int(size * 0.62))
    p.setFont(font)
    p.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, "S")
    if unread:
        text = "99+" if unread > 99 else str(unread)
        badge = QRectF(size * 0.45, 0, size * 0.55, size * 0.45)
        p.setBrush(RED)
        p.setPen(Qt.PenStyle.NoPen)
        p.drawRoundedRect(badge, badge.height() / 2, badge.height() / 2)
        font.setPixelSize(int(size * (0.3 if len(text) < 3 else 0.22)))
        p.setFont(font)
        p.setPen(QColor("white"))
        p.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
    p.end()
    return pixmap


def glyph_icon(glyph: str, color: str, size: int = 20) -> QIcon:
    """A one-character icon (« ↩ » for Répondre), drawn in ``color``."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(int(size * 0.9))
    p.setFont(font)
    p.setPen(QColor(color))
    p.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, glyph)
    p.end()
    return QIcon(pixmap)


def app_icon(unread: int = 0) -> QIcon:
    icon = QIcon()
    for size in (16, 32, 64):
        icon.addPixmap(app_pixmap(size, unread))
    return icon

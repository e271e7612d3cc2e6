"""Alerts: the tray icon with the unread count, and one desktop notification per document.

When the desktop has no system tray (some Linux sessions, the offscreen platform of the
tests), alerts still happen: the window asks for attention and the status bar says it; the
``alerted`` signal fires either way.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon, QWidget

from sisra.client.state import ItemState
from sisra.common.french import de
from sisra.desktop.icons import app_icon

BURST_MS = 800  # documents arriving together make one summary alert beyond BURST_MAX
BURST_MAX = 3


class Alerts(QObject):
    """The tray icon and the notifications of new documents."""

    alerted = Signal(str, str)  # title, message (after each notification)
    open_requested = Signal()
    quit_requested = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.enabled = True  # « Paramétrages » → notifications
        self.window: QWidget | None = None
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(app_icon(), self)
            menu = QMenu()
            menu.addAction("Ouvrir MonSisra", self.open_requested.emit)
            menu.addSeparator()
            menu.addAction("Quitter MonSisra", self.quit_requested.emit)
            self._menu = menu
            self.tray.setContextMenu(menu)
            self.tray.activated.connect(self._activated)
            self.tray.messageClicked.connect(self.open_requested.emit)
            self.tray.show()
        self._burst: list[ItemState] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(BURST_MS)
        self._timer.timeout.connect(self._flush)
        self.unread = -1  # nothing drawn yet
        self.set_unread(0)

    @property
    def has_tray(self) -> bool:
        return self.tray is not None

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.open_requested.emit()

    def set_unread(self, count: int) -> None:
        if count == self.unread:
            return  # called at every change of the list: redraw the icons only when needed
        plural = "s" if count > 1 else ""
        tip = (
            "MonSisra — aucun document non lu"
            if count == 0
            else f"MonSisra — {count} document{plural} non lu{plural}"
        )
        self.unread = count
        self.tooltip = tip
        if self.tray is not None:
            self.tray.setIcon(app_icon(count))
            self.tray.setToolTip(tip)
        QApplication.setWindowIcon(app_icon(count))

    def new_document(self, st: ItemState) -> None:
        """A new document arrived: alert (grouped when many arrive at once)."""
        if not self.enabled:
            return
        self._burst.append(st)
        self._timer.start()

    def _flush(self) -> None:
        burst, self._burst = self._burst, []
        if len(burst) > BURST_MAX:
            self._notify(
                "MonSisra", f"{len(burst)} nouveaux documents reçus. Ouvrez MonSisra pour les voir."
            )
            return
        for st in burst:
            # no patient name: notifications show on screens others may see
            doc, sender = st.item.document, st.item.sender
            self._notify("Nouveau document reçu", f"{doc.title} — {de(sender.name)}")

    def export_failed(self, st: ItemState) -> None:
        """A document could not be written to the practice software's folder: said once (its
        first failure; the automatic retries and « Réessayer » are silent), since a document
        missing from the patient's file in the practice software goes unnoticed otherwise."""
        if not self.enabled or st.attempts != 1:
            return
        doc, sender = st.item.document, st.item.sender
        self._notify(
            "Document non enregistré",
            f"« {doc.title} » {de(sender.name)} n'a pas pu être enregistré dans votre "
            "répertoire. Ouvrez MonSisra : menu « Documents non enregistrés ».",
        )

    def notify(self, title: str, message: str) -> None:
        """An alert that is not a document (strong authentication to renew…)."""
        self._notify(title, message)

    def _notify(self, title: str, message: str) -> None:
        if self.tray is not None and self.tray.supportsMessages():
            self.tray.showMessage(title, message, app_icon(self.unread), 10_000)
        if self.window is not None:
            QApplication.alert(self.window)
        self.alerted.emit(title, message)

    def hide(self) -> None:
        if self.tray is not None:
            self.tray.hide()

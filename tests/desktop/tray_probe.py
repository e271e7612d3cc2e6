"""MonSisra on a real X screen with a real system tray, reporting what it shows.

Run by tests/desktop/test_real_tray.py in its own process (the test process itself is on
Qt's offscreen platform, which has no tray, and hands no file or link to the system). This
is the application as `sisra desktop` builds it (Controller, CONNEXION, DOCUMENTS REÇUS,
Alerts); the test drives it with real X input (xdotool) and reads what this script prints:
one JSON object per line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPoint, QRect, QTimer
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QLabel, QMenu, QWidget

from sisra.client.accounts import AccountStore
from sisra.desktop.app import Controller
from sisra.desktop.icons import BLUE, RED
from sisra.desktop.model import COL_TITLE


def say(event: str, **data: Any) -> None:
    print(json.dumps({"event": event, **data}), flush=True)


def rect(r: QRect) -> list[int]:
    return [r.x(), r.y(), r.width(), r.height()]


def icon_pixels(app: QApplication, area: QRect) -> dict[str, int]:
    """How many pixels of the icon's blue and of the badge's red the screen shows in the
    tray icon's area."""
    image = app.primaryScreen().grabWindow(0, area.x(), area.y(), area.width(), area.height())
    img = image.toImage().convertToFormat(QImage.Format.Format_RGB32)
    counts = {"blue": 0, "red": 0}
    for y in range(img.height()):
        for x in range(img.width()):
            c = QColor(img.pixel(x, y))
            for name, ref in (("blue", BLUE), ("red", RED)):
                if (
                    sum(abs(a - b) for a, b in zip(c.getRgb()[:3], ref.getRgb()[:3], strict=True))
                    < 60
                ):
                    counts[name] += 1
    return counts


def balloons(app: QApplication) -> list[QWidget]:
    """The notification balloons on screen (Qt draws them itself over an XEmbed tray)."""
    return [
        w
        for w in app.topLevelWidgets()
        if w.metaObject().className() == "QBalloonTip" and w.isVisible()
    ]


def balloon_texts(app: QApplication) -> list[str]:
    return [label.text() for w in balloons(app) for label in w.findChildren(QLabel) if label.text()]


def main() -> int:
    app = QApplication(sys.argv)
    app.setQuitOnLastWindowClosed(False)
    controller = Controller(AccountStore())
    alerts = controller.alerts
    controller.start()
    login = controller.login
    assert login is not None
    tray = alerts.tray

    def report_login() -> None:
        field = login.password.mapToGlobal(login.password.rect().center())
        say(
            "login",
            has_tray=alerts.has_tray,
            tray=rect(tray.geometry()) if tray else None,
            visible=tray.isVisible() if tray else False,
            field=[field.x(), field.y()],
            pixels=icon_pixels(app, tray.geometry()) if tray else {},
        )

    QTimer.singleShot(500, report_login)  # once the tray has embedded the icon

    def online() -> None:
        if controller.session is not None and controller.session.status[0] == "online":
            say("documents")
        else:
            QTimer.singleShot(100, online)

    def logged_in() -> None:
        if controller.documents is not None:
            online()
        else:
            QTimer.singleShot(100, logged_in)

    QTimer.singleShot(100, logged_in)

    alerts_seen: list[str] = []

    def alerted(title: str, message: str) -> None:
        alerts_seen.append(message)
        # let the balloon and the new icon be painted
        QTimer.singleShot(
            500, lambda: first_alert(title, message) if len(alerts_seen) == 1 else second_alert()
        )

    def first_alert(title: str, message: str) -> None:
        """The window is open: report, then close it (MonSisra goes on in the tray)."""
        assert tray is not None and controller.documents is not None
        say(
            "alerted",
            title=title,
            message=message,
            balloons=balloon_texts(app),
            tooltip=tray.toolTip(),
        )
        hide_window(lambda: wait_shown(then=lambda: hide_window(None)))

    def hide_window(then: Callable[[], None] | None) -> None:
        assert controller.documents is not None
        controller.documents.close()  # the window's close button (no window manager here)
        # measured once the window is gone: without a window manager nothing keeps the
        # panel above the windows
        QTimer.singleShot(300, lambda: report_hidden(then))

    def report_hidden(then: Callable[[], None] | None) -> None:
        assert tray is not None and controller.documents is not None
        say(
            "hidden",
            visible=controller.documents.isVisible(),
            tray=rect(tray.geometry()),
            pixels=icon_pixels(app, tray.geometry()),
        )
        if then is not None:
            then()

    def second_alert() -> None:
        """The window is closed: where the balloon is, for the user to click it."""
        balloon = balloons(app)[0]
        # the message, below the title row (whose right end is the balloon's close button)
        body = balloon.mapToGlobal(QPoint(balloon.width() // 3, balloon.height() * 3 // 4))
        say("balloon", texts=balloon_texts(app), click=[body.x(), body.y()])
        wait_shown(then=None)

    alerts.alerted.connect(alerted)

    def wait_shown(then: Callable[[], None] | None) -> None:
        window = controller.documents
        if window is not None and window.isVisible():
            # where a user clicks next: the newest document's title, « Envoyer un document »
            title = window.table.visualRect(window.model.index(0, COL_TITLE)).center()
            title = window.table.viewport().mapToGlobal(title)
            send = window.send_button.mapToGlobal(window.send_button.rect().center())
            say("shown", title=[title.x(), title.y()], send=[send.x(), send.y()])
            if then is not None:
                QTimer.singleShot(300, then)
        else:
            QTimer.singleShot(100, lambda: wait_shown(then))

    def menu_shown() -> None:
        menu = tray.contextMenu() if tray else None
        assert isinstance(menu, QMenu)
        actions = [a for a in menu.actions() if not a.isSeparator()]
        quit_action = next(a for a in actions if "Quitter" in a.text())
        center = menu.mapToGlobal(menu.actionGeometry(quit_action).center())
        say("menu", actions=[a.text() for a in actions], quit=[center.x(), center.y()])

    if tray is not None and tray.contextMenu() is not None:
        tray.contextMenu().aboutToShow.connect(lambda: QTimer.singleShot(300, menu_shown))
    code = app.exec()
    say("quit", code=code)
    return code


if __name__ == "__main__":
    raise SystemExit(main())

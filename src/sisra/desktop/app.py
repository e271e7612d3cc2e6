"""``sisra desktop``: the application and the path between its windows.

First run (nobody on this computer) → the enrolment wizard; otherwise CONNEXION. A user
logged in → DOCUMENTS REÇUS with the sync running and alerts in the tray. Closing the window
keeps MonSisra in the tray; « Quitter MonSisra » stops everything.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QApplication, QWidget

from sisra.client.accounts import AccountError, AccountStore, UnlockedAccount
from sisra.desktop.config import APP_NAME, ORGANIZATION, desktop_command, ensure_shortcut
from sisra.desktop.icons import app_icon
from sisra.desktop.instance import InstanceServer, ask_running_instance
from sisra.desktop.login import LoginWindow
from sisra.desktop.tray import Alerts

if TYPE_CHECKING:
    from sisra.desktop.documents import DocumentsWindow
    from sisra.desktop.send import PrintedWatcher, SendWindow
    from sisra.desktop.session import AccountSession

CLOSE_WAIT_MS = 5_000  # at logout, for background reads of the account to end


class Controller(QObject):
    """Which window is shown, and the running session of the logged-in user."""

    shown = Signal(QWidget)  # each time a main window (wizard, CONNEXION, documents) appears

    def __init__(
        self, store: AccountStore, server_url: str | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.store, self.server_url = store, server_url
        self.alerts = Alerts(self)
        self.alerts.open_requested.connect(self.bring_to_front)
        self.alerts.quit_requested.connect(self.quit)
        self.login: LoginWindow | None = None
        self.wizard: QWidget | None = None
        self.documents: DocumentsWindow | None = None
        self.session: AccountSession | None = None
        self.printed: PrintedWatcher | None = None  # the outbox's imprimes/ folder
        self.send_windows: dict[Path, SendWindow] = {}

    def start(self) -> None:
        if self.store.list():
            self.show_login()
        else:
            self.show_wizard()

    def _show(self, window: QWidget) -> None:
        window.show()
        window.raise_()
        window.activateWindow()
        self.shown.emit(window)

    def warm_up(self) -> None:
        """Import the network stack in the background while the user types the password
        (pure-Python modules only: nothing of Qt is created off the UI thread)."""

        def load() -> None:
            import sisra.client.sync  # noqa: F401  (httpx, the engine)

        threading.Thread(target=load, name="monsisra-warm-up", daemon=True).start()

    def show_login(self, select: str | None = None) -> None:
        if self.login is None:
            self.login = LoginWindow(self.store)
            self.login.unlocked.connect(self.open_documents)
            self.login.add_user_requested.connect(self.show_wizard)
        self.login.refresh(select)
        self._show(self.login)
        self.warm_up()

    def show_wizard(self) -> None:
        from sisra.desktop.enrol import EnrolWizard

        wizard = EnrolWizard(self.store, self.server_url)
        self.wizard = wizard

        def finished(result: int) -> None:
            self.wizard = None
            if result and wizard.unlocked is not None:
                self.open_documents(wizard.unlocked)
            elif self.store.list():
                self.show_login()
            else:  # nobody enrolled and the wizard was closed: nothing to run
                self.quit()

        wizard.finished.connect(finished)
        if self.login is not None:
            self.login.hide()
        self._show(wizard)

    def open_documents(self, unlocked: UnlockedAccount) -> None:
        # imported when needed: CONNEXION shows sooner (bench/desktop.py)
        from sisra.desktop.documents import DocumentsWindow
        from sisra.desktop.session import AccountSession

        self.close_session()
        try:
            self.session = AccountSession(unlocked)
        except AccountError as exc:  # another MonSisra (or the CLI) receives these documents
            unlocked.lock()
            self.show_login(unlocked.account.id)
            assert self.login is not None
            self.login.show_error(exc.message)
            return
        self.alerts.enabled = unlocked.account.settings.notifications
        window = DocumentsWindow(self.session, self.store, self.alerts)
        window.logout_requested.connect(self.logout)
        window.quit_requested.connect(self.quit)
        self.alerts.window = window
        self.documents = window
        self.session.start()
        self.watch_printed()
        if self.login is not None:
            self.login.hide()
        self._show(window)

    def watch_printed(self) -> None:
        """Letters printed to MonSisra open « Envoyer ce document » (decision 185)."""
        from sisra.client.printing.jobs import printed_dir
        from sisra.desktop.send import PrintedWatcher

        session = self.session
        assert session is not None
        # the folder read anew at each scan, and at once when the session restarts after
        # « Paramétrages » saved another outbox (decision 191)
        self.printed = PrintedWatcher(lambda: printed_dir(session.account), self)
        self.printed.found.connect(self.show_send)
        session.status_changed.connect(self.printed.on_status)

    def show_send(self, path: Path) -> None:
        from sisra.desktop.send import SendWindow

        if self.session is None or path in self.send_windows:
            return
        window = SendWindow(self.session, path)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.destroyed.connect(lambda _o=None, p=path: self.send_windows.pop(p, None))
        self.send_windows[path] = window
        self._show(window)

    def close_session(self) -> None:
        if self.printed is not None:
            self.printed.stop()
            self.printed.deleteLater()
            self.printed = None
        for send in list(self.send_windows.values()):
            send.busy = False
            send.close()
        self.send_windows.clear()
        if self.documents is not None:
            self.documents.quitting = True
            self.documents.close()
            self.documents.deleteLater()
            self.documents = None
            self.alerts.window = None
        if self.session is not None:
            # a background read (the list's first load…) may still use the account's local
            # database: closing it under that read crashes the process; let it end first
            QThreadPool.globalInstance().waitForDone(CLOSE_WAIT_MS)
            self.session.close()
            self.session = None
        self.alerts.set_unread(0)

    def logout(self) -> None:
        account_id = self.session.account.id if self.session else None
        self.close_session()
        self.show_login(account_id)

    def bring_to_front(self) -> None:
        window = self.documents or self.wizard or self.login
        if window is not None:
            window.showNormal()
            self._show(window)

    def quit(self) -> None:
        self.close_session()
        if self.login is not None:
            self.login.close()
        self.alerts.hide()
        QApplication.quit()


HELP = """Usage : monsisra [OPTIONS]

MonSisra reçoit sur cet ordinateur les documents de santé que vous adressent vos
correspondants, vous alerte et les dépose dans le dossier de votre logiciel métier.
Sans option, ouvre la fenêtre (CONNEXION, ou l'assistant de première utilisation).

Options :
  --server=ADRESSE  adresse de la plateforme proposée aux nouveaux utilisateurs
  --version, -V     afficher la version et quitter
  --help, -h        afficher cette aide et quitter

Sur un serveur de cabinet, sans écran : sisra client daemon (voir sisra client --help).
"""


def command_line(argv: list[str]) -> int | None:
    """``--help`` and ``--version`` answer on the terminal, without opening a window; None
    when the window is to open."""
    from sisra import __version__

    args = argv[1:]
    if "--help" in args or "-h" in args:
        print(HELP, end="", flush=True)
        return 0
    if "--version" in args or "-V" in args:
        print(f"MonSisra {__version__}", flush=True)
        return 0
    unknown = [a for a in args if a.startswith("-") and not _known_option(a)]
    if unknown:
        print(
            f"Option inconnue : {unknown[0]}. monsisra --help liste les options.",
            file=sys.stderr,
            flush=True,
        )
        return 2
    return None


def _known_option(arg: str) -> bool:
    return (
        arg.startswith("--server=")
        or arg in ("--launch-command", "--startup-time")
        or (
            arg.startswith("-platform") or arg.startswith("-style")  # Qt's own
        )
    )


def run(argv: list[str] | None = None, server_url: str | None = None) -> int:
    """The desktop application's main loop."""
    started = time.perf_counter()
    answered = command_line(argv if argv is not None else sys.argv)
    if answered is not None:
        return answered
    if "--launch-command" in (argv or sys.argv):
        # what « Lancer MonSisra au démarrage » writes in the login entry (checked by the
        # package's test: the installed program must start as /usr/bin/monsisra)
        print(json.dumps(desktop_command()), flush=True)
        return 0
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationDisplayName(APP_NAME)
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)  # the tray keeps MonSisra running
    store = AccountStore()
    if ask_running_instance(store.root):
        print("MonSisra est déjà lancé : sa fenêtre est affichée.", flush=True)
        return 0
    controller = Controller(store, server_url)
    instance = InstanceServer(store.root, controller.bring_to_front)
    ensure_shortcut()
    if "--startup-time" in (argv or sys.argv):  # bench/desktop.py: time to the first window
        controller.shown.connect(
            lambda _w: (
                print(
                    f"first-window-shown {time.perf_counter() - started:.4f} {type(_w).__name__}",
                    flush=True,
                ),
                QTimer.singleShot(0, controller.quit),
            )
        )
    controller.start()
    try:
        return app.exec()
    finally:
        instance.close()

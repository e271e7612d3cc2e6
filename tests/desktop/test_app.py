"""`sisra desktop` as a user starts it: the first window is the wizard on a new computer,
CONNEXION once someone is enrolled."""

import os
import subprocess
import sys

from sisra.devtools.inbox import offline_account

PASSWORD = "Mon-mot-de-passe-local"


def first_window(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "sisra.cli", "desktop", "--startup-time"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("first-window-shown"))
    return line.split()[-1]


def test_first_window(account_store, tmp_path):
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "MONSISRA_HOME": str(account_store.root),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
    }
    assert first_window(env) == "EnrolWizard"  # nobody on this computer yet
    # and MonSisra is in the applications menu (pip makes no shortcut)
    entry = tmp_path / "xdg-data" / "applications" / "monsisra.desktop"
    assert "Exec=" in entry.read_text() and " -m sisra.desktop" in entry.read_text()
    offline_account(account_store, "Mon-mot-de-passe-local")
    assert first_window(env) == "LoginWindow"


def test_a_second_launch_shows_the_running_monsisra(qtbot, account_store, tmp_path):
    """MonSisra is in the tray (its window hidden); the user starts it again: the running one
    shows its window and the second process exits."""
    from sisra.desktop.app import Controller
    from sisra.desktop.instance import InstanceServer

    offline_account(account_store, PASSWORD)
    controller = Controller(account_store)
    server = InstanceServer(account_store.root, controller.bring_to_front)
    assert server.listening
    try:
        controller.start()
        login = controller.login
        login.hide()
        second = subprocess.Popen(
            [sys.executable, "-m", "sisra.desktop"],
            env={
                **os.environ,
                "QT_QPA_PLATFORM": "offscreen",
                "MONSISRA_HOME": str(account_store.root),
                "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
            },
            stdout=subprocess.PIPE,
            text=True,
        )
        qtbot.waitUntil(lambda: second.poll() is not None, timeout=30_000)
        out, _ = second.communicate()
        assert second.returncode == 0
        assert "MonSisra est déjà lancé : sa fenêtre est affichée." in out
        qtbot.waitUntil(login.isVisible, timeout=10_000)
    finally:
        server.close()
        controller.quit()


def test_the_same_user_cannot_be_opened_twice_on_one_computer(qtbot, account_store):
    """Two CONNEXION windows (or MonSisra and the command line) on one account would export
    each document twice: the second is told why, and can log in once the first has left."""
    from PySide6.QtCore import Qt

    from sisra.desktop.app import Controller

    account = offline_account(account_store, PASSWORD)
    first = Controller(account_store)
    first.open_documents(account_store.unlock(account.id, PASSWORD))
    assert first.session is not None
    second = Controller(account_store)
    second.start()
    login = second.login

    def connect() -> None:
        qtbot.keyClicks(login.password, PASSWORD)
        qtbot.mouseClick(login.connect_button, Qt.MouseButton.LeftButton)

    try:
        connect()
        qtbot.waitUntil(lambda: "reçoit déjà les documents" in login.message.text(), timeout=20_000)
        assert second.session is None and second.documents is None and login.isVisible()
        first.logout()  # « Déconnexion » in the first window
        connect()
        qtbot.waitUntil(lambda: second.documents is not None, timeout=20_000)
    finally:
        first.quit()
        second.quit()


def test_logging_in_again_right_after_deconnexion_waits_for_the_last_sync(
    qtbot, account_store, monkeypatch
):
    """« Déconnexion », then the password again at once: the last sync thread, still ending,
    holds the account a moment longer. The login waits for it; it never tells the user that
    another MonSisra receives these documents."""
    import threading

    from PySide6.QtCore import Qt

    import sisra.desktop.session as session_module
    from sisra.desktop.app import Controller

    ending = threading.Event()
    real_open_engine = session_module.open_engine

    def slow_to_end(*args, **kwargs):  # a sync thread that takes two seconds to end
        running = real_open_engine(*args, **kwargs)
        close = running.close

        def close_slowly() -> None:
            ending.set()
            threading.Event().wait(2.0)
            close()

        running.close = close_slowly
        return running

    monkeypatch.setattr(session_module, "open_engine", slow_to_end)
    account = offline_account(account_store, PASSWORD)
    controller = Controller(account_store)
    controller.open_documents(account_store.unlock(account.id, PASSWORD))
    try:
        controller.logout()  # « Déconnexion »
        assert ending.wait(10), "the sync thread did not start to end"
        login = controller.login
        qtbot.keyClicks(login.password, PASSWORD)
        qtbot.mouseClick(login.connect_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: controller.documents is not None, timeout=20_000)
        assert "reçoit déjà" not in login.message.text()
    finally:
        controller.quit()

"""A background task whose window is closed and deleted before it ends: its answer is dropped,
not handed to a callback on the deleted Qt object (which raised « Internal C++ object already
deleted » in the Qt event loop when a session closed while the list was refreshing)."""

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, QThreadPool
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot
from shiboken6 import delete, isValid

from sisra.desktop.tasks import run_task


class _Window(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.answers: list[object] = []

    def show_answer(self, value: object) -> None:
        self.setWindowTitle(str(value))  # touches the C++ object, as a real callback does
        self.answers.append(value)


def _finish_after_delete(qtbot: QtBot, start: Callable[[_Window, threading.Event], None]) -> None:
    window = _Window()
    release = threading.Event()
    start(window, release)
    delete(window)  # closed and deleted while the task still runs
    assert not isValid(window)
    release.set()
    assert QThreadPool.globalInstance().waitForDone(10_000)
    QApplication.processEvents()  # delivers the queued answer; pytest-qt fails on any exception
    assert window.answers == []


def test_bound_method_answer_is_dropped(qtbot: QtBot) -> None:
    _finish_after_delete(
        qtbot, lambda window, release: run_task(lambda: release.wait(10), window.show_answer)
    )


def test_closure_answer_is_dropped_with_its_owner(qtbot: QtBot) -> None:
    def start(window: _Window, release: threading.Event) -> None:
        run_task(
            lambda: release.wait(10),
            lambda value: window.show_answer(value),
            lambda exc: window.show_answer(exc),
            owner=window,
        )

    _finish_after_delete(qtbot, start)


def test_answer_reaches_a_live_owner(qtbot: QtBot) -> None:
    window = _Window()
    qtbot.addWidget(window)
    run_task(lambda: 42, window.show_answer)
    qtbot.waitUntil(lambda: window.answers == [42], timeout=10_000)
    assert window.windowTitle() == "42"


def test_error_reaches_a_live_owner(qtbot: QtBot) -> None:
    owner = QObject()
    errors: list[Exception] = []

    def fail() -> None:
        raise OSError(28, "No space left on device")

    run_task(fail, None, errors.append, owner=owner)
    qtbot.waitUntil(lambda: len(errors) == 1, timeout=10_000)
    assert isinstance(errors[0], OSError)

"""The Qt binding itself: PySide6 6.12.0 released a reference to None it did not own at
each QApplication.processEvents() call; after a few thousand calls the interpreter aborted
(« deallocating None »). MonSisra runs for days, so this guards the pinned version."""

import sys

from PySide6.QtWidgets import QApplication


def test_process_events_keeps_none_alive(qapp: QApplication) -> None:
    before = sys.getrefcount(None)
    for _ in range(500):
        qapp.processEvents()
    assert abs(sys.getrefcount(None) - before) < 50

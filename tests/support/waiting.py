"""Waiting for a condition outside Qt's event loop."""

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], seconds: float = 20.0) -> None:
    """Poll ``condition`` (outside Qt's event loop; Qt tests use ``qtbot.waitUntil``)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.05)

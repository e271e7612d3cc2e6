"""Processes the tests and the demo tools start: ended with their parent, awaited, ended.

A test run interrupted (Ctrl-C twice, a killed CI job) skips its fixtures' clean-up: a
`sisra serve` left behind keeps sealing the audit trail and numbering inboxes of the shared
test database, and the next run's tests fail on rows they never wrote. Started with
:func:`die_with_parent`, the child gets SIGTERM from the kernel when its parent ends.
"""

import ctypes
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import httpx

_PR_SET_PDEATHSIG = 1  # linux/prctl.h
# looked up once, here: after fork only the call runs (no loader lock to take in the child)
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def die_with_parent() -> None:
    """A ``preexec_fn`` for :class:`subprocess.Popen`: SIGTERM when the parent ends (Linux;
    elsewhere nothing)."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def wait_http(url: str, timeout: float, alive: Callable[[], bool] | None = None) -> None:
    """Until ``url`` answers 200; RuntimeError when ``alive()`` turns false (the process
    serving it exited) or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if alive is not None and not alive():
            raise RuntimeError(f"{url} : le processus s'est arrêté")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} ne répond pas")
        time.sleep(0.1)


def end(proc: "subprocess.Popen[bytes]", timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL when it has not ended after ``timeout`` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()

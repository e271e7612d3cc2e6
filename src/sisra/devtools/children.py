"""Processes the tests and the demo tools start, ended with their parent.

A test run interrupted (Ctrl-C twice, a killed CI job) skips its fixtures' clean-up: a
`sisra serve` left behind keeps sealing the audit trail and numbering inboxes of the shared
test database, and the next run's tests fail on rows they never wrote. Started with
:func:`die_with_parent`, the child gets SIGTERM from the kernel when its parent ends.
"""

import ctypes
import signal
import sys

_PR_SET_PDEATHSIG = 1  # linux/prctl.h
# looked up once, here: after fork only the call runs (no loader lock to take in the child)
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def die_with_parent() -> None:
    """A ``preexec_fn`` for :class:`subprocess.Popen`: SIGTERM when the parent ends (Linux;
    elsewhere nothing)."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

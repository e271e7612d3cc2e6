"""One process at a time receives an account's documents.

Two engines on the same account (MonSisra started twice, or the desktop beside
``sisra client sync --follow``) would download and export every document twice, and race on
the practice software's folder. Whoever syncs an account holds an exclusive lock on
``sync.lock`` in the account's folder; the operating system releases it when the process
ends, even when it is killed, so a crash never leaves an account locked.

Within one process, MonSisra's « Déconnexion » releases the lock only once its sync thread has
ended (:meth:`SyncLock.closing`), a moment later. Logging in again meanwhile is the same
user in the same window, not another MonSisra: :func:`wait_released` lets the login wait for
that release instead of telling the user another window holds the account.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from types import TracebackType

from sisra.client.accounts import Account, AccountError
from sisra.common.french import de

LOCK_FILE = "sync.lock"
RELEASE_WAIT_S = 15.0  # a closing sync thread ends at its next step: seconds at worst

# this process's locks whose release is under way: the lock file's path -> set when released
_closing: dict[Path, threading.Event] = {}
_closing_guard = threading.Lock()


def in_use_message(account: Account) -> str:
    return (
        f"MonSisra reçoit déjà les documents {de(account.display_name)} sur cet ordinateur "
        "(une autre fenêtre MonSisra, ou la commande « sisra client sync »). Fermez-la, "
        "puis réessayez."
    )


class SyncLock:
    """Held from :func:`hold_sync` until :meth:`release` (or the end of the process)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def closing(self) -> None:
        """Its holder has let go and releases it soon (when its sync thread ends)."""
        if self._fd is not None:
            with _closing_guard:
                _closing.setdefault(self.path, threading.Event())

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the lock
        with _closing_guard:
            released = _closing.pop(self.path, None)
        if released is not None:
            released.set()

    def __enter__(self) -> SyncLock:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.release()


def wait_released(account: Account, timeout: float = RELEASE_WAIT_S) -> bool:
    """Wait (off the UI thread) for this process's closing hold of the account to end.

    True when nothing of this process is closing it (any more). Another process's hold is
    not waited for: :func:`hold_sync` refuses it with its message."""
    with _closing_guard:
        released = _closing.get(account.folder / LOCK_FILE)
    return released is None or released.wait(timeout)


def hold_sync(account: Account) -> SyncLock:
    """Take the account's sync lock at once, or raise ``AccountError("account_in_use")``."""
    path = account.folder / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _lock(fd)
    except OSError:
        os.close(fd)
        raise AccountError("account_in_use", in_use_message(account)) from None
    return SyncLock(path, fd)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int) -> None:
        # the first byte, whatever the file's length; released when the descriptor closes
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        # flock: per open file, so a second hold in the same process is refused too
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

"""Blocking work off the UI thread, results back on it.

:func:`run_task` runs a callable in a thread pool and calls ``on_done`` (or ``on_error``) on
the UI thread through a queued signal. The signal carrier is created on the calling (UI)
thread, so Qt delivers to it there whatever thread emits.

A window can be closed and deleted while its task runs (the session closed, the dialog
dismissed). The answer is then dropped rather than handed to a callback that would touch the
deleted C++ object: pass the window as ``owner``. When ``on_done`` is a bound method of a
QObject and no owner is given, that object is the owner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from shiboken6 import isValid

from sisra.client.accounts import AccountError
from sisra.client.api import ApiError
from sisra.client.errors import explain

T = TypeVar("T")
log = logging.getLogger(__name__)

_alive: set[_Carrier] = set()  # carriers must outlive their task; dropped once delivered


class _Carrier(QObject):
    done = Signal(object)
    failed = Signal(object)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], carrier: _Carrier) -> None:
        super().__init__()
        self.fn, self.carrier = fn, carrier

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as exc:  # delivered to on_error on the UI thread
            self.carrier.failed.emit(exc)
        else:
            self.carrier.done.emit(result)


def run_task(
    fn: Callable[[], T],
    on_done: Callable[[T], None] | None = None,
    on_error: Callable[[Exception], None] | None = None,
    *,
    owner: QObject | None = None,
    pool: QThreadPool | None = None,
) -> None:
    """Run ``fn`` in ``pool`` (the global pool by default); call back on the UI thread, unless
    ``owner`` (by default the object ``on_done`` is bound to) was deleted meanwhile."""
    if owner is None and isinstance(getattr(on_done, "__self__", None), QObject):
        owner = on_done.__self__  # type: ignore[union-attr]
    carrier = _Carrier()
    _alive.add(carrier)

    def finish(value: object, callback: Callable[[Any], None] | None) -> None:
        _alive.discard(carrier)
        carrier.deleteLater()
        if owner is not None and not isValid(owner):
            log.debug("background task finished after its window was deleted: answer dropped")
            return
        if callback is not None:
            callback(value)
        elif isinstance(value, Exception):
            log.error("background task failed: %s", describe_error(value))

    carrier.done.connect(lambda value: finish(value, on_done))
    carrier.failed.connect(lambda exc: finish(exc, on_error))
    (pool or QThreadPool.globalInstance()).start(_Task(fn, carrier))


def describe_error(exc: BaseException) -> str:
    """What to tell the user, in French, for an error raised by the engine or the card."""
    from sisra.client.cps import CardError
    from sisra.client.opener import OpenFailed
    from sisra.client.outbox import TryLater, Unreadable

    if isinstance(exc, TryLater) and exc.__cause__ is not None:  # the platform's own error
        exc = exc.__cause__
    if isinstance(exc, Unreadable):
        return exc.reason[:1].upper() + exc.reason[1:] + "."
    if isinstance(exc, ApiError) and exc.unreachable:  # which of the two, and what to do
        return explain(exc, "desktop")
    if isinstance(exc, ApiError | AccountError | CardError | OpenFailed):
        return exc.message
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"Erreur sur cet ordinateur{where} : {exc.strerror or exc}."
    return f"Erreur inattendue : {exc}. Réessayez ; si elle persiste, contactez le support."

"""Handing a document or a web page to the user's own applications — and knowing it worked.

A « lu » receipt tells the sender the document was opened, so it may only be sent once a
viewer actually started. On Linux, Qt's ``QDesktopServices.openUrl`` runs ``xdg-open`` in
the background and reports success whatever happens next; here the opener is run and its
exit status read: ``xdg-open`` (else ``gio open``) exits with a non-zero status when no
application handles the file (3: no handler tool, 4: the action failed). An opener still
running after :data:`START_WAIT_S` is the application itself in the foreground (xdg-open's
generic mode): it started. On macOS, ``open`` behaves the same; on Windows, ``os.startfile``
raises when no application is associated.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Literal

START_WAIT_S = 3.0
Kind = Literal["pdf", "page"]
# openers left running (applications in the foreground), reaped at the next call
_running: list[subprocess.Popen[bytes]] = []
_lock = threading.Lock()


class OpenFailed(Exception):
    """Nothing was opened; ``message`` says why, in French, for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def no_application(kind: Kind) -> str:
    if kind == "pdf":
        return (
            "Le document n'a pas pu être ouvert : aucune visionneuse PDF n'est installée ou "
            "associée aux fichiers PDF sur cet ordinateur. Installez-en une (ou associez les "
            "fichiers .pdf à votre navigateur), puis cliquez de nouveau sur le titre. "
            "Le document reste « non lu » pour l'expéditeur."
        )
    return (
        "La page n'a pas pu être ouverte : aucun navigateur web n'est configuré sur cet "
        "ordinateur. Installez-en un ou choisissez votre navigateur par défaut, puis "
        "réessayez."
    )


def _failure(kind: Kind, code: int, target: str) -> str:
    if code == 2 and kind == "pdf":
        return f"Le document n'a pas pu être ouvert : le fichier « {target} » est introuvable."
    if code in (3, 4) or kind == "page":
        return no_application(kind)
    return (
        f"Le document n'a pas pu être ouvert (l'ouverture a échoué, code {code}). "
        "Vérifiez qu'une visionneuse PDF est installée, puis réessayez."
    )


def _commands(target: str) -> list[list[str]]:
    if sys.platform == "darwin":
        return [["open", target]]
    return [["xdg-open", target], ["gio", "open", target]]


def _reap() -> None:
    with _lock:
        _running[:] = [p for p in _running if p.poll() is None]


def _run(target: str, kind: Kind) -> None:
    _reap()
    for command in _commands(target):
        program = shutil.which(command[0])
        if program is None:
            continue
        try:
            process = subprocess.Popen(  # noqa: S603 - the user's own opener, no shell
                [program, *command[1:]],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # the viewer outlives MonSisra
            )
        except OSError as exc:
            raise OpenFailed(f"{no_application(kind)} ({exc.strerror or exc})") from exc
        try:
            code = process.wait(timeout=START_WAIT_S)
        except subprocess.TimeoutExpired:
            with _lock:
                _running.append(process)  # the application runs in the foreground: started
            return
        if code == 0:
            return
        raise OpenFailed(_failure(kind, code, target))
    raise OpenFailed(no_application(kind))


def open_file(path: Path) -> None:
    """Open ``path`` with the user's viewer; :class:`OpenFailed` unless one started."""
    if sys.platform == "win32":
        try:
            os.startfile(path)  # type: ignore[attr-defined]  # noqa: S606
        except OSError as exc:
            raise OpenFailed(no_application("pdf")) from exc
        return
    _run(str(path), "pdf")


def open_url(url: str) -> None:
    """Open ``url`` in the user's browser; :class:`OpenFailed` unless one started."""
    if sys.platform == "win32":
        try:
            os.startfile(url)  # type: ignore[attr-defined]  # noqa: S606
        except OSError as exc:
            raise OpenFailed(no_application("page")) from exc
        return
    _run(url, "page")

"""The user's own programs for a document or a page: the PDF viewer and the browser.

On Linux, Qt's ``openUrl`` answers « yes » whatever xdg-open finds, so the opener is run and
its exit status read (:mod:`sisra.client.opener`); elsewhere Qt's answer is the system's.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from sisra.client import opener
from sisra.client.opener import OpenFailed


def open_with_system(path: Path) -> None:
    """The user's PDF viewer (the guide's « visionneuse de document pdf »).

    Raises :class:`OpenFailed` unless a viewer started: on Linux, Qt's answer is « yes »
    whatever xdg-open finds, so the opener is run and its exit status read
    (:mod:`sisra.client.opener`); elsewhere Qt's answer is the system's.
    """
    if sys.platform.startswith("linux"):
        opener.open_file(path)
    elif not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
        raise OpenFailed(opener.no_application("pdf"))


def open_in_browser(url: str) -> None:
    """The user's browser, for a page of the Sisra services; :class:`OpenFailed` if none."""
    if sys.platform.startswith("linux"):
        opener.open_url(url)
    elif not QDesktopServices.openUrl(QUrl(url)):
        raise OpenFailed(opener.no_application("page"))

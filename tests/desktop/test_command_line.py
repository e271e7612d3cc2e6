"""`monsisra --help` and `--version` answer on the terminal without opening a window: run with
no screen at all and Qt told to use X, a window would abort the process."""

from __future__ import annotations

import os
import subprocess
import sys

from sisra import __version__

ENTRY = [sys.executable, "-m", "sisra.desktop"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "xcb"  # no screen: Qt would fail to start, had it to
    return subprocess.run([*ENTRY, *args], env=env, capture_output=True, text=True, timeout=60)


def test_help_and_version_answer_without_a_window() -> None:
    helped = _run("--help")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("Usage : monsisra")
    assert "--server=ADRESSE" in helped.stdout and "sisra client daemon" in helped.stdout
    version = _run("--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"MonSisra {__version__}"
    assert _run("-V").stdout.strip() == f"MonSisra {__version__}"


def test_an_unknown_option_is_said_in_french() -> None:
    result = _run("--serveur=https://exemple")
    assert result.returncode == 2
    assert "Option inconnue : --serveur=https://exemple" in result.stderr
    assert "monsisra --help liste les options" in result.stderr

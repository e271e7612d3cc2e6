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


# `sisra desktop` as the `sisra` program runs it, the window replaced by a probe that says what
# it was given and whether the full command line (Typer, its commands) was imported first
SISRA = """
import sys
import sisra.desktop.app
def probe(argv, server):
    print(argv[1:], server, sorted({"typer", "sisra.cli"} & set(sys.modules)))
    return 7
sisra.desktop.app.run = probe
sys.argv = ["sisra", *sys.argv[1:]]
from sisra.cli_entry import main
sys.exit(main())
"""


def _sisra(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-c", SISRA, *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_sisra_desktop_starts_the_window_without_the_command_line() -> None:
    """Typer, the platform's settings and the other commands are not imported first: they
    doubled the time to the CONNEXION window."""
    for args, given in (
        ((), "[] None"),
        (("--startup-time",), "['--startup-time'] None"),
        (("--server", "https://a.example"), "[] https://a.example"),
        (("--server=https://b.example", "--startup-time"), "['--startup-time'] https://b.example"),
        (("--server", "https://a.example", "--server", "https://c"), "[] https://c"),
    ):
        run = _sisra("desktop", *args)
        assert run.returncode == 7, run.stderr
        assert run.stdout.strip() == f"{given} []", (args, run.stdout)


def test_sisra_desktop_help_and_mistakes_are_the_command_line_s() -> None:
    helped = _sisra("desktop", "--help")
    assert helped.returncode == 0, helped.stderr
    assert "Utilisation : sisra desktop" in helped.stdout and "--startup-time" in helped.stdout
    for args in (("--bogus",), ("--server",), ("--startup-time", "extra")):
        wrong = _sisra("desktop", *args)
        assert wrong.returncode == 2, (args, wrong.stdout, wrong.stderr)
        assert "Erreur" in wrong.stderr and not wrong.stdout, args
    other = _sisra("client", "--help")  # every other command, as before
    assert other.returncode == 0 and "Utilisation : sisra client" in other.stdout, other.stderr

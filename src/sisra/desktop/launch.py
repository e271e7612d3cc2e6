"""Starting MonSisra's window, Qt-free until Qt is known to be there.

The ``monsisra`` command, ``python -m sisra.desktop`` and ``sisra desktop`` (through
:func:`desktop_command`, before the ``sisra`` command line's own imports) start here. A server
installs ``sisra`` without Qt (PySide6 is the ``desktop`` extra): ``sisra desktop``,
``monsisra`` and ``python -m sisra.desktop`` then say how to add it instead of a traceback.
Importing this module (and :mod:`sisra.desktop`'s ``__init__``) never imports Qt.
"""

from __future__ import annotations

import importlib.util
import sys

MISSING = "MonSisra (fenêtre) n'est pas installé : pip install 'sisra[desktop]'"


def qt_installed() -> bool:
    try:
        return importlib.util.find_spec("PySide6") is not None
    except ImportError:  # a finder that refuses it
        return False


def server_argument(argv: list[str]) -> str | None:
    """``--server=URL`` on the command line (the launch-at-login entry's form)."""
    return next((a.split("=", 1)[1] for a in argv if a.startswith("--server=")), None)


def main() -> int:
    """The ``monsisra`` command and ``python -m sisra.desktop``."""
    if not qt_installed():
        print(MISSING, file=sys.stderr)
        return 1
    from sisra.desktop.app import run

    return run(sys.argv, server_argument(sys.argv))


def desktop_command(args: list[str]) -> int | None:
    """``sisra desktop [--server URL] [--startup-time]`` (the arguments after ``desktop``)
    without the ``sisra`` command line's Typer, settings and other commands: the window's exit
    status. None, with nothing started, for any other argument (``--help``, a mistake) and
    without Qt: :mod:`sisra.cli` answers those as it always did."""
    server: str | None = None
    startup_time = False
    given = iter(args)
    for arg in given:
        if arg == "--startup-time":
            startup_time = True
        elif arg == "--server":
            server = next(given, None)
            if server is None:
                return None  # the option's value missing: the command line's error
        elif arg.startswith("--server="):
            server = arg.split("=", 1)[1]
        else:
            return None
    if not qt_installed():
        return None
    from sisra.desktop.app import run

    return run([sys.argv[0], *(["--startup-time"] if startup_time else [])], server)

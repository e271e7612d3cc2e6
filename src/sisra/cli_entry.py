"""The ``sisra`` program's entry (``[project.scripts]``, and ``python -m sisra.cli``).

``sisra desktop …`` goes straight to MonSisra's window launcher: the full command line
(:mod:`sisra.cli`) imports Typer, the platform's settings and every command, which doubled
the time to the CONNEXION window. Everything else — ``sisra desktop --help``, an option the
launcher does not know, a computer without Qt, every other command — is answered by
:mod:`sisra.cli` exactly as before.
"""

from __future__ import annotations

import sys


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["desktop"]:
        from sisra.desktop.launch import desktop_command

        code = desktop_command(args[1:])
        if code is not None:
            return code
    from sisra.cli import app

    app()  # Typer exits (SystemExit) with the command's status
    return 0

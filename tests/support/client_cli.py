"""`sisra client` (the headless MonSisra) run as a user runs it."""

import subprocess
import sys

LOCAL = "Local-mot-de-passe-1"


CLI = [sys.executable, "-m", "sisra.cli", "client"]


def run(env, *args, stdin: str | None = "", closed: bool = False):
    """The command as a process; ``stdin=None`` with ``closed``: no standard input at all."""
    if closed:  # `… <&-`: the file descriptor is closed, Python's sys.stdin is None
        command = " ".join(f"'{a}'" for a in [*CLI, *args]) + " <&-"
        return subprocess.run(
            ["sh", "-c", command], env=env, capture_output=True, text=True, timeout=120
        )
    return subprocess.run(
        [*CLI, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )

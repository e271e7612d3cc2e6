"""The headless daemon in tests: enrolment by e-mail code, and its output read line by line."""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from support.client_cli import CLI, LOCAL

PORTAL = "Motdepasse-2026!"
ENROL = ("--profile", "pdf", "--days", "30", "--folder")


def enrol(url: str, env: dict[str, str], smtp_sink: Any, login: str, folder: Path) -> None:
    proc = subprocess.Popen(
        [*CLI, "add-user", "--identifier", login, "--server", url, *ENROL, str(folder)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    answer_code(proc, smtp_sink, f"{login}@demo.sisra.test", [PORTAL], [LOCAL])


def answer_code(
    proc: subprocess.Popen[str], smtp_sink: Any, email: str, before: list[str], after: list[str]
) -> str:
    assert proc.stdin and proc.stdout
    previous = smtp_sink.last_to(email)
    proc.stdin.write("".join(f"{line}\n" for line in before))
    proc.stdin.flush()
    seen = ""
    deadline = time.monotonic() + 60
    while "usage unique" not in seen and time.monotonic() < deadline:
        seen += proc.stdout.readline()
    mail = smtp_sink.last_to(email)
    assert mail is not None and mail is not previous, seen
    proc.stdin.write("".join(f"{line}\n" for line in [mail.code(), *after]))
    proc.stdin.close()
    out = seen + proc.stdout.read()
    assert proc.wait(60) == 0, out
    return out


class Lines:
    """The daemon's output, read by a thread: ``wait_for(text)`` returns the line."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.all: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        assert proc.stdout
        stdout = proc.stdout
        threading.Thread(target=self._read, args=(stdout,), daemon=True).start()

    def _read(self, stdout: Any) -> None:
        for line in stdout:
            self._queue.put(line)

    def wait_for(self, text: str, seconds: float = 60) -> str:
        for line in self.all:
            if text in line:
                return line
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self.all.append(line)
            if text in line:
                return line
        raise AssertionError(f"« {text} » never said:\n" + "".join(self.all))


def start_daemon(
    env: dict[str, str], keyfile: Path, logins: list[str], **popen: Any
) -> subprocess.Popen[str]:
    """``sisra client daemon`` with a key file (0600) unlocking ``logins`` with the local
    password, its output merged and piped (read it with :class:`Lines`)."""
    keyfile.write_text("".join(f"{login}: {LOCAL}\n" for login in logins), encoding="utf-8")
    keyfile.chmod(0o600)
    options: dict[str, Any] = {"env": env, "stdin": subprocess.DEVNULL, **popen}
    return subprocess.Popen(
        [*CLI, "daemon", "--keyfile", str(keyfile)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **options,
    )

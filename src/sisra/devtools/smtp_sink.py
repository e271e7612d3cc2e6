"""A real SMTP server that keeps the messages it receives instead of delivering them.

Used by the demo (so the two-step login works with no mail server: the operator reads the
codes with ``sisra dev mails`` or on ``/demo/mails``) and by the tests. Messages are kept in
memory and, when a directory is given, written there as ``.eml`` files (0600).
"""

import os
import re
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

CODE_RE = re.compile(r"\b(\d{6})\b")


@dataclass(frozen=True)
class CapturedMail:
    to: list[str]
    subject: str
    body: str
    received_at: float

    def code(self) -> str | None:
        found = CODE_RE.search(self.body)
        return found.group(1) if found else None


class _Handler:
    def __init__(self, sink: "SmtpSink") -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode()
        self.sink._store(list(envelope.rcpt_tos), raw)
        return "250 Message accepted"


class SmtpSink:
    """``start()`` listens on ``host:port`` (loopback); ``messages`` lists what arrived."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 2525,
        directory: Path | None = None,
    ) -> None:
        self.host, self.port, self.directory = host, port, directory
        self._messages: list[CapturedMail] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def _store(self, rcpt: list[str], raw: bytes) -> None:
        msg: Any = message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        body_part = msg.get_body(preferencelist=("plain",))
        body = body_part.get_content() if body_part is not None else ""
        mail = CapturedMail(rcpt, str(msg["Subject"] or ""), body, time.time())
        with self._lock:
            self._messages.append(mail)
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            name = self.directory / f"{time.time_ns()}.eml"
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)

    @property
    def messages(self) -> list[CapturedMail]:
        with self._lock:
            return list(self._messages)

    def last_to(self, address: str) -> CapturedMail | None:
        for mail in reversed(self.messages):
            if address.lower() in (a.lower() for a in mail.to):
                return mail
        return None

    def start(self) -> "SmtpSink":
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def read_mail_dir(directory: Path, limit: int = 20) -> list[CapturedMail]:
    """The last ``limit`` messages written by a sink into ``directory``, newest first."""
    files = sorted(directory.glob("*.eml"), reverse=True)[:limit] if directory.exists() else []
    out = []
    for path in files:
        msg: Any = message_from_bytes(path.read_bytes(), policy=policy.default)
        part = msg.get_body(preferencelist=("plain",))
        out.append(
            CapturedMail(
                [str(msg["To"])],
                str(msg["Subject"] or ""),
                part.get_content() if part is not None else "",
                path.stat().st_mtime,
            )
        )
    return out

"""A real SMTP server that keeps the messages it receives instead of delivering them.

Used by the demo (so the two-step login works with no mail server: the operator reads the
codes with ``sisra dev mails`` or on ``/demo/courriels``, both read by
:mod:`sisra.platform.demo.mails`) and by the tests. Messages are kept in
memory and, when a directory is given, written there as ``.eml`` files (0600).
"""

import os
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from sisra.platform.demo.mails import CapturedMail, parse_mail

__all__ = ["CapturedMail", "SmtpSink"]


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
        mail = parse_mail(raw, time.time(), rcpt)
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

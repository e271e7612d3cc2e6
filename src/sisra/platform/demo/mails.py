"""The demo's captured e-mails, decoded: one reader for ``sisra dev mails`` and the
``/demo/courriels`` page (the demo's SMTP sink writes them as ``.eml`` files).

Bodies arrive quoted-printable or base64: ``email``'s default policy decodes them; an HTML-only
message is read without its tags. Links are given whole, as the recipient would follow them.
"""

import html
import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

CODE_RE = re.compile(r"\b(\d{6})\b")
LINK_RE = re.compile(r"https?://[^\s<>\"'«»]+")


def link_spans(text: str) -> list[tuple[int, str]]:
    """Each web address of ``text`` with where it starts; a final period or comma belongs to
    the sentence, not to the address."""
    return [(m.start(), m.group(0).rstrip(".,;:)")) for m in LINK_RE.finditer(text)]


@dataclass(frozen=True)
class CapturedMail:
    to: list[str]
    subject: str
    body: str
    received_at: float

    def code(self) -> str | None:
        found = CODE_RE.search(self.body)
        return found.group(1) if found else None

    def links(self) -> list[str]:
        """The addresses in the body, in order, without repeats (a final period is prose)."""
        found = (link for _, link in link_spans(self.body))
        return list(dict.fromkeys(found))


def parse_mail(raw: bytes, received_at: float, to: list[str] | None = None) -> CapturedMail:
    """A message as its recipient reads it: the text part, else the HTML part as text."""
    msg: Any = message_from_bytes(raw, policy=policy.default)
    part = msg.get_body(preferencelist=("plain", "html"))
    body = str(part.get_content()) if part is not None else ""
    if part is not None and part.get_content_subtype() == "html":
        body = re.sub(r"<a\s[^>]*href=\"([^\"]+)\"[^>]*>", r" \1 ", body, flags=re.I)
        body = html.unescape(re.sub(r"<[^>]+>", "", body))
    return CapturedMail(to or [str(msg["To"] or "")], str(msg["Subject"] or ""), body, received_at)


def read_mail_dir(directory: Path, limit: int = 20) -> list[CapturedMail]:
    """The last ``limit`` messages written by the sink into ``directory``, newest first."""
    files = sorted(directory.glob("*.eml"), reverse=True)[:limit] if directory.exists() else []
    return [parse_mail(path.read_bytes(), path.stat().st_mtime) for path in files]

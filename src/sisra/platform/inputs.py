"""What the platform accepts as input, checked in one place before any route runs.

- Integers: every integer a client sends (query cursor, page size, a header such as
  ``Last-Event-ID``) is bounded, so it fits a 64-bit database column; see ``Cursor``,
  ``limit_query`` and ``parse_uint``.
- Text: a NUL character (PostgreSQL refuses it in text and JSON), a lone surrogate (not
  encodable in UTF-8) or a Unicode noncharacter (U+FDD0–U+FDEF, U+xFFFE and U+xFFFF of every
  plane: XML refuses U+FFFE, so a title holding one could never be exported as XDM) is
  refused with a 422 wherever it comes from — path, query string, headers, JSON or form
  bodies — by the ``InputGuard`` middleware; ``refuse_nul_parameters`` is the backstop at the
  database driver for anything that slipped past (a JSON document inside a multipart field,
  the fields of the web send form): every free text stored (titles, names, reasons,
  comments) goes through it.
"""

import json
import re
from typing import Annotated, Any
from urllib.parse import unquote_to_bytes

from fastapi import Query
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sisra.common.text import forbidden_character
from sisra.platform.errors import Invalid

# The largest value of a signed 64-bit column (BIGINT, SQLite INTEGER).
MAX_INT64 = 2**63 - 1

Cursor = Annotated[int, Query(ge=0, le=MAX_INT64, description="Curseur (entier ≥ 0)")]
OptionalCursor = Annotated[int | None, Query(ge=0, le=MAX_INT64)]


def limit_query(default: int, maximum: int) -> Any:
    """A page size: 1 ≤ limit ≤ ``maximum`` (``limit=-1`` must never mean "everything")."""
    return Query(default, ge=1, le=maximum)


_ASCII_UINT = re.compile(r"[0-9]{1,19}")


def parse_uint(value: str | None, maximum: int = MAX_INT64) -> int | None:
    """A header's unsigned integer, or ``None`` when absent or not one.

    ``str.isdigit()`` is not enough: it accepts « ² » or « ٣ » and any length."""
    if value is None:
        return None
    value = value.strip()
    if not _ASCII_UINT.fullmatch(value):
        return None
    number = int(value)
    return number if number <= maximum else None


NUL_MESSAGE = (
    "La requête contient un caractère interdit (caractère nul ou invalide) : "
    "retirez-le et recommencez."
)
NUL_CODE = "invalid_characters"


def bad_text(value: str) -> bool:
    """True for text the platform refuses: a NUL character, a lone surrogate or a Unicode
    noncharacter (:func:`sisra.common.text.forbidden_character`)."""
    return forbidden_character(value) is not None


def check_text(*values: str | None) -> None:
    """Refuse (the usual ``422 invalid_characters``) text holding a forbidden character, for
    services fed by something the input guard does not read (an imported file's rows)."""
    if any(v is not None and bad_text(v) for v in values):
        raise Invalid(NUL_MESSAGE, code=NUL_CODE)


def _json_has_bad_text(value: Any) -> bool:
    if isinstance(value, str):
        return bad_text(value)
    if isinstance(value, dict):
        return any(bad_text(k) or _json_has_bad_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_json_has_bad_text(v) for v in value)
    return False


# Bodies up to this size are read and checked. ``bodies.BodyGuard`` (outside this guard) has
# already cut every JSON or form body at its route's limit (64 KiB but for FHIR create's base64
# PDF); a larger one is left to its route, and the database backstop still refuses a NUL.
MAX_CHECKED_BODY = 2 * 1024 * 1024
_PERCENT_NUL = re.compile(rb"%00")


def _bad_utf8(raw: bytes) -> bool:
    """A forbidden character written as such in UTF-8 (invalid UTF-8 is the route's 422)."""
    if raw.isascii():
        return b"\x00" in raw
    try:
        return bad_text(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return b"\x00" in raw


def _bad_urlencoded(raw: bytes) -> bool:
    if b"\x00" in raw or _PERCENT_NUL.search(raw) is not None:
        return True
    return _bad_utf8(unquote_to_bytes(raw) if b"%" in raw else raw)


def _bad_json(raw: bytes) -> bool:
    if _bad_utf8(raw):
        return True
    if b"\\u" not in raw and b"\\U" not in raw:
        return False  # no escape: nothing hidden (invalid UTF-8 is the route's 422)
    try:
        return _json_has_bad_text(json.loads(raw))
    except (ValueError, RecursionError):
        return False  # malformed JSON: the route answers its own 422


async def read_body(receive: Receive, most: int) -> tuple[bytes | None, Receive]:
    """The request's body when it is whole and at most ``most`` bytes (``None`` otherwise),
    and a ``receive`` that gives the application every message again, then the rest."""
    messages: list[Message] = []
    size = 0
    more = True
    while more:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        more = bool(message.get("more_body"))
        if size > most:
            break
    raw = None
    if not more and size <= most:
        raw = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return raw, replay


class InputGuard:
    """Pure ASGI middleware (it must not buffer the Server-Sent Events stream or uploads)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._bad_head(scope):
            await _refuse(send)
            return
        kind = _body_kind(scope)
        if kind is None:
            await self.app(scope, receive, send)
            return
        raw, replay = await read_body(receive, MAX_CHECKED_BODY)
        if raw is not None and (_bad_json if kind == "json" else _bad_urlencoded)(raw):
            await _refuse(send)
            return
        await self.app(scope, replay, send)

    @staticmethod
    def _bad_head(scope: Scope) -> bool:
        if "\x00" in scope.get("path", ""):
            return True
        query: bytes = scope.get("query_string", b"")
        if _bad_urlencoded(query) or b"%00" in scope.get("raw_path", b""):
            return True
        return any(b"\x00" in value for _name, value in scope.get("headers", []))


def _body_kind(scope: Scope) -> str | None:
    if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return None
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            mime = value.split(b";", 1)[0].strip().lower()
            if mime == b"application/json" or mime.endswith(b"+json"):
                return "json"
            if mime == b"application/x-www-form-urlencoded":
                return "form"
            return None
    return None


async def _refuse(send: Send) -> None:
    body = json.dumps({"code": NUL_CODE, "message": NUL_MESSAGE}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _params_have_nul(parameters: Any) -> bool:
    if isinstance(parameters, str):
        return bad_text(parameters)
    if isinstance(parameters, dict):
        return any(_params_have_nul(v) for v in parameters.values())
    if isinstance(parameters, list | tuple):
        return any(_params_have_nul(v) for v in parameters)
    return False


def refuse_nul_parameters(
    _conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, _many: bool
) -> None:
    """``before_cursor_execute`` hook: a NUL character, lone surrogate or noncharacter never
    reaches the database.

    PostgreSQL refuses NUL (a driver error, hence a 500); SQLite would store it; a stored
    noncharacter would later stop the document's XDM export. Both now answer the same 422."""
    if _params_have_nul(parameters):
        raise Invalid(NUL_MESSAGE, code=NUL_CODE)

"""Upload limits enforced while the body is read, below FastAPI (a pure ASGI middleware).

Starlette's multipart parser spools the *whole* body to a temporary file before the route
runs, so a size check in the route comes too late: a 60 MB chunked upload (no Content-Length)
was read, written to disk and parsed before being refused. :class:`UploadGuard` wraps
``receive`` for the upload routes (the API's ``POST /api/v1/documents`` and the web share form
``POST /envoyer/{patient}``):

* a declared ``Content-Length`` above the limit is answered 413 before one byte is read;
* otherwise the bytes are counted as they arrive, and the request is answered 413 as soon as
  the count passes the limit: the rest of the body is never read (the server closes the
  connection, the client stops sending);
* a body that stalls (no data for ``upload_idle_timeout_s``) or drags on longer than
  ``upload_max_seconds`` is answered 408.

The limit is ``max_document_bytes`` plus :data:`MULTIPART_OVERHEAD` (form fields, part
headers). The answer is the API's JSON error, or a short French page for the web form.
"""

import asyncio
import html
import json
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sisra.settings import Settings

# Form fields (metadata, the web form's text) and multipart boundaries around the file.
MULTIPART_OVERHEAD = 256 * 1024

_API_UPLOAD = re.compile(r"^/api/v1/documents/?$")
_WEB_UPLOAD = re.compile(r"^/envoyer/[^/]+/?$")


class _Refused(Exception):
    """The guard has answered the request itself; the application's own answer is dropped."""


def upload_limit(settings: Settings) -> int:
    """The most bytes an upload request body may hold."""
    return settings.max_document_bytes + MULTIPART_OVERHEAD


def _too_large_message(settings: Settings) -> str:
    mb = settings.max_document_bytes // (1024 * 1024)
    return (
        f"Le document dépasse la taille maximale autorisée ({mb} Mo). Rien n'a été envoyé : "
        "réduisez sa taille (numérisation en noir et blanc, résolution plus basse) puis "
        "recommencez."
    )


_TIMEOUT_MESSAGE = (
    "L'envoi du document s'est interrompu : le serveur ne recevait plus de données. Rien n'a "
    "été envoyé ; vérifiez votre connexion puis recommencez."
)


class UploadGuard:
    """Pure ASGI middleware: counts upload bodies as they are received (see the module)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings  # read per request: the limit may be changed at run time

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        # the web form's answer is a page with a link back to the form
        back = path if _WEB_UPLOAD.match(path) else None
        if back is None and not _API_UPLOAD.match(path):
            await self.app(scope, receive, send)
            return
        limit = upload_limit(self.settings)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _answer(send, 413, "file_too_large", _too_large_message(self.settings), back)
            return

        idle = self.settings.upload_idle_timeout_s
        deadline = time.monotonic() + self.settings.upload_max_seconds
        state = {"received": 0, "started": False, "answered": False, "complete": False}

        async def refuse(status: int, code: str, message: str) -> None:
            if not state["started"]:
                state["answered"] = True
                await _answer(send, status, code, message, back)
            raise _Refused

        async def counting_receive() -> Message:
            if state["answered"]:
                return {"type": "http.disconnect"}
            if state["complete"]:  # the body is in: later reads only wait for a disconnect
                return await receive()
            wait = min(idle, deadline - time.monotonic())
            try:
                message = await asyncio.wait_for(receive(), timeout=max(wait, 0.001))
            except TimeoutError:
                await refuse(408, "upload_timeout", _TIMEOUT_MESSAGE)
                raise  # not reached: refuse() raises
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    await refuse(413, "file_too_large", _too_large_message(self.settings))
                state["complete"] = not message.get("more_body", False)
            return message

        async def guarded_send(message: Message) -> None:
            if state["answered"]:
                return  # the guard already answered; whatever the app says next is moot
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _Refused:
            pass
        except Exception:
            if not state["answered"]:
                raise
            # the framework may wrap our exception in its own (a "bad body" 400): answered


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _answer(send: Send, status: int, code: str, message: str, back: str | None) -> None:
    if back is not None:
        body = _page(message, back).encode()
        media = b"text/html; charset=utf-8"
    else:
        body = json.dumps({"code": code, "message": message}, ensure_ascii=False).encode()
        media = b"application/json"
    headers: list[Any] = [
        (b"content-type", media),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        # the rest of the body is not read: the connection cannot carry another request
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _page(message: str, back: str) -> str:
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        "<title>Document non envoyé — Sisra</title>"
        '<link rel="stylesheet" href="/static/sisra.css"></head><body><main>'
        "<h1>Document non envoyé</h1>"
        f'<p role="alert">{html.escape(message)}</p>'
        f'<p><a href="{html.escape(back)}">Revenir au formulaire</a></p>'
        "</main></body></html>"
    )

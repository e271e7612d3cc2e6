"""Every request body is bounded while it is received, below FastAPI (a pure ASGI middleware).

Starlette reads a JSON body whole before validating it, and its multipart parser spools the
*whole* body to a temporary file before the route runs, so a size check in a route comes too
late: a 200 MB JSON body to the anonymous login was read into memory, a 300 MB multipart body
to ``/connexion`` was spooled to disk. :class:`BodyGuard` wraps ``receive`` for every route:

* a declared ``Content-Length`` above the route's limit is answered 413 before one byte is
  read;
* otherwise the bytes are counted as they arrive, and the request is answered 413 as soon as
  the count passes the limit: the rest of the body is never read (the server closes the
  connection, the client stops sending);
* a body that stalls (no data for the route's idle timeout) or drags on longer than its
  maximum duration is answered 408.

Each route belongs to one :class:`BodyClass` (:func:`body_class`): the document uploads (the
API's ``POST /api/v1/documents``, the web share form ``POST /envoyer/{patient}`` and FHIR's
``POST /fhir/r4/DocumentReference`` with its base64 PDF) take a document; the directory import
``POST /admin/annuaire-import`` takes a CSV file; every other route takes a small JSON or form
body. The answer is the API's JSON error (an ``OperationOutcome`` under ``/fhir/``, by
``FhirErrors``), or a short French page for the web forms.
"""

import asyncio
import html
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sisra.platform.settings import Settings

# Form fields (metadata, the web form's text) and multipart boundaries around the file.
MULTIPART_OVERHEAD = 256 * 1024
# The directory import form: its CSRF field and the multipart framing around the CSV.
IMPORT_OVERHEAD = 64 * 1024

_API_UPLOAD = re.compile(r"^/api/v1/documents/?$")
_WEB_UPLOAD = re.compile(r"^/envoyer/[^/]+/?$")
_FHIR_CREATE = re.compile(r"^/fhir/r4/DocumentReference/?$")
_DIRECTORY_IMPORT = re.compile(r"^/admin/annuaire-import/?$")


@dataclass(frozen=True)
class BodyClass:
    """What one route may receive: at most ``limit`` bytes, never ``idle_s`` seconds without
    data, all of it within ``max_s`` seconds; the French answers when it does not."""

    limit: int
    idle_s: float
    max_s: float
    too_large_code: str
    too_large: str
    timeout_code: str
    timeout: str
    page_title: str


def upload_limit(settings: Settings) -> int:
    """The most bytes a multipart document upload request body may hold."""
    return settings.max_document_bytes + MULTIPART_OVERHEAD


def fhir_create_limit(settings: Settings) -> int:
    """The most bytes a FHIR DocumentReference create may hold: the PDF in base64."""
    return (settings.max_document_bytes // 3 + 1) * 4 + MULTIPART_OVERHEAD


def _mb(n: int) -> str:
    """Megabytes as a French reader writes them: « 25 », « 2,5 »."""
    value = n / (1024 * 1024)
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}".replace(".", ",")


def _size(n: int) -> str:
    return f"{n // 1024} Ko" if n < 1024 * 1024 else f"{_mb(n)} Mo"


def document_too_large_message(settings: Settings) -> str:
    return (
        f"Le document dépasse la taille maximale autorisée ({_mb(settings.max_document_bytes)} "
        "Mo). Rien n'a été envoyé : réduisez sa taille (numérisation en noir et blanc, "
        "résolution plus basse) puis recommencez."
    )


def import_too_large_message(settings: Settings) -> str:
    return (
        f"Le fichier dépasse {_size(settings.max_directory_import_bytes)} : découpez "
        "l'extraction. Rien n'a été importé."
    )


_UPLOAD_TIMEOUT = (
    "L'envoi du document s'est interrompu : le serveur ne recevait plus de données. Rien n'a "
    "été envoyé ; vérifiez votre connexion puis recommencez."
)
_BODY_TIMEOUT = (
    "La requête s'est interrompue : le serveur ne recevait plus de données. Rien n'a été "
    "enregistré ; vérifiez votre connexion puis recommencez."
)


def _bounded(
    settings: Settings, *, upload: bool, limit: int, code: str, too_large: str, page_title: str
) -> BodyClass:
    """A route's limits: an upload (a document) may be slower to arrive than other bodies."""
    if upload:
        idle, most, timeout_code, timeout = (
            settings.upload_idle_timeout_s,
            settings.upload_max_seconds,
            "upload_timeout",
            _UPLOAD_TIMEOUT,
        )
    else:
        idle, most, timeout_code, timeout = (
            settings.body_idle_timeout_s,
            settings.body_max_seconds,
            "body_timeout",
            _BODY_TIMEOUT,
        )
    return BodyClass(
        limit=limit,
        idle_s=idle,
        max_s=most,
        too_large_code=code,
        too_large=too_large,
        timeout_code=timeout_code,
        timeout=timeout,
        page_title=page_title,
    )


def body_class(settings: Settings, method: str, path: str) -> BodyClass:
    """The limits of the route at ``method`` ``path`` (settings are read per request)."""
    if method == "POST" and (
        _API_UPLOAD.match(path) or _WEB_UPLOAD.match(path) or _FHIR_CREATE.match(path)
    ):
        fhir = _FHIR_CREATE.match(path) is not None
        return _bounded(
            settings,
            upload=True,
            limit=fhir_create_limit(settings) if fhir else upload_limit(settings),
            code="file_too_large",
            too_large=document_too_large_message(settings),
            page_title="Document non envoyé",
        )
    if method == "POST" and _DIRECTORY_IMPORT.match(path):
        return _bounded(
            settings,
            upload=False,
            limit=settings.max_directory_import_bytes + IMPORT_OVERHEAD,
            code="file_too_large",
            too_large=import_too_large_message(settings),
            page_title="Fichier non importé",
        )
    return _bounded(
        settings,
        upload=False,
        limit=settings.max_request_body_bytes,
        code="body_too_large",
        too_large=(
            f"La requête est trop volumineuse ({_size(settings.max_request_body_bytes)} au "
            "plus). Rien n'a été enregistré."
        ),
        page_title="Demande non traitée",
    )


class _Refused(Exception):
    """The guard has answered the request itself; the application's own answer is dropped."""


class BodyGuard:
    """Pure ASGI middleware: counts every request body as it is received (see the module).

    It must sit outside every middleware that reads the body (``InputGuard``) and inside
    ``FhirErrors``, which tells its errors as OperationOutcome under ``/fhir/``."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings  # read per request: a limit may be changed at run time

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        rules = body_class(self.settings, str(scope.get("method", "")), path)
        declared = _content_length(scope)
        if declared is not None and declared > rules.limit:
            await _answer(scope, send, 413, rules.too_large_code, rules.too_large, rules)
            return

        limit = rules.limit
        deadline = time.monotonic() + rules.max_s
        state = {"received": 0, "started": False, "answered": False, "complete": False}

        async def refuse(status: int, code: str, message: str) -> None:
            if not state["started"]:
                state["answered"] = True
                await _answer(scope, send, status, code, message, rules)
            raise _Refused

        async def counting_receive() -> Message:
            if state["answered"]:
                return {"type": "http.disconnect"}
            if state["complete"]:  # the body is in: later reads only wait for a disconnect
                return await receive()
            wait = min(rules.idle_s, deadline - time.monotonic())
            try:
                message = await asyncio.wait_for(receive(), timeout=max(wait, 0.001))
            except TimeoutError:
                await refuse(408, rules.timeout_code, rules.timeout)
                raise  # not reached: refuse() raises
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    await refuse(413, rules.too_large_code, rules.too_large)
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


def _wants_json(scope: Scope) -> bool:
    path = str(scope.get("path", ""))
    if path.startswith(("/api/", "/fhir/")):
        return True
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            mime = value.split(b";", 1)[0].strip().lower()
            return bool(mime == b"application/json" or mime.endswith(b"+json"))
    return False


def _back(scope: Scope) -> str:
    """Where the web page's link leads: the form's own page when the path has one (a GET
    route), the home page otherwise."""
    path = str(scope.get("path", ""))
    router = getattr(scope.get("app"), "router", None)
    probe = {**scope, "method": "GET"}
    for route in getattr(router, "routes", []):
        match, _child = route.matches(probe)
        if match == Match.FULL:
            return path
    return "/accueil"


async def _answer(
    scope: Scope, send: Send, status: int, code: str, message: str, rules: BodyClass
) -> None:
    if _wants_json(scope):
        body = json.dumps({"code": code, "message": message}, ensure_ascii=False).encode()
        media = b"application/json"
    else:
        body = _page(rules.page_title, message, _back(scope)).encode()
        media = b"text/html; charset=utf-8"
    headers: list[Any] = [
        (b"content-type", media),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        # the rest of the body is not read: the connection cannot carry another request
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _page(title: str, message: str, back: str) -> str:
    label = "Revenir à l'accueil" if back == "/accueil" else "Revenir au formulaire"
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} — Sisra</title>"
        '<link rel="stylesheet" href="/static/sisra.css"></head><body><main>'
        f"<h1>{html.escape(title)}</h1>"
        f'<p role="alert">{html.escape(message)}</p>'
        f'<p><a href="{html.escape(back)}">{label}</a></p>'
        "</main></body></html>"
    )

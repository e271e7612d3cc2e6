"""Errors of the FHIR API: the platform's own errors, told as OperationOutcome.

Every layer of the platform answers an error as API v1 does — ``{"code", "message"}`` JSON
with its status — whether it is a service's refusal, a validation error, the input guard's
NUL refusal or an unknown address. :class:`FhirErrors` rewrites those answers, under
``/fhir/``, into an ``OperationOutcome`` with the same status and headers (a 401 keeps its
``WWW-Authenticate``): one translation at the edge instead of a second error path, so a FHIR
client is refused exactly when, and as, an API v1 client is.
"""

import json
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sisra.platform.fhir import codes, resources

PREFIX = "/fhir/"


def _errors(body: dict[str, Any]) -> list[str]:
    found = body.get("errors")
    if not isinstance(found, list):
        return []
    out = []
    for e in found:
        if isinstance(e, dict):
            out.append(f"{e.get('field', '')} : {e.get('error', '')}".strip(" :"))
    return out


def outcome_body(status: int, raw: bytes) -> bytes:
    """The OperationOutcome for an API v1 error body (anything else is kept as its text)."""
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        code, message = str(body.get("code", "error")), body["message"]
    else:
        code, message = "error", raw.decode("utf-8", "replace")[:500] or "Erreur."
    outcome = resources.operation_outcome(status, code, message, _errors(body or {}))
    return json.dumps(outcome, ensure_ascii=False).encode()


class FhirErrors:
    """Pure ASGI middleware (buffers only error answers under ``/fhir/``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = {"start": None, "chunks": []}

        async def translating_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                mime = headers.get("content-type", "").split(";")[0].strip()
                if message["status"] >= 400 and mime in ("application/json", "text/plain"):
                    state["start"] = message  # held until the whole body is in
                    return
            elif message["type"] == "http.response.body" and state["start"] is not None:
                state["chunks"].append(message.get("body", b""))
                if message.get("more_body"):
                    return
                start = state["start"]
                body = outcome_body(start["status"], b"".join(state["chunks"]))
                headers = MutableHeaders(scope=start)
                headers["content-type"] = f"{codes.MEDIA_TYPE}; charset=utf-8"
                headers["content-length"] = str(len(body))
                await send(start)
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, translating_send)

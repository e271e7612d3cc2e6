"""The inbox's requests of a document's cycle, answered below the framework (decision 195).

Listing the inbox, downloading a received document and sending its receipt (one, or several
at once: decision 207) are what MonSisra does most. Through FastAPI each one walked the
routes, solved five dependencies, validated its parameters and took two thread-pool hops
(the handler, then the commit): about three quarters of the server's CPU for these requests.
:class:`InboxFastLane`, a pure ASGI layer just inside the guards (``InputGuard``,
``BodyGuard``, the security headers), answers them itself when the request is well-formed:

- the same route functions (:mod:`sisra.platform.inbox.routes`) build the same answers;
- the same authentication (the bearer token, the authentication cache of decision 188, the
  professional check) and the same errors (a :class:`SisraError` answered as the app's
  exception handler answers it);
- the handler and the commit in one thread-pool hop, the commit before the first byte of the
  answer, as ``get_session`` does.

Anything unusual — another method, a path or a query parameter the lane does not parse
strictly, a body that is not a valid receipt — goes on to FastAPI unchanged (the body
replayed), so validation errors, redirects and the OpenAPI document stay the framework's.
"""

import re
import uuid
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from sisra.platform.context import RequestContext
from sisra.platform.deps import authenticated
from sisra.platform.errors import SisraError, error_response, invalid_value_response
from sisra.platform.inbox import routes, service
from sisra.platform.inbox.schemas import ReceiptIn, ReceiptsIn
from sisra.platform.inputs import MAX_INT64, read_body

PREFIX = "/api/v1/inbox"
_ITEM = re.compile(
    r"/api/v1/inbox/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12})/(content|receipts)"
)
_QUERY = re.compile(rb"(after|limit)=([0-9]{1,19})")
MAX_RECEIPT_BODY = 1024  # {"kind": "downloaded"} with room to spare
RECEIPTS = PREFIX + "/receipts"
MAX_RECEIPTS_BODY = 8192  # 100 identifiers of 38 characters, with room to spare

Handler = Callable[[Session, RequestContext], Response]
B = TypeVar("B", bound=BaseModel)


def _page_query(query: bytes) -> tuple[int, int] | None:
    """``after`` and ``limit`` when the query string holds nothing else, each once and in
    bounds; ``None`` sends the request on to FastAPI (its own validation, its own 422)."""
    found: dict[bytes, int] = {}
    for part in query.split(b"&") if query else ():
        m = _QUERY.fullmatch(part)
        if m is None or m[1] in found:
            return None
        found[m[1]] = int(m[2])
    after = found.get(b"after", 0)
    limit = found.get(b"limit", 100)
    if after > MAX_INT64 or not 1 <= limit <= service.MAX_PAGE:
        return None
    return after, limit


def _json_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value.split(b";", 1)[0].strip().lower() == b"application/json")
    return False


class InboxFastLane:
    """Pure ASGI middleware (see the module); innermost of the app's own layers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        handler = await self._handler(scope, receive, send)
        if handler is None:
            return  # answered by FastAPI
        request = Request(scope, receive)
        response = await _answer(request, handler)
        await response(scope, receive, send)

    async def _handler(self, scope: Scope, receive: Receive, send: Send) -> Handler | None:
        """The route for this request, or ``None`` once FastAPI has answered it."""
        method, path = scope["method"], scope["path"]
        if method == "GET" and path == PREFIX:
            page = _page_query(scope["query_string"])
            if page is not None:
                after, limit = page
                return lambda s, c: routes.list_inbox(s, c, after, limit)
        elif method == "POST" and path == RECEIPTS and _json_body(scope):
            return await self._with_body(
                scope, receive, send, MAX_RECEIPTS_BODY, ReceiptsIn, routes.post_receipts
            )
        elif (m := _ITEM.fullmatch(path)) is not None:
            note_id = uuid.UUID(m[1])
            if method == "GET" and m[2] == "content":
                return lambda s, c: _content(scope, receive, s, c, note_id)
            if method == "POST" and m[2] == "receipts" and _json_body(scope):
                return await self._with_body(
                    scope,
                    receive,
                    send,
                    MAX_RECEIPT_BODY,
                    ReceiptIn,
                    lambda s, c, body: routes.post_receipt(s, c, note_id, body),
                )
        await self.app(scope, receive, send)
        return None

    async def _with_body(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        limit: int,
        model: type[B],
        route: Callable[[Session, RequestContext, B], Response],
    ) -> Handler | None:
        """The route with the request's JSON body when it is a valid ``model``; else FastAPI
        answers (the body replayed)."""
        raw, replay = await read_body(receive, limit)
        if raw is not None:
            try:
                body = model.model_validate_json(raw)
            except ValidationError:
                pass
            else:
                return lambda s, c: route(s, c, body)
        await self.app(scope, replay, send)
        return None


def _content(
    scope: Scope, receive: Receive, session: Session, ctx: RequestContext, note_id: uuid.UUID
) -> Response:
    request = Request(scope, receive)
    return routes.item_content(request, session, ctx, request.app.state.blobs, note_id)


async def _answer(request: Request, handler: Handler) -> Response:
    try:
        return await authenticated(request, handler)
    except SisraError as exc:
        return error_response(exc)
    except DataError:
        return invalid_value_response()

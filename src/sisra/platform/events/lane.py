"""``GET /api/v1/events`` served below the framework for the lifetime of the stream
(decision 206).

MonSisra keeps one stream open per running client, all day; a server holds thousands, almost
all idle. Through FastAPI each held, for its whole life, the routing's frames and exit
stacks, Starlette's task group with its second task, and the middleware frames in between:
about 20 KB of a stream's 45. :class:`EventsLane`, a pure ASGI layer just inside the guards
(``InputGuard``, ``BodyGuard``, the security headers), serves a well-formed request itself:

- the same authentication and audit row as the inbox's lane
  (:func:`sisra.platform.deps.authenticated`: the bearer token, the authentication
  cache, the professional check, the ``events.connect`` row committed before the first
  byte), the same refusals (:func:`sisra.platform.errors.error_response`);
- the same stream (:func:`sisra.platform.events.routes.event_chunks`), written to the
  connection by this request's own task;
- one small task waits for the client to leave and puts ``None`` in the stream's mailbox,
  which ends it as a stream that fell behind is ended.

Anything else — a query parameter other than one well-formed ``after``, another method —
goes on to FastAPI's route, which serves the same stream with its own validation.
"""

import asyncio
import re

from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sisra.platform.audit import service as audit
from sisra.platform.context import RequestContext
from sisra.platform.deps import authenticated, bearer_token
from sisra.platform.errors import SisraError, error_response, invalid_value_response
from sisra.platform.events.hub import EventHub, Mailbox
from sisra.platform.events.routes import STREAM_HEADERS, StreamPlan, event_chunks, start_cursor
from sisra.platform.inputs import MAX_INT64

PATH = "/api/v1/events"
START, BODY = "http.response.start", "http.response.body"
_AFTER = re.compile(rb"after=([0-9]{1,19})")


def _after(query: bytes) -> tuple[bool, int | None]:
    """Whether the lane takes the query string (empty, or one ``after`` in bounds), and that
    ``after``; FastAPI's own validation answers anything else."""
    if not query:
        return True, None
    m = _AFTER.fullmatch(query)
    if m is None or int(m[1]) > MAX_INT64:
        return False, None
    return True, int(m[1])


def _stream_headers() -> list[tuple[bytes, bytes]]:
    # Starlette's own headers for the stream (content type with its charset, no length)
    response = StreamingResponse(iter(()), media_type="text/event-stream", headers=STREAM_HEADERS)
    return response.raw_headers


async def _until_disconnect(receive: Receive, box: Mailbox) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    box.offer(None)


class EventsLane:
    """Pure ASGI middleware (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._headers = _stream_headers()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        taken, after = _after(scope["query_string"])
        if not taken:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        start = start_cursor(request.headers.get("last-event-id"), after)

        def connect(session: Session, ctx: RequestContext) -> RequestContext:
            audit.record(session, ctx, "events.connect", details={"after": start})
            return ctx

        try:
            ctx = await authenticated(request, connect)
        except SisraError as exc:
            await error_response(exc)(scope, receive, send)
            return
        except DataError:
            await invalid_value_response()(scope, receive, send)
            return
        assert ctx.actor is not None
        state = request.app.state
        plan = StreamPlan(state, state.settings, ctx.actor.id, bearer_token(request), start)
        del request, ctx  # nothing of the request is kept for the stream's life but the plan
        await self._stream(plan, state.hub, receive, send)

    async def _stream(self, plan: StreamPlan, hub: EventHub, receive: Receive, send: Send) -> None:
        # a list of its own: the middlewares outside add their headers to it
        start: Message = {"type": START, "status": 200, "headers": list(self._headers)}
        await send(start)
        async with hub.subscribe(plan.pro_id) as box:
            leaving = asyncio.ensure_future(_until_disconnect(receive, box))
            try:
                async for chunk in event_chunks(plan, box):
                    await send({"type": BODY, "body": chunk.encode(), "more_body": True})
            finally:
                leaving.cancel()
        await send({"type": BODY, "body": b"", "more_body": False})

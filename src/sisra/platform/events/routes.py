"""``GET /api/v1/events``: the caller's new inbox items as Server-Sent Events.

Each event's ``id`` is the inbox cursor. On connect the stream first replays what the client
missed (after ``Last-Event-ID`` or ``?after=``) from the database, then goes live. The
subscription is opened before the replay, so an item committed in between is not lost; it may
arrive twice and is skipped by cursor. The stream closes when the access token would expire
(the client reconnects with a new token), and within about ``events_revocation_check_s`` when
its device is revoked or logged out or its professional disabled: it re-checks its token each
time the database's revocation generation moves (:mod:`sisra.platform.auth.revocation`), which
one watcher per process reads for every stream (:mod:`sisra.platform.events.ticker`).

On one process the hub hands over the new item itself; on PostgreSQL (several workers or
machines) it only wakes the stream, which reads its new items by cursor
(:mod:`sisra.platform.events.pg`).

A live event only wakes the stream up: it sends what the database has numbered after its
cursor, so events fanned out of order lose nothing.
"""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from sisra.platform.audit import service as audit
from sisra.platform.auth import service as auth
from sisra.platform.db import unit_of_work
from sisra.platform.deps import AppSettings, DbSession, Hub, ProContext, bearer_token
from sisra.platform.errors import NotAuthenticated
from sisra.platform.events.hub import Mailbox
from sisra.platform.events.ticker import RECHECK, RevocationTicker
from sisra.platform.inbox.service import items_for
from sisra.platform.inputs import OptionalCursor, parse_uint
from sisra.platform.models import Notification
from sisra.platform.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["events"])
REPLAY_BATCH = 200


def _sse(item: dict[str, Any]) -> str:
    return f"id: {item['cursor']}\nevent: notification\ndata: {json.dumps(item)}\n\n"


def _token_still_valid(factory: sessionmaker[Session], token: str) -> bool:
    with unit_of_work(factory) as check:
        try:
            auth.authenticate(check, token)
        except NotAuthenticated:
            return False
    return True


def _replay(factory: sessionmaker[Session], pro_id: uuid.UUID, cursor: int) -> list[dict[str, Any]]:
    """The next batch of the professional's notifications numbered after ``cursor``."""
    with unit_of_work(factory) as session:
        notes = list(
            session.scalars(
                select(Notification)
                .where(
                    Notification.recipient_id == pro_id,
                    Notification.seq > cursor,
                    Notification.deleted_at.is_(None),
                )
                .order_by(Notification.seq)
                .limit(REPLAY_BATCH)
            )
        )
        return items_for(session, notes)


class StreamPlan:
    """What one stream needs once its caller is authenticated (and its connection audited)."""

    __slots__ = ("deadline", "factory", "keepalive", "pro_id", "start", "ticker", "token")

    def __init__(
        self, app_state: Any, settings: Settings, pro_id: uuid.UUID, token: str, start: int
    ) -> None:
        self.factory: sessionmaker[Session] = app_state.session_factory
        self.ticker: RevocationTicker = app_state.revocation_ticker
        self.pro_id, self.token, self.start = pro_id, token, start
        self.deadline = time.monotonic() + settings.access_token_minutes * 60
        self.keepalive = settings.events_keepalive_seconds


def start_cursor(last_event_id: str | None, after: int | None) -> int:
    resumed = parse_uint(last_event_id)
    return resumed if resumed is not None else (after or 0)


async def event_chunks(plan: StreamPlan, box: Mailbox) -> AsyncIterator[str]:
    """The stream's text, once subscribed (``box``): served by FastAPI's route below or, for a
    well-formed request, by :class:`sisra.platform.events.lane.EventsLane`."""
    cursor = plan.start
    factory, pro_id, token = plan.factory, plan.pro_id, plan.token

    async def catch_up() -> AsyncIterator[str]:
        """Everything the database has numbered after the cursor, in order (the replay on
        connect, and each wake-up)."""
        nonlocal cursor
        while True:
            batch = await run_in_threadpool(_replay, factory, pro_id, cursor)
            for item in batch:
                cursor = item["cursor"]
                yield _sse(item)
            if len(batch) < REPLAY_BATCH:
                return

    # Subscribed, then the revocation watcher running, then the token checked once more: a
    # revocation committed since this request's authentication is seen here, and any later
    # one reaches this stream as a RECHECK (events/ticker.py).
    await plan.ticker.running()
    if not await run_in_threadpool(_token_still_valid, factory, token):
        return
    yield f"retry: 3000\n: connected, cursor {cursor}\n\n"
    async for chunk in catch_up():
        yield chunk
    keepalive_at = time.monotonic() + plan.keepalive
    # Idle, the stream sleeps until an event, its keepalive or its end; a client that leaves
    # ends it (Starlette ends this generator; the lane puts None in the box).
    while (now := time.monotonic()) < plan.deadline:
        try:
            # a timeout on this task, not wait_for's extra task per wait: an idle stream
            # holds one timer, not a task and its frame (decision 205)
            async with asyncio.timeout(min(keepalive_at, plan.deadline) - now):
                event = await box.get()
        except TimeoutError:
            if time.monotonic() >= keepalive_at:
                keepalive_at = time.monotonic() + plan.keepalive
                yield ": keepalive\n\n"
            continue
        if event is None:  # fell behind (reconnect and catch up), or the client left
            return
        if event is RECHECK:  # something was revoked somewhere: is it us?
            if not await run_in_threadpool(_token_still_valid, factory, token):
                return
            continue
        if event.get("wake") or event["cursor"] > cursor:
            # A wake-up (another worker's share, or this one's): send what the database has
            # numbered after our cursor, in order. Fan-outs from two threads can arrive out
            # of cursor order; sending the event alone would make the earlier one look
            # already seen.
            async for chunk in catch_up():
                yield chunk


STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def events(
    request: Request,
    session: DbSession,
    ctx: ProContext,
    settings: AppSettings,
    hub: Hub,
    after: OptionalCursor = None,
) -> StreamingResponse:
    """The stream, for requests the lane leaves to the framework (see the module)."""
    assert ctx.actor is not None
    start = start_cursor(request.headers.get("last-event-id"), after)
    audit.record(session, ctx, "events.connect", details={"after": start})
    plan = StreamPlan(request.app.state, settings, ctx.actor.id, bearer_token(request), start)

    async def stream() -> AsyncIterator[str]:
        async with hub.subscribe(plan.pro_id) as box:
            async for chunk in event_chunks(plan, box):
                yield chunk

    return StreamingResponse(stream(), media_type="text/event-stream", headers=STREAM_HEADERS)

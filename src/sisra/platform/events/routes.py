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
from sisra.platform.events.ticker import RECHECK, RevocationTicker
from sisra.platform.inbox.service import items_for
from sisra.platform.inputs import OptionalCursor, parse_uint
from sisra.platform.models import Notification

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
    assert ctx.actor is not None
    pro_id = ctx.actor.id
    resumed = parse_uint(request.headers.get("last-event-id"))
    start = resumed if resumed is not None else (after or 0)
    factory = request.app.state.session_factory
    token = bearer_token(request)
    audit.record(session, ctx, "events.connect", details={"after": start})
    deadline = time.monotonic() + settings.access_token_minutes * 60
    keepalive = settings.events_keepalive_seconds
    ticker: RevocationTicker = request.app.state.revocation_ticker

    def still_valid() -> bool:
        return _token_still_valid(factory, token)

    async def stream() -> AsyncIterator[str]:
        cursor = start

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

        async with hub.subscribe(pro_id) as queue:
            # Subscribed, then the revocation watcher running, then the token checked once
            # more: a revocation committed since this request's authentication is seen here,
            # and any later one reaches this stream as a RECHECK (events/ticker.py).
            await ticker.running()
            if not await run_in_threadpool(still_valid):
                return
            yield f"retry: 3000\n: connected, cursor {cursor}\n\n"
            async for chunk in catch_up():
                yield chunk
            keepalive_at = time.monotonic() + keepalive
            # Idle, the stream sleeps until an event, its keepalive or its end; a client that
            # leaves is noticed by the response (Starlette ends this generator).
            while (now := time.monotonic()) < deadline:
                try:
                    # a timeout on this task, not wait_for's extra task per wait: an idle
                    # stream holds one timer, not a task and its frame (decision 205)
                    async with asyncio.timeout(min(keepalive_at, deadline) - now):
                        event = await queue.get()
                except TimeoutError:
                    if time.monotonic() >= keepalive_at:
                        keepalive_at = time.monotonic() + keepalive
                        yield ": keepalive\n\n"
                    continue
                if event is None:  # fell behind: let the client reconnect and catch up
                    return
                if event is RECHECK:  # something was revoked somewhere: is it us?
                    if not await run_in_threadpool(still_valid):
                        return
                    continue
                if event.get("wake") or event["cursor"] > cursor:
                    # A wake-up (another worker's share, or this one's): send what the database
                    # has numbered after our cursor, in order. Fan-outs from two threads can
                    # arrive out of cursor order; sending the event alone would make the
                    # earlier one look already seen.
                    async for chunk in catch_up():
                        yield chunk

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )

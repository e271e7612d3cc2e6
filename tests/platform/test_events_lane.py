"""Event streams served below the framework (decision 206): the stream's mailbox, the lane's
answers (headers, refusals, what it leaves to FastAPI), a client that leaves, and a burst of
new tokens that must not starve the connection pool."""

import asyncio
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import pytest

from sisra.platform.events.hub import QUEUE_LIMIT, Mailbox
from sisra.platform.models import Role
from sisra.platform.settings import Settings
from support.events import Listener, share
from support.servers import RunningServer

T = TypeVar("T")


def run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run`` in a thread of its own: another test of this worker may have left an
    event loop running in this one (Playwright's sync API does)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


# -- the mailbox ---------------------------------------------------------------------------


def test_the_mailbox_keeps_order_and_a_timed_out_wait_loses_nothing() -> None:
    async def scenario() -> list[Any]:
        box = Mailbox()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await box.get()
        got: list[Any] = []
        reader = asyncio.ensure_future(box.get())
        await asyncio.sleep(0)
        box.offer({"cursor": 1})
        box.offer({"cursor": 2})
        got.append(await reader)
        got.append(await box.get())
        assert len(box) == 0
        return got

    assert run(scenario) == [{"cursor": 1}, {"cursor": 2}]


def test_a_mailbox_that_overflows_tells_its_stream_to_reconnect() -> None:
    async def scenario() -> tuple[Any, Any]:
        box = Mailbox()
        for n in range(QUEUE_LIMIT + 1):
            box.offer({"cursor": n})
        box.offer({"cursor": "later"})
        return await box.get(), await box.get()

    # None first (the stream ends; its client catches up from the database), then what came
    # after the overflow
    assert run(scenario) == (None, {"cursor": "later"})


# -- the lane, on a real server --------------------------------------------------------------


def _first_lines(url: str, headers: dict[str, str], query: str = "") -> httpx.Response:
    with (
        httpx.Client(timeout=httpx.Timeout(10, read=10)) as client,
        client.stream("GET", f"{url}/api/v1/events{query}", headers=headers) as resp,
    ):
        if resp.status_code == 200:
            for line in resp.iter_lines():
                if line.startswith(": connected"):
                    break
        else:
            resp.read()
        return resp


def test_the_stream_keeps_its_headers_and_refusals(live_server, make_pro) -> None:
    pro = make_pro()
    resp = _first_lines(live_server.url, pro.headers)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert resp.headers["cache-control"] == "no-store"
    assert resp.headers["x-accel-buffering"] == "no"
    assert resp.headers["x-content-type-options"] == "nosniff"  # the security headers
    # outsiders: no token, a wrong one, an administrator (professionals only)
    for headers, status, code in (
        ({}, 401, "not_authenticated"),
        ({"Authorization": "Bearer nope"}, 401, "invalid_token"),
        (make_pro(role=Role.administrator).headers, 403, "professionals_only"),
    ):
        refused = _first_lines(live_server.url, headers)
        assert refused.status_code == status and refused.json()["code"] == code, headers


def test_what_the_lane_leaves_gets_the_framework_answer(
    live_server, make_pro, make_patient, pdf
) -> None:
    author, rec = make_pro(), make_pro()
    patient = make_patient()
    docs = [share(live_server.url, author, patient, [rec], pdf(f"n{i}")) for i in range(2)]
    first = Listener(live_server.url, rec.headers)
    cursors = [first.next()[0] for _ in docs]
    first.close()
    # ?after= taken by the lane: only what follows the cursor
    after = Listener(live_server.url, rec.headers, query=f"?after={cursors[0]}")
    assert after.next()[2]["document"]["id"] == docs[1]
    after.close()
    # malformed: FastAPI's own validation
    for query in ("?after=x", "?after=-1", f"?after={2**63}", "?after="):
        resp = _first_lines(live_server.url, rec.headers, query)
        assert resp.status_code == 422 and resp.json()["code"] == "invalid_request", query
    # a parameter the lane does not know: the framework serves the same stream
    other = Listener(live_server.url, rec.headers, query=f"?x=1&after={cursors[0]}")
    assert other.next()[2]["document"]["id"] == docs[1]
    other.close()


def _wait_until(condition: Callable[[], bool], seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_a_client_that_leaves_ends_its_stream(settings: Settings, make_pro) -> None:
    pro = make_pro()
    server = RunningServer(settings)
    try:
        hub = server.app.state.hub
        with (
            httpx.Client(timeout=httpx.Timeout(10, read=10)) as client,
            client.stream("GET", f"{server.url}/api/v1/events", headers=pro.headers) as resp,
        ):
            assert resp.status_code == 200, resp.read()
            seen: list[str] = []
            for line in resp.iter_lines():
                seen.append(line)
                if line.startswith(": connected"):
                    break
            assert seen and seen[-1].startswith(": connected"), seen
            # subscribed before « connected » is written; read from another thread, so waited for
            _wait_until(lambda: hub.subscribers(pro.id) == 1)
            assert hub.subscribers(pro.id) == 1, "the open stream is not subscribed"
        # the connection is closed: the stream notices without waiting for its keepalive
        _wait_until(lambda: hub.subscribers(pro.id) == 0)
        assert hub.subscribers(pro.id) == 0, "the stream outlived its client"
    finally:
        server.stop()


# -- a burst of new tokens -------------------------------------------------------------------

BURST = 200  # more than the pool's 80 connections and the 40 worker threads


async def _burst(url: str, headers: dict[str, str]) -> tuple[list[int], list[int]]:
    limits = httpx.Limits(max_connections=2 * BURST, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=httpx.Timeout(60), limits=limits) as client:

        async def stream() -> int:
            async with client.stream("GET", f"{url}/api/v1/events", headers=headers) as resp:
                if resp.status_code == 200:
                    async for line in resp.aiter_lines():
                        if line.startswith(": connected"):
                            break
                return resp.status_code

        async def devices() -> int:
            resp = await client.get(f"{url}/api/v1/auth/devices", headers=headers)
            return resp.status_code

        streams = [asyncio.ensure_future(stream()) for _ in range(BURST)]
        pages = [asyncio.ensure_future(devices()) for _ in range(BURST)]
        return list(await asyncio.gather(*streams)), list(await asyncio.gather(*pages))


def test_a_burst_of_unremembered_tokens_is_answered(settings: Settings, make_pro) -> None:
    """Every request looks its token up (the cache off, as for tokens this process has not
    seen: every MonSisra reconnecting after a restart). Before decision 206, a request kept
    its pooled connection between its thread-pool hops (the token's lookup, a sync handler,
    FastAPI's validation of its answer) while queued for the next one behind the others: the
    waiting requests held every connection, the worker threads waited 30 s for one, and the
    requests failed or timed out."""
    pro = make_pro()
    server = RunningServer(settings.model_copy(update={"auth_cache_s": 0}))
    try:
        streams, pages = run(lambda: _burst(server.url, pro.headers))
        assert streams == [200] * BURST
        assert pages == [200] * BURST
    finally:
        server.stop()

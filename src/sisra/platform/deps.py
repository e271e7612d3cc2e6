"""FastAPI dependencies: the request's unit of work, its context, and the caller."""

import asyncio
import ipaddress
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from functools import lru_cache
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from sisra.platform.auth.cache import AuthCache
from sisra.platform.context import RequestContext
from sisra.platform.db import THREADPOOL_LIMIT, unit_of_work
from sisra.platform.errors import Forbidden, NotAuthenticated
from sisra.platform.events.hub import EventHub
from sisra.platform.settings import Settings
from sisra.platform.storage import EncryptedBlobs

T = TypeVar("T")


async def close_unit_of_work(uow: Any, exc: BaseException | None) -> bool:
    """Commit (``exc`` None) or roll back the unit of work in the thread pool, shielded from
    cancellation, on a limiter of its own, as FastAPI does for a generator's exit: a full
    thread pool must not keep a finished request from giving its connection back. Whether
    the unit of work suppressed ``exc``."""
    with anyio.CancelScope(shield=True):
        suppressed = bool(
            await anyio.to_thread.run_sync(
                uow.__exit__,
                type(exc) if exc else None,
                exc,
                exc.__traceback__ if exc else None,
                limiter=CapacityLimiter(1),
            )
        )
    return suppressed


# How many requests of one event loop may hold a unit of work at once (decision 206). A
# route's unit of work keeps its connection between its thread-pool hops (a sync handler,
# then FastAPI's validation of its answer, then the commit); without a bound, a burst of
# requests let the ones waiting for their next hop hold every pooled connection while the
# worker threads waited for one. Half the worker threads: the holders keep at most that many
# connections between hops, and the pool (db.py: 2 x THREADPOOL_LIMIT) still has a
# connection and a side transaction's for every worker thread.
REQUEST_SLOTS = THREADPOOL_LIMIT // 2
_slots: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = (
    weakref.WeakKeyDictionary()
)


def request_slots() -> asyncio.Semaphore:
    """This event loop's slots (a test client may run the app on several loops)."""
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = asyncio.Semaphore(REQUEST_SLOTS)
    return slots


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work, in one of the loop's request slots (above). Opening a
    session does no I/O, so it opens here, on the event loop; the commit (or the rollback and
    its failure callbacks) runs in the thread pool, shielded from cancellation so that a
    connection is always given back. A plain ``def`` generator cost two thread-pool hops
    (enter and exit), this one costs one."""
    async with request_slots():
        uow = unit_of_work(request.app.state.session_factory)
        session = uow.__enter__()
        try:
            yield session
        except BaseException as exc:
            if not await close_unit_of_work(uow, exc):
                raise
        else:
            await close_unit_of_work(uow, None)


# scope="function": commit (or rollback) happens when the handler returns, before the
# response is sent, so a client never sees a success that is later rolled back.
DbSession = Annotated[Session, Depends(get_session, scope="function")]


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_blobs(request: Request) -> EncryptedBlobs:
    blobs: EncryptedBlobs = request.app.state.blobs
    return blobs


async def get_hub(request: Request) -> EventHub:
    hub: EventHub = request.app.state.hub
    return hub


# Dependencies that only read the app's state or the request are ``async``: FastAPI runs a
# plain ``def`` dependency in the thread pool, a hop per dependency per request.
AppSettings = Annotated[Settings, Depends(get_settings)]
Blobs = Annotated[EncryptedBlobs, Depends(get_blobs)]
Hub = Annotated[EventHub, Depends(get_hub)]


@lru_cache(maxsize=16)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def resolve_client_ip(
    peer: str | None, forwarded_for: list[str], trusted_proxies: Sequence[str]
) -> str | None:
    """The client's address: the direct peer, unless the peer is a trusted reverse proxy.

    Behind trusted proxies, ``X-Forwarded-For`` is read from the right (each proxy appends
    the address it received from) and the first address that is not a trusted proxy is the
    client: what lies further left was written by the client and proves nothing.
    """
    networks = _networks(tuple(trusted_proxies))

    def trusted(addr: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        return addr is not None and any(addr in net for net in networks)

    if peer is None or not networks or not trusted(_address(peer)):
        return peer
    hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()]
    client = peer
    for hop in reversed(hops):
        addr = _address(hop)
        if addr is None:  # garbage in the chain: keep the last address we could vouch for
            break
        client = str(addr)
        if not trusted(addr):
            break
    return client


def client_ip(request: Request) -> str | None:
    """The caller's address for throttling and the audit (``SISRA_TRUSTED_PROXIES``)."""
    settings: Settings = request.app.state.settings
    peer = request.client.host if request.client else None
    return resolve_client_ip(
        peer, request.headers.getlist("x-forwarded-for"), settings.trusted_proxies
    )


def anonymous_context(request: Request) -> RequestContext:
    return RequestContext(None, client_ip(request), request.headers.get("user-agent"))


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated(
            "Connexion requise : jeton d'accès absent.", code="not_authenticated"
        )
    return token.strip()


async def current_context(request: Request) -> RequestContext:
    """The caller, from its bearer token: remembered by this process for a few seconds and
    dropped at the first revocation (auth/cache.py); no thread-pool hop when remembered."""
    cache: AuthCache = request.app.state.auth_cache
    actor = await cache.actor(bearer_token(request))
    return anonymous_context(request).with_actor(actor)


async def _anonymous(request: Request) -> RequestContext:
    return anonymous_context(request)


Context = Annotated[RequestContext, Depends(current_context)]
Anonymous = Annotated[RequestContext, Depends(_anonymous)]


async def professional_context(ctx: Context) -> RequestContext:
    if ctx.actor is None or ctx.actor.is_admin:
        raise Forbidden("Réservé aux professionnels de santé.", code="professionals_only")
    return ctx


async def admin_context(ctx: Context) -> RequestContext:
    if ctx.actor is None or not ctx.actor.is_admin:
        raise Forbidden("Réservé aux administrateurs.", code="admin_only")
    return ctx


async def authenticated(request: Request, handler: Callable[[Session, RequestContext], T]) -> T:
    """For the lanes below the framework (the inbox's, decision 195; the event stream's,
    decision 206): authenticate the professional as :func:`current_context` and
    :func:`professional_context` do, then run ``handler`` and the commit in one thread-pool
    hop, as :func:`get_session` would in two. A refusal is raised (:class:`SisraError`)."""
    # the token first, on no connection of this request's (auth/cache.py)
    ctx = await professional_context(await current_context(request))
    uow = unit_of_work(request.app.state.session_factory)
    session = uow.__enter__()

    def work() -> T:
        try:
            result = handler(session, ctx)
        except BaseException as exc:
            uow.__exit__(type(exc), exc, exc.__traceback__)
            raise
        uow.__exit__(None, None, None)  # committed before the first byte is sent
        return result

    # not cancellable: once started, the handler and its commit run to their end
    return await anyio.to_thread.run_sync(work)


ProContext = Annotated[RequestContext, Depends(professional_context)]
AdminContext = Annotated[RequestContext, Depends(admin_context)]

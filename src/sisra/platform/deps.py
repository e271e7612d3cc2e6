"""FastAPI dependencies: the request's unit of work, its context, and the caller."""

import ipaddress
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from sisra.platform.auth import service as auth
from sisra.platform.context import Actor, RequestContext
from sisra.platform.db import unit_of_work
from sisra.platform.errors import Forbidden, NotAuthenticated
from sisra.platform.events.hub import EventHub
from sisra.platform.storage import EncryptedBlobs
from sisra.settings import Settings


def get_session(request: Request) -> Iterator[Session]:
    with unit_of_work(request.app.state.session_factory) as session:
        yield session


# scope="function": commit (or rollback) happens when the handler returns, before the
# response is sent, so a client never sees a success that is later rolled back.
DbSession = Annotated[Session, Depends(get_session, scope="function")]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_blobs(request: Request) -> EncryptedBlobs:
    blobs: EncryptedBlobs = request.app.state.blobs
    return blobs


def get_hub(request: Request) -> EventHub:
    hub: EventHub = request.app.state.hub
    return hub


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


def current_context(request: Request, session: DbSession) -> RequestContext:
    pro, device = auth.authenticate(session, bearer_token(request))
    return anonymous_context(request).with_actor(Actor.of(pro, device.id))


Context = Annotated[RequestContext, Depends(current_context)]
Anonymous = Annotated[RequestContext, Depends(anonymous_context)]


def professional_context(ctx: Context) -> RequestContext:
    if ctx.actor is None or ctx.actor.is_admin:
        raise Forbidden("Réservé aux professionnels de santé.", code="professionals_only")
    return ctx


def admin_context(ctx: Context) -> RequestContext:
    if ctx.actor is None or not ctx.actor.is_admin:
        raise Forbidden("Réservé aux administrateurs.", code="admin_only")
    return ctx


ProContext = Annotated[RequestContext, Depends(professional_context)]
AdminContext = Annotated[RequestContext, Depends(admin_context)]

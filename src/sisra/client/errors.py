"""The one translation of the platform's HTTP failures into what MonSisra tells its user.

Every call to the platform — JSON requests, streamed downloads, the live event stream — goes
through :class:`sisra.client.api.PlatformClient`, which turns a failure into an
:class:`ApiError` here: :func:`from_transport` for a request that got no answer,
:func:`from_response` for an answer ≥ 400. The codes a user must tell apart:

- ``network_unreachable``: this computer cannot reach the network at all (the name does not
  resolve, no route): the practice's connection is at fault;
- ``platform_unavailable``: the network answers but the platform does not (connection
  refused, timeout, a proxy's 502/503/504, a 5xx without the platform's own error body);
- ``account_disabled``, ``session_expired`` (every refused or expired token, device revoked)
  and ``strong_auth_required``: a person must act.

:data:`ADVICE` says what to do for each, on each surface (desktop window, service journal,
one-shot command): the table ``docs/monsisra-service.md`` shows.
"""

from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import httpx

NETWORK = "network_unreachable"
PLATFORM = "platform_unavailable"
DISABLED = "account_disabled"
EXPIRED = "session_expired"
STRONG_AUTH = "strong_auth_required"
UNREACHABLE = frozenset({NETWORK, PLATFORM})
# the platform's codes for a token it no longer accepts, all told « session expirée »
SESSION_ENDED = frozenset(
    {
        "invalid_refresh_token",
        "refresh_token_reused",
        "device_revoked",
        "invalid_token",
        "token_expired",
        "not_authenticated",
    }
)
# a refresh cannot cure these: the access token is refused for a reason of the account
NO_REFRESH = frozenset({DISABLED, STRONG_AUTH})
# errors of the network (errno) that mean « no way out of this computer », not « nobody there »
_NO_ROUTE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN})
# a proxy in front of a stopped platform answers these itself
_PROXY_DOWN = frozenset({502, 503, 504})

Surface = Literal["desktop", "service", "command"]


class ApiError(Exception):
    def __init__(
        self, code: str, message: str, status: int = 0, body: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status
        self.body = body or {}

    @property
    def unreachable(self) -> bool:
        """No answer from the platform (network or platform down): try again later."""
        return self.code in UNREACHABLE

    @property
    def state(self) -> str:
        """The code a state is reported with: the platform's several codes for an expired
        or refused session are one state (the user does the same thing for each)."""
        return EXPIRED if self.code in SESSION_ENDED else self.code


class ExportError(Exception):
    """An export that did not happen, raised by the export profiles and by any exporter
    the sync engine is given; ``code`` is stable, ``message`` is for the user."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


def _host(base_url: str) -> str:
    return urlsplit(base_url).netloc or base_url


def network_message(base_url: str) -> str:
    return (
        f"Pas de connexion réseau vers la plateforme Sisra ({_host(base_url)}) : ce poste "
        "ne la trouve pas sur le réseau."
    )


def platform_message(base_url: str) -> str:
    return f"La plateforme ne répond pas ({_host(base_url)})."


def _no_network(exc: BaseException) -> bool:
    """Whether the cause is this computer's network: a name that does not resolve, no
    route. A refused connection or a timeout means the network works but the platform
    does not answer."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, socket.gaierror):
            return True
        if isinstance(cause, OSError) and cause.errno in _NO_ROUTE:
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def from_transport(base_url: str, exc: httpx.TransportError) -> ApiError:
    """A request that got no answer."""
    if _no_network(exc):
        return ApiError(NETWORK, network_message(base_url))
    return ApiError(PLATFORM, platform_message(base_url))


def from_response(base_url: str, response: httpx.Response) -> ApiError:
    """An answer ≥ 400, read already. The platform's own errors carry ``code`` and
    ``message``; a proxy's page for a stopped platform does not."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    status = response.status_code
    if status >= 500 and (status in _PROXY_DOWN or "code" not in body):
        return ApiError(PLATFORM, platform_message(base_url), status, body)
    return ApiError(
        str(body.get("code", f"http_{status}")),
        str(body.get("message", "Le serveur a refusé la demande.")),
        status,
        body,
    )


# What happened is the error's message; what to do depends on where it is read.
_REAUTH = "Lancez «\u00a0sisra client reauth\u00a0» : la synchronisation reprendra d'elle-même."
_SUPPORT = "si cela dure, contactez le support de la plateforme."
ADVICE: dict[str, dict[Surface, str]] = {
    NETWORK: {
        "desktop": "Vérifiez la connexion Internet du cabinet (câble, Wi-Fi, box) ; MonSisra "
        "réessaie automatiquement.",
        "service": "Vérifiez la connexion Internet du cabinet ; nouvel essai automatique.",
        "command": "Vérifiez la connexion Internet du cabinet et l'adresse de la plateforme "
        "(--server ou SISRA_SERVER_URL), puis relancez la commande.",
    },
    PLATFORM: {
        "desktop": f"MonSisra réessaie automatiquement ; {_SUPPORT}",
        "service": f"Nouvel essai automatique ; {_SUPPORT}",
        "command": "Vérifiez son adresse (--server ou SISRA_SERVER_URL) et relancez la "
        f"commande dans quelques minutes ; {_SUPPORT}",
    },
    DISABLED: {
        "desktop": "Voyez avec l'administrateur de la plateforme ; une fois le compte "
        "réactivé, cliquez sur «\u00a0M'authentifier\u00a0».",
        "service": "Voyez avec l'administrateur de la plateforme ; une fois le compte "
        "réactivé, lancez «\u00a0sisra client reauth\u00a0». Nouvel essai toutes les 10 minutes.",
        "command": "Voyez avec l'administrateur de la plateforme ; une fois le compte "
        "réactivé, lancez «\u00a0sisra client reauth\u00a0».",
    },
    EXPIRED: {
        "desktop": "Cliquez sur «\u00a0M'authentifier\u00a0» : la réception reprendra.",
        "service": _REAUTH,
        "command": "Lancez «\u00a0sisra client reauth\u00a0».",
    },
    STRONG_AUTH: {
        "desktop": "Cliquez sur «\u00a0M'authentifier\u00a0» (carte CPS, e-CPS ou code reçu "
        "par e-mail).",
        "service": _REAUTH,
        "command": "Lancez «\u00a0sisra client reauth\u00a0».",
    },
}

# the message shown for a state, whatever the platform's wording of the same cause
_MESSAGES = {
    DISABLED: "Votre compte Sisra est désactivé : la réception des documents est arrêtée.",
    EXPIRED: "Votre session MonSisra a expiré ou a été fermée : la réception des documents "
    "est en pause.",
}


def describe(exc: ApiError) -> tuple[str, str]:
    """The state and the message (what happened) for ``exc``."""
    state = exc.state
    return state, _MESSAGES.get(state, exc.message)


def advice(state: str, surface: Surface) -> str:
    """What to do about ``state`` on ``surface`` ('' when nothing)."""
    if state == "offline":  # the engine's state for « no network »
        state = NETWORK
    text = ADVICE.get(state, {}).get(surface, "")
    # the journal and the command line are not word-wrapped, and scripts search them with
    # plain spaces
    return text if surface == "desktop" else text.replace("\u00a0", " ")


def explain(exc: ApiError, surface: Surface) -> str:
    """What happened and what to do, in one text."""
    state, message = describe(exc)
    todo = advice(state, surface)
    return f"{message} {todo}" if todo else message

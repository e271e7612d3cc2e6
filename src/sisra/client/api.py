"""HTTP access to the platform's API v1, with the platform's errors as exceptions.

Every failure becomes an :class:`ApiError` carrying the platform's stable ``code`` and its
French ``message``; a network failure becomes ``server_unreachable``, so callers show one kind
of error to the user.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from sisra import __version__

if TYPE_CHECKING:
    import httpx

USER_AGENT = f"MonSisra/{__version__}"
# The platform MonSisra and ``sisra client`` talk to: one setting for both, the demo's by default
# (``sisra demo --port`` prints the commands with the address it serves).
SERVER_ENV = "SISRA_SERVER_URL"
DEMO_SERVER = "http://127.0.0.1:8000"


def default_server() -> str:
    """The platform address offered when none is given: ``SISRA_SERVER_URL``, else the one the
    package was built for (:mod:`sisra.client.region`), else the demo's."""
    from sisra.client.region import read_region

    return os.environ.get(SERVER_ENV, "").strip() or read_region().server_url or DEMO_SERVER


class ApiError(Exception):
    def __init__(
        self, code: str, message: str, status: int = 0, body: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status
        self.body = body or {}


class PlatformClient:
    """A thin httpx wrapper bound to one platform address."""

    def __init__(
        self, base_url: str, *, timeout: float = 30.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        import httpx  # here, not at module level: the desktop's first window shows ~0.4 s sooner

        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        import httpx

        try:
            response = self._http.request(method, path, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise ApiError(
                "server_unreachable",
                # no « MonSisra réessaiera » here: only the engines retry, and they say so
                f"Le serveur Sisra ({self.base_url}) ne répond pas. Vérifiez votre connexion "
                "à Internet.",
            ) from exc
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            raise ApiError(
                str(body.get("code", f"http_{response.status_code}")),
                str(body.get("message", "Le serveur a refusé la demande.")),
                response.status_code,
                body,
            )
        return response

    def get_json(self, path: str, *, token: str | None = None, **kwargs: Any) -> Any:
        return self.request("GET", path, token=token, **kwargs).json()

    def post_json(
        self, path: str, body: dict[str, Any] | None = None, *, token: str | None = None
    ) -> Any:
        return self.request("POST", path, token=token, json=body or {}).json()

"""HTTP access to the platform's API v1, with the platform's errors as exceptions.

Every failure — of a JSON request or of a streamed download — becomes an :class:`ApiError`
carrying a stable ``code`` and a French ``message``, translated in one place
(:mod:`sisra.client.errors`: no network, platform down, the platform's own refusals).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sisra import __version__
from sisra.client import errors
from sisra.client.errors import ApiError

__all__ = ["DEMO_SERVER", "SERVER_ENV", "ApiError", "PlatformClient", "default_server"]

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
        import httpx

        headers = _headers(kwargs.pop("headers", None), token)
        try:
            response = self._http.request(method, path, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise errors.from_transport(self.base_url, exc) from exc
        if response.status_code >= 400:
            raise errors.from_response(self.base_url, response)
        return response

    @contextmanager
    def stream(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> Iterator[httpx.Response]:
        """The answer, its body not read yet (a download, the live event stream). A failure
        to connect, a refusal, and a connection lost while the body is read all raise
        :class:`ApiError`, as :meth:`request` does."""
        import httpx

        headers = _headers(kwargs.pop("headers", None), token)
        try:
            with self._http.stream(method, path, headers=headers, **kwargs) as response:
                if response.status_code >= 400:
                    response.read()
                    raise errors.from_response(self.base_url, response)
                yield response
        except httpx.TransportError as exc:
            raise errors.from_transport(self.base_url, exc) from exc

    def get_json(self, path: str, *, token: str | None = None, **kwargs: Any) -> Any:
        return self.request("GET", path, token=token, **kwargs).json()

    def post_json(
        self, path: str, body: dict[str, Any] | None = None, *, token: str | None = None
    ) -> Any:
        return self.request("POST", path, token=token, json=body or {}).json()


def _headers(given: dict[str, str] | None, token: str | None) -> dict[str, str]:
    headers = dict(given or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers

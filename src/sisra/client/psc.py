"""« Je me connecte avec e-CPS (Pro Santé Connect) »: MonSisra's side of the login.

The native-app pattern of RFC 8252: MonSisra never sees the professional's credentials. It
listens on a loopback address (``http://127.0.0.1:<random port>/psc``), asks the platform to
start a login (:func:`start`), and opens the returned address in the **system browser**. The
professional logs in on Pro Santé Connect (e-CPS app or card); the platform, the client
registered with Pro Santé Connect, checks the identity and sends the browser back to the
loopback address with a one-time code and MonSisra's ``state``. MonSisra then redeems the code
with its own PKCE verifier (RFC 7636, S256), which never left this process: a code seen by
anybody else is worthless. The result is a device and its tokens, as with the card or the
e-mail code; given ``device_id``, the same device is renewed (periodic strong
re-authentication).

The browser opener is injectable (``open_browser``): the desktop's default browser by default,
a test's Chromium in the tests.
"""

from __future__ import annotations

import base64
import hashlib
import html
import queue
import secrets
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

from sisra.client.api import ApiError, PlatformClient
from sisra.client.auth import Credentials, default_device_name

BrowserOpener = Callable[[str], None]
CALLBACK_PATH = "/psc"
DEFAULT_TIMEOUT_S = 300.0


class PscCancelled(ApiError):
    """The user closed the window (or another login replaced this one)."""


def _page(title: str, message: str) -> bytes:
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><main><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(message)}</p></main></body></html>"
    ).encode()


def default_opener(url: str) -> None:
    """The desktop's default browser (xdg-open, open, os.startfile)."""
    from sisra.client.opener import OpenFailed, open_url

    try:
        open_url(url)
    except OpenFailed as exc:
        raise ApiError("browser_unavailable", exc.message) from exc


class _Listener:
    """The loopback address the browser comes back to; keeps the first answer with our state."""

    def __init__(self, state: str) -> None:
        self.state = state
        self.answers: queue.Queue[dict[str, str]] = queue.Queue()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path != CALLBACK_PATH or params.get("state") != listener.state:
                    # not the answer to our login (another tab, a stray request): ignored
                    self._reply(404, "Page inconnue", "Cette adresse n'attend rien.")
                    return
                if "code" in params:
                    self._reply(
                        200,
                        "Connexion confirmée",
                        "Pro Santé Connect vous a identifié(e). Revenez à MonSisra, qui termine "
                        "la connexion ; vous pouvez fermer cet onglet.",
                    )
                else:
                    self._reply(
                        200,
                        "Connexion refusée",
                        params.get("error_description") or "La connexion n'a pas abouti.",
                    )
                listener.answers.put(params)

            def _reply(self, status: int, title: str, message: str) -> None:
                body = _page(title, message)
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Referrer-Policy", "no-referrer")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:  # the code never goes to a log
                return

        # port 0: the system picks a free port (RFC 8252 section 7.3)
        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.redirect_uri = f"http://127.0.0.1:{self.server.server_port}{CALLBACK_PATH}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class PscLogin:
    """One Pro Santé Connect login from MonSisra; :meth:`run` blocks until it ends, and
    :meth:`cancel` (from another thread) ends it."""

    def __init__(
        self,
        client: PlatformClient,
        open_browser: BrowserOpener | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.client = client
        self.open_browser = open_browser or default_opener
        self.timeout_s = timeout_s
        self._cancelled = threading.Event()
        self._listener: _Listener | None = None

    def cancel(self) -> None:
        self._cancelled.set()
        if self._listener is not None:
            self._listener.answers.put({"cancelled": "1"})

    def run(self, device_name: str | None = None, device_id: str | None = None) -> Credentials:
        verifier = secrets.token_urlsafe(64)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        state = secrets.token_urlsafe(32)
        listener = self._listener = _Listener(state)
        try:
            started = self.client.post_json(
                "/api/v1/auth/psc/start",
                {
                    "redirect_uri": listener.redirect_uri,
                    "code_challenge": challenge,
                    "code_challenge_method": "S256",
                    "state": state,
                },
            )
            if self._cancelled.is_set():
                raise self._cancelled_error()
            self.open_browser(str(started["authorization_url"]))
            try:
                answer = listener.answers.get(timeout=self.timeout_s)
            except queue.Empty:
                raise ApiError(
                    "psc_timeout",
                    "La connexion avec Pro Santé Connect n'a pas été terminée à temps dans le "
                    "navigateur. Recommencez.",
                ) from None
        finally:
            listener.close()
            self._listener = None
        if "cancelled" in answer:
            raise self._cancelled_error()
        if "code" not in answer:
            raise ApiError(
                "psc_refused",
                answer.get("error_description")
                or "La connexion avec Pro Santé Connect n'a pas abouti. Recommencez.",
            )
        body = {
            "flow_id": started["flow_id"],
            "code": answer["code"],
            "code_verifier": verifier,
            "device_name": device_name or default_device_name(),
            "device_id": device_id,
        }
        return Credentials.from_tokens(
            self.client.base_url, self.client.post_json("/api/v1/auth/psc/token", body)
        )

    @staticmethod
    def _cancelled_error() -> PscCancelled:
        return PscCancelled("psc_cancelled", "Connexion Pro Santé Connect annulée.")


def enrol_with_psc(
    client: PlatformClient,
    open_browser: BrowserOpener | None = None,
    device_name: str | None = None,
    device_id: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Credentials:
    """This computer enrolled (or renewed, with ``device_id``) through Pro Santé Connect."""
    return PscLogin(client, open_browser, timeout_s).run(device_name, device_id)

"""MonSisra tells the true cause of a failure: no network at all, the platform down (refused,
a proxy's 502), the account disabled, the session expired — in the engine's state, on the
command line and in the service's status."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from sisra.client.api import ApiError, PlatformClient
from sisra.client.auth import Credentials
from sisra.client.state import LocalState
from sisra.client.sync import CredentialTokens, SyncEngine
from sisra.platform.context import SYSTEM
from sisra.platform.directory import service as directory
from sisra.platform.models import AccessToken, Professional, RefreshToken, utcnow
from support.client_cli import run
from support.daemon import Lines, enrol, start_daemon
from support.personas import otp_login
from support.servers import RunningServer
from support.sync import engine_for, folder_exporter
from support.waiting import wait_until

NO_NETWORK = "Pas de connexion réseau vers la plateforme Sisra"
DOWN = "La plateforme ne répond pas"


def _states(engine: SyncEngine, until: str | None = None) -> list[tuple[str, str]]:
    """The states the engine reports until it stops by itself (a person must act) or
    reports ``until``."""
    stop = threading.Event()
    seen: list[tuple[str, str]] = []

    def status(code: str, message: str) -> None:
        seen.append((code, message))
        if code == until:
            stop.set()

    engine.run(stop, status)
    return seen


def _engine_at(url: str, creds: Credentials, tmp_path: Path) -> SyncEngine:
    client = PlatformClient(url, timeout=5)
    moved = Credentials(
        url,
        creds.professional_id,
        creds.device_id,
        creds.access_token,
        creds.refresh_token,
        creds.expires_at,
    )
    folder = tmp_path / "export"
    folder.mkdir(parents=True, exist_ok=True)
    return SyncEngine(
        client,
        CredentialTokens(client, moved),
        LocalState(tmp_path / "state.db"),
        folder_exporter(folder),
        tmp_path / "work",
    )


def _disable(db: Any, login: str) -> None:
    with db() as s:
        pro = s.scalars(select(Professional).where(Professional.login == login)).one()
        directory.set_active(s, SYSTEM, pro, False)


@pytest.fixture
def creds(live_server, make_pro, smtp_sink) -> Credentials:
    make_pro("destinataire", log_in=False)
    tokens = otp_login(
        PlatformClient(live_server.url)._http,
        smtp_sink,
        "destinataire",
        "destinataire@demo.sisra.test",
    )
    return Credentials.from_tokens(live_server.url, tokens)


def test_an_unresolvable_address_is_the_network_not_the_platform(tmp_path):
    with PlatformClient("http://plateforme.invalid") as client, pytest.raises(ApiError) as caught:
        client.get_json("/api/v1/health")
    assert caught.value.code == "network_unreachable"
    assert caught.value.message.startswith(NO_NETWORK)
    env = {**os.environ, "MONSISRA_HOME": str(tmp_path / "home")}
    result = run(
        env,
        *("add-user", "--identifier", "x", "--server", "http://plateforme.invalid"),
        stdin="secret\n",
    )
    assert result.returncode == 1
    assert NO_NETWORK in result.stderr and "connexion Internet du cabinet" in result.stderr
    assert DOWN not in result.stderr


def test_the_engine_tells_no_network_from_a_stopped_platform(
    settings, smtp_sink, make_pro, tmp_path
):
    server = RunningServer(settings)
    make_pro("destinataire", log_in=False)
    with PlatformClient(server.url) as c:
        tokens = otp_login(c._http, smtp_sink, "destinataire", "destinataire@demo.sisra.test")
    creds = Credentials.from_tokens(server.url, tokens)
    server.stop()  # the address still routes: the platform refuses the connection
    down = _states(_engine_at(server.url, creds, tmp_path / "down"), until="platform_unavailable")
    assert down[-1] == ("platform_unavailable", f"{DOWN} (127.0.0.1:{server.port}).")
    lost = _states(_engine_at("http://plateforme.invalid", creds, tmp_path / "lost"), "offline")
    assert lost[-1][0] == "offline" and lost[-1][1].startswith(NO_NETWORK)


class _BadGateway(BaseHTTPRequestHandler):
    """A reverse proxy whose platform behind it is stopped."""

    def do_GET(self) -> None:
        body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        self.send_response(502)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *_args: object) -> None:
        pass


def test_a_proxy_answering_502_is_the_platform_down(creds, tmp_path):
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _BadGateway)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{proxy.server_address[1]}"
        seen = _states(_engine_at(url, creds, tmp_path), until="platform_unavailable")
        assert seen[-1][0] == "platform_unavailable" and seen[-1][1].startswith(DOWN)
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_a_disabled_account_is_told_as_such_not_as_an_expired_session(
    live_server, creds, db, tmp_path
):
    _disable(db, "destinataire")
    folder = tmp_path / "export"
    folder.mkdir()
    seen = _states(engine_for(live_server, creds, tmp_path, folder))
    assert seen[-1][0] == "account_disabled" and "désactivé" in seen[-1][1]
    # and once its access token has expired too: the refresh says it
    with db() as s:
        s.execute(update(AccessToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    seen = _states(engine_for(live_server, creds, tmp_path, folder))
    assert seen[-1][0] == "account_disabled" and "désactivé" in seen[-1][1]


def test_an_expired_session_is_told_as_such(live_server, creds, db, tmp_path):
    with db() as s:
        s.execute(update(AccessToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        s.execute(update(RefreshToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    folder = tmp_path / "export"
    folder.mkdir()
    seen = _states(engine_for(live_server, creds, tmp_path, folder))
    assert seen[-1] == (
        "session_expired",
        "Votre session MonSisra a expiré ou a été fermée : la réception des documents est "
        "en pause.",
    )


def test_the_service_status_says_the_account_is_disabled_and_what_to_do(
    platform_process, make_pro, smtp_sink, db, tmp_path
):
    make_pro("helene.roux", first_name="Hélène", last_name="Roux", log_in=False)
    env = {
        **os.environ,
        "MONSISRA_HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PYTHONUNBUFFERED": "1",
    }
    enrol(platform_process.url, env, smtp_sink, "helene.roux", tmp_path / "Helene")
    daemon = start_daemon(env, tmp_path / "cles", ["helene.roux"])
    try:
        lines = Lines(daemon)
        lines.wait_for("Connecté")
        _disable(db, "helene.roux")
        said = lines.wait_for("désactivé")
        assert "administrateur de la plateforme" in said and "sisra client reauth" in said
        assert "expiré" not in said

        seen: list[str] = []

        def status_says_disabled() -> bool:  # one `sisra client status` per look
            seen.append(run(env, "status").stdout)
            return "désactivé" in seen[-1]

        wait_until(status_says_disabled)
        out = seen[-1]
        assert "Hélène Roux : Votre compte Sisra est désactivé" in out, out
        assert "Voyez avec l'administrateur de la plateforme" in out, out
    finally:
        daemon.terminate()
        daemon.wait(30)

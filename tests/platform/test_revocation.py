"""Logging out, revoking a device or disabling a professional ends everything tied to it:
access tokens, browser sessions opened from its one-time links, unused links, and open
event streams (closed by the server, not at token expiry), on a live uvicorn server."""

import threading
import uuid

import httpx
import pytest
from sqlalchemy import select

from sisra.platform.context import SYSTEM
from sisra.platform.directory import service as directory
from sisra.platform.models import Professional, Role, WebSession
from support.personas import otp_login


class Stream:
    """An open ``GET /api/v1/events`` read in a thread; ``ended`` is set when the server
    closes it."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        self.opened, self.ended = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._read, args=(base, headers), daemon=True)
        self.thread.start()
        assert self.opened.wait(10), "stream did not open"

    def _read(self, base: str, headers: dict[str, str]) -> None:
        timeout = httpx.Timeout(30, read=120)
        try:
            with (
                httpx.Client(timeout=timeout) as client,
                client.stream("GET", f"{base}/api/v1/events", headers=headers) as resp,
            ):
                assert resp.status_code == 200
                for line in resp.iter_lines():
                    if line.startswith(": connected"):
                        self.opened.set()
        except httpx.HTTPError:
            pass
        self.ended.set()


def _path(url: str) -> str:
    return "/web/ticket/" + url.split("/web/ticket/", 1)[1]


@pytest.mark.parametrize("how", ["logout", "revoke", "admin_revoke", "disable"])
def test_ending_a_device_ends_its_tokens_sessions_links_and_streams(
    how, live_server, make_pro, smtp_sink, db
):
    make_pro("fin.de.session", log_in=False)
    admin = make_pro("admin.fin", role=Role.administrator)
    base = live_server.url
    with httpx.Client(base_url=base, timeout=30) as api:
        tokens = otp_login(api, smtp_sink, "fin.de.session", "fin.de.session@demo.sisra.test")
        other = otp_login(api, smtp_sink, "fin.de.session", "fin.de.session@demo.sisra.test")
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    used, unused = (
        httpx.post(
            f"{base}/api/v1/auth/web-ticket", json={"target": "/accueil"}, headers=auth
        ).json()["url"]
        for _ in range(2)
    )
    opened = httpx.get(base + _path(used), follow_redirects=False)
    assert opened.status_code == 303
    cookie = {"sisra_session": opened.cookies["sisra_session"]}
    assert httpx.get(f"{base}/accueil", cookies=cookie).status_code == 200
    with db() as s:
        assert s.scalars(select(WebSession.device_id)).one() == uuid.UUID(tokens["device_id"])
    stream = Stream(base, auth)
    assert not stream.ended.wait(1.5)  # it stays open while nothing happens

    if how == "logout":
        assert httpx.post(f"{base}/api/v1/auth/logout", headers=auth).status_code == 204
    elif how == "revoke":  # from the professional's other computer
        r = httpx.delete(
            f"{base}/api/v1/auth/devices/{tokens['device_id']}",
            headers={"Authorization": f"Bearer {other['access_token']}"},
        )
        assert r.status_code == 204
    elif how == "admin_revoke":
        r = httpx.delete(f"{base}/api/v1/auth/devices/{tokens['device_id']}", headers=admin.headers)
        assert r.status_code == 204
    else:
        with db() as s:
            pro = s.scalar(select(Professional).where(Professional.login == "fin.de.session"))
            directory.set_active(s, SYSTEM, pro, False)

    assert stream.ended.wait(10), "the event stream stayed open after the revocation"
    me = httpx.get(f"{base}/api/v1/me", headers=auth)
    assert me.status_code == 401
    assert me.json()["code"] in ("invalid_token", "account_disabled", "device_revoked")
    page = httpx.get(f"{base}/accueil", cookies=cookie, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/connexion")
    link = httpx.get(base + _path(unused), follow_redirects=False)
    assert link.status_code == 401
    refreshed = httpx.post(
        f"{base}/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401
    other_me = httpx.get(
        f"{base}/api/v1/me", headers={"Authorization": f"Bearer {other['access_token']}"}
    )
    # the professional's other computer survives a device revocation, not a disabled account
    assert other_me.status_code == (401 if how == "disable" else 200)


def test_a_stream_of_another_device_stays_open(live_server, make_pro, smtp_sink):
    make_pro("deux.postes", log_in=False)
    base = live_server.url
    with httpx.Client(base_url=base, timeout=30) as api:
        first = otp_login(api, smtp_sink, "deux.postes", "deux.postes@demo.sisra.test")
        second = otp_login(api, smtp_sink, "deux.postes", "deux.postes@demo.sisra.test")
    kept = Stream(base, {"Authorization": f"Bearer {second['access_token']}"})
    ended = Stream(base, {"Authorization": f"Bearer {first['access_token']}"})
    headers = {"Authorization": f"Bearer {first['access_token']}"}
    assert httpx.post(f"{base}/api/v1/auth/logout", headers=headers).status_code == 204
    assert ended.ended.wait(10)
    assert not kept.ended.wait(2)  # a revocation elsewhere is checked, and spares it

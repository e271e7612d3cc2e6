"""The authentication cache (decision 188): a remembered token costs no query, and a
revocation still applies at once in this process and within a second in any other."""

import time
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select, update

from sisra.platform.app import create_app
from sisra.platform.auth.tokens import hash_token
from sisra.platform.models import AccessToken, Counter, Device, utcnow
from sisra.platform.settings import Settings


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    return seen


def test_a_remembered_token_is_not_looked_up_again(app_client, make_pro):
    pro = make_pro("memoire.jeton")
    seen = _statements(app_client.app.state.engine)
    assert app_client.get("/api/v1/inbox", headers=pro.headers).status_code == 200
    first = [s for s in seen if "access_tokens" in s]
    seen.clear()
    assert app_client.get("/api/v1/inbox", headers=pro.headers).status_code == 200
    assert [s for s in seen if "access_tokens" in s] == []
    assert len(first) == 1  # the first request looked it up


def test_a_logout_is_seen_at_once_by_the_same_process(app_client, make_pro):
    pro = make_pro("deconnexion.immediate")
    assert app_client.get("/api/v1/inbox", headers=pro.headers).status_code == 200
    assert app_client.post("/api/v1/auth/logout", headers=pro.headers).status_code == 204
    r = app_client.get("/api/v1/inbox", headers=pro.headers)
    assert r.status_code == 401 and r.json()["code"] == "invalid_token"


def test_a_revocation_by_another_process_applies_within_a_second(
    settings: Settings, engine: Engine, make_pro
):
    """Another process's revocation reaches this one only through the database: the device
    row and the revocation generation, written here with plain SQL, as that process's commit
    would look from this one."""
    pro = make_pro("autre.processus")
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            assert client.get("/api/v1/inbox", headers=pro.headers).status_code == 200
            token = pro.headers["Authorization"].removeprefix("Bearer ")
            with engine.begin() as conn:
                device = conn.execute(
                    select(AccessToken.device_id).where(AccessToken.token_hash == hash_token(token))
                ).scalar_one()
                conn.execute(update(Device).where(Device.id == device).values(revoked_at=utcnow()))
                conn.execute(
                    update(Counter)
                    .where(Counter.name == "revocations")
                    .values(value=Counter.value + 1)
                )
            revoked_at = time.monotonic()
            # the revocation check interval (1 s) plus a margin for a loaded machine
            deadline = revoked_at + settings.events_revocation_check_s + 1.5
            status = 200
            while time.monotonic() < deadline:
                r = client.get("/api/v1/inbox", headers=pro.headers)
                status = r.status_code
                if status == 401:
                    break
                time.sleep(0.05)
            assert status == 401, "a revoked device was still served"
            assert r.json()["code"] == "device_revoked"
            assert time.monotonic() - revoked_at <= settings.events_revocation_check_s + 1.5
    finally:
        app.state.engine.dispose()


def test_without_the_cache_every_request_looks_the_token_up(settings: Settings, make_pro):
    pro = make_pro("sans.cache")
    app = create_app(settings.model_copy(update={"auth_cache_s": 0}))
    try:
        with TestClient(app) as client:
            seen = _statements(app.state.engine)
            for _ in range(2):
                assert client.get("/api/v1/inbox", headers=pro.headers).status_code == 200
            assert len([s for s in seen if "access_tokens" in s]) == 2
    finally:
        app.state.engine.dispose()


def test_an_unknown_token_is_refused_every_time(app_client):
    headers = {"Authorization": f"Bearer {uuid.uuid4().hex}"}
    for _ in range(2):
        r = app_client.get("/api/v1/inbox", headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "invalid_token"

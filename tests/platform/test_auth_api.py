"""Portal login, token rotation, device revocation and throttling, over the API."""

import uuid
from datetime import timedelta

from sqlalchemy import func, select, update

from sisra.platform.models import AccessToken, AuditEvent, Device, utcnow


def login(client, identifier, password):
    return client.post(
        "/api/v1/auth/login",
        json={"identifier": identifier, "password": password, "device_name": "Poste accueil"},
    )


def test_login_gives_tokens_that_open_the_api(app_client, make_pro, password):
    pro = make_pro("elodie.lefevre", log_in=False)
    r = login(app_client, "Elodie.Lefevre", password)
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert tokens["access_token"].startswith("sat_") and tokens["refresh_token"].startswith("srt_")
    me = app_client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200 and me.json()["id"] == str(pro.id)


def test_tokens_are_stored_hashed(app_client, make_pro, password, db):
    make_pro("hash.check", log_in=False)
    token = login(app_client, "hash.check", password).json()["access_token"]
    with db() as s:
        stored = s.scalars(select(AccessToken.token_hash)).all()
    assert stored and token not in stored and all(len(h) == 64 for h in stored)


def test_wrong_password_is_refused_and_audited(app_client, make_pro, db):
    make_pro("marc.gauthier", log_in=False)
    r = login(app_client, "marc.gauthier", "pas-le-bon-1")
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_credentials"
    unknown = login(app_client, "personne", "pas-le-bon-1")
    assert unknown.status_code == 401 and unknown.json()["code"] == "invalid_credentials"
    with db() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login")).all()
    assert [r.outcome for r in rows] == ["refused", "refused"]
    assert rows[0].details["login"] == "marc.gauthier"
    assert "pas-le-bon" not in str([r.details for r in rows])  # secrets are never logged


def test_brute_force_is_throttled_per_account(app_client, make_pro, password, settings):
    make_pro("cible", log_in=False)
    for _ in range(settings.login_max_failures_per_account):
        assert login(app_client, "cible", "mauvais-mdp-1").status_code == 401
    blocked = login(app_client, "cible", password)  # even the right password waits
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "too_many_attempts"
    assert "minute" in blocked.json()["message"]


def test_brute_force_is_throttled_per_ip(app_client, make_pro, settings):
    settings.login_max_failures_per_ip = 4
    for i in range(4):
        assert login(app_client, f"inconnu{i}", "mauvais-mdp-1").status_code == 401
    r = login(app_client, "encore-un-autre", "mauvais-mdp-1")
    assert r.status_code == 429


def test_refresh_rotates_and_a_reused_token_revokes_the_device(app_client, make_pro, password, db):
    make_pro("rotation", log_in=False)
    first = login(app_client, "rotation", password).json()
    second = app_client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    assert second.json()["device_id"] == first["device_id"]
    replay = app_client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and replay.json()["code"] == "refresh_token_reused"
    # the thief's replay cost the legitimate holder the device too: strong auth again
    newest = app_client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second.json()["refresh_token"]}
    )
    assert newest.status_code == 401
    access = app_client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {second.json()['access_token']}"}
    )
    assert access.status_code == 401
    with db() as s:
        device = s.get(Device, uuid.UUID(first["device_id"]))
        assert device.revoked_reason == "refresh_token_reused"
        assert (
            s.scalar(
                select(func.count()).where(
                    AuditEvent.action == "auth.refresh", AuditEvent.outcome == "refused"
                )
            )
            >= 1
        )


def test_refresh_requires_recent_strong_auth(app_client, make_pro, password, db, settings):
    make_pro("forte", log_in=False)
    tokens = login(app_client, "forte", password).json()
    with db() as s:
        s.execute(
            update(Device).values(
                auth_method="otp",
                strong_auth_at=utcnow() - timedelta(days=settings.strong_auth_max_age_days + 1),
            )
        )
    r = app_client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401 and r.json()["code"] == "strong_auth_required"


def test_expired_access_token_and_disabled_account(app_client, make_pro, password, db, settings):
    pro = make_pro("expire")
    with db() as s:
        s.execute(update(AccessToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = app_client.get("/api/v1/me", headers=pro.headers)
    assert r.status_code == 401 and r.json()["code"] == "token_expired"
    from typer.testing import CliRunner

    from sisra.cli import app as cli

    tokens = login(app_client, "expire", password).json()
    env = {"SISRA_DATABASE_URL": settings.database_url, "SISRA_DATA_DIR": str(settings.data_dir)}
    assert CliRunner().invoke(cli, ["admin", "disable", "expire"], env=env).exit_code == 0
    r = app_client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert r.status_code == 401 and r.json()["code"] == "account_disabled"
    assert login(app_client, "expire", password).status_code == 401


def test_devices_listing_and_revocation(app_client, make_pro, password):
    pro = make_pro("appareils")
    other = make_pro()
    devices = app_client.get("/api/v1/auth/devices", headers=pro.headers).json()
    assert len(devices) == 1 and devices[0]["name"] == "Appareil"
    # somebody else cannot revoke it
    r = app_client.delete(f"/api/v1/auth/devices/{devices[0]['id']}", headers=other.headers)
    assert r.status_code == 404
    r = app_client.delete(f"/api/v1/auth/devices/{devices[0]['id']}", headers=pro.headers)
    assert r.status_code == 204
    assert app_client.get("/api/v1/me", headers=pro.headers).status_code == 401

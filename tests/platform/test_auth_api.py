"""Two-step login (password, then an e-mailed code), tokens, devices, throttling.

The codes travel through a real SMTP server (the sink fixture) and are read from the mail.
"""

import uuid
from datetime import timedelta

from sqlalchemy import func, select, update

from sisra.platform.models import AccessToken, AuditEvent, Device, LoginFlow, Role, utcnow
from support.personas import otp_login


def start(client, identifier, password):
    return client.post("/api/v1/auth/login", json={"identifier": identifier, "password": password})


def verify(client, flow_id, code, **extra):
    return client.post("/api/v1/auth/otp/verify", json={"flow_id": flow_id, "code": code, **extra})


def test_password_alone_never_gives_tokens_the_mailed_code_does(
    app_client, make_pro, password, smtp_sink, db
):
    pro = make_pro("elodie.lefevre", log_in=False)
    r = start(app_client, "Elodie.Lefevre", password)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "access_token" not in body and "refresh_token" not in body
    assert body["email_hint"].startswith("e") and body["email_hint"].endswith("@demo.sisra.test")
    mail = smtp_sink.last_to("elodie.lefevre@demo.sisra.test")
    assert mail is not None and "code de connexion" in mail.subject
    code = mail.code()
    assert code and len(code) == 6
    tokens = verify(app_client, body["flow_id"], code, device_name="Cabinet - poste 1").json()
    assert tokens["access_token"].startswith("sat_")
    me = app_client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200 and me.json()["id"] == str(pro.id)
    with db() as s:
        device = s.get(Device, uuid.UUID(tokens["device_id"]))
        assert device.auth_method == "otp" and device.strong_auth_at is not None
        assert device.name == "Cabinet - poste 1"
        stored = s.scalars(select(LoginFlow.code_hash)).all()
        audit_text = str([(a.action, a.details) for a in s.scalars(select(AuditEvent))])
    assert code not in stored  # only an HMAC of the code is kept
    assert code not in audit_text and password not in audit_text  # secrets never logged


def test_tokens_are_stored_hashed(app_client, make_pro, db):
    pro = make_pro("hash.check")
    token = pro.headers["Authorization"].split()[1]
    with db() as s:
        stored = s.scalars(select(AccessToken.token_hash)).all()
    assert stored and token not in stored and all(len(h) == 64 for h in stored)


def test_wrong_password_is_refused_and_audited(app_client, make_pro, db, smtp_sink):
    make_pro("marc.gauthier", log_in=False)
    before = len(smtp_sink.messages)
    r = start(app_client, "marc.gauthier", "pas-le-bon-1")
    assert r.status_code == 401 and r.json()["code"] == "invalid_credentials"
    unknown = start(app_client, "personne", "pas-le-bon-1")
    assert unknown.status_code == 401 and unknown.json()["code"] == "invalid_credentials"
    assert len(smtp_sink.messages) == before  # no code sent
    with db() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login")).all()
    assert [r.outcome for r in rows] == ["refused", "refused"]
    assert rows[0].details["login"] == "marc.gauthier"


def test_wrong_code_says_how_many_tries_remain_then_locks(
    app_client, make_pro, password, smtp_sink, db
):
    make_pro("essais", log_in=False)
    flow = start(app_client, "essais", password).json()["flow_id"]
    code = smtp_sink.last_to("essais@demo.sisra.test").code()
    wrong = "000000" if code != "000000" else "111111"
    first = verify(app_client, flow, wrong)
    assert first.status_code == 401 and first.json()["code"] == "otp_invalid"
    assert first.json()["tries_left"] == 4 and "4 essais" in first.json()["message"]
    for _ in range(4):
        verify(app_client, flow, wrong)
    locked = verify(app_client, flow, code)  # the right code, too late
    assert locked.status_code == 429 and locked.json()["code"] in (
        "otp_locked",
        "too_many_attempts",
    )
    with db() as s:
        refused = s.scalar(
            select(func.count()).where(
                AuditEvent.action == "auth.otp_verify", AuditEvent.outcome == "refused"
            )
        )
    assert refused == 6


def test_expired_and_replayed_codes_are_refused(app_client, make_pro, password, smtp_sink, db):
    make_pro("rejeu", log_in=False)
    flow = start(app_client, "rejeu", password).json()["flow_id"]
    code = smtp_sink.last_to("rejeu@demo.sisra.test").code()
    assert verify(app_client, flow, code).status_code == 200
    replay = verify(app_client, flow, code)
    assert replay.status_code == 401 and replay.json()["code"] == "otp_used"
    flow2 = start(app_client, "rejeu", password).json()["flow_id"]
    code2 = smtp_sink.last_to("rejeu@demo.sisra.test").code()
    with db() as s:
        s.execute(
            update(LoginFlow)
            .where(LoginFlow.id == uuid.UUID(flow2))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = verify(app_client, flow2, code2)
    assert expired.status_code == 401 and expired.json()["code"] == "otp_expired"
    assert "expiré" in expired.json()["message"]
    unknown = verify(app_client, str(uuid.uuid4()), "123456")
    assert unknown.status_code == 401 and unknown.json()["code"] == "otp_flow_unknown"


def test_resend_after_cool_down_replaces_the_code(app_client, make_pro, password, smtp_sink, db):
    make_pro("renvoi", log_in=False)
    flow = start(app_client, "renvoi", password).json()["flow_id"]
    old = smtp_sink.last_to("renvoi@demo.sisra.test").code()
    too_soon = app_client.post("/api/v1/auth/otp/resend", json={"flow_id": flow})
    assert too_soon.status_code == 429 and too_soon.json()["code"] == "otp_resend_too_soon"
    with db() as s:
        s.execute(
            update(LoginFlow)
            .where(LoginFlow.id == uuid.UUID(flow))
            .values(last_sent_at=utcnow() - timedelta(minutes=5))
        )
    again = app_client.post("/api/v1/auth/otp/resend", json={"flow_id": flow})
    assert again.status_code == 200
    new = smtp_sink.last_to("renvoi@demo.sisra.test").code()
    if new != old:  # one chance in a million that they are equal
        assert verify(app_client, flow, old).json()["code"] == "otp_invalid"
    assert verify(app_client, flow, new).status_code == 200


def test_mail_server_down_is_a_clear_error(app_client, make_pro, password, settings, db):
    from sisra.devtools.ports import free_port

    make_pro("sanscourriel", log_in=False)
    settings.smtp_port = free_port()  # nothing listens there
    r = start(app_client, "sanscourriel", password)
    assert r.status_code == 503 and r.json()["code"] == "mail_unavailable"
    assert "Réessayez" in r.json()["message"]
    with db() as s:
        assert s.scalar(select(func.count()).select_from(LoginFlow)) == 0


def test_brute_force_on_password_is_throttled_per_account(app_client, make_pro, password, settings):
    make_pro("cible", log_in=False)
    for _ in range(settings.login_max_failures_per_account_source):
        assert start(app_client, "cible", "mauvais-mdp-1").status_code == 401
    blocked = start(app_client, "cible", password)  # even the right password waits
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "too_many_attempts"
    assert "minute" in blocked.json()["message"]


def test_brute_force_is_throttled_per_ip(app_client, make_pro, settings):
    settings.login_max_failures_per_ip = 4
    for i in range(4):
        assert start(app_client, f"inconnu{i}", "mauvais-mdp-1").status_code == 401
    assert start(app_client, "encore-un-autre", "mauvais-mdp-1").status_code == 429


def test_brute_force_on_codes_across_flows_is_throttled(
    app_client, make_pro, password, smtp_sink, settings
):
    make_pro("codes", log_in=False)
    settings.login_max_failures_per_account_source = 6
    wrong_total = 0
    while wrong_total < 6:
        flow = start(app_client, "codes", password).json()["flow_id"]
        code = smtp_sink.last_to("codes@demo.sisra.test").code()
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(3):
            verify(app_client, flow, wrong)
            wrong_total += 1
    blocked = start(app_client, "codes", password)
    assert blocked.status_code == 429 and blocked.json()["code"] == "too_many_attempts"


def test_refresh_rotates_and_a_reused_token_revokes_the_device(app_client, make_pro, smtp_sink, db):
    make_pro("rotation", log_in=False)
    first = otp_login(app_client, smtp_sink, "rotation", "rotation@demo.sisra.test")
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


def test_old_strong_auth_is_asked_again_and_restores_the_same_device(
    app_client, make_pro, smtp_sink, db, settings
):
    make_pro("forte", log_in=False)
    tokens = otp_login(app_client, smtp_sink, "forte", "forte@demo.sisra.test")
    with db() as s:
        s.execute(
            update(Device).values(
                strong_auth_at=utcnow() - timedelta(days=settings.strong_auth_max_age_days + 1)
            )
        )
    r = app_client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401 and r.json()["code"] == "strong_auth_required"
    assert r.json()["device_id"] == tokens["device_id"]
    again = otp_login(
        app_client, smtp_sink, "forte", "forte@demo.sisra.test", device_id=tokens["device_id"]
    )
    assert again["device_id"] == tokens["device_id"]
    ok = app_client.post("/api/v1/auth/refresh", json={"refresh_token": again["refresh_token"]})
    assert ok.status_code == 200
    with db() as s:
        assert s.scalar(select(func.count()).select_from(Device)) == 1
        actions = s.scalars(select(AuditEvent.action)).all()
    assert "auth.device_renewed" in actions


def test_someone_elses_device_id_is_not_taken_over(app_client, make_pro, smtp_sink):
    victim = make_pro("victime", log_in=False)
    make_pro("autre", log_in=False)
    v = otp_login(app_client, smtp_sink, "victime", "victime@demo.sisra.test")
    a = otp_login(app_client, smtp_sink, "autre", "autre@demo.sisra.test", device_id=v["device_id"])
    assert a["device_id"] != v["device_id"]
    assert victim.id != uuid.UUID(a["professional_id"])


def test_expired_access_token_and_disabled_account(app_client, make_pro, smtp_sink, db, settings):
    pro = make_pro("expire")
    with db() as s:
        s.execute(update(AccessToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = app_client.get("/api/v1/me", headers=pro.headers)
    assert r.status_code == 401 and r.json()["code"] == "token_expired"
    from typer.testing import CliRunner

    from sisra.cli import app as cli

    tokens = otp_login(app_client, smtp_sink, "expire", "expire@demo.sisra.test")
    env = {"SISRA_DATABASE_URL": settings.database_url, "SISRA_DATA_DIR": str(settings.data_dir)}
    assert CliRunner().invoke(cli, ["admin", "disable", "expire"], env=env).exit_code == 0
    r = app_client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert r.status_code == 401 and r.json()["code"] == "account_disabled"
    assert start(app_client, "expire", "Motdepasse-2026!").status_code == 401


def test_refresh_tells_the_device_its_account_is_disabled_and_no_one_else(
    app_client, make_pro, smtp_sink, db
):
    """A disabled account's own computer is told why (MonSisra shows « compte désactivé »,
    not « session expirée »); a spent, expired or unknown token learns nothing more."""
    from sisra.platform.auth.tokens import hash_token
    from sisra.platform.context import SYSTEM
    from sisra.platform.directory import service as directory
    from sisra.platform.models import Professional, RefreshToken

    make_pro("desactive", log_in=False)
    live = otp_login(app_client, smtp_sink, "desactive", "desactive@demo.sisra.test")
    spent = otp_login(app_client, smtp_sink, "desactive", "desactive@demo.sisra.test")
    old = app_client.post("/api/v1/auth/refresh", json={"refresh_token": spent["refresh_token"]})
    assert old.status_code == 200
    expired = otp_login(app_client, smtp_sink, "desactive", "desactive@demo.sisra.test")
    with db() as s:
        s.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == hash_token(expired["refresh_token"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        pro = s.scalars(select(Professional).where(Professional.login == "desactive")).one()
        directory.set_active(s, SYSTEM, pro, False)

    def refresh(token: str) -> dict[str, str]:
        r = app_client.post("/api/v1/auth/refresh", json={"refresh_token": token})
        assert r.status_code == 401
        return r.json()

    assert refresh(live["refresh_token"])["code"] == "account_disabled"
    for token in (spent["refresh_token"], expired["refresh_token"], "i" * 43):
        assert refresh(token)["code"] in ("invalid_refresh_token", "refresh_token_reused")
    with db() as s:  # enabled again: the devices were ended, a new login is needed
        pro = s.scalars(select(Professional).where(Professional.login == "desactive")).one()
        directory.set_active(s, SYSTEM, pro, True)
    assert refresh(live["refresh_token"])["code"] == "invalid_refresh_token"


def test_devices_listing_and_revocation(app_client, make_pro):
    pro = make_pro("appareils")
    other = make_pro()
    admin = make_pro("admin", role=Role.administrator)
    devices = app_client.get("/api/v1/auth/devices", headers=pro.headers).json()
    assert len(devices) == 1 and devices[0]["auth_method"] == "otp"
    seen_by_admin = app_client.get(f"/api/v1/auth/devices/of/{pro.id}", headers=admin.headers)
    assert [d["id"] for d in seen_by_admin.json()] == [devices[0]["id"]]
    assert (
        app_client.get(f"/api/v1/auth/devices/of/{pro.id}", headers=other.headers).status_code
        == 403
    )
    # somebody else cannot revoke it
    r = app_client.delete(f"/api/v1/auth/devices/{devices[0]['id']}", headers=other.headers)
    assert r.status_code == 404
    r = app_client.delete(f"/api/v1/auth/devices/{devices[0]['id']}", headers=pro.headers)
    assert r.status_code == 204
    assert app_client.get("/api/v1/me", headers=pro.headers).status_code == 401

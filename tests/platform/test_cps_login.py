"""CPS card login end to end: real SoftHSM2 cards, a test IGC-Santé PKI, a running platform,
and the MonSisra client library on the other side."""

import base64
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pkcs11
import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select, update

from sisra.client import auth as client_auth
from sisra.client.api import ApiError, PlatformClient
from sisra.client.cps import open_card
from sisra.devtools.pki import make_ca, make_crl, make_intermediate
from sisra.devtools.softhsm import SOFTHSM_MODULE, make_card, make_softhsm_env
from sisra.platform.models import AuditEvent, CpsChallenge, Device, utcnow

MODULE = Path(SOFTHSM_MODULE)
PIN = "1234"

pytestmark = pytest.mark.needs("softhsm")


@pytest.fixture(scope="module")
def root_ca():
    return make_ca()


@pytest.fixture(scope="module")
def issuing_ca(root_ca):
    return make_intermediate(root_ca)


def _write_crl(path: Path, ca, revoked=()) -> None:
    path.write_bytes(make_crl(ca, list(revoked)).public_bytes(serialization.Encoding.PEM))


@pytest.fixture
def pki(settings, tmp_path, root_ca, issuing_ca, monkeypatch):
    """The platform trusts the test root; CRLs for both CAs; a SoftHSM2 card reader."""
    anchors = tmp_path / "anchors.pem"
    anchors.write_bytes(root_ca.cert.public_bytes(serialization.Encoding.PEM))
    inter = tmp_path / "intermediate.pem"
    inter.write_bytes(issuing_ca.cert.public_bytes(serialization.Encoding.PEM))
    root_crl, issuing_crl = tmp_path / "root.crl", tmp_path / "issuing.crl"
    _write_crl(root_crl, root_ca)
    _write_crl(issuing_crl, issuing_ca)
    settings.cps_trust_anchors = [anchors]
    settings.cps_intermediates = [inter]
    settings.cps_crls = [str(root_crl), str(issuing_crl)]
    settings.cps_crl_cache_s = 0  # re-read at each check, so a test can revoke
    hsm = make_softhsm_env(tmp_path / "softhsm")
    monkeypatch.setenv("SOFTHSM2_CONF", str(hsm.conf_path))
    pkcs11.lib(SOFTHSM_MODULE).reinitialize()
    return {"hsm": hsm, "issuing_crl": issuing_crl, "ca": issuing_ca}


def _card(pki, pro_nid, label="CPS", ca=None, **kw):
    return make_card(
        pki["hsm"],
        ca or pki["ca"],
        label=label,
        pin=PIN,
        national_id=pro_nid,
        first_name="Élodie",
        last_name="Lefèvre",
        **kw,
    )


def _national_id(db, pro):
    from sisra.platform.models import Professional

    with db() as s:
        return s.get(Professional, pro.id).national_id


def _refusals(db):
    with db() as s:
        rows = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "auth.cps", AuditEvent.outcome == "refused"
            )
        ).all()
    return [r.details["reason"] for r in rows]


def test_card_enrolment_gives_a_working_device(pki, live_server, make_pro, db):
    pro = make_pro("elodie", log_in=False)
    info = _card(pki, _national_id(db, pro))
    with PlatformClient(live_server.url) as client, open_card(MODULE, PIN) as card:
        creds = client_auth.enrol_with_card(client, card, device_name="Cabinet Lefèvre")
        me = client.get_json("/api/v1/me", token=creds.access_token)
        assert me["id"] == str(pro.id)
        renewed = client_auth.refresh(client, creds)
        assert renewed.device_id == creds.device_id
    with db() as s:
        device = s.get(Device, uuid.UUID(creds.device_id))
        assert device.auth_method == "cps" and device.name == "Cabinet Lefèvre"
        ok = s.scalars(select(AuditEvent).where(AuditEvent.action == "auth.cps")).one()
        assert ok.outcome == "ok"
        assert ok.details["serial"] == format(info.certificate.serial_number, "x")
    assert "Cabinet" not in repr(creds) and creds.access_token not in repr(creds)


def test_strong_auth_expiry_then_the_card_restores_the_same_device(
    pki, live_server, make_pro, db, settings
):
    pro = make_pro("renouvel", log_in=False)
    _card(pki, _national_id(db, pro))
    with PlatformClient(live_server.url) as client, open_card(MODULE, PIN) as card:
        creds = client_auth.enrol_with_card(client, card)
        with db() as s:
            s.execute(update(Device).values(strong_auth_at=utcnow() - timedelta(days=31)))
        with pytest.raises(client_auth.StrongAuthRequired) as caught:
            client_auth.refresh(client, creds)
        assert "carte CPS" in caught.value.message
        again = client_auth.enrol_with_card(client, card, device_id=creds.device_id)
        assert again.device_id == creds.device_id
        client_auth.refresh(client, again)


def _raw_verify(base, challenge_id, cert_der, signature, chain=()):
    return httpx.post(
        f"{base}/api/v1/auth/cps/verify",
        json={
            "challenge_id": challenge_id,
            "certificate": base64.b64encode(cert_der).decode(),
            "chain": [base64.b64encode(c).decode() for c in chain],
            "signature": base64.b64encode(signature).decode(),
        },
        timeout=30,
    )


def _challenge(base):
    body = httpx.post(f"{base}/api/v1/auth/cps/challenge", timeout=30).json()
    return body["challenge_id"], base64.b64decode(body["challenge"])


def _attempt(base, pin=PIN, slot=None):
    with open_card(MODULE, pin, slot) as card:
        cid, challenge = _challenge(base)
        return _raw_verify(base, cid, card.certificate_der(), card.sign(challenge))


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("expired", "certificate_expired"),
        ("other_ca", "certificate_untrusted"),
        ("revoked", "certificate_revoked"),
        ("unknown_holder", "unknown_card_holder"),
        ("no_crl", "revocation_unknown"),
    ],
)
def test_bad_cards_are_refused_with_a_clear_code_and_audited(
    pki, live_server, make_pro, db, settings, case, code
):
    pro = make_pro("carte", log_in=False)
    nid = _national_id(db, pro)
    if case == "expired":
        now = datetime.now(UTC)
        _card(pki, nid, not_before=now - timedelta(days=800), not_after=now - timedelta(days=1))
    elif case == "other_ca":
        _card(pki, nid, ca=make_intermediate(make_ca("Autre AC Racine"), "Autre AC"))
    elif case == "revoked":
        info = _card(pki, nid)
        _write_crl(pki["issuing_crl"], pki["ca"], [info.certificate.serial_number])
    elif case == "unknown_holder":
        _card(pki, "899999999999")
    elif case == "no_crl":
        _card(pki, nid)
        pki["issuing_crl"].unlink()
    r = _attempt(live_server.url)
    assert r.status_code == 401, r.text
    assert r.json()["code"] == code
    assert len(r.json()["message"]) > 20
    assert _refusals(db) == [code]


def test_replayed_and_expired_challenges_and_a_foreign_signature(pki, live_server, make_pro, db):
    pro = make_pro("defi", log_in=False)
    _card(pki, _national_id(db, pro), label="CPS A")
    _card(pki, "899999999998", label="CPS B")
    from sisra.client.cps import list_cards

    slot_a, slot_b = sorted(list_cards(MODULE), key=lambda c: c.label)
    base = live_server.url
    with open_card(MODULE, PIN, slot_a) as card_a:
        cid, challenge = _challenge(base)
        signature = card_a.sign(challenge)
        cert_a = card_a.certificate_der()
    first = _raw_verify(base, cid, cert_a, signature)
    assert first.status_code == 200
    replay = _raw_verify(base, cid, cert_a, signature)
    assert replay.status_code == 401 and replay.json()["code"] == "challenge_replayed"
    # a challenge left to expire
    cid2, challenge2 = _challenge(base)
    with db() as s:
        s.execute(
            update(CpsChallenge)
            .where(CpsChallenge.id == uuid.UUID(cid2))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    with open_card(MODULE, PIN, slot_a) as card_a:
        late = _raw_verify(base, cid2, cert_a, card_a.sign(challenge2))
    assert late.status_code == 401 and late.json()["code"] == "challenge_expired"
    # card A's certificate with card B's signature
    cid3, challenge3 = _challenge(base)
    with open_card(MODULE, PIN, slot_b) as card_b:
        foreign = _raw_verify(base, cid3, cert_a, card_b.sign(challenge3))
    assert foreign.status_code == 401 and foreign.json()["code"] == "bad_signature"
    # the failed attempt still spent its challenge
    again = _raw_verify(base, cid3, cert_a, b"x")
    assert again.json()["code"] == "challenge_replayed"
    assert _refusals(db) == [
        "challenge_replayed",
        "challenge_expired",
        "bad_signature",
        "challenge_replayed",
    ]


def test_wrong_pin_never_reaches_the_platform(pki, live_server, make_pro, db):
    from sisra.client.cps import CardError

    pro = make_pro("pin", log_in=False)
    _card(pki, _national_id(db, pro))
    with pytest.raises(CardError) as caught:
        _attempt(live_server.url, pin="0000")
    assert caught.value.code == "wrong_pin" and "Code PIN incorrect" in caught.value.message
    assert _refusals(db) == []
    assert _attempt(live_server.url).status_code == 200


def test_client_library_maps_platform_errors(live_server):
    with PlatformClient(live_server.url) as client:
        with pytest.raises(ApiError) as caught:
            client_auth.start_two_step(client, "personne", "mauvais-mot-2026")
        assert caught.value.code == "invalid_credentials" and caught.value.status == 401
    with PlatformClient("http://127.0.0.1:9") as down:
        with pytest.raises(ApiError) as caught:
            client_auth.start_two_step(down, "x", "y")
        assert caught.value.code == "platform_unavailable"
        assert caught.value.message == "La plateforme ne répond pas (127.0.0.1:9)."


def test_crl_fetched_from_a_url_revokes_the_card(pki, settings, make_pro, db, tmp_path):
    """The revocation list is published over HTTP (as IGC-Santé does), read by the platform."""
    import functools
    import http.server
    import threading

    pro = make_pro("url", log_in=False)
    info = _card(pki, _national_id(db, pro))
    published = tmp_path / "published"
    published.mkdir()
    _write_crl(published / "issuing.crl", pki["ca"], [info.certificate.serial_number])
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(published))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)  # the kernel's port
    port = server.server_port
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.cps_crls = [settings.cps_crls[0], f"http://127.0.0.1:{port}/issuing.crl"]
        from fastapi.testclient import TestClient

        from sisra.platform.app import create_app

        with TestClient(create_app(settings)) as client, open_card(MODULE, PIN) as card:
            body = client.post("/api/v1/auth/cps/challenge").json()
            r = client.post(
                "/api/v1/auth/cps/verify",
                json={
                    "challenge_id": body["challenge_id"],
                    "certificate": base64.b64encode(card.certificate_der()).decode(),
                    "signature": base64.b64encode(
                        card.sign(base64.b64decode(body["challenge"]))
                    ).decode(),
                },
            )
        assert r.status_code == 401 and r.json()["code"] == "certificate_revoked"
    finally:
        server.shutdown()

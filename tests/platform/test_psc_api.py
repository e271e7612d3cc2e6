"""The MonSisra side of Pro Santé Connect on the API: ``/api/v1/auth/psc/start`` and
``/psc/token`` refuse what they must (outsiders, replays, another app's verifier, non-loopback
addresses), and the ID token checks refuse a bad signature, issuer, audience, nonce, expiry or
authentication level."""

import base64
import hashlib
import secrets
import time
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from playwright.sync_api import Page
from sqlalchemy import select

from sisra.client.psc import _Listener
from sisra.platform.app import create_app
from sisra.platform.auth import psc_provider
from sisra.platform.auth.psc_provider import PscRefused
from sisra.platform.models import AuditEvent
from support.psc import PSC_CLIENT_JWT, national_id_of, psc_provider_login


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _app_code(server_url: str, page: Page, national_id: str) -> tuple[str, str, str]:
    """A real app flow up to the loopback: (flow id, one-time code, verifier)."""
    verifier, challenge = _pkce()
    state = secrets.token_urlsafe(24)
    listener = _Listener(state)
    try:
        r = httpx.post(
            f"{server_url}/api/v1/auth/psc/start",
            json={
                "redirect_uri": listener.redirect_uri,
                "code_challenge": challenge,
                "state": state,
            },
        )
        assert r.status_code == 200, r.text
        page.goto(r.json()["authorization_url"])
        psc_provider_login(page, national_id)
        answer = listener.answers.get(timeout=30)
    finally:
        listener.close()
    return r.json()["flow_id"], answer["code"], verifier


def _redeem(server_url: str, flow_id: str, code: str, verifier: str) -> httpx.Response:
    return httpx.post(
        f"{server_url}/api/v1/auth/psc/token",
        json={"flow_id": flow_id, "code": code, "code_verifier": verifier},
    )


def test_code_is_single_use_and_bound_to_the_verifier(psc_server, make_pro, db, page: Page):
    pro = make_pro("psc.api", log_in=False)
    nid = national_id_of(db, pro)
    flow_id, code, verifier = _app_code(psc_server.url, page, nid)
    other_verifier, _ = _pkce()
    # someone who saw the code (another app on the computer, a log) lacks the verifier
    stolen = _redeem(psc_server.url, flow_id, code, other_verifier)
    assert stolen.status_code == 401 and stolen.json()["code"] == "psc_verifier_mismatch"
    # ... and the code is spent by that attempt
    late = _redeem(psc_server.url, flow_id, code, verifier)
    assert late.status_code == 401 and late.json()["code"] == "psc_code_replayed"

    flow_id, code, verifier = _app_code(psc_server.url, page, nid)
    ok = _redeem(psc_server.url, flow_id, code, verifier)
    assert ok.status_code == 200 and ok.json()["professional_id"] == str(pro.id)
    again = _redeem(psc_server.url, flow_id, code, verifier)
    assert again.status_code == 401 and again.json()["code"] == "psc_code_replayed"
    with db() as s:
        reasons = [
            e.details.get("reason")
            for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "auth.psc.redeem"))
        ]
    assert sorted(r or "ok" for r in reasons) == [
        "ok",
        "psc_code_replayed",
        "psc_code_replayed",
        "psc_verifier_mismatch",
    ]


def test_outsider_cannot_redeem_or_borrow_a_code(psc_server, make_pro, db, page: Page):
    pro = make_pro("psc.outsider", log_in=False)
    flow_id, code, verifier = _app_code(psc_server.url, page, national_id_of(db, pro))
    guessed = _redeem(psc_server.url, flow_id, secrets.token_urlsafe(32), verifier)
    assert guessed.status_code == 401 and guessed.json()["code"] == "psc_code_invalid"
    elsewhere = _redeem(psc_server.url, str(uuid.uuid4()), code, verifier)
    assert elsewhere.status_code == 401 and elsewhere.json()["code"] == "psc_code_invalid"
    # the right pair still works: refusals spent nothing of it
    assert _redeem(psc_server.url, flow_id, code, verifier).status_code == 200


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://ailleurs.example/psc",
        "http://localhost:8765/psc",
        "http://127.0.0.1/psc",  # no port
        "http://user@127.0.0.1:8765/psc",
        "http://127.0.0.1:8765/psc?next=https://ailleurs.example",
        "http://127.0.0.1:99999/psc",
    ],
)
def test_start_accepts_only_a_loopback_redirect(psc_server, redirect_uri):
    _, challenge = _pkce()
    r = httpx.post(
        f"{psc_server.url}/api/v1/auth/psc/start",
        json={"redirect_uri": redirect_uri, "code_challenge": challenge, "state": "s" * 20},
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_redirect_uri", r.text


def test_start_needs_an_s256_challenge(psc_server):
    r = httpx.post(
        f"{psc_server.url}/api/v1/auth/psc/start",
        json={
            "redirect_uri": "http://127.0.0.1:8765/psc",
            "code_challenge": "x",
            "state": "s" * 20,
        },
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_psc_request"


def test_disabled_platform_answers_409_in_french(app_client):
    _, challenge = _pkce()
    r = app_client.post(
        "/api/v1/auth/psc/start",
        json={
            "redirect_uri": "http://127.0.0.1:8765/psc",
            "code_challenge": challenge,
            "state": "s" * 20,
        },
    )
    assert r.status_code == 409 and r.json()["code"] == "psc_disabled"
    assert "n'est pas activée" in r.json()["message"]
    r = app_client.post(
        "/api/v1/auth/psc/token",
        json={"flow_id": str(uuid.uuid4()), "code": "x", "code_verifier": "v" * 43},
    )
    assert r.status_code == 409


def test_signed_userinfo_is_verified_too(psc_server, psc_op, settings, make_pro, db, page: Page):
    """Pro Santé Connect may answer the userinfo as a signed JWT (application/jwt)."""
    from pydantic import SecretStr

    settings.psc_client_id = PSC_CLIENT_JWT
    settings.psc_client_secret = SecretStr(psc_op.clients[PSC_CLIENT_JWT].client_secret)
    pro = make_pro("psc.jwt", log_in=False)
    flow_id, code, verifier = _app_code(psc_server.url, page, national_id_of(db, pro))
    assert _redeem(psc_server.url, flow_id, code, verifier).status_code == 200


# --- the ID token checks, on tokens signed here with a key the test trusts ----------------


@pytest.fixture
def trusted_key(psc_server, settings, monkeypatch):
    """The platform's cached provider key set replaced by one key of ours, for the provider's
    real metadata: tokens we sign then pass the signature check, and each claim is tested."""
    meta, _keys = psc_provider.provider(settings)
    key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "alg": "RS256"})
    keys = KeySet([key])
    monkeypatch.setitem(psc_provider._cache, settings.psc_issuer, (time.monotonic(), meta, keys))
    return meta, key


def _claims(meta, settings, **overrides):
    now = int(time.time())
    claims = {
        "iss": meta.issuer,
        "aud": settings.psc_client_id,
        "sub": "899700000001",
        "iat": now,
        "exp": now + 300,
        "nonce": "the-nonce",
        "acr": "eidas1",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _token(key, claims):
    return jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, key)


def test_a_well_formed_id_token_passes(trusted_key, settings):
    meta, key = trusted_key
    claims = psc_provider.id_token_claims(
        settings, _token(key, _claims(meta, settings)), "the-nonce"
    )
    assert claims["sub"] == "899700000001"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"iss": "https://autre-fournisseur.example"}, "psc_claim_iss"),
        ({"aud": "un-autre-client"}, "psc_claim_aud"),
        ({"nonce": "another-nonce"}, "psc_claim_nonce"),
        ({"nonce": None}, "psc_claim_nonce"),
        ({"exp": int(time.time()) - 3600}, "psc_claim_exp"),
        ({"acr": "eidas0"}, "psc_acr_insufficient"),
        ({"acr": None}, "psc_acr_insufficient"),
        ({"aud": ["un-autre-client", "sisra-test"]}, "psc_claim_azp"),
    ],
)
def test_bad_id_tokens_are_refused(trusted_key, settings, overrides, reason):
    meta, key = trusted_key
    with pytest.raises(PscRefused) as refused:
        psc_provider.id_token_claims(
            settings, _token(key, _claims(meta, settings, **overrides)), "the-nonce"
        )
    assert refused.value.code == reason


def test_a_token_signed_by_another_key_is_refused(trusted_key, settings):
    meta, _trusted = trusted_key
    stranger = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
    with pytest.raises(PscRefused) as refused:
        psc_provider.id_token_claims(
            settings, _token(stranger, _claims(meta, settings)), "the-nonce"
        )
    assert refused.value.code == "psc_signature_invalid"


def test_an_unsigned_token_is_refused(trusted_key, settings):
    meta, _key = trusted_key
    import json

    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    unsigned = f"{b64({'alg': 'none'})}.{b64(_claims(meta, settings))}."
    with pytest.raises(PscRefused) as refused:
        psc_provider.id_token_claims(settings, unsigned, "the-nonce")
    assert refused.value.code == "psc_signature_invalid"


def test_an_expired_code_is_refused(psc_server, settings, make_pro, db, page: Page):
    pro = make_pro("psc.late", log_in=False)
    settings.psc_app_code_ttl_s = 0
    flow_id, code, verifier = _app_code(psc_server.url, page, national_id_of(db, pro))
    late = _redeem(psc_server.url, flow_id, code, verifier)
    assert late.status_code == 401 and late.json()["code"] == "psc_code_expired"


def test_wrong_codes_from_one_source_are_throttled(psc_server, settings):
    settings.login_max_failures_per_ip = 3
    answers = [
        _redeem(psc_server.url, str(uuid.uuid4()), secrets.token_urlsafe(16), "v" * 43)
        for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert "Trop de tentatives" in answers[-1].json()["message"]


def test_wrong_passwords_from_one_source_do_not_refuse_e_cps(psc_server, settings):
    """e-CPS has its own per-source counter: wrong passwords from an address (a shared
    hospital address, an attacker next door) never refuse Pro Santé Connect there."""
    settings.login_max_failures_per_ip = 3

    def password() -> httpx.Response:
        body = {"identifier": "quelquun", "password": "mauvais-mdp"}
        return httpx.post(f"{psc_server.url}/api/v1/auth/login", json=body)

    assert [password().status_code for _ in range(4)] == [401, 401, 401, 429]
    judged = _redeem(psc_server.url, str(uuid.uuid4()), secrets.token_urlsafe(16), "v" * 43)
    assert judged.status_code == 401, judged.text  # judged, not throttled
    assert password().status_code == 429  # and the password limit stays


def test_old_flows_are_purged_when_new_ones_start(psc_server, db):
    from datetime import timedelta

    from sisra.platform.models import PscFlow, utcnow

    _, challenge = _pkce()

    def start() -> None:
        r = httpx.post(
            f"{psc_server.url}/api/v1/auth/psc/start",
            json={
                "redirect_uri": "http://127.0.0.1:8765/psc",
                "code_challenge": challenge,
                "state": "s" * 20,
            },
        )
        assert r.status_code == 200, r.text

    start()
    with db() as s:
        for flow in s.scalars(select(PscFlow)):
            flow.expires_at = utcnow() - timedelta(days=2)
    start()
    with db() as s:
        assert len(s.scalars(select(PscFlow)).all()) == 1


def test_keys_rotated_by_the_provider_are_fetched_again(
    psc_server, settings, make_pro, db, page: Page, monkeypatch
):
    """The platform's cached key set is stale (none of the provider's keys): the unknown key
    id makes it fetch the provider's JWKS again, once, and the login goes through."""
    meta, _keys = psc_provider.provider(settings)
    stale = KeySet([RSAKey.generate_key(2048, parameters={"kid": "retired"})])
    monkeypatch.setitem(psc_provider._cache, settings.psc_issuer, (time.monotonic(), meta, stale))
    pro = make_pro("psc.rotation", log_in=False)
    flow_id, code, verifier = _app_code(psc_server.url, page, national_id_of(db, pro))
    assert _redeem(psc_server.url, flow_id, code, verifier).status_code == 200
    assert psc_provider._cache[settings.psc_issuer][2] is not stale


def test_the_platform_says_which_strong_authentications_it_offers(settings, psc_server):
    """Public (MonSisra asks before anyone has logged in); e-CPS only with a PSC client."""
    with_psc = httpx.get(f"{psc_server.url}/api/v1/auth/methods")
    assert with_psc.status_code == 200
    assert with_psc.json() == {"cps": True, "code": True, "psc": True}
    app = create_app(settings.model_copy(update={"psc_client_id": ""}))
    with TestClient(app) as without:
        answer = without.get("/api/v1/auth/methods").json()
    app.state.engine.dispose()
    assert answer == {"cps": True, "code": True, "psc": False}


def test_an_authentication_older_than_the_login_is_refused(trusted_key, settings):
    """Asked to authenticate again (prompt=login), a provider that answers with an earlier
    session (its auth_time before this login started) is not believed."""
    from datetime import UTC, datetime, timedelta

    meta, key = trusted_key
    started = datetime.now(UTC) - timedelta(seconds=30)
    before = int((started - timedelta(minutes=10)).timestamp())
    stale = _token(key, _claims(meta, settings, auth_time=before))
    with pytest.raises(PscRefused) as refused:
        psc_provider.id_token_claims(settings, stale, "the-nonce", started)
    assert refused.value.code == "psc_authentication_reused"
    fresh = _token(key, _claims(meta, settings, auth_time=int(time.time())))
    assert psc_provider.id_token_claims(settings, fresh, "the-nonce", started)
    silent = _token(key, _claims(meta, settings))  # no auth_time given: nothing to compare
    assert psc_provider.id_token_claims(settings, silent, "the-nonce", started)
    settings.psc_prompt = ""  # the operator turned prompt=login off: its check goes too
    assert psc_provider.id_token_claims(settings, stale, "the-nonce", started)

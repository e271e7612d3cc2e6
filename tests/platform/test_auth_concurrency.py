"""Login limits, single-use codes and token rotation under *parallel* requests, against a live
uvicorn server: every limit must be one atomic claim, not a check followed by a write.

Each burst starts its requests together (a barrier) from separate threads and connections.
"""

import re
import threading
import time
import uuid
from collections import Counter

import httpx
import pytest
from sqlalchemy import func, select

from sisra.platform.models import AuditEvent, Device, LoginFlow
from support.personas import PASSWORD, otp_login


def burst(url: str, bodies: list[dict], form: bool = False) -> list[httpx.Response]:
    """POST every body at ``url`` at the same moment, one thread and connection each
    (``form``: as a web form, with a matching anonymous CSRF cookie)."""
    results: list[httpx.Response | None] = [None] * len(bodies)
    barrier = threading.Barrier(len(bodies))

    def fire(i: int) -> None:
        cookies = {"sisra_csrf": "jeton-csrf-de-test"} if form else None
        with httpx.Client(timeout=60, cookies=cookies) as client:
            barrier.wait()
            if form:
                data = {**bodies[i], "csrf": "jeton-csrf-de-test"}
                results[i] = client.post(url, data=data)
            else:
                results[i] = client.post(url, json=bodies[i])

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def audit_count(db, action: str, outcome: str | None = None, reason: str | None = None) -> int:
    with db() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
    return sum(
        1
        for r in rows
        if (outcome is None or r.outcome == outcome)
        and (reason is None or r.details.get("reason") == reason)
    )


def login(base: str, identifier: str, password: str, xff: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": xff} if xff else {}
    return httpx.post(
        f"{base}/api/v1/auth/login",
        json={"identifier": identifier, "password": password},
        headers=headers,
        timeout=30,
    )


def test_parallel_wrong_passwords_are_judged_at_most_the_limit(live_server, make_pro, db, settings):
    make_pro("assiegee", log_in=False)
    limit = settings.login_max_failures_per_account_source
    body = {"identifier": "assiegee", "password": "mauvais-mdp-1"}
    answers = burst(f"{live_server.url}/api/v1/auth/login", [body] * 25)
    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) <= {401, 429}, statuses
    judged = audit_count(db, "auth.login", outcome="refused")
    assert judged == statuses[401] <= limit
    assert statuses[429] >= 25 - limit
    assert all(r.json()["code"] == "too_many_attempts" for r in answers if r.status_code == 429)


def test_parallel_wrong_passwords_on_the_web_form_are_judged_at_most_the_limit(
    live_server, make_pro, db, settings
):
    make_pro("assiegee.web", log_in=False)
    body = {"identifier": "assiegee.web", "password": "mauvais-mdp-1"}
    answers = burst(f"{live_server.url}/connexion", [body] * 15, form=True)
    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) <= {401, 429}, statuses
    assert audit_count(db, "auth.login", outcome="refused") == statuses[401]
    assert statuses[401] <= settings.login_max_failures_per_account_source
    assert all("Trop de tentatives" in r.text for r in answers if r.status_code == 429)


def test_parallel_codes_in_one_flow_are_judged_at_most_five_times(
    live_server, make_pro, db, smtp_sink, settings
):
    make_pro("codes.paralleles", log_in=False)
    flow = login(live_server.url, "codes.paralleles", PASSWORD).json()["flow_id"]
    code = smtp_sink.last_to("codes.paralleles@demo.sisra.test").code()
    wrong = [f"{(int(code) + i) % 1_000_000:06d}" for i in range(1, 21)]
    bodies = [{"flow_id": flow, "code": c} for c in [*wrong[:10], code, *wrong[10:]]]
    answers = burst(f"{live_server.url}/api/v1/auth/otp/verify", bodies)
    statuses = Counter(r.status_code for r in answers)
    assert 500 not in statuses and statuses[200] <= 1, statuses
    judged = audit_count(db, "auth.otp_verify", reason="wrong_code") + statuses[200]
    assert judged <= settings.otp_max_attempts
    with db() as s:
        assert s.get(LoginFlow, uuid.UUID(flow)).attempts <= settings.otp_max_attempts
    # the flow is dead afterwards, right code or not
    after = httpx.post(
        f"{live_server.url}/api/v1/auth/otp/verify", json={"flow_id": flow, "code": code}
    )
    assert after.status_code in (401, 429)
    assert after.json()["code"] in ("otp_used", "otp_locked", "too_many_attempts")


def test_parallel_resends_send_one_code(live_server, make_pro, smtp_sink, db, settings):
    from datetime import timedelta

    from sqlalchemy import update

    from sisra.platform.models import utcnow

    make_pro("renvois", log_in=False)
    settings.otp_resend_cooldown_s = 600  # the burst, however slow, falls in one cool-down
    flow = login(live_server.url, "renvois", PASSWORD).json()["flow_id"]
    with db() as s:
        s.execute(update(LoginFlow).values(last_sent_at=utcnow() - timedelta(hours=1)))
    before = len(smtp_sink.messages)
    answers = burst(f"{live_server.url}/api/v1/auth/otp/resend", [{"flow_id": flow}] * 8)
    statuses = Counter(r.status_code for r in answers)
    assert statuses == {200: 1, 429: 7}, statuses
    assert len(smtp_sink.messages) == before + 1
    with db() as s:
        assert s.get(LoginFlow, uuid.UUID(flow)).sends == 2


def test_parallel_refreshes_rotate_exactly_once(live_server, make_pro, smtp_sink, db):
    make_pro("rafale", log_in=False)
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        tokens = otp_login(client, smtp_sink, "rafale", "rafale@demo.sisra.test")
    body = {"refresh_token": tokens["refresh_token"]}
    answers = burst(f"{live_server.url}/api/v1/auth/refresh", [body] * 10)
    statuses = Counter(r.status_code for r in answers)
    assert statuses == {200: 1, 401: 9}, [r.text for r in answers]
    assert {r.json()["code"] for r in answers if r.status_code == 401} == {"refresh_token_reused"}
    with db() as s:
        device = s.get(Device, uuid.UUID(tokens["device_id"]))
        assert device.revoked_reason == "refresh_token_reused"
    winner = next(r for r in answers if r.status_code == 200).json()
    me = httpx.get(
        f"{live_server.url}/api/v1/me",
        headers={"Authorization": f"Bearer {winner['access_token']}"},
    )
    assert me.status_code == 401  # the theft alarm revoked the new family too


# --- who is the client: X-Forwarded-For only from trusted proxies --------------------------


def test_client_address_resolution():
    from sisra.platform.deps import resolve_client_ip

    trusted = ["127.0.0.1/32", "10.0.0.0/8"]
    assert resolve_client_ip("192.0.2.1", ["203.0.113.9"], trusted) == "192.0.2.1"
    assert resolve_client_ip("127.0.0.1", ["203.0.113.9"], []) == "127.0.0.1"
    assert resolve_client_ip("127.0.0.1", ["203.0.113.9"], trusted) == "203.0.113.9"
    # the right-most untrusted address: what the client wrote further left proves nothing
    chain = ["6.6.6.6, 203.0.113.9", "10.0.0.5"]
    assert resolve_client_ip("127.0.0.1", chain, trusted) == "203.0.113.9"
    assert resolve_client_ip("127.0.0.1", ["pas-une-adresse, 10.0.0.5"], trusted) == "10.0.0.5"
    assert resolve_client_ip("127.0.0.1", [], trusted) == "127.0.0.1"
    assert resolve_client_ip("testclient", ["203.0.113.9"], trusted) == "testclient"


def _audited_ips(db) -> list[str]:
    with db() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login")).all()
    return [r.ip for r in rows]


def test_forwarded_for_is_ignored_from_an_untrusted_peer(live_server, make_pro, db, settings):
    make_pro("proxy1", log_in=False)
    assert settings.trusted_proxies == []
    login(live_server.url, "proxy1", "mauvais-mdp-1", xff="203.0.113.9")
    assert _audited_ips(db) == ["127.0.0.1"]


def test_forwarded_for_is_honoured_from_a_trusted_proxy(live_server, make_pro, db, settings):
    make_pro("proxy2", log_in=False)
    settings.trusted_proxies = ["127.0.0.1/32"]
    login(live_server.url, "proxy2", "mauvais-mdp-1", xff="6.6.6.6, 203.0.113.9")
    assert _audited_ips(db) == ["203.0.113.9"]


# --- lock-out is not a weapon ----------------------------------------------------------------


def test_an_attacker_elsewhere_does_not_lock_the_owner_out(live_server, make_pro, settings):
    make_pro("proprietaire", log_in=False)
    settings.trusted_proxies = ["127.0.0.1/32"]
    attacker, owner = "203.0.113.66", "198.51.100.2"
    answers = [
        login(live_server.url, "proprietaire", f"devine-{i}", xff=attacker) for i in range(8)
    ]
    assert [r.status_code for r in answers][-2:] == [429, 429]  # the attacker is slowed
    ok = login(live_server.url, "proprietaire", PASSWORD, xff=owner)
    assert ok.status_code == 200, ok.text  # the owner, from their own address, is not


def test_an_account_attacked_from_everywhere_is_slowed_not_locked(
    live_server, make_pro, settings, db
):
    from datetime import timedelta

    from sqlalchemy import update

    from sisra.platform.models import LoginThrottle, utcnow

    make_pro("partout", log_in=False)
    settings.trusted_proxies = ["127.0.0.1/32"]
    settings.login_account_delay_after = 3
    for i in range(3):  # free failures, one per address
        r = login(live_server.url, "partout", "devine", xff=f"203.0.113.{i + 1}")
        assert r.status_code == 401
    before = utcnow()
    slowed = login(live_server.url, "partout", "devine", xff="203.0.113.50")
    assert slowed.status_code == 401  # judged, and sets a delay before the next attempt
    with db() as s:
        row = s.get(LoginThrottle, "account:partout")
        assert row.not_before is not None and row.not_before > before
        assert row.not_before - before <= timedelta(seconds=settings.login_account_max_delay_s)
        # the attacker keeps going: the delay has grown (set here rather than by sleeping)
        row.not_before = utcnow() + timedelta(seconds=30)
    held = login(live_server.url, "partout", PASSWORD, xff="198.51.100.2")
    assert held.status_code == 429 and held.json()["code"] == "too_many_attempts"
    wait = held.json()["retry_after_s"]
    assert 1 <= wait <= settings.login_account_max_delay_s
    assert "seconde" in held.json()["message"] and "carte CPS" in held.json()["message"]
    with db() as s:  # the delay passes (rather than sleeping in a test)
        s.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == "account:partout")
            .values(not_before=utcnow() - timedelta(seconds=1))
        )
    assert login(live_server.url, "partout", PASSWORD, xff="198.51.100.2").status_code == 200


@pytest.fixture
def soft_card(settings, tmp_path):
    """A test IGC-Santé chain the platform trusts, and a card key held in software: the
    platform only sees a certificate and a signature, as from a real card."""
    from cryptography.hazmat.primitives import serialization

    from sisra.devtools.pki import make_ca, make_crl, make_intermediate

    root = make_ca()
    issuing = make_intermediate(root)
    pem = serialization.Encoding.PEM
    (tmp_path / "root.pem").write_bytes(root.cert.public_bytes(pem))
    (tmp_path / "issuing.pem").write_bytes(issuing.cert.public_bytes(pem))
    for name, ca in (("root", root), ("issuing", issuing)):
        (tmp_path / f"{name}.crl").write_bytes(make_crl(ca, []).public_bytes(pem))
    settings.cps_trust_anchors = [tmp_path / "root.pem"]
    settings.cps_intermediates = [tmp_path / "issuing.pem"]
    settings.cps_crls = [str(tmp_path / "root.crl"), str(tmp_path / "issuing.crl")]
    return issuing


def test_card_login_still_works_while_the_password_is_throttled(
    soft_card, live_server, make_pro, db
):
    import base64

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    from sisra.devtools.pki import issue_professional_cert
    from sisra.platform.models import Professional

    pro = make_pro("carte.bloquee", log_in=False)
    with db() as s:
        nid = s.get(Professional, pro.id).national_id
    for _ in range(6):
        login(live_server.url, "carte.bloquee", "mauvais-mdp-1")
    assert login(live_server.url, "carte.bloquee", PASSWORD).status_code == 429
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = issue_professional_cert(
        soft_card, key.public_key(), national_id=nid, first_name="Léa", last_name="Carte"
    )

    def signed() -> dict:
        challenge = httpx.post(f"{live_server.url}/api/v1/auth/cps/challenge").json()
        signature = key.sign(
            base64.b64decode(challenge["challenge"]), padding.PKCS1v15(), hashes.SHA256()
        )
        der = cert.public_bytes(serialization.Encoding.DER)
        return {
            "challenge_id": challenge["challenge_id"],
            "certificate": base64.b64encode(der).decode(),
            "signature": base64.b64encode(signature).decode(),
        }

    r = httpx.post(f"{live_server.url}/api/v1/auth/cps/verify", json=signed(), timeout=30)
    assert r.status_code == 200, r.text
    # a challenge is single use, even when one signature is fired many times at once
    answers = burst(f"{live_server.url}/api/v1/auth/cps/verify", [signed()] * 6)
    statuses = Counter(a.status_code for a in answers)
    assert statuses == {200: 1, 401: 5}, [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 401} == {"challenge_replayed"}
    with db() as s:
        ok = s.scalar(
            select(func.count()).where(AuditEvent.action == "auth.cps", AuditEvent.outcome == "ok")
        )
    assert ok == 2


def test_a_web_link_opened_many_times_at_once_opens_one_session(live_server, make_pro, db):
    from sisra.platform.models import WebSession

    pro = make_pro("lien.unique")
    url = httpx.post(
        f"{live_server.url}/api/v1/auth/web-ticket",
        json={"target": "/accueil"},
        headers=pro.headers,
    ).json()["url"]
    path = "/web/ticket/" + url.split("/web/ticket/", 1)[1]
    results: list[int] = []
    barrier = threading.Barrier(8)

    def open_link() -> None:
        with httpx.Client(base_url=live_server.url, timeout=60) as client:
            barrier.wait()
            results.append(client.get(path, follow_redirects=False).status_code)

    threads = [threading.Thread(target=open_link) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert Counter(results) == {303: 1, 401: 7}
    with db() as s:
        assert s.scalar(select(func.count()).select_from(WebSession)) == 1


# --- the owner's known device is not kept out by strangers' failures ------------------------
# The attacker and the owner are told apart by their real source address: each client binds
# its socket to its own loopback address (127.0.0.x), no proxy header involved.

ATTACKERS = [f"127.0.0.{i}" for i in range(2, 8)]


def from_address(base: str, address: str, **kwargs) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=base, transport=transport, timeout=60, **kwargs)


def web_login(client: httpx.Client, smtp_sink, login: str, password: str) -> httpx.Response:
    """The two-step web login in ``client`` (its cookies: the known-device cookie, if any);
    the last answer (303 once logged in)."""
    page = client.get("/connexion")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    step1 = client.post(
        "/connexion", data={"identifier": login, "password": password, "csrf": csrf}
    )
    if step1.status_code != 200:
        return step1
    flow_id = re.search(r'name="flow_id" value="([^"]+)"', step1.text).group(1)
    code = smtp_sink.last_to(f"{login}@demo.sisra.test").code()
    return client.post(
        "/connexion/code",
        data={"flow_id": flow_id, "code": code, "csrf": csrf},
        follow_redirects=False,
    )


def app_login(client: httpx.Client, smtp_sink, login: str, tokens: dict | None) -> httpx.Response:
    """MonSisra's two-step login, giving the refresh token and device it holds (a renewal)."""
    held = {"refresh_token": tokens["refresh_token"]} if tokens else {}
    step1 = client.post(
        "/api/v1/auth/login", json={"identifier": login, "password": PASSWORD, **held}
    )
    if step1.status_code != 200:
        return step1
    code = smtp_sink.last_to(f"{login}@demo.sisra.test").code()
    device = {"device_id": tokens["device_id"]} if tokens else {}
    return client.post(
        "/api/v1/auth/otp/verify",
        json={"flow_id": step1.json()["flow_id"], "code": code, **device},
    )


class Attack:
    """Wrong passwords for ``login`` at a steady rate from every attacker address, until
    stopped; the answers' status codes."""

    def __init__(self, base: str, login: str, cookies: dict | None = None) -> None:
        self.statuses: list[int] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._poll, args=(base, login, a, cookies)) for a in ATTACKERS
        ]

    def _poll(self, base: str, login: str, address: str, cookies: dict | None) -> None:
        with from_address(base, address, cookies=cookies) as client:
            i = 0
            while not self._stop.is_set():
                i += 1
                body = {"identifier": login, "password": f"devine-{address}-{i}"}
                self.statuses.append(client.post("/api/v1/auth/login", json=body).status_code)
                self._stop.wait(0.1)

    def __enter__(self) -> "Attack":
        for t in self._threads:
            t.start()
        while len(self.statuses) < 20:  # the account is under attack before the owner comes
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)


def test_the_owner_on_known_devices_gets_in_every_time_while_attacked(
    soft_card, live_server, make_pro, smtp_sink, settings, db
):
    from sisra.client import auth as client_auth
    from sisra.client.api import ApiError, PlatformClient
    from sisra.platform.models import Professional

    pro = make_pro("assiegee.proprietaire", log_in=False)
    login_, email = "assiegee.proprietaire", "assiegee.proprietaire@demo.sisra.test"
    with db() as s:
        nid = s.get(Professional, pro.id).national_id
    # before the attack: the owner's browser and MonSisra have each completed a login; the
    # browser shares its address with one of the attackers (a hospital's one address)
    browser = from_address(live_server.url, ATTACKERS[0])
    assert web_login(browser, smtp_sink, login_, PASSWORD).status_code == 303
    local = httpx.HTTPTransport(local_address="127.0.0.1")
    monsisra = PlatformClient(live_server.url, transport=local)
    sent = client_auth.start_two_step(monsisra, login_, PASSWORD)
    creds = client_auth.finish_two_step(monsisra, sent, smtp_sink.last_to(email).code())

    def renewal() -> str:
        """What MonSisra does after strong_auth_required: the two-step login, giving the
        refresh token and device it holds."""
        nonlocal creds
        try:
            sent = client_auth.start_two_step(monsisra, login_, PASSWORD, creds.refresh_token)
            code = smtp_sink.last_to(email).code()
            renewed = client_auth.finish_two_step(monsisra, sent, code, device_id=creds.device_id)
        except ApiError as exc:
            return exc.code
        assert renewed.device_id == creds.device_id  # the same computer, renewed
        creds = renewed
        return "ok"

    with Attack(live_server.url, login_) as attack:
        web, app = [], []
        for _ in range(12):
            web.append(web_login(browser, smtp_sink, login_, PASSWORD).status_code)
            app.append(renewal())
        # the way in of an unknown device stays as protected as before: slowed
        stranger = [login(live_server.url, login_, PASSWORD).status_code for _ in range(3)]
        # the CPS card is never throttled by password failures
        card = _card_login(soft_card, live_server.url, nid)
    assert web == [303] * 12, web
    assert app == ["ok"] * 12, app
    assert 429 in stranger, stranger
    assert card.status_code == 200, card.text
    # the attacker is throttled as before: at most the per-address limit judged per address
    seen = Counter(attack.statuses)
    assert set(seen) <= {401, 429}, seen
    assert seen[401] <= len(ATTACKERS) * settings.login_max_failures_per_account_source
    assert seen[429] > 0
    browser.close()
    monsisra.close()


def _card_login(ca, base: str, national_id: str) -> httpx.Response:
    import base64

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    from sisra.devtools.pki import issue_professional_cert

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = issue_professional_cert(
        ca, key.public_key(), national_id=national_id, first_name="Léa", last_name="Carte"
    )
    challenge = httpx.post(f"{base}/api/v1/auth/cps/challenge").json()
    signature = key.sign(
        base64.b64decode(challenge["challenge"]), padding.PKCS1v15(), hashes.SHA256()
    )
    body = {
        "challenge_id": challenge["challenge_id"],
        "certificate": base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode(),
        "signature": base64.b64encode(signature).decode(),
    }
    return httpx.post(f"{base}/api/v1/auth/cps/verify", json=body, timeout=30)


def test_a_stolen_or_forged_device_marker_gives_no_bypass(
    live_server, make_pro, smtp_sink, settings
):
    make_pro("marquee", log_in=False)
    make_pro("autre.compte", log_in=False)
    owner = from_address(live_server.url, "127.0.0.1")
    assert web_login(owner, smtp_sink, "marquee", PASSWORD).status_code == 303
    stolen = owner.cookies.get("sisra_appareil")
    limit = settings.login_max_failures_per_device
    # the marker alone logs no one in: a wrong password is refused, a right one only starts
    # the two-step login (no session)
    with from_address(live_server.url, "127.0.0.2", cookies={"sisra_appareil": stolen}) as c:
        assert web_login(c, smtp_sink, "marquee", "devine-0").status_code == 401
        c.get("/connexion")
        csrf = c.cookies.get("sisra_csrf")
        step1 = c.post(
            "/connexion", data={"identifier": "marquee", "password": PASSWORD, "csrf": csrf}
        )
        assert step1.status_code == 200 and "Saisissez votre code" in step1.text
        assert "sisra_session" not in c.cookies
    # a stolen cookie, from fresh addresses: the device's own limit, whatever the address
    answers = []
    for i in range(2 * limit):
        address = ATTACKERS[i % len(ATTACKERS)]
        with from_address(live_server.url, address, cookies={"sisra_appareil": stolen}) as c:
            answers.append(web_login(c, smtp_sink, "marquee", f"devine-{i}").status_code)
    assert answers.count(401) == limit - 1 and answers.count(429) == limit + 1, answers
    # a forged cookie, or another account's, is no known device: the usual per-address limit
    forged = {"sisra_appareil": "skd_" + "A" * 43}
    other = from_address(live_server.url, "127.0.0.1")
    assert web_login(other, smtp_sink, "autre.compte", PASSWORD).status_code == 303
    per_address = settings.login_max_failures_per_account_source
    theirs = {"sisra_appareil": other.cookies.get("sisra_appareil")}
    for address, cookies in (("127.0.0.9", forged), ("127.0.0.10", theirs)):
        with from_address(live_server.url, address, cookies=cookies) as c:
            tries = [
                web_login(c, smtp_sink, "marquee", f"faux-{i}").status_code
                for i in range(per_address + 1)
            ]
        assert tries == [401] * per_address + [429], tries
    # a refresh token that is spent, or another professional's, is no known device either
    with from_address(live_server.url, "127.0.0.11") as c:
        spent = app_login(c, smtp_sink, "autre.compte", None).json()
        assert c.post("/api/v1/auth/refresh", json=spent).status_code == 200
        for i in range(per_address + 1):
            last = c.post(
                "/api/v1/auth/login",
                json={"identifier": "marquee", "password": f"x-{i}", **spent},
            )
        assert last.status_code == 429
    owner.close()
    other.close()


def test_parallel_wrong_passwords_from_a_known_device_are_judged_at_most_its_limit(
    live_server, make_pro, smtp_sink, db, settings
):
    """The device's counter is claimed like the others: a copied refresh token fired in
    parallel with wrong passwords gets at most its limit judged."""
    make_pro("rafale.connue", log_in=False)
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        tokens = otp_login(client, smtp_sink, "rafale.connue", "rafale.connue@demo.sisra.test")
    body = {
        "identifier": "rafale.connue",
        "password": "mauvais-mdp-1",
        "refresh_token": tokens["refresh_token"],
    }
    answers = burst(f"{live_server.url}/api/v1/auth/login", [body] * 15)
    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) <= {401, 429}, statuses
    assert audit_count(db, "auth.login", outcome="refused") == statuses[401]
    assert statuses[401] <= settings.login_max_failures_per_device
    with db() as s:  # counted on the device, not on the account
        from sisra.platform.models import LoginThrottle

        failures = {row.key: row.failures for row in s.scalars(select(LoginThrottle))}
    assert failures[f"device:{tokens['device_id']}"] == statuses[401]
    assert failures.get("account:rafale.connue", 0) == 0

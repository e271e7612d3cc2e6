"""Web login (two-step, as the API) and the one-time web ticket that MonSisra uses."""

import re
from datetime import timedelta

from sqlalchemy import select, update

from sisra.platform.models import AuditEvent, WebTicket, utcnow


def _csrf(page_html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page_html).group(1)


def test_two_step_web_login_opens_a_session(app_client, make_pro, password, smtp_sink):
    make_pro("elodie.lefevre", first_name="Élodie", last_name="Lefèvre", log_in=False)
    page = app_client.get("/connexion")
    assert page.status_code == 200 and "Identifiant" in page.text
    assert 'for="identifier"' in page.text and 'for="password"' in page.text  # labelled fields
    csrf = _csrf(page.text)
    step2 = app_client.post(
        "/connexion",
        data={"identifier": "elodie.lefevre", "password": password, "csrf": csrf},
    )
    assert step2.status_code == 200 and "Saisissez votre code" in step2.text
    flow_id = re.search(r'name="flow_id" value="([^"]+)"', step2.text).group(1)
    code = smtp_sink.last_to("elodie.lefevre@demo.sisra.test").code()
    done = app_client.post(
        "/connexion/code",
        data={"flow_id": flow_id, "code": code, "csrf": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/accueil"
    cookie = done.headers["set-cookie"]
    assert "sisra_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    home = app_client.get("/accueil")
    assert home.status_code == 200 and "Élodie" in home.text
    assert home.headers["content-security-policy"].startswith("default-src 'self'")
    assert home.headers["x-frame-options"] == "DENY"


def test_web_login_errors_are_shown_in_french_on_the_form(app_client, make_pro, smtp_sink):
    make_pro("marc", log_in=False)
    csrf = _csrf(app_client.get("/connexion").text)
    wrong = app_client.post(
        "/connexion", data={"identifier": "marc", "password": "faux-mot-2026", "csrf": csrf}
    )
    assert wrong.status_code == 401
    assert "Identifiant ou mot de passe incorrect" in wrong.text and 'role="alert"' in wrong.text
    assert 'value="marc"' in wrong.text  # the identifier is kept
    forged = app_client.post(
        "/connexion", data={"identifier": "marc", "password": "x", "csrf": "forged"}
    )
    assert forged.status_code == 403


def test_pages_need_a_session(app_client):
    r = app_client.get("/accueil", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/connexion?next=/accueil"


def test_web_ticket_opens_the_target_page_once(app_client, make_pro, db):
    pro = make_pro("ticket", first_name="Noémie")
    r = app_client.post("/api/v1/auth/web-ticket", headers=pro.headers, json={"target": "/accueil"})
    assert r.status_code == 200
    url = r.json()["url"]
    path = url.split("127.0.0.1:8000", 1)[1]
    app_client.cookies.clear()
    opened = app_client.get(path, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/accueil"
    assert "Noémie" in app_client.get("/accueil").text
    app_client.cookies.clear()
    replay = app_client.get(path, follow_redirects=False)
    assert replay.status_code == 401 and "déjà servi" in replay.text
    with db() as s:
        refused = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "auth.web_ticket_use", AuditEvent.outcome == "refused"
            )
        ).all()
    assert [r.details["reason"] for r in refused] == ["used"]


def test_expired_web_ticket_and_bad_targets_are_refused(app_client, make_pro, db):
    pro = make_pro()
    url = app_client.post(
        "/api/v1/auth/web-ticket", headers=pro.headers, json={"target": "/accueil"}
    ).json()["url"]
    with db() as s:
        s.execute(update(WebTicket).values(expires_at=utcnow() - timedelta(seconds=1)))
    app_client.cookies.clear()
    expired = app_client.get(url.split("8000", 1)[1], follow_redirects=False)
    assert expired.status_code == 401 and "expiré" in expired.text
    for target in ("https://evil.example/", "//evil.example", "/../etc", "javascript:alert(1)"):
        r = app_client.post("/api/v1/auth/web-ticket", headers=pro.headers, json={"target": target})
        assert r.status_code == 422 and r.json()["code"] == "invalid_target", target
    assert (
        app_client.post("/api/v1/auth/web-ticket", json={"target": "/accueil"}).status_code == 401
    )
    unknown = app_client.get("/web/ticket/swt_inconnu", follow_redirects=False)
    assert unknown.status_code == 401


def test_logout_closes_the_session(app_client, make_pro):
    pro = make_pro()
    url = app_client.post(
        "/api/v1/auth/web-ticket", headers=pro.headers, json={"target": "/accueil"}
    ).json()["url"]
    app_client.get(url.split("8000", 1)[1])
    home = app_client.get("/accueil")
    r = app_client.post("/deconnexion", data={"csrf": _csrf(home.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert app_client.get("/accueil", follow_redirects=False).status_code == 303
    # the person is told it worked, on the login page, and whom to ask for a forgotten password
    landing = app_client.get(r.headers["location"])
    assert "Vous êtes déconnecté(e)." in landing.text
    assert "Mot de passe oublié ?" in landing.text and "contact@" in landing.text
    assert "Vous êtes déconnecté(e)." not in app_client.get("/connexion").text


def test_a_two_step_web_login_makes_the_browser_known(
    app_client, make_pro, password, smtp_sink, db
):
    """The known-device cookie: HttpOnly, strict, only sent to the login pages, long-lived,
    stored hashed; the same browser keeps its cookie; disabling the account revokes it."""
    from sisra.platform.auth.tokens import hash_token
    from sisra.platform.context import SYSTEM
    from sisra.platform.directory import service as directory
    from sisra.platform.models import KnownDevice, Professional

    pro = make_pro("connu", log_in=False)

    def log_in() -> str:
        csrf = _csrf(app_client.get("/connexion").text)
        step2 = app_client.post(
            "/connexion", data={"identifier": "connu", "password": password, "csrf": csrf}
        )
        flow_id = re.search(r'name="flow_id" value="([^"]+)"', step2.text).group(1)
        code = smtp_sink.last_to("connu@demo.sisra.test").code()
        done = app_client.post(
            "/connexion/code",
            data={"flow_id": flow_id, "code": code, "csrf": csrf},
            follow_redirects=False,
        )
        assert done.status_code == 303
        cookie = next(
            c for c in done.headers.get_list("set-cookie") if c.startswith("sisra_appareil=")
        )
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Path=/connexion" in cookie and "Max-Age=15552000" in cookie  # 180 days
        return cookie.split(";", 1)[0].split("=", 1)[1]

    first = log_in()
    assert log_in() == first  # the same browser stays the same known device
    with db() as s:
        rows = s.scalars(select(KnownDevice)).all()
        assert [r.token_hash for r in rows] == [hash_token(first)]  # only its hash is kept
        directory.set_active(s, SYSTEM, s.get(Professional, pro.id), False)
    with db() as s:
        assert s.scalars(select(KnownDevice)).one().revoked_at is not None

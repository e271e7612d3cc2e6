"""« Changer mon mot de passe »: a logged-in professional replaces their portal password."""

from typing import Any

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import select

from sisra.platform.auth.passwords import verify_password
from sisra.platform.models import AuditEvent, Professional
from support.personas import PASSWORD, otp_login

NEW = "Nouveau-mot2passe"
PATH = "/mon-compte/mot-de-passe"


def _submit(page: Page, current: str, new: str, confirmation: str) -> None:
    page.get_by_label("Mot de passe actuel").fill(current)
    page.get_by_label("Nouveau mot de passe", exact=True).fill(new)
    page.get_by_label("Confirmez le nouveau mot de passe").fill(confirmation)
    page.get_by_role("button", name="Changer mon mot de passe").click()


def _password_is(db: Any, persona: Any, password: str) -> bool:
    with db() as s:
        return verify_password(s.get(Professional, persona.id).password_hash, password)


def test_the_password_is_changed_and_other_connections_end(
    make_pro: Any, web_as: Any, app_client: Any, smtp_sink: Any, db: Any
) -> None:
    pro = make_pro("change.ok")
    # the same professional on another computer (MonSisra): a second device
    other = otp_login(app_client, smtp_sink, "change.ok", "change.ok@demo.sisra.test")
    page: Page = web_as(pro, "/accueil")
    page.get_by_role("link", name="Changer mon mot de passe").click()
    expect(page.get_by_role("heading", name="Changer mon mot de passe")).to_be_visible()
    _submit(page, PASSWORD, NEW, NEW)
    expect(page.get_by_role("status")).to_contain_text("Votre mot de passe a été changé")
    assert _password_is(db, pro, NEW)
    # this browser is still logged in, and so is the MonSisra device that opened it
    page.get_by_role("link", name="Documents reçus").first.click()
    expect(page.get_by_role("heading", name="Documents reçus")).to_be_visible()
    assert app_client.get("/api/v1/inbox", headers=pro.headers).status_code == 200
    # the other device is out: its access token and its refresh token are refused
    bearer = {"Authorization": f"Bearer {other['access_token']}"}
    assert app_client.get("/api/v1/inbox", headers=bearer).status_code == 401
    r = app_client.post("/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert r.status_code == 401
    # the old password no longer logs in, the new one does
    old = {"identifier": "change.ok", "password": PASSWORD}
    r = app_client.post("/api/v1/auth/login", json=old)
    assert r.status_code == 401
    assert otp_login(app_client, smtp_sink, "change.ok", "change.ok@demo.sisra.test", NEW)
    with db() as s:
        rows = s.execute(
            select(AuditEvent.outcome).where(AuditEvent.action == "auth.password_changed")
        ).all()
        assert [r.outcome for r in rows] == ["ok"]


def test_a_wrong_current_password_a_mismatch_or_a_weak_one_change_nothing(
    make_pro: Any, web_as: Any, db: Any
) -> None:
    pro = make_pro("change.ko")
    page: Page = web_as(pro, PATH)
    cases = [
        (("Pas-le-bon-1", NEW, NEW), "Mot de passe actuel incorrect"),
        ((PASSWORD, NEW, NEW + "x"), "ne sont pas identiques"),
        ((PASSWORD, "court1", "court1"), "au moins 10 caractères"),
        ((PASSWORD, "seulementdeslettres", "seulementdeslettres"), "mêler lettres et chiffres"),
        ((PASSWORD, PASSWORD, PASSWORD), "différent de l'actuel"),
    ]
    for (current, new, confirmation), message in cases:
        _submit(page, current, new, confirmation)
        expect(page.get_by_role("alert")).to_contain_text(message)
        assert _password_is(db, pro, PASSWORD)
    with db() as s:
        reasons = s.scalars(
            select(AuditEvent.details).where(
                AuditEvent.action == "auth.password_changed", AuditEvent.outcome == "refused"
            )
        ).all()
        assert [d["reason"] for d in reasons] == ["wrong_current"]


def test_guessing_the_current_password_is_throttled_like_a_login(
    make_pro: Any, web_as: Any, db: Any
) -> None:
    pro = make_pro("change.guess")
    page: Page = web_as(pro, PATH)
    for n in range(5):
        _submit(page, f"Devinette-{n}", NEW, NEW)
        expect(page.get_by_role("alert")).to_contain_text("Mot de passe actuel incorrect")
    # the right one is now refused too, until the window ends
    _submit(page, PASSWORD, NEW, NEW)
    expect(page.get_by_role("alert")).to_contain_text("Trop d'essais du mot de passe actuel")
    assert _password_is(db, pro, PASSWORD)


def test_nobody_logged_in_or_a_forged_form_is_refused(
    make_pro: Any, web_as: Any, live_server: Any, db: Any
) -> None:
    pro = make_pro("change.outsider")
    # not logged in: the login page, for the page and for the form
    r = httpx.get(live_server.url + PATH, timeout=30)
    assert r.status_code == 303 and r.headers["location"].startswith("/connexion")
    form = {"current": PASSWORD, "password": NEW, "confirmation": NEW, "csrf": "x"}
    r = httpx.post(live_server.url + PATH, data=form, timeout=30)
    assert r.status_code == 303 and r.headers["location"].startswith("/connexion")
    # logged in, but the form does not carry the session's CSRF token
    page: Page = web_as(pro, PATH)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    r = httpx.post(live_server.url + PATH, data=form, cookies=cookies, timeout=30)
    assert r.status_code == 403
    assert _password_is(db, pro, PASSWORD)


def test_without_a_password_the_page_says_how_to_get_one(
    make_pro: Any, web_as: Any, db: Any
) -> None:
    pro = make_pro("change.card")
    with db() as s:
        s.get(Professional, pro.id).password_hash = None
    page: Page = web_as(pro, PATH)
    expect(page.get_by_text("Vous n'avez pas de mot de passe sur la plateforme")).to_be_visible()
    expect(page.get_by_label("Mot de passe actuel")).to_have_count(0)

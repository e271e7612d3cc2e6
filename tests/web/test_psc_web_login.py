"""« Se connecter avec Pro Santé Connect » clicked through in Chromium, against a real OpenID
Connect provider (oidc-provider) issuing Pro Santé Connect shaped identities."""

import re

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import select

from sisra.platform.models import AuditEvent
from support.psc import national_id_of, psc_provider_login


def _audit(db, action: str) -> list[AuditEvent]:
    with db() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_login_with_pro_sante_connect(psc_server, make_pro, db, page: Page):
    pro = make_pro("psc.web", first_name="Inès", last_name="Garnier", log_in=False)
    page.goto(f"{psc_server.url}/accueil")
    expect(page).to_have_url(re.compile(r"/connexion\?next=/accueil$"))
    page.get_by_role("link", name="Se connecter avec Pro Santé Connect").click()
    expect(page.get_by_label("Identifiant national")).to_be_visible()
    psc_provider_login(page, national_id_of(db, pro))
    expect(page.get_by_role("heading", name="Bonjour Inès Garnier")).to_be_visible()
    expect(page).to_have_url(f"{psc_server.url}/accueil")
    logins = _audit(db, "auth.web_login")
    assert [e.details for e in logins] == [{"method": "psc"}]
    assert logins[0].actor_id == pro.id
    (ok,) = _audit(db, "auth.psc.login")
    assert ok.outcome == "ok" and ok.details["national_id"] == national_id_of(db, pro)
    assert ok.details["acr"] == "eidas1"


def test_unknown_professional_is_refused_in_french(psc_server, db, page: Page):
    page.goto(f"{psc_server.url}/connexion")
    page.get_by_role("link", name="Se connecter avec Pro Santé Connect").click()
    psc_provider_login(page, "810000000000")  # valid shape, nobody in the directory
    expect(page.get_by_role("alert")).to_contain_text("pas inscrit(e) dans l'annuaire Sisra")
    expect(page.get_by_role("alert")).to_contain_text("810000000000")
    (refused,) = _audit(db, "auth.psc.login")
    assert refused.outcome == "refused"
    assert refused.details["reason"] == "psc_unknown_professional"
    assert not _audit(db, "auth.web_login")


def test_inactive_professional_is_refused(psc_server, make_pro, db, page: Page):
    from sisra.platform.models import Professional

    pro = make_pro("psc.inactive", log_in=False)
    with db() as session:
        session.get(Professional, pro.id).active = False
    page.goto(f"{psc_server.url}/connexion/psc")
    psc_provider_login(page, national_id_of(db, pro))
    expect(page.get_by_role("alert")).to_contain_text("Votre compte Sisra est désactivé")
    (refused,) = _audit(db, "auth.psc.login")
    assert refused.details["reason"] == "psc_account_disabled"


def test_callback_replayed_or_forged_is_refused(psc_server, make_pro, db, page: Page):
    pro = make_pro("psc.replay", first_name="Yves", last_name="Roux", log_in=False)
    page.goto(f"{psc_server.url}/connexion/psc")
    callbacks: list[str] = []
    page.on(
        "request",
        lambda r: callbacks.append(r.url) if "/connexion/psc/retour" in r.url else None,
    )
    psc_provider_login(page, national_id_of(db, pro))
    expect(page.get_by_role("heading", name="Bonjour Yves Roux")).to_be_visible()
    assert len(callbacks) == 1
    # the same callback again (state and code spent): refused, audited, no second session
    page.goto(callbacks[0])
    expect(page.get_by_role("alert")).to_contain_text("a déjà servi")
    # a state nobody issued
    page.goto(f"{psc_server.url}/connexion/psc/retour?state=forged-state&code=abc")
    expect(page.get_by_role("alert")).to_contain_text("ne correspond à aucune connexion")
    reasons = [e.details["reason"] for e in _audit(db, "auth.psc.login") if e.outcome != "ok"]
    assert sorted(reasons) == ["psc_state_replayed", "psc_state_unknown"]
    assert len(_audit(db, "auth.web_login")) == 1


def test_flow_started_in_another_browser_is_refused(psc_server, make_pro, db, page: Page):
    """Login CSRF: someone starts a login and lets another browser finish it at the provider;
    the callback arrives without the starting browser's cookie and opens nothing."""
    pro = make_pro("psc.csrf", log_in=False)
    started = httpx.get(f"{psc_server.url}/connexion/psc", follow_redirects=False)
    assert started.status_code == 303 and "sisra_psc" in started.cookies
    page.goto(started.headers["location"])
    psc_provider_login(page, national_id_of(db, pro))
    expect(page.get_by_role("alert")).to_contain_text("commencée dans un autre navigateur")
    (refused,) = _audit(db, "auth.psc.login")
    assert refused.details["reason"] == "psc_browser_mismatch"
    assert not _audit(db, "auth.web_login")


def test_button_hidden_and_routes_closed_when_not_configured(live_server, page: Page):
    page.goto(f"{live_server.url}/connexion")
    expect(page.get_by_role("button", name="Recevoir mon code")).to_be_visible()
    expect(page.get_by_text("Pro Santé Connect")).to_have_count(0)
    response = page.goto(f"{live_server.url}/connexion/psc")
    assert response is not None and response.status == 404
    expect(page.get_by_role("alert")).to_contain_text("n'est pas activée sur cette plateforme")


def test_cancelled_at_the_provider_and_expired_flows_are_refused(psc_server, settings, db):
    from urllib.parse import parse_qs, urlsplit

    with httpx.Client(base_url=psc_server.url) as browser:
        started = browser.get("/connexion/psc")
        state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
        back = browser.get(f"/connexion/psc/retour?state={state}&error=access_denied")
        assert back.status_code == 401
        assert "(annulée ou refusée par Pro Santé Connect)" in back.text
        settings.psc_flow_ttl_s = 0  # a trip that took longer than allowed
        started = browser.get("/connexion/psc")
        state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
        late = browser.get(f"/connexion/psc/retour?state={state}&code=anything")
        assert late.status_code == 401 and "Le délai de connexion est dépassé" in late.text
    reasons = [e.details["reason"] for e in _audit(db, "auth.psc.login")]
    assert reasons == ["psc_cancelled", "psc_flow_expired"]


def test_after_logging_out_the_next_person_authenticates_again(
    psc_server, make_pro, db, page: Page
):
    """A shared computer at the practice: once Dr Roy has logged out of Sisra, « Se connecter
    avec Pro Santé Connect » never reuses her session at the provider (still open in this
    browser): the provider asks again, and Dr Petit gets his own account."""
    roy = make_pro("psc.roy", first_name="Lise", last_name="Roy", log_in=False)
    petit = make_pro("psc.petit", first_name="Noé", last_name="Petit", log_in=False)
    page.goto(f"{psc_server.url}/connexion")
    page.get_by_role("link", name="Se connecter avec Pro Santé Connect").click()
    psc_provider_login(page, national_id_of(db, roy))
    expect(page.get_by_role("heading", name="Bonjour Lise Roy")).to_be_visible()
    page.get_by_role("button", name="Déconnexion").click()
    expect(page).to_have_url(re.compile(r"/connexion"))

    page.get_by_role("link", name="Se connecter avec Pro Santé Connect").click()
    expect(page.get_by_label("Identifiant national")).to_be_visible()
    psc_provider_login(page, national_id_of(db, petit))
    expect(page.get_by_role("heading", name="Bonjour Noé Petit")).to_be_visible()
    logins = _audit(db, "auth.web_login")
    assert [e.actor_id for e in logins] == [roy.id, petit.id]

"""MonSisra's engine enrols through Pro Santé Connect: the system browser (here Chromium,
injected) goes to a real OpenID Connect provider, comes back to the platform, which hands a
one-time code to the engine's loopback address; the engine redeems it with its own PKCE
verifier. Then the periodic strong re-authentication renews the same device the same way."""

import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import Page
from sqlalchemy import select, update

from sisra.client import auth
from sisra.client.api import ApiError, PlatformClient
from sisra.client.psc import PscLogin, enrol_with_psc
from sisra.platform.models import AuditEvent, Device, utcnow
from support.psc import national_id_of, psc_provider_login


def _browser(page: Page, national_id: str, seen: list[str]):
    """The injected « system browser »: Chromium opens the address and the professional
    confirms on the provider's page."""

    def _open(url: str) -> None:
        seen.append(url)
        page.goto(url)
        psc_provider_login(page, national_id)

    return _open


def test_enrol_then_renew_with_psc(psc_server, make_pro, db, page: Page):
    pro = make_pro("psc.app", first_name="Marc", last_name="Lenoir", log_in=False)
    nid = national_id_of(db, pro)
    seen: list[str] = []
    with PlatformClient(psc_server.url) as client:
        creds = enrol_with_psc(client, _browser(page, nid, seen), device_name="Poste test")
        assert creds.professional_id == str(pro.id)
        assert "acr_values=eidas1" in seen[0] and "code_challenge_method=S256" in seen[0]
        page.get_by_text("Revenez à MonSisra").wait_for()
        with db() as s:
            device = s.get(Device, uuid.UUID(creds.device_id))
            assert device.auth_method == "psc" and device.name == "Poste test"
            assert device.strong_auth_at is not None
        creds = auth.refresh(client, creds)  # the tokens work

        # a month later: strong authentication again, with e-CPS, renews the same device
        with db() as s:
            s.execute(update(Device).values(strong_auth_at=utcnow() - timedelta(days=31)))
        with pytest.raises(auth.StrongAuthRequired) as asked:
            auth.refresh(client, creds)
        assert "e-CPS" in asked.value.message
        renewed = enrol_with_psc(client, _browser(page, nid, seen), device_id=creds.device_id)
        assert renewed.device_id == creds.device_id
        auth.refresh(client, renewed)
    with db() as s:
        actions = [
            (e.action, e.outcome)
            for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))
            if e.action.startswith(("auth.psc", "auth.device"))
        ]
    assert actions == [
        ("auth.psc.start", "ok"),
        ("auth.psc.login", "ok"),
        ("auth.psc.redeem", "ok"),
        ("auth.device_enrolled", "ok"),
        ("auth.psc.start", "ok"),
        ("auth.psc.login", "ok"),
        ("auth.psc.redeem", "ok"),
        ("auth.device_renewed", "ok"),
    ]


def test_unknown_professional_comes_back_to_monsisra_as_a_french_refusal(
    psc_server, db, page: Page
):
    with PlatformClient(psc_server.url) as client, pytest.raises(ApiError) as refused:
        enrol_with_psc(client, _browser(page, "899999999999", []))
    assert refused.value.code == "psc_refused"
    assert "pas inscrit(e) dans l'annuaire Sisra" in refused.value.message
    page.get_by_text("Connexion refusée").wait_for()


def test_a_login_left_unfinished_ends_by_timeout_or_cancel(psc_server):
    with PlatformClient(psc_server.url) as client:
        with pytest.raises(ApiError) as late:
            PscLogin(client, lambda _url: None, timeout_s=0.5).run()
        assert late.value.code == "psc_timeout"
        login = PscLogin(client, lambda _url: login.cancel())
        with pytest.raises(ApiError) as cancelled:
            login.run()
        assert cancelled.value.code == "psc_cancelled"

"""« Courriels captés » (/demo/courriels): the demo's mails decoded, their links clickable; the
first-login mail reads as one message (the platform named once, no « reçu par e-mail »)."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from sisra.platform.models import Role
from sisra.platform.settings import Settings


@pytest.fixture
def demo(settings: Settings, smtp_sink: Any) -> Iterator[Settings]:
    """Demo mode, the sink writing its mails where the demo keeps them (as `sisra demo`)."""
    settings.demo_mode = True
    smtp_sink.directory = settings.data_dir / "mails"
    yield settings
    smtp_sink.directory = None


def test_the_first_login_mail_is_readable_with_its_link(
    demo: Settings, make_pro: Any, web_as: Any
) -> None:
    admin = make_pro("admin.demo", role=Role.administrator, first_name="Alice")
    newcomer = make_pro("noemie.girard", first_name="Noémie", last_name="Girard", log_in=False).id
    page: Page = web_as(admin, f"/admin/annuaire/{newcomer}")
    page.get_by_role("button", name="Envoyer un lien pour choisir son mot de passe").click()
    expect(page.get_by_role("status")).to_contain_text("Un lien pour choisir son mot de passe")
    # on the wire the text is encoded (quoted-printable): the page must decode it
    (raw,) = [
        p.read_bytes()
        for p in (demo.data_dir / "mails").glob("*.eml")
        if b"Girard" in p.read_bytes()
    ]
    assert "Noémie".encode() not in raw

    base = page.url.split("/admin")[0]
    page.goto(base + "/demo/courriels")
    mail = page.get_by_role("article").filter(has_text="noemie.girard@demo.sisra.test")
    expect(mail.get_by_role("heading")).to_contain_text("Votre accès à")
    text = mail.locator("pre.mail-body")
    expect(text).to_contain_text("Bonjour Noémie Girard")
    expect(text).to_contain_text("identifiant « noemie.girard »")
    body = text.inner_text()
    # one message from the operator: the platform described once, no « reçu par e-mail »
    assert body.count("plateforme") == 1, body
    assert "reçu par e-mail" not in body and "par e-mail" not in body, body
    link = mail.locator("a[href*='/premiere-connexion/spl_']")
    expect(link).to_be_visible()
    href = link.get_attribute("href") or ""
    assert link.inner_text() == href and href.startswith(demo.public_url + "/premiere-connexion/")
    # the mail names the platform's public address; this test server listens elsewhere
    page.goto(base + href.removeprefix(demo.public_url))
    expect(page.get_by_role("heading", name="Choisir mon mot de passe")).to_be_visible()


def test_the_page_exists_only_in_demo_mode(live_server: Any) -> None:
    r = httpx.get(live_server.url + "/demo/courriels", timeout=30)
    assert r.status_code == 404

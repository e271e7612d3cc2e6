"""First-login links: an administrator e-mails one, the professional chooses a password."""

import re
import threading
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from sisra.common.identifiers import luhn_complete
from sisra.platform.context import SYSTEM
from sisra.platform.directory import service as directory
from sisra.platform.logs import MASK, redact
from sisra.platform.models import AuditEvent, PasswordLink, Professional, Role, utcnow
from support.personas import otp_login

NEW_PASSWORD = "Premier-mot2passe"


@pytest.fixture
def admin(make_pro: Any) -> Any:
    return make_pro("admin.lien", role=Role.administrator, first_name="Alice", last_name="Admin")


@pytest.fixture
def newcomer(db: Any) -> uuid.UUID:
    """Created by an administrator, without a card and without a password."""
    with db() as session:
        pro = directory.create(
            session,
            SYSTEM,
            directory.NewProfessional(
                first_name="Noémie",
                last_name="Girard",
                profession="Infirmier",
                email="noemie.girard@demo.sisra.test",
                login="noemie.girard",
                rpps=luhn_complete("1000000555"),
            ),
        )
        assert pro.password_hash is None
        return pro.id


def _send_link(page: Page, newcomer: uuid.UUID, smtp_sink: Any) -> str:
    """The link e-mailed, on the live server (the mail names the platform's public address)."""
    base = page.url.split("/admin")[0]
    page.goto(base + f"/admin/annuaire/{newcomer}")
    page.get_by_role("button", name="Envoyer un lien pour choisir son mot de passe").click()
    expect(page.get_by_role("status")).to_contain_text("Un lien pour choisir son mot de passe")
    mail = smtp_sink.last_to("noemie.girard@demo.sisra.test")
    assert mail is not None
    found = re.search(r"https?://\S+(/premiere-connexion/\S+)", mail.body)
    assert found, mail.body
    return base + found.group(1)


def test_the_professional_chooses_a_password_then_logs_in(
    admin: Any, newcomer: uuid.UUID, web_as: Any, smtp_sink: Any, app_client: Any, db: Any
) -> None:
    page: Page = web_as(admin, f"/admin/annuaire/{newcomer}")
    link = _send_link(page, newcomer, smtp_sink)
    page.context.clear_cookies()  # the professional's own browser: nobody is logged in
    page.goto(link)
    expect(page.get_by_role("heading", name="Choisir mon mot de passe")).to_be_visible()
    expect(page.get_by_text("noemie.girard", exact=True)).to_be_visible()
    # a weak password, then a typo: refused in French, the link still works
    page.get_by_label("Nouveau mot de passe").fill("court")
    page.get_by_label("Confirmez le mot de passe").fill("court")
    page.get_by_role("button", name="Enregistrer mon mot de passe").click()
    expect(page.get_by_role("alert")).to_contain_text("au moins 10 caractères")
    page.get_by_label("Nouveau mot de passe").fill(NEW_PASSWORD)
    page.get_by_label("Confirmez le mot de passe").fill(NEW_PASSWORD + "x")
    page.get_by_role("button", name="Enregistrer mon mot de passe").click()
    expect(page.get_by_role("alert")).to_contain_text("ne sont pas identiques")
    page.get_by_label("Nouveau mot de passe").fill(NEW_PASSWORD)
    page.get_by_label("Confirmez le mot de passe").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Enregistrer mon mot de passe").click()
    expect(page.get_by_role("heading", name="Mot de passe enregistré")).to_be_visible()
    # the two-step login works with it
    tokens = otp_login(
        app_client, smtp_sink, "noemie.girard", "noemie.girard@demo.sisra.test", NEW_PASSWORD
    )
    assert tokens["access_token"]
    # the link has served
    response = page.goto(link)
    assert response is not None and response.status == 401
    expect(page.get_by_role("alert")).to_contain_text("déjà servi")
    with db() as s:
        actions = list(
            s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("auth.password%")))
        )
        assert actions == ["auth.password_link_issued", "auth.password_chosen"]


def test_a_new_link_replaces_the_old_and_an_expired_one_is_refused(
    admin: Any, newcomer: uuid.UUID, web_as: Any, smtp_sink: Any, db: Any, live_server: Any
) -> None:
    page: Page = web_as(admin, f"/admin/annuaire/{newcomer}")
    first = _send_link(page, newcomer, smtp_sink)
    second = _send_link(page, newcomer, smtp_sink)
    assert first != second
    r = httpx.get(first, timeout=30)
    assert r.status_code == 401 and "déjà servi" in r.text
    assert httpx.get(second, timeout=30).status_code == 200
    with db() as s:
        for link in s.scalars(select(PasswordLink).where(PasswordLink.used_at.is_(None))):
            link.expires_at = utcnow() - timedelta(minutes=1)
    r = httpx.get(second, timeout=30)
    assert r.status_code == 401 and "a expiré" in r.text
    unknown = second.rsplit("/", 1)[0] + "/spl_inconnu"
    assert httpx.get(unknown, timeout=30).status_code == 401
    with db() as s:
        assert s.get(Professional, newcomer).password_hash is None


def test_two_parallel_uses_of_one_link_set_one_password(
    admin: Any, newcomer: uuid.UUID, web_as: Any, smtp_sink: Any, db: Any
) -> None:
    page: Page = web_as(admin, f"/admin/annuaire/{newcomer}")
    link = _send_link(page, newcomer, smtp_sink)
    clients, forms = [], []
    for n in range(4):
        client = httpx.Client(timeout=30)
        form_page = client.get(link)
        csrf = re.search(r'name="csrf" value="([^"]+)"', form_page.text)
        assert csrf, form_page.text
        password = f"{NEW_PASSWORD}-{n}"
        clients.append(client)
        forms.append({"csrf": csrf.group(1), "password": password, "confirmation": password})
    statuses: list[int] = []
    barrier = threading.Barrier(len(clients))

    def post(client: httpx.Client, form: dict[str, str]) -> None:
        barrier.wait()
        statuses.append(client.post(link, data=form).status_code)

    threads = [
        threading.Thread(target=post, args=pair) for pair in zip(clients, forms, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for client in clients:
        client.close()
    assert sorted(statuses) == [200, 401, 401, 401], statuses
    with db() as s:
        chosen = s.scalars(select(AuditEvent).where(AuditEvent.action == "auth.password_chosen"))
        assert len(list(chosen)) == 1


def test_a_professional_cannot_send_links(
    make_pro: Any, newcomer: uuid.UUID, web_as: Any, live_server: Any, db: Any
) -> None:
    pro = make_pro("hugo.lien", first_name="Hugo", last_name="Lambert")
    page: Page = web_as(pro, "/accueil")
    r = page.request.post(
        f"{live_server.url}/admin/annuaire/{newcomer}/lien-mot-de-passe", form={"csrf": "x"}
    )
    assert r.status == 403
    with db() as s:
        assert s.scalar(select(PasswordLink.id)) is None


def test_links_are_masked_in_the_access_log() -> None:
    line = '127.0.0.1:5000 - "GET /premiere-connexion/spl_Secret123 HTTP/1.1" 200'
    assert redact(line) == f'127.0.0.1:5000 - "GET /premiere-connexion/{MASK} HTTP/1.1" 200'

"""MonSisra's windows with « Je me connecte avec e-CPS (Pro Santé Connect) », offscreen: the
first-run wizard and the strong re-authentication dialog. The « system browser » is Chromium
(Playwright), injected; the provider is a real OpenID Connect server on loopback."""

import queue
import uuid

import pytest
from playwright.sync_api import Page
from PySide6.QtWidgets import QCommandLinkButton, QLabel, QLineEdit, QPushButton, QWizard
from sqlalchemy import select

from sisra.client.api import PlatformClient
from sisra.client.psc import enrol_with_psc
from sisra.desktop.enrol import EnrolWizard
from sisra.desktop.strongauth import PSC_CHOICE, PSC_NOT_OFFERED, PSC_OFFERED, StrongAuthDialog
from sisra.platform.models import AuditEvent, Device
from support.desktop import WAIT
from support.enrol import LOCAL, click, finish_creation, next_button, start
from support.psc import national_id_of, psc_provider_login
from support.servers import RunningServer

# the opener runs in MonSisra's worker thread; Playwright belongs to the test's thread: the
# address goes through a queue and the test drives Chromium


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """The default export folder lives in the user's Documents: a temporary home here."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _browse(urls: "queue.Queue[str]", page: Page, national_id: str) -> None:
    url = urls.get(timeout=30)
    page.goto(url)
    psc_provider_login(page, national_id)


def test_wizard_enrols_with_e_cps(qtbot, psc_server, make_pro, account_store, db, page: Page):
    pro = make_pro("psc.desk", first_name="Anne", last_name="Morin", log_in=False)
    wizard = start(qtbot, account_store, psc_server.url, "psc")
    assert wizard.auth.subTitle() == PSC_CHOICE
    panel = wizard.auth.panel
    urls: queue.Queue[str] = queue.Queue()
    panel.open_browser = urls.put
    click(qtbot, panel.findChild(QPushButton, "psc_submit"))
    status = panel.findChild(QLabel, "status")
    assert "validez la connexion avec votre application e-CPS" in status.text()
    _browse(urls, page, national_id_of(db, pro))
    qtbot.waitUntil(wizard.auth.isComplete, timeout=WAIT)
    assert wizard.auth.hello.text().startswith("Bonjour Dr Anne Morin")
    click(qtbot, next_button(wizard))
    page_ = wizard.passwords
    page_.password.setText(LOCAL)
    page_.confirm.setText(LOCAL)
    click(qtbot, next_button(wizard))
    click(qtbot, next_button(wizard))  # software: PDF
    wizard.past.days.setValue(0)
    wizard.past.autostart.setChecked(False)
    finish_creation(qtbot, wizard)
    assert not wizard.creation.error.text()
    click(qtbot, next_button(wizard))
    click(qtbot, wizard.button(QWizard.WizardButton.FinishButton))
    [account] = account_store.list()
    assert account.settings.professional_id == str(pro.id)
    with db() as s:
        [device] = s.scalars(select(Device).where(Device.professional_id == pro.id))
        assert device.auth_method == "psc"


def test_refusal_is_shown_in_the_wizard(qtbot, psc_server, account_store, page: Page):
    wizard = start(qtbot, account_store, psc_server.url, "psc")
    panel = wizard.auth.panel
    urls: queue.Queue[str] = queue.Queue()
    panel.open_browser = urls.put
    click(qtbot, panel.findChild(QPushButton, "psc_submit"))
    _browse(urls, page, "899999999998")
    qtbot.waitUntil(
        lambda: "pas inscrit(e) dans l'annuaire Sisra" in panel.error_text(), timeout=WAIT
    )
    assert not wizard.auth.isComplete()
    # the button is there again for another try
    qtbot.waitUntil(lambda: panel.findChild(QPushButton, "psc_submit").isEnabled(), timeout=WAIT)


def test_strong_reauthentication_dialog_renews_the_device_with_e_cps(
    qtbot, psc_server, make_pro, db, page: Page
):
    pro = make_pro("psc.renew", log_in=False)
    nid = national_id_of(db, pro)

    def browser(url: str) -> None:
        page.goto(url)
        psc_provider_login(page, nid)

    with PlatformClient(psc_server.url) as client:
        first = enrol_with_psc(client, browser)
    urls: queue.Queue[str] = queue.Queue()
    dialog = StrongAuthDialog(
        psc_server.url,
        "Votre authentification forte doit être renouvelée.",
        login=pro.login,
        device_id=first.device_id,
        open_browser=urls.put,
    )
    qtbot.addWidget(dialog)
    dialog.show()
    click(qtbot, dialog.panel.findChild(QCommandLinkButton, "choose_psc"))
    click(qtbot, dialog.panel.findChild(QPushButton, "psc_submit"))
    _browse(urls, page, nid)
    qtbot.waitUntil(lambda: dialog.credentials is not None, timeout=WAIT)
    assert dialog.credentials.device_id == first.device_id  # the same computer, renewed
    with db() as s:
        assert s.get(Device, uuid.UUID(first.device_id)).auth_method == "psc"
        renewed = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.device_renewed")
        ).all()
        assert [e.details["method"] for e in renewed] == ["psc"]


def test_closing_the_dialog_stops_waiting_for_the_browser(qtbot, psc_server):
    urls: queue.Queue[str] = queue.Queue()
    dialog = StrongAuthDialog(psc_server.url, mode="psc", open_browser=urls.put)
    qtbot.addWidget(dialog)
    dialog.show()
    click(qtbot, dialog.panel.findChild(QPushButton, "psc_submit"))
    urls.get(timeout=30)  # the browser was asked to open; nobody logs in
    assert dialog.panel.is_busy()
    dialog.reject()
    qtbot.waitUntil(lambda: not dialog.panel.is_busy(), timeout=WAIT)
    assert "annulée" in dialog.panel.error_text()


def _psc_choice(widget) -> QCommandLinkButton:
    return widget.findChild(QCommandLinkButton, "choose_psc")


def test_e_cps_is_greyed_out_where_the_platform_does_not_offer_it(
    qtbot, settings, psc_server, account_store
):
    """The wizard asks the platform typed on its first page; another address, another answer;
    the re-authentication's choices ask too."""
    without = RunningServer(settings.model_copy(update={"psc_issuer": ""}))  # no e-CPS there
    try:
        wizard = EnrolWizard(account_store, without.url)
        qtbot.addWidget(wizard)
        wizard.show()
        choice = _psc_choice(wizard.welcome)
        qtbot.waitUntil(lambda: not choice.isEnabled(), timeout=WAIT)
        assert choice.description() == PSC_NOT_OFFERED
        assert choice.isVisible()  # still said, with the reason
        server = wizard.welcome.findChild(QLineEdit, "server")
        server.setText(psc_server.url)
        server.editingFinished.emit()
        qtbot.waitUntil(choice.isEnabled, timeout=WAIT)
        assert choice.description() == PSC_OFFERED

        dialog = StrongAuthDialog(without.url, "Votre authentification forte doit être renouvelée.")
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitUntil(lambda: not _psc_choice(dialog.panel).isEnabled(), timeout=WAIT)
        assert _psc_choice(dialog.panel).description() == PSC_NOT_OFFERED
    finally:
        without.stop()


def test_e_cps_stays_offered_when_the_platform_cannot_say(qtbot, account_store):
    """Platform down (or older than the question): nothing is hidden, the attempt will tell."""
    from sisra.client import auth
    from sisra.client.api import PlatformClient
    from sisra.devtools.ports import free_port

    down = f"http://127.0.0.1:{free_port()}"
    with PlatformClient(down) as client:
        assert auth.offered_methods(client) is None  # asked, and no answer
    wizard = EnrolWizard(account_store, down)
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.wait(500)
    assert _psc_choice(wizard.welcome).isEnabled()
    assert _psc_choice(wizard.welcome).description() == PSC_OFFERED

"""DOCUMENTS REÇUS says why documents stopped arriving: the account disabled, the session
expired, no network — each with what to do."""

from datetime import timedelta

from sqlalchemy import select, update

from sisra.desktop.app import Controller
from sisra.platform.context import SYSTEM
from sisra.platform.directory import service as directory
from sisra.platform.models import AccessToken, Professional, RefreshToken, utcnow
from support.desktop import LOCAL_PASSWORD, WAIT


def test_a_disabled_account_says_so_and_whom_to_see(qtbot, desktop, db):
    controller, window, recipient, _folder, _account, _opened = desktop
    with db() as s:
        pro = s.scalars(select(Professional).where(Professional.id == recipient.id)).one()
        directory.set_active(s, SYSTEM, pro, False)
    # the live stream ends by itself at its next revocation check; not waited for here
    controller.session.wake()
    qtbot.waitUntil(lambda: window.reauth_row.isVisible(), timeout=WAIT)
    assert controller.session.status[0] == "account_disabled"
    text = window.reauth_banner.text()
    assert text.startswith("Votre compte Sisra est désactivé")
    assert "Voyez avec l'administrateur de la plateforme" in text
    assert "expiré" not in text and not window.offline_banner.isVisible()


def test_an_expired_session_says_so(qtbot, desktop, db):
    controller, window, _recipient, _folder, _account, _opened = desktop
    with db() as s:
        s.execute(update(AccessToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        s.execute(update(RefreshToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    controller.session.wake()  # as after « Réessayer »: the engine lists the inbox again
    qtbot.waitUntil(lambda: window.reauth_row.isVisible(), timeout=WAIT)
    assert controller.session.status[0] == "session_expired"
    text = window.reauth_banner.text()
    assert text.startswith("Votre session MonSisra a expiré ou a été fermée")
    assert "M'authentifier" in text and "désactivé" not in text


def test_no_network_is_told_apart_from_the_platform(qtbot, desktop, account_store):
    controller, _window, _recipient, _folder, account, _opened = desktop
    controller.close_session()
    account_store.update_settings(account.id, server_url="http://plateforme.invalid")
    lost = Controller(account_store)

    def opened() -> bool:  # once the closed session's engine thread has let the account go
        lost.open_documents(account_store.unlock(account.id, LOCAL_PASSWORD))
        return lost.documents is not None

    qtbot.waitUntil(opened, timeout=WAIT)
    window = lost.documents
    qtbot.waitUntil(lambda: window.offline_banner.isVisible(), timeout=WAIT)
    banner = window.offline_banner.text()
    assert banner.startswith("Pas de connexion réseau vers la plateforme Sisra (plateforme.inva")
    assert "connexion Internet du cabinet" in banner and "ne répond pas" not in banner
    assert window.connection_label.text() == "Hors connexion : pas d'accès au réseau."
    lost.close_session()

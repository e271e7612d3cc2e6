"""« Nouveau mot de passe » (change, or forgotten → strong authentication → new vault) and the
strong authentication renewal, against the real platform, SMTP sink and SoftHSM2 card."""

import time

import httpx
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCommandLinkButton, QDialog, QLabel, QLineEdit, QPushButton

from sisra.client.accounts import AccountError, AccountSettings
from sisra.client.auth import Credentials
from sisra.desktop.password import SAVED, NewPasswordDialog
from sisra.desktop.strongauth import StrongAuthDialog
from support.personas import PASSWORD, otp_login

LOCAL = "Local-mot-de-passe-1"
NEW = "Nouveau-mdp-local-2"
WAIT = 20000


def click(qtbot, widget):
    assert widget.isVisible() and widget.isEnabled(), widget.objectName()
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(8, widget.height() // 2))


def type_into(qtbot, field, text, enter=False):
    field.clear()
    qtbot.keyClicks(field, text)
    if enter:
        qtbot.keyClick(field, Qt.Key.Key_Return)


def make_account(live_server, make_pro, smtp_sink, store, login):
    """A MonSisra account enrolled on this computer (by e-mail code, through the API)."""
    pro = make_pro(login, log_in=False)
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        tokens = otp_login(c, smtp_sink, login, f"{login}@demo.sisra.test")
    creds = Credentials.from_tokens(live_server.url, tokens)
    settings = AccountSettings(
        pro.name, login, str(pro.id), live_server.url, software_profile_id="hprim"
    )
    account = store.create(settings, LOCAL, creds.to_dict())
    account.state_path.write_bytes(b"local state")  # stands for the documents already fetched
    return account, creds, pro


def code_via_panel(qtbot, panel, sink, login):
    """Portal password → code e-mailed → code typed; waits for the result."""
    identifier = panel.findChild(QLineEdit, "identifier")
    assert identifier.text() == login and identifier.isReadOnly()  # this account's login only
    sent_at = time.time()
    type_into(qtbot, panel.findChild(QLineEdit, "portal_password"), PASSWORD, enter=True)
    sent = panel.findChild(QLabel, "code_sent")
    qtbot.waitUntil(lambda: "Un code à usage unique a été envoyé à" in sent.text(), timeout=WAIT)
    mail = sink.last_to(f"{login}@demo.sisra.test")
    assert mail is not None and mail.received_at >= sent_at - 1
    type_into(qtbot, panel.findChild(QLineEdit, "code"), mail.code(), enter=True)


def open_dialog(qtbot, store, account):
    dialog = NewPasswordDialog(store, account)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_change_password(qtbot, live_server, make_pro, smtp_sink, account_store):
    account, _, _ = make_account(live_server, make_pro, smtp_sink, account_store, "luc.petit")
    dialog = open_dialog(qtbot, account_store, account)
    type_into(qtbot, dialog.current, "Pas-le-bon-mdp")
    type_into(qtbot, dialog.new, NEW)
    type_into(qtbot, dialog.confirm, NEW, enter=True)  # Return = « Enregistrer »
    qtbot.waitUntil(lambda: dialog.error.text() == "Mot de passe incorrect.", timeout=WAIT)
    assert dialog.stack.currentWidget().objectName() == "change_page" and not dialog.busy

    type_into(qtbot, dialog.current, LOCAL)
    type_into(qtbot, dialog.confirm, NEW + "x")
    click(qtbot, dialog.save)
    assert dialog.error.text() == "Les deux mots de passe saisis diffèrent."
    type_into(qtbot, dialog.confirm, NEW)
    click(qtbot, dialog.save)
    saved = dialog.findChild(QLabel, "saved")
    qtbot.waitUntil(saved.isVisible, timeout=WAIT)
    assert saved.text() == SAVED
    click(qtbot, dialog.findChild(QPushButton, "close"))
    assert dialog.result() == QDialog.DialogCode.Accepted

    assert account_store.unlock(account.id, NEW).credentials
    with pytest.raises(AccountError) as exc:
        account_store.unlock(account.id, LOCAL)
    assert exc.value.code == "wrong_password"


def test_forgotten_password_by_e_mail_code_keeps_settings_and_state(
    qtbot, live_server, make_pro, smtp_sink, account_store
):
    account, old, _pro = make_account(live_server, make_pro, smtp_sink, account_store, "ines.faure")
    dialog = open_dialog(qtbot, account_store, account)
    click(qtbot, dialog.findChild(QPushButton, "forgotten"))
    assert dialog.stack.currentWidget().objectName() == "forgotten_page"
    assert not dialog.save.isVisible()
    click(qtbot, dialog.panel.findChild(QCommandLinkButton, "choose_code"))
    code_via_panel(qtbot, dialog.panel, smtp_sink, "ines.faure")
    qtbot.waitUntil(lambda: dialog.reset_new.isVisible(), timeout=WAIT)

    type_into(qtbot, dialog.reset_new, "court")
    type_into(qtbot, dialog.reset_confirm, "court", enter=True)
    assert dialog.error.text() == "Le mot de passe doit contenir au moins 8 caractères."
    type_into(qtbot, dialog.reset_new, NEW)
    type_into(qtbot, dialog.reset_confirm, NEW, enter=True)
    qtbot.waitUntil(lambda: dialog.findChild(QLabel, "saved").isVisible(), timeout=WAIT)
    dialog.reject()  # closing the window once saved is « Fermer »
    assert dialog.result() == QDialog.DialogCode.Accepted

    assert dialog.unlocked is not None and dialog.unlocked.account.id == account.id
    reopened = account_store.unlock(account.id, NEW)
    creds = Credentials.from_dict(reopened.credentials)
    assert creds.professional_id == old.professional_id and creds.device_id != old.device_id
    with pytest.raises(AccountError):
        account_store.unlock(account.id, LOCAL)
    kept = account_store.get(account.id)
    assert kept.settings == account.settings
    assert kept.state_path.read_bytes() == b"local state"


def test_strong_auth_renewal_by_code_keeps_the_device(
    qtbot, live_server, make_pro, smtp_sink, account_store
):
    _, old, _ = make_account(live_server, make_pro, smtp_sink, account_store, "marc.blanc")
    dialog = StrongAuthDialog(
        live_server.url,
        "Votre authentification forte doit être renouvelée.",
        login="marc.blanc",
        device_id=old.device_id,
        mode="code",
    )
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.windowTitle() == "Authentification forte"
    assert not dialog.panel.findChild(QPushButton, "other_mode").isVisible()  # mode given
    code_via_panel(qtbot, dialog.panel, smtp_sink, "marc.blanc")
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=WAIT)
    assert dialog.credentials is not None
    assert dialog.credentials.device_id == old.device_id
    assert dialog.credentials.access_token != old.access_token


def test_strong_auth_renewal_by_card_keeps_the_device(
    insert_card, qtbot, live_server, make_pro, smtp_sink, account_store
):
    _account, old, pro = make_account(live_server, make_pro, smtp_sink, account_store, "eva.leroy")
    insert_card(pro)
    dialog = StrongAuthDialog(live_server.url, login="eva.leroy", device_id=old.device_id)
    qtbot.addWidget(dialog)
    dialog.show()
    click(qtbot, dialog.panel.findChild(QCommandLinkButton, "choose_card"))
    type_into(qtbot, dialog.panel.findChild(QLineEdit, "pin"), "1234", enter=True)
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=WAIT)
    assert dialog.credentials.device_id == old.device_id


def test_forgotten_password_with_a_card_must_be_the_account_holders_card(
    insert_card, qtbot, live_server, make_pro, smtp_sink, account_store
):
    """Someone else's CPS card cannot reset this account's password (it would hand over the
    account's documents); the holder's own card can."""
    account, _old, pro = make_account(live_server, make_pro, smtp_sink, account_store, "lou.vidal")
    intruder = make_pro("max.autre", first_name="Max", last_name="Autre", log_in=False)

    def reset_with_card() -> QDialog:
        dialog = open_dialog(qtbot, account_store, account)
        click(qtbot, dialog.findChild(QPushButton, "forgotten"))
        click(qtbot, dialog.panel.findChild(QCommandLinkButton, "choose_card"))
        type_into(qtbot, dialog.panel.findChild(QLineEdit, "pin"), "1234", enter=True)
        qtbot.waitUntil(lambda: dialog.reset_new.isVisible(), timeout=WAIT)
        type_into(qtbot, dialog.reset_new, NEW)
        type_into(qtbot, dialog.reset_confirm, NEW, enter=True)
        return dialog

    insert_card(intruder)
    refused = reset_with_card()
    qtbot.waitUntil(lambda: "autre professionnel" in refused.error.text(), timeout=WAIT)
    account_store.unlock(account.id, LOCAL)  # untouched
    with pytest.raises(AccountError):
        account_store.unlock(account.id, NEW)
    refused.reject()

    insert_card(pro)
    accepted = reset_with_card()
    qtbot.waitUntil(lambda: accepted.findChild(QLabel, "saved").isVisible(), timeout=WAIT)
    account_store.unlock(account.id, NEW)

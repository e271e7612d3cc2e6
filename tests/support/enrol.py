"""Driving MonSisra's first-run wizard (real Qt) against the real platform and SMTP sink."""

import time

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCommandLinkButton, QLabel, QLineEdit, QPushButton, QWizard

from sisra.desktop.enrol import EnrolWizard
from support.desktop import WAIT
from support.personas import PASSWORD

LOCAL = "Local-mot-de-passe-1"


def click(qtbot, widget):
    assert widget.isVisible() and widget.isEnabled(), widget.objectName()
    # radio buttons only take clicks on their circle and text: click near the left edge
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(8, widget.height() // 2))


def next_button(wizard):
    page = wizard.currentPage()
    which = (
        QWizard.WizardButton.CommitButton
        if page.isCommitPage()
        else QWizard.WizardButton.NextButton
    )
    return wizard.button(which)


def type_into(qtbot, field, text, enter=False):
    field.clear()
    qtbot.keyClicks(field, text)
    if enter:
        qtbot.keyClick(field, Qt.Key.Key_Return)


def latest_code(sink, address, after=0.0):
    """The code of the newest mail to ``address`` received after ``after`` (polls the sink)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        mail = sink.last_to(address)
        if mail is not None and mail.received_at > after and mail.code():
            return mail.code(), mail.received_at
        time.sleep(0.05)
    raise AssertionError(f"no code e-mailed to {address}")


def start(qtbot, store, url, mode):
    wizard = EnrolWizard(store, url)
    qtbot.addWidget(wizard)
    wizard.show()
    assert wizard.currentPage().objectName() == "welcome"
    assert wizard.welcome.findChild(QLineEdit, "server").text() == url
    click(qtbot, wizard.welcome.findChild(QCommandLinkButton, f"choose_{mode}"))
    assert wizard.currentPage().objectName() == "strong_auth_page"
    return wizard


def authenticate_by_code(qtbot, wizard, sink, login, wrong_first=False, complete=True):
    panel = wizard.auth.panel
    type_into(qtbot, panel.findChild(QLineEdit, "identifier"), login)
    type_into(qtbot, panel.findChild(QLineEdit, "portal_password"), PASSWORD)
    click(qtbot, panel.findChild(QPushButton, "send_code"))
    sent = panel.findChild(QLabel, "code_sent")
    qtbot.waitUntil(lambda: "Un code à usage unique a été envoyé à" in sent.text(), timeout=WAIT)
    address = f"{login}@demo.sisra.test"
    code, at = latest_code(sink, address)
    code_field = panel.findChild(QLineEdit, "code")
    if wrong_first:
        type_into(qtbot, code_field, "000000" if code != "000000" else "111111", enter=True)
        qtbot.waitUntil(lambda: "Il vous reste" in panel.error_text(), timeout=WAIT)
        assert not wizard.auth.isComplete()
        # « Renvoyer le code » becomes available after the platform's cooldown (2 s here)
        resend = panel.findChild(QPushButton, "resend")
        assert not resend.isEnabled()
        qtbot.waitUntil(resend.isEnabled, timeout=WAIT)
        click(qtbot, resend)
        code, at = latest_code(sink, address, after=at)
    qtbot.waitUntil(lambda: not panel.is_busy() and code_field.isEnabled(), timeout=WAIT)
    type_into(qtbot, code_field, code, enter=True)
    qtbot.waitUntil(lambda: panel.credentials is not None, timeout=WAIT)
    if complete:  # who the platform says we are, fetched next
        qtbot.waitUntil(wizard.auth.isComplete, timeout=WAIT)


def choose_password(qtbot, wizard, password=LOCAL):
    page = wizard.passwords
    type_into(qtbot, page.password, password)
    type_into(qtbot, page.confirm, password, enter=True)  # Return = « Suivant »
    assert wizard.currentPage().objectName() == "software_page", page.error.text()


def finish_creation(qtbot, wizard, until=None):
    click(qtbot, next_button(wizard))  # « Créer mon compte »
    assert wizard.currentPage().objectName() == "creation_page"
    qtbot.waitUntil(until or (lambda: wizard.creation.finished), timeout=WAIT)

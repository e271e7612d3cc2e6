"""Strong authentication: the CPS card and its PIN, identifiers plus a code sent by e-mail, or
e-CPS through Pro Santé Connect in the system browser (:mod:`sisra.client.psc`).

The same panel serves the first-run wizard, « J'ai oublié mon mot de passe » and the renewal
the platform asks for now and then (``device_id`` given: the same computer is renewed, not
enrolled again). Card and network calls run off the UI thread (:func:`run_task`); the
command-line equivalent is ``sisra client add-user`` / ``reauth``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCommandLinkButton,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from sisra.client import auth
from sisra.client.api import PlatformClient
from sisra.client.cps import CardError, locate_module, open_card
from sisra.client.psc import BrowserOpener, PscLogin
from sisra.desktop.tasks import describe_error, run_task

W = TypeVar("W", bound=QWidget)
T = TypeVar("T")

CARD, CODE, PSC = "card", "code", "psc"
CARD_CHOICE = "J'ai une carte de la famille CPS"
CODE_CHOICE = "J'ai obtenu mes identifiants de connexion"
PSC_CHOICE = "Je me connecte avec e-CPS (Pro Santé Connect)"
_PAGES = {CARD: 1, CODE: 2, PSC: 3}
ERROR_STYLE = "color: #b3261e;"


def named(widget: W, name: str) -> W:
    """Give ``widget`` an object name (tests and accessibility tools find it by name)."""
    widget.setObjectName(name)
    return widget


def card_choice_button() -> QCommandLinkButton:
    return named(
        QCommandLinkButton(
            CARD_CHOICE, "Insérez votre carte CPS dans le lecteur et saisissez son code PIN."
        ),
        "choose_card",
    )


def code_choice_button() -> QCommandLinkButton:
    return named(
        QCommandLinkButton(
            CODE_CHOICE,
            "Saisissez l'identifiant et le mot de passe qui vous ont été transmis : "
            "un code à usage unique vous sera adressé par e-mail.",
        ),
        "choose_code",
    )


PSC_OFFERED = (
    "MonSisra ouvre votre navigateur sur Pro Santé Connect : validez avec votre "
    "application e-CPS (ou votre carte CPS)."
)
PSC_NOT_OFFERED = (
    "Votre plateforme ne propose pas la connexion avec e-CPS : choisissez votre carte CPS ou "
    "vos identifiants de connexion."
)


def psc_choice_button() -> QCommandLinkButton:
    return named(QCommandLinkButton(PSC_CHOICE, PSC_OFFERED), "choose_psc")


def offer_psc_if_available(
    button: QCommandLinkButton,
    server_url: str,
    still_current: Callable[[], bool] = lambda: True,
) -> None:
    """Ask the platform, off the UI thread, whether it offers e-CPS; when it says no, the
    choice is greyed out with the reason rather than failing once chosen. When it cannot say
    (down, an older platform), the choice stays: the attempt will tell. ``still_current``:
    False when the address changed meanwhile (the answer is then for another platform)."""

    def ask() -> frozenset[str] | None:
        with PlatformClient(server_url) as client:
            return auth.offered_methods(client)

    def answered(methods: frozenset[str] | None) -> None:
        if not still_current():
            return
        offered = methods is None or PSC in methods
        button.setEnabled(offered)
        button.setDescription(PSC_OFFERED if offered else PSC_NOT_OFFERED)

    run_task(ask, answered, lambda _exc: None, owner=button)


def _default_module() -> str:
    """The cryptolib CPS found on this computer, if any (only file checks: no card access)."""
    try:
        return str(locate_module(None))
    except CardError:
        return ""


class StrongAuthPanel(QWidget):
    """Emits :attr:`authenticated` with :class:`sisra.client.auth.Credentials` on success."""

    authenticated = Signal(object)
    failed = Signal(str)  # the French message, also shown in the panel
    busy_changed = Signal(bool)

    def __init__(
        self,
        server_url: str,
        login: str | None = None,
        device_id: str | None = None,
        mode: str | None = None,
        parent: QWidget | None = None,
        open_browser: BrowserOpener | None = None,
        refresh_token: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.server_url, self.login, self.device_id = server_url, login, device_id
        # a renewal: the refresh token this computer holds makes it a known device at login
        self.refresh_token = refresh_token
        # the system browser by default; tests give their own Chromium
        self.open_browser = open_browser
        self._psc: PscLogin | None = None
        self._psc_asked: str | None = None  # the platform asked whether it offers e-CPS
        self.credentials: auth.Credentials | None = None
        self._sent: auth.CodeSent | None = None
        self._busy = False
        self._fixed_mode = mode is not None
        self._resend_at = 0.0
        self._resend_timer = QTimer(self, interval=1000)
        self._resend_timer.timeout.connect(self._tick)

        self._stack = QStackedWidget()
        self._stack.addWidget(self._choice_page())
        self._stack.addWidget(self._card_page())
        self._stack.addWidget(self._code_page())
        self._stack.addWidget(self._psc_page())
        self._status = named(QLabel(wordWrap=True), "status")
        self._error = named(QLabel(wordWrap=True), "error")
        self._error.setStyleSheet(ERROR_STYLE)
        self._error.setTextFormat(Qt.TextFormat.PlainText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)
        layout.addWidget(self._status)
        layout.addWidget(self._error)
        layout.addStretch(1)
        self.set_mode(mode, fixed=self._fixed_mode)

    # --- pages ----------------------------------------------------------------------------

    def _choice_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        self._psc_choice = psc_choice_button()
        for mode, button in (
            (CARD, card_choice_button()),
            (CODE, code_choice_button()),
            (PSC, self._psc_choice),
        ):
            button.clicked.connect(lambda _=False, m=mode: self.set_mode(m, fixed=False))
            layout.addWidget(button)
        return page

    def _other_mode_button(self) -> QPushButton:
        button = named(QPushButton("‹ Autre mode d'authentification"), "other_mode")
        button.setFlat(True)
        button.setAutoDefault(False)
        button.clicked.connect(lambda: self.set_mode(None, fixed=False))
        return button

    def _card_page(self) -> QWidget:
        page = named(QWidget(), "card_page")
        self._pin = named(QLineEdit(), "pin")
        self._pin.setEchoMode(QLineEdit.EchoMode.Password)
        self._pin.returnPressed.connect(self._card_submit)
        self._module = named(QLineEdit(_default_module()), "module")
        self._module.setPlaceholderText("Chemin de la cryptolib CPS (PKCS#11)")
        browse = named(QPushButton("Parcourir…"), "module_browse")
        browse.setAutoDefault(False)
        browse.clicked.connect(self._browse_module)
        advanced = named(QToolButton(), "advanced")
        advanced.setText("Options avancées")
        advanced.setCheckable(True)
        advanced.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        advanced.setArrowType(Qt.ArrowType.RightArrow)
        box = named(QWidget(), "advanced_box")
        box.setVisible(False)
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Bibliothèque de la carte :"))
        row.addWidget(self._module, 1)
        row.addWidget(browse)

        def toggle(shown: bool) -> None:
            box.setVisible(shown)
            advanced.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

        advanced.toggled.connect(toggle)
        self._card_ok = named(QPushButton("Valider"), "card_submit")
        self._card_ok.setAutoDefault(False)
        self._card_ok.clicked.connect(self._card_submit)
        form = QFormLayout()
        form.addRow("Code &PIN :", self._pin)
        buttons = QHBoxLayout()
        self._card_other = self._other_mode_button()
        buttons.addWidget(self._card_other)
        buttons.addStretch(1)
        buttons.addWidget(self._card_ok)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Insérez votre carte CPS et saisissez le code PIN.", wordWrap=True))
        layout.addLayout(form)
        layout.addWidget(advanced, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(box)
        layout.addLayout(buttons)
        return page

    def _code_page(self) -> QWidget:
        page = named(QWidget(), "code_page")
        self._identifier = named(QLineEdit(self.login or ""), "identifier")
        self._identifier.setReadOnly(self.login is not None)  # re-auth: this account's login
        self._portal = named(QLineEdit(), "portal_password")
        self._portal.setEchoMode(QLineEdit.EchoMode.Password)
        self._portal.returnPressed.connect(self._send_code)
        self._send = named(QPushButton("Recevoir un code par e-mail"), "send_code")
        self._send.setAutoDefault(False)
        self._send.clicked.connect(self._send_code)
        self._sent_label = named(QLabel(wordWrap=True), "code_sent")
        self._code = named(QLineEdit(), "code")
        self._code.setPlaceholderText("6 chiffres")
        self._code.returnPressed.connect(self._code_submit)
        self._resend = named(QPushButton("Renvoyer le code"), "resend")
        self._resend.setAutoDefault(False)
        self._resend.clicked.connect(self._resend_code)
        self._code_ok = named(QPushButton("Valider"), "code_submit")
        self._code_ok.setAutoDefault(False)
        self._code_ok.clicked.connect(self._code_submit)

        form = QFormLayout()
        form.addRow("&Identifiant :", self._identifier)
        form.addRow("&Mot de passe du portail :", self._portal)
        self._code_box = QWidget()
        code_form = QFormLayout(self._code_box)
        code_form.setContentsMargins(0, 0, 0, 0)
        code_form.addRow(self._sent_label)
        code_form.addRow("&Code reçu :", self._code)
        self._code_box.setVisible(False)
        buttons = QHBoxLayout()
        self._code_other = self._other_mode_button()
        buttons.addWidget(self._code_other)
        buttons.addStretch(1)
        buttons.addWidget(self._send)
        buttons.addWidget(self._resend)
        buttons.addWidget(self._code_ok)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(
            QLabel("Saisissez les identifiants qui vous ont été transmis.", wordWrap=True)
        )
        layout.addLayout(form)
        layout.addWidget(self._code_box)
        layout.addLayout(buttons)
        return page

    def _psc_page(self) -> QWidget:
        page = named(QWidget(), "psc_page")
        self._psc_ok = named(QPushButton("Ouvrir Pro Santé Connect"), "psc_submit")
        self._psc_ok.setAutoDefault(False)
        self._psc_ok.clicked.connect(self._psc_submit)
        buttons = QHBoxLayout()
        self._psc_other = self._other_mode_button()
        buttons.addWidget(self._psc_other)
        buttons.addStretch(1)
        buttons.addWidget(self._psc_ok)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(
            QLabel(
                "MonSisra va ouvrir Pro Santé Connect dans votre navigateur. Identifiez-vous "
                "avec votre application e-CPS (ou votre carte CPS), puis revenez ici : la "
                "connexion se termine toute seule.",
                wordWrap=True,
            )
        )
        layout.addLayout(buttons)
        return page

    # --- public ---------------------------------------------------------------------------

    def mode(self) -> str | None:
        return {index: mode for mode, index in _PAGES.items()}.get(self._stack.currentIndex())

    def set_mode(self, mode: str | None, fixed: bool = True) -> None:
        """Show the card or code form (``None``: the two choices). ``fixed`` hides the way
        back to the choices (the wizard asked for them on its first page)."""
        self._fixed_mode = fixed and mode is not None
        self._stack.setCurrentIndex(_PAGES.get(mode or "", 0))
        if mode is None and self._psc_asked != self.server_url:
            asked = self._psc_asked = self.server_url
            offer_psc_if_available(
                self._psc_choice, asked, still_current=lambda: self.server_url == asked
            )
        for other in (self._card_other, self._code_other, self._psc_other):
            other.setVisible(not self._fixed_mode)
        self._error.clear()
        self._update_code_buttons()
        focus = {
            CARD: self._pin,
            CODE: self._portal if self.login else self._identifier,
            PSC: self._psc_ok,
        }
        if mode in focus:
            focus[mode].setFocus()

    def reset(self) -> None:
        """Forget a finished or started authentication (the wizard went back)."""
        self.cancel_psc()
        self.credentials, self._sent = None, None
        for field in (self._pin, self._portal, self._code):
            field.clear()
        if self.login is None:
            self._identifier.clear()
        self._status.clear()
        self._error.clear()
        self._stack.setEnabled(True)
        self._resend_timer.stop()
        self._update_code_buttons()

    def cancel_psc(self) -> None:
        """Stop waiting for the browser (window closed, other mode chosen)."""
        if self._psc is not None:
            self._psc.cancel()

    def is_busy(self) -> bool:
        return self._busy

    def error_text(self) -> str:
        return self._error.text()

    # --- actions --------------------------------------------------------------------------

    def _card_submit(self) -> None:
        if self._busy or self.credentials is not None:
            return
        pin = self._pin.text()
        if not pin:
            self._show_error("Saisissez le code PIN de votre carte.")
            return
        module = self._module.text().strip() or None
        server, device = self.server_url, self.device_id

        def work() -> auth.Credentials:
            with open_card(locate_module(module), pin) as card, PlatformClient(server) as client:
                return auth.enrol_with_card(client, card, device_id=device)

        self._pin.clear()  # a wrong PIN is typed again, a right one is not kept around
        self._run("Lecture de la carte et authentification…", work, self._succeeded)

    def _send_code(self) -> None:
        if self._busy or self.credentials is not None:
            return
        identifier, password = self._identifier.text().strip(), self._portal.text()
        if not identifier or not password:
            self._show_error("Saisissez votre identifiant et votre mot de passe.")
            return
        server, held = self.server_url, self.refresh_token

        def work() -> auth.CodeSent:
            with PlatformClient(server) as client:
                return auth.start_two_step(client, identifier, password, held)

        self._run("Envoi du code par e-mail…", work, self._code_sent)

    def _resend_code(self) -> None:
        sent, server = self._sent, self.server_url
        if self._busy or sent is None:
            return

        def work() -> auth.CodeSent:
            with PlatformClient(server) as client:
                return auth.resend_code(client, sent)

        self._run("Nouvel envoi du code…", work, self._code_sent)

    def _code_submit(self) -> None:
        sent, server, device = self._sent, self.server_url, self.device_id
        if self._busy or sent is None or self.credentials is not None:
            return
        code = self._code.text().strip()
        if not code:
            self._show_error("Saisissez le code reçu par e-mail.")
            return

        def work() -> auth.Credentials:
            with PlatformClient(server) as client:
                return auth.finish_two_step(client, sent, code, device_id=device)

        self._code.clear()
        self._run("Vérification du code…", work, self._succeeded)

    def _psc_submit(self) -> None:
        if self._busy or self.credentials is not None:
            return
        server, device, opener = self.server_url, self.device_id, self.open_browser
        login = self._psc = PscLogin(PlatformClient(server), opener)

        def work() -> auth.Credentials:
            try:
                return login.run(device_id=device)
            finally:
                login.client.close()

        self._run(
            "Pro Santé Connect est ouvert dans votre navigateur : validez la connexion avec "
            "votre application e-CPS…",
            work,
            self._succeeded,
        )

    def _browse_module(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self, "Bibliothèque de la carte (cryptolib CPS)", self._module.text()
        )
        if path:
            self._module.setText(path)

    # --- results --------------------------------------------------------------------------

    def _run(self, busy_text: str, work: Callable[[], T], on_done: Callable[[T], None]) -> None:
        self._set_busy(True, busy_text)

        def done(result: T) -> None:
            self._set_busy(False)
            on_done(result)

        def failed(exc: Exception) -> None:
            self._set_busy(False)
            self._show_error(describe_error(exc))

        # dropped if the dialog was closed and deleted meanwhile
        run_task(work, done, failed, owner=self)

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        self._stack.setEnabled(not busy and self.credentials is None)
        self._status.setText(text)
        if busy:
            self._error.clear()
        else:
            self._update_code_buttons()
            self._refocus()
        self.busy_changed.emit(busy)

    def _refocus(self) -> None:
        if self.mode() == CARD:
            self._pin.setFocus()
        elif self.mode() == CODE:
            (self._code if self._sent else self._portal).setFocus()
        elif self.mode() == PSC:
            self._psc_ok.setFocus()

    def _show_error(self, message: str) -> None:
        self._error.setText(message)
        self.failed.emit(message)

    def _code_sent(self, sent: auth.CodeSent) -> None:
        self._sent = sent
        self._sent_label.setText(f"Un code à usage unique a été envoyé à {sent.email_hint}.")
        self._code_box.setVisible(True)
        self._resend_at = time.monotonic() + sent.resend_after_s
        self._resend_timer.start()
        self._tick()
        self._code.setFocus()

    def _tick(self) -> None:
        left = math.ceil(self._resend_at - time.monotonic())
        if left <= 0 or self.credentials is not None:
            self._resend_timer.stop()
        self._update_code_buttons(left)

    def _update_code_buttons(self, wait: int | None = None) -> None:
        sent = self._sent is not None
        # once the code is accepted, nothing is left to resend: no countdown, no button
        resendable = sent and self.credentials is None
        left = wait if wait is not None else math.ceil(self._resend_at - time.monotonic())
        self._send.setVisible(not sent)
        self._resend.setVisible(resendable)
        self._code_ok.setVisible(sent)
        self._resend.setEnabled(resendable and left <= 0)
        self._resend.setText(
            "Renvoyer le code" if left <= 0 else f"Renvoyer le code (dans {left} s)"
        )

    def _succeeded(self, creds: auth.Credentials) -> None:
        self.credentials = creds
        self._resend_timer.stop()
        self._update_code_buttons()
        self._stack.setEnabled(False)  # no second enrolment by a second click
        self._status.setText("Authentification réussie.")
        self.authenticated.emit(creds)


class StrongAuthDialog(QDialog):
    """« Authentification forte » on its own: renewal, or before a forgotten-password reset."""

    def __init__(
        self,
        server_url: str,
        text: str = "",
        *,
        login: str | None = None,
        device_id: str | None = None,
        mode: str | None = None,
        parent: QWidget | None = None,
        open_browser: BrowserOpener | None = None,
        refresh_token: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Authentification forte")
        self.setMinimumWidth(520)
        self.credentials: auth.Credentials | None = None
        self.panel = named(
            StrongAuthPanel(
                server_url,
                login,
                device_id,
                mode,
                open_browser=open_browser,
                refresh_token=refresh_token,
            ),
            "strong_auth",
        )
        self.panel.authenticated.connect(self._authenticated)
        self.finished.connect(lambda _result: self.panel.cancel_psc())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        cancel = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setText("Annuler")
        cancel.setAutoDefault(False)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        if text:
            layout.addWidget(named(QLabel(text, wordWrap=True), "explanation"))
        layout.addWidget(self.panel)
        layout.addWidget(buttons)

    def _authenticated(self, creds: Any) -> None:
        self.credentials = creds
        self.accept()

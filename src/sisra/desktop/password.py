"""« Nouveau mot de passe » of the CONNEXION window: change the local password, or, forgotten,
make a new one after a new strong authentication (card or e-mail code).

A forgotten password cannot open the old vault: the account gets a new vault with fresh
credentials, while its settings and its local state (documents already fetched) stay.
Argon2 takes about half a second, so both operations run off the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from sisra.client.accounts import Account, AccountError, AccountStore, UnlockedAccount
from sisra.client.auth import Credentials
from sisra.client.vault import MIN_PASSWORD_LENGTH, VaultError, check_password_strength
from sisra.desktop.strongauth import ERROR_STYLE, StrongAuthPanel, named
from sisra.desktop.tasks import describe_error, run_task

SAVED = "Nouveau mot de passe enregistré ; vos réglages et vos documents sont conservés."
CHANGE, FORGOTTEN, RESET, DONE = range(4)


def _password_field(name: str) -> QLineEdit:
    field = named(QLineEdit(), name)
    field.setEchoMode(QLineEdit.EchoMode.Password)
    return field


def new_password_problem(new: str, confirm: str) -> str | None:
    """What is wrong with a new password and its confirmation, in French; None if fine."""
    if new != confirm:
        return "Les deux mots de passe saisis diffèrent."
    try:
        check_password_strength(new)
    except VaultError as exc:
        return exc.message
    return None


class NewPasswordDialog(QDialog):
    """Accepted once the new password is saved. After a forgotten-password reset,
    :attr:`unlocked` is the account opened with the new vault."""

    def __init__(
        self, store: AccountStore, account: Account, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.store, self.account = store, account
        self.unlocked: UnlockedAccount | None = None
        self.busy = False
        self.setWindowTitle("Nouveau mot de passe")
        self.setMinimumWidth(540)
        self._credentials: Credentials | None = None

        self.stack = QStackedWidget()
        self.stack.addWidget(self._change_page())
        self.stack.addWidget(self._forgotten_page())
        self.stack.addWidget(self._reset_page())
        done = named(QLabel(SAVED, wordWrap=True), "saved")
        self.stack.addWidget(done)
        self.status = named(QLabel(wordWrap=True), "status")
        self.error = named(QLabel(wordWrap=True), "password_error")
        self.error.setStyleSheet(ERROR_STYLE)
        self.save = named(QPushButton("&Enregistrer"), "save")
        self.save.setDefault(True)
        self.save.clicked.connect(self._save)
        self.close_button = named(QPushButton("Annuler"), "close")
        self.close_button.setAutoDefault(False)
        self.close_button.clicked.connect(self._close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.save)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Utilisateur : {account.display_name} ({account.settings.login})"))
        layout.addWidget(self.stack)
        layout.addWidget(self.status)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        self._show(CHANGE)

    # --- pages ----------------------------------------------------------------------------

    def _change_page(self) -> QWidget:
        page = named(QWidget(), "change_page")
        self.current = _password_field("current_password")
        self.new = _password_field("new_password")
        self.confirm = _password_field("confirm_password")
        forgotten = named(QPushButton("J'ai &oublié mon mot de passe"), "forgotten")
        forgotten.setFlat(True)
        forgotten.setStyleSheet("color: #0b57d0; text-decoration: underline; text-align: left;")
        forgotten.setCursor(Qt.CursorShape.PointingHandCursor)
        forgotten.setAutoDefault(False)
        forgotten.clicked.connect(lambda: self._show(FORGOTTEN))
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Mot de passe &actuel :", self.current)
        form.addRow("&Nouveau mot de passe :", self.new)
        form.addRow("&Confirmation :", self.confirm)
        form.addRow(QLabel(f"Au moins {MIN_PASSWORD_LENGTH} caractères.", wordWrap=True))
        form.addRow(forgotten)
        return page

    def _forgotten_page(self) -> QWidget:
        page = named(QWidget(), "forgotten_page")
        # no device id: the old vault, which holds it, cannot be opened without the password
        self.panel = named(
            StrongAuthPanel(self.account.settings.server_url, login=self.account.settings.login),
            "strong_auth",
        )
        self.panel.authenticated.connect(self._authenticated)
        self.panel.busy_changed.connect(lambda busy: self.close_button.setEnabled(not busy))
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(
            QLabel(
                "Pour choisir un nouveau mot de passe, authentifiez-vous de nouveau : avec "
                "votre carte CPS, ou avec vos identifiants et un code reçu par e-mail.",
                wordWrap=True,
            )
        )
        layout.addWidget(self.panel)
        return page

    def _reset_page(self) -> QWidget:
        page = named(QWidget(), "reset_page")
        self.reset_new = _password_field("reset_password")
        self.reset_confirm = _password_field("reset_confirm")
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(QLabel("Authentification réussie. Choisissez votre nouveau mot de passe."))
        form.addRow("&Nouveau mot de passe :", self.reset_new)
        form.addRow("&Confirmation :", self.reset_confirm)
        form.addRow(QLabel(f"Au moins {MIN_PASSWORD_LENGTH} caractères.", wordWrap=True))
        return page

    def _show(self, index: int) -> None:
        # the stack takes the size of the page shown, not of its tallest page
        for i in range(self.stack.count()):
            policy = QSizePolicy.Policy.Preferred if i == index else QSizePolicy.Policy.Ignored
            page = self.stack.widget(i)
            if page is not None:
                page.setSizePolicy(policy, policy)
        self.stack.setCurrentIndex(index)
        self.stack.adjustSize()
        self.adjustSize()
        self.error.clear()
        self.save.setVisible(index in (CHANGE, RESET))
        self.close_button.setText("Fermer" if index == DONE else "Annuler")
        focus = {CHANGE: self.current, RESET: self.reset_new}.get(index)
        if focus is not None:
            focus.setFocus()
        if index == DONE:
            self.close_button.setDefault(True)
            self.close_button.setFocus()

    # --- actions --------------------------------------------------------------------------

    def _authenticated(self, creds: Credentials) -> None:
        self._credentials = creds
        self._show(RESET)

    def _save(self) -> None:
        if self.busy:
            return
        page = self.stack.currentIndex()
        new, confirm = (
            (self.new.text(), self.confirm.text())
            if page == CHANGE
            else (self.reset_new.text(), self.reset_confirm.text())
        )
        problem = new_password_problem(new, confirm)
        if problem:
            self.error.setText(problem)
            return
        store, account_id = self.store, self.account.id
        if page == CHANGE:
            old = self.current.text()

            def change() -> UnlockedAccount | None:
                store.change_password(account_id, old, new)
                return None

            self._run(change)
        elif self._credentials is not None:
            creds = self._credentials.to_dict()
            self._run(lambda: store.reset_password(account_id, new, creds))

    def _run(self, work: Callable[[], UnlockedAccount | None]) -> None:
        self.busy = True
        self.stack.setEnabled(False)
        self.save.setEnabled(False)
        self.close_button.setEnabled(False)
        self.error.clear()
        self.status.setText("Enregistrement du mot de passe…")
        run_task(work, self._saved, self._failed, owner=self)

    def _idle(self) -> None:
        self.busy = False
        self.stack.setEnabled(True)
        self.save.setEnabled(True)
        self.close_button.setEnabled(True)
        self.status.clear()

    def _saved(self, unlocked: UnlockedAccount | None) -> None:
        self._idle()
        self.unlocked = unlocked
        self._show(DONE)

    def _failed(self, exc: Exception) -> None:
        self._idle()
        if isinstance(exc, AccountError) and exc.code == "credentials_mismatch":
            # another professional's card or login: authenticate again, as this account
            self._credentials = None
            self.panel.reset()
            self._show(FORGOTTEN)
        self.error.setText(describe_error(exc))
        if self.stack.currentIndex() == CHANGE and isinstance(exc, AccountError):
            self.current.selectAll()
            self.current.setFocus()

    def _close(self) -> None:
        if self.stack.currentIndex() == DONE:
            self.accept()
        else:
            self.reject()

    def reject(self) -> None:
        if self.busy:
            return  # the vault is being rewritten: wait for it
        if self.stack.currentIndex() == DONE:
            self.accept()  # saved already: closing the window is « Fermer »
            return
        super().reject()

"""CONNEXION: the users configured on this computer, and the local password.

Unlocking derives the vault key with Argon2id (a deliberately slow second or so), so it runs
off the UI thread while the window says what it is doing.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from sisra.client.accounts import Account, AccountStore, UnlockedAccount
from sisra.client.lock import wait_released
from sisra.desktop.icons import app_pixmap
from sisra.desktop.tasks import describe_error, run_task


class LoginWindow(QWidget):
    """Emits :attr:`unlocked` with the account opened by its password."""

    unlocked = Signal(object)
    add_user_requested = Signal()

    def __init__(self, store: AccountStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setObjectName("login")
        self.setWindowTitle("Connexion")
        self.setMinimumSize(460, 420)
        layout = QVBoxLayout(self)
        head = QHBoxLayout()
        logo = QLabel()
        logo.setPixmap(app_pixmap(48))
        title = QLabel("CONNEXION")
        title.setObjectName("heading")
        title.setStyleSheet("font-size: 20px; font-weight: bold; color: #1f5fa8;")
        head.addWidget(logo)
        head.addWidget(title)
        head.addStretch(1)
        layout.addLayout(head)

        layout.addWidget(QLabel("Utilisateur :"))
        self.users = QListWidget()
        self.users.setObjectName("users")
        self.users.setMaximumHeight(150)
        self.users.setStyleSheet("QListWidget::item { padding: 6px; }")
        self.users.currentItemChanged.connect(lambda *_: self._focus_password())
        layout.addWidget(self.users)
        layout.addWidget(QLabel("Mot de passe MonSisra :"))
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.returnPressed.connect(self.log_in)
        layout.addWidget(self.password)
        self.message = QLabel()
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.connect_button = QPushButton("Se connecter")
        self.connect_button.setObjectName("connect")
        self.connect_button.setDefault(True)
        self.connect_button.clicked.connect(self.log_in)
        layout.addWidget(self.connect_button)
        links = QHBoxLayout()
        self.new_password = QPushButton("Nouveau mot de passe")
        self.new_password.setObjectName("new-password")
        self.new_password.setFlat(True)
        self.new_password.clicked.connect(self.change_password)
        self.add_user = QPushButton("Ajouter un utilisateur")
        self.add_user.setObjectName("add-user")
        self.add_user.setFlat(True)
        self.add_user.clicked.connect(self.add_user_requested.emit)
        for button in (self.new_password, self.add_user):
            button.setStyleSheet("color: #0b57d0; text-decoration: underline;")
            button.setCursor(Qt.CursorShape.PointingHandCursor)
        links.addWidget(self.new_password)
        links.addStretch(1)
        links.addWidget(self.add_user)
        layout.addStretch(1)
        layout.addLayout(links)
        self.dialog: QWidget | None = None
        self.refresh()

    def refresh(self, select: str | None = None) -> None:
        """List the users of this computer (``select``: an account id to preselect)."""
        self.users.clear()
        for account in self.store.list():
            item = QListWidgetItem(f"{account.display_name}  ({account.settings.login})")
            item.setData(Qt.ItemDataRole.UserRole, account)
            self.users.addItem(item)
            if account.id == select:
                self.users.setCurrentItem(item)
        if self.users.currentItem() is None and self.users.count():
            self.users.setCurrentRow(0)
        self.password.clear()

    def account(self) -> Account | None:
        item = self.users.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)  # type: ignore[no-any-return]

    def _focus_password(self) -> None:
        self.password.setFocus()
        self.message.clear()

    def show_error(self, text: str) -> None:
        self._say(text, error=True)

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet("color: #b00020;" if error else "color: #333;")
        self.message.setText(text)

    def log_in(self) -> None:
        account = self.account()
        if account is None:
            self._say("Choisissez un utilisateur, ou ajoutez-en un.", error=True)
            return
        password = self.password.text()
        if not password:
            self._say("Saisissez votre mot de passe MonSisra.", error=True)
            return
        self.connect_button.setEnabled(False)
        self._say("Ouverture de votre compte…")

        def done(unlocked: UnlockedAccount) -> None:
            self.connect_button.setEnabled(True)
            self.password.clear()
            self.message.clear()
            self.unlocked.emit(unlocked)

        def failed(exc: Exception) -> None:
            self.connect_button.setEnabled(True)
            self.password.selectAll()
            self.password.setFocus()
            self._say(describe_error(exc), error=True)

        def unlock() -> UnlockedAccount:
            # after « Déconnexion », this window's last sync may still be ending: wait for it
            # rather than report the account as in use by another MonSisra
            wait_released(account)
            return self.store.unlock(account.id, password)

        run_task(unlock, done, failed, owner=self)

    def change_password(self) -> None:
        account = self.account()
        if account is None:
            self._say("Choisissez d'abord l'utilisateur concerné.", error=True)
            return
        from sisra.desktop.password import NewPasswordDialog

        dialog = NewPasswordDialog(self.store, account, self)
        dialog.accepted.connect(
            lambda: self._say("Nouveau mot de passe enregistré. Vous pouvez vous connecter.")
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog
        dialog.show()

"""The menu's « Répertoire d'enregistrement des documents » and « Paramétrages » dialogs.

Saving writes account.json (through :class:`AccountStore`) and restarts the account's sync so
the new folder, practice software or server apply to the next document.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from sisra.client.accounts import Account, AccountError, AccountStore
from sisra.client.engine import DEFAULT_PROFILE, default_export_folder
from sisra.client.export.permissions import PRIVATE
from sisra.desktop.config import apply_autostart
from sisra.desktop.exportchoice import ExportChoice
from sisra.desktop.session import AccountSession
from sisra.desktop.tasks import describe_error, run_task
from sisra.desktop.tray import Alerts


class _SaveDialog(QDialog):
    def __init__(self, title: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(560)
        self.layout_ = QVBoxLayout(self)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020;")
        self.error.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setText("Enregistrer")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Annuler")
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

    def finish_layout(self) -> None:
        self.layout_.addWidget(self.error)
        self.layout_.addWidget(self.buttons)

    def fail(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def save(self) -> None:
        raise NotImplementedError


class FolderDialog(_SaveDialog):
    """Practice software and the folder the documents are written to."""

    def __init__(
        self, store: AccountStore, session: AccountSession, parent: QWidget | None
    ) -> None:
        super().__init__("Répertoire d'enregistrement des documents", parent)
        self.setObjectName("folder-dialog")
        self.store, self.session = store, session
        settings = session.account.settings
        self.layout_.addWidget(
            QLabel(
                "Choisissez votre logiciel métier : MonSisra y dépose chaque document reçu, au "
                "format qu'il sait importer.",
                wordWrap=True,
            )
        )
        self.choice = ExportChoice(self)
        self.choice.set_values(
            settings.software_profile_id or DEFAULT_PROFILE,
            settings.export_folder or default_export_folder(),
        )
        self.layout_.addWidget(self.choice)
        self.finish_layout()

    def save(self) -> None:
        """The folder may be on a network share that takes its time: created off the UI
        thread."""
        folder, profile_id = self.choice.folder(), self.choice.profile_id()
        account_id = self.session.account.id

        def apply() -> Account:
            try:
                PRIVATE.make_folder(folder)  # 0700: patient documents go there
            except OSError as exc:
                raise AccountError(
                    "folder_unavailable",
                    f"Impossible de créer le répertoire {folder} : {exc.strerror or exc}.",
                ) from exc
            return self.store.update_settings(
                account_id, software_profile_id=profile_id, export_folder=folder
            )

        def done(account: Account) -> None:
            self.session.use_account(account)
            self.accept()

        def failed(exc: Exception) -> None:
            self.buttons.setEnabled(True)
            self.fail(describe_error(exc))

        self.buttons.setEnabled(False)
        self.error.hide()
        run_task(apply, done, failed, owner=self)


class SettingsDialog(_SaveDialog):
    """« Paramétrages »: launch at startup, platform address, notifications."""

    def __init__(
        self,
        store: AccountStore,
        session: AccountSession,
        alerts: Alerts,
        parent: QWidget | None,
    ) -> None:
        super().__init__("Paramétrages", parent)
        self.setObjectName("settings-dialog")
        self.store, self.session, self.alerts = store, session, alerts
        settings = session.account.settings
        form = QFormLayout()
        self.autostart = QCheckBox("Lancer MonSisra au démarrage de l'ordinateur")
        self.autostart.setObjectName("autostart")
        self.autostart.setChecked(settings.launch_at_startup)
        self.notifications = QCheckBox("M'alerter à chaque nouveau document reçu")
        self.notifications.setObjectName("notifications")
        self.notifications.setChecked(settings.notifications)
        self.server = QLineEdit(settings.server_url)
        self.server.setObjectName("server")
        form.addRow(self.autostart)
        form.addRow(self.notifications)
        form.addRow("Adresse de la plateforme Sisra :", self.server)
        self.outbox = QLineEdit(str(settings.outbox or ""))
        self.outbox.setObjectName("outbox")
        self.outbox.setPlaceholderText("aucun : rien n'est envoyé depuis un dossier")
        form.addRow("Dossier d'envoi :", self.outbox)
        self.layout_.addLayout(form)
        self.layout_.addWidget(
            QLabel(
                "Dossier d'envoi : les courriers que votre logiciel métier y dépose (PDF avec "
                "son en-tête HPRIM, ou archive IHE XDM) sont envoyés à leurs destinataires ; "
                "ceux qu'il faut compléter sont listés dans «\u00a0À envoyer\u00a0».",
                wordWrap=True,
            )
        )
        folder = settings.export_folder or default_export_folder()
        self.layout_.addWidget(
            QLabel(
                f"Répertoire d'enregistrement : {folder} — modifiable par le menu "
                "« Répertoire d'enregistrement des documents ».",
                wordWrap=True,
            )
        )
        self.finish_layout()

    def save(self) -> None:
        settings = self.session.account.settings
        typed = self.outbox.text().strip()
        outbox = Path(typed).expanduser() if typed else None
        changes: dict[str, object] = {
            "launch_at_startup": self.autostart.isChecked(),
            "notifications": self.notifications.isChecked(),
            "server_url": self.server.text(),
        }
        if outbox != settings.outbox:
            changes["outbox"] = outbox  # checked and created by the store
        try:
            account = self.store.update_settings(self.session.account.id, **changes)
        except AccountError as exc:
            self.fail(exc.message)
            return
        if account.settings.launch_at_startup != settings.launch_at_startup:
            problem = apply_autostart(account.settings.launch_at_startup)
            if problem:
                self.fail(problem)
                return
        self.alerts.enabled = account.settings.notifications
        restart = (account.settings.server_url, account.settings.outbox)
        if restart != (settings.server_url, settings.outbox):
            self.session.use_account(account)  # the engine watches the new outbox
        else:
            self.session.account = self.session.unlocked.account = account
        self.accept()


def folder_of(session: AccountSession) -> Path:
    return session.account.settings.export_folder or default_export_folder()

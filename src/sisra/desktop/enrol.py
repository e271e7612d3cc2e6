"""First run and « Ajouter un utilisateur »: the installation of the MonSisra user guide,
page by page — strong authentication, local password, practice software and folder, past
documents, then the account is created and the last days' documents are fetched.

Command-line equivalent: ``sisra client add-user`` (:mod:`sisra.client.cli`).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from sisra.client.accounts import (
    Account,
    AccountError,
    AccountSettings,
    AccountStore,
    UnlockedAccount,
)
from sisra.client.api import PlatformClient, default_server
from sisra.client.auth import Credentials
from sisra.client.engine import default_export_folder, open_engine
from sisra.client.export.permissions import PRIVATE
from sisra.client.sync import Progress, since_days
from sisra.client.vault import MIN_PASSWORD_LENGTH, VaultError, check_password_strength
from sisra.common.french import de
from sisra.desktop.config import apply_autostart
from sisra.desktop.exportchoice import ExportChoice
from sisra.desktop.strongauth import (
    CARD,
    CARD_CHOICE,
    CODE,
    CODE_CHOICE,
    ERROR_STYLE,
    PSC,
    PSC_CHOICE,
    StrongAuthPanel,
    card_choice_button,
    code_choice_button,
    named,
    offer_psc_if_available,
    psc_choice_button,
)
from sisra.desktop.tasks import describe_error, run_task

T = TypeVar("T")
DOCTORS = ("médecin", "chirurgien-dentiste", "pharmacien")  # addressed as « Dr »
DEFAULT_DAYS = 30  # as AccountSettings.backfill_days: a month of mail is what most want back
DONE_TEXT = (
    "Vous pouvez reprendre vos activités : MonSisra vous alertera lorsque vous recevrez "
    "un nouveau document."
)


def greeting(me: dict[str, Any]) -> str:
    title = "Dr " if str(me.get("profession", "")).casefold().startswith(DOCTORS) else ""
    return f"Bonjour {title}{me['first_name']} {me['last_name']}"


def _error_label(name: str) -> QLabel:
    label = named(QLabel(wordWrap=True), name)
    label.setStyleSheet(ERROR_STYLE)
    return label


class _Page(QWizardPage):
    def __init__(self, name: str, title: str, subtitle: str = "") -> None:
        super().__init__()
        self.setObjectName(name)
        self.setTitle(title)
        self.setSubTitle(subtitle)

    @property
    def wiz(self) -> EnrolWizard:
        return cast(EnrolWizard, self.wizard())

    def run(
        self,
        work: Callable[[], T],
        on_done: Callable[[T], None],
        on_error: Callable[[Exception], None],
    ) -> None:
        """:func:`run_task`, its answer dropped if the wizard was closed and deleted meanwhile."""
        run_task(work, on_done, on_error, owner=self)


class WelcomePage(_Page):
    def __init__(self, server_url: str) -> None:
        super().__init__(
            "welcome",
            "Bienvenue dans MonSisra",
            "Pour s'installer, MonSisra doit vous authentifier.",
        )
        intro = QLabel(
            "Choisissez votre mode d'authentification. Il n'est proposé qu'à l'installation : "
            "par la suite, cette authentification forte vous sera redemandée de temps en temps, "
            "et au quotidien vous accéderez à MonSisra avec votre mot de passe.",
            wordWrap=True,
        )
        self.server = named(QLineEdit(server_url), "server")
        self.server.textChanged.connect(self.completeChanged)
        self.error = _error_label("welcome_error")
        self.mode: str | None = None
        self.choices = QButtonGroup(self)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        for mode, button in (
            (CARD, card_choice_button()),
            (CODE, code_choice_button()),
            (PSC, psc_choice_button()),
        ):
            button.setCheckable(True)
            self.choices.addButton(button)
            button.clicked.connect(lambda _=False, m=mode: self._chosen(m))
            layout.addWidget(button)
            if mode == PSC:
                self.psc_choice = button
        layout.addStretch(1)
        form = QFormLayout()
        form.addRow("&Adresse de la plateforme :", self.server)
        layout.addLayout(form)
        layout.addWidget(self.error)
        # e-CPS only where the platform offers it: asked now, and again for another address
        self.server.editingFinished.connect(self._ask_methods)
        self._ask_methods()

    def _platform(self) -> str:
        return self.server.text().strip().rstrip("/")

    def _ask_methods(self) -> None:
        server = self._platform()
        if server.lower().startswith(("https://", "http://")):
            offer_psc_if_available(self.psc_choice, server, lambda: self._platform() == server)

    def _chosen(self, mode: str) -> None:
        self.mode = mode
        self.completeChanged.emit()
        self.wiz.next()

    def isComplete(self) -> bool:
        return self.mode is not None and bool(self.server.text().strip())

    def validatePage(self) -> bool:
        if not self.server.text().strip().lower().startswith(("https://", "http://")):
            self.error.setText("L'adresse de la plateforme doit commencer par https://.")
            return False
        self.error.clear()
        return True


class AuthPage(_Page):
    """The panel in the chosen mode, then who the platform says we are."""

    def __init__(self) -> None:
        super().__init__("strong_auth_page", "Authentification forte")
        self.panel = named(StrongAuthPanel(default_server()), "strong_auth")
        self.panel.authenticated.connect(self._authenticated)
        self.hello = named(QLabel(wordWrap=True), "greeting")
        font = self.hello.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.hello.setFont(font)
        self.error = _error_label("auth_error")
        self.me: dict[str, Any] | None = None
        self._for: tuple[str, str] | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(self.panel)
        layout.addWidget(self.hello)
        layout.addWidget(self.error)
        layout.addStretch(1)

    def initializePage(self) -> None:
        welcome = self.wiz.welcome
        server, mode = welcome.server.text().strip().rstrip("/"), welcome.mode or CARD
        self.setSubTitle({CARD: CARD_CHOICE, CODE: CODE_CHOICE, PSC: PSC_CHOICE}[mode])
        if self._for != (server, mode):  # another platform or mode: start again
            self._for = (server, mode)
            self.me = None
            self.panel.server_url = server
            self.panel.reset()
            self.hello.clear()
            self.error.clear()
        self.panel.set_mode(mode)

    def _authenticated(self, creds: Credentials) -> None:
        server = self.panel.server_url

        def fetch() -> dict[str, Any]:
            with PlatformClient(server) as client:
                return dict(client.get_json("/api/v1/me", token=creds.access_token))

        def fetched(me: dict[str, Any]) -> None:
            duplicate = self._existing(str(me["id"]), server)
            if duplicate is not None:
                self.error.setText(
                    f"Un compte existe déjà pour ce professionnel sur cet ordinateur "
                    f"(« {duplicate.display_name} ») : ouvrez-le depuis la fenêtre CONNEXION."
                )
                return
            self.me = me
            self.hello.setText(f"{greeting(me)}\nIdentifiant : {me['login']}")
            self.completeChanged.emit()
            self.wiz.button(QWizard.WizardButton.NextButton).setFocus()  # Return goes on

        def failed(exc: Exception) -> None:
            self.error.setText(describe_error(exc))
            self.panel.reset()  # authenticate again to retry

        self.run(fetch, fetched, failed)

    def _existing(self, professional_id: str, server: str) -> Account | None:
        for account in self.wiz.store.list():
            same = account.settings.server_url.rstrip("/").lower() == server.lower()
            if same and account.settings.professional_id == professional_id:
                return account
        return None

    def isComplete(self) -> bool:
        return self.me is not None and self.panel.credentials is not None


class PasswordPage(_Page):
    def __init__(self) -> None:
        super().__init__(
            "password_page",
            "Votre mot de passe MonSisra",
            "Choisissez un mot de passe, il vous sera redemandé à chaque lancement de MonSisra "
            "sur cet ordinateur.",
        )
        self.password = named(QLineEdit(), "new_password")
        self.confirm = named(QLineEdit(), "confirm_password")
        for field in (self.password, self.confirm):
            field.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = _error_label("password_error")
        form = QFormLayout()
        form.addRow("&Mot de passe :", self.password)
        form.addRow("&Confirmation :", self.confirm)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                f"Au moins {MIN_PASSWORD_LENGTH} caractères. Il protège vos accès sur cet "
                "ordinateur et n'est jamais envoyé à la plateforme.",
                wordWrap=True,
            )
        )
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addStretch(1)

    def validatePage(self) -> bool:
        if self.password.text() != self.confirm.text():
            self.error.setText("Les deux mots de passe saisis diffèrent.")
            self.confirm.clear()
            self.confirm.setFocus()
            return False
        try:
            check_password_strength(self.password.text())
        except VaultError as exc:
            self.error.setText(exc.message)
            self.password.setFocus()
            return False
        self.error.clear()
        return True


class SoftwarePage(_Page):
    def __init__(self) -> None:
        super().__init__(
            "software_page",
            "Votre logiciel métier",
            "Pour optimiser l'import de vos documents dans votre logiciel métier cliquez sur OUI.",
        )
        self.yes = named(QRadioButton("&OUI : je sélectionne mon logiciel"), "software_yes")
        self.no = named(QRadioButton("&NON : enregistrer les documents en PDF"), "software_no")
        self.no.setChecked(True)
        self.choice = named(ExportChoice(), "export_choice")
        self.choice.setVisible(False)
        self.pdf_note = named(
            QLabel(
                f"Les documents seront enregistrés en PDF dans {default_export_folder()}.",
                wordWrap=True,
            ),
            "pdf_note",
        )
        self.error = _error_label("software_error")
        self.yes.toggled.connect(self._toggled)
        layout = self._layout = QVBoxLayout(self)
        layout.addWidget(self.yes)
        layout.addWidget(self.no)
        layout.addWidget(self.choice, 1)
        layout.addWidget(self.pdf_note)
        self._spacer = layout.count()  # takes the room the list leaves when NON
        layout.addStretch(1)
        layout.addWidget(
            QLabel(
                "Vous pourrez modifier ce répertoire à tout moment : menu de la fenêtre "
                "DOCUMENTS REÇUS, rubrique « Répertoire d'enregistrement des documents ».",
                wordWrap=True,
            )
        )
        layout.addWidget(self.error)

    def _toggled(self, yes: bool) -> None:
        self.choice.setVisible(yes)
        self.pdf_note.setVisible(not yes)
        self._layout.setStretch(self._spacer, 0 if yes else 1)

    def profile_id(self) -> str:
        return self.choice.profile_id() if self.yes.isChecked() else "pdf"

    def folder(self) -> Path:
        return self.choice.folder() if self.yes.isChecked() else default_export_folder()

    def validatePage(self) -> bool:
        # created now so that a folder MonSisra cannot write to is fixed on this page
        try:
            PRIVATE.make_folder(self.folder())  # 0700: patient documents go there
        except OSError as exc:
            self.error.setText(describe_error(exc))
            return False
        self.error.clear()
        return True


class PastPage(_Page):
    def __init__(self) -> None:
        super().__init__(
            "past_page",
            "Vos derniers documents reçus",
            "Récupérer les documents reçus avant l'installation, et le lancement de MonSisra.",
        )
        self.days = named(QSpinBox(), "days")
        self.days.setRange(0, 365)
        self.days.setValue(DEFAULT_DAYS)
        self.days.setSuffix(" jours")
        self.days.setMaximumWidth(140)
        self.autostart = named(
            QCheckBox("&Lancer MonSisra au démarrage de l'ordinateur"), "autostart"
        )
        self.autostart.setChecked(True)
        self.send = named(
            QCheckBox("&Envoyer aussi les courriers que mon logiciel métier dépose dans :"),
            "send_from_folder",
        )
        self.outbox = named(QLineEdit(str(default_outbox())), "outbox")
        self.outbox.setEnabled(False)
        self.send.toggled.connect(self.outbox.setEnabled)
        self.error = _error_label("past_error")
        form = QFormLayout()
        form.addRow("Remonter sur :", self.days)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                "MonSisra vous permet de télécharger vos derniers documents reçus. Indiquez le "
                "nombre de jours sur lesquels vous souhaitez remonter. Sinon indiquez 0.",
                wordWrap=True,
            )
        )
        layout.addLayout(form)
        layout.addSpacing(12)
        layout.addWidget(self.autostart)
        layout.addSpacing(12)
        layout.addWidget(self.send)
        layout.addWidget(self.outbox)
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "Créer mon compte")

    def outbox_folder(self) -> Path | None:
        """The outbox chosen (None: the option is not ticked)."""
        typed = self.outbox.text().strip()
        return Path(typed).expanduser() if self.send.isChecked() and typed else None

    def validatePage(self) -> bool:
        # checked before the account is created: this page cannot be come back to
        folder = self.outbox_folder()
        if self.send.isChecked() and folder is None:
            self.error.setText("Indiquez le dossier d'envoi, ou décochez l'option.")
            return False
        if folder is not None:
            try:
                AccountSettings(
                    "-", "-", "-", "https://-", export_folder=self.wiz.software.folder(),
                    outbox=folder,
                ).validated()  # fmt: skip
                PRIVATE.make_folder(folder)
            except AccountError as exc:
                self.error.setText(exc.message)
                return False
            except OSError as exc:
                self.error.setText(describe_error(exc))
                return False
        self.error.clear()
        return True


def default_outbox() -> Path:
    """The outbox offered by the wizard, beside the export folder."""
    return default_export_folder().parent / "MonSisra à envoyer"


class _Relay(QObject):
    """Carries the backfill's progress from its thread to the UI thread (queued)."""

    progress = Signal(int, int, int)  # done, total, failed


class _Stopped(Exception):
    pass


@dataclass
class _Backfill:
    report: Progress
    stopped: bool


class CreationPage(_Page):
    def __init__(self) -> None:
        super().__init__(
            "creation_page",
            "Création de votre compte",
            "MonSisra enregistre vos réglages puis récupère vos derniers documents.",
        )
        self.status = named(QLabel(wordWrap=True), "creation_status")
        self.bar = named(QProgressBar(), "progress")
        self.bar.setVisible(False)
        self.result = named(QLabel(wordWrap=True), "creation_result")
        self.error = _error_label("creation_error")
        self.retry = named(QPushButton("&Réessayer"), "retry")
        self.retry.setVisible(False)
        self.retry.clicked.connect(self._create)
        self.stop = named(QPushButton("&Arrêter la récupération"), "stop_backfill")
        self.stop.setVisible(False)
        self.stop.clicked.connect(self._stop)
        self.busy = False
        self.finished = False
        self._counts = (0, 0, 0)  # exported, total, failed: as last reported
        self._stop_flag = threading.Event()
        self._relay = _Relay(self)
        self._relay.progress.connect(self._progress)
        layout = QVBoxLayout(self)
        for widget in (self.status, self.bar, self.result, self.error):
            layout.addWidget(widget)
        layout.addWidget(self.retry)
        layout.addWidget(self.stop)
        layout.addStretch(1)
        # once the account exists there is nothing to go back to
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "Suivant >")

    def initializePage(self) -> None:
        self._create()

    def isComplete(self) -> bool:
        return self.finished

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.wiz.button(QWizard.WizardButton.CancelButton).setEnabled(not busy)

    def _create(self) -> None:
        wiz = self.wiz
        me, creds = wiz.auth.me, wiz.auth.panel.credentials
        assert me is not None and creds is not None
        password, folder = wiz.passwords.password.text(), wiz.software.folder()
        autostart = wiz.past.autostart.isChecked()
        settings = AccountSettings(
            display_name=f"{me['first_name']} {me['last_name']}",
            login=str(me["login"]),
            professional_id=str(me["id"]),
            server_url=wiz.auth.panel.server_url,
            software_profile_id=wiz.software.profile_id(),
            export_folder=folder,
            backfill_days=wiz.past.days.value(),
            launch_at_startup=autostart,
            outbox=wiz.past.outbox_folder(),
        )
        store = wiz.store

        def work() -> tuple[UnlockedAccount, str | None]:
            account = store.create(settings, password, creds.to_dict())
            unlocked = store.unlock(account.id, password)
            PRIVATE.make_folder(folder)  # 0700: patient documents go there
            # Unticked leaves the entry alone: it is shared by every account of this computer.
            return unlocked, apply_autostart(True) if autostart else None

        self.retry.setVisible(False)
        self.error.clear()
        self.status.setText("Création de votre compte…")
        self._set_busy(True)
        self.run(work, self._created, self._creation_failed)

    def _creation_failed(self, exc: Exception) -> None:
        self._set_busy(False)
        self.status.clear()
        self.error.setText(describe_error(exc))
        self.retry.setVisible(True)

    def _created(self, result: tuple[UnlockedAccount, str | None]) -> None:
        unlocked, autostart_problem = result
        wiz = self.wiz
        wiz.unlocked, wiz.account = unlocked, unlocked.account
        wiz.setOption(QWizard.WizardOption.NoCancelButton, True)
        if autostart_problem:
            self.error.setText(autostart_problem)
        self.status.setText(f"Compte {de(unlocked.account.display_name)} créé.")
        self._backfill(unlocked, wiz.past.days.value())

    def _backfill(self, unlocked: UnlockedAccount, days: int) -> None:
        relay, stop = self._relay, self._stop_flag

        def progress(report: Progress) -> None:
            relay.progress.emit(report.done, report.total, report.failed)
            if stop.is_set():
                raise _Stopped

        def work() -> _Backfill:
            running = open_engine(unlocked)
            try:
                # with 0 days too: what is already in the inbox is recorded as not wanted
                running.engine.catch_up(since=since_days(days))
                relay.progress.emit(0, len(running.state.due()), 0)
                try:
                    return _Backfill(running.engine.process_due(progress), False)
                except _Stopped:
                    return _Backfill(Progress(), True)
            finally:
                running.close()

        self.stop.setVisible(days > 0)
        self.bar.setVisible(days > 0)
        self.bar.setRange(0, 0)  # busy until the number of documents is known
        self.result.setText("Recherche de vos derniers documents…" if days > 0 else "")
        self.run(work, self._backfilled, self._backfill_failed)

    def _progress(self, done: int, total: int, failed: int) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done if total else 1)
        self._counts = (done - failed, total, failed)
        self.result.setText(f"{done - failed} / {total} documents enregistrés")

    def _stop(self) -> None:
        self._stop_flag.set()
        self.stop.setEnabled(False)

    def _backfilled(self, outcome: _Backfill) -> None:
        exported, total, failed = self._counts
        if not outcome.stopped:
            exported, failed = outcome.report.exported, outcome.report.failed
        lines = [f"{exported} / {total} documents enregistrés"] if total else []
        days = self.wiz.past.days.value()
        if days:
            if not total:
                lines.append(f"Aucun document reçu ces {days} derniers jours.")
            if failed:
                lines.append(
                    f"{failed} document(s) n'ont pas pu être enregistrés : MonSisra "
                    "réessaiera automatiquement."
                )
            if outcome.stopped:
                lines.append("Les documents restants seront récupérés par la synchronisation.")
        self._end("\n".join(lines))

    def _backfill_failed(self, exc: Exception) -> None:
        self._end(
            f"La récupération des documents n'a pas abouti : {describe_error(exc)} "
            "La synchronisation s'en chargera."
        )

    def _end(self, text: str) -> None:
        self.result.setText(text)
        self.stop.setVisible(False)
        self._set_busy(False)
        self.finished = True
        self.wiz.summary = text
        self.completeChanged.emit()


class DonePage(_Page):
    def __init__(self) -> None:
        super().__init__("done_page", "C'est terminé !", "MonSisra est installé.")
        self.summary = named(QLabel(wordWrap=True), "summary")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(DONE_TEXT, wordWrap=True))
        layout.addSpacing(12)
        layout.addWidget(self.summary)
        layout.addStretch(1)

    def initializePage(self) -> None:
        self.summary.setText(self.wiz.summary)


class EnrolWizard(QWizard):
    """After ``exec()`` accepted: :attr:`account` and :attr:`unlocked` are the new account."""

    def __init__(
        self, store: AccountStore, server_url: str | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.account: Account | None = None
        self.unlocked: UnlockedAccount | None = None
        self.summary = ""
        self.setObjectName("enrol_wizard")
        self.setWindowTitle("Ajouter un utilisateur")
        if sys.platform != "darwin":  # macOS has its own wizard look
            self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setMinimumSize(680, 500)
        for button, text in (
            (QWizard.WizardButton.BackButton, "< &Précédent"),
            (QWizard.WizardButton.NextButton, "&Suivant >"),
            (QWizard.WizardButton.CancelButton, "Annuler"),
            (QWizard.WizardButton.FinishButton, "&Terminer"),
        ):
            self.setButtonText(button, text)
        self.welcome = WelcomePage(server_url or default_server())
        self.auth = AuthPage()
        self.passwords = PasswordPage()
        self.software = SoftwarePage()
        self.past = PastPage()
        self.creation = CreationPage()
        self.done_page = DonePage()
        for page in (
            self.welcome,
            self.auth,
            self.passwords,
            self.software,
            self.past,
            self.creation,
            self.done_page,
        ):
            self.addPage(page)

    def reject(self) -> None:
        self.auth.panel.cancel_psc()  # no browser login left waiting behind a closed window
        if self.creation.busy:
            return  # the account is being written: Cancel is disabled, Escape waits too
        if self.account is not None:
            self.accept()  # it exists now: closing the window is finishing
            return
        super().reject()

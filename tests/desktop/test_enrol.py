"""The first-run wizard against the real platform, the real SMTP sink and a SoftHSM2 CPS card:
enrolment by card and by e-mail code, the local password, the practice software, the backfill."""

import uuid
from datetime import timedelta

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QWizard
from sqlalchemy import update

from sisra.client.accounts import AccountError, AccountSettings
from sisra.client.engine import open_engine
from sisra.client.export.profiles import get_profile
from sisra.client.state import LocalState
from sisra.desktop.exportchoice import ExportChoice
from sisra.platform.models import Notification, utcnow
from support.desktop import WAIT
from support.documents import share_request
from support.enrol import (
    LOCAL,
    authenticate_by_code,
    choose_password,
    click,
    finish_creation,
    next_button,
    start,
    type_into,
)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """The default export folder lives in the user's Documents: a temporary home here."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_enrol_with_card_backfills_the_last_days(
    insert_card, qtbot, live_server, make_pro, make_patient, pdf, account_store, tmp_path, db
):  # insert_card first: the platform must trust the demo CA before it starts
    from sisra.devtools.softhsm import SOFTHSM_MODULE

    pro = make_pro("helene.roux", first_name="Hélène", last_name="Roux", log_in=False)
    sender = make_pro()
    patient = make_patient("MARTIN")
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        old = share_request(c, sender, patient, [pro], pdf("ancien"), title="Ancien bilan")
        new = share_request(c, sender, patient, [pro], pdf("récent"), title="Bilan récent")
    assert old.status_code == new.status_code == 201, old.text
    with db() as s:
        s.execute(
            update(Notification)
            .where(Notification.id == uuid.UUID(old.json()["notifications"][0]))
            .values(created_at=utcnow() - timedelta(days=10))
        )
    insert_card(pro)

    wizard = start(qtbot, account_store, live_server.url, "card")
    panel = wizard.auth.panel
    assert panel.findChild(QLineEdit, "module").text() == SOFTHSM_MODULE  # found, kept hidden
    assert not panel.findChild(QLineEdit, "module").isVisible()
    pin = panel.findChild(QLineEdit, "pin")
    assert pin.echoMode() == QLineEdit.EchoMode.Password
    type_into(qtbot, pin, "0000", enter=True)
    qtbot.waitUntil(lambda: "Code PIN incorrect" in panel.error_text(), timeout=WAIT)
    assert "Il vous reste 2 essais" in panel.error_text()
    assert not next_button(wizard).isEnabled()
    type_into(qtbot, pin, "1234", enter=True)
    qtbot.waitUntil(wizard.auth.isComplete, timeout=WAIT)
    assert wizard.auth.hello.text().startswith("Bonjour Dr Hélène Roux")
    click(qtbot, next_button(wizard))

    choose_password(qtbot, wizard)
    software = wizard.software
    click(qtbot, software.yes)
    choice = software.findChild(ExportChoice, "export_choice")
    assert choice.isVisible()
    profiles = choice._list
    row = next(i for i in range(profiles.count()) if profiles.item(i).text().startswith("HPRIM"))
    profiles.setCurrentRow(row)
    assert choice.profile_id() == "hprim"
    assert choice.folder() == get_profile("hprim").default_folder()
    assert "HPRIM Net" in choice.findChild(QLabel, "profile_help").text()
    folder = tmp_path / "Import HPRIM"
    type_into(qtbot, choice.findChild(QLineEdit, "folder"), str(folder))
    click(qtbot, next_button(wizard))

    assert wizard.currentPage().objectName() == "past_page"
    wizard.past.days.setValue(5)
    assert wizard.past.autostart.isChecked()
    finish_creation(qtbot, wizard)
    result = wizard.creation.result.text()
    assert "1 / 1 documents enregistrés" in result, result
    assert wizard.creation.bar.value() == 1
    assert not wizard.creation.error.text()
    click(qtbot, next_button(wizard))
    assert wizard.currentPage().objectName() == "done_page"
    assert wizard.currentPage().title() == "C'est terminé !"
    click(qtbot, wizard.button(QWizard.WizardButton.FinishButton))
    assert wizard.result() == QWizard.DialogCode.Accepted

    [account] = account_store.list()
    assert wizard.account is not None and wizard.account.id == account.id
    assert wizard.unlocked is not None and wizard.unlocked.account.id == account.id
    s = account.settings
    assert (s.display_name, s.login, s.professional_id) == (
        "Hélène Roux",
        "helene.roux",
        str(pro.id),
    )
    assert (s.software_profile_id, s.export_folder, s.backfill_days) == ("hprim", folder, 5)
    token = wizard.unlocked.credentials["access_token"]
    assert token.encode() not in account.vault_path.read_bytes()  # encrypted
    assert account_store.unlock(account.id, LOCAL).credentials["access_token"] == token
    exported = sorted(p.name for p in folder.iterdir())
    assert len(exported) == 2 and all(n.startswith("MARTIN_") for n in exported), exported
    assert {n.rsplit(".", 1)[1] for n in exported} == {"pdf", "hpr"}
    state = LocalState(account.state_path)
    statuses = {st.item.document.title: st.status for st in state.all()}
    state.close()
    assert statuses == {"Bilan récent": "exported", "Ancien bilan": "skipped"}
    assert list((tmp_path / "xdg-config" / "autostart").glob("*.desktop"))


def test_enrol_with_identifiers_and_code_password_rules_and_no_past_days(
    qtbot, live_server, make_pro, make_patient, pdf, smtp_sink, account_store, tmp_path, home
):
    pro = make_pro(
        "paul.girard", first_name="Paul", last_name="Girard", profession="Infirmier", log_in=False
    )
    sender = make_pro()
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        sent = share_request(c, sender, make_patient(), [pro], pdf("déjà reçu"))
    assert sent.status_code == 201, sent.text

    wizard = start(qtbot, account_store, live_server.url, "code")
    authenticate_by_code(qtbot, wizard, smtp_sink, "paul.girard", wrong_first=True)
    assert wizard.auth.hello.text().startswith("Bonjour Paul Girard")  # no « Dr »
    click(qtbot, next_button(wizard))

    page = wizard.passwords
    type_into(qtbot, page.password, "court")
    type_into(qtbot, page.confirm, "court")
    click(qtbot, next_button(wizard))
    assert wizard.currentPage() is page
    assert page.error.text() == "Le mot de passe doit contenir au moins 8 caractères."
    type_into(qtbot, page.password, LOCAL)
    type_into(qtbot, page.confirm, LOCAL + "x")
    click(qtbot, next_button(wizard))
    assert wizard.currentPage() is page
    assert page.error.text() == "Les deux mots de passe saisis diffèrent."
    choose_password(qtbot, wizard)

    assert wizard.software.no.isChecked()  # NON: PDF in the default folder
    default_folder = home / "Documents" / "MonSisra"
    assert str(default_folder) in wizard.software.pdf_note.text()
    click(qtbot, next_button(wizard))
    wizard.past.days.setValue(0)
    wizard.past.autostart.setChecked(False)
    finish_creation(qtbot, wizard)
    assert not wizard.creation.error.text()
    click(qtbot, next_button(wizard))
    click(qtbot, wizard.button(QWizard.WizardButton.FinishButton))

    [account] = account_store.list()
    assert account.settings.software_profile_id == "pdf"
    assert account.settings.export_folder == default_folder
    assert (account.settings.backfill_days, account.settings.launch_at_startup) == (0, False)
    assert default_folder.is_dir() and not list(default_folder.iterdir())  # nothing exported
    state = LocalState(account.state_path)
    assert [st.status for st in state.all()] == ["skipped"]  # known: never fetched later
    state.close()
    assert not (tmp_path / "xdg-config" / "autostart").exists()


def test_stopping_the_backfill_leaves_the_rest_to_the_sync(
    qtbot, live_server, make_pro, make_patient, pdf, smtp_sink, account_store, tmp_path
):
    pro = make_pro("lea.petit", first_name="Léa", last_name="Petit", log_in=False)
    sender = make_pro()
    count = 30
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        for n in range(count):
            sent = share_request(c, sender, make_patient(), [pro], pdf(f"n° {n}"), title=f"Doc {n}")
            assert sent.status_code == 201, sent.text

    wizard = start(qtbot, account_store, live_server.url, "code")
    authenticate_by_code(qtbot, wizard, smtp_sink, "lea.petit")
    click(qtbot, next_button(wizard))
    choose_password(qtbot, wizard)
    folder = tmp_path / "Documents reçus"
    click(qtbot, wizard.software.yes)
    # (typed with setText: QTest.keyClicks aborts on non-ASCII characters)
    wizard.software.choice.set_values("pdf", folder)
    click(qtbot, next_button(wizard))
    wizard.past.days.setValue(5)
    wizard.past.autostart.setChecked(False)
    click(qtbot, next_button(wizard))  # « Créer mon compte »
    page = wizard.creation
    qtbot.waitUntil(lambda: page.stop.isVisible(), timeout=WAIT)  # shown as the backfill starts
    click(qtbot, page.stop)
    assert not page.stop.isEnabled()  # clicked once is enough
    qtbot.waitUntil(lambda: page.finished, timeout=WAIT)
    result = page.result.text()
    assert "Les documents restants seront récupérés par la synchronisation." in result, result
    assert not page.stop.isVisible()
    exported = [p for p in folder.iterdir() if p.suffix == ".pdf"]
    assert len(exported) < count  # it did stop
    assert f"{len(exported)} / {count} documents enregistrés" in result
    click(qtbot, next_button(wizard))
    click(qtbot, wizard.button(QWizard.WizardButton.FinishButton))

    # nothing is lost: the documents left are due, and the sync writes them
    state = LocalState(wizard.account.state_path)
    statuses = [st.status for st in state.all()]
    state.close()
    assert len(statuses) == count and "skipped" not in statuses
    assert statuses.count("pending") == count - len(exported)
    running = open_engine(wizard.unlocked)
    try:
        report = running.engine.process_due()
    finally:
        running.close()
    assert (report.exported, report.failed) == (count - len(exported), 0)
    assert len([p for p in folder.iterdir() if p.suffix == ".pdf"]) == count


def test_the_same_professional_cannot_be_enrolled_twice(
    qtbot, live_server, make_pro, smtp_sink, account_store
):
    make_pro("anne.morel", first_name="Anne", last_name="Morel", log_in=False)
    first = start(qtbot, account_store, live_server.url, "code")
    authenticate_by_code(qtbot, first, smtp_sink, "anne.morel")
    click(qtbot, next_button(first))
    choose_password(qtbot, first)
    click(qtbot, next_button(first))

    # meanwhile the same professional is added on this computer (another wizard, say)
    me, creds = first.auth.me, first.auth.panel.credentials
    settings = AccountSettings("Anne Morel", "anne.morel", str(me["id"]), live_server.url)
    account_store.create(settings, LOCAL, creds.to_dict())

    finish_creation(qtbot, first, until=lambda: bool(first.creation.error.text()))
    assert "Un compte existe déjà" in first.creation.error.text()
    assert first.creation.retry.isVisible() and first.account is None
    assert not first.creation.finished and not next_button(first).isEnabled()
    assert first.button(QWizard.WizardButton.CancelButton).isEnabled()
    assert len(account_store.list()) == 1

    # a new wizard says so right after the authentication, before asking anything else
    second = start(qtbot, account_store, live_server.url, "code")
    authenticate_by_code(qtbot, second, smtp_sink, "anne.morel", complete=False)
    qtbot.waitUntil(lambda: "Un compte existe déjà" in second.auth.error.text(), timeout=WAIT)
    assert not second.auth.isComplete() and not next_button(second).isEnabled()
    click(qtbot, second.button(QWizard.WizardButton.BackButton))  # the user can go back
    assert second.currentPage().objectName() == "welcome"
    assert len(account_store.list()) == 1
    with pytest.raises(AccountError) as exc:
        account_store.create(settings, LOCAL, creds.to_dict())
    assert exc.value.code == "account_exists"


def test_export_choice_follows_the_profile_until_a_folder_is_typed(qtbot, tmp_path):
    choice = ExportChoice()
    qtbot.addWidget(choice)
    assert choice.profile_id() == "pdf"
    assert choice.folder() == get_profile("pdf").default_folder()
    choice.set_values("scan", None)
    assert choice.folder() == get_profile("scan").default_folder()
    assert "numérisés" in choice.findChild(QLabel, "profile_help").text()
    field = choice.findChild(QLineEdit, "folder")
    type_into(qtbot, field, str(tmp_path / "mine"))
    choice.set_values("scan", tmp_path / "mine")
    choice._list.setCurrentRow(0)
    assert (choice.profile_id(), choice.folder()) == ("pdf", tmp_path / "mine")
    field.clear()
    qtbot.keyClick(field, Qt.Key.Key_Space)
    qtbot.keyClick(field, Qt.Key.Key_Backspace)  # emptied by the user: follows again
    choice.set_values("hprim", None)
    assert choice.folder() == get_profile("hprim").default_folder()
    choice.set_values("unknown", None)
    assert choice.profile_id() == "pdf"

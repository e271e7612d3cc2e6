"""MonSisra's outbox: the wizard's option, the « Paramétrages » field, and « À envoyer »."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard

from sisra.desktop.outbox import OutboxDialog
from support.desktop import WAIT
from support.enrol import (
    authenticate_by_code,
    choose_password,
    click,
    finish_creation,
    next_button,
    start,
    type_into,
)
from support.outbox import hprim, mode, new_patient, rpps_of


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_the_wizard_offers_the_outbox_on_its_last_page(
    qtbot: Any, live_server: Any, make_pro: Any, smtp_sink: Any, account_store: Any, home: Path
) -> None:
    make_pro("anne.leroy", first_name="Anne", last_name="Leroy", log_in=False)
    wizard = start(qtbot, account_store, live_server.url, "code")
    authenticate_by_code(qtbot, wizard, smtp_sink, "anne.leroy")
    click(qtbot, next_button(wizard))
    choose_password(qtbot, wizard)
    click(qtbot, next_button(wizard))
    page = wizard.past
    assert wizard.currentPage() is page
    assert not page.send.isChecked() and not page.outbox.isEnabled()
    page.days.setValue(0)
    page.autostart.setChecked(False)
    page.send.setChecked(True)
    assert page.outbox.isEnabled()
    assert page.outbox.text() == str(home / "Documents" / "MonSisra à envoyer")
    type_into(qtbot, page.outbox, str(home / "Documents" / "MonSisra"))  # the export folder
    click(qtbot, next_button(wizard))
    assert wizard.currentPage() is page
    assert "ne peut pas être le répertoire d'enregistrement" in page.error.text()
    chosen = home / "Logiciel" / "courriers"
    type_into(qtbot, page.outbox, str(chosen))
    finish_creation(qtbot, wizard)
    click(qtbot, next_button(wizard))
    click(qtbot, wizard.button(QWizard.WizardButton.FinishButton))
    [account] = account_store.list()
    assert account.settings.outbox == chosen
    assert chosen.is_dir() and mode(chosen) == 0o700


def test_settings_set_the_outbox_and_a_set_aside_letter_is_listed_to_send(
    qtbot: Any, desktop: Any, make_pro: Any, pdf: Any, db: Any, tmp_path: Path
) -> None:
    _controller, window, _me, folder, _account, opened = desktop
    window.action("outbox").trigger()
    empty = window.dialog
    assert isinstance(empty, OutboxDialog) and empty.table.rowCount() == 0
    assert "Aucun dossier d'envoi" in empty.summary.text()
    assert not empty.open_button.isEnabled()
    empty.accept()

    window.action("settings").trigger()
    dialog = window.dialog
    assert dialog.outbox.text() == ""
    dialog.outbox.setText("courriers")
    dialog.save()
    assert dialog.isVisible() and "chemin complet" in dialog.error.text()
    dialog.outbox.setText(str(folder))
    dialog.save()
    assert dialog.isVisible() and "répertoire d'enregistrement" in dialog.error.text()
    outbox = tmp_path / "Logiciel" / "envoi"
    dialog.outbox.setText(str(outbox))
    dialog.save()
    assert not dialog.isVisible()
    assert window.session.account.settings.outbox == outbox
    assert outbox.is_dir()
    qtbot.waitUntil(lambda: window.session.status[0] == "online", timeout=WAIT)

    # the engine of the window watches it: one letter sent, one set aside
    colleague = make_pro("dr.collegue", first_name="Marc", last_name="Colin", log_in=False)
    new_patient(db, "GIRAUD", "Rose", date(1977, 5, 6))
    rpps = rpps_of(db, colleague.id)
    (outbox / "bon.pdf").write_bytes(pdf("Bon"))
    (outbox / "bon.hpr").write_bytes(hprim("GIRAUD", "Rose", date(1977, 5, 6), rpps))
    (outbox / "inconnu.pdf").write_bytes(pdf("Inconnu"))
    (outbox / "inconnu.hpr").write_bytes(hprim("GIRAUD", "Rosa", date(1977, 5, 6), rpps))
    sent = outbox / "envoyes" / f"{date.today():%Y-%m}" / "bon.pdf"
    aside = outbox / "a-completer" / "inconnu.txt"
    qtbot.waitUntil(lambda: sent.exists() and aside.exists(), timeout=WAIT)

    window.action("outbox").trigger()
    listed = window.dialog
    assert isinstance(listed, OutboxDialog) and listed.table.rowCount() == 1
    assert listed.table.item(0, 0).text() == "inconnu.pdf"
    assert "aucun patient GIRAUD Rosa" in listed.table.item(0, 1).text()
    assert "1 courrier(s)" in listed.summary.text()
    qtbot.mouseClick(listed.open_button, Qt.MouseButton.LeftButton)
    assert opened.files == [outbox / "a-completer"]

"""What a new user tripped on in MonSisra's windows: a stale preview, a cut « Libellé », column
widths forgotten, « MonSisra » twice in a title, « de Élodie », a resend countdown after the
code was accepted, « « » parted from its word at a line break."""

import ast
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtWidgets import QPushButton

from sisra.client.api import PlatformClient
from sisra.client.items import InboxItem
from sisra.client.state import ItemState
from sisra.common.french import NBSP, de, guillemets
from sisra.desktop.config import APP_NAME
from sisra.desktop.documents import DocumentsWindow
from sisra.desktop.enrol import EnrolWizard
from sisra.desktop.login import LoginWindow
from sisra.desktop.model import COL_SENDER, COL_STATUS, COL_TITLE, COL_TYPE
from sisra.desktop.tray import Alerts
from support.desktop import WAIT
from support.documents import share_request
from support.enrol import authenticate_by_code, start
from support.export import first_platform_item

SRC = Path(__file__).resolve().parents[2] / "src" / "sisra"


def shown_title(title: str) -> str:
    """What the window manager shows: Qt appends « — <application display name> » unless
    the title already ends with it (QPlatformWindow::formatWindowTitle)."""
    return title if title.endswith(APP_NAME) else f"{title} — {APP_NAME}"


def test_de_elides_before_a_vowel_or_a_mute_h():
    assert de("Élodie Martin") == "d'Élodie Martin"
    assert de("Hélène Roux") == "d'Hélène Roux"
    assert de("Ursule") == "d'Ursule"
    assert de("Paul Martin") == "de Paul Martin"
    assert de("Dr Anne Roux") == "de Dr Anne Roux"
    assert guillemets("le menu « Aide »") == f"le menu «{NBSP}Aide{NBSP}»"


def _strings(path: Path) -> list[tuple[int, str]]:
    """The string constants of a module, less its docstrings (developer text, never shown)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    found = []
    for node in ast.walk(tree):
        is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if is_text and id(node) not in docstrings:
            found.append((node.lineno, node.value))
    return found


def test_no_normal_space_inside_guillemets_in_monsisra_strings():
    """A line break may fall on a normal space: « Quitter » would show « at the end of one
    line and its word on the next. MonSisra's strings (its windows, and the engine's messages
    they show) use no-break spaces inside « »."""
    files = sorted((SRC / "desktop").glob("*.py")) + sorted((SRC / "client").glob("*.py"))
    # the command line (the package client/cli/, not globbed here) is not word-wrapped, and
    # scripts search its output with plain spaces
    files.remove(SRC / "client" / "daemon.py")  # the service's journal, as the command line
    bad = [
        f"{path.relative_to(SRC)}:{line}: {text[:60]!r}"
        for path in files
        for line, text in _strings(path)
        if "« " in text or " »" in text
    ]
    assert bad == []


def test_a_tray_message_elides_de_before_a_vowel(qtbot):
    alerts = Alerts()
    got: list[tuple[str, str]] = []
    alerts.alerted.connect(lambda title, message: got.append((title, message)))
    data = first_platform_item(id="n1", cursor=1)
    data["document"]["title"] = "Bilan"
    data["sender"]["name"] = "Élodie FAURE"
    data["patient"].update(birth_name="SECRET", first_given_name="Patient")
    item = InboxItem.from_json(data)
    st = ItemState("n1", 1, item, "failed", 1, 0.0, None, None, [], False)
    alerts.export_failed(replace(st, attempts=1))
    assert got and got[0][1].startswith(f"«{NBSP}Bilan{NBSP}» d'Élodie FAURE n'a pas pu")


def test_window_titles_name_monsisra_once(qtbot, account_store, live_server):
    login = LoginWindow(account_store)
    qtbot.addWidget(login)
    wizard = EnrolWizard(account_store, live_server.url)
    qtbot.addWidget(wizard)
    for window in (login, wizard):
        assert shown_title(window.windowTitle()).count("MonSisra") == 1, window.windowTitle()


def test_documents_title_preview_and_columns(
    qtbot,
    desktop,
    live_server,
    make_pro,
    make_patient,
    pdf,
    account_store,
):
    controller, window, recipient, _folder, account, _opened = desktop
    assert shown_title(window.windowTitle()) == f"Documents reçus — Claire ROUX — {APP_NAME}"
    sender = make_pro("dr.envoie", first_name="Paul", last_name="Martin")
    patient = make_patient()
    long_title = "Compte rendu de consultation de cardiologie"  # was cut at ~15 characters
    with PlatformClient(live_server.url) as c:
        share_request(c._http, sender, patient, [recipient], pdf("a"), title=long_title)
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT)
    qtbot.waitUntil(lambda: window.model.rows[0].state.status == "exported", timeout=WAIT)

    # the title column shows a long title whole; Type and État are as wide as their content
    window.fit_columns()
    metrics = window.table.fontMetrics()
    assert window.table.columnWidth(COL_TITLE) > metrics.horizontalAdvance(long_title)
    for col in (COL_TYPE, COL_STATUS):  # were 215 and 225 pixels whatever their content
        assert window.table.columnWidth(col) <= 180

    # the hover preview goes when the rows move: a new document arrives above it
    st = window.model.rows[0].state
    window.preview(st)
    qtbot.waitUntil(window.popup.isVisible, timeout=WAIT)
    with PlatformClient(live_server.url) as c:
        share_request(c._http, sender, patient, [recipient], pdf("b"), title="Autre")
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=WAIT)
    assert not window.popup.isVisible()
    # … and when a banner pushes the table down
    window.preview(st)
    assert window.popup.isVisible()
    window.error_banner.setText("Une erreur")
    window.error_banner.show()
    qtbot.waitUntil(lambda: not window.popup.isVisible(), timeout=WAIT)

    # the widths the user sets are kept in the account's settings, for the next window
    window.table.horizontalHeader().resizeSection(COL_SENDER, 311)
    qtbot.waitUntil(
        lambda: account_store.get(account.id).settings.table_columns is not None, timeout=WAIT
    )
    controller.session.account = account_store.get(account.id)  # as a new login reads it
    again = DocumentsWindow(controller.session, account_store, controller.alerts)
    qtbot.addWidget(again)
    assert again.table.columnWidth(COL_SENDER) == 311
    again.quitting = True
    again.close()


@pytest.mark.parametrize("mode", ["code"])
def test_the_resend_countdown_stops_once_the_code_is_accepted(
    qtbot, live_server, smtp_sink, make_pro, account_store, mode
):
    make_pro("elodie.faure", first_name="Élodie", last_name="Faure", log_in=False)
    wizard = start(qtbot, account_store, live_server.url, mode)
    authenticate_by_code(qtbot, wizard, smtp_sink, "elodie.faure")
    panel = wizard.auth.panel
    resend = panel.findChild(QPushButton, "resend")
    assert not panel._resend_timer.isActive()
    assert not resend.isVisibleTo(panel) and not resend.isEnabled()
    assert wizard.auth.hello.text().startswith("Bonjour")


def test_the_wizard_offers_sisra_server_url_else_the_demo(qtbot, account_store, monkeypatch):
    from PySide6.QtWidgets import QLineEdit

    monkeypatch.setenv("SISRA_SERVER_URL", "http://127.0.0.1:8101")
    wizard = EnrolWizard(account_store)
    qtbot.addWidget(wizard)
    assert wizard.welcome.findChild(QLineEdit, "server").text() == "http://127.0.0.1:8101"
    monkeypatch.delenv("SISRA_SERVER_URL")
    other = EnrolWizard(account_store)
    qtbot.addWidget(other)
    assert other.welcome.findChild(QLineEdit, "server").text() == "http://127.0.0.1:8000"

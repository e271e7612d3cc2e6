"""DOCUMENTS REÇUS in a real Qt (offscreen) against a running platform: live arrival with an
alert, open, preview, reply/record pages, delete, settings, failures, strong-auth expiry."""

import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from sqlalchemy import select, update

from sisra.client.api import ApiError, PlatformClient
from sisra.client.export import PART_SUFFIX
from sisra.desktop.app import Controller
from sisra.desktop.model import COL_RECORD, COL_REPLY, COL_SENDER, COL_STATUS, COL_TITLE
from support.desktop import LOCAL_PASSWORD, WAIT, Opened, enrol
from support.documents import share_request
from support.personas import PASSWORD


def _exported(folder: Path) -> list[Path]:
    """Files in the practice software's folder, without exports still being written."""
    return [p for p in folder.iterdir() if not p.name.endswith(PART_SUFFIX)]


def on(live_server, url: str) -> str:
    """The one-time link, on the test server's port (the platform's public address is a
    setting the live_server fixture does not know in advance)."""
    return live_server.url + urlsplit(url).path


def cell(window, row: int, col: int):
    index = window.model.index(row, col)
    return index, window.table.visualRect(index).center()


def test_live_document_appears_with_an_alert_and_lands_in_the_folder(
    qtbot, desktop, live_server, make_pro, make_patient, pdf
):
    controller, window, recipient, folder, _account, _opened = desktop
    sender = make_pro("dr.envoie", first_name="Paul", last_name="Martin")
    data = pdf("Compte rendu opératoire")
    with (
        qtbot.waitSignal(controller.alerts.alerted, timeout=WAIT) as alert,
        PlatformClient(live_server.url) as c,
    ):
        r = share_request(c._http, sender, make_patient(), [recipient], data, title="CR opératoire")
        assert r.status_code == 201
    title, message = alert.args
    assert title == "Nouveau document reçu" and "CR opératoire" in message
    assert "paul martin" in message.lower()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT)
    qtbot.waitUntil(lambda: window.model.rows[0].state.status == "exported", timeout=WAIT)
    row = window.model.rows[0]
    assert row.unread and window.model.unread_count() == 1
    assert window.model.index(0, COL_TITLE).data() == "CR opératoire"
    assert window.model.index(0, COL_TITLE).data(Qt.ItemDataRole.FontRole).bold()
    assert "Non lu" in window.model.index(0, COL_STATUS).data()
    assert controller.alerts.unread == 1 and "1 document non lu" in controller.alerts.tooltip
    files = list(folder.iterdir())
    assert len(files) == 1 and files[0].read_bytes() == data
    assert "1 document · 1 non lu" in window.counts_label.text()


def test_click_on_the_title_opens_the_pdf_and_sends_the_read_receipt(
    qtbot, desktop, live_server, make_pro, make_patient, pdf
):
    _controller, window, recipient, folder, _account, opened = desktop
    sender = make_pro()
    data = pdf("Biologie")
    with PlatformClient(live_server.url) as c:
        note = share_request(c._http, sender, make_patient(), [recipient], data, title="Bilan")
        note_id = note.json()["notifications"][0]
    qtbot.waitUntil(
        lambda: window.model.rowCount() == 1 and bool(window.model.rows[0].state.files),
        timeout=WAIT,
    )
    index, pos = cell(window, 0, COL_TITLE)
    qtbot.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: len(opened.files) == 1, timeout=WAIT)
    assert opened.files[0].parent == folder and opened.files[0].read_bytes() == data
    assert not window.model.rows[0].unread
    assert not index.data(Qt.ItemDataRole.FontRole).bold()

    def read_on_platform() -> bool:
        r = httpx.get(f"{live_server.url}/api/v1/inbox/{note_id}", headers=recipient.headers)
        return r.json()["read_at"] is not None

    qtbot.waitUntil(read_on_platform, timeout=WAIT)
    # remembered on this computer: still read after a reload of the list
    window.reload()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT)
    assert not window.model.rows[0].unread


def test_the_keyboard_opens_the_selected_document_once(
    qtbot, desktop, live_server, make_pro, make_patient, pdf
):
    """A secretary going down the list with the arrows opens a document with Entrée, on
    whichever cell of its row; a double click does too. Each opens it once."""
    _controller, window, recipient, _folder, _account, opened = desktop
    data = {title: pdf(title) for title in ("Premier", "Second")}
    with PlatformClient(live_server.url) as c:
        for title, content in data.items():
            share_request(c._http, make_pro(), make_patient(), [recipient], content, title=title)
    qtbot.waitUntil(
        lambda: (
            window.model.rowCount() == 2
            and all(row.state.status == "exported" for row in window.model.rows)
        ),
        timeout=WAIT,
    )
    window.table.setFocus()
    for column, key in ((COL_TITLE, Qt.Key.Key_Return), (COL_STATUS, Qt.Key.Key_Enter)):
        window.table.setCurrentIndex(window.model.index(0, column))
        qtbot.keyClick(window.table, Qt.Key.Key_Down)  # the second row
        count = len(opened.files)
        qtbot.keyClick(window.table, key)
        qtbot.waitUntil(lambda n=count: len(opened.files) == n + 1, timeout=WAIT)
        qtbot.wait(300)  # a second opening would have come by now
        assert len(opened.files) == count + 1
        assert opened.files[-1].read_bytes() == data[window.model.rows[1].title]
    _index, pos = cell(window, 0, COL_SENDER)
    # a double click as the system delivers it: a click, then a press seen as double
    qtbot.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: len(opened.files) == 3, timeout=WAIT)
    qtbot.wait(300)
    assert len(opened.files) == 3
    assert opened.files[-1].read_bytes() == data[window.model.rows[0].title]


def test_hovering_the_title_previews_the_first_page(
    qtbot, desktop, live_server, make_pro, make_patient, pdf
):
    _controller, window, recipient, _folder, _account, _opened = desktop
    with PlatformClient(live_server.url) as c:
        share_request(c._http, make_pro(), make_patient(), [recipient], pdf("Aperçu"), title="Vu")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT)
    st = window.model.rows[0].state
    _index, pos = cell(window, 0, COL_TITLE)
    qtbot.mouseMove(window.table.viewport(), pos)  # the mouse over the title
    qtbot.waitUntil(
        lambda: window.popup.isVisible() and not window.popup.pixmap().isNull(), timeout=WAIT
    )
    image = window.popup.pixmap().toImage()
    assert image.width() == 340 and image.height() > image.width()  # a portrait A4 page
    # the page has text on it: some pixels are not white
    dark = sum(
        1
        for y in range(0, image.height(), 3)
        for x in range(0, image.width(), 3)
        if image.pixelColor(x, y).lightness() < 128
    )
    assert dark > 10
    assert window.renderer.cached(st.id) is not None
    # leaving the table hides it; coming back is served from the cache
    window._hide_preview()
    assert not window.popup.isVisible()
    window.preview(st)
    assert window.popup.isVisible() and not window.popup.pixmap().isNull()


def test_a_page_slow_to_draw_is_unavailable_in_seconds_and_freezes_nothing(
    qtbot, desktop, live_server, make_pro, make_patient, pdf
):
    """A received page of a million path operators (minutes for PDFium): its hover preview
    says « Aperçu indisponible » within 15 s, the window keeps answering meanwhile, and
    another document's preview is not held behind it."""
    import time

    from PySide6.QtCore import QTimer

    from support.documents import slow_to_draw_pdf

    _controller, window, recipient, _folder, _account, _opened = desktop
    with PlatformClient(live_server.url) as c:
        for title, data in (("Plan", slow_to_draw_pdf()), ("Lettre", pdf("Lettre"))):
            r = share_request(c._http, make_pro(), make_patient(), [recipient], data, title=title)
            assert r.status_code == 201, r.text
    qtbot.waitUntil(
        lambda: (
            window.model.rowCount() == 2
            and all(row.state.status == "exported" for row in window.model.rows)
        ),
        timeout=WAIT,
    )
    rows = {row.title: row.state for row in window.model.rows}

    # the UI thread's heartbeat: the longest gap between two ticks of a 50 ms timer
    beats = [time.monotonic()]
    gaps = [0.0]

    def beat() -> None:
        now = time.monotonic()
        gaps.append(now - beats[-1])
        beats.append(now)

    heart = QTimer()
    heart.timeout.connect(beat)
    heart.start(50)
    started = time.monotonic()
    window.preview(rows["Plan"])
    assert window.popup.text() == "Aperçu en préparation…"
    # the other document's preview comes while the slow one is still being drawn
    qtbot.wait(500)
    window.preview(rows["Lettre"])
    qtbot.waitUntil(lambda: not window.popup.pixmap().isNull(), timeout=10_000)
    assert time.monotonic() - started < 10
    # back on the slow one: unavailable, within the bound
    window.preview(rows["Plan"])
    qtbot.waitUntil(lambda: window.popup.text().startswith("Aperçu indisponible"), timeout=15_000)
    took = time.monotonic() - started
    heart.stop()
    assert took < 15, f"the preview took {took:.1f} s"
    assert "trop long" in window.popup.text()
    assert max(gaps) < 2, f"the window did not answer for {max(gaps):.1f} s"
    # remembered: hovering it again answers at once, without drawing it again
    window._hide_preview()
    window.preview(rows["Plan"])
    assert window.popup.text().startswith("Aperçu indisponible")


def test_a_document_older_than_the_backfill_is_fetched_to_open_and_preview(
    qtbot, live_server, smtp_sink, account_store, make_pro, make_patient, pdf, db, tmp_path
):
    """Documents before the enrolment's « N jours » are listed, not exported; opening one
    downloads it (verified) into the account's cache."""
    from sisra.client.state import LocalState
    from sisra.client.sync import since_days
    from sisra.platform.models import Notification, utcnow

    recipient = make_pro("dr.ancien", log_in=True)
    data = pdf("Ancien")
    with PlatformClient(live_server.url) as c:
        note = share_request(c._http, make_pro(), make_patient(), [recipient], data, title="Vieux")
    with db() as s:
        s.execute(
            update(Notification)
            .where(Notification.id == uuid.UUID(note.json()["notifications"][0]))
            .values(created_at=utcnow() - timedelta(days=40))
        )
    folder = tmp_path / "export"
    folder.mkdir()
    account = enrol(live_server, smtp_sink, account_store, recipient, folder, days=30)
    from sisra.client.engine import open_engine

    running = open_engine(account_store.unlock(account.id, LOCAL_PASSWORD))
    running.engine.catch_up(since=since_days(30))
    running.close()
    assert LocalState(account.state_path).all()[0].status == "skipped"

    controller = Controller(account_store)
    controller.open_documents(account_store.unlock(account.id, LOCAL_PASSWORD))
    window = controller.documents
    opened = Opened()
    window.open_file = opened.files.append
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT)
    assert "antérieur" in window.model.index(0, COL_STATUS).data()
    window.open_document(window.model.rows[0].state)
    qtbot.waitUntil(lambda: len(opened.files) == 1, timeout=WAIT)
    assert opened.files[0].read_bytes() == data and opened.files[0].parent.name == "cache"
    assert list(folder.iterdir()) == []  # opened, not exported behind the user's back
    window.preview(window.model.rows[0].state)
    qtbot.waitUntil(lambda: not window.popup.pixmap().isNull(), timeout=WAIT)
    cache = account.folder / "cache"
    controller.close_session()
    assert not cache.exists()  # déconnexion forgets the downloaded copies


def test_reply_and_patient_record_open_logged_in_web_pages(
    qtbot, desktop, live_server, make_pro, make_patient, pdf
):
    _controller, window, recipient, _folder, _account, opened = desktop
    patient = make_patient(birth_name="BERNARD", given="Léa")
    with PlatformClient(live_server.url) as c:
        share_request(c._http, make_pro(), patient, [recipient], pdf(), title="Lettre")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT)
    _index, pos = cell(window, 0, COL_REPLY)
    qtbot.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: len(opened.urls) == 1, timeout=WAIT)
    _index, pos = cell(window, 0, COL_RECORD)
    qtbot.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: len(opened.urls) == 2, timeout=WAIT)
    qtbot.mouseClick(window.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(opened.urls) == 3, timeout=WAIT)
    pages = []
    for url in opened.urls:
        with httpx.Client(follow_redirects=True) as browser:
            page = browser.get(on(live_server, url))
            assert page.status_code == 200
            pages.append(page.text)
    reply, record, send = pages
    assert "Répondre" in reply and "Lettre" in reply
    assert "BERNARD" in record and "Lettre" in record
    assert "Envoyer un document" in send
    # a ticket is single use
    with httpx.Client(follow_redirects=False) as browser:
        again = browser.get(on(live_server, opened.urls[0]))
    assert again.status_code in (400, 401, 403) and "Répondre" not in again.text


def test_delete_asks_first_then_hides_the_notification_but_the_record_keeps_it(
    qtbot, desktop, live_server, make_pro, make_patient, pdf
):
    _controller, window, recipient, _folder, _account, _opened = desktop
    patient = make_patient()
    with PlatformClient(live_server.url) as c:
        share_request(c._http, make_pro(), patient, [recipient], pdf(), title="À supprimer")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT)
    st = window.model.rows[0].state
    # right-click → « Supprimer »
    _index, pos = cell(window, 0, COL_TITLE)
    window.table.customContextMenuRequested.emit(pos)
    labels = [a.text() for a in window.context_menu.actions() if a.text()]
    assert labels == ["Ouvrir", "Répondre", "Dossier du patient", "Supprimer"]
    window.context_menu.actions()[-1].trigger()
    box = window.confirm_box
    assert box is not None and box.isVisible()
    assert "dossier régional du patient" in box.informativeText()
    box.button(QMessageBox.StandardButton.Cancel).click()  # « Annuler »: nothing happens
    assert window.model.rowCount() == 1
    window.confirm_delete(st)
    window.confirm_box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=WAIT)
    inbox = httpx.get(f"{live_server.url}/api/v1/inbox", headers=recipient.headers).json()
    assert inbox["items"] == []
    record = httpx.get(
        f"{live_server.url}/api/v1/patients/{patient}/documents", headers=recipient.headers
    ).json()
    assert [d["title"] for d in record["documents"]] == ["À supprimer"]
    window.reload()  # still gone after reading the local state again
    qtbot.wait(300)
    assert window.model.rowCount() == 0


def test_search_and_filter(qtbot, desktop, live_server, make_pro, make_patient, pdf):
    _controller, window, recipient, _folder, _account, _opened = desktop
    with PlatformClient(live_server.url) as c:
        sender = make_pro(first_name="Hélène", last_name="Faure")
        share_request(
            c._http,
            sender,
            make_patient(birth_name="ÉTIENNE"),
            [recipient],
            pdf(),
            title="Échographie",
        )
        share_request(
            c._http,
            make_pro(),
            make_patient(birth_name="DUPONT"),
            [recipient],
            pdf(),
            title="Radio",
        )
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=WAIT)
    qtbot.keyClicks(window.search, "etienne")  # accents and case ignored
    assert window.model.rowCount() == 1
    assert window.model.index(0, COL_TITLE).data() == "Échographie"
    window.search.clear()
    qtbot.keyClicks(window.search, "helene echo")
    assert window.model.rowCount() == 1
    window.search.clear()
    assert window.model.rowCount() == 2
    window.open_document(window.model.rows[0].state)
    qtbot.waitUntil(lambda: window.model.unread_count() == 1, timeout=WAIT)
    window.filter_box.setCurrentIndex(1)  # « Non lus »
    assert window.model.rowCount() == 1
    window.filter_box.setCurrentIndex(2)  # « En échec d'enregistrement »
    assert window.model.rowCount() == 0


def test_folder_setting_applies_to_the_next_document(
    qtbot, desktop, live_server, make_pro, make_patient, pdf, tmp_path
):
    from sisra.desktop.settings import FolderDialog

    _controller, window, recipient, _folder, account, _opened = desktop
    window.action("folder").trigger()
    dialog = window.dialog
    assert isinstance(dialog, FolderDialog) and dialog.isVisible()
    blocker = tmp_path / "un fichier"
    blocker.write_text("pas un dossier")
    dialog.choice.set_values("hprim", blocker / "HPRIM")  # cannot be created
    dialog.save()
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=WAIT)
    assert "Impossible de créer le répertoire" in dialog.error.text() and dialog.isVisible()
    assert window.store.get(account.id).settings.software_profile_id == "pdf"  # unchanged
    new_folder = tmp_path / "HPRIM"
    dialog.choice.set_values("hprim", new_folder)
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT):  # then the dialog is deleted
        dialog.save()
    qtbot.waitUntil(lambda: window.session.status[0] == "online", timeout=WAIT)
    saved = window.store.get(account.id).settings
    assert saved.software_profile_id == "hprim" and saved.export_folder == new_folder
    with PlatformClient(live_server.url) as c:
        share_request(c._http, make_pro(), make_patient(), [recipient], pdf(), title="Après")
    qtbot.waitUntil(lambda: new_folder.is_dir() and len(_exported(new_folder)) == 2, timeout=WAIT)
    assert sorted(p.suffix.lower() for p in new_folder.iterdir()) == [".hpr", ".pdf"]


def test_settings_autostart_notifications_and_server(
    qtbot, desktop, live_server, make_pro, make_patient, pdf, tmp_path
):
    from sisra.desktop.settings import SettingsDialog

    controller, window, recipient, _folder, account, _opened = desktop
    entry = tmp_path / "xdg-config" / "autostart" / "monsisra.desktop"
    window.action("settings").trigger()
    dialog = window.dialog
    assert isinstance(dialog, SettingsDialog)
    assert not dialog.autostart.isChecked()  # as enrolled
    dialog.autostart.setChecked(True)
    dialog.notifications.setChecked(False)
    dialog.save()
    assert entry.is_file() and "desktop" in entry.read_text()
    assert window.store.get(account.id).settings.launch_at_startup is True
    alerts: list[tuple[str, str]] = []
    controller.alerts.alerted.connect(lambda *a: alerts.append(a))
    with PlatformClient(live_server.url) as c:
        share_request(c._http, make_pro(), make_patient(), [recipient], pdf(), title="Silence")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT)
    qtbot.wait(1200)  # longer than the alert grouping delay
    assert alerts == []
    window.action("settings").trigger()
    dialog = window.dialog
    dialog.autostart.setChecked(False)
    dialog.server.setText("ftp://ailleurs")
    dialog.save()
    assert dialog.isVisible() and "https://" in dialog.error.text()  # refused, said why
    dialog.server.setText(live_server.url)
    dialog.save()
    assert not entry.exists()


def test_export_failure_is_listed_with_its_reason_and_retried(
    qtbot, desktop, live_server, make_pro, make_patient, pdf
):
    from sisra.desktop.failures import FailuresDialog

    controller, window, recipient, folder, _account, _opened = desktop
    alerts: list[tuple[str, str]] = []
    controller.alerts.alerted.connect(lambda *a: alerts.append(a))
    folder.rmdir()  # the practice software's folder disappeared (network drive…)
    with PlatformClient(live_server.url) as c:
        share_request(c._http, make_pro(), make_patient(), [recipient], pdf(), title="Perdu ?")
    qtbot.waitUntil(
        lambda: window.model.rowCount() == 1 and window.model.rows[0].state.status == "failed",
        timeout=WAIT,
    )
    qtbot.waitUntil(lambda: "Document non enregistré" in [t for t, _m in alerts], timeout=WAIT)
    assert window.failures_banner.isVisible()
    assert "1 document n'a pas pu être enregistré" in window.failures_banner.text()
    assert "Échec" in window.model.index(0, COL_STATUS).data()
    window.action("failures").trigger()
    dialog = window.dialog
    assert isinstance(dialog, FailuresDialog) and dialog.table.rowCount() == 1
    assert "n'existe pas" in dialog.table.item(0, 2).text()
    folder.mkdir()
    qtbot.mouseClick(dialog.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.model.rows[0].state.status == "exported", timeout=WAIT)
    assert len(list(folder.iterdir())) == 1
    assert not window.failures_banner.isVisible()


def test_strong_authentication_expiry_asks_again_and_sync_resumes(
    qtbot, live_server, smtp_sink, account_store, make_pro, make_patient, pdf, db, tmp_path
):
    from sisra.desktop.strongauth import StrongAuthDialog
    from sisra.platform.models import AccessToken, Device, LoginFlow, utcnow

    recipient = make_pro("dr.expire", log_in=False)
    folder = tmp_path / "export"
    folder.mkdir()
    account = enrol(live_server, smtp_sink, account_store, recipient, folder)
    sender = make_pro()
    with PlatformClient(live_server.url) as c:
        share_request(c._http, sender, make_patient(), [recipient], pdf(), title="En attente")
    with db() as s:  # a month later: strong authentication too old, access token expired
        s.execute(update(Device).values(strong_auth_at=utcnow() - timedelta(days=31)))
        s.execute(update(AccessToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    controller = Controller(account_store)
    controller.open_documents(account_store.unlock(account.id, LOCAL_PASSWORD))
    window = controller.documents
    qtbot.waitUntil(lambda: window.reauth_row.isVisible(), timeout=WAIT)
    assert window.reauth_banner.isVisible() and window.reauth_button.isVisible()
    assert (
        "carte CPS" in window.reauth_banner.text()
        and "rien n'est perdu" in window.reauth_banner.text()
    )
    assert list(folder.iterdir()) == []
    device = window.session.device_id()
    # the prompt opens by itself; the banner's button brings the same dialog back
    qtbot.waitUntil(lambda: isinstance(window.dialog, StrongAuthDialog), timeout=WAIT)
    dialog = window.dialog
    assert dialog.isVisible()
    qtbot.mouseClick(window.reauth_button, Qt.MouseButton.LeftButton)
    assert window.dialog is dialog
    renewed = []
    dialog.accepted.connect(lambda: renewed.append(dialog.credentials))
    _complete_code(qtbot, dialog.panel, smtp_sink, recipient.login)
    qtbot.waitUntil(lambda: len(renewed) == 1, timeout=WAIT)
    assert renewed[0] is not None and renewed[0].device_id == device  # the same computer
    with db() as s:  # it gave its refresh token: a known device, not slowed by strangers
        flows = s.scalars(select(LoginFlow).order_by(LoginFlow.created_at)).all()
        assert flows[-1].known_device == f"device:{device}"
    qtbot.waitUntil(lambda: len(_exported(folder)) == 1, timeout=WAIT)
    assert not window.reauth_row.isVisible()
    controller.close_session()


def _complete_code(qtbot, panel, smtp_sink, login):
    """Drive the « identifiants + code » half of the strong-auth panel."""
    from PySide6.QtWidgets import QLineEdit, QPushButton

    def find(kind, name):
        found = panel.findChild(kind, name)
        assert found is not None, name
        return found

    choose = panel.findChild(QPushButton, "choose_code")
    if choose is not None and choose.isVisible():
        qtbot.mouseClick(choose, Qt.MouseButton.LeftButton)
    find(QLineEdit, "portal_password").setText(PASSWORD)
    before = smtp_sink.last_to(f"{login}@demo.sisra.test")
    qtbot.mouseClick(find(QPushButton, "send_code"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: (
            (m := smtp_sink.last_to(f"{login}@demo.sisra.test")) is not None and m is not before
        ),
        timeout=WAIT,
    )
    code = smtp_sink.last_to(f"{login}@demo.sisra.test").code()
    qtbot.waitUntil(lambda: find(QLineEdit, "code").isEnabled(), timeout=WAIT)
    find(QLineEdit, "code").setText(code)
    qtbot.mouseClick(find(QPushButton, "code_submit"), Qt.MouseButton.LeftButton)


def test_closing_the_window_keeps_receiving_and_quit_stops(
    qtbot, desktop, live_server, make_pro, make_patient, pdf
):
    controller, window, recipient, folder, _account, _opened = desktop
    window.close()  # the cross of the window: MonSisra stays (tray, or minimised)
    assert controller.documents is window and controller.session.is_syncing()
    with (
        qtbot.waitSignal(controller.alerts.alerted, timeout=WAIT),
        PlatformClient(live_server.url) as c,
    ):
        share_request(c._http, make_pro(), make_patient(), [recipient], pdf(), title="Nuit")
    qtbot.waitUntil(lambda: len(_exported(folder)) == 1, timeout=WAIT)
    window.action("quit").trigger()
    assert controller.session is None and controller.documents is None


def test_server_down_then_back(
    qtbot, settings, smtp_sink, account_store, make_pro, make_patient, pdf, tmp_path
):
    """The offline banner while the platform cannot be reached; it goes away, and the
    documents shared meanwhile arrive, when the platform is back on the same address."""
    from support.servers import LiveServer, RunningServer

    server = RunningServer(settings)
    url = server.url
    recipient = make_pro("dr.reseau", log_in=False)
    folder = tmp_path / "export"
    folder.mkdir()
    account = enrol(LiveServer(url, None), smtp_sink, account_store, recipient, folder)
    controller = Controller(account_store)
    controller.open_documents(account_store.unlock(account.id, LOCAL_PASSWORD))
    window = controller.documents
    qtbot.waitUntil(lambda: controller.session.status[0] == "online", timeout=WAIT)
    assert not window.offline_banner.isVisible()
    server.stop()
    qtbot.waitUntil(lambda: window.offline_banner.isVisible(), timeout=WAIT)
    banner = window.offline_banner.text()
    assert banner.startswith(f"La plateforme ne répond pas (127.0.0.1:{server.port}).")
    assert "réessaie automatiquement" in banner and "contactez le support" in banner
    assert window.connection_label.text() == "La plateforme ne répond pas."
    # meanwhile a colleague shares (the platform is back for them first)
    server = RunningServer(settings, server.port)
    sender = make_pro()
    with PlatformClient(url) as c:
        share_request(c._http, sender, make_patient(), [recipient], pdf(), title="Pendant la panne")
    qtbot.waitUntil(lambda: not window.offline_banner.isVisible(), timeout=60_000)
    qtbot.waitUntil(lambda: len(_exported(folder)) == 1, timeout=WAIT)
    controller.close_session()
    server.stop()


def test_two_users_on_one_computer_see_their_own_documents(
    qtbot, live_server, smtp_sink, account_store, make_pro, make_patient, pdf, tmp_path
):
    a = make_pro("dr.alpha", first_name="Anne", last_name="Alpha", log_in=False)
    b = make_pro("dr.beta", first_name="Bruno", last_name="Beta", log_in=False)
    for persona, name in ((a, "A"), (b, "B")):
        (tmp_path / name).mkdir()
        enrol(live_server, smtp_sink, account_store, persona, tmp_path / name)
    sender = make_pro()
    with PlatformClient(live_server.url) as c:
        share_request(c._http, sender, make_patient(), [a], pdf(), title="Pour Anne")
        share_request(c._http, sender, make_patient(), [b], pdf(), title="Pour Bruno")
    controller = Controller(account_store)
    controller.start()
    login = controller.login
    names = sorted(login.users.item(i).text() for i in range(login.users.count()))
    assert len(names) == 2 and "Anne" in names[0] and "Bruno" in names[1]
    seen = {}
    for who in ("Anne", "Bruno"):
        row = next(i for i in range(login.users.count()) if who in login.users.item(i).text())
        login.users.setCurrentRow(row)
        login.password.setText("mauvais mot de passe")
        login.log_in()
        qtbot.waitUntil(lambda: "incorrect" in login.message.text().lower(), timeout=WAIT)
        login.password.setText(LOCAL_PASSWORD)
        login.log_in()
        qtbot.waitUntil(lambda: controller.documents is not None, timeout=WAIT)
        window = controller.documents
        model = window.model
        qtbot.waitUntil(lambda m=model: m.rowCount() == 1, timeout=WAIT)
        qtbot.waitUntil(lambda m=model: m.rows[0].state.status == "exported", timeout=WAIT)
        seen[who] = window.model.rows[0].title
        window.action("logout").trigger()
        assert controller.documents is None and login.isVisible()
    assert seen == {"Anne": "Pour Anne", "Bruno": "Pour Bruno"}
    assert [p.name.split()[0] for p in (tmp_path / "A").iterdir()] != []
    assert {p.parent.name for p in (tmp_path / "A").iterdir()} == {"A"}
    assert all("Bruno" not in p.name for p in (tmp_path / "A").iterdir())


def test_an_unknown_persona_cannot_reach_someone_elses_document_through_the_session(
    qtbot, desktop, live_server, make_pro, make_patient, pdf
):
    """The desktop only holds the user's own tokens: a notification id of another
    professional is refused by the platform, and the window says so."""
    _controller, window, _recipient, _folder, _account, _opened = desktop
    other = make_pro()
    with PlatformClient(live_server.url) as c:
        r = share_request(c._http, make_pro(), make_patient(), [other], pdf(), title="Pas à moi")
    foreign = r.json()["notifications"][0]
    with httpx.Client(follow_redirects=True) as browser:
        page = browser.get(on(live_server, window.session.web_url(f"/repondre/{foreign}")))
    assert page.status_code in (403, 404) and "Pas à moi" not in page.text
    with pytest.raises(ApiError) as refused:
        window.session.call(
            lambda client, token: client.get_json(f"/api/v1/inbox/{foreign}", token=token)
        )
    assert refused.value.status == 404


def test_a_backlog_shows_its_progress(
    qtbot, live_server, smtp_sink, account_store, make_pro, make_patient, pdf, tmp_path
):
    """Back after some days: the documents received meanwhile are written with a progress
    line in the status bar, then « Connecté »."""
    recipient = make_pro("dr.retour", log_in=False)
    folder = tmp_path / "export"
    folder.mkdir()
    account = enrol(live_server, smtp_sink, account_store, recipient, folder)
    sender = make_pro()
    with PlatformClient(live_server.url) as c:
        for n in range(3):
            share_request(c._http, sender, make_patient(), [recipient], pdf(), title=f"Doc {n}")
    controller = Controller(account_store)
    controller.open_documents(account_store.unlock(account.id, LOCAL_PASSWORD))
    window = controller.documents
    qtbot.waitUntil(lambda: controller.session.status[0] == "online", timeout=WAIT)
    seen = [message for _code, message in controller.session.status_log]
    assert "Enregistrement des documents reçus : 3 / 3" in seen
    assert len(list(folder.iterdir())) == 3
    assert "Connecté" in window.connection_label.text()
    controller.close_session()


def fake_opener(folder: Path, status: int) -> tuple[str, Path]:
    """An ``xdg-open`` first in PATH that writes down what it was given and exits with
    ``status`` (3: no application handles the file, as xdg-open says when none is installed)."""
    bin_dir = folder / f"bin-{status}"
    bin_dir.mkdir()
    log = folder / f"xdg-open-{status}.log"
    script = bin_dir / "xdg-open"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{log}"\nexit {status}\n')
    script.chmod(0o755)
    return f"{bin_dir}:/usr/bin:/bin", log


def test_no_lu_receipt_when_no_viewer_starts_then_lu_once_one_does(
    qtbot, desktop, live_server, make_pro, make_patient, pdf, tmp_path, monkeypatch
):
    """With no PDF viewer, a click on the title says so in French: the document stays
    unread and the sender does not see « Lu ». Once a viewer starts, « lu » goes."""
    from sisra.desktop.system_open import open_in_browser, open_with_system

    _controller, window, recipient, _folder, _account, _opened = desktop
    window.open_file, window.open_url = open_with_system, open_in_browser  # the real ones
    with PlatformClient(live_server.url) as c:
        note = share_request(c._http, make_pro(), make_patient(), [recipient], pdf(), title="Bilan")
        note_id = note.json()["notifications"][0]
    qtbot.waitUntil(
        lambda: window.model.rowCount() == 1 and bool(window.model.rows[0].state.files),
        timeout=WAIT,
    )

    def read_at() -> object:
        r = httpx.get(f"{live_server.url}/api/v1/inbox/{note_id}", headers=recipient.headers)
        return r.json()["read_at"]

    failing, failing_log = fake_opener(tmp_path, 3)
    monkeypatch.setenv("PATH", failing)
    _index, pos = cell(window, 0, COL_TITLE)
    qtbot.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(window.error_banner.isVisible, timeout=WAIT)
    assert "aucune visionneuse PDF" in window.error_banner.text()
    assert "non lu" in window.error_banner.text()
    assert failing_log.read_text().strip().endswith(".pdf")  # the opener was asked, and failed
    assert window.model.rows[0].unread
    assert read_at() is None
    # a page (« Envoyer un document ») with no browser: said too
    window.error_banner.hide()
    qtbot.mouseClick(window.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(window.error_banner.isVisible, timeout=WAIT)
    assert "aucun navigateur web" in window.error_banner.text()
    assert read_at() is None

    working, working_log = fake_opener(tmp_path, 0)
    monkeypatch.setenv("PATH", working)
    qtbot.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: not window.model.rows[0].unread, timeout=WAIT)
    qtbot.waitUntil(lambda: read_at() is not None, timeout=WAIT)
    assert working_log.read_text().strip().endswith(".pdf")

"""Screenshots of MonSisra, the desktop application, on real demo data: docs/screenshots/monsisra-*.png.

Run: .venv/bin/python scripts/desktop_screenshots.py  (needs Xvfb, trayer and SoftHSM2; ~1.5 minute)

It loads a small demo region into a temporary folder and starts `sisra demo --serve` with its
mail sink (as scripts/screenshots.py does), starts its own X server (Xvfb) and then drives the
real windows, in this process, as a user would:

* the first-run wizard, with Dr Élodie Lefèvre's demo CPS card (SoftHSM2, PIN 1234), the HPRIM
  Net software profile and 60 days of past documents;
* DOCUMENTS REÇUS with the hover preview, the menu, the right-click menu, the delete
  confirmation, « Paramétrages » (with the outbox folder), « Répertoire d'enregistrement des
  documents »;
* « À envoyer » with two letters set aside (one from the outbox, one printed to MonSisra while
  it was closed) and « Envoyer ce document » completing the first;
* a real export failure (the folder disappears, as a disconnected network share, while a
  colleague sends a document) and « Documents non enregistrés »;
* CONNEXION (with a second user added through the same platform) and « Nouveau mot de passe »;
* strong authentication asked again (expired in the demo database, as a month later) and the
  renewal dialog; then the platform stops and the window goes « hors connexion ».

Screens are taken with QScreen.grabWindow over an area of the X screen, so menus and the
preview popup (separate top-level windows) are in the pictures. Nothing is left behind: the
demo platform, its data, the MonSisra accounts and the exported files live in a temporary
folder removed at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from sisra.devtools.xdesktop import start_tray, start_xvfb, stop

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
PASSWORD = "Demo-Sisra-2026"  # every demo account's portal password
LOCAL_PASSWORD = "Cabinet-Brotteaux-69"  # the MonSisra password chosen in the wizard
GP, COLLEAGUE, SENDER = "elodie.lefevre", "francois.brechet", "marc.gauthier"
DAYS = 60


def free_port(preferred: int = 0) -> int:
    """``preferred`` when free (the guide's address, http://127.0.0.1:8000), else any."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_demo(work: Path, port: int, smtp: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SISRA_DATA_DIR": str(work / "var")}
    args = ["demo", "--serve", "--documents", "240", "--patients", "60"]
    server = subprocess.Popen(
        [sys.executable, "-m", "sisra.cli", *args, "--port", str(port), "--smtp-port", str(smtp)],
        env=env,
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(1200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            break
        time.sleep(0.2)
    server.kill()
    raise RuntimeError("the demo platform did not start")


def mailed_code(data_dir: Path, login: str, after: float) -> str:
    """The code of the newest mail to ``login`` written after ``after`` (the demo's sink)."""
    from sisra.platform.demo.mails import read_mail_dir

    for _ in range(200):
        for mail in read_mail_dir(data_dir / "mails", 10):
            if mail.received_at > after and login in " ".join(mail.to) and mail.code():
                return str(mail.code())
        time.sleep(0.1)
    raise RuntimeError(f"no code mailed to {login}")


def two_step(base: str, data_dir: Path, login: str) -> Any:
    """Credentials of ``login`` through the real two-step login (code read from the sink)."""
    from sisra.client import auth
    from sisra.client.api import PlatformClient

    started = time.time() - 1
    with PlatformClient(base) as client:
        sent = auth.start_two_step(client, login, PASSWORD)
        return auth.finish_two_step(client, sent, mailed_code(data_dir, login, started))


class Shooter:
    """The Qt side: waits that keep the event loop turning, and pictures of screen areas."""

    def __init__(self) -> None:
        from PySide6.QtWidgets import QApplication

        self.app = QApplication.instance() or QApplication([sys.argv[0]])
        self.taken: list[str] = []

    def pump(self, seconds: float = 0.3) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.01)

    def until(self, what: str, condition: Callable[[], object], timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.app.processEvents()
            if condition():
                self.pump(0.1)
                return
            time.sleep(0.02)
        raise RuntimeError(f"timed out waiting for {what}")

    def shot(self, name: str, *widgets: Any, margin: int = 0) -> None:
        """The screen area covering ``widgets`` (their frames), popups included."""
        from PySide6.QtCore import QRect

        self.pump(0.4)  # let every window paint
        area = QRect()
        for widget in widgets:
            area = area.united(widget.frameGeometry())
        area.adjust(-margin, -margin, margin, margin)
        screen = self.app.primaryScreen()
        area = area.intersected(screen.geometry())
        pixmap = screen.grabWindow(0, area.x(), area.y(), area.width(), area.height())
        path = OUT / f"{name}.png"
        if not pixmap.save(str(path)):
            raise RuntimeError(f"could not write {path}")
        self.taken.append(name)
        print(f"  docs/screenshots/{name}.png", flush=True)


def click(widget: Any) -> None:
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    # radio buttons only take clicks on their circle and text: click near the left edge
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(8, widget.height() // 2))


def type_into(widget: Any, text: str) -> None:
    from PySide6.QtTest import QTest

    widget.clear()
    QTest.keyClicks(widget, text)


def run_wizard(qt: Shooter, controller: Any) -> None:
    """The first-run wizard, page by page, with the demo CPS card."""
    from PySide6.QtWidgets import QCommandLinkButton, QLineEdit, QWizard

    qt.until("the wizard", lambda: controller.wizard is not None)
    wizard = controller.wizard
    wizard.resize(740, 570)
    wizard.move(80, 60)
    qt.shot("monsisra-assistant-choix", wizard)
    click(wizard.welcome.findChild(QCommandLinkButton, "choose_card"))
    qt.until("the card page", lambda: wizard.currentPage() is wizard.auth)
    pin = wizard.auth.panel.findChild(QLineEdit, "pin")
    type_into(pin, "1234")
    pin.returnPressed.emit()
    qt.until("the card authentication", wizard.auth.isComplete, timeout=60)
    qt.shot("monsisra-assistant-carte", wizard)
    wizard.next()

    type_into(wizard.passwords.password, LOCAL_PASSWORD)
    type_into(wizard.passwords.confirm, LOCAL_PASSWORD)
    qt.shot("monsisra-assistant-mot-de-passe", wizard)
    wizard.next()
    if wizard.currentPage() is not wizard.software:
        raise RuntimeError(f"password refused: {wizard.passwords.error.text()}")

    software = wizard.software
    click(software.yes)
    profiles = software.choice._list
    row = next(i for i in range(profiles.count()) if profiles.item(i).text().startswith("HPRIM"))
    profiles.setCurrentRow(row)
    qt.shot("monsisra-assistant-logiciel", wizard)
    wizard.next()

    wizard.past.days.setValue(DAYS)
    click(wizard.past.send)  # send what the practice software drops, from the default folder
    qt.shot("monsisra-assistant-jours", wizard)
    wizard.next()  # « Créer mon compte »: the account, then the last 60 days' documents
    qt.until("the backfill", lambda: wizard.creation.finished, timeout=180)
    qt.shot("monsisra-assistant-creation", wizard)
    wizard.next()
    qt.shot("monsisra-assistant-termine", wizard)
    wizard.button(QWizard.WizardButton.FinishButton).click()


def title_of(st: Any) -> str:
    return str(st.item.document.title)


def documents_window(qt: Shooter, controller: Any) -> Any:
    qt.until("DOCUMENTS REÇUS", lambda: controller.documents is not None)
    window = controller.documents
    window.resize(1280, 720)
    window.move(40, 40)
    window.open_file = lambda _path: None  # no PDF viewer under Xvfb
    window.open_url = lambda _url: None  # nor browser
    qt.until("the connection", lambda: controller.session.status[0] == "online")
    qt.until("the documents", lambda: window.model.rowCount() > 20)
    return window


def park_mouse() -> None:
    """The pointer in the screen's corner, away from every window (no stray hover)."""
    from PySide6.QtGui import QCursor

    QCursor.setPos(1595, 995)


def documents_screens(qt: Shooter, controller: Any) -> None:
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QCursor

    from sisra.desktop.model import COL_TITLE

    window = documents_window(qt, controller)
    qt.shot("monsisra-documents-recus", window)

    # the mouse over the third title: the preview pops up below it, inside the window
    index = window.model.index(2, COL_TITLE)
    rect = window.table.visualRect(index)
    QCursor.setPos(
        window.table.viewport().mapToGlobal(rect.center() - QPoint(rect.width() // 4, 0))
    )
    qt.until(
        "the preview",
        lambda: window.popup.isVisible() and not window.popup.pixmap().isNull(),
        timeout=30,
    )
    qt.shot("monsisra-apercu", window, window.popup)
    park_mouse()
    qt.until("the preview to go", lambda: not window.popup.isVisible())

    menu = window.menu
    button = window.menu_button
    # right-aligned on the button, as Qt does when the window is maximised (else it would
    # overhang the window's edge, on the screen's background)
    menu.popup(
        button.mapToGlobal(QPoint(button.width() - menu.sizeHint().width(), button.height()))
    )
    qt.until("the menu", menu.isVisible)
    qt.shot("monsisra-menu", window, menu)
    menu.hide()

    index = window.model.index(4, COL_TITLE)
    window.table.selectRow(4)
    window._context_menu(window.table.visualRect(index).center())
    qt.until("the right-click menu", window.context_menu.isVisible)
    qt.shot("monsisra-clic-droit", window, window.context_menu)
    window.context_menu.hide()
    window.table.clearSelection()

    window.confirm_delete(window.model.rows[4].state)
    box = window.confirm_box
    qt.until("the delete confirmation", box.isVisible)
    qt.shot("monsisra-supprimer", box)
    box.reject()

    window.show_folder()
    window.dialog.resize(640, 460)
    qt.shot("monsisra-repertoire", window.dialog)
    window.dialog.reject()
    qt.pump(0.2)


def letter_pdf(lines: list[str]) -> bytes:
    """A letter as the practice software prints it: one A4 page, a line per entry."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setFont("Helvetica", 12)
    y = 790
    for line in lines:
        c.drawString(60, y, line)
        y -= 18
    c.showPage()
    c.save()
    return buf.getvalue()


def outbox_screens(qt: Shooter, controller: Any, work: Path) -> None:
    """« Paramétrages » with the outbox folder; « À envoyer » with a letter the outbox set
    aside and a letter printed while MonSisra was closed; « Envoyer ce document » completing
    the first, its patient and recipient proposed from its text."""
    from sisra.client.outbox import set_aside
    from sisra.client.outbox.watcher import PRINTED_REASON, PRINTED_TODO

    window = controller.documents
    outbox = work / "Logiciel" / "Envoi"
    window.show_settings()
    type_into(window.dialog.outbox, str(outbox))
    qt.shot("monsisra-parametrages", window.dialog)
    window.dialog.save()
    qt.until("the new outbox", lambda: controller.session.account.settings.outbox == outbox)

    patient = window.model.rows[0].state.item.patient
    name = (patient.used_name or patient.birth_name).upper()
    born = patient.birth_date.strftime("%d/%m/%Y")
    title, sex, whom = (
        ("Mme", "née", "cette patiente") if patient.sex == "F" else ("M.", "né", "ce patient")
    )
    lines = [
        "Dr Élodie LEFÈVRE",
        "Médecine générale — 12 quai Général Sarrail, 69006 Lyon",
        "",
        "À l'attention du Docteur Marc GAUTHIER",
        "",
        f"Objet : {title} {name} {patient.first_given_name}, {sex} le {born}",
        "",
        "Cher confrère,",
        f"Je vous adresse {whom} pour avis concernant une dyspnée d'effort.",
        "Bien confraternellement.",
        "Dr Élodie LEFÈVRE",
    ]
    letter = outbox / "courrier-gauthier.pdf"
    letter.write_bytes(letter_pdf(lines))
    reason = "en-tête HPRIM absent : le courrier ne dit ni son patient ni ses destinataires"
    set_aside(outbox, [letter], reason)
    time.sleep(1.1)  # listed oldest first
    # printed while MonSisra was closed: the background service set it aside
    printed = work / "imprime-20261207-091512-4.pdf"
    printed.write_bytes(letter_pdf(["Dr Élodie LEFÈVRE", "", "Certificat médical", "…"]))
    set_aside(outbox, [printed], PRINTED_REASON, PRINTED_TODO)

    window.show_outbox()
    dialog = window.dialog
    dialog.resize(900, 360)
    dialog.table.setColumnWidth(0, 300)
    dialog.table.resizeRowsToContents()
    dialog.table.selectRow(0)
    qt.shot("monsisra-a-envoyer", dialog)
    dialog.complete()
    send = dialog.send_windows[outbox / "a-completer" / letter.name]
    send.resize(1180, 560)
    send.move(60, 60)
    qt.until("the proposals", lambda: "Lecture" not in send.message.text(), timeout=60)
    qt.until("the preview", lambda: not send.preview.pixmap().isNull(), timeout=30)
    send.title.setText("Adressage cardiologie")
    qt.shot("monsisra-envoyer-document", send)
    send.close()
    dialog.accept()
    qt.pump(0.2)


def failure_screens(qt: Shooter, controller: Any, base: str, data_dir: Path) -> None:
    """A real failure: the folder disappears (a network share disconnected, say) while a
    colleague sends a document; then it is back and « Réessayer » records the document."""
    from sisra.platform.demo.pdfs import render_pdf

    window = controller.documents
    folder = Path(controller.session.account.settings.export_folder)
    away = folder.with_name(folder.name + " (déconnecté)")
    folder.rename(away)
    patient = window.model.rows[0].state.item.patient
    sender = two_step(base, data_dir, SENDER)
    title = "Compte rendu d'échographie cardiaque"
    name = patient.used_name or patient.birth_name
    import datetime as dt
    import json
    import random

    data = render_pdf(
        title=title,
        type_label="Compte rendu d'imagerie",
        author_name="Dr Marc GAUTHIER",
        author_profession="Cardiologie et maladies vasculaires",
        author_structure="Cabinet de cardiologie",
        author_city="Lyon",
        patient_name=f"{name} {patient.first_given_name}",
        patient_birth_date=patient.birth_date,
        patient_ins=patient.ins,
        clinical_date=dt.date.today(),
        rng=random.Random(7),
    )
    metadata = {
        "patient_id": patient.id,
        "title": title,
        "type_code": "cr_imagerie",
        "clinical_date": dt.date.today().isoformat(),
        "recipients": [controller.session.account.settings.professional_id],
    }
    r = httpx.post(
        f"{base}/api/v1/documents",
        headers={"Authorization": f"Bearer {sender.access_token}"},
        data={"metadata": json.dumps(metadata)},
        files={"file": ("echographie.pdf", data, "application/pdf")},
        timeout=30,
    )
    r.raise_for_status()
    qt.until("the failure", lambda: window.model.failed_count() > 0, timeout=60)
    qt.shot("monsisra-echec-bandeau", window)
    window.show_failures()
    window.dialog.resize(900, 300)
    qt.shot("monsisra-echecs", window.dialog)
    away.rename(folder)
    window.dialog.retry()
    qt.until("the retry", lambda: window.model.failed_count() == 0, timeout=60)
    window.dialog.accept()
    qt.pump(0.2)


def add_colleague(base: str, data_dir: Path, store: Any, work: Path) -> None:
    """A second user of this computer (« Ajouter un utilisateur »), for CONNEXION."""
    from sisra.client.accounts import AccountSettings

    creds = two_step(base, data_dir, COLLEAGUE)
    store.create(
        AccountSettings(
            display_name="François Bréchet",
            login=COLLEAGUE,
            professional_id=creds.professional_id,
            server_url=base,
            software_profile_id="pdf",
            export_folder=work / "Documents" / "MonSisra" / "Bréchet",
            backfill_days=0,
            launch_at_startup=False,
        ),
        "Autre-mot-de-passe-2026",
        creds.to_dict(),
    )


def expire_strong_auth(data_dir: Path) -> None:
    """A month later, as in tests/desktop: strong authentication too old, tokens expired."""
    from datetime import timedelta

    from sqlalchemy import update

    from sisra.platform.db import make_engine, make_session_factory, unit_of_work
    from sisra.platform.models import AccessToken, Device, utcnow
    from sisra.platform.settings import Settings

    settings = Settings(data_dir=data_dir)
    engine = make_engine(settings.effective_database_url, settings)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            session.execute(update(Device).values(strong_auth_at=utcnow() - timedelta(days=31)))
            session.execute(update(AccessToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    finally:
        engine.dispose()


def login_screens(qt: Shooter, controller: Any, data_dir: Path) -> None:
    from PySide6.QtWidgets import QLineEdit

    controller.documents.logout()
    login = controller.login
    qt.until("CONNEXION", lambda: login is not None and login.isVisible())
    login.resize(480, 440)
    login.move(120, 80)
    type_into(login.password, LOCAL_PASSWORD)
    qt.shot("monsisra-connexion", login)

    login.change_password()
    dialog = login.dialog
    qt.until("« Nouveau mot de passe »", dialog.isVisible)
    dialog.move(login.x() + 200, login.y() + 120)
    type_into(dialog.findChild(QLineEdit, "current_password"), LOCAL_PASSWORD)
    qt.shot("monsisra-nouveau-mot-de-passe", dialog)
    dialog.reject()

    expire_strong_auth(data_dir)
    login.log_in()


def reauth_screens(qt: Shooter, controller: Any) -> None:
    """Strong authentication asked again: MonSisra opens the dialog by itself; « Annuler »
    leaves the banner and its « M'authentifier » button; then the card renews it."""
    from PySide6.QtWidgets import QCommandLinkButton, QLineEdit, QPushButton
    from shiboken6 import isValid

    from sisra.desktop.strongauth import StrongAuthDialog

    qt.until("DOCUMENTS REÇUS", lambda: controller.documents is not None)
    window = controller.documents
    window.resize(1280, 720)
    window.move(40, 40)
    qt.until("the re-authentication banner", window.reauth_row.isVisible, timeout=60)
    qt.until("the documents", lambda: window.model.rowCount() > 20)

    def asking() -> bool:
        dialog = window.dialog  # deleted on close: isValid first
        return isinstance(dialog, StrongAuthDialog) and isValid(dialog) and dialog.isVisible()

    qt.until("the strong authentication dialog", asking, timeout=10)
    qt.shot("monsisra-authentification-forte", window.dialog)
    window.dialog.reject()
    qt.until("the dialog to close", lambda: not asking())
    qt.shot("monsisra-reauth", window)

    window.reauth_button.click()
    qt.until("the strong authentication dialog", asking)
    dialog = window.dialog
    click(dialog.panel.findChild(QCommandLinkButton, "choose_card"))
    type_into(dialog.panel.findChild(QLineEdit, "pin"), "1234")
    dialog.panel.findChild(QPushButton, "card_submit").click()
    qt.until("the renewal", lambda: not window.reauth_row.isVisible(), timeout=60)
    qt.until("the connection", lambda: controller.session.status[0] == "online", timeout=60)


def offline_screen(qt: Shooter, controller: Any, server: subprocess.Popen[bytes]) -> None:
    window = controller.documents
    stop(server)  # the platform is unreachable, as when the connection drops
    qt.until("the offline banner", window.offline_banner.isVisible, timeout=120)
    qt.shot("monsisra-hors-connexion", window)


def icon_screen(qt: Shooter, controller: Any) -> None:
    """The icon with its badge, large, and the real tray (trayer) once DOCUMENTS REÇUS is
    closed: the unread count on the icon and the balloon saying MonSisra goes on."""
    from PySide6.QtCore import QRect

    from sisra.desktop.icons import app_pixmap

    app_pixmap(64, controller.alerts.unread).save(str(OUT / "monsisra-icone.png"))
    print("  docs/screenshots/monsisra-icone.png", flush=True)
    tray = controller.alerts.tray
    if tray is None:
        return
    controller.documents.close()  # stays in the tray
    qt.until("the window hidden", lambda: not controller.documents.isVisible())
    qt.pump(0.8)
    screen = qt.app.primaryScreen().geometry()
    area = QRect(screen.right() - 620, 0, 620, 110)
    pixmap = qt.app.primaryScreen().grabWindow(0, area.x(), area.y(), area.width(), area.height())
    pixmap.save(str(OUT / "monsisra-zone-notification.png"))
    print("  docs/screenshots/monsisra-zone-notification.png", flush=True)
    controller.bring_to_front()
    qt.until("the window back", lambda: controller.documents.isVisible())


def main() -> int:
    started = time.monotonic()
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="cabinet-"))
    data_dir = work / "var"
    port, smtp = free_port(8000), free_port()
    base = f"http://127.0.0.1:{port}"
    xvfb, display = start_xvfb()
    server: subprocess.Popen[bytes] | None = None
    tray: subprocess.Popen[bytes] | None = None
    try:
        tray = start_tray(display)  # a system tray, as on a desktop: the icon, its balloons
        print("Démo : chargement de la région et démarrage de la plateforme…", flush=True)
        server = start_demo(work, port, smtp)
        from sisra.devtools.softhsm import SOFTHSM_MODULE

        home = work  # the folders the wizard suggests: /tmp/cabinet-…/Documents/MonSisra/…
        (home / "Documents").mkdir()
        os.environ.update(
            DISPLAY=display,
            QT_QPA_PLATFORM="xcb",
            LANG="C.UTF-8",
            HOME=str(home),  # the wizard suggests ~/Documents/MonSisra/…
            XDG_CONFIG_HOME=str(home / ".config"),  # « Lancer au démarrage » writes here
            MONSISRA_HOME=str(work / "monsisra"),
            SISRA_SERVER_URL=base,
            # the demo's CPS card of Dr Lefèvre, « in the reader »
            SOFTHSM2_CONF=str(data_dir / "softhsm" / GP / "softhsm2.conf"),
            SISRA_PKCS11_MODULE=SOFTHSM_MODULE,
        )
        from sisra.client.accounts import AccountStore
        from sisra.desktop.app import Controller
        from sisra.desktop.config import APP_NAME, ORGANIZATION
        from sisra.desktop.icons import app_icon

        qt = Shooter()
        park_mouse()
        qt.app.setApplicationName(APP_NAME)
        qt.app.setOrganizationName(ORGANIZATION)
        qt.app.setApplicationDisplayName(APP_NAME)
        qt.app.setWindowIcon(app_icon())
        qt.app.setQuitOnLastWindowClosed(False)
        store = AccountStore()
        controller = Controller(store, base)
        controller.start()
        print("MonSisra :", flush=True)
        run_wizard(qt, controller)
        documents_screens(qt, controller)
        outbox_screens(qt, controller, work)
        failure_screens(qt, controller, base, data_dir)
        icon_screen(qt, controller)
        add_colleague(base, data_dir, store, work)
        login_screens(qt, controller, data_dir)
        reauth_screens(qt, controller)
        offline_screen(qt, controller, server)
        controller.quit()
        qt.pump(0.2)
    finally:
        if server is not None:
            stop(server)
        if tray is not None:
            stop(tray)
        stop(xvfb)
        shutil.rmtree(work, ignore_errors=True)
    print(f"Terminé en {time.monotonic() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""« Imprimer vers MonSisra »: a letter printed through a real CUPS queue lands in the outbox,
MonSisra opens « Envoyer ce document » with the patient and recipients proposed from its text,
and the document reaches the recipient once the doctor confirms. Bad inputs: an unknown
patient, a letter without any clue, the platform out of reach (the file stays)."""

import hashlib
from datetime import date
from pathlib import Path

import httpx
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox

from sisra.client.api import PlatformClient
from sisra.client.outbox import SENT_DIR
from sisra.client.printing import jobs
from sisra.common.ins import with_key
from sisra.devtools.ports import free_port
from sisra.platform.context import SYSTEM
from sisra.platform.patients import service as patients
from support.cups import QUEUE
from support.desktop import WAIT
from support.letters import letter_pdf, referral_lines

INS = with_key("2500375123456")


def _patient(db, birth_name="DUPONT", given="Jeanne", ins=INS):
    with db() as session:
        return patients.create(
            session,
            SYSTEM,
            patients.NewPatient(
                birth_name=birth_name,
                birth_given_names=[given],
                first_given_name=given,
                birth_date=date(1950, 3, 12),
                sex="F",
                ins=ins,
                ins_oid="1.2.250.1.213.1.4.8" if ins else None,
            ),
        ).id


def _send_window(qtbot, controller, path: Path):
    qtbot.waitUntil(lambda: path in controller.send_windows, timeout=WAIT)
    window = controller.send_windows[path]
    qtbot.waitUntil(lambda: "Lecture" not in window.message.text(), timeout=WAIT)
    return window


def _drop(account, data: bytes, name: str = "imprime-20261207-101500-9.pdf") -> Path:
    """A printed job as the backend leaves it (tests/client/test_cups_backend.py)."""
    folder = jobs.printed_dir(account)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def _inbox(live_server, persona) -> list[dict]:
    with httpx.Client(base_url=live_server.url) as c:
        return c.get("/api/v1/inbox", headers=persona.headers).json()["items"]


def test_a_printed_letter_is_sent_to_the_proposed_recipient_once_confirmed(
    qtbot, desktop, private_cups, live_server, make_pro, db, tmp_path
):
    controller, _window, _me, _folder, account, _opened = desktop
    martin = make_pro("dr.martin", first_name="Paul", last_name="Martin")
    make_pro("dr.autre", first_name="Paul", last_name="Durand")
    patient_id = _patient(db)
    spaced = " ".join((INS[0], INS[1:3], INS[3:5], INS[5:7], INS[7:10], INS[10:13], INS[13:]))
    letter = tmp_path / "lettre.pdf"
    letter.write_bytes(letter_pdf(referral_lines(ins=spaced, recipient="Docteur Paul MARTIN")))
    private_cups.run("lp", "-d", QUEUE, str(letter), check=True)
    folder = jobs.printed_dir(account)
    qtbot.waitUntil(lambda: bool(jobs.printed_jobs(folder)), timeout=60_000)
    (path,) = jobs.printed_jobs(folder)
    window = _send_window(qtbot, controller, path)
    assert window.isVisible() and window.windowTitle() == "Envoyer ce document"
    assert "Envoyé par Claire ROUX" in window.findChild(QLabel, "send-head").text()
    assert window.patients.count() == 1 and window.patients.currentData() == str(patient_id)
    assert window.patients.currentText() == "DUPONT Jeanne, née le 12/03/1950 — proposé"
    assert spaced in window.patient_source.text()  # the words the proposal came from
    assert window.checked_recipients() == [(str(martin.id), "Paul MARTIN (Médecin, Lyon)")]
    assert "Docteur Paul MARTIN" in window.recipients.item(0).text()
    assert not _inbox(live_server, martin)  # nothing leaves before the doctor confirms
    qtbot.waitUntil(
        lambda: window.preview.pixmap() is not None and not window.preview.pixmap().isNull(),
        timeout=WAIT,
    )
    window.title.setText(" ")
    assert not window.send_button.isEnabled()  # a document needs a title
    window.title.setText("Adressage cardiologie")
    assert window.send_button.isEnabled()
    qtbot.mouseClick(window.send_button, Qt.MouseButton.LeftButton)
    box = window.confirm_box
    assert (
        box is not None and "DUPONT Jeanne" in box.text() and "Paul MARTIN" in box.informativeText()
    )
    with qtbot.waitSignal(window.sent, timeout=WAIT) as sent:
        qtbot.mouseClick(box.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    target = sent.args[0]
    sent = jobs.outbox_dir(account) / SENT_DIR / _now().strftime("%Y-%m")
    assert target.parent == sent and target.is_file()
    assert not path.exists()
    (item,) = _inbox(live_server, martin)
    assert item["document"]["title"] == "Adressage cardiologie"
    assert item["document"]["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    assert item["patient"]["id"] == str(patient_id)
    assert "Document envoyé" in window.message.text()


def _now():
    from datetime import datetime

    return datetime.now()


def test_an_unknown_patient_and_a_letter_without_clues_are_left_to_the_doctor(
    qtbot, desktop, make_pro, db
):
    controller, _window, _me, _folder, account, _opened = desktop
    unknown = _drop(account, letter_pdf(referral_lines(patient="Mme INCONNUE Berthe")))
    window = _send_window(qtbot, controller, unknown)
    assert window.patients.count() == 0
    assert "Patient non trouvé sur la plateforme" in window.patient_source.text()
    assert "INCONNUE Berthe" in window.patient_source.text()
    assert not window.send_button.isEnabled()
    # the doctor finds the patient and a recipient by hand
    patient_id = _patient(db, "GIRARD", "Lucie", ins=None)
    durand = make_pro("dr.durand", first_name="Anne", last_name="Durand")
    window.patient_query.setText("GIRARD 12/03/1950")
    window.search_patient()
    qtbot.waitUntil(lambda: window.patients.currentData() == str(patient_id), timeout=WAIT)
    window.recipient_query.setText("durand")
    window.search_recipient()
    qtbot.waitUntil(lambda: window.recipients.count() >= 1, timeout=WAIT)
    ids = [
        window.recipients.item(i).data(Qt.ItemDataRole.UserRole)
        for i in range(window.recipients.count())
    ]
    assert str(durand.id) in ids and not window.send_button.isEnabled()  # proposed, not ticked
    window.recipients.item(ids.index(str(durand.id))).setCheckState(Qt.CheckState.Checked)
    assert window.send_button.isEnabled()

    bare = _drop(
        account, letter_pdf(["Ordonnance", "Paracétamol 1 g"]), "imprime-20261207-101600-10.pdf"
    )
    window2 = _send_window(qtbot, controller, bare)
    assert "Aucun patient reconnu" in window2.patient_source.text()
    assert "Aucun destinataire reconnu" in window2.recipient_source.text()
    assert not window2.send_button.isEnabled() and bare.exists()


def test_with_the_platform_out_of_reach_the_file_stays_and_the_window_says_why(
    qtbot, desktop, make_pro, db
):
    controller, _window, _me, _folder, account, _opened = desktop
    martin = make_pro("dr.martin", first_name="Paul", last_name="Martin")
    _patient(db)
    path = _drop(account, letter_pdf(referral_lines(recipient="Docteur Paul MARTIN")))
    window = _send_window(qtbot, controller, path)
    assert window.checked_recipients() and window.patients.count() == 1
    session = controller.session
    live = session.client
    session.client = PlatformClient(f"http://127.0.0.1:{free_port()}")  # nobody listens there
    try:
        window.confirm()
        with qtbot.waitSignal(window.confirm_box.finished, timeout=WAIT):
            window.confirm_box.button(QMessageBox.StandardButton.Yes).click()
        qtbot.waitUntil(lambda: "n'a pas été envoyé" in window.message.text(), timeout=WAIT)
    finally:
        session.client.close()
        session.client = live
    assert "Il reste dans le dossier d'envoi" in window.message.text()
    assert "b00020" in window.message.styleSheet()
    assert path.exists() and window.send_button.isEnabled()
    assert str(martin.id) == window.checked_recipients()[0][0]
    # a window opened while the platform is down says so at once
    session.client = PlatformClient(f"http://127.0.0.1:{free_port()}")
    try:
        other = _drop(account, letter_pdf(referral_lines()), "imprime-20261207-101700-11.pdf")
        window2 = _send_window(qtbot, controller, other)
        assert "Le document reste dans le dossier d'envoi" in window2.message.text()
    finally:
        session.client.close()
        session.client = live


def test_sending_the_same_file_again_creates_no_second_document(
    qtbot, desktop, live_server, make_pro, db
):
    """The share's Idempotency-Key comes from the file's content, patient and recipients (the
    outbox's key): a retry whose first answer was lost (the file printed again, or put back)
    returns the first document, not a second one."""
    from sisra.desktop.send import share

    controller, _window, _me, _folder, account, _opened = desktop
    martin = make_pro("dr.martin", first_name="Paul", last_name="Martin")
    patient_id = _patient(db)
    data = letter_pdf(referral_lines())
    metadata = {
        "patient_id": str(patient_id),
        "title": "Courrier",
        "type_code": "courrier",
        "clinical_date": date.today().isoformat(),
        "recipients": [str(martin.id)],
    }
    first = share(controller.session, _drop(account, data), metadata)
    again = share(controller.session, _drop(account, data), metadata)
    assert first.read_bytes() == again.read_bytes() == data  # both filed as sent
    assert len(_inbox(live_server, martin)) == 1

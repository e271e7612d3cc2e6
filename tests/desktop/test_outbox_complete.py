"""« À envoyer » completes a set-aside letter in « Envoyer ce document » (its header and note
follow it to ``envoyes/``), an XDM archive says why it cannot, and the printed jobs' watch
follows the outbox changed in « Paramétrages » (decision 191)."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from sisra.client.outbox import SET_ASIDE_DIR, set_aside
from sisra.client.printing import jobs
from sisra.desktop.outbox import NOT_A_PDF, OutboxDialog
from support.desktop import WAIT
from support.letters import letter_pdf, referral_lines
from support.outbox import hprim, new_patient, rpps_of


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("IHE_XDM/SUBSET01/METADATA.XML", "<x/>")
    return buf.getvalue()


def test_a_set_aside_letter_is_completed_and_sent_with_its_files(
    qtbot: Any, desktop: Any, live_server: Any, make_pro: Any, db: Any, tmp_path: Path
) -> None:
    controller, window, _me, _folder, account, _opened = desktop
    martin = make_pro("dr.martin", first_name="Paul", last_name="Martin")
    patient_id = new_patient(db, "DUPONT", "Jeanne", date(1950, 3, 12))
    qtbot.waitUntil(lambda: controller.printed is not None, timeout=WAIT)
    assert controller.printed.folder == jobs.printed_dir(account)  # the default outbox

    # « Paramétrages »: another outbox; the printed jobs' watch follows it at once
    window.action("settings").trigger()
    outbox = tmp_path / "Logiciel" / "envoi"
    window.dialog.outbox.setText(str(outbox))
    window.dialog.save()
    assert controller.printed.folder == outbox / "imprimes"
    job = outbox / "imprimes" / "imprime-20261207-101500-9.pdf"
    job.write_bytes(letter_pdf(referral_lines()))
    qtbot.waitUntil(lambda: job in controller.send_windows, timeout=WAIT)
    controller.send_windows[job].close()

    # two letters set aside: a PDF with its header, an XDM archive
    pdf = outbox / "courrier.pdf"
    pdf.write_bytes(letter_pdf(["Courrier", "Bien confraternellement."]))  # no clue in it
    header = outbox / "courrier.hpr"
    header.write_bytes(hprim("DUPONT", "Jeanne", date(1950, 3, 12), rpps_of(db, martin.id)))
    letter = set_aside(outbox, [pdf, header], "aucun destinataire trouvé")
    archive = outbox / "archive.zip"
    archive.write_bytes(_zip())
    set_aside(outbox, [archive], "archive illisible")

    window.action("outbox").trigger()
    listed = window.dialog
    assert isinstance(listed, OutboxDialog) and listed.table.rowCount() == 2
    assert listed.table.item(0, 0).text() == "courrier.pdf"
    assert listed.complete_button.isEnabled() and listed.why_not.isHidden()
    listed.table.selectRow(1)
    assert not listed.complete_button.isEnabled()
    assert listed.why_not.text() == NOT_A_PDF == listed.complete_button.toolTip()
    listed.complete()
    assert not listed.send_windows  # nothing opens for the archive
    listed.table.selectRow(0)
    qtbot.mouseClick(listed.complete_button, Qt.MouseButton.LeftButton)
    send = listed.send_windows[letter.path]
    qtbot.waitUntil(lambda: "Lecture" not in send.message.text(), timeout=WAIT)
    # proposed from what the letter's HPRIM header says
    assert send.patients.currentData() == str(patient_id)
    assert "en-tête HPRIM : DUPONT Jeanne, né(e) le 12/03/1950" in send.patient_source.text()
    assert [rid for rid, _n in send.checked_recipients()] == [str(martin.id)]
    assert "en-tête HPRIM" in send.recipients.item(0).text()
    qtbot.mouseClick(send.send_button, Qt.MouseButton.LeftButton)
    box = send.confirm_box
    assert box is not None
    with qtbot.waitSignal(send.sent, timeout=WAIT) as sent:
        qtbot.mouseClick(box.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    month = outbox / "envoyes" / f"{date.today():%Y-%m}"
    assert sent.args[0] == month / "courrier.pdf"
    assert sorted(p.name for p in month.iterdir()) == [
        "courrier.hpr",
        "courrier.pdf",
        "courrier.txt",
    ]
    assert sorted(p.name for p in (outbox / SET_ASIDE_DIR).iterdir()) == [
        "archive.txt",
        "archive.zip",
    ]
    # the list is read again: only the archive is left
    assert listed.table.rowCount() == 1 and listed.table.item(0, 0).text() == "archive.zip"
    with httpx.Client(base_url=live_server.url) as c:
        items = c.get("/api/v1/inbox", headers=martin.headers).json()["items"]
    assert [i["patient"]["id"] for i in items] == [str(patient_id)]

    send.close()
    qtbot.waitUntil(lambda: not listed.send_windows, timeout=WAIT)
    listed.table.cellDoubleClicked.emit(0, 0)  # the archive: a double-click opens nothing
    assert not listed.send_windows


def test_a_double_click_opens_the_letter(qtbot: Any, desktop: Any, tmp_path: Path) -> None:
    _controller, window, _me, _folder, _account, _opened = desktop
    window.action("settings").trigger()
    outbox = tmp_path / "envoi"
    window.dialog.outbox.setText(str(outbox))
    window.dialog.save()
    pdf = outbox / "seul.pdf"
    pdf.write_bytes(letter_pdf(referral_lines()))
    set_aside(outbox, [pdf], "en-tête HPRIM absent")
    window.action("outbox").trigger()
    listed = window.dialog
    listed.table.cellDoubleClicked.emit(0, 1)
    send = listed.send_windows[outbox / SET_ASIDE_DIR / "seul.pdf"]
    assert send.isVisible() and send.outbox == outbox
    assert send.companions == (
        outbox / SET_ASIDE_DIR / "seul.pdf",
        outbox / SET_ASIDE_DIR / "seul.txt",
    )
    qtbot.waitUntil(lambda: "Lecture" not in send.message.text(), timeout=WAIT)

"""The DOCUMENTS REÇUS list: a patient found by the birth name as on the web, « né(e) »
shown when the used name differs, the status bar counting the rows a filter keeps, and the
sort arrow pointing the way the rows are ordered."""

from PySide6.QtCore import QPoint, Qt
from sqlalchemy import update

from sisra.client.api import PlatformClient
from sisra.desktop.model import COL_PATIENT, COL_TITLE
from sisra.platform.models import Patient
from support.desktop import LOCAL_PASSWORD, WAIT
from support.documents import share_request

NBSP = "\u00a0"


def test_birth_name_search_counts_and_sort_arrow(
    qtbot,
    desktop,
    live_server,
    make_pro,
    make_patient,
    pdf,
    db,
    account_store,
):
    _controller, window, recipient, _folder, _account, _opened = desktop
    married = make_patient(birth_name="LEFEBVRE", given="Jeanne")
    with db() as s:  # married since: her used name is DURAND
        s.execute(
            update(Patient)
            .where(Patient.id == married)
            .values(used_name="DURAND", used_name_fold="durand")
        )
    sender = make_pro()
    with PlatformClient(live_server.url) as c:
        for patient, title in (
            (married, "Bilan"),
            (make_patient(birth_name="BERNARD"), "Radio"),
            (make_patient(birth_name="CARON"), "Échographie"),
        ):
            r = share_request(c._http, sender, patient, [recipient], pdf(), title=title)
            assert r.status_code == 201
    qtbot.waitUntil(lambda: window.model.rowCount() == 3, timeout=WAIT)
    assert window.counts_label.text().startswith("3 documents ·")

    # the birth name finds her, as the web's « Documents reçus » does; the list says it
    qtbot.keyClicks(window.search, "lefebvre")
    assert window.model.rowCount() == 1
    patient = window.model.index(0, COL_PATIENT).data()
    assert patient.startswith(f"DURAND (né(e){NBSP}LEFEBVRE) Jeanne")
    assert window.counts_label.text().startswith("1 document sur 3 ·")
    window.search.clear()
    assert window.counts_label.text().startswith("3 documents ·")
    window.filter_box.setCurrentIndex(2)  # « En échec d'enregistrement »: none
    assert window.counts_label.text().startswith("0 document sur 3 ·")
    window.filter_box.setCurrentIndex(0)

    # a first click on « Libellé »: the ascending arrow, and the rows in ascending order
    # (accents folded: « Échographie » between « Bilan » and « Radio »)
    header = window.table.horizontalHeader()
    at = QPoint(header.sectionViewportPosition(COL_TITLE) + 20, header.height() // 2)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=at)
    titles = [window.model.index(i, COL_TITLE).data() for i in range(3)]
    assert header.sortIndicatorSection() == COL_TITLE
    assert header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder
    assert titles == ["Bilan", "Échographie", "Radio"]
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    assert [window.model.index(i, COL_TITLE).data() for i in range(3)] == titles[::-1]

    # the widths and the sort are remembered: reopened, the arrow and the rows still agree
    window.save_columns()
    controller, account = _controller, _account
    controller.close_session()

    def reopened() -> bool:  # once the closed session's engine thread has let the account go
        controller.open_documents(account_store.unlock(account.id, LOCAL_PASSWORD))
        return controller.documents is not None

    qtbot.waitUntil(reopened, timeout=WAIT)
    window = controller.documents
    qtbot.waitUntil(lambda: window.model.rowCount() == 3, timeout=WAIT)
    header = window.table.horizontalHeader()
    assert header.sortIndicatorSection() == COL_TITLE
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    assert [window.model.index(i, COL_TITLE).data() for i in range(3)] == titles[::-1]

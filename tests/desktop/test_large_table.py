"""DOCUMENTS REÇUS with 10,000 documents: everything listed, sorted, searched and filtered
correctly (the time it takes is measured by bench/desktop.py, not asserted here)."""

from PySide6.QtCore import Qt

from sisra.common.text import fold
from sisra.desktop.documents import DocumentsWindow
from sisra.desktop.model import COL_DATE, COL_TITLE
from sisra.desktop.session import AccountSession
from sisra.desktop.tray import Alerts
from sisra.devtools.inbox import fill_state, offline_account

N = 10_000


def test_ten_thousand_documents(qtbot, account_store):
    account = offline_account(account_store, "Mon-mot-de-passe-local")
    state = fill_state(account.state_path, N)
    states = state.all()
    state.close()
    session = AccountSession(account_store.unlock(account.id, "Mon-mot-de-passe-local"))
    window = DocumentsWindow(session, account_store, Alerts())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.model.rowCount() == N, timeout=30_000)

    # newest first; the synthetic inbox's item 0 is the most recent
    assert window.model.index(0, COL_DATE).data(Qt.ItemDataRole.UserRole + 2) == states[0].id
    window.table.scrollToBottom()
    last = window.model.index(N - 1, COL_TITLE).data()
    assert last == states[-1].item.document.title
    window.table.sortByColumn(COL_DATE, Qt.SortOrder.AscendingOrder)
    assert window.model.index(0, COL_TITLE).data() == states[-1].item.document.title

    def expected(word: str) -> int:
        return sum(
            word
            in fold(
                " ".join(
                    (
                        st.item.patient.birth_name,
                        st.item.patient.first_given_name,
                        st.item.sender.name,
                        st.item.document.title,
                    )
                )
            )
            for st in states
        )

    qtbot.keyClicks(window.search, "LEFEVRE")  # the accent of LEFÈVRE is ignored
    assert 0 < window.model.rowCount() == expected("lefevre") < N
    window.search.clear()
    window.filter_box.setCurrentIndex(1)
    unread = sum(st.item.read_at is None for st in states)
    assert window.model.rowCount() == unread == window.model.unread_count()
    window.filter_box.setCurrentIndex(2)
    assert window.model.rowCount() == sum(st.status == "failed" for st in states) > 0
    window.filter_box.setCurrentIndex(0)
    assert window.model.rowCount() == N
    assert window.failures_banner.isVisible()
    assert f"{N} documents" in window.counts_label.text()
    window.quitting = True
    session.close()

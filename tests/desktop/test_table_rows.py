"""DOCUMENTS REÇUS' rows as the window loads them: made from the local state's stored rows
(the fields read by SQLite, the items not typed) they are the rows typed states give; a search
narrowed keystroke by keystroke lists what a fresh search lists; the columns are fitted as Qt's
resizeColumnToContents fits them."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import Qt

from sisra.client.items import InboxItem
from sisra.client.state import LocalState
from sisra.common import clock
from sisra.common.text import fold
from sisra.desktop.columns import FITTED_COLUMNS
from sisra.desktop.documents import DocumentsWindow
from sisra.desktop.model import (
    COL_DATE,
    FIELDS,
    DocumentsModel,
    Row,
    make_row,
    make_rows,
    patient_name,
)
from sisra.desktop.session import AccountSession
from sisra.desktop.tray import Alerts
from sisra.devtools.inbox import offline_account, synthetic_item

NOW = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # the night the clocks go back in France
# patients, senders and titles a search must find whatever the accents and the name used
PEOPLE = [
    ("LEFÈVRE", None, "Zoé", "1950-02-03"),
    ("DUPONT", "DURAND", "Jeanne", "1961-12-31"),
    ("MARTIN", "MARTIN", "Élodie", None),  # used name = birth name: no « né(e) »
    ("D'AUBIGNÉ-LÉVÊQUE", None, "Cœur", "1999-07-14"),
    ("ROUX", "MAÏ", "Anaïs", "1977-06-25T00:00:00"),
]


def _items(count: int) -> list[dict[str, Any]]:
    rng = random.Random(4)
    items = []
    for i in range(count):
        data = synthetic_item(i, rng, NOW)
        birth, used, first, born = PEOPLE[i % len(PEOPLE)]
        data["patient"].update(
            birth_name=birth, used_name=used, first_given_name=first, birth_date=born
        )
        if i % 4 == 1:
            data["sender"]["name"] = "Dr Noémie GIRARD"
        if i % 6 == 2:
            data["document"]["type_label"] = ""  # the code is shown instead
        if i % 7 == 3:
            data["document"]["title"] = "Échographie abdominale"
        if i % 5 == 4:
            data["created_at"] = data["created_at"].replace("+00:00", "Z")
        if i in (6, 7):  # two documents shared at the same instant
            data["created_at"] = items[5]["created_at"]
        items.append(data)
    return items


def _state(path: Path, items: list[dict[str, Any]]) -> LocalState:
    state = LocalState(path)
    with state.batch():
        for n, data in enumerate(items):
            item = InboxItem.from_json(data)
            state.record(item)
            if n % 3 == 0:
                state.mark_failed(item.id, "folder_missing", "Dossier absent.", 60)
            elif n % 3 == 1:
                state.mark_exported(item.id, [path.parent / f"{item.id}.pdf"])
    return state


SHOWN = (
    "id",
    "cursor",
    "status_code",
    "status",
    "received",
    "received_key",
    "patient",
    "patient_key",
    "sender",
    "title",
    "type_label",
    "unread",
    "search",
)


def _shown(row: Row) -> tuple[Any, ...]:
    return tuple(getattr(row, name) for name in SHOWN)


@pytest.mark.parametrize("zone", [None, ZoneInfo("Europe/Paris")])
def test_rows_from_the_stored_items_are_those_of_their_typed_states(tmp_path, zone) -> None:
    state = _state(tmp_path / "state.sqlite", _items(40))
    read_here = {st.id for st in state.visible()[::4]}

    def in_order(rows: list[Row]) -> list[Row]:  # the stored rows come in any order
        return sorted(rows, key=lambda r: r.cursor)

    rows = in_order(make_rows(state.visible_fields(FIELDS), read_here, zone))
    typed = [make_row(st, st.id in read_here, zone) for st in state.visible()]
    assert [_shown(r) for r in rows] == [_shown(r) for r in typed]
    assert [r.state for r in rows] == state.visible()  # typed when first asked for
    by_id = {r.id: r for r in rows}
    lefevre = next(r for r in rows if r.patient.startswith("LEFÈVRE"))
    assert lefevre.patient == "LEFÈVRE Zoé (03/02/1950)"
    durand = next(r for r in rows if r.patient.startswith("DURAND"))
    assert durand.patient == "DURAND (né(e)\u00a0DUPONT) Jeanne (31/12/1961)"
    assert next(r for r in rows if "MAÏ" in r.patient).patient.endswith("(25/06/1977)")
    for st in state.visible():
        row = by_id[st.id]
        assert row.received == clock.fr_datetime(st.item.created_at, zone, sep=" ")
        assert row.type_label == (st.item.document.type_label or st.item.document.type_code)

    # an SQLite that refuses an item's text (or has no JSON): the same rows, read in Python
    state.record(InboxItem.from_json({**_items(41)[40], "extra": float("nan")}))
    fallback = in_order(make_rows(state.visible_fields(FIELDS), read_here, zone))
    assert [_shown(r) for r in fallback[:-1]] == [_shown(r) for r in rows]


def test_times_are_written_as_before_without_strftime() -> None:
    start = datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC)
    for minutes in range(0, 60 * 24 * 400, 997):
        moment = start + timedelta(minutes=minutes)
        for zone in (None, UTC, ZoneInfo("Europe/Paris"), ZoneInfo("America/Cayenne")):
            local = moment.astimezone(zone)
            expected = f"{local:%d/%m/%Y} à {local:%H}h{local:%M}"
            assert clock.fr_datetime(moment, zone) == expected
            assert clock.hhmm(local) == f"{local:%H}h{local:%M}"


def _model(qtbot, tmp_path) -> tuple[DocumentsModel, LocalState]:
    state = _state(tmp_path / "state.sqlite", _items(120))
    model = DocumentsModel()
    model.set_rows(make_rows(state.visible_fields(FIELDS), set(), None))
    return model, state


def _fresh(model: DocumentsModel, query: str, mode: str) -> list[str]:
    """What the list shows for ``query`` and ``mode``, worked out from the documents' own
    fields as the first version of the search did: each part folded alone."""
    words = fold(query).split()
    rows = sorted(model.all.values(), key=lambda r: (r.received_key, r.cursor), reverse=True)
    shown = []
    for row in rows:
        item = row.state.item
        p = item.patient
        born = p.birth_date.strftime("%d/%m/%Y") if p.birth_date else ""
        names = fold(f"{p.used_name or ''} {p.birth_name}")
        haystack = f"{fold(patient_name(p))} {names} {born} " + fold(
            f"{item.sender.name} {item.document.title}"
        )
        if mode == "unread" and not row.unread:
            continue
        if mode == "failed" and row.state.status != "failed":
            continue
        if all(word in haystack for word in words):
            shown.append(row.id)
    return shown


def test_a_search_typed_key_by_key_lists_what_a_fresh_search_lists(qtbot, tmp_path) -> None:
    model, state = _model(qtbot, tmp_path)
    typed = ["l", "le", "lef", "lefe", "lefev", "lefevr", "lefevre", "lefev", "le", ""]
    typed += ["d", "du", "dup", "dupont", "dupont j", "dupont je", "dupont j", "durand"]
    typed += ["é", "éc", "écho", "ECHO", "echographie abd", "ho", "", "noemie", "NOÉMIE g"]
    typed += ["d'aubigné", "aubigne-leveque", "coeur", "cœur", "mai", "maï", "31/12", "zz", ""]
    for mode in DocumentsModel.MODES:
        model.set_mode(mode)
        for query in typed:
            model.set_search(query)
            assert [r.id for r in model.rows] == _fresh(model, query, mode), (mode, query)
            assert model.rowCount() == len(model.rows)
    assert _fresh(model, "lefevre", "all") and _fresh(model, "dupont", "all")  # found, by
    assert _fresh(model, "dupont", "all") == _fresh(model, "durand", "all")  # either name

    # a document arriving, one read, one deleted while a search is typed: still the same
    model.set_mode("unread")
    model.set_search("d")
    new = synthetic_item(501, random.Random(9), NOW + timedelta(hours=1))  # unread
    new["patient"].update(birth_name="DUPRÉ", used_name=None)
    state.record(InboxItem.from_json(new))
    model.upsert(state.get(new["id"]))
    model.mark_read(model.rows[3].id)
    model.remove(model.rows[5].id)
    for query in ("du", "dup", "dupr", "dupre", "du", "", "e"):
        model.set_search(query)
        assert [r.id for r in model.rows] == _fresh(model, query, "unread"), query
        if query == "dupre":
            assert [r.id for r in model.rows] == [new["id"]]
    assert model.unread_count() == sum(r.unread for r in model.all.values())
    assert model.failed_count() == sum(r.state.status == "failed" for r in model.all.values())


def test_documents_of_one_instant_newest_arrived_first(qtbot, tmp_path) -> None:
    """Documents shared at the same instant keep one order however they came: the one that
    arrived last (the higher cursor) first when the newest are first."""
    model = _model(qtbot, tmp_path)[0]
    instant = next(r.received_key for r in model.all.values() if r.cursor == 6)
    assert [r.cursor for r in model.rows if r.received_key == instant] == [8, 7, 6]
    model.sort(COL_DATE, Qt.SortOrder.AscendingOrder)
    assert [r.cursor for r in model.rows if r.received_key == instant] == [6, 7, 8]


def test_columns_fitted_as_qt_fits_them(qtbot, account_store, tmp_path) -> None:
    account = offline_account(account_store, "Mon-mot-de-passe-local")
    _state(account.state_path, _items(60)).close()
    session = AccountSession(account_store.unlock(account.id, "Mon-mot-de-passe-local"))
    window = DocumentsWindow(session, account_store, Alerts())
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.model.rowCount() == 60, timeout=30_000)
    for visible in (False, True):
        if visible:
            window.show()
        for col, _low, _high in FITTED_COLUMNS:
            fitted = window.content_width(col)
            window.table.resizeColumnToContents(col)
            assert fitted == window.table.columnWidth(col), (col, visible)
    window.quitting = True
    window.close()
    session.close()

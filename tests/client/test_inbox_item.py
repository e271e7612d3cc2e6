"""The inbox item, typed once where MonSisra reads the platform's JSON (decision 179)."""

from __future__ import annotations

import copy
import dataclasses
import json
import sqlite3
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from sisra.client.errors import ApiError
from sisra.client.items import REQUIRED, InboxItem, InvalidItem
from sisra.client.state import SCHEMA, LocalState
from sisra.client.sync import _events
from sisra.common.ins import DEFAULT_PATIENT_ID_OID, OID_NIR
from support.export import first_platform_item, make_item, make_pdf


def test_an_older_platforms_item_reads_with_defaults() -> None:
    item = InboxItem.from_json(first_platform_item())
    assert (item.id, item.cursor) == ("3c2b1a00-0000-4000-8000-000000000001", 7)
    assert item.created_at == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert item.read_at == datetime(2026, 11, 21, 8, 30, tzinfo=UTC) and item.delivered_at is None
    assert (item.document.size, item.document.sha256) == (1234, "ab" * 32)
    assert item.document.clinical_date == date(2026, 11, 19) and not item.document.restricted
    patient = item.patient
    assert patient.birth_date == date(1969, 4, 12) and patient.last_name == "LEFÈVRE"
    assert patient.birth_given_names is None and patient.ins_oid is None
    assert patient.identity_status is None and patient.birth_place_code is None
    assert item.sender.label == "Dr Marc GAUTHIER" and item.sender.rpps is None
    assert item.sender.first_name == "" and item.sender.mssante is None
    assert item.recipient is None and item.platform is None
    # no identity status: no INS leaves, the platform's id under its default OID
    ident = item.patient_identifier
    assert not ident.is_ins and ident.value == patient.id and ident.oid == DEFAULT_PATIENT_ID_OID


def test_todays_item_reads_every_field(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "doc.pdf")
    data = make_item(pdf, patient__birth_given_names=["Hélène", "Marie"], document__restricted=True)
    item = InboxItem.from_json(data)
    assert item.patient.birth_given_names == ("Hélène", "Marie")
    assert item.patient.last_name == "GAUTHIER" and item.patient.ins_oid == OID_NIR
    assert item.patient_identifier.is_ins and item.patient_identifier.value == "269046912304567"
    assert item.document.restricted and item.document.loinc == "11488-4"
    assert item.recipient is not None and item.recipient.label == "Dr Claire MARTIN"
    assert item.recipient.siret == "73282932000074"
    assert item.platform is not None and item.platform.contact_email == "contact@sisra.example.fr"
    assert item.platform.patient_id_oid is None  # not sent: the default one
    assert item.document_date == date(2026, 11, 19)
    # no clinical date: the day it was sent
    data["document"]["clinical_date"] = None
    assert InboxItem.from_json(data).document_date == date(2026, 11, 20)


def test_unknown_fields_are_ignored_and_kept() -> None:
    """A newer platform's fields: this version reads around them, and keeps them in the
    JSON it stores (a later version reading the state file finds them)."""
    data = first_platform_item(priority="urgent", thread={"id": "t1"})
    data["document"]["signature"] = {"kind": "cades"}
    data["patient"]["pronouns"] = "elle"
    data["sender"]["team"] = ["a", "b"]
    item = InboxItem.from_json(data)
    assert item.document.title == "Lettre de liaison"
    assert item.to_json() == data
    assert not hasattr(item, "priority")
    copy_ = item.to_json()
    copy_["document"]["title"] = "changed"  # a copy: the item stays as received
    assert item.to_json()["document"]["title"] == "Lettre de liaison"


def test_the_item_is_frozen_and_compares_by_value() -> None:
    item = InboxItem.from_json(first_platform_item())
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.cursor = 8  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.patient.birth_name = "X"  # type: ignore[misc]
    assert item == InboxItem.from_json(first_platform_item())
    assert hash(item.document) == hash(InboxItem.from_json(first_platform_item()).document)


@pytest.mark.parametrize("path", sorted(REQUIRED))
def test_a_missing_required_field_is_named(path: str) -> None:
    data = first_platform_item()
    *sections, name = path.split(".")
    target = data
    for section in sections:
        target = target[section]
    del target[name]
    with pytest.raises(InvalidItem) as caught:
        InboxItem.from_json(data)
    assert caught.value.path == path
    assert f"«\u00a0{path}\u00a0» absent" in caught.value.message
    # an ApiError: the engine reports it and tries again later, like any refusal
    assert isinstance(caught.value, ApiError) and caught.value.code == "invalid_item"


@pytest.mark.parametrize(
    ("change", "path", "problem"),
    [
        ({"cursor": "sept"}, "cursor", "n'est pas un nombre entier"),
        ({"cursor": True}, "cursor", "n'est pas un nombre entier"),
        ({"created_at": "hier"}, "created_at", "n'est pas une date et heure"),
        ({"patient": "LEFÈVRE"}, "patient", "n'est pas un objet"),
        ({"recipient": ["x"]}, "recipient", "n'est pas un objet"),
    ],
)
def test_a_field_of_the_wrong_kind_is_named(
    change: dict[str, Any], path: str, problem: str
) -> None:
    with pytest.raises(InvalidItem) as caught:
        InboxItem.from_json(first_platform_item(**change))
    assert caught.value.path == path and problem in caught.value.message


def test_a_wrong_nested_value_is_named() -> None:
    data = first_platform_item()
    data["document"]["size"] = "grand"
    data_date = copy.deepcopy(first_platform_item())
    data_date["patient"]["birth_date"] = "12/04/1969"
    with pytest.raises(InvalidItem) as size:
        InboxItem.from_json(data)
    with pytest.raises(InvalidItem) as born:
        InboxItem.from_json(data_date)
    assert (size.value.path, born.value.path) == ("document.size", "patient.birth_date")
    with pytest.raises(InvalidItem, match="n'est pas un objet"):
        InboxItem.from_json(["not", "an", "object"])


def test_the_event_stream_yields_typed_items() -> None:
    data = first_platform_item()
    lines = iter([": keepalive", "", "id: 7", "event: inbox", f"data: {json.dumps(data)}", ""])
    (item,) = list(_events(lines, threading.Event(), None))
    assert item == InboxItem.from_json(data) and item.cursor == 7


def _previous_version_state(path: Path, items: list[dict[str, Any]]) -> None:
    """A state file as the version before the typed item wrote it: same schema, the item's
    JSON in its column (``json.dumps`` of the platform's object), files and receipts set."""
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(SCHEMA)
    for n, item in enumerate(items):
        db.execute(
            "INSERT INTO items(id, cursor, item, status, files, receipt_sent, updated_at) "
            "VALUES(?, ?, ?, ?, ?, ?, ?)",
            (
                item["id"],
                int(item["cursor"]),
                json.dumps(item),
                "exported" if n == 0 else "failed",
                json.dumps(["/srv/export/a.pdf"]) if n == 0 else None,
                1 if n == 0 else 0,
                1.0,
            ),
        )
    db.execute("INSERT INTO meta(key, value) VALUES('cursor', ?)", (str(len(items) + 10),))
    db.close()


def test_a_state_file_of_the_previous_version_is_read(tmp_path: Path) -> None:
    """A practice server upgraded mid-month keeps what it had: exported documents stay
    exported, failures stay to retry, the cursor stays, the items read as typed."""
    pdf = make_pdf(tmp_path / "doc.pdf")
    old = first_platform_item()
    newer = make_item(pdf)
    path = tmp_path / "state.db"
    _previous_version_state(path, [old, newer])
    state = LocalState(path)
    first, second = state.all()
    assert state.cursor == 12
    assert (first.status, first.files, first.receipt_sent) == (
        "exported",
        ["/srv/export/a.pdf"],
        True,
    )
    assert first.item == InboxItem.from_json(old) and first.item.patient.ins is None
    assert second.status == "failed" and second.item.recipient is not None
    assert [st.id for st in state.due()] == [second.id]
    state.close()


def test_a_state_file_written_now_is_what_the_previous_version_reads(tmp_path: Path) -> None:
    """The previous version reads the item column with ``json.loads`` and indexes the
    platform's object: the column holds exactly that object, unknown fields included."""
    data = first_platform_item(priority="urgent")
    path = tmp_path / "state.db"
    state = LocalState(path)
    assert state.record(InboxItem.from_json(data))
    assert not state.record(InboxItem.from_json(data))  # known: not recorded twice
    state.close()
    db = sqlite3.connect(path)
    ((column,),) = db.execute("SELECT item FROM items").fetchall()
    db.close()
    assert column == json.dumps(data)
    stored = json.loads(column)
    assert stored == data and stored["document"]["sha256"] == "ab" * 32

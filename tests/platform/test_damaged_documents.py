"""A damaged stored document is refused with a clear error before any byte is sent, and the
integrity failure is audited (kept although the request fails) — on every content route."""

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from sisra.platform.models import AuditEvent, Document
from sisra.platform.storage.crypto import STORED_SEGMENT
from support.documents import share_request as share
from support.web import web_session


def _blob(settings: Any, db: Any, doc_id: str) -> Path:
    with db() as session:
        doc = session.get(Document, uuid.UUID(doc_id))
        return Path(settings.effective_blob_dir).joinpath(*doc.blob_key.split("/"))


def _flip_last_segment(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-20] ^= 0x01  # in the last segment: the first ones still authenticate
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: 2 * STORED_SEGMENT + 100])


def _remove(path: Path) -> None:
    path.unlink()


DAMAGES: dict[str, Callable[[Path], None]] = {
    "tampered": _flip_last_segment,
    "truncated": _truncate,
    "missing": _remove,
}


@pytest.fixture
def shared(app_client: Any, make_pro: Any, make_patient: Any, pdf: Any) -> dict[str, Any]:
    author, rec = make_pro(), make_pro()
    data = pdf("Scanner", pages=2, padding=300_000)  # several 64 KiB segments
    r = share(app_client, author, make_patient(), [rec], data)
    assert r.status_code == 201, r.text
    return {
        "author": author,
        "rec": rec,
        "data": data,
        "doc_id": r.json()["document"]["id"],
        "note_id": r.json()["notifications"][0],
    }


def _integrity_rows(db: Any, doc_id: str) -> list[AuditEvent]:
    with db() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "document.integrity_failure",
                    AuditEvent.document_id == uuid.UUID(doc_id),
                )
            )
        )


def _downloads(db: Any, doc_id: str) -> int:
    with db() as session:
        return len(
            session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "document.download",
                    AuditEvent.document_id == uuid.UUID(doc_id),
                )
            ).all()
        )


def _assert_refused(response: Any) -> None:
    assert response.status_code == 503, response.status_code
    body = response.json()
    assert body["code"] == "document_damaged"
    assert "endommagé" in body["message"]
    assert b"%PDF" not in response.content


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_blob_is_refused_before_the_first_byte_and_audited(
    damage, app_client, shared, settings, db
):
    DAMAGES[damage](_blob(settings, db, shared["doc_id"]))
    rec = shared["rec"]
    _assert_refused(
        app_client.get(f"/api/v1/inbox/{shared['note_id']}/content", headers=rec.headers)
    )
    _assert_refused(
        app_client.get(f"/api/v1/documents/{shared['doc_id']}/content", headers=rec.headers)
    )
    rows = _integrity_rows(db, shared["doc_id"])
    assert len(rows) == 2 and {r.outcome for r in rows} == {"error"}
    expected = "missing" if damage == "missing" else "integrity"
    assert {r.details["reason"] for r in rows} == {expected}
    assert {r.actor_id for r in rows} == {rec.id}
    assert _downloads(db, shared["doc_id"]) == 0  # nothing was delivered


def test_a_range_is_verified_before_it_is_sent(app_client, shared, settings, db):
    _flip_last_segment(_blob(settings, db, shared["doc_id"]))
    url = f"/api/v1/inbox/{shared['note_id']}/content"
    headers = shared["rec"].headers
    size = len(shared["data"])
    # the intact head of the document can still be resumed...
    head = app_client.get(url, headers={**headers, "Range": "bytes=0-1000"})
    assert head.status_code == 206 and head.content == shared["data"][:1001]
    # ...a range reaching the damaged segment is refused before its headers
    _assert_refused(app_client.get(url, headers={**headers, "Range": f"bytes={size - 5000}-"}))


def test_a_data_key_that_does_not_match_is_refused(
    app_client, make_pro, make_patient, pdf, shared, db
):
    other = share(app_client, shared["author"], make_patient(), [shared["rec"]], pdf("Autre"))
    other_id = uuid.UUID(other.json()["document"]["id"])
    with db() as session:
        wrapped = session.get(Document, other_id).wrapped_key
        session.execute(
            update(Document)
            .where(Document.id == uuid.UUID(shared["doc_id"]))
            .values(wrapped_key=wrapped)
        )
    r = app_client.get(
        f"/api/v1/documents/{shared['doc_id']}/content", headers=shared["rec"].headers
    )
    _assert_refused(r)
    assert [row.details["reason"] for row in _integrity_rows(db, shared["doc_id"])] == ["integrity"]


def test_the_web_pages_say_it_too(app_client, shared, settings, db):
    _flip_last_segment(_blob(settings, db, shared["doc_id"]))
    web_session(app_client, shared["rec"], "/accueil")
    for url in (
        f"/web/documents-recus/{shared['note_id']}/pdf",
        f"/web/documents/{shared['doc_id']}/pdf",
    ):
        page = app_client.get(url)
        assert page.status_code == 503
        assert page.headers["content-type"].startswith("text/html")
        assert "Document endommagé" in page.text and "%PDF" not in page.text
    preview = app_client.get(f"/web/documents/{shared['doc_id']}/apercu.png")
    _assert_refused(preview)
    assert len(_integrity_rows(db, shared["doc_id"])) == 3
    # opening a damaged document did not mark it read for the sender
    item = app_client.get(
        f"/api/v1/inbox/{shared['note_id']}", headers=shared["rec"].headers
    ).json()
    assert item["read_at"] is None


def test_a_failure_while_streaming_cuts_the_body_and_is_audited(
    live_server, make_pro, make_patient, pdf, settings, db, monkeypatch
):
    """Ranges above ``VERIFY_BEFORE_SENDING`` are streamed with only their first segment
    checked: a later bad segment must never look like a complete download."""
    import httpx

    from sisra.platform.documents import content

    monkeypatch.setattr(content, "VERIFY_BEFORE_SENDING", 0)
    author, rec = make_pro(), make_pro()
    data = pdf("Scanner", pages=2, padding=300_000)
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        r = share(client, author, make_patient(), [rec], data)
        assert r.status_code == 201, r.text
        doc_id, note_id = r.json()["document"]["id"], r.json()["notifications"][0]
        _flip_last_segment(_blob(settings, db, doc_id))
        received = b""
        with (
            pytest.raises(httpx.RemoteProtocolError),
            client.stream("GET", f"/api/v1/inbox/{note_id}/content", headers=rec.headers) as resp,
        ):
            assert resp.headers["content-length"] == str(len(data))
            for chunk in resp.iter_bytes():
                received += chunk
    assert len(received) < len(data)
    rows = _integrity_rows(db, doc_id)
    assert [(r.details["reason"], r.details["during"]) for r in rows] == [
        ("integrity", "while_sending")
    ]

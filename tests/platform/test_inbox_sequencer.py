"""Inbox cursors are given by the sequencer, under its own lock (decisions 66, 67, 194).

A share inserts its notifications without a cursor; the sequencer numbers them, and any
committed row still without one, just before the share commits, under a lock held through
that commit. These tests check that a notification committed
late is never skipped by a client listing ``after=cursor``, that a row left unnumbered (its
request died after commit) is numbered by the server's catch-up, and, on PostgreSQL, that
concurrent shares no longer wait on the inbox counter row.
"""

import threading
import time
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from sisra.platform import counters
from sisra.platform.app import create_app
from sisra.platform.inbox import sequencer
from sisra.platform.models import Notification
from support.documents import share_request
from support.servers import RunningServer
from support.waiting import wait_until


def _inbox(client, who, after: int = 0) -> dict:
    r = client.get(f"/api/v1/inbox?after={after}", headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_share_committed_late_is_listed_after_a_later_cursor(
    settings, make_pro, make_patient, pdf
):
    """A inserts and waits, B shares and commits, then A commits: A still comes after B."""
    author, rec = make_pro(), make_pro()
    patient = make_patient()
    # No lifespan (no ``with``): no catch-up thread, only the requests number their rows.
    client = TestClient(create_app(settings))
    engine = client.app.state.engine
    try:
        first = share_request(client, author, patient, [rec], pdf())
        assert first.status_code == 201, first.text
        seen = _inbox(client, rec)
        assert len(seen["items"]) == 1
        doc_id = uuid.UUID(first.json()["document"]["id"])

        late = Session(engine)
        note = Notification(document_id=doc_id, recipient_id=rec.id, sender_id=author.id)
        late.add(note)
        late.flush()  # A: inserted, not committed
        note_id = str(note.id)
        postgres = engine.dialect.name == "postgresql"
        if not postgres:
            # SQLite has a single writer: B could not write before A commits. A commits now
            # but its request has not numbered it yet; B's sequencer run numbers both.
            late.commit()
        b = share_request(client, author, patient, [rec], pdf(), title="Compte rendu B")
        assert b.status_code == 201, b.text
        page = _inbox(client, rec, seen["next_cursor"])
        b_item = next(i for i in page["items"] if i["document"]["id"] == b.json()["document"]["id"])
        if postgres:
            # A is not committed: B is listed alone, with the next cursor
            assert [i["id"] for i in page["items"]] == [b_item["id"]]
            assert client.get(f"/api/v1/inbox/{note_id}", headers=rec.headers).status_code == 404
            late.commit()  # A commits after B was listed…
            assert _inbox(client, rec, b_item["cursor"])["items"] == []  # …and waits for a cursor
            sequencer.publish(engine)  # the catch-up's run (A is a bare transaction)
            after_b = _inbox(client, rec, b_item["cursor"])["items"]
            assert [i["id"] for i in after_b] == [note_id]
            assert after_b[0]["cursor"] > b_item["cursor"]
        else:
            assert {i["id"] for i in page["items"]} == {note_id, b_item["id"]}
        late.close()
        cursors = [i["cursor"] for i in _inbox(client, rec)["items"]]
        assert cursors == sorted(cursors) and len(set(cursors)) == 3
    finally:
        engine.dispose()


def test_a_notification_left_without_cursor_is_numbered_by_the_server(
    app_client, make_pro, make_patient, pdf
):
    """The request died between its commit and the sequencer: the catch-up thread numbers it."""
    author, rec = make_pro(), make_pro()
    first = share_request(app_client, author, make_patient(), [rec], pdf())
    assert first.status_code == 201, first.text
    cursor = _inbox(app_client, rec)["next_cursor"]
    with Session(app_client.app.state.engine) as s:
        note = Notification(
            document_id=uuid.UUID(first.json()["document"]["id"]),
            recipient_id=rec.id,
            sender_id=author.id,
        )
        s.add(note)
        s.commit()
        note_id = str(note.id)

    def listed() -> bool:
        return [i["id"] for i in _inbox(app_client, rec, cursor)["items"]] == [note_id]

    wait_until(listed)


def test_publish_numbers_pending_rows_in_one_gap_free_run(
    db, make_pro, make_patient, pdf, app_client
):
    author, rec = make_pro(), make_pro()
    r = share_request(app_client, author, make_patient(), [rec], pdf())
    assert r.status_code == 201, r.text
    engine = app_client.app.state.engine
    with Session(engine) as s:
        s.add_all(
            Notification(
                document_id=uuid.UUID(r.json()["document"]["id"]),
                recipient_id=rec.id,
                sender_id=author.id,
            )
            for _ in range(3)
        )
        s.commit()
    sequencer.publish(engine)  # the catch-up thread may have numbered some: nothing is left
    assert sequencer.publish(engine) == 0
    with db() as s:
        seqs = list(s.scalars(select(Notification.seq).order_by(Notification.seq)))
    assert seqs == [1, 2, 3, 4]


def test_concurrent_shares_do_not_wait_on_the_inbox_counter(
    settings, database_url, make_pro, make_patient, pdf, db
):
    """PostgreSQL: sample pg_stat_activity during concurrent shares; nobody waits on counters."""
    if not database_url.startswith("postgresql"):
        pytest.skip("lock waits are observed on PostgreSQL (SQLite has one writer by design)")
    running = RunningServer(settings)
    senders = [make_pro() for _ in range(6)]
    recipients = [make_pro() for _ in range(2)]
    patient = make_patient()
    data = pdf()
    errors: list[str] = []
    waits: list[tuple[str, str, str]] = []
    done = threading.Event()

    def sample() -> None:
        probe = create_engine(database_url)
        try:
            with probe.connect() as conn:
                while not done.is_set():
                    rows = conn.execute(
                        text(
                            "SELECT wait_event_type, wait_event, query FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                            "AND wait_event_type = 'Lock'"
                        )
                    ).all()
                    waits.extend((r[0], r[1], r[2]) for r in rows)
                    conn.rollback()
                    time.sleep(0.005)
        finally:
            probe.dispose()

    def worker(sender) -> None:
        with httpx.Client(base_url=running.url, timeout=60) as client:
            for _ in range(6):
                r = share_request(client, sender, patient, recipients, data)
                if r.status_code != 201:
                    errors.append(r.text)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        threads = [threading.Thread(target=worker, args=(s,)) for s in senders]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
    finally:
        done.set()
        sampler.join(30)
        running.stop()
    assert errors == []
    assert [w for w in waits if "counters" in w[2].lower()] == []
    with db() as s:
        seqs = list(s.scalars(select(Notification.seq).order_by(Notification.seq)))
        per_recipient = {
            rec.id: list(
                s.scalars(select(Notification.seq).where(Notification.recipient_id == rec.id))
            )
            for rec in recipients
        }
    # 36 shares × 2 recipients, numbered 1..72 with no gap and no empty cursor
    assert seqs == list(range(1, 73))
    for got in per_recipient.values():
        assert len(got) == 36 and None not in got


def test_inbox_json_is_exactly_its_documented_model(app_client, make_pro, make_patient, pdf):
    """Inbox answers are serialised once, without the model: they must still match it."""
    from sisra.platform.documents.schemas import ShareResult
    from sisra.platform.inbox.schemas import InboxItem, InboxPage

    author, rec = make_pro(), make_pro()
    r = share_request(app_client, author, make_patient(), [rec], pdf(), restricted=True)
    assert r.status_code == 201, r.text
    assert ShareResult.model_validate(r.json()).model_dump(mode="json") == r.json()
    page = _inbox(app_client, rec)
    assert InboxPage.model_validate(page).model_dump(mode="json") == page
    item = page["items"][0]
    assert item["document"]["restricted"] is True and item["platform"]["name"]
    assert item["recipient"]["id"] == str(rec.id) and item["sender"]["id"] == str(author.id)
    got = app_client.get(f"/api/v1/inbox/{item['id']}", headers=rec.headers).json()
    assert got == item
    receipt = app_client.post(
        f"/api/v1/inbox/{item['id']}/receipts", json={"kind": "read"}, headers=rec.headers
    ).json()
    assert InboxItem.model_validate(receipt).model_dump(mode="json") == receipt
    assert receipt["delivered_at"] and receipt["read_at"]
    assert {k: v for k, v in receipt.items() if not k.endswith("_at")} == {
        k: v for k, v in item.items() if not k.endswith("_at")
    }


def test_a_stream_never_skips_an_item_whose_event_comes_late(
    live_server, make_pro, make_patient, pdf
):
    """Two fan-outs arrive out of cursor order: the stream still sends both, in order."""
    from support.events import Listener

    author, rec = make_pro(), make_pro()
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        first = share_request(client, author, make_patient(), [rec], pdf())
    assert first.status_code == 201, first.text
    listener = Listener(live_server.url, rec.headers)
    try:
        assert listener.next()[2]["document"]["id"] == first.json()["document"]["id"]
        engine = live_server.app.state.engine
        with Session(engine) as s:  # two items numbered and committed (their fan-outs pending)
            last, _ = counters.take(s, "inbox", 2)
            doc_id = uuid.UUID(first.json()["document"]["id"])
            for seq in (last - 1, last):
                s.add(
                    Notification(
                        seq=seq, document_id=doc_id, recipient_id=rec.id, sender_id=author.id
                    )
                )
            s.commit()
        with httpx.Client(base_url=live_server.url) as client:
            later = _inbox(client, rec, last - 2)["items"]
        assert [i["cursor"] for i in later] == [last - 1, last]
        live_server.app.state.hub.deliver(rec.id, later[1])  # the later fan-out comes first
        assert [listener.next()[0], listener.next()[0]] == [last - 1, last]
    finally:
        listener.close()

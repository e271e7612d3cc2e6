"""The SQL statements a document's cycle costs once the caller is known (decisions 188–190, 196):
no authentication query for a remembered token, no access query for an inbox download (the
caller's own notification is in hand), and still an audit row for every read and receipt."""

import threading
import uuid
from typing import Any

from sqlalchemy import event, func, select

from sisra.platform.models import AuditEvent, Notification
from support.documents import share_request as share


def _request_statements(engine: Any) -> list[str]:
    """Statements run by the requests (the thread pool), not by the background threads."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "AnyIO worker" in threading.current_thread().name:
            seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", count)
    return seen


def test_list_download_receipt_statements(app_client, make_pro, make_patient, pdf, db):
    author, rec = make_pro(), make_pro()
    assert share(app_client, author, make_patient(), [rec], pdf("Bilan")).status_code == 201
    # the token is remembered from here on
    page = app_client.get("/api/v1/inbox", headers=rec.headers).json()
    note = page["items"][0]["id"]
    seen = _request_statements(app_client.app.state.engine)

    assert app_client.get("/api/v1/inbox", headers=rec.headers).status_code == 200
    assert not any("access_tokens" in s for s in seen)
    # a short page: one statement with its people (decision 203), the audit row
    assert [s.split()[0] for s in seen] == ["SELECT", "INSERT"]
    seen.clear()

    r = app_client.get(f"/api/v1/inbox/{note}/content", headers=rec.headers)
    assert r.status_code == 200
    assert not any("EXISTS" in s.upper() for s in seen)
    assert not any("access_tokens" in s for s in seen)
    # the notification and its document in one statement, then the audit row (decision 196)
    assert len(seen) == 2 and seen[-1].startswith("INSERT INTO audit_events")
    seen.clear()

    r = app_client.post(
        f"/api/v1/inbox/{note}/receipts", headers=rec.headers, json={"kind": "downloaded"}
    )
    assert r.status_code == 200 and r.json()["delivered_at"]
    assert not any("access_tokens" in s for s in seen)
    assert seen[-1].startswith("INSERT INTO audit_events")
    # one UPDATE of the caller's own notification, no ORM load and flush (decision 196)
    assert [s.split()[0] for s in seen] == ["UPDATE", "SELECT", "INSERT"]

    with db() as s:
        actions = s.scalars(
            select(AuditEvent.action).where(AuditEvent.actor_id == rec.id).order_by(AuditEvent.seq)
        ).all()
        assert actions[-3:] == ["inbox.list", "document.download", "inbox.receipt.downloaded"]
        assert s.scalar(select(func.count()).select_from(AuditEvent)) >= 5


def test_an_outsider_download_is_still_refused_and_audited(
    app_client, make_pro, make_patient, pdf, db
):
    author, rec, outsider = make_pro(), make_pro(), make_pro()
    assert share(app_client, author, make_patient(), [rec], pdf("Bilan")).status_code == 201
    note = app_client.get("/api/v1/inbox", headers=rec.headers).json()["items"][0]["id"]
    r = app_client.get(f"/api/v1/inbox/{note}/content", headers=outsider.headers)
    assert r.status_code == 404
    r = app_client.post(
        f"/api/v1/inbox/{note}/receipts", headers=outsider.headers, json={"kind": "read"}
    )
    assert r.status_code == 404
    after = app_client.get("/api/v1/inbox", headers=rec.headers).json()["items"][0]
    assert after["delivered_at"] is None and after["read_at"] is None
    with db() as s:
        refused = s.scalars(
            select(AuditEvent.outcome).where(
                AuditEvent.actor_id == outsider.id, AuditEvent.action == "inbox.read"
            )
        ).all()
        assert refused == ["refused", "refused"]


def test_a_share_numbers_its_notifications_in_its_own_transaction(
    app_client, make_pro, make_patient, pdf, db
):
    """One connection and one commit per share, which numbers its notifications (and, on
    PostgreSQL, sends the events' ``NOTIFY``) before it answers (decision 194)."""
    author, rec, rec2 = make_pro(), make_pro(), make_pro()
    patient = make_patient()
    assert share(app_client, author, patient, [rec], pdf()).status_code == 201  # token known
    engine = app_client.app.state.engine
    seen = _request_statements(engine)
    checkouts: list[str] = []
    commits: list[str] = []

    def on_worker(into: list[str]) -> Any:
        def record(*_args: Any) -> None:
            if "AnyIO worker" in threading.current_thread().name:
                into.append(threading.current_thread().name)

        return record

    event.listen(engine.pool, "checkout", on_worker(checkouts))
    event.listen(engine, "commit", on_worker(commits))

    r = share(app_client, author, patient, [rec, rec2], pdf("Bilan"))
    assert r.status_code == 201, r.text
    assert len(checkouts) == 1 and len(commits) == 1
    assert sum(s.startswith("UPDATE counters") for s in seen) == 1
    if engine.dialect.name == "postgresql":
        assert sum("pg_notify" in s for s in seen) == 2
    ids = [uuid.UUID(n) for n in r.json()["notifications"]]
    with db() as s:
        seqs = s.scalars(select(Notification.seq).where(Notification.id.in_(ids))).all()
    assert sorted(seqs) == [2, 3]

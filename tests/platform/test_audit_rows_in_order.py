"""The tests' sessions read audit rows in the trail's order (tests/fixtures/database.py).

On PostgreSQL an unordered select returns rows where they lie in the table, and the sealer's
update of a committed row puts its new version after later rows: tests that compare audit
rows in order passed or failed with the sealer's timing."""

from datetime import UTC, datetime

from sqlalchemy import select, update

from sisra.platform.models import AuditEvent


def test_an_unordered_select_of_audit_rows_follows_the_trail(db) -> None:
    with db() as s:
        s.add(AuditEvent(at=datetime.now(UTC), action="test.order", details={"n": 1}))
        s.flush()
        s.add(AuditEvent(at=datetime.now(UTC), action="test.order", details={"n": 2}))
    with db() as s:  # as the sealer does to a committed row
        first = s.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).first()
        s.execute(update(AuditEvent).where(AuditEvent.seq == first).values(chain_hash="x" * 64))
    with db() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.action == "test.order")).all()
        assert [r.details["n"] for r in rows] == [1, 2]

"""Migration 0006 on a database that already holds an audit trail of the plain-hash era."""

import hashlib
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from sisra.platform.audit.keys import AuditKey
from sisra.platform.audit.sealer import Sealer
from sisra.platform.audit.verify import verify
from sisra.platform.db import make_engine, make_session_factory
from sisra.platform.migrate import downgrade, upgrade
from sisra.platform.models import AuditEvent
from sisra.platform.models.base import UTCDateTime

OLD = sa.table(
    "audit_events",
    sa.column("seq", sa.BigInteger()),
    sa.column("at", UTCDateTime()),
    sa.column("actor_id", sa.Uuid()),
    sa.column("actor_label", sa.String()),
    sa.column("action", sa.String()),
    sa.column("outcome", sa.String()),
    sa.column("patient_id", sa.Uuid()),
    sa.column("document_id", sa.Uuid()),
    sa.column("ip", sa.String()),
    sa.column("user_agent", sa.String()),
    sa.column("details", sa.JSON()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)


def _old_hash(row: dict, prev: str) -> str:
    """``audit.service.row_hash`` before revision 0006."""
    payload = [
        row["seq"],
        row["at"].isoformat(timespec="microseconds"),
        str(row["actor_id"]) if row["actor_id"] else None,
        row["actor_label"],
        row["action"],
        row["outcome"],
        str(row["patient_id"]) if row["patient_id"] else None,
        str(row["document_id"]) if row["document_id"] else None,
        row["ip"],
        row["user_agent"],
        row["details"],
        prev,
    ]
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


@pytest.fixture
def old_url(scratch_url):
    """A database of its own, migrated up to 0005 (before the sealed trail)."""
    upgrade(scratch_url, "0005")
    return scratch_url


def _fill_old_trail(url: str, n: int = 5) -> list[dict]:
    start = datetime.now(UTC) - timedelta(days=3)
    rows, prev = [], "0" * 64
    for i in range(1, n + 1):
        row = {
            "seq": i,
            "at": start + timedelta(minutes=i),
            "actor_id": uuid.uuid4(),
            "actor_label": f"Dr Martin{i}",
            "action": "record.break_glass" if i == 3 else "record.read",
            "outcome": "emergency" if i == 3 else "ok",
            "patient_id": uuid.uuid4(),
            "document_id": None,
            "ip": "10.0.0.1",
            "user_agent": "MonSisra",
            "details": {"reason": "Patient inconscient"} if i == 3 else {},
        }
        row["prev_hash"], row["hash"] = prev, _old_hash(row, prev)
        prev = row["hash"]
        rows.append(row)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(OLD.insert(), rows)
        conn.execute(
            sa.text("UPDATE counters SET value = :n, last_hash = :h WHERE name = 'audit'"),
            {"n": n, "h": prev},
        )
    engine.dispose()
    return rows


@pytest.mark.parametrize("tampered", [False, True])
def test_old_rows_are_sealed_in_their_chain_order(old_url, tmp_path, tampered):
    rows = _fill_old_trail(old_url)
    if tampered:  # rewritten before the upgrade: the migration's verdict says so
        engine = sa.create_engine(old_url)
        with engine.begin() as conn:
            conn.execute(OLD.update().where(OLD.c.seq == 3).values(action="record.read"))
        engine.dispose()
    upgrade(old_url, "head")

    engine = make_engine(old_url)
    factory = make_session_factory(engine)
    try:
        with factory() as s:
            assert s.scalar(sa.select(sa.func.count()).where(AuditEvent.seal_seq.is_not(None))) == 0
            marker = s.scalars(
                sa.select(AuditEvent).where(AuditEvent.action == "audit.migration")
            ).one()
            assert marker.seq == 6
            assert marker.details["legacy_rows"] == 5
            assert marker.details["legacy_head"] == rows[-1]["hash"]
            expected = "rompue : ligne n° 3 modifiée" if tampered else "intègre"
            assert marker.details["legacy_chain"] == expected
            counters = s.execute(sa.text("SELECT name FROM counters")).scalars().all()
            assert "audit" not in counters and "inbox" in counters

        sealer = Sealer(factory, AuditKey.from_secret(secrets.token_bytes(32)), tmp_path / "cp")
        assert sealer.seal() == 6
        with factory() as s, s.begin():
            sealed = s.execute(
                sa.select(AuditEvent.seq, AuditEvent.seal_seq).order_by(AuditEvent.seal_seq)
            ).all()
            assert [tuple(r) for r in sealed] == [(i, i) for i in range(1, 7)]
            # new rows are numbered after the old ones, by the database
            s.add(AuditEvent(at=datetime.now(UTC), action="test.after", details={}))
            s.flush()
            assert s.scalar(sa.select(sa.func.max(AuditEvent.seq))) == 7
        assert sealer.seal() == 1
        report = verify(factory, sealer.key, sealer.checkpoint_dir)
        assert report.ok and report.rows == 7
    finally:
        engine.dispose()

    # and back: the plain chain is recomputed over the same rows
    downgrade(old_url, "0005")
    engine = sa.create_engine(old_url)
    with engine.connect() as conn:
        back = [dict(r._mapping) for r in conn.execute(sa.select(OLD).order_by(OLD.c.seq))]
        counter = conn.execute(
            sa.text("SELECT value, last_hash FROM counters WHERE name = 'audit'")
        ).one()
    engine.dispose()
    prev = "0" * 64
    for row in back:
        assert row["prev_hash"] == prev and row["hash"] == _old_hash(row, prev)
        prev = row["hash"]
    assert tuple(counter) == (7, prev)

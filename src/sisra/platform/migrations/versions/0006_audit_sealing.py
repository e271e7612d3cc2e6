"""Audit trail: keyed chain sealed in batches, signed checkpoints

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 00:50:00

``audit_events.seq`` becomes database-generated (a sequence on PostgreSQL, ``INTEGER PRIMARY
KEY AUTOINCREMENT`` on SQLite: numbers are never reused), so requests insert their rows
without taking the ``audit`` counter's lock. ``seal_seq`` and ``chain_hash`` (the keyed chain,
filled by the sealer) replace ``prev_hash`` and ``hash`` (the plain SHA-256 chain). The
``audit`` counter row goes.

Existing rows are left unsealed: the sealer seals them on its first run in ``seq`` order,
which is the order of the old chain. Before the old hashes are dropped the old chain is
checked one last time and the result is written as an ``audit.migration`` row (row count,
last hash, intact or where it breaks), which the first sealing binds into the keyed chain.
"""

import hashlib
import json
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from sisra.platform.models.base import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64


def _events(*extra: sa.ColumnClause[Any]) -> sa.TableClause:
    return sa.table(
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
        *extra,
    )


def _uuid(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


def _legacy_hash(row: Any, prev: str) -> str:
    """The plain chain of revisions 0001–0005 (``audit.service.row_hash`` back then)."""
    payload = [
        row.seq,
        row.at.isoformat(timespec="microseconds"),
        _uuid(row.actor_id),
        row.actor_label,
        row.action,
        row.outcome,
        _uuid(row.patient_id),
        _uuid(row.document_id),
        row.ip,
        row.user_agent,
        row.details,
        prev,
    ]
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _rows(conn: sa.Connection, table: sa.TableClause, batch: int = 5000) -> Iterator[Any]:
    last = 0
    while True:
        rows = conn.execute(
            sa.select(table).where(table.c.seq > last).order_by(table.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def _check_legacy_chain(conn: sa.Connection) -> dict[str, object] | None:
    """The old chain's last verdict, or ``None`` when there is no row."""
    table = _events(sa.column("prev_hash", sa.String()), sa.column("hash", sa.String()))
    prev, count, broken = GENESIS, 0, None
    for row in _rows(conn, table):
        count += 1
        if broken is None:
            if row.seq != count:
                broken = f"ligne manquante avant le n° {row.seq}"
            elif row.prev_hash != prev or _legacy_hash(row, prev) != row.hash:
                broken = f"ligne n° {row.seq} modifiée"
        prev = row.hash
    if not count:
        return None
    head = conn.execute(
        sa.text("SELECT value, last_hash FROM counters WHERE name = 'audit'")
    ).first()
    if broken is None and head is not None and (head[0] != count or head[1] != prev):
        broken = "dernières lignes supprimées"
    return {
        "legacy_rows": count,
        "legacy_head": prev,
        "legacy_chain": "intègre" if broken is None else f"rompue : {broken}",
    }


def upgrade() -> None:
    conn = op.get_bind()
    verdict = _check_legacy_chain(conn)
    postgres = conn.dialect.name == "postgresql"
    with op.batch_alter_table(
        "audit_events", recreate="auto", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        if not postgres:
            batch_op.alter_column(
                "seq", existing_type=sa.BigInteger(), type_=sa.Integer(), autoincrement=True
            )
        batch_op.add_column(sa.Column("seal_seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_audit_events_seal_seq"), ["seal_seq"])
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("hash")
    if postgres:
        op.execute("CREATE SEQUENCE audit_events_seq_seq OWNED BY audit_events.seq")
        op.execute(
            "ALTER TABLE audit_events ALTER COLUMN seq SET DEFAULT nextval('audit_events_seq_seq')"
        )
        op.execute(
            "SELECT setval('audit_events_seq_seq', COALESCE((SELECT max(seq) FROM audit_events), "
            "0) + 1, false)"
        )
    op.execute("DELETE FROM counters WHERE name = 'audit'")
    if verdict is not None:
        conn.execute(
            _events()
            .insert()
            .values(
                at=datetime.now(UTC),
                actor_id=None,
                actor_label=None,
                action="audit.migration",
                outcome="ok",
                patient_id=None,
                document_id=None,
                ip=None,
                user_agent=None,
                details=verdict,
            )
        )


def downgrade() -> None:
    """Back to the plain chain, recomputed over the rows in ``seq`` order.

    Numbers the database skipped (rolled-back inserts) show to the old verifier as missing
    rows: the old scheme required 1, 2, 3…
    """
    conn = op.get_bind()
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE audit_events ALTER COLUMN seq DROP DEFAULT")
        op.execute("DROP SEQUENCE IF EXISTS audit_events_seq_seq")
    with op.batch_alter_table("audit_events", recreate="auto") as batch_op:
        batch_op.add_column(
            sa.Column("prev_hash", sa.String(64), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("hash", sa.String(64), nullable=False, server_default=""))
        batch_op.drop_constraint(batch_op.f("uq_audit_events_seal_seq"), type_="unique")
        batch_op.drop_column("chain_hash")
        batch_op.drop_column("seal_seq")
        if not postgres:
            batch_op.alter_column(
                "seq", existing_type=sa.Integer(), type_=sa.BigInteger(), autoincrement=False
            )
    table = _events(sa.column("prev_hash", sa.String()), sa.column("hash", sa.String()))
    prev, count = GENESIS, 0
    for row in list(_rows(conn, table)):
        value = _legacy_hash(row, prev)
        conn.execute(
            table.update().where(table.c.seq == row.seq).values(prev_hash=prev, hash=value)
        )
        prev, count = value, count + 1
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.alter_column("prev_hash", server_default=None)
        batch_op.alter_column("hash", server_default=None)
    op.execute(
        sa.text(
            "INSERT INTO counters (name, value, last_hash) VALUES ('audit', :n, :h)"
        ).bindparams(n=count, h=prev)
    )

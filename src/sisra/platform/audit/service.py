"""The audit trail: append-only, hash-chained rows written at the end of each transaction.

``record`` buffers an entry in the session. Right before commit the buffer is written under the
``audit`` counter's row lock, each row hashing its fields plus the previous row's hash.
Entries marked ``keep_on_failure`` are written even when the request fails (refusals,
failed logins), in a fresh transaction.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sisra.platform import counters
from sisra.platform.context import RequestContext
from sisra.platform.db import before_commit, on_failure
from sisra.platform.models import AuditEvent, Counter, utcnow

GENESIS = "0" * 64
_PENDING = "audit_pending"


@dataclass
class _Entry:
    at: datetime
    actor_id: uuid.UUID | None
    actor_label: str | None
    action: str
    outcome: str
    patient_id: uuid.UUID | None
    document_id: uuid.UUID | None
    ip: str | None
    user_agent: str | None
    details: dict[str, Any] = field(default_factory=dict)


def record(
    session: Session,
    ctx: RequestContext,
    action: str,
    *,
    patient_id: uuid.UUID | None = None,
    document_id: uuid.UUID | None = None,
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
    keep_on_failure: bool = False,
) -> None:
    """Audit ``action`` by the context's actor; written when the transaction commits."""
    entry = _Entry(
        at=utcnow(),
        actor_id=ctx.actor.id if ctx.actor else None,
        actor_label=ctx.actor.label if ctx.actor else None,
        action=action,
        outcome=outcome,
        patient_id=patient_id,
        document_id=document_id,
        ip=ctx.ip,
        user_agent=(ctx.user_agent or "")[:300] or None,
        details=details or {},
    )
    _enqueue(session, entry)
    if keep_on_failure:
        on_failure(session, lambda s: _enqueue(s, entry))


def _enqueue(session: Session, entry: _Entry) -> None:
    pending: list[_Entry] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        before_commit(session, _write_pending)
    pending.append(entry)


def _write_pending(session: Session) -> None:
    entries: list[_Entry] = session.info.pop(_PENDING, [])
    if not entries:
        return
    last, prev = counters.take(session, "audit", len(entries))
    seq = last - len(entries) + 1
    for e in entries:
        row = AuditEvent(
            seq=seq,
            at=e.at,
            actor_id=e.actor_id,
            actor_label=e.actor_label,
            action=e.action,
            outcome=e.outcome,
            patient_id=e.patient_id,
            document_id=e.document_id,
            ip=e.ip,
            user_agent=e.user_agent,
            details=e.details,
            prev_hash=prev,
        )
        row.hash = row_hash(row)
        prev = row.hash
        session.add(row)
        seq += 1
    counters.set_hash(session, "audit", prev)
    session.flush()


def _uuid(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


def row_hash(row: AuditEvent) -> str:
    """SHA-256 over a canonical JSON of the row's fields and the previous hash."""
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
        row.prev_hash,
    ]
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    rows: int
    ok: bool
    first_bad_seq: int | None = None
    reason: str | None = None


def verify_chain(session: Session, batch: int = 5000) -> ChainReport:
    """Walk the whole chain in order; report the first row whose link or hash is wrong."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq > last_seq)
            .order_by(AuditEvent.seq)
            .limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            if row.seq != expected_seq:
                return ChainReport(count, False, expected_seq, "ligne manquante")
            if row.prev_hash != prev:
                return ChainReport(count, False, row.seq, "chaînage rompu")
            if row_hash(row) != row.hash:
                return ChainReport(count, False, row.seq, "ligne modifiée")
            prev = row.hash
            expected_seq += 1
            count += 1
            last_seq = row.seq
        session.expunge_all()
    head = session.scalar(select(Counter.last_hash).where(Counter.name == "audit"))
    if counters.current(session, "audit") != count or (count and head != prev):
        return ChainReport(count, False, expected_seq, "dernières lignes supprimées")
    return ChainReport(count, True)

"""The audit trail: append-only rows written at the end of each transaction.

``record`` buffers an entry in the session; right before commit the buffer is inserted, with
no lock: the database numbers the rows (``seq``) and the sealer
(:mod:`sisra.platform.audit.sealer`) chains them with the audit key once committed.
Entries marked ``keep_on_failure`` are written even when the request fails (refusals,
failed logins), in a fresh transaction.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from sisra.platform.context import RequestContext
from sisra.platform.db import before_commit, on_failure
from sisra.platform.models import AuditEvent, utcnow

_PENDING = "audit_pending"
_TABLE: Table = AuditEvent.__table__  # type: ignore[assignment]


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
    # one Core INSERT (an executemany for several): no ORM objects, no unit-of-work flush
    # bookkeeping, nothing fetched back (the row's number is the database's business)
    session.execute(
        insert(_TABLE),
        [
            {
                "at": e.at,
                "actor_id": e.actor_id,
                "actor_label": e.actor_label,
                "action": e.action,
                "outcome": e.outcome,
                "patient_id": e.patient_id,
                "document_id": e.document_id,
                "ip": e.ip,
                "user_agent": e.user_agent,
                "details": e.details,
            }
            for e in entries
        ],
    )

"""The outbox: one row per external recipient of a share, written in the share's transaction.

Rows are claimed one at a time by a conditional ``UPDATE`` (status queued, due, not held by
another sender), so several server processes and machines may run senders on one database
without sending a mail twice; a claim is a lease, so a sender that died lets the row go.
"""

import threading
import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from sisra.platform.audit import service as audit
from sisra.platform.context import RequestContext
from sisra.platform.db import after_commit
from sisra.platform.errors import Invalid
from sisra.platform.models import (
    Document,
    MssanteOutbox,
    Notification,
    OutboxStatus,
    Professional,
    utcnow,
)
from sisra.platform.settings import Settings

CLAIM_LEASE = timedelta(minutes=5)
MAX_BACKOFF_S = 3600.0

# Set after a share that wrote outbox rows commits: the senders of this process wake at once
# (the others find the rows at their next poll).
_wake = threading.Event()


def wake_event() -> threading.Event:
    return _wake


def check_sender(settings: Settings, sender: Professional) -> str:
    """The sender's own MSSanté address; refused when there is none or no relay is set."""
    if not sender.mssante or sender.external:
        raise Invalid(
            "Pour envoyer à un correspondant d'une autre messagerie MSSanté, votre compte doit "
            "avoir une adresse MSSanté sur cette plateforme. Demandez à l'administrateur de la "
            "renseigner dans l'annuaire, ou choisissez des destinataires de la plateforme.",
            code="sender_without_mssante",
        )
    if not settings.mssante_relay_host:
        raise Invalid(
            "L'envoi vers les autres messageries MSSanté n'est pas configuré sur cette "
            "plateforme : choisissez des destinataires de la plateforme ou prévenez "
            "l'administrateur.",
            code="mssante_not_configured",
        )
    return sender.mssante.lower()


def enqueue(
    session: Session,
    ctx: RequestContext,
    doc: Document,
    sender_address: str,
    notes: list[tuple[Notification, Professional]],
) -> list[MssanteOutbox]:
    """One row per external recipient; the senders wake after the commit."""
    domain = sender_address.rpartition("@")[2]
    rows = []
    for note, pro in notes:
        assert pro.mssante is not None
        row_id = uuid.uuid4()
        rows.append(
            MssanteOutbox(
                id=row_id,
                notification_id=note.id,
                document_id=doc.id,
                sender_address=sender_address,
                recipient_address=pro.mssante.lower(),
                # not the envelope id: the recipient sees the Message-ID, and must not be able
                # to forge a DSN about this row (DSNs are matched by ENVID)
                message_id=f"<{uuid.uuid4()}@{domain}>",
                status=OutboxStatus.queued,
                attempts=0,
                next_attempt_at=utcnow(),
            )
        )
    session.add_all(rows)
    session.flush()
    for row in rows:
        audit.record(
            session,
            ctx,
            "mssante.queued",
            patient_id=doc.patient_id,
            document_id=doc.id,
            details={"address": row.recipient_address, "outbox": str(row.id)},
        )
    after_commit(session, _wake.set)
    return rows


def due_ids(session: Session, now: datetime, limit: int = 20) -> list[uuid.UUID]:
    stmt = (
        select(MssanteOutbox.id)
        .where(
            MssanteOutbox.status == OutboxStatus.queued,
            MssanteOutbox.next_attempt_at <= now,
            or_(MssanteOutbox.claimed_until.is_(None), MssanteOutbox.claimed_until < now),
        )
        .order_by(MssanteOutbox.next_attempt_at)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def claim(session: Session, row_id: uuid.UUID, now: datetime) -> bool:
    """Take the row for one attempt (counted now); False when another sender has it."""
    result = session.execute(
        update(MssanteOutbox)
        .where(
            MssanteOutbox.id == row_id,
            MssanteOutbox.status == OutboxStatus.queued,
            MssanteOutbox.next_attempt_at <= now,
            or_(MssanteOutbox.claimed_until.is_(None), MssanteOutbox.claimed_until < now),
        )
        .values(
            claimed_until=now + CLAIM_LEASE,
            attempts=MssanteOutbox.attempts + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def backoff(settings: Settings, attempts: int) -> timedelta:
    seconds = min(settings.mssante_retry_base_s * 2 ** max(0, attempts - 1), MAX_BACKOFF_S)
    return timedelta(seconds=seconds)


def for_document(session: Session, document_id: uuid.UUID) -> dict[uuid.UUID, MssanteOutbox]:
    """The document's outbox rows by notification (for the author's receipts)."""
    rows = session.scalars(select(MssanteOutbox).where(MssanteOutbox.document_id == document_id))
    return {row.notification_id: row for row in rows}

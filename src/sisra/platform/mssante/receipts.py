"""Reports that come back by mail: DSNs (RFC 3464) and MDNs (RFC 8098).

:func:`apply_report` is called by the incoming gateway for every message it receives (and by
the tests). It recognises:

* a delivery status notification — ``multipart/report; report-type=delivery-status``: the
  per-message ``Original-Envelope-Id`` is the outbox row's id (the ``ENVID`` the sender
  gave); each per-recipient block's ``Action`` says ``delivered``/``relayed`` (the delivery
  receipt) or ``failed`` (the row fails with the reason);
* a message disposition notification — ``report-type=disposition-notification``: the
  ``Original-Message-ID`` is the row's ``Message-ID``; a ``displayed`` disposition from the
  recipient's address is the read receipt.

They set what the author already sees on the notification (``delivered_at``, ``read_at``) and
the row's status, audited. Anything else returns False (not a report about our mail).
"""

import email.parser
import re
import uuid
from email.message import EmailMessage, Message
from email.utils import getaddresses

from sqlalchemy import select
from sqlalchemy.orm import Session

from sisra.platform.audit import service as audit
from sisra.platform.models import Document, MssanteOutbox, Notification, OutboxStatus, utcnow
from sisra.platform.mssante.sender import GATEWAY

_ADDRESS = re.compile(r"^\s*(?:rfc822\s*;)?\s*<?([^<>\s;]+@[^<>\s;]+)>?\s*$", re.IGNORECASE)
_DELIVERED = {"delivered", "relayed", "expanded"}


def _blocks(part: Message) -> list[dict[str, str]]:
    """The field blocks of a message/delivery-status or message/disposition-notification
    part, keys lower-cased (the email package parses the first into sub-messages only)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [
            {k.lower(): str(v) for k, v in block.items()}
            for block in payload
            if isinstance(block, Message)
        ]
    raw = part.get_payload(decode=True)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)
    parser = email.parser.HeaderParser()
    return [
        {k.lower(): str(v) for k, v in parser.parsestr(chunk.strip() + "\n").items()}
        for chunk in re.split(r"\r?\n\s*\r?\n", text)
        if chunk.strip()
    ]


def _address(value: str | None) -> str | None:
    if not value:
        return None
    found = _ADDRESS.match(value)
    return found.group(1).lower() if found else None


def _part(message: EmailMessage, content_type: str) -> Message | None:
    for part in message.walk():
        if part.get_content_type() == content_type:
            return part
    return None


def apply_report(session: Session, message: EmailMessage) -> bool:
    """Apply a DSN or an MDN about one of our mails; False when it is not one."""
    if message.get_content_type() != "multipart/report":
        return False
    kind = (message.get_param("report-type") or "").lower()  # type: ignore[union-attr]
    if kind == "delivery-status":
        part = _part(message, "message/delivery-status")
        return part is not None and _apply_dsn(session, _blocks(part))
    if kind == "disposition-notification":
        part = _part(message, "message/disposition-notification")
        return part is not None and _apply_mdn(session, message, _blocks(part))
    return False


def _row_by_envelope(session: Session, envid: str | None) -> MssanteOutbox | None:
    try:
        row_id = uuid.UUID((envid or "").strip())
    except ValueError:
        return None
    return session.get(MssanteOutbox, row_id)


def _apply_dsn(session: Session, blocks: list[dict[str, str]]) -> bool:
    if not blocks:
        return False
    row = _row_by_envelope(session, blocks[0].get("original-envelope-id"))
    if row is None:
        return False
    for block in blocks[1:]:
        recipient = _address(block.get("original-recipient")) or _address(
            block.get("final-recipient")
        )
        if recipient != row.recipient_address:
            continue
        action = block.get("action", "").strip().lower()
        if action in _DELIVERED:
            _delivered(session, row)
            return True
        if action == "failed":
            diagnostic = " ".join(block.get("diagnostic-code", "").split())
            status = block.get("status", "").strip()
            _failed(session, row, diagnostic or status)
            return True
        return True  # delayed: the relay keeps trying, nothing to show yet
    return False


def _note_and_patient(session: Session, row: MssanteOutbox) -> tuple[Notification, uuid.UUID]:
    note = session.get(Notification, row.notification_id)
    doc = session.get(Document, row.document_id)
    assert note is not None and doc is not None
    return note, doc.patient_id


def _delivered(session: Session, row: MssanteOutbox) -> None:
    note, patient_id = _note_and_patient(session, row)
    now = utcnow()
    if note.delivered_at is None:
        note.delivered_at = now
    if row.status in (OutboxStatus.queued, OutboxStatus.sent, OutboxStatus.failed):
        row.status, row.last_error = OutboxStatus.delivered, None
    _audit(session, row, patient_id, "mssante.delivered", {})


def _failed(session: Session, row: MssanteOutbox, diagnostic: str) -> None:
    _note, patient_id = _note_and_patient(session, row)
    row.status = OutboxStatus.failed
    row.last_error = (
        "Le message n'a pas pu être remis au destinataire"
        + (f" : {diagnostic}" if diagnostic else ".")
        + " Vérifiez l'adresse MSSanté puis renvoyez le document."
    )[:500]
    _audit(session, row, patient_id, "mssante.failed", {"reason": row.last_error}, "failed")


def _apply_mdn(session: Session, message: EmailMessage, blocks: list[dict[str, str]]) -> bool:
    fields = {k: v for block in blocks for k, v in block.items()}
    original = (fields.get("original-message-id") or "").strip()
    if not original:
        return False
    row = session.scalar(select(MssanteOutbox).where(MssanteOutbox.message_id == original))
    if row is None:
        return False
    # only the recipient reports on its own reading
    reporter = _address(fields.get("final-recipient")) or _address(fields.get("original-recipient"))
    senders = [a.lower() for _n, a in getaddresses([str(message.get("From", ""))])]
    if row.recipient_address not in {reporter, *senders}:
        _note, patient_id = _note_and_patient(session, row)
        _audit(
            session,
            row,
            patient_id,
            "mssante.report",
            {"reason": "accusé de lecture d'une autre adresse que celle du destinataire"},
            "refused",
        )
        return True
    disposition = (fields.get("disposition") or "").lower()
    note, patient_id = _note_and_patient(session, row)
    if not disposition.rstrip().endswith("displayed"):
        _audit(session, row, patient_id, "mssante.report", {"disposition": disposition})
        return True
    now = utcnow()
    if note.read_at is None:
        note.read_at = now
    if note.delivered_at is None:  # read implies received
        note.delivered_at = now
    row.status, row.last_error = OutboxStatus.read, None
    _audit(session, row, patient_id, "mssante.read", {})
    return True


def _audit(
    session: Session,
    row: MssanteOutbox,
    patient_id: uuid.UUID,
    action: str,
    details: dict[str, str],
    outcome: str = "ok",
) -> None:
    session.flush()
    audit.record(
        session,
        GATEWAY,
        action,
        patient_id=patient_id,
        document_id=row.document_id,
        outcome=outcome,
        details={"address": row.recipient_address, "outbox": str(row.id), **details},
    )

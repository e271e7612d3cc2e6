"""« Documents envoyés »: the documents a professional shared, newest first, each with its
recipients and where each copy stands (waiting, delivered, read; for an MSSanté address:
being sent, sent, failed).

A sender sees what they sent: the same patient traits and titles they typed. The listing is
audited as ``documents.sent_list`` with counts only (the search words may be patient traits).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from sisra.common import clock, doctypes
from sisra.common.text import fold
from sisra.platform.models import Document, Notification, Patient, Professional
from sisra.platform.models.mssante import MssanteOutbox, OutboxStatus

PAGE_SIZE = 50
DateFormat = Callable[[datetime], str]

OUTBOX_LABELS = {
    OutboxStatus.queued: "envoi MSSanté en cours",
    OutboxStatus.sent: "envoyé par MSSanté",
    OutboxStatus.delivered: "remis par MSSanté",
    OutboxStatus.read: "lu (accusé MSSanté)",
    OutboxStatus.failed: "échec de l'envoi MSSanté",
}


@dataclass(frozen=True)
class SentRecipient:
    name: str
    external: bool
    address: str | None
    state: str  # « en attente », « remis le … », « lu le … », MSSanté states
    read: bool


@dataclass(frozen=True)
class SentItem:
    document_id: uuid.UUID
    patient_id: uuid.UUID
    sent_at: datetime
    title: str
    type_label: str
    clinical_date: date | None
    patient_name: str
    patient_birth: date
    recipients: list[SentRecipient]


@dataclass(frozen=True)
class SentPage:
    items: list[SentItem]
    total: int
    page: int
    pages: int


def _state(note: Notification, outbox: MssanteOutbox | None, fmt: DateFormat) -> str:
    if outbox is not None:
        label = OUTBOX_LABELS.get(outbox.status, str(outbox.status))
        if outbox.status == OutboxStatus.sent and outbox.sent_at is not None:
            label += f" le {fmt(outbox.sent_at)}"
        if outbox.status == OutboxStatus.failed and outbox.last_error:
            label += f" : {outbox.last_error}"
        return label
    if note.read_at is not None:
        return f"lu le {fmt(note.read_at)}"
    if note.delivered_at is not None:
        return f"remis le {fmt(note.delivered_at)}"
    if note.deleted_at is not None:
        return "retiré par le destinataire"
    return "en attente"


def list_sent(
    session: Session,
    sender_id: uuid.UUID,
    *,
    q: str = "",
    start: date | None = None,
    end: date | None = None,
    page: int = 1,
    fmt: DateFormat | None = None,
    size: int = PAGE_SIZE,
) -> SentPage:
    """One page of the documents ``sender_id`` shared; ``q`` searches patient names, titles
    and recipients (folded, every word must match); ``start``/``end``: sent from/until these
    days (local, inclusive)."""
    fmt = fmt or datetime.isoformat
    shared = (
        select(Notification.document_id)
        .where(Notification.sender_id == sender_id)
        .group_by(Notification.document_id)
    )
    stmt = (
        select(Document, Patient)
        .join(Patient, Patient.id == Document.patient_id)
        .where(Document.id.in_(shared))
    )
    if start is not None:
        stmt = stmt.where(Document.created_at >= clock.day_start(start))
    if end is not None:
        stmt = stmt.where(Document.created_at < clock.day_start(end + timedelta(days=1)))
    for word in fold(q).split():
        recipient_match = (
            select(Notification.document_id)
            .join(Professional, Professional.id == Notification.recipient_id)
            .where(
                Notification.sender_id == sender_id,
                Professional.search_text.contains(word, autoescape=True),
            )
        )
        stmt = stmt.where(
            or_(
                Patient.birth_name_fold.contains(word, autoescape=True),
                Patient.used_name_fold.contains(word, autoescape=True),
                Patient.first_given_name_fold.contains(word, autoescape=True),
                Document.title_fold.contains(word, autoescape=True),
                Document.id.in_(recipient_match),
            )
        )
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)
    rows = session.execute(
        stmt.order_by(Document.created_at.desc(), Document.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    ids = [doc.id for doc, _patient in rows]
    recipients: dict[uuid.UUID, list[SentRecipient]] = {i: [] for i in ids}
    if ids:
        for note, pro, outbox in session.execute(
            select(Notification, Professional, MssanteOutbox)
            .join(Professional, Professional.id == Notification.recipient_id)
            .outerjoin(MssanteOutbox, MssanteOutbox.notification_id == Notification.id)
            .where(Notification.document_id.in_(ids), Notification.sender_id == sender_id)
            .order_by(Professional.last_name, Professional.first_name)
        ).all():
            external = pro.external
            recipients[note.document_id].append(
                SentRecipient(
                    name=pro.display_name,
                    external=external,
                    address=outbox.recipient_address if outbox is not None else None,
                    state=_state(note, outbox, fmt),
                    read=note.read_at is not None
                    or (outbox is not None and outbox.status == OutboxStatus.read),
                )
            )
    items = []
    for doc, patient in rows:
        kind = doctypes.get(doc.type_code)
        items.append(
            SentItem(
                document_id=doc.id,
                patient_id=patient.id,
                sent_at=doc.created_at,
                title=doc.title,
                type_label=kind.label if kind else doc.type_code,
                clinical_date=doc.clinical_date,
                patient_name=f"{patient.used_name or patient.birth_name} "
                f"{patient.first_given_name}",
                patient_birth=patient.birth_date,
                recipients=recipients[doc.id],
            )
        )
    return SentPage(items, total, page, pages)

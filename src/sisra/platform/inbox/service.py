"""A professional's inbox: their notifications, in server-sequence (cursor) order."""

import uuid
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from sisra.common import doctypes
from sisra.platform.audit import service as audit
from sisra.platform.context import RequestContext
from sisra.platform.errors import NotFound
from sisra.platform.inbox.schemas import InboxItem, InboxPage
from sisra.platform.models import Document, Notification, Patient, Professional, utcnow
from sisra.settings import Settings

MAX_PAGE = 500


def items_for(session: Session, notes: list[Notification]) -> list[dict[str, Any]]:
    """JSON-ready inbox items for notifications, loading related rows in three queries."""
    if not notes:
        return []
    doc_ids = {n.document_id for n in notes}
    docs = {d.id: d for d in session.scalars(select(Document).where(Document.id.in_(doc_ids)))}
    pats = {
        p.id: p
        for p in session.scalars(
            select(Patient).where(Patient.id.in_({d.patient_id for d in docs.values()}))
        )
    }
    pros = {
        p.id: p
        for p in session.scalars(
            select(Professional).where(
                Professional.id.in_({n.sender_id for n in notes} | {n.recipient_id for n in notes})
            )
        )
    }
    out = []
    for n in notes:
        d, s = docs[n.document_id], pros[n.sender_id]
        p = pats[d.patient_id]
        dtype = doctypes.get(d.type_code)
        item = InboxItem(
            id=n.id,
            cursor=n.seq,
            created_at=n.created_at,
            delivered_at=n.delivered_at,
            read_at=n.read_at,
            document={
                "id": d.id,
                "title": d.title,
                "type_code": d.type_code,
                "type_label": dtype.label if dtype else d.type_code,
                "loinc": d.loinc,
                "clinical_date": d.clinical_date,
                "size": d.size,
                "sha256": d.sha256,
                "page_count": d.page_count,
                "in_reply_to": d.in_reply_to_id,
                "restricted": d.restricted,
            },
            patient={
                "id": p.id,
                "birth_name": p.birth_name,
                "used_name": p.used_name,
                "first_given_name": p.first_given_name,
                "birth_date": p.birth_date,
                "sex": p.sex.value,
                "ins": p.ins,
                "ins_oid": p.ins_oid if p.ins else None,
            },
            sender=_person(s),
            recipient=_person(pros[n.recipient_id]),
            platform=session.info.get("platform"),
        )
        out.append(item.model_dump(mode="json"))
    return out


def platform_summary(settings: Settings) -> dict[str, str]:
    return {
        "name": settings.platform_name,
        "url": settings.public_url,
        "contact_email": settings.contact_email,
    }


def _person(pro: Professional) -> dict[str, Any]:
    return {
        "id": pro.id,
        "name": pro.display_name,
        "first_name": pro.first_name,
        "last_name": pro.last_name,
        "profession": pro.profession,
        "specialty": pro.specialty,
        "structure": pro.structure,
        "rpps": pro.rpps,
        "adeli": pro.adeli,
        "finess": pro.finess,
        "siret": pro.siret,
        "city": pro.city,
    }


def list_after(session: Session, ctx: RequestContext, after: int, limit: int) -> InboxPage:
    assert ctx.actor is not None
    limit = max(1, min(limit, MAX_PAGE))
    notes = list(
        session.scalars(
            select(Notification)
            .where(
                Notification.recipient_id == ctx.actor.id,
                Notification.seq > after,
                Notification.deleted_at.is_(None),
            )
            .order_by(Notification.seq)
            .limit(limit + 1)
        )
    )
    has_more = len(notes) > limit
    notes = notes[:limit]
    items = [InboxItem.model_validate(i) for i in items_for(session, notes)]
    audit.record(session, ctx, "inbox.list", details={"after": after, "count": len(items)})
    return InboxPage(items=items, next_cursor=notes[-1].seq if notes else after, has_more=has_more)


def own(session: Session, ctx: RequestContext, notification_id: uuid.UUID) -> Notification:
    """The caller's own, not deleted, notification; anyone else's is 'not found'."""
    assert ctx.actor is not None
    note = session.get(Notification, notification_id)
    if note is None or note.recipient_id != ctx.actor.id or note.deleted_at is not None:
        if note is not None:
            doc = session.get(Document, note.document_id)
            audit.record(
                session,
                ctx,
                "inbox.read",
                outcome="refused",
                patient_id=doc.patient_id if doc else None,
                document_id=note.document_id,
                keep_on_failure=True,
            )
        raise NotFound(
            "Ce document n'est pas (ou plus) dans vos documents reçus.",
            code="notification_not_found",
        )
    return note


def get_item(session: Session, ctx: RequestContext, notification_id: uuid.UUID) -> InboxItem:
    note = own(session, ctx, notification_id)
    item = InboxItem.model_validate(items_for(session, [note])[0])
    audit.record(
        session, ctx, "inbox.read", patient_id=item.patient.id, document_id=item.document.id
    )
    return item


def receipt(
    session: Session,
    ctx: RequestContext,
    notification_id: uuid.UUID,
    kind: Literal["downloaded", "read"],
) -> InboxItem:
    """Record a delivery or read receipt; idempotent, and 'read' implies 'downloaded'."""
    note = own(session, ctx, notification_id)
    now = utcnow()
    if note.delivered_at is None:
        note.delivered_at = now
    if kind == "read" and note.read_at is None:
        note.read_at = now
    session.flush()
    item = InboxItem.model_validate(items_for(session, [note])[0])
    audit.record(
        session,
        ctx,
        f"inbox.receipt.{kind}",
        patient_id=item.patient.id,
        document_id=item.document.id,
    )
    return item


def delete(session: Session, ctx: RequestContext, notification_id: uuid.UUID) -> None:
    """Hide the notification; the document stays in the patient record."""
    note = own(session, ctx, notification_id)
    note.deleted_at = utcnow()
    doc = session.get(Document, note.document_id)
    audit.record(
        session,
        ctx,
        "inbox.delete",
        patient_id=doc.patient_id if doc else None,
        document_id=note.document_id,
    )

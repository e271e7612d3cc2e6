"""A professional's inbox: their notifications, in server-sequence (cursor) order."""

import uuid
from functools import cache
from typing import Any, Literal, NoReturn, cast

from pydantic_core import to_jsonable_python
from sqlalchemy import Integer, Select, Table, Update, bindparam, func, select, update
from sqlalchemy.orm import Session, aliased

from sisra.common import doctypes
from sisra.common.ins import shareable_ins
from sisra.common.text import named_by_address
from sisra.platform.audit import service as audit
from sisra.platform.context import RequestContext
from sisra.platform.errors import NotFound
from sisra.platform.inbox.schemas import InboxItem, InboxPage
from sisra.platform.models import Document, Notification, Patient, Professional, utcnow
from sisra.platform.settings import Settings

MAX_PAGE = 500


@cache
def _item_query() -> Select[Any]:
    """Notifications joined with their document, patient, sender and recipient: one query.

    Built once (building it costs more than running it); callers add ``where``/``order_by``.
    """
    sender, recipient = aliased(Professional), aliased(Professional)
    return (
        select(
            Notification.id,
            Notification.seq,
            Notification.created_at,
            Notification.delivered_at,
            Notification.read_at,
            *[getattr(Document, c).label(f"d_{c}") for c in _DOC_COLS],
            *[getattr(Patient, c).label(f"p_{c}") for c in _PATIENT_COLS],
            *[getattr(sender, c).label(f"s_{c}") for c in _PERSON_COLS],
            *[getattr(recipient, c).label(f"r_{c}") for c in _PERSON_COLS],
        )
        .join(Document, Document.id == Notification.document_id)
        .join(Patient, Patient.id == Document.patient_id)
        .join(sender, sender.id == Notification.sender_id)
        .join(recipient, recipient.id == Notification.recipient_id)
    )


_DOC_COLS = (
    "id",
    "title",
    "type_code",
    "loinc",
    "clinical_date",
    "size",
    "sha256",
    "page_count",
    "in_reply_to_id",
    "restricted",
)
_PATIENT_COLS = (
    "id",
    "birth_name",
    "used_name",
    "first_given_name",
    "birth_given_names",
    "birth_date",
    "sex",
    "birth_place_code",
    "ins",
    "ins_oid",
    "identity_status",
)
_PERSON_COLS = (
    "id",
    "first_name",
    "last_name",
    "profession",
    "specialty",
    "structure",
    "rpps",
    "adeli",
    "finess",
    "siret",
    "city",
    "mssante",
    "sector_code",
    "sector_label",
)


def _row_item(row: Any, platform: Any) -> dict[str, Any]:
    """One inbox item from a row of :func:`_item_query`, as plain Python values.

    The shape is :class:`~sisra.platform.inbox.schemas.InboxItem`'s; it is built once and
    serialised once (no model validation: every value comes from typed columns).
    """
    m = row._mapping
    dtype = doctypes.get(m["d_type_code"])
    status = m["p_identity_status"].value
    shared_ins = shareable_ins(m["p_ins"], status)
    return {
        "id": m["id"],
        "cursor": m["seq"],
        "created_at": m["created_at"],
        "document": {
            "id": m["d_id"],
            "title": m["d_title"],
            "type_code": m["d_type_code"],
            "type_label": dtype.label if dtype else m["d_type_code"],
            "loinc": m["d_loinc"],
            "clinical_date": m["d_clinical_date"],
            "size": m["d_size"],
            "sha256": m["d_sha256"],
            "page_count": m["d_page_count"],
            "in_reply_to": m["d_in_reply_to_id"],
            "restricted": m["d_restricted"],
        },
        "patient": {
            "id": m["p_id"],
            "birth_name": m["p_birth_name"],
            "used_name": m["p_used_name"],
            "first_given_name": m["p_first_given_name"],
            # the INS traits (CDA « structuration minimale »): every birth first name, and
            # the INSEE code of the birth place when known
            "birth_given_names": list(m["p_birth_given_names"] or []),
            "birth_date": m["p_birth_date"],
            "sex": m["p_sex"].value,
            "birth_place_code": m["p_birth_place_code"],
            # the INS only for a qualified identity (INS référentiel): MonSisra writes what it
            # gets to disk and into exports, and the platform mails these items
            "ins": shared_ins,
            "ins_oid": m["p_ins_oid"] if shared_ins else None,
            "identity_status": status,
        },
        "sender": _row_person(m, "s_"),
        "recipient": _row_person(m, "r_"),
        "platform": platform,
        "delivered_at": m["delivered_at"],
        "read_at": m["read_at"],
    }


def _row_person(m: Any, prefix: str) -> dict[str, Any]:
    # "name" is Professional.display_name
    first, last, address = m[prefix + "first_name"], m[prefix + "last_name"], m[prefix + "mssante"]
    name = f"{first} {last.upper()}"
    if named_by_address(first, last, address):  # a correspondent known only by its address
        name = (address or "").lower()
    out = {"id": m[prefix + "id"], "name": name}
    out.update({c: m[prefix + c] for c in _PERSON_COLS[1:]})
    return out


@cache
def _page_stmt() -> Select[Any]:
    """A recipient's page after a cursor (built once: its cache key is computed once too)."""
    return (
        _item_query()
        .where(
            Notification.recipient_id == bindparam("recipient"),
            Notification.seq > bindparam("after"),
            Notification.deleted_at.is_(None),
        )
        .order_by(Notification.seq)
        .limit(bindparam("limit", type_=Integer))
    )


@cache
def _ids_stmt() -> Select[Any]:
    return _item_query().where(Notification.id.in_(bindparam("ids", expanding=True)))


def _raw_items(session: Session, stmt: Select[Any], params: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows as plain values; run on the session's connection (Core rows, no ORM loading)."""
    session.flush()
    platform = session.info.get("platform")
    return [_row_item(row, platform) for row in session.connection().execute(stmt, params)]


def items_for(session: Session, notes: list[Notification]) -> list[dict[str, Any]]:
    """JSON-ready inbox items for notifications (same order), loaded in one query."""
    out: list[dict[str, Any]] = to_jsonable_python(_items_of(session, notes))
    return out


def _items_of(session: Session, notes: list[Notification]) -> list[dict[str, Any]]:
    """Inbox items for notifications (same order) as plain Python values, in one query."""
    if not notes:
        return []
    by_id = {i["id"]: i for i in _raw_items(session, _ids_stmt(), {"ids": [n.id for n in notes]})}
    return [by_id[n.id] for n in notes]


def platform_summary(settings: Settings) -> dict[str, str]:
    return {
        "name": settings.platform_name,
        "url": settings.public_url,
        "contact_email": settings.contact_email,
        "patient_id_oid": settings.patient_id_oid,
    }


def list_after(session: Session, ctx: RequestContext, after: int, limit: int) -> InboxPage:
    return InboxPage.model_validate(list_after_json(session, ctx, after, limit))


def list_after_json(
    session: Session, ctx: RequestContext, after: int, limit: int
) -> dict[str, Any]:
    """The page after the cursor as plain values (:class:`InboxPage`'s shape), in one query.

    Only notifications that have a cursor are listed: the sequencer
    (:mod:`sisra.platform.inbox.sequencer`) gives it once their share has committed.
    """
    assert ctx.actor is not None
    limit = max(1, min(limit, MAX_PAGE))
    params = {"recipient": ctx.actor.id, "after": after, "limit": limit + 1}
    items = _raw_items(session, _page_stmt(), params)
    has_more = len(items) > limit
    items = items[:limit]
    audit.record(session, ctx, "inbox.list", details={"after": after, "count": len(items)})
    return {
        "items": items,
        "next_cursor": items[-1]["cursor"] if items else after,
        "has_more": has_more,
    }


def own(session: Session, ctx: RequestContext, notification_id: uuid.UUID) -> Notification:
    """The caller's own, not deleted, notification; anyone else's is 'not found'."""
    note = session.get(Notification, notification_id)
    if note is None:
        raise _not_in_inbox()
    if not _is_own(ctx, note):
        _refuse(session, ctx, note, session.get(Document, note.document_id))
    return note


def own_with_document(
    session: Session, ctx: RequestContext, notification_id: uuid.UUID
) -> tuple[Notification, Document]:
    """:func:`own` and its document, in one statement (a download needs both)."""
    row = session.execute(_own_document_stmt(), {"id": notification_id}).first()
    if row is None:
        raise _not_in_inbox()
    note, doc = row
    if not _is_own(ctx, note):
        _refuse(session, ctx, note, doc)
    return note, doc


@cache
def _own_document_stmt() -> Select[Notification, Document]:
    return (
        select(Notification, Document)
        .join(Document, Document.id == Notification.document_id)
        .where(Notification.id == bindparam("id"))
    )


def _is_own(ctx: RequestContext, note: Notification) -> bool:
    assert ctx.actor is not None
    return (
        note.recipient_id == ctx.actor.id
        and note.deleted_at is None
        and note.seq is not None  # not published by the sequencer yet: not in the inbox
    )


def _refuse(
    session: Session, ctx: RequestContext, note: Notification, doc: Document | None
) -> NoReturn:
    audit.record(
        session,
        ctx,
        "inbox.read",
        outcome="refused",
        patient_id=doc.patient_id if doc else None,
        document_id=note.document_id,
        keep_on_failure=True,
    )
    raise _not_in_inbox()


def _not_in_inbox() -> NotFound:
    return NotFound(
        "Ce document n'est pas (ou plus) dans vos documents reçus.",
        code="notification_not_found",
    )


def get_item(session: Session, ctx: RequestContext, notification_id: uuid.UUID) -> InboxItem:
    return InboxItem.model_validate(get_item_json(session, ctx, notification_id))


def get_item_json(
    session: Session, ctx: RequestContext, notification_id: uuid.UUID
) -> dict[str, Any]:
    note = own(session, ctx, notification_id)
    item = _items_of(session, [note])[0]
    audit.record(
        session,
        ctx,
        "inbox.read",
        patient_id=item["patient"]["id"],
        document_id=note.document_id,
    )
    return item


def receipt(
    session: Session,
    ctx: RequestContext,
    notification_id: uuid.UUID,
    kind: Literal["downloaded", "read"],
) -> InboxItem:
    return InboxItem.model_validate(receipt_json(session, ctx, notification_id, kind))


def receipt_json(
    session: Session,
    ctx: RequestContext,
    notification_id: uuid.UUID,
    kind: Literal["downloaded", "read"],
) -> dict[str, Any]:
    """Record a delivery or read receipt; idempotent, and 'read' implies 'downloaded'.

    One Core ``UPDATE`` on the caller's own, published, not deleted notification (no ORM
    load and flush); when it matches nothing, :func:`own` tells why (and audits an
    outsider's attempt)."""
    assert ctx.actor is not None
    params = {"note_id": notification_id, "recipient": ctx.actor.id, "now": utcnow()}
    if session.connection().execute(_receipt_stmt(kind), params).rowcount != 1:
        own(session, ctx, notification_id)  # not found, or not the caller's: audited, raised
        raise _not_in_inbox()  # deleted meanwhile
    item = _raw_items(session, _ids_stmt(), {"ids": [notification_id]})[0]
    audit.record(
        session,
        ctx,
        f"inbox.receipt.{kind}",
        patient_id=item["patient"]["id"],
        document_id=item["document"]["id"],
    )
    return item


@cache
def _receipt_stmt(kind: Literal["downloaded", "read"]) -> Update:
    """The receipt's ``UPDATE``: the first time of each receipt kept (built once per kind)."""
    table = cast(Table, Notification.__table__)
    n = table.c
    now = bindparam("now", type_=n.delivered_at.type)
    values: dict[str, Any] = {"delivered_at": func.coalesce(n.delivered_at, now)}
    if kind == "read":
        values["read_at"] = func.coalesce(n.read_at, now)
    return (
        update(table)
        .where(
            n.id == bindparam("note_id"),
            n.recipient_id == bindparam("recipient"),
            n.deleted_at.is_(None),
            n.seq.is_not(None),  # not published by the sequencer yet: not in the inbox
        )
        .values(**values)
    )


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

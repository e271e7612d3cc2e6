"""A professional's inbox: their notifications, in server-sequence (cursor) order."""

import uuid
from functools import cache
from typing import Any, Literal, NoReturn, cast

from pydantic_core import to_jsonable_python
from sqlalchemy import (
    Integer,
    Select,
    String,
    Table,
    Update,
    bindparam,
    func,
    select,
    type_coerce,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, aliased
from sqlalchemy.types import NullType, TypeDecorator

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


class UuidText(TypeDecorator[str]):
    """A UUID column read as its canonical text (``8-4-4-4-12``, lower case), for answers
    that only serialise it: no :class:`uuid.UUID` built per value and turned back into text
    (two per item; on PostgreSQL the server writes the text, on SQLite the stored 32 hex
    digits are cut into groups). Use through :func:`_text`."""

    impl = String
    cache_ok = True

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is not None and len(value) == 32:  # SQLite's storage: the hex digits
            return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
        return value


def _text(column: Any) -> Any:
    return type_coerce(sql_cast(column, String), UuidText())


def _note_columns() -> list[Any]:
    """A notification's own columns and its document's, as :func:`_row_item` reads them
    (its identifiers as text: :class:`UuidText`)."""
    return [
        _text(Notification.id).label("id"),
        Notification.seq,
        Notification.created_at,
        Notification.delivered_at,
        Notification.read_at,
        *[
            (_text(getattr(Document, c)) if c in _DOC_IDS else getattr(Document, c)).label(f"d_{c}")
            for c in _DOC_COLS
        ],
    ]


def _key(column: Any) -> Any:
    """A foreign key as the driver returns it, unconverted: only a key to match rows by
    (a UUID built per row for the patient, the sender and the recipient was a third of a
    page's cost)."""
    return type_coerce(column, NullType())


@cache
def _item_query() -> Select[Any]:
    """Notifications joined with their document, patient, sender and recipient: one query.

    Built once (building it costs more than running it); callers add ``where``/``order_by``.
    """
    sender, recipient = aliased(Professional), aliased(Professional)
    return (
        select(
            *_note_columns(),
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
_DOC_IDS = ("id", "in_reply_to_id")
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


def _row_item(
    m: Any,
    patient: dict[str, Any],
    sender: dict[str, Any],
    recipient: dict[str, Any],
    platform: Any,
) -> dict[str, Any]:
    """One inbox item from a row's mapping (:func:`_note_columns`), as plain Python values.

    The shape is :class:`~sisra.platform.inbox.schemas.InboxItem`'s; it is built once and
    serialised once (no model validation: every value comes from typed columns). The
    patient and the two professionals are built by :func:`_row_patient` and
    :func:`_row_person`, once per person in a page.
    """
    dtype = doctypes.get(m["d_type_code"])
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
        "patient": patient,
        "sender": sender,
        "recipient": recipient,
        "platform": platform,
        "delivered_at": m["delivered_at"],
        "read_at": m["read_at"],
    }


def _row_patient(m: Any, prefix: str) -> dict[str, Any]:
    status = m[prefix + "identity_status"].value
    shared_ins = shareable_ins(m[prefix + "ins"], status)
    return {
        "id": m[prefix + "id"],
        "birth_name": m[prefix + "birth_name"],
        "used_name": m[prefix + "used_name"],
        "first_given_name": m[prefix + "first_given_name"],
        # the INS traits (CDA « structuration minimale »): every birth first name, and the
        # INSEE code of the birth place when known
        "birth_given_names": list(m[prefix + "birth_given_names"] or []),
        "birth_date": m[prefix + "birth_date"],
        "sex": m[prefix + "sex"].value,
        "birth_place_code": m[prefix + "birth_place_code"],
        # the INS only for a qualified identity (INS référentiel): MonSisra writes what it
        # gets to disk and into exports, and the platform mails these items
        "ins": shared_ins,
        "ins_oid": m[prefix + "ins_oid"] if shared_ins else None,
        "identity_status": status,
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
    """A recipient's page after a cursor: the notifications and their documents, with their
    people's keys (built once: its cache key is computed once too)."""
    stmt = select(
        *_note_columns(),
        _key(Document.patient_id).label("patient_key"),
        _key(Notification.sender_id).label("sender_key"),
        _key(Notification.recipient_id).label("recipient_key"),
    ).join(Document, Document.id == Notification.document_id)
    return _after_cursor(stmt)


@cache
def _patients_stmt() -> Select[Any]:
    return select(
        _key(Patient.id).label("key"), *[getattr(Patient, c).label(f"p_{c}") for c in _PATIENT_COLS]
    ).where(_key(Patient.id).in_(bindparam("keys", expanding=True)))


@cache
def _people_stmt() -> Select[Any]:
    return select(
        _key(Professional.id).label("key"),
        *[getattr(Professional, c).label(f"s_{c}") for c in _PERSON_COLS],
    ).where(_key(Professional.id).in_(bindparam("keys", expanding=True)))


@cache
def _ids_stmt() -> Select[Any]:
    return _item_query().where(Notification.id.in_(bindparam("ids", expanding=True)))


@cache
def _small_page_stmt() -> Select[Any]:
    """The first items of a page, joined with their people in one statement."""
    return _after_cursor(_item_query())


def _after_cursor(stmt: Select[Any]) -> Select[Any]:
    """``stmt`` limited to a recipient's items after a cursor, in cursor order."""
    return (
        stmt.where(
            Notification.recipient_id == bindparam("recipient"),
            Notification.seq > bindparam("after"),
            Notification.deleted_at.is_(None),
        )
        .order_by(Notification.seq)
        .limit(bindparam("limit", type_=Integer))
    )


# A client polling after its cursor finds a few new items at most: up to this many, a page is
# one joined statement; beyond, its people are read once each (decision 203).
SMALL_PAGE = 4


def _raw_items(session: Session, stmt: Select[Any], params: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of :func:`_item_query` as plain values; run on the session's connection (Core
    rows, no ORM loading)."""
    session.flush()
    platform = session.info.get("platform")
    return [
        _row_item(
            m,
            _row_patient(m, "p_"),
            _row_person(m, "s_"),
            _row_person(m, "r_"),
            platform,
        )
        for m in session.connection().execute(stmt, params).mappings()
    ]


def _page_items(session: Session, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The page ``params`` asks for (``limit`` rows at most) as plain values.

    A poll after the client's cursor usually finds a few items: they come in one joined
    statement. A longer page repeats its recipient on every item and its few senders and
    patients on many, and building them per row was most of its cost: its patients and
    professionals are then read once each (three statements, after the first one's probe)."""
    probe = dict(params, limit=min(params["limit"], SMALL_PAGE + 1))
    first = _raw_items(session, _small_page_stmt(), probe)
    if len(first) < probe["limit"] or probe["limit"] == params["limit"]:
        return first  # the whole page
    conn = session.connection()
    rows = conn.execute(_page_stmt(), params).mappings().all()
    if not rows:  # deleted since the probe
        return []
    patient_keys = list({r["patient_key"] for r in rows})
    people_keys = list({r["sender_key"] for r in rows} | {r["recipient_key"] for r in rows})
    patients = {
        m["key"]: _row_patient(m, "p_")
        for m in conn.execute(_patients_stmt(), {"keys": patient_keys}).mappings()
    }
    people = {
        m["key"]: _row_person(m, "s_")
        for m in conn.execute(_people_stmt(), {"keys": people_keys}).mappings()
    }
    platform = session.info.get("platform")
    return [
        _row_item(
            r,
            patients[r["patient_key"]],
            people[r["sender_key"]],
            people[r["recipient_key"]],
            platform,
        )
        for r in rows
    ]


def items_for(session: Session, notes: list[Notification]) -> list[dict[str, Any]]:
    """JSON-ready inbox items for notifications (same order), loaded in one query."""
    out: list[dict[str, Any]] = to_jsonable_python(_items_of(session, notes))
    return out


def _items_of(session: Session, notes: list[Notification]) -> list[dict[str, Any]]:
    """Inbox items for notifications (same order) as plain Python values, in one query."""
    if not notes:
        return []
    by_id = {i["id"]: i for i in _raw_items(session, _ids_stmt(), {"ids": [n.id for n in notes]})}
    return [by_id[str(n.id)] for n in notes]


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
    items = _page_items(session, params)
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
        document_id=uuid.UUID(item["document"]["id"]),
    )
    return item


def receipts_json(
    session: Session,
    ctx: RequestContext,
    ids: list[uuid.UUID],
    kind: Literal["downloaded", "read"],
) -> dict[str, Any]:
    """Receipts of one kind for several of the caller's items, all or nothing (decision 207).

    One ``UPDATE`` for all of them, then one audit row each, as one by one. When it matches
    fewer items than asked, the first that is not the caller's own published, not deleted
    item is refused as :func:`receipt_json` refuses it (an outsider's attempt audited), and
    nothing is recorded: the client then sends its receipts one by one."""
    assert ctx.actor is not None
    conn = session.connection()
    params = {"ids": ids, "recipient": ctx.actor.id, "now": utcnow()}
    if conn.execute(_receipts_stmt(kind), params).rowcount != len(ids):
        for note_id in ids:
            own(session, ctx, note_id)  # the first one not found or not the caller's: raised
        raise _not_in_inbox()  # deleted meanwhile
    for document_id, patient_id in conn.execute(_receipts_audit_stmt(), {"ids": ids}):
        audit.record(
            session,
            ctx,
            f"inbox.receipt.{kind}",
            patient_id=patient_id,
            document_id=document_id,
        )
    return {"kind": kind, "ids": [str(note_id) for note_id in ids]}


@cache
def _receipts_stmt(kind: Literal["downloaded", "read"]) -> Update:
    """:func:`_receipt_stmt` for a list of items (``ids``)."""
    return _receipt_update(kind, many=True)


@cache
def _receipts_audit_stmt() -> Select[uuid.UUID, uuid.UUID]:
    return (
        select(Document.id, Document.patient_id)
        .join(Notification, Notification.document_id == Document.id)
        .where(Notification.id.in_(bindparam("ids", expanding=True)))
        .order_by(Notification.seq)
    )


@cache
def _receipt_stmt(kind: Literal["downloaded", "read"]) -> Update:
    """The receipt's ``UPDATE``: the first time of each receipt kept (built once per kind)."""
    return _receipt_update(kind, many=False)


def _receipt_update(kind: Literal["downloaded", "read"], many: bool) -> Update:
    table = cast(Table, Notification.__table__)
    n = table.c
    which = n.id.in_(bindparam("ids", expanding=True)) if many else n.id == bindparam("note_id")
    return (
        update(table)
        .where(
            which,
            n.recipient_id == bindparam("recipient"),
            n.deleted_at.is_(None),
            n.seq.is_not(None),  # not published by the sequencer yet: not in the inbox
        )
        .values(**_receipt_values(table, kind))
    )


def _receipt_values(table: Table, kind: Literal["downloaded", "read"]) -> dict[str, Any]:
    """The first time of each receipt kept; 'read' implies 'downloaded'."""
    n = table.c
    now = bindparam("now", type_=n.delivered_at.type)
    values: dict[str, Any] = {"delivered_at": func.coalesce(n.delivered_at, now)}
    if kind == "read":
        values["read_at"] = func.coalesce(n.read_at, now)
    return values


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

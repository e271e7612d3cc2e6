"""Browsing a professional's inbox at real volumes: filters, search and keyset pages.

Everything is done in SQL: the search words are matched, accent- and case-insensitively,
against the patients' folded name columns, the senders' folded ``search_text`` and the
documents' folded title; pages are keyset pages on the inbox cursor (``seq``), so page 200
costs what page 1 costs.
"""

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from sisra.common import clock
from sisra.common.text import fold
from sisra.platform.models import Document, Notification, Patient, Professional

PAGE_SIZE = 50


@dataclass
class InboxFilters:
    """What the professional asked for; ``q`` may hold patient traits (never put in a URL)."""

    q: str = ""
    unread_only: bool = False
    type_code: str = ""
    start: date | None = None
    end: date | None = None


@dataclass
class InboxPage:
    notes: list[Notification]
    total: int  # matching items, all pages
    first_index: int  # 1-based position of the first item of the page among them
    newer: int | None  # cursor for « Plus récents » (items with seq > newer), or None
    older: int | None  # cursor for « Plus anciens » (items with seq < older), or None


def _conditions(recipient_id: uuid.UUID, f: InboxFilters) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [
        Notification.recipient_id == recipient_id,
        Notification.deleted_at.is_(None),
        Notification.seq.is_not(None),  # numbered by the inbox sequencer
    ]
    if f.unread_only:
        conds.append(Notification.read_at.is_(None))
    if f.start is not None:
        conds.append(Notification.created_at >= clock.day_start(f.start))
    if f.end is not None:
        conds.append(Notification.created_at < clock.day_start(f.end + timedelta(days=1)))
    return conds


def _statement(recipient_id: uuid.UUID, f: InboxFilters) -> "Select[Any]":
    stmt = select(Notification).where(*_conditions(recipient_id, f))
    words = fold(f.q).split()
    if f.type_code or words:
        stmt = stmt.join(Document, Document.id == Notification.document_id)
    if f.type_code:
        stmt = stmt.where(Document.type_code == f.type_code)
    if words:
        sender = aliased(Professional)
        stmt = stmt.join(Patient, Patient.id == Document.patient_id).join(
            sender, sender.id == Notification.sender_id
        )
        for word in words:
            matches = [
                Patient.birth_name_fold.contains(word, autoescape=True),
                Patient.used_name_fold.contains(word, autoescape=True),
                Patient.first_given_name_fold.contains(word, autoescape=True),
                sender.search_text.contains(word, autoescape=True),
                Document.title_fold.contains(word, autoescape=True),
            ]
            stmt = stmt.where(or_(*matches))
    return stmt


def page(
    session: Session,
    recipient_id: uuid.UUID,
    f: InboxFilters,
    *,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> InboxPage:
    """The page of items older than ``before`` (or newer than ``after``; default: the newest)."""
    base = _statement(recipient_id, f)
    if after is not None:
        notes: list[Notification] = list(
            session.scalars(
                base.where(Notification.seq > after).order_by(Notification.seq).limit(size + 1)
            )
        )
        notes = notes[:size][::-1]
        if len(notes) < size:  # reached the newest: show a full first page instead
            return page(session, recipient_id, f, size=size)
    else:
        stmt = base.order_by(Notification.seq.desc()).limit(size + 1)
        if before is not None:
            stmt = stmt.where(Notification.seq < before)
        notes = list(session.scalars(stmt))
        notes = notes[:size]
    counted = base.with_only_columns(func.count()).order_by(None)
    total = int(session.scalar(counted) or 0)
    if not notes:
        return InboxPage([], total, 0, None, None)
    top, bottom = notes[0].seq, notes[-1].seq
    newer_count = (
        0  # the newest page: nothing above it
        if before is None and after is None
        else int(session.scalar(counted.where(Notification.seq > top)) or 0)
    )
    older_exists = newer_count + len(notes) < total
    return InboxPage(
        notes=notes,
        total=total,
        first_index=newer_count + 1,
        newer=top if newer_count else None,
        older=bottom if older_exists else None,
    )

"""An inbox at real volume, for the benchmark and the paging tests.

Inserts documents (metadata only: their content is not stored, so opening one gives the
« document endommagé » page) and one notification each for a recipient, in bulk, numbered
with the inbox counter like real shares. Never used by the running platform.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from sisra.common import doctypes
from sisra.common.text import fold
from sisra.platform import counters
from sisra.platform.models import Document, Notification


@dataclass(frozen=True)
class Seeded:
    first_seq: int
    last_seq: int


def seed_inbox(
    session: Session,
    *,
    recipient_id: uuid.UUID,
    sender_ids: list[uuid.UUID],
    patient_ids: list[uuid.UUID],
    count: int,
    read_every: int = 0,
    start: datetime | None = None,
    batch: int = 2000,
) -> Seeded:
    """``count`` notifications, one minute apart from ``start`` (oldest first).

    Senders, patients and types rotate; every ``read_every``-th item is already read.
    """
    start = start or datetime.now(UTC) - timedelta(minutes=count + 1)
    last, _ = counters.take(session, "inbox", count)  # the cursors, as a real share takes them
    first = last - count + 1
    types = doctypes.DOCUMENT_TYPES
    for offset in range(0, count, batch):
        docs, notes = [], []
        for i in range(offset, min(count, offset + batch)):
            doc_id = uuid.uuid4()
            at = start + timedelta(minutes=i)
            dtype = types[i % len(types)]
            title = f"{dtype.label} n° {i + 1}"
            docs.append(
                {
                    "id": doc_id,
                    "created_at": at,
                    "patient_id": patient_ids[i % len(patient_ids)],
                    "author_id": sender_ids[i % len(sender_ids)],
                    "title": title,
                    "title_fold": fold(title),  # a Core insert: no ORM hook folds it
                    "type_code": dtype.code,
                    "loinc": dtype.loinc,
                    "clinical_date": date(2026, 1, 1) + timedelta(days=i % 300),
                    "sha256": "0" * 64,
                    "size": 1,
                    "page_count": 1,
                    "blob_key": f"volume-{doc_id.hex}",
                    "wrapped_key": b"\0",
                    "restricted": False,
                }
            )
            notes.append(
                {
                    "id": uuid.uuid4(),
                    "created_at": at,
                    "seq": first + i,
                    "document_id": doc_id,
                    "recipient_id": recipient_id,
                    "sender_id": sender_ids[i % len(sender_ids)],
                    "delivered_at": at if read_every and i % read_every == 0 else None,
                    "read_at": at if read_every and i % read_every == 0 else None,
                }
            )
        session.execute(insert(Document), docs)
        session.execute(insert(Notification), notes)
    return Seeded(first, first + count - 1)

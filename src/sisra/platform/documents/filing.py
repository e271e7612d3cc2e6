"""A document's birth from a PDF, whoever brings it (a share, a mail received by MSSanté).

Two steps, because MSSanté stores the PDF before it knows whether its patient is found:
:func:`store` checks the PDF and writes it encrypted (removed again if the transaction
fails); :func:`file` makes it a document about its patient, with one notification per
recipient (a copy by MSSanté for the recipients of other operators), audits it, and has the
inbox sequencer number the notifications once the transaction commits.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, BinaryIO

from sqlalchemy import insert, inspect
from sqlalchemy.orm import Session, make_transient_to_detached

from sisra.common import doctypes
from sisra.platform.audit import service as audit
from sisra.platform.context import RequestContext
from sisra.platform.db import on_failure
from sisra.platform.documents import pdf
from sisra.platform.errors import Invalid, SisraError
from sisra.platform.events.hub import EventHub
from sisra.platform.inbox import sequencer
from sisra.platform.models import Base, Document, Notification, Professional
from sisra.platform.mssante import outbox
from sisra.platform.settings import Settings
from sisra.platform.storage import EncryptedBlobs


@dataclass(frozen=True)
class StoredPdf:
    """A checked PDF, encrypted in the store under the id its document will have."""

    document_id: uuid.UUID
    sha256: str
    size: int
    pages: int
    blob_key: str
    wrapped_key: bytes


@dataclass(frozen=True)
class MailCopies:
    """Recipients of other MSSanté operators: their copy leaves by mail from this address."""

    sender_address: str
    recipients: list[Professional]


def store(
    session: Session, settings: Settings, blobs: EncryptedBlobs, upload: BinaryIO
) -> StoredPdf:
    """Check that ``upload`` is a PDF within the size limit, then encrypt and store it."""
    info = pdf.inspect(upload, settings.max_document_bytes)
    doc_id = uuid.uuid4()
    try:
        stored = blobs.write(doc_id.bytes, pdf.read_chunks(upload))
    except OSError as exc:
        # full disk, unwritable volume…: the store removed its temporary file; say so plainly
        raise SisraError(
            "Le serveur n'a pas pu enregistrer le document (espace de stockage indisponible). "
            "Rien n'a été envoyé : réessayez plus tard ou prévenez l'assistance.",
            code="storage_unavailable",
            status=507,
        ) from exc
    # If anything after this fails the transaction rolls back; the blob must not outlive it.
    on_failure(session, lambda _s: blobs.delete(stored.key))
    if stored.size != info.size:
        raise Invalid("Le fichier a changé pendant l'envoi ; recommencez.", code="upload_changed")
    return StoredPdf(doc_id, info.sha256, info.size, info.pages, stored.key, stored.wrapped_key)


def file(
    session: Session,
    hub: EventHub,
    ctx: RequestContext,
    stored: StoredPdf,
    *,
    patient_id: uuid.UUID,
    author_id: uuid.UUID,
    title: str,
    type_code: str,
    clinical_date: date,
    recipient_ids: list[uuid.UUID],
    action: str,
    details: dict[str, Any],
    in_reply_to: uuid.UUID | None = None,
    restricted: bool = False,
    mail: MailCopies | None = None,
) -> tuple[Document, list[Notification]]:
    """The document, its notifications (and mail copies), audited as ``action``."""
    dtype = doctypes.BY_CODE[type_code]
    doc = Document(
        id=stored.document_id,
        patient_id=patient_id,
        author_id=author_id,
        title=title,
        type_code=dtype.code,
        loinc=dtype.loinc,
        clinical_date=clinical_date,
        sha256=stored.sha256,
        size=stored.size,
        page_count=stored.pages,
        blob_key=stored.blob_key,
        wrapped_key=stored.wrapped_key,
        in_reply_to_id=in_reply_to,
        restricted=restricted,
    )
    # No cursor yet: the inbox sequencer numbers them just before this transaction commits,
    # so no lock that concurrent shares would wait on is held meanwhile (decisions 66, 194).
    notes = [
        Notification(document_id=doc.id, recipient_id=rid, sender_id=author_id)
        for rid in recipient_ids
    ]
    _insert(session, [doc])
    _insert(session, notes)
    if mail is not None:
        by_id = {p.id: p for p in mail.recipients}
        copies = [(n, by_id[n.recipient_id]) for n in notes if n.recipient_id in by_id]
        outbox.enqueue(session, ctx, doc, mail.sender_address, copies)
    audit.record(
        session, ctx, action, patient_id=doc.patient_id, document_id=doc.id, details=details
    )
    sequencer.sequence_on_commit(session, hub)
    return doc, notes


def _insert(session: Session, rows: list[Any]) -> None:
    """Insert ``rows`` (new objects of one mapped class) with one Core ``INSERT``, then hand
    them to ``session`` as loaded rows (decision 193).

    The ORM's flush would do the same with more bookkeeping (a unit of work sorted per
    flush, each row's state tracked while inserting); here the columns' defaults are applied
    in Python, row after row as a flush would (``created_at``: the numbering's order), and
    nothing is generated by the database or fetched back. The objects then belong to the
    session as if read from it, so the rest of the request (the answer, MSSanté's outbox,
    relationships) uses them as before."""
    if not rows:
        return
    session.flush()  # what the request added before them (their foreign keys' rows) first
    columns = _columns(type(rows[0]))
    values = []
    for row in rows:
        state = row.__dict__
        for key, _name, default in columns:
            if key not in state:
                arg = default.arg if default is not None else None
                setattr(row, key, arg(None) if callable(arg) else arg)
        values.append({name: state[key] for key, name, _default in columns})
    session.execute(insert(type(rows[0]).__table__), values)
    for row in rows:
        make_transient_to_detached(row)
        session.add(row)


_COLUMNS: dict[type[Base], list[tuple[str, str, Any]]] = {}


def _columns(cls: type[Base]) -> list[tuple[str, str, Any]]:
    """(attribute, column name, Python default) of every column of ``cls``."""
    found = _COLUMNS.get(cls)
    if found is None:
        found = _COLUMNS[cls] = [
            (prop.key, prop.columns[0].name, prop.columns[0].default)
            for prop in inspect(cls).column_attrs
        ]
    return found

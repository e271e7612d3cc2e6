"""HTTP delivery of a document's bytes: decrypted on the fly, with ETag and Range.

A damaged stored document (blob missing, truncated, tampered with, or not matching its key)
must never be answered ``200`` and then broken off mid-body, nor be a bare ``500``. Every
segment covering the requested range is therefore authenticated *before* the status line is
sent (:func:`checked_read`). A range up to :data:`DECRYPT_ONCE` (the usual document, a few
hundred kilobytes) is decrypted once into memory and answered from there; a larger one gets a
first pass that decrypts and discards, then a second that streams, so memory stays bounded by
one read batch (AES-GCM makes the first pass cheap: tens of milliseconds for 25 MB). A
failure is answered ``503 document_damaged`` and audited as
``document.integrity_failure`` (kept although the request fails). Only a range larger than
:data:`VERIFY_BEFORE_SENDING` (a platform configured for very large documents) is streamed
with its first segment checked alone; should a later segment fail then, or the blob change
between the two passes, the connection is cut short of its ``Content-Length`` (the client
sees an incomplete download, never a complete-looking one) and the failure is audited too.
"""

import logging
import re
import unicodedata
from collections.abc import Iterator

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from sisra.platform.audit import service as audit
from sisra.platform.context import RequestContext
from sisra.platform.db import unit_of_work
from sisra.platform.errors import SisraError
from sisra.platform.models import Document
from sisra.platform.storage import EncryptedBlobs, IntegrityError

log = logging.getLogger("sisra.documents")

# Ranges up to this size are fully authenticated before the first byte is sent.
VERIFY_BEFORE_SENDING = 64 * 1024 * 1024
# Ranges up to this size are decrypted once and kept in memory until sent (40 threads at
# most: 160 MiB in the worst case) instead of being decrypted twice.
DECRYPT_ONCE = 4 * 1024 * 1024
INTEGRITY_FAILURE = "document.integrity_failure"


class DocumentDamaged(SisraError):
    """The stored bytes of a document cannot be read back intact (see the module)."""

    status = 503
    code = "document_damaged"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "missing"
    if isinstance(exc, IntegrityError):
        return "integrity"
    return "unreadable"


def _audit_failure(
    session: Session, ctx: RequestContext, doc: Document, reason: str, during: str
) -> None:
    log.error(
        "document %s: stored content failed its integrity check (%s, %s)", doc.id, reason, during
    )
    audit.record(
        session,
        ctx,
        INTEGRITY_FAILURE,
        patient_id=doc.patient_id,
        document_id=doc.id,
        outcome="error",
        details={"reason": reason, "during": during},
        keep_on_failure=True,
    )


def damaged(session: Session, ctx: RequestContext, doc: Document, exc: BaseException) -> SisraError:
    """Audit an integrity failure and return the error to raise."""
    _audit_failure(session, ctx, doc, _reason(exc), "before_sending")
    return DocumentDamaged(
        "Ce document est endommagé sur le serveur Sisra et ne peut pas être délivré. "
        "L'incident est enregistré ; rien n'est en cause de votre côté. Réessayez plus tard "
        "ou demandez à l'expéditeur de vous le renvoyer."
    )


def checked_read(
    session: Session,
    ctx: RequestContext,
    blobs: EncryptedBlobs,
    doc: Document,
    start: int = 0,
    end: int | None = None,
) -> Iterator[bytes]:
    """The plaintext ``[start, end]``, authenticated before this returns (see the module)."""
    end = doc.size - 1 if end is None else end
    args = (doc.blob_key, doc.wrapped_key, doc.id.bytes, doc.size, start, end)
    length = end - start + 1
    try:
        if length <= min(DECRYPT_ONCE, VERIFY_BEFORE_SENDING):
            # every segment authenticated while it is read: one decryption, not two
            return iter(list(blobs.read(*args)))
        if length <= VERIFY_BEFORE_SENDING:
            blobs.verify(*args)
        return blobs.read(*args)
    except (IntegrityError, OSError) as exc:
        raise damaged(session, ctx, doc, exc) from exc


def read_all(session: Session, ctx: RequestContext, blobs: EncryptedBlobs, doc: Document) -> bytes:
    """The whole plaintext, verified (for the server-side preview)."""
    return b"".join(checked_read(session, ctx, blobs, doc))


def _audited_stream(
    chunks: Iterator[bytes],
    factory: sessionmaker[Session],
    ctx: RequestContext,
    doc: Document,
) -> Iterator[bytes]:
    """Pass ``chunks`` through; a failure while streaming is audited, then cuts the body."""
    try:
        yield from chunks
    except (IntegrityError, OSError) as exc:
        with unit_of_work(factory) as session:
            _audit_failure(session, ctx, doc, _reason(exc), "while_sending")
        raise


_RANGE = re.compile(r"^bytes=([0-9]{0,19})-([0-9]{0,19})$")


def _ascii_filename(title: str) -> str:
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    safe = re.sub(r"[^A-Za-z0-9._ -]+", "_", plain).strip() or "document"
    return safe[:80] + ".pdf"


def _range(header: str, size: int) -> tuple[int, int]:
    m = _RANGE.match(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        raise SisraError(
            "Plage d'octets invalide.", code="invalid_range", status=416, extra={"size": size}
        )
    if m.group(1):
        start = int(m.group(1))
        end = int(m.group(2)) if m.group(2) else size - 1
    else:  # suffix range: the last N bytes
        start, end = max(0, size - int(m.group(2))), size - 1
    end = min(end, size - 1)
    if start > end or start >= size:
        raise SisraError(
            "Plage d'octets hors du document.",
            code="invalid_range",
            status=416,
            extra={"size": size},
        )
    return start, end


def respond(
    request: Request,
    session: Session,
    ctx: RequestContext,
    blobs: EncryptedBlobs,
    doc: Document,
) -> Response:
    """The PDF (or the requested range), authenticated before the status line is sent."""
    etag = f'"{doc.sha256}"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, no-store",
        "Content-Disposition": f'inline; filename="{_ascii_filename(doc.title)}"',
        "X-Content-SHA256": doc.sha256,
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    start, end, status = 0, doc.size - 1, 200
    range_header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if range_header and doc.size > 0 and (if_range is None or if_range == etag):
        start, end = _range(range_header, doc.size)
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{doc.size}"
    length = max(0, end - start + 1)
    headers["Content-Length"] = str(length)
    chunks = checked_read(session, ctx, blobs, doc, start, end)
    if length <= min(DECRYPT_ONCE, VERIFY_BEFORE_SENDING):
        # already decrypted and authenticated: one body, no thread-pool hop per chunk
        return Response(
            b"".join(chunks), status_code=status, media_type="application/pdf", headers=headers
        )
    stream = _audited_stream(chunks, request.app.state.session_factory, ctx, doc)
    return StreamingResponse(
        stream, status_code=status, media_type="application/pdf", headers=headers
    )

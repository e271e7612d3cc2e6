"""HTTP delivery of a document's bytes: decrypted on the fly, with ETag and Range."""

import re
import unicodedata

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from sisra.platform.errors import SisraError
from sisra.platform.models import Document
from sisra.platform.storage import EncryptedBlobs

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


def respond(request: Request, blobs: EncryptedBlobs, doc: Document) -> Response:
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
    headers["Content-Length"] = str(max(0, end - start + 1))
    chunks = blobs.read(doc.blob_key, doc.wrapped_key, doc.id.bytes, doc.size, start, end)
    return StreamingResponse(
        chunks, status_code=status, media_type="application/pdf", headers=headers
    )

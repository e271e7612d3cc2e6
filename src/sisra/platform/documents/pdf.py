"""Checks that an upload is a real PDF, reading it from a (spooled) file; an upload up to
:data:`PARSE_IN_MEMORY` is parsed from a copy in memory (pypdf's many small reads are then
cheap), a larger one from the file."""

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NumberObject

from sisra.platform.errors import Invalid, TooLarge

CHUNK = 256 * 1024
PARSE_IN_MEMORY = 4 * 1024 * 1024


@dataclass(frozen=True)
class PdfInfo:
    sha256: str
    size: int
    pages: int


def inspect(stream: BinaryIO, max_bytes: int) -> PdfInfo:
    """Hash and measure ``stream``, then parse it; raises a clear error if it is not a PDF."""
    stream.seek(0)
    head = stream.read(1024)
    if b"%PDF-" not in head:
        raise Invalid(
            "Le fichier n'est pas un PDF. Seuls les documents PDF peuvent être "
            "partagés : enregistrez-le au format PDF puis recommencez.",
            code="not_a_pdf",
        )
    digest = hashlib.sha256(head)
    size = len(head)
    kept: list[bytes] | None = [head]
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise too_large(max_bytes)
        digest.update(chunk)
        if kept is not None:
            kept.append(chunk)
            if size > PARSE_IN_MEMORY:
                kept = None
    if size > max_bytes:
        raise too_large(max_bytes)
    stream.seek(0)
    # pypdf reads a file with thousands of small reads and seeks: on an upload's spooled
    # file each is a Python-level call (about 2,600 for a 100 KiB PDF); on bytes in memory
    # they are C calls
    source = io.BytesIO(b"".join(kept)) if kept is not None else stream
    try:
        reader = PdfReader(source, strict=False)
        pages = count_pages(reader)
    except (
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        RecursionError,
    ) as exc:
        raise Invalid(
            "Le fichier PDF est illisible ou endommagé. Ouvrez-le dans votre "
            "visionneuse, enregistrez-le de nouveau puis recommencez.",
            code="not_a_pdf",
        ) from exc
    if pages < 1:
        raise Invalid("Le PDF ne contient aucune page.", code="not_a_pdf")
    stream.seek(0)
    return PdfInfo(digest.hexdigest(), size, pages)


def count_pages(reader: PdfReader) -> int:
    """The number of pages: the page tree root's ``/Count`` when the tree is flat and checks
    out, else pypdf's walk of the whole tree.

    pypdf counts pages by flattening the tree: it parses every page object (about two thirds
    of a 100 KiB upload's check). Most PDFs have a flat tree: the root's ``/Kids`` are the
    pages. Its ``/Count`` is trusted only when it is a whole number equal to the number of
    ``/Kids``, each kid a distinct reference (not the root itself) to an object the
    cross-reference table lists as in use; any other tree (nested, inconsistent, damaged) is
    walked as before, so what the walk refused is still refused (decision 193). A damaged
    page object in a flat tree is not parsed now; the walk did not refuse those either (it
    counted one page less). The catalog and the root are parsed either way, which is also
    where a PDF that needs a password is refused."""
    catalog = reader.root_object
    root_ref = catalog.get("/Pages") if isinstance(catalog, DictionaryObject) else None
    root = root_ref.get_object() if root_ref is not None else None
    if isinstance(root, DictionaryObject) and isinstance(root_ref, IndirectObject):
        count = root.get("/Count")
        kids = root.get("/Kids")
        if (
            root.get("/Type") == "/Pages"
            and isinstance(count, NumberObject)
            and isinstance(kids, ArrayObject)
            and 1 <= count == len(kids)
            and _distinct_listed(reader, kids, root_ref)
        ):
            return int(count)
    return len(reader.pages)


def _distinct_listed(reader: PdfReader, kids: ArrayObject, parent: IndirectObject) -> bool:
    seen = {(parent.idnum, parent.generation)}
    for kid in kids:
        if not isinstance(kid, IndirectObject):
            return False
        key = (kid.idnum, kid.generation)
        if key in seen:
            return False
        seen.add(key)
        in_stream = kid.generation == 0 and kid.idnum in reader.xref_objStm
        in_table = kid.idnum in reader.xref.get(kid.generation, {}) and not (
            reader.xref_free_entry.get(kid.generation, {}).get(kid.idnum, False)
        )
        if not (in_stream or in_table):
            return False
    return True


def too_large(max_bytes: int) -> TooLarge:
    return TooLarge(
        f"Le document dépasse la taille maximale autorisée ({max_bytes // (1024 * 1024)} Mo).",
        code="file_too_large",
    )


def read_chunks(stream: BinaryIO) -> Iterator[bytes]:
    stream.seek(0)
    while chunk := stream.read(CHUNK):
        yield chunk

"""Checks that an upload is a real PDF, reading it from a (spooled) file, not from memory."""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from sisra.platform.errors import Invalid, TooLarge

CHUNK = 256 * 1024


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
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise too_large(max_bytes)
        digest.update(chunk)
    if size > max_bytes:
        raise too_large(max_bytes)
    stream.seek(0)
    try:
        reader = PdfReader(stream, strict=False)
        pages = len(reader.pages)
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


def too_large(max_bytes: int) -> TooLarge:
    return TooLarge(
        f"Le document dépasse la taille maximale autorisée ({max_bytes // (1024 * 1024)} Mo).",
        code="file_too_large",
    )


def read_chunks(stream: BinaryIO) -> Iterator[bytes]:
    stream.seek(0)
    while chunk := stream.read(CHUNK):
        yield chunk

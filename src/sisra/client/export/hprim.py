"""HPRIM Net companion file: the patient's identity beside the PDF, so the practice software
files the document in the right record, as it does for results received by secure mail.

Layout (one field per line, CRLF, Windows-1252 unless the profile says otherwise)::

    1  file name of the PDF            7  postcode and town (empty)
    2  patient id (INS, else Sisra id) 8  date of birth JJ/MM/AAAA
    3  NAME (used name, else birth)    9  social security number (INS if any)
    4  first name                      10 file / request number (document id)
    5  address line 1 (empty)          11 date of the document JJ/MM/AAAA
    6  address line 2 (empty)          12 sender ("Dr Marc GAUTHIER")

then free text lines, then ``****FIN****`` and ``****FINFICHIER****``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sisra.client.export import _item
from sisra.client.export.filenames import to_charset

HEADER_LINES = 12
END_OF_MESSAGE = "****FIN****"
END_OF_FILE = "****FINFICHIER****"
CRLF = "\r\n"
DEFAULT_CHARSET = "cp1252"


def _field(value: str) -> str:
    # One line, and never mistaken for an end marker.
    return _item.text(value).lstrip("*").strip()


def hprim_header(item: dict[str, Any], pdf_name: str) -> str:
    """The whole HPRIM Net file for ``item`` as text with CRLF line endings.

    ``pdf_name`` is the name of the PDF beside it. Encode the result with
    :func:`hprim_bytes` (or ``to_charset`` then ``encode``) in the profile's charset.
    """
    document = _item.section(item, "document")
    sender = _item.section(item, "sender")
    header = [
        pdf_name,
        _item.patient_id(item),
        _item.last_name(item),
        _item.first_name(item),
        "",
        "",
        "",
        _item.fr_date(_item.birth_date(item)),
        _item.ins(item),
        _item.document_id(item),
        _item.fr_date(_item.document_date(item)),
        _item.sender_label(item),
    ]
    kind = _item.type_label(item)
    loinc = _item.text(document.get("loinc"))
    author = ", ".join(
        part
        for part in (
            _item.sender_label(item),
            _item.text(sender.get("profession")),
            _item.text(sender.get("structure")),
        )
        if part
    )
    body = [
        f"Document PDF transmis par Sisra : {pdf_name}",
        f"Titre : {_item.title(item)}",
        f"Type : {kind} (LOINC {loinc})" if loinc else f"Type : {kind}",
        f"Expéditeur : {author}",
    ]
    lines = [_field(line) for line in header] + [_field(line) for line in body]
    return CRLF.join([*lines, END_OF_MESSAGE, END_OF_FILE]) + CRLF


def hprim_bytes(item: dict[str, Any], pdf_name: str, charset: str = DEFAULT_CHARSET) -> bytes:
    """The HPRIM Net file encoded in ``charset``; characters it lacks are transliterated."""
    return to_charset(hprim_header(item, pdf_name), charset, replacement="?").encode(charset)


def _iso(value: str) -> str | None:
    try:
        day, month, year = value.split("/")
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def parse_hprim(text: str | bytes, charset: str = DEFAULT_CHARSET) -> dict[str, Any]:
    """Read back an HPRIM Net file written by :func:`hprim_header`.

    Returns ``pdf_name``, ``patient_id``, ``last_name``, ``first_name``, ``birth_date`` and
    ``document_date`` (ISO dates or None), ``ins`` (None when empty), ``document_id``,
    ``sender``, ``body`` (the free text lines) and ``crlf`` (whether every line ends in CRLF).
    Raises ValueError when the header or the end markers are missing.
    """
    if isinstance(text, bytes):
        text = text.decode(charset)
    crlf = text.endswith(CRLF) and text.count("\n") == text.count(CRLF)
    lines = text.replace(CRLF, "\n").split("\n")
    if END_OF_MESSAGE not in lines or END_OF_FILE not in lines:
        raise ValueError("Fichier HPRIM incomplet : marqueurs de fin absents.")
    end = lines.index(END_OF_MESSAGE)
    if end < HEADER_LINES or lines.index(END_OF_FILE) < end:
        raise ValueError("Fichier HPRIM incomplet : en-tête de 12 lignes attendu.")
    header = lines[:HEADER_LINES]
    return {
        "pdf_name": header[0],
        "patient_id": header[1],
        "last_name": header[2],
        "first_name": header[3],
        "address": [header[4], header[5], header[6]],
        "birth_date": _iso(header[7]),
        "ins": header[8] or None,
        "document_id": header[9],
        "document_date": _iso(header[10]),
        "sender": header[11],
        "body": lines[HEADER_LINES:end],
        "crlf": crlf,
    }

"""HPRIM Net companion file: the patient's identity beside the PDF, so the practice software
files the document in the right record, as it does for results received from laboratories.

The layout is the HPRIM Net convention's 12-line header (HPRIM Santé, « HPRIM Net »
free-text results; the same layout FreeMedForms' HPRIM parser reads and MedShakeEHR's
Apicrypt writer produces; see docs/exports.md)::

    1  patient code (INS of a qualified identity, else the platform's patient id)
    2  NAME (used name, else birth name)
    3  first name
    4  address line 1            (empty: the platform does not hold addresses)
    5  address line 2            (empty)
    6  postcode and town         (empty)
    7  date of birth JJ/MM/AAAA
    8  social security number    « 1690469123045 67 » (13 digits, space, key); only the
                                 production NIR (…1.4.8) of a qualified identity
    9  file / request number     (the document id)
    10 date of the document JJ/MM/AAAA
    11 sender                    (« Dr Marc GAUTHIER »)
    12 recipient                 (« Dr Claire MARTIN »)

then the body (free text: the PDF's file name, title, type, sender) and the end markers
``****FIN****`` and ``****FINFICHIER****``. Lines end in CRLF; the text is ISO-8859-1 unless
the profile says otherwise, with the typographic characters Windows-1252 puts at 0x80–0x9F
(« œ », « ’ », « – »...) transliterated, as those bytes are control characters in ISO-8859-1.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sisra.client.export.filenames import to_charset
from sisra.client.items import InboxItem
from sisra.common.ins import OID_NIR
from sisra.common.xdm import item as _item

HEADER_LINES = 12
END_OF_MESSAGE = "****FIN****"
END_OF_FILE = "****FINFICHIER****"
CRLF = "\r\n"
DEFAULT_CHARSET = "iso-8859-1"
BODY_PDF_PREFIX = "Document PDF : "
# What HPRIM readers render badly even when the charset holds it (brief: «» -> ").
_HPRIM_TRANSLIT = {"«": '"', "»": '"', "\u00a0": " "}


def _field(value: str) -> str:
    # One line, and never mistaken for an end marker.
    return _item.text(value).lstrip("*").strip()


def nss(item: InboxItem) -> str:
    """The social security number as HPRIM writes it (« 1690469123045 67 »), from a NIR.

    Only the production NIR (OID 1.2.250.1.213.1.4.8) of a qualified identity: a NIA
    (INSEE's waiting number) is not a social security number, a NIR of the ANS's test or
    demonstration ranges (…4.10, …4.11) is nobody's, and the INS of an identity that is not
    qualified does not leave the platform. Otherwise the line stays empty.
    """
    ident = item.patient_identifier
    ins = ident.value if ident.is_ins else ""  # empty unless the identity is qualified
    if len(ins) != 15 or _item.text(item.patient.ins_oid) != OID_NIR:
        return ""
    return f"{ins[:13]} {ins[13:]}"


def hprim_header(item: InboxItem, pdf_name: str) -> str:
    """The whole HPRIM Net file for ``item`` as text with CRLF line endings.

    ``pdf_name`` is the name of the PDF beside it (written in the body). Encode the result
    with :func:`hprim_bytes` in the profile's charset.
    """
    document, patient, sender = item.document, item.patient, item.sender
    header = [
        item.patient_identifier.value,
        patient.last_name,
        _item.text(patient.first_given_name),
        "",
        "",
        "",
        _item.fr_date(patient.birth_date),
        nss(item),
        _item.text(document.id),
        _item.fr_date(item.document_date),
        sender.label,
        item.recipient.label if item.recipient else "",
    ]
    kind = _item.text(document.type_label)
    loinc = _item.text(document.loinc)
    author = ", ".join(
        part
        for part in (sender.label, _item.text(sender.profession), _item.text(sender.structure))
        if part
    )
    body = [
        f"{BODY_PDF_PREFIX}{pdf_name}",
        f"Titre : {_item.text(document.title)}",
        f"Type : {kind} (LOINC {loinc})" if loinc else f"Type : {kind}",
        f"Expéditeur : {author}",
        "Transmis par la plateforme Sisra",
    ]
    lines = [_field(line) for line in header] + [_field(line) for line in body]
    return CRLF.join([*lines, END_OF_MESSAGE, END_OF_FILE]) + CRLF


def hprim_bytes(item: InboxItem, pdf_name: str, charset: str = DEFAULT_CHARSET) -> bytes:
    """The HPRIM Net file encoded in ``charset``; characters it lacks are transliterated.

    In ISO-8859-1 (the default) no byte 0x80–0x9F is ever written.
    """
    text = "".join(_HPRIM_TRANSLIT.get(ch, ch) for ch in hprim_header(item, pdf_name))
    return to_charset(text, charset, replacement="?").encode(charset)


def _iso(value: str) -> str | None:
    match = re.fullmatch(r"\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*", value)
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def parse_hprim(text: str | bytes, charset: str = DEFAULT_CHARSET) -> dict[str, Any]:
    """Read an HPRIM Net file (any sender: a laboratory's, or ours) as the convention says.

    The first 12 lines are the header, whatever their content; the body runs from line 13
    to ``****FIN****`` (or to ``****FINFICHIER****``, or to the end when a sender omits the
    markers, as some do). Lines may end in CRLF, LF or CR; trailing spaces are ignored.

    Returns ``patient_code``, ``last_name``, ``first_name``, ``address`` (3 lines),
    ``birth_date`` and ``document_date`` (ISO dates or None), ``nss`` (digits only, None
    when empty), ``file_number``, ``sender``, ``recipient``, ``body`` (lines), ``pdf_name``
    (from a « Document PDF : » body line, else None), ``markers`` (whether both end markers
    are there) and ``crlf`` (whether every line ends in CRLF).
    Raises ValueError (in French) when there are fewer than 12 header lines.
    """
    if isinstance(text, bytes):
        text = text.decode(charset)
    crlf = text.endswith(CRLF) and text.count("\n") == text.count(CRLF) == text.count("\r")
    lines = [line.rstrip() for line in re.split(r"\r\n|\r|\n", text)]
    while lines and not lines[-1]:
        lines.pop()
    ends = [i for i, line in enumerate(lines) if line.strip() in (END_OF_MESSAGE, END_OF_FILE)]
    end = ends[0] if ends else len(lines)
    if end < HEADER_LINES:
        raise ValueError(
            "Fichier HPRIM incomplet : l'en-tête de 12 lignes (patient, nom, prénom, adresse, "
            "naissance, NSS, dossier, date, expéditeur, destinataire) est attendu."
        )
    header = [line.strip() for line in lines[:HEADER_LINES]]
    body = lines[HEADER_LINES:end]
    pdf_name = next(
        (line.strip()[len(BODY_PDF_PREFIX) :] for line in body if line.startswith(BODY_PDF_PREFIX)),
        None,
    )
    markers = {line.strip() for line in lines[end:]}
    return {
        "patient_code": header[0],
        "last_name": header[1],
        "first_name": header[2],
        "address": header[3:6],
        "birth_date": _iso(header[6]),
        "nss": re.sub(r"\s", "", header[7]) or None,
        "file_number": header[8],
        "document_date": _iso(header[9]),
        "sender": header[10],
        "recipient": header[11],
        "body": body,
        "pdf_name": pdf_name,
        "markers": END_OF_MESSAGE in markers and END_OF_FILE in markers,
        "crlf": crlf,
    }

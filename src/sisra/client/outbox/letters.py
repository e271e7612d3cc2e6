"""What a letter dropped in the outbox says: its PDF, its patient, its recipients.

Three forms, in order of certainty (decision 182):

* ``NAME.pdf`` with ``NAME.hpr`` (or ``.hpm``, ``.txt``): an HPRIM Net header in the 12-line
  layout MonSisra itself writes (:mod:`sisra.client.export.hprim`): patient on lines 1–8
  (the NSS on line 8), sender on lines 10–11, the recipients on line 12 (RPPS or ADELI
  numbers, directory names or MSSanté addresses, separated by « ; »); the body's first line
  is the title;
* ``NAME.zip``: an IHE XDM archive (patient, author, intendedRecipient, type and title from
  its METADATA.XML);
* ``NAME.pdf`` alone: nothing to read, so nothing is guessed (:class:`Unreadable`).

Reading never calls the platform; :mod:`sisra.client.outbox.sending` finds the patient and
the recipients.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sisra.client.export.hprim import BODY_PDF_PREFIX, parse_hprim
from sisra.common.doctypes import DOCUMENT_TYPES
from sisra.common.ins import KNOWN_OIDS
from sisra.common.xdm import XdmError, read_xdm
from sisra.common.xdm.codes import IDNAT_PS_OID
from sisra.common.xdm.metadata import hl7_unescape

HEADER_SUFFIXES = (".hpr", ".hpm", ".txt")
MAX_PDF_BYTES = 25 * 1024 * 1024  # the platform's default limit (SISRA_MAX_DOCUMENT_BYTES)
DEFAULT_TYPE = "courrier"
NO_HEADER = "aucun en-tête : patient et destinataires inconnus"
_MAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ID_RE = re.compile(r"^\d{9}$|^\d{11}$")
# HPRIM Net's « code, then name »: the code, padded to its field of 10 characters
_CODED_RE = re.compile(r"^(?P<code>\S{1,11})(?P<gap>\s+)(?P<rest>\S.*)$")
_CIVILITY_RE = re.compile(r"(dr|docteur|pr|professeur|m|mme|mlle|monsieur|madame)\.?", re.I)


class Unreadable(Exception):
    """The letter cannot be sent as it is: ``reason`` says why, in French, for the user (in
    the note beside the files); ``journal`` is the same without the patient's identity, for
    the service's journal (the document log's rule: no patient name there)."""

    def __init__(self, reason: str, journal: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.journal = journal or reason


@dataclass(frozen=True)
class Patient:
    """The patient as the letter names them (nothing checked yet)."""

    ins: str | None = None  # 15 characters, an NIR or NIA
    last_name: str = ""  # used name, else birth name (HPRIM line 2)
    birth_name: str = ""
    first_name: str = ""
    birth_date: date | None = None
    sex: str | None = None

    def describe(self) -> str:
        name = " ".join(
            part for part in (self.last_name or self.birth_name, self.first_name) if part
        )
        born = f", né(e) le {self.birth_date:%d/%m/%Y}" if self.birth_date else ""
        return f"{name or 'patient sans nom'}{born}"


@dataclass(frozen=True)
class Recipient:
    """One recipient as written: ``kind`` is ``rpps``, ``adeli``, ``mssante`` or ``name``."""

    kind: str
    value: str

    def describe(self) -> str:
        labels = {"rpps": "RPPS ", "adeli": "ADELI ", "mssante": "", "name": ""}
        return f"« {labels[self.kind]}{self.value} »"


@dataclass(frozen=True)
class Letter:
    """A letter ready to be matched: the PDF's bytes and what its header says."""

    name: str
    files: tuple[Path, ...]
    pdf: bytes
    patient: Patient
    recipients: tuple[Recipient, ...]
    title: str
    type_code: str = DEFAULT_TYPE
    clinical_date: date = field(default_factory=date.today)


def recipient(text: str) -> Recipient:
    """An RPPS (11 digits), an ADELI (9 digits), an MSSanté address, else a name.

    Laboratories and practice software write HPRIM Net's lines 11 and 12 as a code, left
    aligned in its field and padded with spaces, then the name (« DUPJE      Jean DUPONT »):
    a code that is an RPPS or ADELI number is taken, another (the sender's own code for
    its correspondent) is dropped and the name looked up (docs/interop.md)."""
    value = text.strip()
    compact = re.sub(r"\s", "", value)
    if _ID_RE.match(compact):
        return Recipient("rpps" if len(compact) == 11 else "adeli", compact)
    if _MAIL_RE.match(value):
        return Recipient("mssante", value.lower())
    coded = _CODED_RE.match(value)
    if coded and not _CIVILITY_RE.fullmatch(coded["code"]):
        code, rest = coded["code"], coded["rest"].strip()
        if _ID_RE.match(code):
            return Recipient("rpps" if len(code) == 11 else "adeli", code)
        # a field of 10 (then a space): not a name's first word, nor a double space typed
        if len(coded["gap"]) > 1 and len(code) + len(coded["gap"]) in (10, 11):
            return recipient(rest)
    return Recipient("name", value)


def too_large(limit: int) -> Unreadable:
    size = f"{limit / (1024 * 1024):.1f}".replace(".0", "").replace(".", ",")
    return Unreadable(
        f"le PDF dépasse la taille maximale acceptée par la plateforme ({size} Mo) : "
        "réduisez-le (numérisation en noir et blanc, résolution plus basse)"
    )


def check_pdf(data: bytes) -> None:
    """A PDF the platform may take: a PDF, not encrypted, within the default size limit
    (:func:`sisra.client.outbox.share_pdf` checks the platform's own)."""
    if len(data) > MAX_PDF_BYTES:
        raise too_large(MAX_PDF_BYTES)
    if b"%PDF-" not in data[:1024]:
        raise Unreadable("ce fichier n'est pas un PDF : enregistrez le courrier au format PDF")
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
        if not encrypted:
            _ = len(reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError, OSError):
        raise Unreadable("le PDF est illisible (fichier abîmé ou incomplet)") from None
    if encrypted:
        raise Unreadable("le PDF est protégé par un mot de passe : enregistrez-le sans protection")


def read_pdf(path: Path) -> bytes:
    if path.stat().st_size > MAX_PDF_BYTES:
        raise too_large(MAX_PDF_BYTES)  # without reading it
    data = path.read_bytes()
    check_pdf(data)
    return data


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("iso-8859-1")


def _type_from_body(lines: list[str]) -> str:
    for line in lines:
        if line.startswith("Type : "):
            label = line[len("Type : ") :].split(" (LOINC")[0].strip().casefold()
            for kind in DOCUMENT_TYPES:
                if kind.label.casefold() == label:
                    return kind.code
    return DEFAULT_TYPE


def _title_from_body(lines: list[str]) -> str:
    for line in lines:
        text = line.strip()
        if not text or text.startswith(BODY_PDF_PREFIX):
            continue
        return text.removeprefix("Titre : ").strip()[:200]
    return ""


def read_hprim_letter(name: str, pdf: Path, header: Path) -> Letter:
    """``NAME.pdf`` described by its HPRIM Net header."""
    try:
        fields = parse_hprim(_decode(header.read_bytes()))
    except ValueError as exc:
        raise Unreadable(f"l'en-tête HPRIM est incomplet ({exc})") from None
    data = read_pdf(pdf)
    nss = fields["nss"]
    if nss is not None and not re.fullmatch(r"[0-9AB]{13}\d{2}", nss.upper()):
        raise Unreadable(
            f"le numéro de sécurité sociale de la ligne 8 est invalide (« {nss} ») : "
            "13 chiffres, une espace et la clé, ou rien"
        )
    birth = fields["birth_date"]
    patient = Patient(
        ins=nss.upper() if nss else None,
        last_name=fields["last_name"],
        first_name=fields["first_name"],
        birth_date=date.fromisoformat(birth) if birth else None,
    )
    line12 = str(fields["recipient"])
    recipients = tuple(recipient(part) for part in re.split(r"[;,]", line12) if part.strip())
    if not recipients:
        raise Unreadable("aucun destinataire sur la ligne 12 de l'en-tête HPRIM")
    when = fields["document_date"]
    return Letter(
        name=name,
        files=(pdf, header),
        pdf=data,
        patient=patient,
        recipients=recipients,
        title=_title_from_body(fields["body"]) or pdf.stem[:200],
        type_code=_type_from_body(fields["body"]),
        clinical_date=date.fromisoformat(when) if when else date.today(),
    )


def _xdm_recipient(value: str) -> Recipient | None:
    """``XON|XCN|XTN`` (ITI TF-3 §4.2.3.3.8): the MSSanté address, else the RPPS, else
    the name."""
    parts = [*value.split("|"), "", "", ""][:3]
    xon, xcn, xtn = parts
    telecom = xtn.split("^")
    if len(telecom) > 3 and telecom[3].strip():
        return Recipient("mssante", hl7_unescape(telecom[3]).strip().lower())
    person = [hl7_unescape(c) for c in xcn.split("^")]
    ident = person[0].strip() if person else ""
    authority = person[8].split("&") if len(person) > 8 else []
    oid = authority[1] if len(authority) > 1 else (authority[0] if authority else "")
    if oid == IDNAT_PS_OID and re.fullmatch(r"8\d{11}", ident):
        return Recipient("rpps", ident[1:])
    name = " ".join(p.strip() for p in person[2:3] + person[1:2] if len(person) > 1 and p.strip())
    if name:
        return Recipient("name", name)
    org = hl7_unescape(xon.split("^")[0]).strip()
    return Recipient("name", org) if org else None


def _type_from_loinc(loinc: str | None) -> str:
    for kind in DOCUMENT_TYPES:
        if loinc and kind.loinc == loinc:
            return kind.code
    return DEFAULT_TYPE


def read_xdm_letter(name: str, archive: Path) -> Letter:
    """``NAME.zip``: an IHE XDM archive."""
    from sisra.common.xdm.cda import archive_pdf

    if archive.stat().st_size > 2 * MAX_PDF_BYTES:
        raise too_large(MAX_PDF_BYTES)
    try:
        xdm = read_xdm(archive)
        data = archive_pdf(xdm)
    except (XdmError, ValueError, KeyError, OSError) as exc:
        raise Unreadable(f"l'archive IHE XDM est illisible ({exc})") from None
    check_pdf(data)
    oid, pid = xdm.get("patient_oid"), xdm.get("patient_id")
    birth = xdm.get("birth_date")
    patient = Patient(
        ins=str(pid).upper() if oid in KNOWN_OIDS and pid else None,
        last_name=str(xdm.get("used_name") or xdm.get("birth_name") or ""),
        birth_name=str(xdm.get("birth_name") or ""),
        first_name=str(xdm.get("first_name") or ""),
        birth_date=_iso(birth),
        sex=(str(xdm["sex"]).upper()[:1] or None) if xdm.get("sex") else None,
    )
    found = [_xdm_recipient(v) for v in xdm.get("intended_recipients") or []]
    recipients = tuple(r for r in found if r is not None)
    if not recipients:
        raise Unreadable("l'archive XDM ne nomme aucun destinataire (intendedRecipient)")
    created = str(xdm.get("creation_time") or "")
    return Letter(
        name=name,
        files=(archive,),
        pdf=data,
        patient=patient,
        recipients=recipients,
        title=str(xdm.get("title") or archive.stem)[:200],
        type_code=_type_from_loinc(xdm.get("type_code")),
        clinical_date=_iso(f"{created[:4]}-{created[4:6]}-{created[6:8]}") or date.today(),
    )


def _iso(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None

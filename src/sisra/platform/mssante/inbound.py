"""Reading a message received by MSSanté: who sent it, and the one document it carries.

Pure parsing and checks, no database: :func:`parse` returns a :class:`Received` (the PDF, its
metadata and the patient identity as sent) or raises :class:`Rejected` with the SMTP reply the
gateway gives (the relay then bounces the message to its sender with that reason).

What is accepted (docs/interop.md « MSSanté — receiving from other operators »):

* a message carrying an ``IHE_XDM.ZIP`` (IHE ITI XDM, the MSSanté structured exchange): the
  archive is validated (schema and XDS rules) and read; its document must be a PDF, or a
  CDA R2 N1 document whose body is a PDF;
* a plain message with one PDF attachment: accepted as *unstructured* (no identity);
* a PDF attached beside the XDM archive is accepted only when it is that archive's document
  (senders often attach both).

Refused: malformed MIME, a malformed XDM archive, executables (by name and by content, inside
archives too, at every level), any other attachment, a document that is not a PDF, no document
or several. A zip attachment is read whole before anything else, counting the bytes it actually
expands to (every entry, every nested level) against :class:`ArchiveLimits`: the total, its
ratio to the attachment's size, the entries of an archive and the depth of nesting; an entry
name that could leave its folder (``..``, absolute, backslash, drive letter) is refused.
Images of an HTML body (``multipart/related``: a signature's logo) are checked, then left out.
SMTP replies are ASCII (no SMTPUTF8 on the LMTP hop), so the French reasons carry no accents.
"""

import email
import email.policy
import io
import re
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import errors as mail_errors
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sisra.common import valuesets
from sisra.common.ins import KNOWN_OIDS, InvalidINS, validate_ins
from sisra.common.text import without_forbidden
from sisra.common.xdm import XdmError, read_xdm, unsafe_entry_name, validate_archive
from sisra.common.xdm.cda import read_cda_n1
from sisra.common.xdm.codes import SECTOR_OID

if TYPE_CHECKING:
    from sisra.platform.settings import Settings

XDM_NAME = "IHE_XDM.ZIP"
_INSEE = re.compile(r"[0-9][0-9AB][0-9]{3}")


class Rejected(Exception):
    """The message is refused; ``reply`` is the SMTP reply (code, enhanced code, reason)."""

    def __init__(self, code: str, reply: str) -> None:
        super().__init__(reply)
        self.code = code  # machine reason, for the audit trail
        self.reply = reply
        assert reply.isascii(), "SMTP replies are ASCII"


def malformed(reason: str) -> Rejected:
    return Rejected("malformed", f"554 5.6.0 Message MSSante mal forme : {reason}")


def local_sender() -> Rejected:
    """Mail claiming an address of this platform, handed over by the relay (from outside)."""
    return Rejected(
        "local_sender_from_outside",
        "550 5.7.1 Expediteur refuse : une adresse de cette plateforme ne peut pas arriver de "
        "l'exterieur (usurpation d'adresse)",
    )


# Structural defects the parser recovers from by guessing: a guess is not what the sender sent.
_FATAL_DEFECTS = (
    mail_errors.StartBoundaryNotFoundDefect,
    mail_errors.CloseBoundaryNotFoundDefect,
    mail_errors.MultipartInvariantViolationDefect,
    mail_errors.NoBoundaryInMultipartDefect,
    mail_errors.MissingHeaderBodySeparatorDefect,
    mail_errors.InvalidBase64PaddingDefect,
    mail_errors.InvalidBase64CharactersDefect,
    mail_errors.InvalidBase64LengthDefect,
    mail_errors.InvalidMultipartContentTransferEncodingDefect,
)

# --- executables: by name, and by content whatever the name says -------------------------

EXECUTABLE_EXTENSIONS = frozenset(
    [
        "exe",
        "dll",
        "com",
        "bat",
        "cmd",
        "scr",
        "pif",
        "cpl",
        "msi",
        "msp",
        "msc",
        "jar",
        "js",
        "jse",
        "vbs",
        "vbe",
        "wsf",
        "wsh",
        "ws",
        "ps1",
        "psm1",
        "psd1",
        "sh",
        "bash",
        "csh",
        "ksh",
        "zsh",
        "py",
        "pyc",
        "pl",
        "rb",
        "php",
        "hta",
        "lnk",
        "reg",
        "inf",
        "scf",
        "url",
        "app",
        "apk",
        "deb",
        "rpm",
        "dmg",
        "iso",
        "img",
        "vhd",
        "vhdx",
        "docm",
        "dotm",
        "xlsm",
        "xltm",
        "xlam",
        "xlsb",
        "pptm",
        "potm",
        "ppam",
        "ppsm",
        "sldm",
    ]
)
_MAGIC = (
    (b"MZ", "executable Windows"),
    (b"\x7fELF", "executable ELF"),
    (b"#!", "script"),
    (b"\xca\xfe\xba\xbe", "executable macOS ou Java"),
    (b"\xfe\xed\xfa\xce", "executable macOS"),
    (b"\xfe\xed\xfa\xcf", "executable macOS"),
    (b"\xce\xfa\xed\xfe", "executable macOS"),
    (b"\xcf\xfa\xed\xfe", "executable macOS"),
    # OLE2 compound files: legacy Office documents (macros) and Windows installers
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "document Office ancien format (macros possibles)"),
)
_ZIP_MAGIC = b"PK\x03\x04"
_MACRO_ENTRY = re.compile(r"(^|/)vbaProject\.bin$", re.IGNORECASE)
# the first bytes of a zip entry, for its magic number
_MAX_ENTRY_PEEK = 8


def executable_reason(name: str, head: bytes) -> str | None:
    """Why a file named ``name`` starting with ``head`` is an executable, or ``None``."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension in EXECUTABLE_EXTENSIONS:
        return f"fichier executable ou a macros ({_ascii(name)})"
    for magic, label in _MAGIC:
        if head.startswith(magic):
            return f"{label} ({_ascii(name) or 'sans nom'})"
    return None


# --- zip archives: bounded while they are read ----------------------------------------------

_RATIO_FLOOR = 1024 * 1024  # below this many expanded bytes, the ratio is not looked at
_CHUNK = 64 * 1024
_SPOOL_IN_MEMORY = 1024 * 1024  # a nested zip bigger than this waits on disk


@dataclass(frozen=True)
class ArchiveLimits:
    """How far a received zip may expand (``SISRA_MSSANTE_ARCHIVE_*``)."""

    max_bytes: int
    max_ratio: int
    max_entries: int
    max_depth: int  # zips inside the attachment's zip, level by level

    @classmethod
    def of(cls, settings: "Settings") -> "ArchiveLimits":
        return cls(
            max_bytes=settings.mssante_archive_max_bytes,
            max_ratio=settings.mssante_archive_max_ratio,
            max_entries=settings.mssante_archive_max_entries,
            max_depth=settings.mssante_archive_max_depth,
        )


def archive_refused(reason: str) -> Rejected:
    return Rejected(
        "archive_limits",
        f"554 5.7.1 Archive refusee : {reason}. Envoyez le document sans archive imbriquee "
        "ni compression anormale",
    )


class _Budget:
    """The bytes one attachment expanded to so far, every entry of every level counted as it
    is read (the sizes an archive declares are never believed)."""

    def __init__(self, limits: ArchiveLimits, received: int) -> None:
        self.limits = limits
        self.received = max(received, 1)
        self.expanded = 0

    def spend(self, count: int) -> None:
        self.expanded += count
        limits = self.limits
        if self.expanded > limits.max_bytes:
            mb = limits.max_bytes // (1024 * 1024)
            raise archive_refused(f"decompressee, elle depasse {mb} Mo")
        if self.expanded > _RATIO_FLOOR and self.expanded > limits.max_ratio * self.received:
            raise archive_refused(
                f"taux de compression anormal (plus de {limits.max_ratio} fois sa taille)"
            )


def _inspect_zip(source: IO[bytes], budget: _Budget, depth: int) -> str | None:
    """Read every entry of the zip (and of the zips inside it) within ``budget``: the first
    executable found, or ``None``; :class:`Rejected` when a bound or an entry name is broken."""
    limits = budget.limits
    # counted before the zip module reads its directory: a directory of a million tiny
    # entries would take hundreds of MB as Python objects
    if _directory_records(source) > limits.max_entries:
        raise archive_refused(f"plus de {limits.max_entries} fichiers")
    with zipfile.ZipFile(source) as archive:
        infos = archive.infolist()
        if len(infos) > limits.max_entries:
            raise archive_refused(f"plus de {limits.max_entries} fichiers")
        for info in infos:
            for name in (info.orig_filename, info.filename):
                if why := unsafe_entry_name(name):
                    raise Rejected(
                        "unsafe_entry_name",
                        f"554 5.7.1 Archive refusee : nom de fichier dangereux ({_ascii(why)}) : "
                        f"{_ascii(name)[:80]}",
                    )
        for info in infos:
            if _MACRO_ENTRY.search(info.filename):
                return f"document a macros ({_ascii(info.filename)})"
            if info.is_dir():
                continue
            with archive.open(info) as handle, _spool() as nested:
                head = handle.read(_MAX_ENTRY_PEEK)
                budget.spend(len(head))
                reason = executable_reason(info.filename, head)
                if reason:
                    return reason
                inner = head.startswith(_ZIP_MAGIC)
                if inner and depth >= limits.max_depth:
                    raise archive_refused(
                        f"archives imbriquees sur plus de {limits.max_depth + 1} niveau(x)"
                    )
                if inner:
                    nested.write(head)
                while chunk := handle.read(_CHUNK):
                    budget.spend(len(chunk))
                    if inner:
                        nested.write(chunk)
                if inner:
                    nested.seek(0)
                    reason = _inspect_zip(nested, budget, depth + 1)
                    if reason:
                        return reason
    return None


_DIRECTORY_RECORD = b"PK\x01\x02"


def _directory_records(source: IO[bytes]) -> int:
    """An upper bound of the entries of the zip in ``source``: its central directory records'
    signatures, counted in chunks (compressed data may hold one by chance, rarely)."""
    source.seek(0)
    count, tail = 0, b""
    while chunk := source.read(_CHUNK):
        window = tail + chunk
        count += window.count(_DIRECTORY_RECORD)
        tail = window[-(len(_DIRECTORY_RECORD) - 1) :]
    source.seek(0)
    return count


def _spool() -> "tempfile.SpooledTemporaryFile[bytes]":
    return tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY, prefix="sisra-zip-")


def check_executable(name: str, data: bytes, limits: ArchiveLimits) -> None:
    """Refuse an executable attachment; a zip is read whole, every level, within ``limits``."""
    reason = executable_reason(name, data[:8])
    if reason is None and data.startswith(_ZIP_MAGIC):
        try:
            reason = _inspect_zip(io.BytesIO(data), _Budget(limits, len(data)), 0)
        except (
            zipfile.BadZipFile,
            OSError,
            RuntimeError,
            NotImplementedError,
            EOFError,
            zlib.error,
        ) as exc:
            raise malformed(f"archive illisible ({_ascii(str(exc))[:80]})") from exc
    if reason:
        raise Rejected(
            "executable",
            f"554 5.7.1 Piece jointe refusee : {reason}. Les executables, scripts et "
            "documents a macros ne sont pas acceptes",
        )


# --- what a received message holds ----------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """The patient identity as the sender's software wrote it (XDM ``sourcePatientInfo``)."""

    ins: str | None = None
    ins_oid: str | None = None
    birth_name: str | None = None
    used_name: str | None = None
    first_given_name: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    birth_place_code: str | None = None

    @property
    def has_traits(self) -> bool:
        """Enough strict traits to look a patient up (and to create one from them)."""
        return bool(self.birth_name and self.first_given_name and self.birth_date and self.sex)


@dataclass(frozen=True)
class Author:
    """The sender as the archive names it (``authorPerson``, ``authorInstitution`` and the
    document's ``healthcareFacilityTypeCode``), whatever of it could be read."""

    rpps: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    structure: str | None = None
    finess: str | None = None
    sector_code: str | None = None  # TRE_R02-SecteurActivite, e.g. SA01
    sector_label: str | None = None


def _author_from(xdm: dict[str, Any]) -> Author:
    sender = xdm.get("sender") or {}
    facility = (xdm.get("codes") or {}).get("healthcareFacilityTypeCode") or {}
    code = str(facility.get("code") or "")
    known = re.fullmatch(r"SA[0-9]{2}", code) and facility.get("scheme") == SECTOR_OID

    def text(key: str, size: int) -> str | None:
        return _clip(without_forbidden(str(sender.get(key) or "")), size)

    return Author(
        rpps=sender.get("rpps"),
        first_name=text("first_name", 100),
        last_name=text("last_name", 100),
        structure=text("structure", 200),
        finess=sender.get("finess"),
        sector_code=code if known else None,
        sector_label=_clip(without_forbidden(str(facility.get("label") or "")), 150)
        if known
        else None,
    )


@dataclass
class Received:
    message_id: str
    subject: str
    sender: str  # the From address, lower case
    sender_name: tuple[str, str]  # (first, last), from the From display name
    pdf: bytes
    title: str
    type_code: str
    clinical_date: date
    identity: Identity | None  # None: a plain mail, nothing to match on
    details: dict[str, Any] = field(default_factory=dict)
    author: Author | None = None  # from the XDM archive

    @property
    def structured(self) -> bool:
        return self.identity is not None


def _ascii(text: str) -> str:
    from sisra.common.text import fold

    plain = fold(text) if not text.isascii() else text
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in plain)


def load(raw: bytes) -> EmailMessage:
    """Parse the bytes; a message the parser had to guess at is refused."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
    except (mail_errors.MessageError, ValueError, LookupError) as exc:
        raise malformed(_ascii(str(exc))[:100]) from exc
    assert isinstance(msg, EmailMessage)
    for part in msg.walk():
        fatal = [d for d in part.defects if isinstance(d, _FATAL_DEFECTS)]
        if fatal:
            raise malformed(f"structure MIME invalide ({type(fatal[0]).__name__})")
    return msg


def is_report(msg: Message) -> bool:
    """A delivery or read report (DSN, MDN): ``multipart/report``."""
    return msg.get_content_type() == "multipart/report"


def sender_of(msg: EmailMessage) -> tuple[str, str]:
    """The single ``From:`` address (lower case) and its display name."""
    try:
        values = msg.get_all("From") or []
        pairs = getaddresses([str(v) for v in values])
    except (ValueError, TypeError, IndexError) as exc:
        raise malformed("en-tete From illisible") from exc
    found = [(name, addr) for name, addr in pairs if addr]
    if len(found) != 1 or "@" not in found[0][1]:
        raise malformed("un seul expediteur (From) est attendu")
    name, addr = found[0]
    return addr.strip().lower(), name.strip()


def _split_name(display: str) -> tuple[str, str]:
    """« Dr Jean MARTIN » -> (Jean, MARTIN): the last word is taken as the family name."""
    words = [
        w for w in re.sub(r"^(dr|pr|docteur|professeur)\.?\s+", "", display, flags=re.I).split()
    ]
    if len(words) < 2:
        return "", ""
    return " ".join(words[:-1]), words[-1]


@dataclass
class _Attachment:
    name: str
    content_type: str
    data: bytes
    # an image of the HTML body (a signature's logo, ``multipart/related``): not a document
    body_image: bool = False


def _body_images(msg: EmailMessage) -> set[int]:
    """The parts that are images of an HTML body (after the first part of a
    ``multipart/related``), as mail clients add them to signatures."""
    found: set[int] = set()
    for part in msg.walk():
        if part.get_content_type() == "multipart/related":
            children = part.get_payload()
            if isinstance(children, list):
                found.update(
                    id(c)
                    for c in children[1:]
                    if isinstance(c, Message) and c.get_content_maintype() == "image"
                )
    return found


def _attachments(msg: EmailMessage) -> Iterator[_Attachment]:
    """Every leaf part that is not the message's text (body, alternative HTML)."""
    images = _body_images(msg)
    for part in msg.walk():
        if part.is_multipart() or part.get_content_maintype() == "message":
            continue
        disposition = part.get_content_disposition()
        name = part.get_filename() or ""
        if part.get_content_maintype() == "text" and not name and disposition != "attachment":
            continue  # the body
        try:
            payload = part.get_payload(decode=True)
        except (ValueError, LookupError, AssertionError) as exc:
            raise malformed("piece jointe illisible") from exc
        if not isinstance(payload, bytes):
            raise malformed("piece jointe illisible")
        yield _Attachment(name, part.get_content_type(), payload, id(part) in images)


def _clip(text: str | None, size: int) -> str | None:
    value = (text or "").strip()
    return value[:size] or None


def _pid11_birth_place(metadata: bytes) -> str | None:
    """INSEE code of the birth place: ``PID-11`` address of type ``BDL``, county component
    (ANS CI-SIS volet « Structuration minimale » / IHE PAM France); absent most of the time."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(metadata)  # noqa: S314 - validated by the XDM reader (expat)
    except ET.ParseError:
        return None
    for value in root.iter():
        if not value.tag.endswith("}Value") or not (value.text or "").startswith("PID-11|"):
            continue
        for address in value.text[7:].split("~"):  # type: ignore[index]
            parts = address.split("^")
            if (
                len(parts) > 8
                and parts[6] == "BDL"
                and re.fullmatch(r"[0-9][0-9AB][0-9]{3}", parts[8])
            ):
                return parts[8]
    return None


def _identity_from(xdm: dict[str, Any]) -> Identity:
    ins = oid = None
    if xdm.get("patient_oid") in KNOWN_OIDS and xdm.get("patient_id"):
        try:
            ins, oid = validate_ins(str(xdm["patient_id"])), str(xdm["patient_oid"])
        except InvalidINS:
            ins = oid = None  # a wrong INS is no INS: the traits decide, never a guess
    birth: date | None = None
    if xdm.get("birth_date"):
        try:
            birth = date.fromisoformat(str(xdm["birth_date"]))
        except ValueError:
            birth = None
    sex = str(xdm.get("sex") or "").upper()[:1] or None
    first = str(xdm.get("first_name") or "").split(" ")[0] or None
    return Identity(
        ins=ins,
        ins_oid=oid,
        birth_name=_clip(str(xdm.get("birth_name") or ""), 100),
        used_name=_clip(xdm.get("used_name"), 100),
        first_given_name=_clip(first, 100),
        birth_date=birth,
        sex=sex if sex in ("M", "F", "I") else None,
        birth_place_code=_pid11_birth_place(xdm.get("metadata") or b""),
    )


def _type_code(loinc: str | None) -> str:
    """The document type of a received typeCode (JDV_J07, or a code the platform wrote
    before decision 137), else « autre »."""
    return valuesets.document_type_of(loinc) or "autre"


def _date_of(value: str | None, fallback: date) -> date:
    if value and re.fullmatch(r"\d{8}.*", value):
        try:
            found = date(int(value[:4]), int(value[4:6]), int(value[6:8]))
            return min(found, datetime.now(UTC).date())
        except ValueError:
            pass
    return fallback


def _read_archive(data: bytes) -> dict[str, Any]:
    """Validate the archive with the XDM validator, then read it."""
    with tempfile.TemporaryDirectory(prefix="sisra-xdm-") as tmp:
        path = Path(tmp) / XDM_NAME
        path.write_bytes(data)
        try:
            validate_archive(path, received=True)
            return read_xdm(path)
        except XdmError as exc:
            raise Rejected(
                "malformed_xdm",
                f"554 5.6.0 Archive IHE_XDM.ZIP invalide : {_ascii(str(exc))[:200]}",
            ) from exc


def _archive_pdf(xdm: dict[str, Any]) -> bytes:
    """The PDF of the archive: its document itself, or the body of a CDA R2 N1 document
    (CI-SIS « structuration minimale », IHE XDS-SD: the PDF in base 64 in ``nonXMLBody``),
    as the MSSanté client integration guide has senders write it."""
    mime = str(xdm.get("mime_type") or "")
    content: bytes = xdm["pdf"]
    if mime in ("text/xml", "application/xml"):
        try:
            cda = read_cda_n1(content)
        except (XdmError, ValueError) as exc:
            raise Rejected(
                "malformed_xdm", f"554 5.6.0 Document CDA illisible : {_ascii(str(exc))[:200]}"
            ) from exc
        mime, content = str(cda.get("media_type") or ""), cda["pdf"]
    if mime != "application/pdf" or not content.startswith(b"%PDF-"):
        raise not_pdf(f"le document de l'archive ({_ascii(mime) or 'type inconnu'})")
    return content


def not_pdf(what: str) -> Rejected:
    return Rejected(
        "not_pdf",
        f"554 5.6.0 Document refuse : {what} n'est pas un PDF. Seuls les documents PDF sont "
        "acceptes (seuls ou dans une archive IHE_XDM.ZIP)",
    )


def _message_date(msg: EmailMessage) -> date:
    try:
        sent = parsedate_to_datetime(str(msg.get("Date", "")))
        return min(sent.date(), datetime.now(UTC).date())
    except (TypeError, ValueError, IndexError):
        return datetime.now(UTC).date()


def parse(msg: EmailMessage, limits: ArchiveLimits) -> Received:
    """The document and identity of a (non-report) message, or :class:`Rejected`."""
    sender, display = sender_of(msg)
    subject = _ascii_safe_subject(msg)
    archives: list[_Attachment] = []
    pdfs: list[_Attachment] = []
    for part in _attachments(msg):
        check_executable(part.name, part.data, limits)
        if part.body_image:
            continue  # checked above; not a document
        if part.name.upper() == XDM_NAME:
            archives.append(part)
        elif part.data.startswith(b"%PDF-"):
            pdfs.append(part)
        else:
            raise not_pdf(f"la piece jointe {_ascii(part.name) or part.content_type}")
    if len(archives) > 1:
        raise Rejected("several_documents", "554 5.6.0 Un seul IHE_XDM.ZIP par message est accepte")
    sent_on = _message_date(msg)
    message_id = str(msg.get("Message-ID", "")).strip()[:300]
    base: dict[str, Any] = {"message_id": message_id, "subject": subject, "sender": sender}
    names = _split_name(display)
    if archives:
        xdm = _read_archive(archives[0].data)
        document = _archive_pdf(xdm)
        if any(p.data != document for p in pdfs):
            raise Rejected(
                "several_documents",
                "554 5.6.0 Un seul document par message : le PDF joint n'est pas celui de "
                "l'archive IHE_XDM.ZIP",
            )
        return Received(
            **base,
            sender_name=names,
            pdf=document,
            title=without_forbidden(xdm.get("title") or subject or "Document reçu par MSSanté")[
                :200
            ],
            type_code=_type_code(xdm.get("type_code")),
            clinical_date=_date_of(xdm.get("creation_time"), sent_on),
            identity=_identity_from(xdm),
            details={"xdm": True, "unique_id": xdm.get("unique_id")},
            author=_author_from(xdm),
        )
    if not pdfs:
        raise Rejected(
            "no_document",
            "554 5.6.0 Aucun document : joignez un PDF ou une archive IHE_XDM.ZIP",
        )
    if len(pdfs) > 1:
        raise Rejected(
            "several_documents",
            "554 5.6.0 Un seul document PDF par message : envoyez un message par document",
        )
    return Received(
        **base,
        sender_name=names,
        pdf=pdfs[0].data,
        title=without_forbidden(subject or pdfs[0].name or "Document reçu par MSSanté")[:200],
        type_code="autre",
        clinical_date=sent_on,
        identity=None,
        details={"xdm": False},
    )


def _ascii_safe_subject(msg: EmailMessage) -> str:
    try:
        return " ".join(str(msg.get("Subject", "")).split())[:300]
    except (ValueError, TypeError, LookupError):
        return ""

"""IHE XDM archive, as attached to MSSanté messages: the PDF with its XDS metadata.

This module writes the zip and checks its entries; the metadata are written by
:mod:`sisra.common.xdm.metadata`, validated by :mod:`sisra.common.xdm.validation` and read
back by :mod:`sisra.common.xdm.reader`.

Layout of the archive (IHE ITI TF-1 §16, ITI-32)::

    README.TXT                          who sent what, when, and the platform's contact
    INDEX.HTM                           XHTML page linking to the document
    IHE_XDM/SUBSET01/METADATA.XML       ebRIM 3.0 lcm:SubmitObjectsRequest
    IHE_XDM/SUBSET01/DOC0001.XML        the document: a CDA R2 N1 carrying the PDF (DOC0001.PDF
                                        in archives from other operators that send it bare)

The metadata (IHE ITI TF-3 §4.2.3, with the French CI-SIS value sets of
:mod:`sisra.common.xdm.codes`) hold one submission set (RegistryPackage: author,
intendedRecipient, contentTypeCode) and one document entry (ExtrinsicObject: author with
RPPS and structure identifiers, classCode, confidentialityCode, formatCode,
healthcareFacilityTypeCode, practiceSettingCode, typeCode) linked by a HasMember
association. The patient is identified by the INS under the OID of its kind (NIR, NIA or
their test ranges), as the platform sent it. METADATA.XML is validated with ``xmlschema``
against the OASIS ebRIM 3.0 schemas shipped in ``schemas/``, then by the XDS rules of
:func:`xds_errors`. The archive is deterministic: the same item and PDF give the same bytes.
"""

from __future__ import annotations

import hashlib
import html
import re
import shutil
import xml.etree.ElementTree as ET
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sisra import __version__
from sisra.common import clock
from sisra.common.ins import PatientIdentifier
from sisra.common.xdm import item as _item
from sisra.common.xdm.metadata import (
    INDEX_ENTRY,
    METADATA_ENTRY,
    PDF,
    README_ENTRY,
    SUBSET,
    XHTML,
    Content,
    XdmError,
    _rim,
    metadata_xml,
)
from sisra.common.xdm.validation import _slots, validate_metadata


def _platform(item: dict[str, Any]) -> tuple[str, str, str]:
    """(name, web address, contact e-mail) of the platform that carried the document."""
    platform = _item.section(item, "platform")
    return (
        _item.text(platform.get("name")) or "Sisra",
        _item.text(platform.get("url")),
        _item.text(platform.get("contact_email")),
    )


def readme_text(item: dict[str, Any], content: Content = PDF) -> str:
    sender = _item.section(item, "sender")
    who = ", ".join(
        p
        for p in (
            _item.sender_label(item),
            _item.text(sender.get("profession")),
            _item.text(sender.get("structure")),
        )
        if p
    )
    sent = _item.sent_at(item)
    # a file read on any computer: the time says its zone (UTC), written « 16h21 » as
    # everywhere else (sisra.common.clock)
    when = f"{sent:%d/%m/%Y} à {clock.hhmm(sent)} (UTC)" if sent else "date inconnue"
    patient = f"{_item.last_name(item)} {_item.first_name(item)}".strip()
    if _item.used_name(item) and _item.used_name(item) != _item.birth_name(item):
        patient += f", né(e) {_item.birth_name(item)}"
    birth = _item.fr_date(_item.birth_date(item))
    ident = _item.patient_identifier(item)
    name, url, contact = _platform(item)
    recipient = _item.recipient_label(item)
    lines = [
        "Échange de document de santé au format IHE XDM",
        "",
        f"Expéditeur : {who}",
        *([f"Destinataire : {recipient}"] if recipient else []),
        f"Patient : {patient}" + (f", né(e) le {birth}" if birth else ""),
        patient_line(ident),
        f"Document : {_item.title(item)} ({_item.type_label(item)})",
        f"Date du document : {_item.fr_date(_item.document_date(item))}",
        f"Transmis par : {name}, le {when}",
        *([f"Site de la plateforme : {url}"] if url else []),
        *([f"Contact de la plateforme : {contact}"] if contact else []),
        "",
        "Contenu de l'archive :",
        f"  {INDEX_ENTRY} : page d'accueil avec le lien vers le document",
        f"  {METADATA_ENTRY} : métadonnées XDS (patient, auteur, type de document)",
        f"  {content.entry} : {content.description}",
        "",
        f"Archive produite par MonSisra {__version__}, logiciel de la plateforme {name}.",
        "Ce document contient des données de santé à caractère personnel : il relève du",
        "secret médical et ne doit être communiqué qu'aux professionnels qui prennent en",
        "charge le patient.",
    ]
    return "\r\n".join(lines) + "\r\n"


def index_html(item: dict[str, Any], content: Content = PDF) -> str:
    """INDEX.HTM: a well-formed XHTML 1.0 page (an XML document) linking to the files."""

    def esc(value: str) -> str:
        return html.escape(value, quote=True)

    title = esc(_item.title(item) or "Document")
    patient = esc(f"{_item.last_name(item)} {_item.first_name(item)}".strip())
    sender = esc(_item.sender_label(item))
    date = esc(_item.fr_date(_item.document_date(item)))
    name, _url, contact = _platform(item)
    contact_line = f"<br />\nContact : {esc(contact)}" if contact else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
        f'<html xmlns="{XHTML}" xml:lang="fr" lang="fr">\n<head>\n'
        '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />\n'
        f"<title>{title}</title>\n</head>\n<body>\n"
        f"<h1>{title}</h1>\n"
        f"<p>Patient : {patient}<br />\nExpéditeur : {sender}<br />\nDate : {date}</p>\n"
        f'<ul>\n<li><a href="{content.entry}">{esc(content.link_label)}</a></li>\n'
        f'<li><a href="{README_ENTRY}">Informations sur l&#39;envoi</a></li>\n'
        f'<li><a href="{METADATA_ENTRY}">Métadonnées XDS</a></li>\n</ul>\n'
        f"<p>Transmis par {esc(name)}{contact_line}</p>\n"
        "</body>\n</html>\n"
    )


def patient_line(ident: PatientIdentifier) -> str:
    """The patient identifier as a mail or README names it: the INS only when qualified."""
    if ident.is_ins:
        return f"INS : {ident.value}"
    return (
        f"Identifiant patient : {ident.value} (OID {ident.oid}) ; INS non transmis "
        "(seule une identité qualifiée porte son INS)"
    )


def _zip_info(name: str, moment: datetime) -> zipfile.ZipInfo:
    stamp = max(moment, datetime(1980, 1, 1, tzinfo=UTC))
    info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _digests(handle: IO[bytes]) -> tuple[str, int]:
    sha1 = hashlib.sha1()  # noqa: S324 - XDS requires SHA-1 for the hash slot
    size = 0
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        sha1.update(chunk)
        size += len(chunk)
    return sha1.hexdigest(), size


def write_xdm(
    target: IO[bytes],
    item: dict[str, Any],
    pdf_path: Path,
    oid: str | None = None,
    content: Content = PDF,
) -> None:
    """Write the XDM archive to an open binary file (metadata validated before anything
    is written). ``oid`` overrides the INS OID the platform sent with the patient;
    ``content`` says what the file at ``pdf_path`` is (the PDF, or a CDA R2 carrying it)."""
    with Path(pdf_path).open("rb") as handle:
        sha1, size = _digests(handle)
    metadata = metadata_xml(item, sha1, size, oid, content)
    validate_metadata(metadata)
    moment = _item.sent_at(item) or datetime(1980, 1, 1, tzinfo=UTC)
    with zipfile.ZipFile(target, "w") as archive:
        readme = readme_text(item, content).encode("utf-8")
        archive.writestr(_zip_info(README_ENTRY, moment), readme)
        archive.writestr(_zip_info(INDEX_ENTRY, moment), index_html(item, content).encode("utf-8"))
        archive.writestr(_zip_info(METADATA_ENTRY, moment), metadata)
        with (
            Path(pdf_path).open("rb") as source,
            archive.open(
                _zip_info(content.entry, moment), "w", force_zip64=size > 0x7FFF0000
            ) as dest,
        ):
            shutil.copyfileobj(source, dest, 1 << 20)


_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_entry_name(name: str) -> str | None:
    """Why a zip entry name could reach outside the folder it is extracted to (``..``, an
    absolute path, a backslash, a drive letter, a control character), or ``None``."""
    if not name:
        return "nom vide"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "caractère de contrôle"
    if "\\" in name:
        return "barre oblique inverse"
    if name.startswith("/"):
        return "chemin absolu"
    if _DRIVE.match(name):
        return "lettre de lecteur"
    if ".." in name.split("/"):
        return "remontée de dossier (..)"
    return None


def check_entry_names(archive: zipfile.ZipFile) -> None:
    """Refuse an archive with an entry :func:`unsafe_entry_name` refuses."""
    for info in archive.infolist():
        for name in (info.orig_filename, info.filename):
            reason = unsafe_entry_name(name)
            if reason:
                raise XdmError(f"Archive XDM : nom d'entrée refusé ({reason}) : {name[:80]!r}.")


def validate_archive(zip_path: Path | IO[bytes], *, received: bool = False) -> None:
    """Check a written archive as a reader would find it: every entry there, METADATA.XML
    valid (schema and XDS rules), INDEX.HTM well-formed XHTML, the document's hash and size
    those the metadata declare. Raises :class:`XdmError` with the reason."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            check_entry_names(archive)
            fixed = (README_ENTRY, INDEX_ENTRY, METADATA_ENTRY)
            missing = [e for e in fixed if e not in archive.namelist()]
            if missing:
                raise XdmError(f"Archive XDM incomplète : {', '.join(missing)} absent(s).")
            metadata = archive.read(METADATA_ENTRY)
            validate_metadata(metadata, received=received)
            document = f"{SUBSET}/{_document_uri(metadata)}"
            if document not in archive.namelist():
                raise XdmError(f"Archive XDM incomplète : {document} absent.")
            try:
                page = ET.fromstring(archive.read(INDEX_ENTRY))  # noqa: S314 - expat
            except ET.ParseError as exc:
                raise XdmError(f"INDEX.HTM n'est pas du XHTML bien formé : {exc}") from exc
            if page.tag != f"{{{XHTML}}}html":
                raise XdmError("INDEX.HTM n'est pas une page XHTML.")
            with archive.open(document) as handle:
                sha1, size = _digests(handle)
    except (zipfile.BadZipFile, OSError) as exc:
        raise XdmError(f"Archive XDM illisible : {exc}") from exc
    entry = ET.fromstring(metadata).find(  # noqa: S314 - validated just above
        f"{_rim('RegistryObjectList')}/{_rim('ExtrinsicObject')}"
    )
    assert entry is not None  # validate_metadata checked it
    slots = _slots(entry)
    if slots.get("hash") != [sha1] or slots.get("size") != [str(size)]:
        raise XdmError("Archive XDM : le document ne correspond pas à son empreinte déclarée.")


def _document_uri(metadata: bytes) -> str:
    """The document's file name (URI slot) of valid metadata, refused when not a plain name."""
    entry = ET.fromstring(metadata).find(  # noqa: S314 - validated by the caller
        f"{_rim('RegistryObjectList')}/{_rim('ExtrinsicObject')}"
    )
    uri = (_slots(entry).get("URI") or [""])[0] if entry is not None else ""
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", uri) or uri.startswith("."):
        raise XdmError(f"Archive XDM : URI du document invalide ({uri!r}).")
    return uri


def build_xdm(item: dict[str, Any], pdf_path: Path, out_path: Path, oid: str | None = None) -> None:
    """Write ``out_path`` (conventionally ``IHE_XDM.ZIP``): the XDM archive of the PDF, as
    a CDA R2 N1 document carrying it (decision 138).

    For an atomic, validated write into a watched folder, MonSisra uses
    ``sisra.client.export.write_export``.
    """
    from sisra.common.xdm.cda import write_pdf_xdm  # cda builds on this module

    with Path(out_path).open("wb") as target:
        write_pdf_xdm(target, item, Path(pdf_path), oid)

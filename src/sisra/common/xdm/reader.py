"""Reading an XDM archive back: the document and the description the metadata give of it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import IO, Any

from sisra.common.xdm import codes
from sisra.common.xdm.archive import _document_uri, check_entry_names
from sisra.common.xdm.metadata import (
    _CX_RE,
    CODED_ENTRY,
    DE_AUTHOR,
    DE_PATIENT_ID,
    DE_UNIQUE_ID,
    INDEX_ENTRY,
    METADATA_ENTRY,
    README_ENTRY,
    REFERENCE_ID_LIST,
    SS_AUTHOR,
    SS_CONTENT_TYPE,
    SUBSET,
    XdmError,
    _rim,
    hl7_unescape,
)
from sisra.common.xdm.validation import _classes, _external, _first, _slots


def _parse_pid(values: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("|")
        if sep:
            fields[key] = rest
    return fields


def _code_of(elem: ET.Element, scheme: str) -> dict[str, str] | None:
    found = _classes(elem).get(scheme)
    if found is None:
        return None
    label = found.find(f"{_rim('Name')}/{_rim('LocalizedString')}")
    return {
        "code": found.get("nodeRepresentation", ""),
        "scheme": _first(_slots(found), "codingScheme") or "",
        "label": label.get("value", "") if label is not None else "",
    }


def _hl7_oid(component: str) -> str:
    """The OID of an HD component written ``&<oid>&ISO`` (or a bare OID)."""
    parts = component.split("&")
    return parts[1] if len(parts) > 1 else parts[0]


def read_author(person: str | None, institution: str | None) -> dict[str, str | None]:
    """What an ``authorPerson`` (XCN) and ``authorInstitution`` (XON) say of the sender, as far
    as they can be read; nothing refused (another operator's software writes them its way).

    ``rpps`` only from an id under the IdNat_PS OID with the « 8 » prefix (CI-SIS); ``finess``
    only from an XON identifier under IdNat_Struct with the « 1 » prefix."""
    xcn = [hl7_unescape(c) for c in (person or "").split("^")]
    xon = [hl7_unescape(c) for c in (institution or "").split("^")]
    ident = xcn[0].strip() if xcn else ""
    authority = _hl7_oid(xcn[8]) if len(xcn) > 8 else ""
    rpps = (
        ident[1:] if authority == codes.IDNAT_PS_OID and re.fullmatch(r"8\d{11}", ident) else None
    )
    org_id = xon[9].strip() if len(xon) > 9 else ""
    org_authority = _hl7_oid(xon[5]) if len(xon) > 5 else ""
    finess = (
        org_id[1:]
        if org_authority == codes.IDNAT_STRUCT_OID and re.fullmatch(r"1\w{9}", org_id)
        else None
    )
    return {
        "rpps": rpps,
        "last_name": (xcn[1].strip() if len(xcn) > 1 else "") or None,
        "first_name": (xcn[2].strip() if len(xcn) > 2 else "") or None,
        "structure": (xon[0].strip() if xon else "") or None,
        "finess": finess,
    }


def read_xdm(zip_path: Path | IO[bytes]) -> dict[str, Any]:
    """Read back an XDM archive: identity, document metadata, and the PDF bytes.

    Keys: ``entries``, ``patient_id``, ``patient_oid``, ``source_patient_id``, ``birth_name``,
    ``used_name``, ``first_name``, ``birth_date`` (ISO), ``sex``, ``title``, ``mime_type``,
    ``hash``, ``size``, ``creation_time``, ``uri``, ``unique_id``, ``type_code``,
    ``class_code``, ``codes`` (metadata name -> {code, scheme, label}, including
    ``contentTypeCode``), ``author``, ``author_institution``, ``sender`` (:func:`read_author`),
    ``intended_recipient`` (the first; ``intended_recipients``: all of them),
    ``reference_ids``, ``metadata`` (the XML bytes), ``readme``, ``index`` and ``pdf``.
    """
    source: Path | IO[bytes] = Path(zip_path) if isinstance(zip_path, str | Path) else zip_path
    try:
        with zipfile.ZipFile(source) as archive:
            check_entry_names(archive)
            entries = archive.namelist()
            metadata = archive.read(METADATA_ENTRY)
            readme = archive.read(README_ENTRY).decode("utf-8")
            index = archive.read(INDEX_ENTRY).decode("utf-8")
            root = ET.fromstring(metadata)  # noqa: S314 - expat: no external entities
            objects = root.find(_rim("RegistryObjectList"))
            entry = objects.find(_rim("ExtrinsicObject")) if objects is not None else None
            package = objects.find(_rim("RegistryPackage")) if objects is not None else None
            if entry is None or package is None:
                raise XdmError("Archive XDM sans document (ExtrinsicObject absent).")
            slots = _slots(entry)
            uri = _document_uri(metadata)
            pdf = archive.read(f"{SUBSET}/{uri}")
    except (zipfile.BadZipFile, KeyError) as exc:
        raise XdmError(f"Archive XDM illisible ou incomplète : {exc}") from exc
    patient = _external(entry, DE_PATIENT_ID) or ""
    match = _CX_RE.match(patient)
    pid = _parse_pid(slots.get("sourcePatientInfo", []))
    pid_names = pid.get("PID-5", "").split("~")
    birth_parts = [hl7_unescape(p) for p in pid_names[0].split("^")]
    used_parts = [hl7_unescape(p) for p in pid_names[1].split("^")] if len(pid_names) > 1 else []
    birth = pid.get("PID-7", "")
    author = _classes(entry).get(DE_AUTHOR)
    if author is None:  # the submission set's author stands for the document's
        author = _classes(package).get(SS_AUTHOR)
    author_slots = _slots(author) if author is not None else {}
    localized = entry.find(f"{_rim('Name')}/{_rim('LocalizedString')}")
    coded = {name: _code_of(entry, scheme) for scheme, name in CODED_ENTRY.items()}
    coded["contentTypeCode"] = _code_of(package, SS_CONTENT_TYPE)

    def code(name: str) -> str | None:
        found = coded.get(name)
        return found["code"] if found else None

    return {
        "entries": entries,
        "patient_id": hl7_unescape(match.group("id")) if match else None,
        "patient_oid": match.group("oid") if match else None,
        "source_patient_id": _first(slots, "sourcePatientId"),
        "birth_name": birth_parts[0] if birth_parts else "",
        "first_name": birth_parts[1] if len(birth_parts) > 1 else "",
        "used_name": used_parts[0] if used_parts else None,
        "birth_date": f"{birth[:4]}-{birth[4:6]}-{birth[6:8]}" if len(birth) == 8 else None,
        "sex": pid.get("PID-8"),
        "title": localized.get("value") if localized is not None else None,
        "mime_type": entry.get("mimeType"),
        "hash": _first(slots, "hash"),
        "size": int(slots["size"][0]) if slots.get("size") else None,
        "creation_time": _first(slots, "creationTime"),
        "uri": uri,
        "unique_id": _external(entry, DE_UNIQUE_ID),
        "type_code": code("typeCode"),
        "class_code": code("classCode"),
        "codes": coded,
        "author": _first(author_slots, "authorPerson") or "",
        "author_institution": _first(author_slots, "authorInstitution"),
        "sender": read_author(
            _first(author_slots, "authorPerson"), _first(author_slots, "authorInstitution")
        ),
        "intended_recipient": _first(_slots(package), "intendedRecipient"),
        "intended_recipients": _slots(package).get("intendedRecipient", []),
        "reference_ids": slots.get(REFERENCE_ID_LIST, []),
        "metadata": metadata,
        "readme": readme,
        "index": index,
        "pdf": pdf,
    }

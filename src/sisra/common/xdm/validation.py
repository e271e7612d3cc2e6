"""Validation of METADATA.XML: the OASIS ebRIM 3.0 schemas, then the XDS rules."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from sisra.common.xdm.metadata import (
    _CX_RE,
    _OID_RE,
    _PACKAGE,
    _XCN_ID_RE,
    CODED_ENTRY,
    DE_AUTHOR,
    DE_PATIENT_ID,
    DE_UNIQUE_ID,
    HAS_MEMBER,
    SCHEMA_DIR,
    SS_AUTHOR,
    SS_CONTENT_TYPE,
    SS_PATIENT_ID,
    SS_SOURCE_ID,
    SS_UNIQUE_ID,
    SUBMISSION_SET_NODE,
    XSD_FILES,
    XdmError,
    _rim,
)

if TYPE_CHECKING:
    import xmlschema


@cache
def metadata_schema() -> xmlschema.XMLSchema:
    """The OASIS ebRIM 3.0 schemas shipped in the package (lcm, importing rim and rs).

    xmlschema is imported here, not with the module: it is a third of the start-up of every
    `sisra` command (the client's commands import the export profiles, hence this module),
    and only the exports that write or check an archive need it."""
    import xmlschema

    folder = resources.files(_PACKAGE).joinpath(SCHEMA_DIR)
    with resources.as_file(folder) as path:
        # allow="sandbox": the schemas may only include files of their own folder
        return xmlschema.XMLSchema(
            str(Path(path) / XSD_FILES[0]), base_url=str(path), allow="sandbox"
        )


def validator_name() -> str:
    """The validator applied to METADATA.XML."""
    import xmlschema

    return f"xmlschema {xmlschema.__version__}"


def schema_errors(xml: bytes) -> list[str]:
    """Problems of METADATA.XML against the ebRIM 3.0 schemas (lcm:SubmitObjectsRequest)."""
    root = ET.fromstring(xml)  # noqa: S314 - our own metadata, or an archive we wrote
    problems = []
    for error in metadata_schema().iter_errors(root):
        where = error.path or "/"
        problems.append(f"{where} : {error.reason or error.message}")
    return problems


def _slots(elem: ET.Element) -> dict[str, list[str]]:
    return {
        slot.get("name", ""): [v.text or "" for v in slot.iter(_rim("Value"))]
        for slot in elem.findall(_rim("Slot"))
    }


def _external(elem: ET.Element, scheme: str) -> str | None:
    for ext in elem.findall(_rim("ExternalIdentifier")):
        if ext.get("identificationScheme") == scheme:
            return ext.get("value")
    return None


def _classes(elem: ET.Element) -> dict[str, ET.Element]:
    return {c.get("classificationScheme", ""): c for c in elem.findall(_rim("Classification"))}


def _coded_problems(elem: ET.Element, scheme: str, label: str) -> list[str]:
    found = _classes(elem).get(scheme)
    if found is None:
        return [f"{label} absent"]
    problems = []
    if not found.get("nodeRepresentation"):
        problems.append(f"{label} : code vide")
    if not _slots(found).get("codingScheme"):
        problems.append(f"{label} : codingScheme absent")
    if found.find(f"{_rim('Name')}/{_rim('LocalizedString')}") is None:
        problems.append(f"{label} : libellé absent")
    return problems


def _author_problems(elem: ET.Element, scheme: str, where: str) -> list[str]:
    found = _classes(elem).get(scheme)
    if found is None:
        return [f"auteur absent du {where}"]
    slots = _slots(found)
    person = (slots.get("authorPerson") or [""])[0]
    problems = []
    if not person:
        problems.append(f"authorPerson absent du {where}")
    elif person[0] != "^" and not _XCN_ID_RE.match(person):
        problems.append(f"authorPerson du {where} : XCN avec l'OID des RPPS attendu")
    return problems


def xds_errors(xml: bytes, *, received: bool = False) -> list[str]:
    """XDS rules the schema cannot express: references, required slots, codes, identifiers.

    ``received``: the archive comes from another operator's software, and only what the
    reader needs is required (IHE ITI TF-3 §4.2 leaves the rest to the sender): an author
    may be an institution only, or a person not identified by the RPPS; ``sourcePatientId``
    may be the sender's own identifier, distinct from ``patientId``. Our own writer's
    archives (``received`` False) keep the stricter CI-SIS rules."""
    root = ET.fromstring(xml)  # noqa: S314 - our own metadata, or an archive we wrote
    problems: list[str] = []
    objects = root.find(_rim("RegistryObjectList"))
    if objects is None:
        return ["RegistryObjectList absent"]
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    if len(ids) != len(set(ids)):
        problems.append("identifiants en double")
    known = set(ids)
    for elem in root.iter():
        for attr in ("classifiedObject", "registryObject", "sourceObject", "targetObject"):
            ref = elem.get(attr)
            if ref is None or ref in known:
                continue
            # an association other than HasMember (RPLC, XFRM, APND, signs, IsSnapshotOf)
            # points at a document the archive does not carry: an earlier version, the
            # on-demand document a snapshot was taken of (ITI TF-3 §4.2.2). Not ours to check.
            outside = (
                attr == "targetObject"
                and elem.tag == _rim("Association")
                and elem.get("associationType") != HAS_MEMBER
            )
            if not outside:
                problems.append(f"{attr}={ref} ne désigne aucun objet")
    entries = objects.findall(_rim("ExtrinsicObject"))
    packages = objects.findall(_rim("RegistryPackage"))
    if len(entries) != 1 or len(packages) != 1:
        return [*problems, "un ExtrinsicObject et un RegistryPackage attendus"]
    entry, package = entries[0], packages[0]
    slots = _slots(entry)
    for required in ("creationTime", "hash", "size", "languageCode", "sourcePatientId", "URI"):
        if not slots.get(required):
            problems.append(f"slot {required} absent du document")
    if not re.fullmatch(r"[0-9a-f]{40}", (slots.get("hash") or [""])[0]):
        problems.append("hash : SHA-1 hexadécimal attendu")
    if not (slots.get("size") or [""])[0].isdigit():
        problems.append("size : entier attendu")
    if not _slots(package).get("submissionTime"):
        problems.append("slot submissionTime absent du lot")
    patient = _external(entry, DE_PATIENT_ID)
    match = _CX_RE.match(patient or "")
    if match is None:
        problems.append("XDSDocumentEntry.patientId absent ou mal formé")
    elif len(match.group("oid")) > 64:
        # an INS OID, or the sending platform's own patient OID (an identity that is not
        # qualified travels under its local identifier: docs/interop.md)
        problems.append(f"patientId : OID {match.group('oid')} de plus de 64 caractères")
    if _external(package, SS_PATIENT_ID) != patient:
        problems.append("patientId différent entre le lot et le document")
    if not received and _first(slots, "sourcePatientId") != patient:
        problems.append("sourcePatientId différent du patientId")
    for elem, scheme in ((entry, DE_UNIQUE_ID), (package, SS_UNIQUE_ID), (package, SS_SOURCE_ID)):
        value = _external(elem, scheme) or ""
        if not _OID_RE.fullmatch(value) or len(value) > 64:
            problems.append(f"identifiant {scheme} : OID d'au plus 64 caractères attendu")
    for scheme, label in CODED_ENTRY.items():
        problems += _coded_problems(entry, scheme, label)
    problems += _coded_problems(package, SS_CONTENT_TYPE, "contentTypeCode")
    if not received:
        problems += _author_problems(entry, DE_AUTHOR, "document")
        problems += _author_problems(package, SS_AUTHOR, "lot")
    marked = any(
        c.get("classifiedObject") == package.get("id")
        and c.get("classificationNode") == SUBMISSION_SET_NODE
        for c in objects.findall(_rim("Classification"))
    )
    if not marked:
        problems.append("le RegistryPackage n'est pas classé comme lot de soumission")
    linked = any(
        a.get("associationType") == HAS_MEMBER
        and a.get("sourceObject") == package.get("id")
        and a.get("targetObject") == entry.get("id")
        for a in objects.findall(_rim("Association"))
    )
    if not linked:
        problems.append("association HasMember du lot vers le document absente")
    return problems


# What XML 1.0 cannot carry (its « Char » production): C0 controls but tab and line ends,
# surrogates, U+FFFE and U+FFFF.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def validate_metadata(xml: bytes, *, received: bool = False) -> None:
    """Raise :class:`XdmError` listing every schema and XDS problem of METADATA.XML
    (``received``: see :func:`xds_errors`)."""
    bad = _NOT_XML_CHAR.search(xml.decode("utf-8", "replace"))
    if bad:
        raise XdmError(
            "un texte du document (titre, nom, établissement…) contient un caractère que le "
            f"format XDM ne peut pas porter (U+{ord(bad.group()):04X}) ; l'expéditeur doit "
            "corriger et renvoyer le document"
        )
    try:
        problems = schema_errors(xml) + xds_errors(xml, received=received)
    except ET.ParseError as exc:
        raise XdmError(f"METADATA.XML n'est pas du XML valide : {exc}") from exc
    if problems:
        raise XdmError("METADATA.XML invalide : " + " ; ".join(problems[:10]))


def _first(slots: dict[str, list[str]], name: str) -> str | None:
    values = slots.get(name)
    return values[0] if values else None

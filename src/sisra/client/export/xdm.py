"""IHE XDM archive, as attached to MSSanté messages: the PDF with its XDS metadata.

Layout of the archive (IHE ITI TF-1 §16, ITI-32)::

    README.TXT                          who sent what, when (French)
    INDEX.HTM                           links to the document
    IHE_XDM/SUBSET01/METADATA.XML       ebRIM SubmitObjectsRequest
    IHE_XDM/SUBSET01/DOC0001.PDF        the document

The metadata hold one submission set (RegistryPackage) and one document entry
(ExtrinsicObject) linked by a HasMember association; the patient is identified by the INS
(``INS^^^&<OID>&ISO``), the document's type by its LOINC code, its content by SHA-1 and size.
The archive is deterministic: the same item and PDF give the same bytes.
"""

from __future__ import annotations

import hashlib
import html
import importlib
import re
import shutil
import tempfile
import uuid
import xml.etree.ElementTree as ET
import zipfile
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import IO, Any

from sisra import __version__
from sisra.client.export import _item
from sisra.client.export.xsd_subset import Schema
from sisra.common import doctypes
from sisra.common.ins import OID_NIR

LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
_PACKAGE = "sisra.client.export"
XSD_FILES = ("xdm_metadata.xsd", "xdm_rim.xsd")

ZIP_NAME = "IHE_XDM.ZIP"
SUBSET = "IHE_XDM/SUBSET01"
DOCUMENT_FILE = "DOC0001.PDF"
README_ENTRY = "README.TXT"
INDEX_ENTRY = "INDEX.HTM"
METADATA_ENTRY = f"{SUBSET}/METADATA.XML"
DOCUMENT_ENTRY = f"{SUBSET}/{DOCUMENT_FILE}"
ENTRIES = (README_ENTRY, INDEX_ENTRY, METADATA_ENTRY, DOCUMENT_ENTRY)

# ebRIM / XDS constants (IHE ITI TF-3 §4.2.5)
APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
OT_CLASSIFICATION = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification"
OT_EXTERNAL_ID = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:ExternalIdentifier"
OT_REGISTRY_PACKAGE = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:RegistryPackage"
OT_ASSOCIATION = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association"
HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
DOC_ENTRY_STABLE = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
DE_AUTHOR = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
DE_CLASS_CODE = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
DE_CONFIDENTIALITY = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
DE_FORMAT_CODE = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
DE_TYPE_CODE = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
DE_PATIENT_ID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
DE_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
SUBMISSION_SET_NODE = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
SS_AUTHOR = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"
SS_PATIENT_ID = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
SS_SOURCE_ID = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
SS_UNIQUE_ID = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
LOINC_OID = "2.16.840.1.113883.6.1"
CONFIDENTIALITY_OID = "2.16.840.1.113883.5.25"
FORMAT_OID = "1.3.6.1.4.1.19376.1.2.3"
MIME_SUFFICIENT = "urn:ihe:iti:xds:2017:mimeTypeSufficient"
FALLBACK_LOINC = "34109-9"

# UUID-derived OIDs (ITU-T X.667, arc 2.25) for what has no registered OID: the application
# sending the submission sets, and the platform's patient ids when a patient has no INS.
_SISRA_UUID = uuid.uuid5(uuid.NAMESPACE_URL, "urn:sisra:monsisra")
SOURCE_OID = f"2.25.{_SISRA_UUID.int}"
SISRA_PATIENT_OID = f"2.25.{uuid.uuid5(_SISRA_UUID, 'patients').int}"

ET.register_namespace("lcm", LCM)
ET.register_namespace("rim", RIM)
ET.register_namespace("rs", RS)

_HL7_ESCAPES = (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\"))
_CX_RE = re.compile(r"^(?P<id>[^\^&]+)\^\^\^&(?P<oid>[0-9]+(?:\.[0-9]+)*)&ISO$")


class XdmError(ValueError):
    """An archive or its metadata is not a valid XDM export (message in French)."""


def hl7_escape(value: str) -> str:
    for raw, escaped in _HL7_ESCAPES:
        value = value.replace(raw, escaped)
    return value


def hl7_unescape(value: str) -> str:
    for raw, escaped in reversed(_HL7_ESCAPES):
        value = value.replace(escaped, raw)
    return value


def _uuid_of(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"urn:sisra:{value}")


def uuid_oid(value: str) -> str:
    """The OID form (2.25.<integer>) of a UUID, as XDS unique ids must be OIDs."""
    return f"2.25.{_uuid_of(value).int}"


def patient_cx(item: dict[str, Any], oid: str = OID_NIR) -> str:
    """``INS^^^&<OID>&ISO``; without INS, the platform id under Sisra's patient OID."""
    ins = _item.ins(item)
    if ins:
        return f"{hl7_escape(ins)}^^^&{oid}&ISO"
    patient = _item.text(_item.section(item, "patient").get("id"))
    return f"{hl7_escape(patient)}^^^&{SISRA_PATIENT_OID}&ISO"


def _split_person(name: str) -> tuple[str, str]:
    """'Marc GAUTHIER' -> ('GAUTHIER', 'Marc'): the trailing upper-case words are the name."""
    words = name.split()
    cut = len(words)
    while cut > 0 and words[cut - 1].isupper():
        cut -= 1
    if cut == len(words) or cut == 0:
        return name, ""
    return " ".join(words[cut:]), " ".join(words[:cut])


def _hl7_sex(value: str) -> str:
    return value if value in ("M", "F") else "U"


def _rim(tag: str) -> str:
    return f"{{{RIM}}}{tag}"


class _Builder:
    """Accumulates the registry objects of one submission, with deterministic ids."""

    def __init__(self, seed: uuid.UUID) -> None:
        self.seed = seed
        self.counter = 0

    def new_id(self, label: str) -> str:
        self.counter += 1
        return f"urn:uuid:{uuid.uuid5(self.seed, f'{label}-{self.counter}')}"

    @staticmethod
    def slot(parent: ET.Element, name: str, *values: str) -> None:
        slot = ET.SubElement(parent, _rim("Slot"), {"name": name})
        value_list = ET.SubElement(slot, _rim("ValueList"))
        for value in values:
            ET.SubElement(value_list, _rim("Value")).text = value

    @staticmethod
    def name(parent: ET.Element, value: str) -> None:
        name = ET.SubElement(parent, _rim("Name"))
        ET.SubElement(
            name,
            _rim("LocalizedString"),
            {"{http://www.w3.org/XML/1998/namespace}lang": "fr-FR", "charset": "UTF-8",
             "value": value},
        )  # fmt: skip

    def classification(
        self,
        parent: ET.Element,
        scheme: str,
        classified: str,
        node: str,
        *,
        coding_scheme: str | None = None,
        display: str | None = None,
        slots: tuple[tuple[str, str], ...] = (),
    ) -> None:
        elem = ET.SubElement(
            parent,
            _rim("Classification"),
            {
                "id": self.new_id("classification"),
                "objectType": OT_CLASSIFICATION,
                "classificationScheme": scheme,
                "classifiedObject": classified,
                "nodeRepresentation": node,
            },
        )
        if coding_scheme:
            self.slot(elem, "codingScheme", coding_scheme)
        for slot_name, value in slots:
            if value:
                self.slot(elem, slot_name, value)
        if display:
            self.name(elem, display)

    def external_id(
        self, parent: ET.Element, scheme: str, owner: str, value: str, label: str
    ) -> None:
        elem = ET.SubElement(
            parent,
            _rim("ExternalIdentifier"),
            {
                "id": self.new_id("external-identifier"),
                "objectType": OT_EXTERNAL_ID,
                "registryObject": owner,
                "identificationScheme": scheme,
                "value": value,
            },
        )
        self.name(elem, label)


def _loinc(item: dict[str, Any]) -> tuple[str, str]:
    document = _item.section(item, "document")
    code = _item.text(document.get("loinc"))
    label = _item.type_label(item)
    known = doctypes.get(_item.text(document.get("type_code")))
    if not code and known:
        code = known.loinc
    return code or FALLBACK_LOINC, label or (known.label if known else "Document")


def metadata_xml(item: dict[str, Any], sha1: str, size: int, oid: str = OID_NIR) -> bytes:
    """METADATA.XML for one document whose content has this SHA-1 (hex) and size."""
    notification = _item.text(item.get("id")) or _item.document_id(item)
    b = _Builder(_uuid_of(notification))
    patient = _item.section(item, "patient")
    sender = _item.section(item, "sender")
    cx = patient_cx(item, oid)
    subset_id, doc_id = b.new_id("submission-set"), b.new_id("document-entry")
    family, given = _split_person(_item.sender_name(item))
    author_xcn = f"^{hl7_escape(family)}^{hl7_escape(given)}"
    structure = _item.text(sender.get("structure"))
    author_slots = (("authorPerson", author_xcn), ("authorInstitution", hl7_escape(structure)))
    sent = _item.sent_at(item) or datetime(1980, 1, 1, tzinfo=UTC)
    created = _item.compact_date(_item.document_date(item)) or sent.strftime("%Y%m%d")
    loinc, loinc_label = _loinc(item)

    root = ET.Element(f"{{{LCM}}}SubmitObjectsRequest")
    # ElementTree declares only the prefixes in use; XDM metadata customarily declare rs too.
    root.set("xmlns:rs", RS)
    objects = ET.SubElement(root, _rim("RegistryObjectList"))

    package = ET.SubElement(
        objects,
        _rim("RegistryPackage"),
        {"id": subset_id, "objectType": OT_REGISTRY_PACKAGE, "status": APPROVED},
    )
    b.slot(package, "submissionTime", sent.strftime("%Y%m%d%H%M%S"))
    b.name(package, "Document transmis par Sisra")
    b.classification(package, SS_AUTHOR, subset_id, "", slots=author_slots)
    b.external_id(package, SS_UNIQUE_ID, subset_id, uuid_oid(notification),
                  "XDSSubmissionSet.uniqueId")  # fmt: skip
    b.external_id(package, SS_SOURCE_ID, subset_id, SOURCE_OID, "XDSSubmissionSet.sourceId")
    b.external_id(package, SS_PATIENT_ID, subset_id, cx, "XDSSubmissionSet.patientId")
    ET.SubElement(
        objects,
        _rim("Classification"),
        {
            "id": b.new_id("submission-set-node"),
            "objectType": OT_CLASSIFICATION,
            "classifiedObject": subset_id,
            "classificationNode": SUBMISSION_SET_NODE,
        },
    )

    entry = ET.SubElement(
        objects,
        _rim("ExtrinsicObject"),
        {
            "id": doc_id,
            "mimeType": "application/pdf",
            "objectType": DOC_ENTRY_STABLE,
            "status": APPROVED,
        },
    )
    b.slot(entry, "creationTime", created)
    b.slot(entry, "hash", sha1)
    b.slot(entry, "languageCode", "fr-FR")
    b.slot(entry, "size", str(size))
    b.slot(entry, "sourcePatientId", cx)
    given = hl7_escape(_item.first_name(item))
    names = f"PID-5|{hl7_escape(_item.birth_name(item))}^{given}^^^^^L"
    if _item.used_name(item) and _item.used_name(item) != _item.birth_name(item):
        names += f"~{hl7_escape(_item.used_name(item))}^{given}^^^^^D"
    b.slot(
        entry,
        "sourcePatientInfo",
        f"PID-3|{cx}",
        names,
        f"PID-7|{_item.compact_date(_item.birth_date(item))}",
        f"PID-8|{_hl7_sex(_item.text(patient.get('sex')))}",
    )
    b.slot(entry, "URI", DOCUMENT_FILE)
    b.name(entry, _item.title(item) or loinc_label)
    b.classification(entry, DE_AUTHOR, doc_id, "", slots=author_slots)
    b.classification(entry, DE_CLASS_CODE, doc_id, loinc, coding_scheme=LOINC_OID,
                     display=loinc_label)  # fmt: skip
    b.classification(entry, DE_CONFIDENTIALITY, doc_id, "N", coding_scheme=CONFIDENTIALITY_OID,
                     display="Normal")  # fmt: skip
    b.classification(entry, DE_FORMAT_CODE, doc_id, MIME_SUFFICIENT, coding_scheme=FORMAT_OID,
                     display="Format décrit par le type MIME")  # fmt: skip
    b.classification(entry, DE_TYPE_CODE, doc_id, loinc, coding_scheme=LOINC_OID,
                     display=loinc_label)  # fmt: skip
    b.external_id(entry, DE_PATIENT_ID, doc_id, cx, "XDSDocumentEntry.patientId")
    b.external_id(entry, DE_UNIQUE_ID, doc_id, uuid_oid(_item.document_id(item)),
                  "XDSDocumentEntry.uniqueId")  # fmt: skip

    association = ET.SubElement(
        objects,
        _rim("Association"),
        {
            "id": b.new_id("association"),
            "objectType": OT_ASSOCIATION,
            "associationType": HAS_MEMBER,
            "sourceObject": subset_id,
            "targetObject": doc_id,
        },
    )
    b.slot(association, "SubmissionSetStatus", "Original")
    ET.indent(root)
    xml: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return xml


# ---------------------------------------------------------------------- validation


def _read_resource(name: str) -> bytes:
    if name not in XSD_FILES:
        raise FileNotFoundError(name)
    return resources.files(_PACKAGE).joinpath(name).read_bytes()


@cache
def _subset_schema() -> Schema:
    return Schema(_read_resource, XSD_FILES[0])


@cache
def _lxml_schema() -> Any:
    etree = importlib.import_module("lxml.etree")
    with tempfile.TemporaryDirectory(prefix="sisra-xsd-") as tmp:
        for name in XSD_FILES:
            (Path(tmp) / name).write_bytes(_read_resource(name))
        return etree.XMLSchema(etree.parse(str(Path(tmp) / XSD_FILES[0])))


@cache
def validator_name() -> str:
    """'lxml' when lxml is importable, else 'xsd_subset' (this package's interpreter)."""
    try:
        importlib.import_module("lxml.etree")
    except ImportError:
        return "xsd_subset"
    return "lxml"


def schema_errors(xml: bytes) -> list[str]:
    """Problems of METADATA.XML against xdm_metadata.xsd (lxml, else xsd_subset)."""
    if validator_name() == "lxml":
        etree = importlib.import_module("lxml.etree")
        schema = _lxml_schema()
        if schema.validate(etree.fromstring(xml)):
            return []
        return [f"ligne {e.line} : {e.message}" for e in schema.error_log]
    root = ET.fromstring(xml)  # noqa: S314 - our own metadata, or an archive we wrote
    return _subset_schema().validate(root)


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


def xds_errors(xml: bytes) -> list[str]:
    """XDS rules the schema cannot express: references, required slots and identifiers."""
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
            if ref is not None and ref not in known:
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
    if patient is None or not _CX_RE.match(patient):
        problems.append("XDSDocumentEntry.patientId absent ou mal formé")
    if _external(package, SS_PATIENT_ID) != patient:
        problems.append("patientId différent entre le lot et le document")
    for elem, scheme in ((entry, DE_UNIQUE_ID), (package, SS_UNIQUE_ID), (package, SS_SOURCE_ID)):
        value = _external(elem, scheme) or ""
        if not re.fullmatch(r"[0-2](\.(0|[1-9][0-9]*))+", value) or len(value) > 64:
            problems.append(f"identifiant {scheme} : OID d'au plus 64 caractères attendu")
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


def validate_metadata(xml: bytes) -> None:
    """Raise :class:`XdmError` listing every schema and XDS problem of METADATA.XML."""
    try:
        problems = schema_errors(xml) + xds_errors(xml)
    except ET.ParseError as exc:
        raise XdmError(f"METADATA.XML n'est pas du XML valide : {exc}") from exc
    if problems:
        raise XdmError("METADATA.XML invalide : " + " ; ".join(problems[:10]))


# ---------------------------------------------------------------------- archive


def readme_text(item: dict[str, Any]) -> str:
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
    when = sent.strftime("%d/%m/%Y à %H:%M (UTC)") if sent else "date inconnue"
    patient = f"{_item.last_name(item)} {_item.first_name(item)}".strip()
    if _item.used_name(item) and _item.used_name(item) != _item.birth_name(item):
        patient += f", né(e) {_item.birth_name(item)}"
    birth = _item.fr_date(_item.birth_date(item))
    ins = _item.ins(item)
    lines = [
        "Échange de document de santé au format IHE XDM",
        "",
        f"Expéditeur : {who}",
        f"Patient : {patient}" + (f", né(e) le {birth}" if birth else ""),
        f"INS : {ins}" if ins else "INS : non renseigné",
        f"Document : {_item.title(item)} ({_item.type_label(item)})",
        f"Date du document : {_item.fr_date(_item.document_date(item))}",
        f"Transmis par la plateforme régionale Sisra le {when}",
        "",
        "Contenu de l'archive :",
        f"  {INDEX_ENTRY} : page d'accueil avec le lien vers le document",
        f"  {METADATA_ENTRY} : métadonnées XDS (patient, auteur, type de document)",
        f"  {DOCUMENT_ENTRY} : le document au format PDF",
        "",
        f"Archive produite par MonSisra {__version__}, logiciel de la plateforme Sisra.",
        "Ce document contient des données de santé à caractère personnel : il relève du",
        "secret médical et ne doit être communiqué qu'aux professionnels qui prennent en",
        "charge le patient.",
    ]
    return "\r\n".join(lines) + "\r\n"


def index_html(item: dict[str, Any]) -> str:
    title = html.escape(_item.title(item) or "Document")
    patient = html.escape(f"{_item.last_name(item)} {_item.first_name(item)}".strip())
    sender = html.escape(_item.sender_label(item))
    date = html.escape(_item.fr_date(_item.document_date(item)))
    return (
        '<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n</head>\n<body>\n"
        f"<h1>{title}</h1>\n"
        f"<p>Patient : {patient}<br>\nExpéditeur : {sender}<br>\nDate : {date}</p>\n"
        f'<ul>\n<li><a href="{DOCUMENT_ENTRY}">Ouvrir le document (PDF)</a></li>\n'
        f'<li><a href="{README_ENTRY}">Informations sur l\'envoi</a></li>\n'
        f'<li><a href="{METADATA_ENTRY}">Métadonnées XDS</a></li>\n</ul>\n'
        "</body>\n</html>\n"
    )


def _zip_info(name: str, moment: datetime) -> zipfile.ZipInfo:
    stamp = max(moment, datetime(1980, 1, 1, tzinfo=UTC))
    info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _digests(pdf_path: Path) -> tuple[str, int]:
    sha1 = hashlib.sha1()  # noqa: S324 - XDS requires SHA-1 for the hash slot
    size = 0
    with pdf_path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha1.update(chunk)
            size += len(chunk)
    return sha1.hexdigest(), size


def write_xdm(target: IO[bytes], item: dict[str, Any], pdf_path: Path, oid: str = OID_NIR) -> None:
    """Write the XDM archive to an open binary file (validated before anything is written)."""
    sha1, size = _digests(pdf_path)
    metadata = metadata_xml(item, sha1, size, oid)
    validate_metadata(metadata)
    moment = _item.sent_at(item) or datetime(1980, 1, 1, tzinfo=UTC)
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr(_zip_info(README_ENTRY, moment), readme_text(item).encode("utf-8"))
        archive.writestr(_zip_info(INDEX_ENTRY, moment), index_html(item).encode("utf-8"))
        archive.writestr(_zip_info(METADATA_ENTRY, moment), metadata)
        with (
            pdf_path.open("rb") as source,
            archive.open(
                _zip_info(DOCUMENT_ENTRY, moment), "w", force_zip64=size > 0x7FFF0000
            ) as dest,
        ):
            shutil.copyfileobj(source, dest, 1 << 20)


def build_xdm(item: dict[str, Any], pdf_path: Path, out_path: Path, oid: str = OID_NIR) -> None:
    """Write ``out_path`` (conventionally ``IHE_XDM.ZIP``): the XDM archive of the PDF.

    ``oid`` is the INS assigning authority: 1.2.250.1.213.1.4.8 (NIR) by default, the test
    OID 1.2.250.1.213.1.4.10 for demo data. For an atomic write into a watched folder, use
    :func:`sisra.client.export.write_export`.
    """
    with Path(out_path).open("wb") as target:
        write_xdm(target, item, Path(pdf_path), oid)


def _first(slots: dict[str, list[str]], name: str) -> str | None:
    values = slots.get(name)
    return values[0] if values else None


def _parse_pid(values: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("|")
        if sep:
            fields[key] = rest
    return fields


def read_xdm(zip_path: Path | IO[bytes]) -> dict[str, Any]:
    """Read back an XDM archive: identity, document metadata, and the PDF bytes.

    Keys: ``entries``, ``patient_id``, ``patient_oid``, ``source_patient_id``, ``birth_name``,
    ``used_name``, ``first_name``, ``birth_date`` (ISO), ``sex``, ``title``, ``mime_type``,
    ``hash``, ``size``, ``creation_time``, ``uri``, ``unique_id``, ``type_code``,
    ``class_code``, ``author``, ``metadata`` (the XML bytes), ``readme`` and ``pdf``.
    """
    source: Path | IO[bytes] = Path(zip_path) if isinstance(zip_path, str | Path) else zip_path
    try:
        with zipfile.ZipFile(source) as archive:
            entries = archive.namelist()
            metadata = archive.read(METADATA_ENTRY)
            readme = archive.read(README_ENTRY).decode("utf-8")
            root = ET.fromstring(metadata)  # noqa: S314 - expat: no external entities
            entry = root.find(f"{_rim('RegistryObjectList')}/{_rim('ExtrinsicObject')}")
            if entry is None:
                raise XdmError("Archive XDM sans document (ExtrinsicObject absent).")
            slots = _slots(entry)
            uri = (slots.get("URI") or [""])[0]
            if not re.fullmatch(r"[A-Za-z0-9_.\-]+", uri) or uri.startswith("."):
                raise XdmError(f"Archive XDM : URI du document invalide ({uri!r}).")
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
    classes = {c.get("classificationScheme"): c for c in entry.findall(_rim("Classification"))}
    author = classes.get(DE_AUTHOR)
    author_slots = _slots(author) if author is not None else {}
    localized = entry.find(f"{_rim('Name')}/{_rim('LocalizedString')}")

    def code(scheme: str) -> str | None:
        found = classes.get(scheme)
        return found.get("nodeRepresentation") if found is not None else None

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
        "type_code": code(DE_TYPE_CODE),
        "class_code": code(DE_CLASS_CODE),
        "author": hl7_unescape((author_slots.get("authorPerson") or [""])[0]),
        "metadata": metadata,
        "readme": readme,
        "pdf": pdf,
    }

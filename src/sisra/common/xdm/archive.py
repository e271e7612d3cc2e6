"""IHE XDM archive, as attached to MSSanté messages: the PDF with its XDS metadata.

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
import uuid
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import IO, Any

import xmlschema

from sisra import __version__
from sisra.common import clock, valuesets
from sisra.common.ins import DEFAULT_PATIENT_ID_OID, KNOWN_OIDS, OID_NIR, PatientIdentifier
from sisra.common.xdm import codes
from sisra.common.xdm import item as _item

LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
_PACKAGE = "sisra.common.xdm"
SCHEMA_DIR = "schemas"
XSD_FILES = ("lcm.xsd", "rim.xsd", "rs.xsd", "query.xsd", "xml.xsd")

ZIP_NAME = "IHE_XDM.ZIP"
SUBSET = "IHE_XDM/SUBSET01"
DOCUMENT_FILE = "DOC0001.PDF"
README_ENTRY = "README.TXT"
INDEX_ENTRY = "INDEX.HTM"
METADATA_ENTRY = f"{SUBSET}/METADATA.XML"
DOCUMENT_ENTRY = f"{SUBSET}/{DOCUMENT_FILE}"
ENTRIES = (README_ENTRY, INDEX_ENTRY, METADATA_ENTRY, DOCUMENT_ENTRY)
XHTML = "http://www.w3.org/1999/xhtml"

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
DE_FACILITY_TYPE = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1"
DE_PRACTICE_SETTING = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead"
DE_TYPE_CODE = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
DE_PATIENT_ID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
DE_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
SUBMISSION_SET_NODE = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
SS_AUTHOR = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"
SS_CONTENT_TYPE = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"
SS_PATIENT_ID = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
SS_SOURCE_ID = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
SS_UNIQUE_ID = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
REFERENCE_ID_LIST = "urn:ihe:iti:xds:2013:referenceIdList"
UNIQUE_ID_TYPE = "urn:ihe:iti:xds:2013:uniqueId"
LOINC_OID = "2.16.840.1.113883.6.1"
FORMAT_OID = "1.3.6.1.4.1.19376.1.2.3"
MIME_SUFFICIENT = "urn:ihe:iti:xds:2017:mimeTypeSufficient"
# CI-SIS JDV_J10-XdsFormatCode-CISIS: a CDA R2 document whose body is a PDF (XDS-SD, N1)
FORMAT_CDA_PDF = "urn:ihe:iti:xds-sd:pdf:2008"
# the coded classifications every document entry carries (scheme -> metadata name)
CODED_ENTRY = {
    DE_CLASS_CODE: "classCode",
    DE_CONFIDENTIALITY: "confidentialityCode",
    DE_FORMAT_CODE: "formatCode",
    DE_FACILITY_TYPE: "healthcareFacilityTypeCode",
    DE_PRACTICE_SETTING: "practiceSettingCode",
    DE_TYPE_CODE: "typeCode",
}

# UUID-derived OIDs (ITU-T X.667, arc 2.25) for what has no registered OID: the application
# sending the submission sets, and (by default) the platform's patient ids when the INS may
# not be given (settings.patient_id_oid, sent to MonSisra with each item).
_SISRA_UUID = uuid.uuid5(uuid.NAMESPACE_URL, "urn:sisra:monsisra")
SOURCE_OID = f"2.25.{_SISRA_UUID.int}"
SISRA_PATIENT_OID = DEFAULT_PATIENT_ID_OID

ET.register_namespace("lcm", LCM)
ET.register_namespace("rim", RIM)
ET.register_namespace("rs", RS)

_HL7_ESCAPES = (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\"))
_CX_RE = re.compile(r"^(?P<id>[^\^&]+)\^\^\^&(?P<oid>[0-9]+(?:\.[0-9]+)*)&ISO$")
_XCN_ID_RE = re.compile(
    r"^[^\^]+\^[^\^]*\^[^\^]*\^\^\^\^\^\^&" + re.escape(codes.IDNAT_PS_OID) + "&ISO"
)
_OID_RE = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")


class XdmError(ValueError):
    """An archive or its metadata is not a valid XDM export (message in French)."""


@dataclass(frozen=True)
class Content:
    """What the archive's document is: its file, MIME type, XDS formatCode and description."""

    file_name: str
    mime_type: str
    format_code: str
    format_label: str
    description: str
    link_label: str

    @property
    def entry(self) -> str:
        return f"{SUBSET}/{self.file_name}"


# the PDF itself, declared by its MIME type: what some other operators send (read on
# reception). The platform does not write it: its formatCode is not in
# JDV_J10-XdsFormatCode-CISIS; MonSisra and MSSanté write CDA_PDF (decision 138).
PDF = Content(
    DOCUMENT_FILE,
    "application/pdf",
    MIME_SUFFICIENT,
    "Format décrit par le type MIME",
    "le document au format PDF",
    "Ouvrir le document (PDF)",
)
# a CDA R2 « structuration minimale » document carrying the PDF (MSSanté messages and
# MonSisra's exports)
CDA_PDF = Content(
    "DOC0001.XML",
    "text/xml",
    FORMAT_CDA_PDF,
    "Document à corps non structuré en Pdf/A-1",
    "le document de santé CDA R2 (le PDF dans son corps)",
    "Ouvrir le document (CDA R2)",
)


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


def ins_oid_for(item: dict[str, Any], oid: str | None = None) -> str:
    """The assigning authority of the patient's INS: ``oid`` when given, else the one the
    platform sent with the patient, else the NIR's (platforms that did not send it)."""
    chosen = oid or _item.ins_oid(item) or OID_NIR
    if chosen not in KNOWN_OIDS:
        raise XdmError(
            f"L'OID de l'INS « {chosen} » n'est pas celui d'un NIR ou d'un NIA : "
            "l'archive ne peut pas identifier le patient."
        )
    return chosen


def patient_cx(item: dict[str, Any], oid: str | None = None) -> str:
    """``INS^^^&<OID>&ISO`` for a qualified identity; otherwise the platform's patient id
    under the platform's OID (:func:`sisra.common.xdm.item.patient_identifier`)."""
    ident = _item.patient_identifier(item)
    if ident.is_ins:
        return f"{hl7_escape(ident.value)}^^^&{ins_oid_for(item, oid)}&ISO"
    return f"{hl7_escape(ident.value)}^^^&{ident.oid}&ISO"


def _clip(value: str, size: int) -> str:
    return value[:size].rstrip()


def national_id(person: dict[str, Any]) -> str:
    """IdNat_PS: « 8 » + RPPS, else « 0 » + ADELI, else empty."""
    rpps, adeli = _item.text(person.get("rpps")), _item.text(person.get("adeli"))
    return f"8{rpps}" if rpps else (f"0{adeli}" if adeli else "")


def xcn(person: dict[str, Any]) -> str:
    """A professional in XCN form: ``8<RPPS>^NAME^First^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS``
    (CI-SIS); without RPPS nor ADELI, ``^NAME^First``."""
    family, given = _item.split_person(person)
    names = f"{hl7_escape(_clip(family, 64))}^{hl7_escape(_clip(given, 64))}"
    ident = national_id(person)
    if not ident:
        return f"^{names}"
    return f"{ident}^{names}^^^^^^&{codes.IDNAT_PS_OID}&ISO^D^^^IDNPS"


def xon(person: dict[str, Any]) -> str:
    """The professional's structure in XON form, with its IdNat_Struct (« 1 » + FINESS,
    else « 3 » + SIRET) when the directory has one:
    ``Name^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^1<FINESS>``; empty without a structure."""
    name = hl7_escape(_clip(_item.text(person.get("structure")), 100))
    finess, siret = _item.text(person.get("finess")), _item.text(person.get("siret"))
    ident = f"1{finess}" if finess else (f"3{siret}" if siret else "")
    if not name:
        return ""
    if not ident:
        return name
    return f"{name}^^^^^&{codes.IDNAT_STRUCT_OID}&ISO^IDNST^^^{ident}"


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

    def coded(self, parent: ET.Element, scheme: str, classified: str, code: codes.Code) -> None:
        self.classification(
            parent, scheme, classified, code.code, coding_scheme=code.scheme, display=code.label
        )

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


def type_code_of(item: dict[str, Any]) -> valuesets.Concept:
    """The document's typeCode and its label in JDV_J07-XdsTypeCode-CISIS, from its type
    (decision 137): the LOINC code an older platform stored with the document is not used,
    so that no code outside the value set is written."""
    document = _item.section(item, "document")
    return valuesets.type_concept(_item.text(document.get("type_code")))


def _loinc(item: dict[str, Any]) -> tuple[str, str]:
    concept = type_code_of(item)
    return concept.code, concept.label


def intended_recipient(item: dict[str, Any]) -> str:
    """``XON|XCN|XTN`` of the professional the document was sent to (ITI TF-3 §4.2.3.3.8):
    the XTN ``^^Internet^<address>`` when the recipient has an MSSanté address; a
    correspondent known only by a typed address is that XTN alone (``||^^Internet^…``),
    never a person's name made of the address's parts."""
    recipient = _item.section(item, "recipient")
    if not recipient:
        return ""
    address = _item.mssante_address(recipient)
    telecom = f"^^Internet^{hl7_escape(address)}" if address else ""
    if _item.person_named_by_address(recipient):
        return f"||{telecom}"
    named = f"{xon(recipient)}|{xcn(recipient)}"
    return f"{named}|{telecom}" if telecom else named


def metadata_xml(
    item: dict[str, Any], sha1: str, size: int, oid: str | None = None, content: Content = PDF
) -> bytes:
    """METADATA.XML for one document whose content has this SHA-1 (hex) and size."""
    notification = _item.text(item.get("id")) or _item.document_id(item)
    b = _Builder(_uuid_of(notification))
    patient = _item.section(item, "patient")
    sender = _item.section(item, "sender")
    document = _item.section(item, "document")
    cx = patient_cx(item, oid)
    subset_id, doc_id = b.new_id("submission-set"), b.new_id("document-entry")
    author_slots = (("authorPerson", xcn(sender)), ("authorInstitution", xon(sender)))
    facility, setting = codes.sector_of(
        _item.text(sender.get("structure")),
        _item.text(sender.get("sector_code")),
        _item.text(sender.get("sector_label")),
    )
    sent = _item.sent_at(item) or datetime(1980, 1, 1, tzinfo=UTC)
    created = _item.compact_date(_item.document_date(item)) or sent.strftime("%Y%m%d")
    loinc, loinc_label = _loinc(item)
    confidentiality = codes.RESTRICTED if document.get("restricted") else codes.NORMAL

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
    recipient = intended_recipient(item)
    if recipient:
        b.slot(package, "intendedRecipient", recipient)
    b.name(package, "Document transmis par Sisra")
    b.classification(package, SS_AUTHOR, subset_id, "", slots=author_slots)
    b.coded(package, SS_CONTENT_TYPE, subset_id, facility)
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
            "mimeType": content.mime_type,
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
    b.slot(entry, "URI", content.file_name)
    replied = _item.text(document.get("in_reply_to"))
    if replied:  # a reply names the document it answers (ITI TF-3 §4.2.3.2.23)
        b.slot(entry, REFERENCE_ID_LIST, f"{uuid_oid(replied)}^^^^{UNIQUE_ID_TYPE}")
    b.name(entry, _item.title(item) or loinc_label)
    b.classification(entry, DE_AUTHOR, doc_id, "", slots=author_slots)
    b.coded(entry, DE_CLASS_CODE, doc_id,
            codes.class_code(_item.text(document.get("type_code"))))  # fmt: skip
    b.coded(entry, DE_CONFIDENTIALITY, doc_id, confidentiality)
    b.classification(entry, DE_FORMAT_CODE, doc_id, content.format_code,
                     coding_scheme=FORMAT_OID, display=content.format_label)  # fmt: skip
    b.coded(entry, DE_FACILITY_TYPE, doc_id, facility)
    b.coded(entry, DE_PRACTICE_SETTING, doc_id, setting)
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


@cache
def metadata_schema() -> xmlschema.XMLSchema:
    """The OASIS ebRIM 3.0 schemas shipped in the package (lcm, importing rim and rs)."""
    folder = resources.files(_PACKAGE).joinpath(SCHEMA_DIR)
    with resources.as_file(folder) as path:
        # allow="sandbox": the schemas may only include files of their own folder
        return xmlschema.XMLSchema(
            str(Path(path) / XSD_FILES[0]), base_url=str(path), allow="sandbox"
        )


def validator_name() -> str:
    """The validator applied to METADATA.XML."""
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


# ---------------------------------------------------------------------- archive


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
    ``intended_recipient``,
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
        "reference_ids": slots.get(REFERENCE_ID_LIST, []),
        "metadata": metadata,
        "readme": readme,
        "index": index,
        "pdf": pdf,
    }

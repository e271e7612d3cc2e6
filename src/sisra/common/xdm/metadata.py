"""The XDS metadata of an XDM archive (METADATA.XML): ebRIM 3.0 vocabulary and writer.

One submission set and one document entry linked by a HasMember association (IHE ITI
TF-3 §4.2.3), coded with the CI-SIS value sets of :mod:`sisra.common.xdm.codes`; the
patient, authors and structures in HL7 v2 datatypes (CX, XCN, XON).
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sisra.common import valuesets
from sisra.common.ins import DEFAULT_PATIENT_ID_OID, KNOWN_OIDS, OID_NIR
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


@dataclass(frozen=True)
class _Shared:
    """What the submission set and the document entry both carry."""

    item: dict[str, Any]
    cx: str  # the patient, HL7 CX
    subset_id: str
    doc_id: str
    author_slots: tuple[tuple[str, str], ...]
    facility: codes.Code


def metadata_xml(
    item: dict[str, Any], sha1: str, size: int, oid: str | None = None, content: Content = PDF
) -> bytes:
    """METADATA.XML for one document whose content has this SHA-1 (hex) and size."""
    notification = _item.text(item.get("id")) or _item.document_id(item)
    b = _Builder(_uuid_of(notification))
    sender = _item.section(item, "sender")
    subset_id, doc_id = b.new_id("submission-set"), b.new_id("document-entry")
    facility, setting = codes.sector_of(
        _item.text(sender.get("structure")),
        _item.text(sender.get("sector_code")),
        _item.text(sender.get("sector_label")),
    )
    shared = _Shared(
        item=item,
        cx=patient_cx(item, oid),
        subset_id=subset_id,
        doc_id=doc_id,
        author_slots=(("authorPerson", xcn(sender)), ("authorInstitution", xon(sender))),
        facility=facility,
    )
    sent = _item.sent_at(item) or datetime(1980, 1, 1, tzinfo=UTC)
    created = _item.compact_date(_item.document_date(item)) or sent.strftime("%Y%m%d")

    root = ET.Element(f"{{{LCM}}}SubmitObjectsRequest")
    # ElementTree declares only the prefixes in use; XDM metadata customarily declare rs too.
    root.set("xmlns:rs", RS)
    objects = ET.SubElement(root, _rim("RegistryObjectList"))
    _submission_set(b, objects, shared, notification, sent)
    entry = _document_entry(b, objects, shared, content, created, sha1, size)
    _entry_classes(b, entry, shared, content, setting)

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


def _submission_set(
    b: _Builder, objects: ET.Element, shared: _Shared, notification: str, sent: datetime
) -> None:
    """The RegistryPackage and the classification that makes it a submission set."""
    subset_id, cx = shared.subset_id, shared.cx
    package = ET.SubElement(
        objects,
        _rim("RegistryPackage"),
        {"id": subset_id, "objectType": OT_REGISTRY_PACKAGE, "status": APPROVED},
    )
    b.slot(package, "submissionTime", sent.strftime("%Y%m%d%H%M%S"))
    recipient = intended_recipient(shared.item)
    if recipient:
        b.slot(package, "intendedRecipient", recipient)
    b.name(package, "Document transmis par Sisra")
    b.classification(package, SS_AUTHOR, subset_id, "", slots=shared.author_slots)
    b.coded(package, SS_CONTENT_TYPE, subset_id, shared.facility)
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


def _document_entry(
    b: _Builder,
    objects: ET.Element,
    shared: _Shared,
    content: Content,
    created: str,
    sha1: str,
    size: int,
) -> ET.Element:
    """The ExtrinsicObject and its slots: when, which content, which patient."""
    item, cx = shared.item, shared.cx
    patient = _item.section(item, "patient")
    entry = ET.SubElement(
        objects,
        _rim("ExtrinsicObject"),
        {
            "id": shared.doc_id,
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
    return entry


def _entry_classes(
    b: _Builder, entry: ET.Element, shared: _Shared, content: Content, setting: codes.Code
) -> None:
    """The document entry's name, classifications and external identifiers."""
    item, doc_id = shared.item, shared.doc_id
    document = _item.section(item, "document")
    loinc, loinc_label = _loinc(item)
    confidentiality = codes.RESTRICTED if document.get("restricted") else codes.NORMAL
    replied = _item.text(document.get("in_reply_to"))
    if replied:  # a reply names the document it answers (ITI TF-3 §4.2.3.2.23)
        b.slot(entry, REFERENCE_ID_LIST, f"{uuid_oid(replied)}^^^^{UNIQUE_ID_TYPE}")
    b.name(entry, _item.title(item) or loinc_label)
    b.classification(entry, DE_AUTHOR, doc_id, "", slots=shared.author_slots)
    b.coded(entry, DE_CLASS_CODE, doc_id,
            codes.class_code(_item.text(document.get("type_code"))))  # fmt: skip
    b.coded(entry, DE_CONFIDENTIALITY, doc_id, confidentiality)
    b.classification(entry, DE_FORMAT_CODE, doc_id, content.format_code,
                     coding_scheme=FORMAT_OID, display=content.format_label)  # fmt: skip
    b.coded(entry, DE_FACILITY_TYPE, doc_id, shared.facility)
    b.coded(entry, DE_PRACTICE_SETTING, doc_id, setting)
    b.classification(entry, DE_TYPE_CODE, doc_id, loinc, coding_scheme=LOINC_OID,
                     display=loinc_label)  # fmt: skip
    b.external_id(entry, DE_PATIENT_ID, doc_id, shared.cx, "XDSDocumentEntry.patientId")
    b.external_id(entry, DE_UNIQUE_ID, doc_id, uuid_oid(_item.document_id(item)),
                  "XDSDocumentEntry.uniqueId")  # fmt: skip

"""A CDA R2 document of the CI-SIS « structuration minimale », level N1: the PDF in its body.

The MSSanté client integration guide asks that a health document sent by mail travel as a CDA
R2 document inside the ``IHE_XDM.ZIP`` attachment; a PDF becomes a CDA whose header carries
the minimal structured metadata (patient with INS, author with RPPS, document type, dates,
custodian, care setting) and whose ``nonXMLBody`` holds the PDF in base 64 (IHE XDS-SD).

:func:`cda_n1` builds it from the same document description (an inbox item) the XDM writer
reads; :func:`read_cda_n1` reads back what a test or a reader needs. The templates are the
ones the CI-SIS lists for the French header and for an unstructured body; the document is
not checked against the CDA schema nor the CI-SIS schematrons here (docs/interop.md).
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from sisra.common import doctypes
from sisra.common.xdm import codes
from sisra.common.xdm import item as _item
from sisra.common.xdm.archive import (
    FALLBACK_LOINC,
    LOINC_OID,
    SOURCE_OID,
    XdmError,
    ins_oid_for,
    national_id,
    uuid_oid,
)

HL7 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
TEMPLATE_HL7_FRANCE = "2.16.840.1.113883.2.8.2.1"
TEMPLATE_CI_SIS = "1.2.250.1.213.1.1.1.1"
TEMPLATE_XDS_SD = "1.3.6.1.4.1.19376.1.2.20"  # IHE XDS-SD: scanned/unstructured document
TEMPLATES = (TEMPLATE_HL7_FRANCE, TEMPLATE_CI_SIS, TEMPLATE_XDS_SD)
TYPE_ID_ROOT = "2.16.840.1.113883.1.3"
CONFIDENTIALITY_OID = "2.16.840.1.113883.5.25"
GENDER_OID = "2.16.840.1.113883.5.1"

ET.register_namespace("", HL7)
ET.register_namespace("xsi", XSI)


def _hl7(tag: str) -> str:
    return f"{{{HL7}}}{tag}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    elem = ET.SubElement(parent, _hl7(tag), attrs)
    if text is not None:
        elem.text = text
    return elem


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")


def _name(parent: ET.Element, family: str, given: str, qualifier: str | None = None) -> None:
    name = _sub(parent, "name")
    if given:
        _sub(name, "given", given)
    family_el = _sub(name, "family", family)
    if qualifier:
        family_el.set("qualifier", qualifier)


def cda_n1(item: dict[str, Any], pdf: bytes, oid: str | None = None) -> bytes:
    """The CDA R2 N1 document of ``item`` with ``pdf`` as its body (UTF-8 XML bytes)."""
    document = _item.section(item, "document")
    patient = _item.section(item, "patient")
    sender = _item.section(item, "sender")
    sent = _item.sent_at(item) or datetime.now(UTC)
    clinical = _item.document_date(item)
    known = doctypes.get(_item.text(document.get("type_code")))
    loinc = _item.text(document.get("loinc")) or (known.loinc if known else FALLBACK_LOINC)
    label = _item.type_label(item) or (known.label if known else "Document")

    root = ET.Element(_hl7("ClinicalDocument"))
    _sub(root, "realmCode", code="FR")
    _sub(root, "typeId", root=TYPE_ID_ROOT, extension="POCD_HD000040")
    for template in TEMPLATES:
        _sub(root, "templateId", root=template)
    _sub(root, "id", root=uuid_oid(_item.document_id(item)))
    _sub(root, "code", code=loinc, codeSystem=LOINC_OID, codeSystemName="LOINC", displayName=label)
    _sub(root, "title", _item.title(item) or label)
    _sub(root, "effectiveTime", value=_ts(sent))
    restricted = bool(document.get("restricted"))
    _sub(
        root,
        "confidentialityCode",
        code="R" if restricted else "N",
        codeSystem=CONFIDENTIALITY_OID,
    )
    _sub(root, "languageCode", code="fr-FR")
    _sub(root, "setId", root=uuid_oid(_item.document_id(item) + "-set"))
    _sub(root, "versionNumber", value="1")

    role = _sub(_sub(root, "recordTarget"), "patientRole")
    patient_ident = _item.patient_identifier(item)  # the INS only for a qualified identity
    if patient_ident.is_ins:
        _sub(role, "id", root=ins_oid_for(item, oid), extension=patient_ident.value)
    else:
        _sub(role, "id", root=patient_ident.oid, extension=patient_ident.value)
    person = _sub(role, "patient")
    _name(person, _item.birth_name(item), _item.first_name(item), "BR")
    if _item.used_name(item) and _item.used_name(item) != _item.birth_name(item):
        _name(person, _item.used_name(item), _item.first_name(item), "SP")
    sex = _item.text(patient.get("sex"))
    _sub(
        person,
        "administrativeGenderCode",
        code=sex if sex in ("M", "F") else "UN",
        codeSystem=GENDER_OID,
    )
    _sub(person, "birthTime", value=_item.compact_date(_item.birth_date(item)))

    author = _sub(root, "author")
    _sub(author, "time", value=_ts(sent))
    assigned = _sub(author, "assignedAuthor")
    ident = national_id(sender)
    if ident:
        _sub(assigned, "id", root=codes.IDNAT_PS_OID, extension=ident)
    else:
        _sub(assigned, "id", nullFlavor="UNK")
    family, given = _item.split_person(sender)
    _name(_sub(assigned, "assignedPerson"), family, given)
    structure = _item.text(sender.get("structure"))
    if structure:
        _sub(_sub(assigned, "representedOrganization"), "name", structure)

    platform = _item.section(item, "platform")
    assigned_custodian = _sub(_sub(root, "custodian"), "assignedCustodian")
    custodian = _sub(assigned_custodian, "representedCustodianOrganization")
    _sub(custodian, "id", root=SOURCE_OID)
    _sub(custodian, "name", _item.text(platform.get("name")) or "Sisra")

    day = _item.compact_date(clinical) or sent.strftime("%Y%m%d")
    event = _sub(_sub(root, "documentationOf"), "serviceEvent")
    _sub(_sub(event, "effectiveTime"), "low", value=day)
    facility, _setting = codes.sector_of(
        structure, _item.text(sender.get("sector_code")), _item.text(sender.get("sector_label"))
    )
    encounter = _sub(_sub(root, "componentOf"), "encompassingEncounter")
    _sub(_sub(encounter, "effectiveTime"), "low", value=day)
    care = _sub(_sub(encounter, "location"), "healthCareFacility")
    _sub(care, "code", code=facility.code, codeSystem=facility.scheme, displayName=facility.label)

    body = _sub(_sub(root, "component"), "nonXMLBody")
    _sub(
        body,
        "text",
        base64.b64encode(pdf).decode("ascii"),
        mediaType="application/pdf",
        representation="B64",
    )
    ET.indent(root)
    xml: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return xml


def read_cda_n1(xml: bytes) -> dict[str, Any]:
    """What a reader needs of an N1 document: templates, code, patient id, author id, PDF."""
    try:
        root = ET.fromstring(xml)  # noqa: S314 - expat: no external entities
    except ET.ParseError as exc:
        raise XdmError(f"Le document CDA n'est pas du XML valide : {exc}") from exc
    if root.tag != _hl7("ClinicalDocument"):
        raise XdmError("Le document n'est pas un ClinicalDocument CDA R2.")

    def attr(path: str, name: str) -> str | None:
        found = root.find(path, {"h": HL7})
        return found.get(name) if found is not None else None

    text = root.find("h:component/h:nonXMLBody/h:text", {"h": HL7})
    if text is None or text.get("representation") != "B64":
        raise XdmError("Le document CDA n'a pas de corps non structuré en base 64.")
    return {
        "templates": [t.get("root") for t in root.findall("h:templateId", {"h": HL7})],
        "code": attr("h:code", "code"),
        "patient_root": attr("h:recordTarget/h:patientRole/h:id", "root"),
        "patient_id": attr("h:recordTarget/h:patientRole/h:id", "extension"),
        "author_root": attr("h:author/h:assignedAuthor/h:id", "root"),
        "author_id": attr("h:author/h:assignedAuthor/h:id", "extension"),
        "media_type": text.get("mediaType"),
        "pdf": base64.b64decode(text.text or ""),
    }


__all__ = ["TEMPLATES", "cda_n1", "read_cda_n1"]

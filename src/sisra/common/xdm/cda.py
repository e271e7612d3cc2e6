"""A CDA R2 document of the CI-SIS « structuration minimale », level N1: the PDF in its body.

The MSSanté client integration guide asks that a health document sent by mail travel as a CDA
R2 document inside the ``IHE_XDM.ZIP`` attachment; a PDF becomes a CDA whose header carries
the minimal structured metadata (patient with INS, author with RPPS, document type, dates,
custodian, care setting) and whose ``nonXMLBody`` holds the PDF in base 64 (IHE XDS-SD).

:func:`cda_n1` builds it from the same document description (an inbox item) the XDM writer
reads; :func:`read_cda_n1` reads back what a test or a reader needs. The templates are the
ones the CI-SIS lists for the French header and for an unstructured body; the header meets
the CI-SIS « Structuration minimale » v1.16 (INS traits, performer, legal authenticator,
``nullFlavor="UNK"`` for an unknown value: docs/interop.md « CDA header », decision 135).
The tests check it with XPath rules written from the volet; the CDA schema and the ANS
schematrons are not run.
"""

from __future__ import annotations

import base64
import tempfile
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sisra.common.xdm import codes
from sisra.common.xdm import item as _item
from sisra.common.xdm.archive import write_xdm
from sisra.common.xdm.metadata import (
    CDA_PDF,
    LOINC_OID,
    SOURCE_OID,
    XdmError,
    ins_oid_for,
    national_id,
    type_code_of,
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


def _unknown(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    """An element whose value is not known: ``nullFlavor="UNK"`` (CI-SIS rule for unknown
    values, docs/interop.md)."""
    return _sub(parent, tag, nullFlavor="UNK", **attrs)


def _patient(person: ET.Element, item: dict[str, Any]) -> None:
    """The patient's INS traits as the CI-SIS « structuration minimale » writes them: one
    ``name`` with the birth name (``family`` BR), the used name (``family`` SP) when it
    differs, the first birth first name (plain ``given``), every birth first name
    space-separated (``given`` BR); then sex, birth date and the INSEE code of the birth
    place (``birthplace/place/addr/county``). An unknown trait is ``nullFlavor="UNK"``."""
    patient = _item.section(item, "patient")
    name = _sub(person, "name")
    birth, used = _item.birth_name(item), _item.used_name(item)
    if birth:
        _sub(name, "family", birth, qualifier="BR")
    else:
        _unknown(name, "family", qualifier="BR")
    if used and used != birth:
        _sub(name, "family", used, qualifier="SP")
    names = _item.birth_given_names(item)
    first = _item.first_name(item) or (names[0] if names else "")
    if first:
        _sub(name, "given", first)
    else:
        _unknown(name, "given")
    if names:
        _sub(name, "given", " ".join(names), qualifier="BR")
    else:
        _unknown(name, "given", qualifier="BR")
    sex = _item.text(patient.get("sex"))
    if sex in ("M", "F"):
        _sub(person, "administrativeGenderCode", code=sex, codeSystem=GENDER_OID)
    else:  # « Inconnu » of the CI-SIS value set of administrative genders
        _sub(person, "administrativeGenderCode", code="U", codeSystem=GENDER_OID)
    born = _item.compact_date(_item.birth_date(item))
    if born:
        _sub(person, "birthTime", value=born)
    else:
        _unknown(person, "birthTime")
    place = _item.birth_place_code(item)
    if place:
        _sub(_sub(_sub(_sub(person, "birthplace"), "place"), "addr"), "county", place)


def _professional(entity: ET.Element, person: dict[str, Any], person_tag: str) -> None:
    """An ``assignedAuthor``/``assignedEntity``: IdNat_PS under the RPPS OID (``UNK`` when
    the directory has none), the person's name, the organisation with its IdNat_Struct."""
    ident = national_id(person)
    if ident:
        _sub(entity, "id", root=codes.IDNAT_PS_OID, extension=ident)
    else:
        _unknown(entity, "id")
    family, given = _item.split_person(person)
    name = _sub(_sub(entity, person_tag), "name")
    if family:
        _sub(name, "family", family)
    else:
        _unknown(name, "family")
    if given:
        _sub(name, "given", given)
    structure = _item.text(person.get("structure"))
    if structure:
        org = _sub(entity, "representedOrganization")
        finess, siret = _item.text(person.get("finess")), _item.text(person.get("siret"))
        struct_id = f"1{finess}" if finess else (f"3{siret}" if siret else "")
        if struct_id:
            _sub(org, "id", root=codes.IDNAT_STRUCT_OID, extension=struct_id)
        _sub(org, "name", structure)


def cda_n1(item: dict[str, Any], pdf: bytes, oid: str | None = None) -> bytes:
    """The CDA R2 N1 document of ``item`` with ``pdf`` as its body (UTF-8 XML bytes)."""
    document = _item.section(item, "document")
    sender = _item.section(item, "sender")
    sent = _item.sent_at(item) or datetime.now(UTC)
    clinical = _item.document_date(item)
    concept = type_code_of(item)  # JDV_J07 code and label (decision 137)
    loinc, label = concept.code, concept.label

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
    _patient(_sub(role, "patient"), item)

    author = _sub(root, "author")
    _sub(author, "time", value=_ts(sent))
    _professional(_sub(author, "assignedAuthor"), sender, "assignedPerson")

    platform = _item.section(item, "platform")
    assigned_custodian = _sub(_sub(root, "custodian"), "assignedCustodian")
    custodian = _sub(assigned_custodian, "representedCustodianOrganization")
    _sub(custodian, "id", root=SOURCE_OID)
    _sub(custodian, "name", _item.text(platform.get("name")) or "Sisra")

    # the author signs what the platform sends for them: legal authenticator, signature « S »
    legal = _sub(root, "legalAuthenticator")
    _sub(legal, "time", value=_ts(sent))
    _sub(legal, "signatureCode", code="S")
    _professional(_sub(legal, "assignedEntity"), sender, "assignedPerson")

    day = _item.compact_date(clinical) or sent.strftime("%Y%m%d")
    event = _sub(_sub(root, "documentationOf"), "serviceEvent")
    when = _sub(event, "effectiveTime")
    _sub(when, "low", value=day)
    _sub(when, "high", value=day)
    # the act the document reports was performed by its author
    performer = _sub(event, "performer", typeCode="PRF")
    _professional(_sub(performer, "assignedEntity"), sender, "assignedPerson")
    structure = _item.text(sender.get("structure"))
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
        "code_label": attr("h:code", "displayName"),
        "code_system": attr("h:code", "codeSystem"),
        "patient_root": attr("h:recordTarget/h:patientRole/h:id", "root"),
        "patient_id": attr("h:recordTarget/h:patientRole/h:id", "extension"),
        "author_root": attr("h:author/h:assignedAuthor/h:id", "root"),
        "author_id": attr("h:author/h:assignedAuthor/h:id", "extension"),
        "media_type": text.get("mediaType"),
        "pdf": base64.b64decode(text.text or ""),
    }


def archive_pdf(xdm: dict[str, Any]) -> bytes:
    """The PDF of a read archive (:func:`read_xdm`): its document itself, or the body of
    the CDA R2 N1 document that carries it. Raises :class:`XdmError` when there is none."""
    mime = str(xdm.get("mime_type") or "")
    content: bytes = xdm["pdf"]
    if mime in ("text/xml", "application/xml"):
        cda = read_cda_n1(content)
        mime, content = str(cda.get("media_type") or ""), cda["pdf"]
    if mime != "application/pdf" or not content.startswith(b"%PDF-"):
        raise XdmError("Le document de l'archive XDM n'est pas un PDF.")
    return content


def write_pdf_xdm(
    target: IO[bytes], item: dict[str, Any], pdf_path: Path, oid: str | None = None
) -> bytes:
    """Write the XDM archive of a PDF the CI-SIS way (decision 138): the document entry is a
    CDA R2 N1 document (``text/xml``, formatCode ``urn:ihe:iti:xds-sd:pdf:2008`` of
    JDV_J10-XdsFormatCode-CISIS) whose ``nonXMLBody`` holds the PDF in base 64 (IHE XDS-SD).
    Returns the CDA document's bytes."""
    cda = cda_n1(item, Path(pdf_path).read_bytes(), oid)
    with tempfile.TemporaryDirectory(prefix="sisra-cda-") as tmp:
        path = Path(tmp) / CDA_PDF.file_name
        path.write_bytes(cda)
        write_xdm(target, item, path, oid, content=CDA_PDF)
    return cda


__all__ = ["TEMPLATES", "archive_pdf", "cda_n1", "read_cda_n1", "write_pdf_xdm"]

"""XDM archives written by hand, shaped as other operators' software writes them.

Each archive is built here from the specifications (IHE ITI TF-3 §4.2 and XDM, ebRIM 3.0,
the CI-SIS « Volet Partage de documents de santé » and « Volet Echange de documents de santé »)
rather than by this project's own writer, so that what the gateway reads is not only what it
writes: symbolic object ids (``Document01``, ``SubmissionSet01``), the patient under the
sending software's own OID, authors as IHE's examples write them, associations to documents the
archive does not carry (an ``RPLC`` of an earlier version, an ``IsSnapshotOf`` of an on-demand
document).
"""

import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"

# a hospital software's own patient identifiers (its « IPP » domain), not an INS authority
LOCAL_OID = "1.2.250.1.999.4.1"
RPPS = "1.2.250.1.71.4.2.1"
FINESS_OID = "1.2.250.1.71.4.2.2"


@dataclass
class Foreign:
    """What a foreign archive says; every field as the HL7 v2 data type the spec names."""

    patient_cx: str = f"IPP-00042^^^&{LOCAL_OID}&ISO"
    # the source's own identifier of the patient; IHE allows it to differ from patientId
    source_patient_cx: str | None = None  # None: the patientId
    pid: list[str] = field(
        default_factory=lambda: [
            f"PID-3|IPP-00042^^^&{LOCAL_OID}&ISO",
            "PID-5|LEFEVRE^HELENE^^^^^L",
            "PID-7|19690412",
            "PID-8|F",
        ]
    )
    # XCN: id, family, given, …, assigning authority (CI-SIS: the RPPS with prefix 8)
    author_person: str | None = f"810003456789^MARTIN^Jean^^^^^^&{RPPS}&ISO^D^^^IDNPS"
    # XON: name, …, assigning authority, identifier type, …, identifier (CI-SIS: FINESS)
    author_institution: str | None = f"CHU Exemple^^^^^&{FINESS_OID}&ISO^IDNST^^^1690000001"
    facility_code: tuple[str, str] = ("SA01", "Etablissement public de santé")
    type_code: tuple[str, str] = ("11490-0", "Lettre de sortie")
    title: str = "Lettre de sortie"
    # (associationType, targetObject) from the document: objects the archive does not hold
    associations: list[tuple[str, str]] = field(default_factory=list)


def _slot(name: str, *values: str) -> str:
    inner = "".join(f"<rim:Value>{escape(v)}</rim:Value>" for v in values)
    return f'<rim:Slot name="{name}"><rim:ValueList>{inner}</rim:ValueList></rim:Slot>'


def _name(value: str) -> str:
    return f"<rim:Name><rim:LocalizedString value={quoteattr(value)}/></rim:Name>"


def _coded(ident: str, scheme: str, obj: str, code: str, system: str, label: str) -> str:
    return (
        f'<rim:Classification id="{ident}" classificationScheme="{scheme}" '
        f'classifiedObject="{obj}" nodeRepresentation={quoteattr(code)}>'
        f"{_slot('codingScheme', system)}{_name(label)}</rim:Classification>"
    )


def _author(ident: str, scheme: str, obj: str, spec: Foreign) -> str:
    slots = ""
    if spec.author_person is not None:
        slots += _slot("authorPerson", spec.author_person)
    if spec.author_institution is not None:
        slots += _slot("authorInstitution", spec.author_institution)
    return (
        f'<rim:Classification id="{ident}" classificationScheme="{scheme}" '
        f'classifiedObject="{obj}" nodeRepresentation="">{slots}</rim:Classification>'
    )


def _external(ident: str, scheme: str, obj: str, value: str, label: str) -> str:
    return (
        f'<rim:ExternalIdentifier id="{ident}" identificationScheme="{scheme}" '
        f'registryObject="{obj}" value={quoteattr(value)}>{_name(label)}</rim:ExternalIdentifier>'
    )


def metadata(spec: Foreign, document: bytes) -> bytes:
    doc, ss = "Document01", "SubmissionSet01"
    sha1 = hashlib.sha1(document).hexdigest()  # noqa: S324 - XDS hash is SHA-1
    associations = "".join(
        f'<rim:Association id="Assoc{i:02d}" associationType="urn:ihe:iti:2007:AssociationType:'
        f'{kind}" sourceObject="{doc}" targetObject="{target}"/>'
        for i, (kind, target) in enumerate(spec.associations, start=2)
    )
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<lcm:SubmitObjectsRequest xmlns:lcm="{LCM}" xmlns:rim="{RIM}">
<rim:RegistryObjectList>
<rim:ExtrinsicObject id="{doc}" mimeType="application/pdf"
 objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1">
{_slot("creationTime", "20260310083000")}
{_slot("hash", sha1)}
{_slot("languageCode", "fr-FR")}
{_slot("size", str(len(document)))}
{_slot("sourcePatientId", spec.source_patient_cx or spec.patient_cx)}
{_slot("sourcePatientInfo", *spec.pid)}
{_slot("URI", "DOC0001.PDF")}
{_name(spec.title)}
{_author("cl01", "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d", doc, spec)}
{
        _coded(
            "cl02",
            "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a",
            doc,
            "10",
            "1.2.250.1.213.1.1.4.1",
            "Compte rendu",
        )
    }
{
        _coded(
            "cl03",
            "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f",
            doc,
            "N",
            "2.16.840.1.113883.5.25",
            "Normal",
        )
    }
{
        _coded(
            "cl04",
            "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d",
            doc,
            "urn:ihe:iti:xds-sd:pdf:2008",
            "1.3.6.1.4.1.19376.1.2.3",
            "Document PDF",
        )
    }
{
        _coded(
            "cl05",
            "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1",
            doc,
            *spec.facility_code[:1],
            "1.2.250.1.71.4.2.4",
            spec.facility_code[1],
        )
    }
{
        _coded(
            "cl06",
            "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead",
            doc,
            "ETABLISSEMENT",
            "1.2.250.1.213.1.1.4.9",
            "Etablissement de santé",
        )
    }
{
        _coded(
            "cl07",
            "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983",
            doc,
            spec.type_code[0],
            "2.16.840.1.113883.6.1",
            spec.type_code[1],
        )
    }
{
        _external(
            "ei01",
            "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427",
            doc,
            spec.patient_cx,
            "XDSDocumentEntry.patientId",
        )
    }
{
        _external(
            "ei02",
            "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab",
            doc,
            "1.2.250.1.999.5.1.20260310.1",
            "XDSDocumentEntry.uniqueId",
        )
    }
</rim:ExtrinsicObject>
<rim:RegistryPackage id="{ss}">
{_slot("submissionTime", "20260310083500")}
{_author("cl08", "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d", ss, spec)}
{
        _coded(
            "cl09",
            "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500",
            ss,
            "SA01",
            "1.2.250.1.71.4.2.4",
            "Etablissement public de santé",
        )
    }
{
        _external(
            "ei03",
            "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8",
            ss,
            "1.2.250.1.999.5.2.20260310.1",
            "XDSSubmissionSet.uniqueId",
        )
    }
{
        _external(
            "ei04",
            "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832",
            ss,
            "1.2.250.1.999.5",
            "XDSSubmissionSet.sourceId",
        )
    }
{
        _external(
            "ei05",
            "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446",
            ss,
            spec.patient_cx,
            "XDSSubmissionSet.patientId",
        )
    }
</rim:RegistryPackage>
<rim:Classification id="cl10" classifiedObject="{ss}"
 classificationNode="urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"/>
<rim:Association id="Assoc01"
 associationType="urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
 sourceObject="{ss}" targetObject="{doc}">{
        _slot("SubmissionSetStatus", "Original")
    }</rim:Association>
{associations}
</rim:RegistryObjectList>
</lcm:SubmitObjectsRequest>
"""
    return xml.encode("utf-8")


def archive(spec: Foreign, document: bytes, edit: Callable[[bytes], bytes] | None = None) -> bytes:
    """The IHE_XDM.ZIP: README.TXT, INDEX.HTM, IHE_XDM/SUBSET01/{METADATA.XML, DOC0001.PDF}."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("README.TXT", "Logiciel hospitalier d'exemple, version 4.2\r\n")
        out.writestr(
            "INDEX.HTM",
            '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Contenu</title></head>'
            '<body><a href="IHE_XDM/SUBSET01/DOC0001.PDF">Lettre</a></body></html>',
        )
        xml = metadata(spec, document)
        out.writestr("IHE_XDM/SUBSET01/METADATA.XML", edit(xml) if edit else xml)
        out.writestr("IHE_XDM/SUBSET01/DOC0001.PDF", document)
    return buf.getvalue()

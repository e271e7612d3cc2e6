"""Rules of the CI-SIS « Volet Structuration minimale des documents de santé » (ANS, v1.16)
for the CDA R2 header, written as XPath assertions (a small schematron). The assertions run
with ``elementpath`` (the XPath 2 engine the XML schema validator already brings) over the
standard library's tree, so the checker shares no code with the writer.

Each rule names the volet's header element it comes from; the identifiers ``SM-…`` are this
file's, the text is the volet's requirement. They check what the platform writes: the INS
traits of the patient (with the INS référentiel's meaning of each trait), the author as
performer of the documented act, the legal authenticator, and the CI-SIS rule for unknown
values (an element that cannot be filled carries ``nullFlavor``, never an empty value).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from elementpath import XPath2Parser, XPathContext, select

CODEPOINT = "http://www.w3.org/2005/xpath-functions/collation/codepoint"

NS = {"h": "urn:hl7-org:v3"}
INS_OIDS = ("1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.9", "1.2.250.1.213.1.4.10",
            "1.2.250.1.213.1.4.11")  # fmt: skip
_INS = " or ".join(f"@root='{oid}'" for oid in INS_OIDS)
_NULL = "@nullFlavor='UNK' or @nullFlavor='NASK' or @nullFlavor='NI' or @nullFlavor='MSK'"
RPPS = "1.2.250.1.71.4.2.1"


@dataclass(frozen=True)
class Rule:
    ident: str
    name: str
    context: str  # XPath of the nodes the assertion applies to
    test: str  # XPath boolean evaluated on each node


_PATIENT = "/h:ClinicalDocument/h:recordTarget/h:patientRole"
_WITH_INS = f"{_PATIENT}[h:id[{_INS}]]/h:patient"
_ENTITY = (
    f"(h:id[@root='{RPPS}' and string-length(@extension) > 1] or h:id[{_NULL}])"
    " and h:assignedPerson/h:name/h:family[normalize-space(.) or @nullFlavor]"
)

RULES: tuple[Rule, ...] = (
    Rule(
        "SM-01",
        "ClinicalDocument : un seul recordTarget/patientRole avec un identifiant",
        "/h:ClinicalDocument",
        "count(h:recordTarget) = 1 and h:recordTarget/h:patientRole/h:id[@root and @extension]",
    ),
    Rule(
        "SM-02",
        "patient : un seul élément name (noms et prénoms)",
        f"{_PATIENT}/h:patient",
        "count(h:name) = 1",
    ),
    Rule(
        "SM-03",
        'Patient avec INS : nom de naissance family qualifier="BR"',
        _WITH_INS,
        f"h:name/h:family[@qualifier='BR' and (normalize-space(.) or {_NULL})]",
    ),
    Rule(
        "SM-04",
        'Patient avec INS : prénoms de l\'acte de naissance given qualifier="BR"',
        _WITH_INS,
        f"h:name/h:given[@qualifier='BR' and (normalize-space(.) or {_NULL})]",
    ),
    Rule(
        "SM-05",
        "Patient avec INS : premier prénom de l'acte de naissance (given sans qualifier)",
        _WITH_INS,
        f"h:name/h:given[not(@qualifier) and (normalize-space(.) or {_NULL})]",
    ),
    Rule(
        "SM-06",
        "Le premier prénom est le premier des prénoms de naissance",
        f"{_WITH_INS}/h:name[h:given[not(@qualifier) and normalize-space(.)]"
        " and h:given[@qualifier='BR' and normalize-space(.)]]",
        "starts-with(concat(normalize-space(h:given[@qualifier='BR']), ' '),"
        " concat(normalize-space(h:given[not(@qualifier)]), ' '))",
    ),
    Rule(
        "SM-07",
        "Patient avec INS : birthTime (date de naissance, nullFlavor si inconnue)",
        _WITH_INS,
        f"h:birthTime[string-length(@value) >= 8 or {_NULL}]",
    ),
    Rule(
        "SM-08",
        "Patient avec INS : administrativeGenderCode (JDV_J143 : M, F, U)",
        _WITH_INS,
        "h:administrativeGenderCode[@code='M' or @code='F' or @code='U']",
    ),
    Rule(
        "SM-09",
        "Lieu de naissance : birthplace/place/addr/county = code INSEE (5 caractères)",
        f"{_PATIENT}/h:patient/h:birthplace",
        "string-length(normalize-space(h:place/h:addr/h:county)) = 5"
        " or h:place/h:addr/h:county[" + _NULL + "]",
    ),
    Rule(
        "SM-10",
        "Patient : sexe dans JDV_J143 (M, F, U), date de naissance ou nullFlavor",
        f"{_PATIENT}/h:patient",
        "h:administrativeGenderCode[@codeSystem='2.16.840.1.113883.5.1' and"
        " (@code='M' or @code='F' or @code='U')]"
        f" and (h:birthTime[string-length(@value) >= 8] or h:birthTime[{_NULL}])",
    ),
    Rule(
        "SM-11",
        "Valeur inconnue : élément vide interdit, nullFlavor (UNK/NASK) à la place",
        f"{_PATIENT}/h:patient/h:name/*",
        f"normalize-space(.) or {_NULL}",
    ),
    Rule(
        "SM-12",
        "author : assignedAuthor avec id (RPPS) et assignedPerson/name",
        "/h:ClinicalDocument/h:author/h:assignedAuthor",
        _ENTITY,
    ),
    Rule(
        "SM-13",
        "documentationOf/serviceEvent : obligatoire, avec effectiveTime",
        "/h:ClinicalDocument",
        "h:documentationOf/h:serviceEvent/h:effectiveTime/h:low[@value]",
    ),
    Rule(
        "SM-14",
        "serviceEvent/performer typeCode=\"PRF\" : l'exécutant de l'acte documenté",
        "/h:ClinicalDocument/h:documentationOf/h:serviceEvent",
        "h:performer[@typeCode='PRF']/h:assignedEntity",
    ),
    Rule(
        "SM-15",
        "performer/assignedEntity : id (RPPS), nom, organisation",
        "/h:ClinicalDocument/h:documentationOf/h:serviceEvent/h:performer/h:assignedEntity",
        _ENTITY,
    ),
    Rule(
        "SM-16",
        'legalAuthenticator : obligatoire, time et signatureCode code="S"',
        "/h:ClinicalDocument",
        "count(h:legalAuthenticator) = 1 and h:legalAuthenticator/h:time[@value]"
        " and h:legalAuthenticator/h:signatureCode[@code='S']",
    ),
    Rule(
        "SM-17",
        "legalAuthenticator/assignedEntity : id (RPPS) et nom du responsable",
        "/h:ClinicalDocument/h:legalAuthenticator/h:assignedEntity",
        _ENTITY,
    ),
    Rule(
        "SM-18",
        "Ordre des éléments de l'en-tête CDA (legalAuthenticator avant documentationOf)",
        "/h:ClinicalDocument/h:legalAuthenticator",
        "not(preceding-sibling::h:documentationOf) and preceding-sibling::h:custodian",
    ),
    Rule(
        "SM-19",
        "Identifiant national : id vide interdit (root et extension, ou nullFlavor)",
        "//h:id",
        f"(@root and (@extension or not(@nullFlavor))) or {_NULL}",
    ),
)


def failures(xml: bytes, expect_ins: bool | None = None) -> list[str]:
    """The rules ``xml`` breaks, as « SM-xx name » lines; with ``expect_ins``, also that the
    patient id is (True) or is not (False) an INS, so the INS rules cannot pass vacuously."""
    root = ET.fromstring(xml)  # noqa: S314 - our own output
    # the Unicode codepoint collation, whatever the process's locale: elementpath otherwise
    # derives a collation from LC_COLLATE (Qt sets it from LANG), which may not be installed
    parser = XPath2Parser(namespaces=NS, default_collation=CODEPOINT)
    out: list[str] = []
    for rule in RULES:
        test = parser.parse(f"boolean({rule.test})")
        for node in select(root, rule.context, namespaces=NS):
            if not test.evaluate(XPathContext(root, item=node)):
                out.append(f"{rule.ident} {rule.name}")
                break
    if expect_ins is not None:
        has_ins = bool(select(root, f"{_PATIENT}/h:id[{_INS}]", namespaces=NS))
        if has_ins != expect_ins:
            out.append(f"INS attendu : {expect_ins}, INS présent : {has_ins}")
    return out

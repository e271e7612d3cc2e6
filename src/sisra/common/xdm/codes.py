"""Coded values of exported XDS metadata, as the French CI-SIS uses them.

Sources (ANS, « Cadre d'interopérabilité des SIS », volet « Partage de documents de santé »
and the NOS terminology repository):

* classCode — JDV_J06-XdsClassCode-CISIS, drawn from TRE_A03-ClasseDocument-CISIS
  (code system 1.2.250.1.213.1.1.4.1): 10 « Compte rendu », 11 « Synthèse »,
  42 « Prescription »... A value set distinct from typeCode (LOINC).
* healthcareFacilityTypeCode — JDV_J02-XdsHealthcareFacilityTypeCode-CISIS, drawn from
  TRE_R02-SecteurActivite (1.2.250.1.71.4.2.4): SA01 « Etablissement public de santé »,
  SA07 « Cabinet individuel », SA08 « Cabinet de groupe ».
* practiceSettingCode — JDV_J04-XdsPracticeSettingCode-CISIS, drawn from
  TRE_A01-CadreExercice (1.2.250.1.213.1.1.4.9): AMBULATOIRE, ETABLISSEMENT.
* contentTypeCode (submission set) — JDV_J03-XdsContentTypeCode-CISIS, which admits
  TRE_R02-SecteurActivite codes: the sender's sector of activity.
* identifiers — IdNat_PS (1.2.250.1.71.4.2.1: « 8 » + RPPS, « 0 » + ADELI) for persons,
  IdNat_Struct (1.2.250.1.71.4.2.2: « 1 » + FINESS, « 3 » + SIRET) for structures.

The codes were checked against the published value sets as far as we could; the sector is
derived from the structure's name (the directory holds no coded sector), see
:func:`sector_of`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sisra.common import valuesets
from sisra.common.text import fold

CLASS_CODE_OID = "1.2.250.1.213.1.1.4.1"  # TRE_A03-ClasseDocument-CISIS
SECTOR_OID = "1.2.250.1.71.4.2.4"  # TRE_R02-SecteurActivite
PRACTICE_SETTING_OID = "1.2.250.1.213.1.1.4.9"  # TRE_A01-CadreExercice
CONFIDENTIALITY_OID = "2.16.840.1.113883.5.25"  # HL7 v3 Confidentiality
IDNAT_PS_OID = "1.2.250.1.71.4.2.1"
IDNAT_STRUCT_OID = "1.2.250.1.71.4.2.2"


@dataclass(frozen=True)
class Code:
    code: str
    label: str
    scheme: str


COMPTE_RENDU = Code("10", "Compte rendu", CLASS_CODE_OID)
SYNTHESE = Code("11", "Synthèse", CLASS_CODE_OID)
PRESCRIPTION = Code("42", "Prescription", CLASS_CODE_OID)

# document type -> class: sisra.common.valuesets (cisis_valuesets.json, decision 137)

SA_PUBLIC = Code("SA01", "Etablissement public de santé", SECTOR_OID)
SA_CABINET = Code("SA07", "Cabinet individuel", SECTOR_OID)
SA_GROUPE = Code("SA08", "Cabinet de groupe", SECTOR_OID)
AMBULATOIRE = Code("AMBULATOIRE", "Ambulatoire", PRACTICE_SETTING_OID)
ETABLISSEMENT = Code("ETABLISSEMENT", "Etablissement de santé", PRACTICE_SETTING_OID)

NORMAL = Code("N", "Normal", CONFIDENTIALITY_OID)
RESTRICTED = Code("R", "Restreint", CONFIDENTIALITY_OID)

_HOSPITAL_WORDS = ("hopital", "hospitalier", "hospitaliere", "chu", "ch", "chru", "aphp")
_GROUP_WORDS = ("maison de sante", "centre de sante", "groupe", "pole", "cabinet medical", "msp")


def class_code(type_code: str) -> Code:
    """The classCode (JDV_J06-XdsClassCode-CISIS) of a document type, from the shipped data."""
    concept = valuesets.class_concept(type_code)
    return Code(concept.code, concept.label, concept.system)


_ESTABLISHMENTS = ("SA01", "SA02", "SA03", "SA04")  # TRE_R02: health establishments


def sector_of(
    structure: str | None, code: str | None = None, label: str | None = None
) -> tuple[Code, Code]:
    """(healthcare facility type, practice setting) of a sender's structure.

    A coded sector the directory holds (``code``, ``label``: what another operator's archive
    said) is used as it is. Otherwise it is derived from the structure's name:
    A public hospital (« Centre hospitalier », « CHU », « Hôpital ») is SA01, ETABLISSEMENT;
    a group practice (maison de santé, centre de santé, cabinet de groupe) is SA08; any
    other structure, or none, is an individual practice (SA07); both ambulatory.
    """
    if code:
        setting = ETABLISSEMENT if code in _ESTABLISHMENTS else AMBULATOIRE
        return Code(code, label or code, SECTOR_OID), setting
    folded = fold(structure or "")
    words = set(folded.replace("-", " ").replace("'", " ").split())
    if words & set(_HOSPITAL_WORDS) or "hopital" in folded or "hospitali" in folded:
        return SA_PUBLIC, ETABLISSEMENT
    if any(w in f" {folded} " for w in (f" {g} " for g in _GROUP_WORDS)):
        return SA_GROUPE, AMBULATOIRE
    return SA_CABINET, AMBULATOIRE

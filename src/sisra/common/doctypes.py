"""The coded list of document types a professional can share, with their CI-SIS codes.

``label`` is the platform's own name for the type (what users read); ``loinc`` and
``type_label`` are its typeCode in JDV_J07-XdsTypeCode-CISIS and that value set's label,
taken from the data of :mod:`sisra.common.valuesets` (decision 137).
"""

from dataclasses import dataclass

from sisra.common import valuesets


@dataclass(frozen=True)
class DocumentType:
    code: str
    label: str
    loinc: str
    type_label: str


def _make(code: str, label: str) -> DocumentType:
    concept = valuesets.mappings()[code].type_code
    return DocumentType(code, label, concept.code, concept.label)


DOCUMENT_TYPES: tuple[DocumentType, ...] = (
    _make("lettre_liaison", "Lettre de liaison"),
    _make("cr_consultation", "Compte rendu de consultation"),
    _make("cr_hospitalisation", "Compte rendu d'hospitalisation"),
    _make("cr_operatoire", "Compte rendu opératoire"),
    _make("cr_imagerie", "Compte rendu d'imagerie"),
    _make("biologie", "Résultats de biologie"),
    _make("ordonnance", "Ordonnance"),
    _make("courrier", "Courrier"),
    _make("autre", "Autre document"),
)

BY_CODE: dict[str, DocumentType] = {t.code: t for t in DOCUMENT_TYPES}


def get(code: str) -> DocumentType | None:
    return BY_CODE.get(code)

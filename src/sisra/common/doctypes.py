"""The coded list of document types a professional can share, with their LOINC codes."""

from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentType:
    code: str
    label: str
    loinc: str


DOCUMENT_TYPES: tuple[DocumentType, ...] = (
    DocumentType("lettre_liaison", "Lettre de liaison", "34133-9"),
    DocumentType("cr_consultation", "Compte rendu de consultation", "11488-4"),
    DocumentType("cr_hospitalisation", "Compte rendu d'hospitalisation", "34112-3"),
    DocumentType("cr_operatoire", "Compte rendu opératoire", "34874-8"),
    DocumentType("cr_imagerie", "Compte rendu d'imagerie", "18748-4"),
    DocumentType("biologie", "Résultats de biologie", "11502-2"),
    DocumentType("ordonnance", "Ordonnance", "57833-6"),
    DocumentType("courrier", "Courrier", "57133-1"),
    DocumentType("autre", "Autre document", "34109-9"),
)

BY_CODE: dict[str, DocumentType] = {t.code: t for t in DOCUMENT_TYPES}


def get(code: str) -> DocumentType | None:
    return BY_CODE.get(code)

"""The CI-SIS value sets (JDV) the platform writes codes from, and the document-type mapping.

The data are ``cisis_valuesets.json``, shipped in the package: for each value set its
ANS name, URL, version and the concepts (code, label, code system OID) the platform may
write; for each document type of :mod:`sisra.common.doctypes` its typeCode
(JDV_J07-XdsTypeCode-CISIS) and classCode (JDV_J06-XdsClassCode-CISIS), and the codes an
older version of the platform wrote for it (still recognised on reception). Every writer
(XDM metadata, CDA header, FHIR DocumentReference) takes its codes and labels from here, so
a code outside the value set cannot be written (docs/interop.md, decision 137).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

J07 = "JDV_J07-XdsTypeCode-CISIS"
J06 = "JDV_J06-XdsClassCode-CISIS"
J10 = "JDV_J10-XdsFormatCode-CISIS"
_FILE = "cisis_valuesets.json"


@dataclass(frozen=True)
class Concept:
    code: str
    label: str
    system: str  # the code system's OID


@dataclass(frozen=True)
class ValueSet:
    name: str
    url: str
    version: str
    source: str
    concepts: dict[str, Concept]

    def get(self, code: str) -> Concept | None:
        return self.concepts.get(code)

    def require(self, code: str) -> Concept:
        found = self.concepts.get(code)
        if found is None:
            raise ValueError(f"{code!r} n'appartient pas au jeu de valeurs {self.name}.")
        return found


@dataclass(frozen=True)
class TypeMapping:
    type_code: Concept  # JDV_J07
    class_code: Concept  # JDV_J06
    legacy: tuple[str, ...]


@cache
def _data() -> dict[str, Any]:
    text = resources.files("sisra.common").joinpath(_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def value_set(name: str) -> ValueSet:
    raw = _data()["value_sets"][name]
    concepts = {c["code"]: Concept(c["code"], c["label"], c["system"]) for c in raw["concepts"]}
    return ValueSet(name, raw["url"], raw["version"], raw["source"], concepts)


@cache
def mappings() -> dict[str, TypeMapping]:
    """Document type code -> its J07 typeCode and J06 classCode (checked against the sets)."""
    found: dict[str, TypeMapping] = {}
    for code, raw in _data()["document_types"].items():
        if code.startswith("_"):
            continue
        found[code] = TypeMapping(
            value_set(J07).require(raw["type_code"]),
            value_set(J06).require(raw["class_code"]),
            tuple(raw.get("legacy", ())),
        )
    return found


def type_concept(type_code: str | None) -> Concept:
    """The J07 typeCode of a document type (an unknown type is « autre »)."""
    table = mappings()
    return (table.get(type_code or "") or table["autre"]).type_code


def class_concept(type_code: str | None) -> Concept:
    """The J06 classCode of a document type (an unknown type is « autre »)."""
    table = mappings()
    return (table.get(type_code or "") or table["autre"]).class_code


def document_type_of(code: str | None) -> str | None:
    """The platform's document type of a received typeCode (current or legacy), if any."""
    if not code:
        return None
    for name, mapping in mappings().items():
        if mapping.type_code.code == code:
            return name
    for name, mapping in mappings().items():
        if code in mapping.legacy:
            return name
    return None

"""Every code the platform writes is inside the CI-SIS value set data it ships (decisions
137, 138): typeCode in JDV_J07-XdsTypeCode-CISIS with J07's label, classCode in
JDV_J06-XdsClassCode-CISIS, formatCode in JDV_J10-XdsFormatCode-CISIS; in MonSisra's XDM
exports, in the XDM archive and CDA document of MSSanté mail, for every document type."""

import dataclasses
import json
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from sisra.client.export import get_profile, read_xdm, write_export
from sisra.common import doctypes, valuesets
from sisra.common.xdm import build_xdm, xds_errors
from sisra.common.xdm.cda import read_cda_n1
from sisra.platform.mssante.message import xdm_archive
from support.export import make_item, make_pdf, typed

LOINC_OID = "2.16.840.1.113883.6.1"
TYPES = [t.code for t in doctypes.DOCUMENT_TYPES]


def _sets() -> dict[str, Any]:
    raw = resources.files("sisra.common").joinpath("cisis_valuesets.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(raw)
    return data["value_sets"]


def _inside(name: str, code: str, label: str, system: str) -> None:
    """``code`` is a concept of the shipped value set ``name``, with its label and system."""
    concepts = {c["code"]: c for c in _sets()[name]["concepts"]}
    assert code in concepts, f"{code} absent de {name}"
    assert concepts[code]["label"] == label, (code, label)
    assert concepts[code]["system"] == system, (code, system)


def test_the_data_names_its_source_and_version() -> None:
    for name in (valuesets.J07, valuesets.J06, valuesets.J10):
        found = _sets()[name]
        assert (
            found["version"]
            and found["source"]
            and found["url"].startswith("https://mos.esante.gouv.fr/NOS/")
        )
    # codes the issue found outside J07 are not in the shipped J07
    j07 = {c["code"] for c in _sets()[valuesets.J07]["concepts"]}
    assert not {"34109-9", "57133-1"} & j07


def test_every_document_type_maps_to_j07_and_j06() -> None:
    for dtype in doctypes.DOCUMENT_TYPES:
        concept = valuesets.type_concept(dtype.code)
        assert dtype.loinc == concept.code and dtype.type_label == concept.label
        _inside(valuesets.J07, concept.code, concept.label, LOINC_OID)
        klass = valuesets.class_concept(dtype.code)
        _inside(valuesets.J06, klass.code, klass.label, "1.2.250.1.213.1.1.4.1")
    # 34133-9 is J07's « Synthèse d'épisode de soins », not « Lettre de liaison »
    assert valuesets.type_concept("lettre_liaison").label == "Synthèse d'épisode de soins"
    # what older versions wrote is still read back as its type
    assert valuesets.document_type_of("57133-1") == "courrier"
    assert valuesets.document_type_of("34109-9") == "autre"


def _check_archive(back: dict[str, Any], type_code: str) -> None:
    codes = back["codes"]
    expected = valuesets.type_concept(type_code)
    type_ = codes["typeCode"]
    assert (type_["code"], type_["label"]) == (expected.code, expected.label)
    _inside(valuesets.J07, type_["code"], type_["label"], type_["scheme"])
    klass = codes["classCode"]
    _inside(valuesets.J06, klass["code"], klass["label"], klass["scheme"])
    fmt = codes["formatCode"]
    assert fmt["code"] == "urn:ihe:iti:xds-sd:pdf:2008"
    _inside(valuesets.J10, fmt["code"], fmt["label"], fmt["scheme"])
    assert back["mime_type"] == "text/xml" and back["uri"] == "DOC0001.XML"
    assert xds_errors(back["metadata"]) == []
    cda = read_cda_n1(back["pdf"])
    assert (cda["code"], cda["code_label"]) == (expected.code, expected.label)
    assert cda["code_system"] == LOINC_OID
    assert cda["media_type"] == "application/pdf" and cda["pdf"].startswith(b"%PDF")


@pytest.mark.parametrize("type_code", TYPES)
def test_monsisra_xdm_export_codes_are_in_the_value_sets(tmp_path: Path, type_code: str) -> None:
    pdf = make_pdf(tmp_path / "source.pdf")
    item = make_item(pdf)
    # what the platform stored with the document (older codes, its own label) is not used
    item["document"].update(type_code=type_code, loinc="34109-9", type_label="Courrier")
    out = tmp_path / "out"
    out.mkdir()
    [archive] = write_export(get_profile("xdm"), out, typed(item), pdf)
    back = read_xdm(archive)
    _check_archive(back, type_code)
    assert read_cda_n1(back["pdf"])["pdf"] == pdf.read_bytes()
    # a profile that wants the PDF beside the archive still gets the PDF itself
    beside = tmp_path / "beside"
    beside.mkdir()
    profile = dataclasses.replace(get_profile("xdm"), id="xdm_pdf", pdf_in_zip=False)
    pdf_file, zip_file = write_export(profile, beside, typed(item), pdf)
    assert pdf_file.read_bytes() == pdf.read_bytes()
    _check_archive(read_xdm(zip_file), type_code)
    # build_xdm (the plain API) writes the same
    built = tmp_path / "IHE_XDM.ZIP"
    build_xdm(item, pdf, built)
    _check_archive(read_xdm(built), type_code)


@pytest.mark.parametrize("type_code", TYPES)
def test_mssante_archive_and_cda_codes_are_in_the_value_sets(
    tmp_path: Path, type_code: str
) -> None:
    pdf = make_pdf(tmp_path / "source.pdf")
    item = make_item(pdf)
    item["document"].update(type_code=type_code, loinc="57133-1", type_label="Lettre de liaison")
    archive, cda = xdm_archive(item, pdf.read_bytes())
    archive_path = tmp_path / "IHE_XDM.ZIP"
    archive_path.write_bytes(archive)
    back = read_xdm(archive_path)
    assert back["pdf"] == cda
    _check_archive(back, type_code)
    # the CDA's care setting is the same J02 code as the metadata's
    root = ET.fromstring(cda)  # noqa: S314 - our own document
    assert root.tag == "{urn:hl7-org:v3}ClinicalDocument"

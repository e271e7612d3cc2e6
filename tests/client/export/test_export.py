"""MonSisra export to practice software folders: profiles, file names, HPRIM Net, IHE XDM,
atomic writes and their failures on real file systems (chmod, read-only and full tmpfs)."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from sisra.client.export import (
    ExportError,
    build_xdm,
    get_profile,
    load_profiles,
    parse_hprim,
    read_xdm,
    render_name,
    safe_filename,
    unique_path,
    write_export,
)
from sisra.client.export.filenames import MAX_NAME_LEN
from sisra.client.export.hprim import hprim_bytes
from sisra.client.export.profiles import expand_folder
from sisra.common.ins import OID_NIA, OID_NIR, OID_NIR_DEMO, OID_NIR_TEST
from sisra.common.xdm import archive as xdm_archive
from sisra.common.xdm import metadata as xdm_metadata
from sisra.common.xdm import validation as xdm_validation
from sisra.common.xdm.cda import read_cda_n1
from support.export import make_item, make_pdf, typed

# ------------------------------------------------------------------ helpers and fixtures

_WIN_FORBIDDEN = set('<>:"/\\|?*') | {chr(c) for c in range(32)}
_WIN_DEVICES = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{dev}{n}" for dev in ("COM", "LPT") for n in "0123456789¹²³"
}


def windows_valid(name: str) -> bool:
    """Rules of Win32 file names (Naming Files, Paths, and Namespaces)."""
    if not name or name in (".", ".."):
        return False
    if set(name) & _WIN_FORBIDDEN:
        return False
    if name[-1] in ". ":
        return False
    if name.split(".", 1)[0].rstrip(" ").upper() in _WIN_DEVICES:
        return False
    return len(name.encode("utf-16-le")) // 2 <= 255


def encodable(name: str, charset: str) -> bool:
    try:
        name.encode(charset)
    except UnicodeEncodeError:
        return False
    return True


def name_size(name: str, charset: str) -> int:
    return len(name.encode("utf-8")) if charset == "utf-8" else len(name)


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    return make_pdf(tmp_path / "source.pdf")


@pytest.fixture
def item(pdf: Path) -> dict[str, Any]:
    return make_item(pdf)


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount small real tmpfs file systems (root only); unmounted at the end of the test."""
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        if not is_root():
            pytest.skip("monter un tmpfs demande les droits root")
        target = tmp_path / f"tmpfs{len(mounted)}"
        target.mkdir()
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            pytest.skip(f"mount tmpfs impossible ici : {result.stderr.strip()}")
        mounted.append(target)
        return target

    yield mount
    for target in reversed(mounted):
        subprocess.run(["umount", str(target)], check=False)


# ------------------------------------------------------------------ profiles

EXPECTED_PROFILES = {"pdf", "scan", "hprim", "xdm", "weda", "medistory", "hellodoc", "crossway",
                     "axisante", "mlm_eo"}  # fmt: skip


def test_every_profile_loads_and_renders(item: dict[str, Any]) -> None:
    profiles = load_profiles()
    assert {p.id for p in profiles} >= EXPECTED_PROFILES
    assert len({p.id for p in profiles}) == len(profiles)
    env = {"USERPROFILE": r"C:\Users\mgauthier", "HOME": "/home/mgauthier"}
    for profile in profiles:
        assert get_profile(profile.id) == profile
        assert profile.label and profile.description and profile.note
        assert profile.sidecar in ("none", "hprim", "xdm")
        assert profile.charset in ("utf-8", "cp1252", "ascii")
        assert profile.pdf_in_zip is False or profile.sidecar == "xdm"
        for system in ("windows", "macos", "linux"):
            folder = str(profile.default_folder(system, env))
            assert "%" not in folder and "~" not in folder and "$" not in folder
            assert "mgauthier" in folder
        stem = render_name(profile, typed(item))
        for ext in (".pdf", profile.sidecar_extension or ".pdf"):
            assert windows_valid(stem + ext), (profile.id, stem)
            assert name_size(stem + ext, profile.charset) <= MAX_NAME_LEN
        assert encodable(stem, profile.charset), (profile.id, stem)
        assert not stem.startswith(".")
        assert "20261119" in stem and "GAUTHIER" in stem


def test_generic_profiles_and_formats() -> None:
    assert get_profile("pdf").label == "PDF seul"
    assert get_profile("scan").label == "Dossier des documents scannés"
    assert get_profile("hprim").label == "HPRIM Net (PDF + fichier HPRIM)"
    assert get_profile("xdm").label == "IHE XDM (MSSanté)"
    assert get_profile("hprim").charset == "cp1252"
    assert get_profile("xdm").pdf_in_zip and not get_profile("xdm").writes_pdf
    generic = {"pdf", "scan", "hprim", "xdm"}
    for profile in load_profiles():
        assert profile.format in generic
        base = get_profile(profile.format)
        assert profile.sidecar == base.sidecar


def test_unknown_profile_is_a_french_error() -> None:
    with pytest.raises(ValueError, match="Profil d'export « cegedim » inconnu"):
        get_profile("cegedim")


def test_folder_expansion() -> None:
    env = {"USERPROFILE": r"C:\Users\hd", "HOME": "/Users/hd", "APPDATA": r"C:\Users\hd\AppData"}
    assert str(expand_folder(r"%USERPROFILE%\Documents", env)) == r"C:\Users\hd\Documents"
    assert str(expand_folder("${HOME}/Documents", env)) == "/Users/hd/Documents"
    assert str(expand_folder("~/Documents/MonSisra", env)) == "/Users/hd/Documents/MonSisra"
    assert str(expand_folder("%INCONNUE%/x", env)) == "%INCONNUE%/x"


# ------------------------------------------------------------------ file names

NASTY_NAMES = [
    "CON",
    "con.pdf",
    "Nul .txt",
    "COM1.tar.gz",
    "lpt9.PDF",
    "COM¹.pdf",
    "AUX",
    "prn.",
    "rapport...",
    "rapport. . .pdf",
    " ..fichier caché",
    "...",
    "",
    "   ",
    'a<b>c:d"e/f\\g|h?i*j.pdf',
    "tab\tretour\r\nligne\x00nul\x1f\x7f.pdf",
    "Œdème – « bilan » ½ € n° 3",
    "Hélène LEFÈVRE épouse GAUTHIER.pdf",
    "Ő Ű ł ß ø ğ 漢字 🙂.pdf",
    "abc\u202etxt.exe",
    "zéro\u200blargeur",
    "Ｆｕｌｌ／ｗｉｄｔｈ：ｎａｍｅ",
    "x" * 300 + ".pdf",
    "é" * 300 + ".pdf",
    "🙂" * 100 + ".pdf",
    "Compte rendu " * 30,
    "fin avec espace .pdf",
    "fin avec point..pdf",
]


@pytest.mark.parametrize("charset", ["utf-8", "cp1252", "ascii"])
@pytest.mark.parametrize("name", NASTY_NAMES)
def test_safe_filename_is_valid_everywhere(name: str, charset: str) -> None:
    result = safe_filename(name, charset)
    assert windows_valid(result), repr(result)
    assert encodable(result, charset), repr(result)
    assert name_size(result, charset) <= MAX_NAME_LEN
    assert not result.startswith((".", " "))
    assert "/" not in result and "\x00" not in result  # Linux and macOS
    if name.lower().endswith(".pdf") and name.strip(". "):
        assert result.lower().endswith(".pdf")
    assert safe_filename(result, charset) == result  # stable


def test_safe_filename_charsets() -> None:
    assert safe_filename("Hélène LEFÈVRE.pdf", "utf-8") == "Hélène LEFÈVRE.pdf"
    assert safe_filename("Hélène LEFÈVRE.pdf", "cp1252") == "Hélène LEFÈVRE.pdf"
    assert safe_filename("Hélène LEFÈVRE.pdf", "ascii") == "Helene_LEFEVRE.pdf"
    assert safe_filename("Œdème cœur", "ascii") == "OEdeme_coeur"  # plain: no space either
    assert safe_filename("Œdème cœur", "cp1252") == "Œdème cœur"  # Œ œ are in Windows-1252
    assert safe_filename("Erdős Łukasz", "cp1252") == "Erdos Lukasz"
    assert safe_filename("漢字.pdf", "cp1252") == "__.pdf"
    # macOS gives decomposed accents: names are recomposed (NFC)
    assert safe_filename("He\u0301le\u0300ne", "utf-8") == "Hélène"


def test_safe_filename_reserved_and_length() -> None:
    assert safe_filename("CON.pdf", "utf-8") == "_CON.pdf"
    assert safe_filename("nul", "ascii") == "_nul"
    assert safe_filename("CONSULTATION.pdf", "utf-8") == "CONSULTATION.pdf"
    long = safe_filename("é" * 300 + ".pdf", "utf-8")
    assert long.endswith(".pdf") and len(long.encode("utf-8")) <= MAX_NAME_LEN
    assert safe_filename("é" * 300 + ".pdf", "cp1252", max_len=50) == "é" * 46 + ".pdf"


def test_render_name_with_empty_and_hostile_fields(pdf: Path) -> None:
    item = make_item(
        pdf,
        document__title='CR: échographie "cardiaque" / suivi?\n' + "très long " * 40,
        patient__used_name=None,
        patient__first_given_name="",
    )
    for profile in load_profiles():
        stem = render_name(profile, typed(item))
        assert windows_valid(stem + ".pdf") and encodable(stem, profile.charset)
        assert name_size(stem, profile.charset) <= MAX_NAME_LEN - 9
        assert "__" not in stem and ("LEFÈVRE" in stem or "LEFEVRE" in stem)
    assert render_name(get_profile("pdf"), typed(item)).startswith(
        "20261119_LEFÈVRE_CR- échographie"
    )


def test_plain_ascii_names_are_an_option_on_by_default_where_the_profile_says(
    tmp_path: Path, pdf: Path
) -> None:
    item = make_item(pdf, patient__used_name="CŒUR", patient__first_given_name="Anaïs Zoé")
    ascii_by_default = {p.id for p in load_profiles() if p.ascii_names}
    assert {"scan", "xdm", "mlm_eo", "hprim"} <= ascii_by_default
    hprim, scan = get_profile("hprim"), get_profile("scan")
    assert render_name(hprim, typed(item)) == "COEUR_Anais_Zoe_20261119_0b3f5a2e"
    # HPRIM keeps ASCII names even when the user lifts them (the body names the PDF)
    assert render_name(hprim, typed(item), ascii_names=False) == "COEUR_Anais_Zoe_20261119_0b3f5a2e"
    assert render_name(scan, typed(item)).startswith("COEUR_Anais_Zoe_19690412_20261119_")
    assert render_name(scan, typed(item), ascii_names=False).startswith("CŒUR_Anaïs Zoé_19690412")
    out = tmp_path / "out"
    out.mkdir()
    first = write_export(hprim, out, typed(item), pdf, ascii_names=True)
    other = make_item(pdf, patient__used_name="CŒUR", patient__first_given_name="Anaïs Zoé",
                      document__title="Autre")  # fmt: skip
    other["id"] = "6f1c1d7e-8a3b-4c2d-9e0f-000000000002"
    second = write_export(hprim, out, typed(other), pdf, ascii_names=True)
    for path in [*first, *second]:
        assert path.name.isascii() and " " not in path.name, path.name
    assert second[0].stem == first[0].stem + "_2"  # numbered without a space
    assert parse_hprim(second[1].read_bytes())["pdf_name"] == second[0].name


def test_unique_path_adds_a_number_for_a_different_file(tmp_path: Path) -> None:
    first = unique_path(tmp_path, "20261119_DUPONT_Jean", ".pdf")
    assert first.name == "20261119_DUPONT_Jean.pdf"
    first.write_bytes(b"%PDF-1.4 premier")
    second = unique_path(tmp_path, "20261119_DUPONT_Jean", ".pdf")
    assert second.name == "20261119_DUPONT_Jean (2).pdf"
    second.write_bytes(b"%PDF-1.4 second")
    third = unique_path(tmp_path, "20261119_DUPONT_Jean", ".pdf")
    assert third.name == "20261119_DUPONT_Jean (3).pdf"
    # the same content already there: same name, no duplicate
    same = hashlib.sha256(b"%PDF-1.4 second").hexdigest()
    assert unique_path(tmp_path, "20261119_DUPONT_Jean", ".pdf", sha256=same) == second
    # the suffix survives the length limit
    long_stem = "x" * 200
    (tmp_path / (safe_filename(long_stem + ".pdf", "utf-8"))).write_bytes(b"autre")
    numbered = unique_path(tmp_path, long_stem, ".pdf")
    assert numbered.name.endswith(" (2).pdf") and len(numbered.name) <= MAX_NAME_LEN


def test_export_twice_does_not_duplicate_but_a_different_document_is_numbered(
    tmp_path: Path, pdf: Path, item: dict[str, Any]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    profile = get_profile("pdf")
    first = write_export(profile, out, typed(item), pdf)
    assert write_export(profile, out, typed(item), pdf) == first
    other_pdf = make_pdf(tmp_path / "other.pdf", "Autre compte rendu, même titre")
    other = write_export(profile, out, typed(make_item(other_pdf)), other_pdf)
    assert other[0].name == first[0].stem + " (2).pdf"
    assert listing(out) == sorted([first[0].name, other[0].name])


def test_a_retry_removes_what_a_killed_export_left_behind(
    tmp_path: Path, pdf: Path, item: dict[str, Any]
) -> None:
    """A process killed (SIGKILL: no cleanup runs) between writing the temporary file and
    renaming it leaves a ``.part`` in the user's folder; the next attempt for that document
    removes it. Another document's temporary file is not touched."""
    import json

    out = tmp_path / "out"
    out.mkdir()
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, os, signal, sys\n"
            "import sisra.client.export as export\n"
            "export.os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)\n"
            "item = json.loads(sys.argv[3])\n"
            "from sisra.client.items import InboxItem\n"
            "export.write_export(\n"
            "    export.get_profile('hprim'), sys.argv[1], InboxItem.from_json(item), sys.argv[2]\n"
            ")\n",
            str(out),
            str(pdf),
            json.dumps(item),
        ],
        capture_output=True,
        timeout=60,
    )
    assert killed.returncode == -9, killed.stderr
    left = [p.name for p in out.iterdir()]
    assert left and all(n.startswith(".sisra-") and n.endswith(".part") for n in left)
    someone_else = out / ".sisra-0123456789ab-cafe.part"  # another document, being written
    someone_else.write_bytes(b"...")
    files = write_export(get_profile("hprim"), out, typed(item), pdf)
    assert listing(out) == sorted([someone_else.name, *(f.name for f in files)])


# ------------------------------------------------------------------ HPRIM Net

# HPRIM Net files as a laboratory writes them (12-line header, ISO-8859-1, CRLF, body, end
# markers), typed here byte for byte: the reader is checked against the convention, not
# against our own writer.
LAB_FILE = (
    b"0012345\r\n"
    b"DUPONT\r\n"
    b"H\xe9l\xe8ne\r\n"
    b"12 rue de la R\xe9publique\r\n"
    b"B\xe2timent B\r\n"
    b"69003 LYON\r\n"
    b"12/04/1969\r\n"
    b"2690469123045 67\r\n"
    b"2611190042\r\n"
    b"19/11/2026\r\n"
    b"LABORATOIRE BIOLYON\r\n"
    b"DR MARTIN CLAIRE\r\n"
    b"Glyc\xe9mie \xe0 jeun : 0,95 g/l\r\n"
    b"Cr\xe9atinine : 8 mg/l\r\n"
    b"****FIN****\r\n"
    b"****FINFICHIER****\r\n"
)
# Another sender: LF line ends, trailing spaces, empty address lines, no NSS, no markers.
LAB_FILE_LF = (
    b"A998877  \n"
    b"MARTIN-L\xc9V\xcaQUE\n"
    b"Jean\n"
    b"\n"
    b"\n"
    b"\n"
    b"01/02/1950 \n"
    b"\n"
    b"D-2026-0042\n"
    b"03/11/2026\n"
    b"CABINET DE RADIOLOGIE\n"
    b"DR GAUTHIER MARC\n"
    b"Echographie abdominale normale.\n"
)


def test_parse_hprim_reads_laboratory_files_written_by_hand() -> None:
    lab = parse_hprim(LAB_FILE)  # ISO-8859-1 by default
    assert lab["patient_code"] == "0012345"
    assert (lab["last_name"], lab["first_name"]) == ("DUPONT", "Hélène")
    assert lab["address"] == ["12 rue de la République", "Bâtiment B", "69003 LYON"]
    assert lab["birth_date"] == "1969-04-12"
    assert lab["nss"] == "269046912304567"
    assert lab["file_number"] == "2611190042"
    assert lab["document_date"] == "2026-11-19"
    assert (lab["sender"], lab["recipient"]) == ("LABORATOIRE BIOLYON", "DR MARTIN CLAIRE")
    assert lab["body"] == ["Glycémie à jeun : 0,95 g/l", "Créatinine : 8 mg/l"]
    assert lab["markers"] is True and lab["crlf"] is True and lab["pdf_name"] is None

    other = parse_hprim(LAB_FILE_LF)
    assert other["patient_code"] == "A998877"
    assert other["last_name"] == "MARTIN-LÉVÊQUE"
    assert other["address"] == ["", "", ""] and other["nss"] is None
    assert other["birth_date"] == "1950-02-01"
    assert other["recipient"] == "DR GAUTHIER MARC"
    assert other["body"] == ["Echographie abdominale normale."]
    assert other["markers"] is False and other["crlf"] is False

    with pytest.raises(ValueError, match="12 lignes"):
        parse_hprim(b"DUPONT\r\nJean\r\n****FIN****\r\n****FINFICHIER****\r\n")


def test_hprim_export_reads_field_by_field_in_the_standard_layout(
    tmp_path: Path, pdf: Path, item: dict[str, Any]
) -> None:
    out = tmp_path / "hprim"
    out.mkdir()
    paths = write_export(get_profile("hprim"), out, typed(item), pdf)
    assert [p.suffix for p in paths] == [".pdf", ".hpr"]
    assert paths[0].stem == paths[1].stem and paths[0].read_bytes() == pdf.read_bytes()
    raw = paths[1].read_bytes()
    lines = raw.split(b"\r\n")
    # the 12 lines of the convention, one by one, as bytes in ISO-8859-1
    assert lines[:12] == [
        b"269046912304567",  # 1 patient code
        b"GAUTHIER",  # 2 NAME (used name)
        b"H\xe9l\xe8ne",  # 3 first name
        b"",  # 4-6 address (not held by the platform)
        b"",
        b"",
        b"12/04/1969",  # 7 birth date JJ/MM/AAAA
        b"2690469123045 67",  # 8 social security number, key apart
        item["document"]["id"].encode(),  # 9 file number
        b"19/11/2026",  # 10 date of the document
        b"Dr Marc GAUTHIER",  # 11 sender
        b"Dr Claire MARTIN",  # 12 recipient
    ]
    assert lines[-3:] == [b"****FIN****", b"****FINFICHIER****", b""]
    assert raw.count(b"\n") == raw.count(b"\r\n")
    assert not any(0x80 <= byte <= 0x9F for byte in raw)
    parsed = parse_hprim(raw)
    assert parsed["last_name"] == "GAUTHIER" and parsed["first_name"] == "Hélène"
    assert parsed["birth_date"] == "1969-04-12" and parsed["nss"] == "269046912304567"
    assert parsed["recipient"] == "Dr Claire MARTIN" and parsed["sender"] == "Dr Marc GAUTHIER"
    assert parsed["pdf_name"] == paths[0].name  # the PDF is named in the body
    assert "Titre : Compte rendu de consultation cardiologique" in parsed["body"]
    assert parsed["markers"] and parsed["crlf"]


def test_hprim_never_writes_c1_bytes_and_transliterates_typography(pdf: Path) -> None:
    item = make_item(
        pdf,
        patient__used_name="CŒUR",
        patient__first_given_name="Zoë",
        document__title="Bilan « cœur–poumons » d’œdème… 50 €",
    )
    raw = hprim_bytes(typed(item), "x.pdf")
    assert not any(0x80 <= byte <= 0x9F for byte in raw)
    text = raw.decode("iso-8859-1")
    assert text.split("\r\n")[1] == "COEUR" and text.split("\r\n")[2] == "Zoë"
    assert 'Titre : Bilan " coeur-poumons " d\'oedème... 50 EUR' in text
    # a C1 control in the data never reaches the file either
    sneaky = make_item(pdf, document__title="a\x85b\x96c")
    assert not any(0x80 <= byte <= 0x9F for byte in hprim_bytes(typed(sneaky), "x.pdf"))


def test_hprim_without_ins_with_nia_and_hostile_text(pdf: Path) -> None:
    item = make_item(
        pdf,
        patient__ins=None,
        patient__ins_oid=None,
        patient__used_name=None,
        document__title="****FIN****\r\nligne injectée → 漢字",
        sender__profession="Infirmière",
        sender__name="Sophie BERNARD",
    )
    parsed = parse_hprim(hprim_bytes(typed(item), "x.pdf"))
    assert parsed["patient_code"] == item["patient"]["id"]
    assert parsed["nss"] is None
    assert parsed["last_name"] == "LEFÈVRE"
    assert parsed["sender"] == "Sophie BERNARD"  # not a doctor: no "Dr"
    assert len(parsed["body"]) == 5 and parsed["markers"]  # title on one line, no forgery
    assert (
        parse_hprim(hprim_bytes(typed(item), "x.pdf", "ascii"), "ascii")["last_name"] == "LEFEVRE"
    )
    # a NIA is not a social security number: line 8 stays empty, the INS is the code
    nia = make_item(pdf, patient__ins="769046912304512", patient__ins_oid=OID_NIA)
    parsed = parse_hprim(hprim_bytes(typed(nia), "x.pdf"))
    assert parsed["nss"] is None and parsed["patient_code"] == "769046912304512"
    # a NIR of the test (…4.10) or demonstration (…4.11) ranges is nobody's social security
    # number: line 8 stays empty (the INS is still the patient code)
    for oid in (OID_NIR_TEST, OID_NIR_DEMO):
        test_nir = make_item(pdf, patient__ins="269046912304567", patient__ins_oid=oid)
        parsed = parse_hprim(hprim_bytes(typed(test_nir), "x.pdf"))
        assert parsed["nss"] is None and parsed["patient_code"] == "269046912304567"
    no_recipient = make_item(pdf)
    del no_recipient["recipient"]
    assert parse_hprim(hprim_bytes(typed(no_recipient), "x.pdf"))["recipient"] == ""


# ------------------------------------------------------------------ IHE XDM

INS_KINDS = {
    OID_NIR: "269046912304567",
    OID_NIA: "769046912304512",
    OID_NIR_TEST: "269046912304567",
    OID_NIR_DEMO: "269046912304567",
}


def _valid(metadata: bytes) -> None:
    assert xdm_validation.schema_errors(metadata) == []
    assert xdm_validation.xds_errors(metadata) == []


def test_xdm_archive_contents_validate_and_parse_back(
    tmp_path: Path, pdf: Path, item: dict[str, Any]
) -> None:
    out = tmp_path / "xdm"
    out.mkdir()
    paths = write_export(get_profile("xdm"), out, typed(item), pdf)
    assert len(paths) == 1 and paths[0].suffix == ".zip"
    with zipfile.ZipFile(paths[0]) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == sorted(
            ["README.TXT", "INDEX.HTM", "IHE_XDM/SUBSET01/METADATA.XML",
             "IHE_XDM/SUBSET01/DOC0001.XML"]
        )  # fmt: skip
        metadata = archive.read("IHE_XDM/SUBSET01/METADATA.XML")
    assert xdm_validation.validator_name().startswith("xmlschema")
    _valid(metadata)
    assert b"<lcm:SubmitObjectsRequest" in metadata

    data = pdf.read_bytes()
    back = read_xdm(paths[0])
    assert back["patient_id"] == "269046912304567"
    assert back["patient_oid"] == OID_NIR  # what the platform sent with the patient
    assert back["source_patient_id"] == f"269046912304567^^^&{OID_NIR}&ISO"
    assert back["birth_name"] == "LEFÈVRE" and back["used_name"] == "GAUTHIER"
    assert back["first_name"] == "Hélène" and back["birth_date"] == "1969-04-12"
    assert back["sex"] == "F"
    assert back["title"] == item["document"]["title"]
    assert back["mime_type"] == "text/xml"  # the CDA R2 N1 document carrying the PDF
    assert back["type_code"] == "11488-4"
    assert back["class_code"] == "10"  # TRE_A03 « Compte rendu », not the LOINC code
    c = back["codes"]
    assert (c["classCode"]["scheme"], c["typeCode"]["scheme"]) == (
        "1.2.250.1.213.1.1.4.1",
        "2.16.840.1.113883.6.1",
    )
    assert c["confidentialityCode"]["code"] == "N"
    assert c["healthcareFacilityTypeCode"] == {
        "code": "SA07",
        "scheme": "1.2.250.1.71.4.2.4",
        "label": "Cabinet individuel",
    }
    assert c["practiceSettingCode"]["code"] == "AMBULATOIRE"
    assert c["practiceSettingCode"]["scheme"] == "1.2.250.1.213.1.1.4.9"
    assert c["contentTypeCode"]["code"] == "SA07"
    assert c["formatCode"]["code"] == "urn:ihe:iti:xds-sd:pdf:2008"  # JDV_J10
    assert back["creation_time"] == "20261119"
    assert back["author"] == "810003456789^GAUTHIER^Marc^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"
    assert back["author_institution"] == (
        "Cabinet de cardiologie de Villeurbanne^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^1690012345"
    )
    assert back["intended_recipient"] == (
        "Maison de santé des Pentes^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^373282932000074"
        "|810001234567^MARTIN^Claire^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"
    )
    assert back["reference_ids"] == []
    assert back["unique_id"].startswith("2.25.") and len(back["unique_id"]) <= 64
    cda = back["pdf"]  # the archive's document: the CDA, the PDF in its body
    assert back["hash"] == hashlib.sha1(cda).hexdigest()  # noqa: S324 - XDS hash is SHA-1
    assert back["size"] == len(cda) and read_cda_n1(cda)["pdf"] == data
    readme = back["readme"]
    assert "Marc GAUTHIER" in readme and "LEFÈVRE" in readme and "Claire MARTIN" in readme
    assert "Contact de la plateforme : contact@sisra.example.fr" in readme
    assert "Sisra, plateforme régionale" in readme
    page = ET.fromstring(back["index"].encode())  # noqa: S314 - our archive; well-formed XHTML
    assert page.tag == "{http://www.w3.org/1999/xhtml}html"
    links = [a.get("href") for a in page.iter("{http://www.w3.org/1999/xhtml}a")]
    assert "IHE_XDM/SUBSET01/DOC0001.XML" in links


@pytest.mark.parametrize("structure_id", ["finess", "siret", "none"])
@pytest.mark.parametrize("oid", sorted(INS_KINDS))
def test_xdm_carries_the_oid_of_each_ins_kind_and_validates(
    tmp_path: Path, pdf: Path, oid: str, structure_id: str
) -> None:
    changes: dict[str, Any] = {
        "patient__ins": INS_KINDS[oid],
        "patient__ins_oid": oid,
        "sender__finess": "690012345" if structure_id == "finess" else None,
        "sender__siret": "73282932000074" if structure_id == "siret" else None,
    }
    if structure_id == "none":
        changes.update(sender__structure=None, sender__rpps=None)
    item = make_item(pdf, **changes)
    out = tmp_path / "out"
    out.mkdir()
    (path,) = write_export(get_profile("mlm_eo"), out, typed(item), pdf)  # no oid given: the item's
    back = read_xdm(path)
    _valid(back["metadata"])
    assert back["patient_oid"] == oid and back["patient_id"] == INS_KINDS[oid]
    assert back["source_patient_id"] == f"{INS_KINDS[oid]}^^^&{oid}&ISO"
    institution = back["author_institution"]
    if structure_id == "finess":
        assert institution.endswith("&1.2.250.1.71.4.2.2&ISO^IDNST^^^1690012345")
    elif structure_id == "siret":
        assert institution.endswith("&1.2.250.1.71.4.2.2&ISO^IDNST^^^373282932000074")
    else:
        assert institution is None and back["author"] == "^GAUTHIER^Marc"


def test_xdm_reply_and_restricted_document(tmp_path: Path, pdf: Path) -> None:
    replied = "0b3f5a2e-9999-4222-8333-944455556666"
    item = make_item(
        pdf,
        document__in_reply_to=replied,
        document__restricted=True,
        document__type_code="ordonnance",
        document__loinc="57833-6",
        sender__structure="Centre hospitalier de Vienne",
    )
    build_xdm(item, pdf, tmp_path / "IHE_XDM.ZIP")
    back = read_xdm(tmp_path / "IHE_XDM.ZIP")
    _valid(back["metadata"])
    assert back["codes"]["confidentialityCode"]["code"] == "R"
    assert back["class_code"] == "42" and back["type_code"] == "57833-6"
    assert back["codes"]["healthcareFacilityTypeCode"]["code"] == "SA01"
    assert back["codes"]["practiceSettingCode"]["code"] == "ETABLISSEMENT"
    assert back["reference_ids"] == [
        f"{xdm_metadata.uuid_oid(replied)}^^^^urn:ihe:iti:xds:2013:uniqueId"
    ]


def test_xdm_is_deterministic_and_pdf_beside_variant(
    tmp_path: Path, pdf: Path, item: dict[str, Any]
) -> None:
    build_xdm(item, pdf, tmp_path / "a.zip")
    build_xdm(item, pdf, tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    # a profile keeping the PDF beside the archive: PDF first, same stem
    beside = dataclasses.replace(get_profile("xdm"), id="xdm_pdf", pdf_in_zip=False)
    out = tmp_path / "out"
    out.mkdir()
    paths = write_export(beside, out, typed(item), pdf, oid=OID_NIR_TEST)
    assert [p.suffix for p in paths] == [".pdf", ".zip"] and paths[0].stem == paths[1].stem
    assert write_export(beside, out, typed(item), pdf, oid=OID_NIR_TEST) == paths
    assert read_xdm(paths[1])["patient_oid"] == OID_NIR_TEST  # an explicit OID wins
    assert listing(out) == sorted(p.name for p in paths)


def test_xdm_without_ins_uses_the_platform_id(tmp_path: Path, pdf: Path) -> None:
    item = make_item(
        pdf, patient__ins=None, patient__ins_oid=None, patient__used_name=None, patient__sex="I"
    )
    del item["recipient"], item["platform"]
    build_xdm(item, pdf, tmp_path / "IHE_XDM.ZIP")
    back = read_xdm(tmp_path / "IHE_XDM.ZIP")
    _valid(back["metadata"])
    assert back["patient_id"] == item["patient"]["id"]
    assert back["patient_oid"] == xdm_metadata.SISRA_PATIENT_OID
    assert back["used_name"] is None and back["sex"] == "U"
    assert back["intended_recipient"] is None


def test_an_unknown_ins_oid_is_an_export_failure(tmp_path: Path, pdf: Path) -> None:
    item = make_item(pdf, patient__ins_oid="1.2.3.4")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ExportError) as caught:
        write_export(get_profile("xdm"), out, typed(item), pdf)
    assert caught.value.code == "invalid_content" and "OID de l'INS" in caught.value.message
    assert listing(out) == []


def test_an_archive_failing_validation_is_never_renamed_into_place(
    tmp_path: Path, pdf: Path, item: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The archive is checked as written (entries, XHTML, hash) before it gets its name."""
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(xdm_archive, "index_html", lambda *_a: "<html><p>non fermé</html>")
    with pytest.raises(ExportError) as caught:
        write_export(get_profile("xdm"), out, typed(item), pdf)
    assert caught.value.code == "invalid_content" and "INDEX.HTM" in caught.value.message
    assert listing(out) == []  # neither the archive nor a temporary file


def test_metadata_checks_reject_broken_metadata(item: dict[str, Any]) -> None:
    good = xdm_metadata.metadata_xml(item, "0" * 40, 10)
    _valid(good)
    broken = {
        "mimeType length": good.replace(
            b' mimeType="application/pdf"', b' mimeType="' + b"x" * 300 + b'"'
        ),
        "order": good.replace(
            b'<rim:Slot name="submissionTime">',
            b'<rim:Name><rim:LocalizedString value="x" /></rim:Name>'
            b'<rim:Slot name="submissionTime">',
            1,
        ),
        "unknown": good.replace(b"<rim:RegistryObjectList>", b"<rim:RegistryObjectList><rim:X/>"),
        "attribute": good.replace(b'ExtrinsicObject id="urn:uuid:',
                                  b'ExtrinsicObject a="b" id="urn:uuid:'),
        "value": good.replace(b"<rim:Value>fr-FR</rim:Value>", b"<rim:Value>" + b"x" * 300
                              + b"</rim:Value>"),
        "no list": good.replace(b"<rim:RegistryObjectList>", b"<rim:Other>").replace(
            b"</rim:RegistryObjectList>", b"</rim:Other>"),
    }  # fmt: skip
    for label, xml in broken.items():
        assert xml != good, label
        assert xdm_validation.schema_errors(xml), label
    orphan = good.replace(b"AssociationType:HasMember", b"AssociationType:Other")
    assert any("HasMember" in p for p in xdm_validation.xds_errors(orphan))
    no_facility = good.replace(xdm_metadata.DE_FACILITY_TYPE.encode(), b"urn:uuid:other")
    assert "healthcareFacilityTypeCode absent" in xdm_validation.xds_errors(no_facility)
    bad_author = good.replace(b"&amp;1.2.250.1.71.4.2.1&amp;ISO", b"&amp;1.2.3&amp;ISO")
    assert any("authorPerson" in p for p in xdm_validation.xds_errors(bad_author))
    with pytest.raises(xdm_metadata.XdmError, match=r"METADATA\.XML invalide"):
        xdm_validation.validate_metadata(broken["unknown"])


def test_the_schemas_ship_in_the_package() -> None:
    """The validator reads the .xsd files from the installed package, nothing else."""
    folder = resources.files("sisra.common.xdm").joinpath("schemas")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".xsd"))
    assert names == ["lcm.xsd", "query.xsd", "rim.xsd", "rs.xsd", "xml.xsd"]
    schema = xdm_validation.metadata_schema()
    assert schema.target_namespace == "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
    assert "{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0}ExtrinsicObjectType" in schema.maps.types


# ------------------------------------------------------------------ atomic writes


@pytest.mark.parametrize("profile_id", sorted(EXPECTED_PROFILES))
def test_write_export_is_atomic_for_every_profile(
    tmp_path: Path, pdf: Path, item: dict[str, Any], profile_id: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    profile = get_profile(profile_id)
    paths = write_export(profile, out, typed(item), pdf, oid=OID_NIR_TEST)
    assert listing(out) == sorted(p.name for p in paths)  # no ".part" left
    assert all(p.parent == out and p.is_file() for p in paths)
    if profile.writes_pdf:
        assert paths[0].suffix == ".pdf" and paths[0].read_bytes() == pdf.read_bytes()
    assert len(paths) == 1 + (profile.sidecar != "none") - (not profile.writes_pdf)


def test_missing_folder(tmp_path: Path, pdf: Path, item: dict[str, Any]) -> None:
    with pytest.raises(ExportError) as caught:
        write_export(get_profile("hprim"), tmp_path / "absent", typed(item), pdf)
    assert caught.value.code == "folder_missing"
    assert "n'existe pas" in caught.value.message
    assert not (tmp_path / "absent").exists()


def test_read_only_folder(
    tmp_path: Path, pdf: Path, item: dict[str, Any], tmpfs: Callable[[str], Path]
) -> None:
    if is_root():
        folder = tmpfs("ro,size=64k")  # root ignores permission bits, not a read-only mount
    else:
        folder = tmp_path / "lecture-seule"
        folder.mkdir()
        folder.chmod(0o500)
    try:
        for profile_id in ("pdf", "hprim", "xdm"):
            with pytest.raises(ExportError) as caught:
                write_export(get_profile(profile_id), folder, typed(item), pdf)
            assert caught.value.code == "folder_readonly"
            assert "droit d'écrire" in caught.value.message
            assert listing(folder) == []
    finally:
        if not is_root():
            folder.chmod(0o700)  # let pytest clean tmp_path


def _fill(folder: Path) -> Path:
    """Fill a file system completely with one file; return it."""
    filler = folder / "remplissage.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):
            while os.write(fd, b"\0" * 4096):
                pass
    finally:
        os.close(fd)
    return filler


def test_disk_full_leaves_nothing_behind(
    pdf: Path, item: dict[str, Any], tmpfs: Callable[[str], Path]
) -> None:
    folder = tmpfs("size=64k")
    filler = _fill(folder)
    for profile_id in ("pdf", "hprim", "xdm"):
        with pytest.raises(ExportError) as caught:
            write_export(get_profile(profile_id), folder, typed(item), pdf, oid=OID_NIR_TEST)
        assert caught.value.code == "disk_full"
        assert "plein" in caught.value.message
        assert listing(folder) == [filler.name]


def test_disk_full_on_the_second_file_removes_the_first(
    pdf: Path, item: dict[str, Any], tmpfs: Callable[[str], Path]
) -> None:
    """Room for the PDF only: the HPRIM file fails, and the staged PDF goes away too."""
    assert pdf.stat().st_size < 4096
    folder = tmpfs("size=64k")
    filler = _fill(folder)
    os.truncate(filler, filler.stat().st_size - 4096)  # one page free
    with pytest.raises(ExportError) as caught:
        write_export(get_profile("hprim"), folder, typed(item), pdf)
    assert caught.value.code == "disk_full"
    assert listing(folder) == [filler.name]
    # once room is made, the same export succeeds
    filler.unlink()
    paths = write_export(get_profile("hprim"), folder, typed(item), pdf)
    assert listing(folder) == sorted(p.name for p in paths)


def test_unreadable_source_is_export_failed(tmp_path: Path, item: dict[str, Any]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ExportError) as caught:
        write_export(get_profile("pdf"), out, typed(item), tmp_path / "absent.pdf")
    assert caught.value.code == "export_failed"
    assert listing(out) == []


def test_item_is_not_modified(tmp_path: Path, pdf: Path, item: dict[str, Any]) -> None:
    before = copy.deepcopy(item)
    out = tmp_path / "out"
    out.mkdir()
    for profile in load_profiles():
        write_export(profile, out, typed(item), pdf, oid=OID_NIR_TEST)
    assert item == before


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        # MonSisra's engine must not pull the platform (server) nor Qt
        ("sisra.client.export", ("sisra.platform", "PySide", "PyQt")),
        # the platform attaches the same archives to MSSanté mail: the writer must not pull
        # MonSisra's engine (imports go platform → common, client → common)
        ("sisra.common.xdm", ("sisra.client", "sisra.platform", "PySide")),
        # every `sisra client` command starts by importing this: the schemas' validator (a
        # third of that start-up) waits for an archive to write or check (decision 178)
        ("sisra.client.cli", ("xmlschema", "elementpath")),
    ],
)
def test_export_modules_import_only_their_side(module: str, forbidden: tuple[str, ...]) -> None:
    code = (
        f"import sys, {module}; "
        f"bad = [m for m in sys.modules if m.startswith({forbidden!r})]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("ascii_names", [None, False])
def test_the_hprim_body_names_the_pdf_that_is_on_disk(
    tmp_path: Path, pdf: Path, ascii_names: bool | None
) -> None:
    """« BŒUF » has no ISO-8859-1 form: the body said « BOEUF_….pdf » while the PDF on disk
    was « BŒUF_….pdf ». One name for both, the ASCII-safe one, whatever the user's choice."""
    item = make_item(pdf, patient__used_name="BŒUF", patient__first_given_name="Zoë")
    out = tmp_path / "out"
    out.mkdir()
    written, hpr = write_export(
        get_profile("hprim"), out, typed(item), pdf, ascii_names=ascii_names
    )
    named = parse_hprim(hpr.read_bytes())["pdf_name"]
    assert named == written.name and (out / named).is_file()
    assert written.name.isascii() and written.name.startswith("BOEUF_Zoe_")
    assert hpr.stem == written.stem


# ------------------------------------------------------------------ who may read the files


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
@pytest.mark.parametrize("name", ["pdf", "hprim", "xdm"])
def test_exports_are_readable_by_this_account_only(
    tmp_path: Path, pdf: Path, item: dict[str, Any], name: str
) -> None:
    """On a shared practice server, a world-readable export is readable by every account:
    files are 0600 and the folders MonSisra creates 0700, whatever the umask."""
    from sisra.client.export.permissions import PRIVATE

    previous = os.umask(0o022)
    try:
        out = tmp_path / "cabinet" / "documents"
        PRIVATE.make_folder(out)
        written = write_export(get_profile(name), out, typed(item), pdf)
    finally:
        os.umask(previous)
    assert (out.stat().st_mode & 0o7777, out.parent.stat().st_mode & 0o7777) == (0o700, 0o700)
    assert written and all(p.stat().st_mode & 0o777 == 0o600 for p in written), [
        oct(p.stat().st_mode) for p in written
    ]


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes and groups")
def test_with_the_practice_softwares_group_files_are_0640_of_that_group(
    tmp_path: Path, pdf: Path, item: dict[str, Any]
) -> None:
    import grp

    from sisra.client.export.permissions import FileAccess, GroupError

    group = grp.getgrgid(os.getgroups()[-1] if os.getgroups() else os.getgid()).gr_name
    access = FileAccess.for_group(group)
    out = tmp_path / "hprim"
    access.make_folder(out)
    written = write_export(get_profile("hprim"), out, typed(item), pdf, access=access)
    assert out.stat().st_mode & 0o7777 == 0o2750 and out.stat().st_gid == access.gid
    for path in written:
        assert path.stat().st_mode & 0o777 == 0o640 and path.stat().st_gid == access.gid
    with pytest.raises(GroupError, match="n'existe pas"):
        FileAccess.for_group("logiciel-inexistant")

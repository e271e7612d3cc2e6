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
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from sisra.client.export import (
    ExportError,
    build_xdm,
    get_profile,
    hprim_header,
    load_profiles,
    parse_hprim,
    read_xdm,
    render_name,
    safe_filename,
    unique_path,
    write_export,
)
from sisra.client.export import xdm as xdm_module
from sisra.client.export.filenames import MAX_NAME_LEN
from sisra.client.export.hprim import hprim_bytes
from sisra.client.export.profiles import expand_folder
from sisra.client.export.xsd_subset import Schema, SchemaError
from sisra.common.ins import OID_NIR_TEST

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


def make_pdf(path: Path, text: str = "Compte rendu de consultation") -> Path:
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.setTitle(text)
    pdf.drawString(72, 760, text)
    pdf.drawString(72, 740, "Patiente : Hélène GAUTHIER née LEFÈVRE, le 12/04/1969")
    pdf.showPage()
    pdf.save()
    return path


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    return make_pdf(tmp_path / "source.pdf")


def make_item(pdf_path: Path, **changes: Any) -> dict[str, Any]:
    data = pdf_path.read_bytes()
    item: dict[str, Any] = {
        "id": "6f1c1d7e-8a3b-4c2d-9e0f-123456789abc",
        "cursor": 12,
        "created_at": "2026-11-20T10:00:00Z",
        "document": {
            "id": "0b3f5a2e-1111-4222-8333-944455556666",
            "title": "Compte rendu de consultation cardiologique",
            "type_code": "cr_consultation",
            "type_label": "Compte rendu de consultation",
            "loinc": "11488-4",
            "clinical_date": "2026-11-19",
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "page_count": 1,
            "in_reply_to": None,
        },
        "patient": {
            "id": "a1b2c3d4-0000-4000-8000-000000000001",
            "birth_name": "LEFÈVRE",
            "used_name": "GAUTHIER",
            "first_given_name": "Hélène",
            "birth_date": "1969-04-12",
            "sex": "F",
            "ins": "269046912304567",
        },
        "sender": {
            "id": "5d9e4c1a-2222-4333-8444-955566667777",
            "name": "Marc GAUTHIER",
            "profession": "Cardiologue",
            "specialty": "Cardiologie et maladies vasculaires",
            "structure": "Cabinet de cardiologie de Villeurbanne",
        },
        "delivered_at": None,
        "read_at": None,
    }
    for path, value in changes.items():
        section, key = path.split("__")
        item[section][key] = value
    return item


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
        stem = render_name(profile, item)
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
    assert safe_filename("Hélène LEFÈVRE.pdf", "ascii") == "Helene LEFEVRE.pdf"
    assert safe_filename("Œdème cœur", "ascii") == "OEdeme coeur"
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
        stem = render_name(profile, item)
        assert windows_valid(stem + ".pdf") and encodable(stem, profile.charset)
        assert name_size(stem, profile.charset) <= MAX_NAME_LEN - 9
        assert "__" not in stem and ("LEFÈVRE" in stem or "LEFEVRE" in stem)
    assert render_name(get_profile("pdf"), item).startswith("20261119_LEFÈVRE_CR- échographie")


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
    first = write_export(profile, out, item, pdf)
    assert write_export(profile, out, item, pdf) == first
    other_pdf = make_pdf(tmp_path / "other.pdf", "Autre compte rendu, même titre")
    other = write_export(profile, out, make_item(other_pdf), other_pdf)
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
            "export.write_export(export.get_profile('hprim'), sys.argv[1], item, sys.argv[2])\n",
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
    files = write_export(get_profile("hprim"), out, item, pdf)
    assert listing(out) == sorted([someone_else.name, *(f.name for f in files)])


# ------------------------------------------------------------------ HPRIM Net


def test_hprim_file_parses_back_to_the_same_identity(
    tmp_path: Path, pdf: Path, item: dict[str, Any]
) -> None:
    out = tmp_path / "hprim"
    out.mkdir()
    paths = write_export(get_profile("hprim"), out, item, pdf)
    assert [p.suffix for p in paths] == [".pdf", ".hpr"]
    assert paths[0].stem == paths[1].stem
    assert paths[0].read_bytes() == pdf.read_bytes()
    raw = paths[1].read_bytes()
    # CRLF everywhere, Windows-1252 (é is one byte 0xE9), no UTF-8
    assert raw.endswith(b"\r\n") and raw.count(b"\n") == raw.count(b"\r\n")
    assert "Hélène".encode("cp1252") in raw and "Hélène".encode() not in raw
    parsed = parse_hprim(raw)  # cp1252 by default
    assert parsed["crlf"] is True
    assert parsed["pdf_name"] == paths[0].name
    assert parsed["patient_id"] == "269046912304567"
    assert parsed["last_name"] == "GAUTHIER"
    assert parsed["first_name"] == "Hélène"
    assert parsed["address"] == ["", "", ""]
    assert parsed["birth_date"] == "1969-04-12"
    assert parsed["ins"] == "269046912304567"
    assert parsed["document_id"] == item["document"]["id"]
    assert parsed["document_date"] == "2026-11-19"
    assert parsed["sender"] == "Dr Marc GAUTHIER"
    assert parsed["body"][0] == f"Document PDF transmis par Sisra : {paths[0].name}"
    assert "Titre : Compte rendu de consultation cardiologique" in parsed["body"]
    lines = raw.decode("cp1252").split("\r\n")
    assert lines[-3:] == ["****FIN****", "****FINFICHIER****", ""]


def test_hprim_without_ins_and_with_hostile_text(pdf: Path) -> None:
    item = make_item(
        pdf,
        patient__ins=None,
        patient__used_name=None,
        document__title="****FIN****\r\nligne injectée → 漢字",
        sender__profession="Infirmière",
        sender__name="Sophie BERNARD",
    )
    text = hprim_header(item, "x.pdf")
    parsed = parse_hprim(text)
    assert parsed["patient_id"] == item["patient"]["id"]
    assert parsed["ins"] is None
    assert parsed["last_name"] == "LEFÈVRE"
    assert parsed["sender"] == "Sophie BERNARD"  # not a doctor: no "Dr"
    assert len(parsed["body"]) == 4  # the title stayed on one line, markers not forged
    encoded = hprim_bytes(item, "x.pdf", "cp1252")
    assert parse_hprim(encoded)["last_name"] == "LEFÈVRE"
    assert parse_hprim(hprim_bytes(item, "x.pdf", "ascii"), "ascii")["last_name"] == "LEFEVRE"
    with pytest.raises(ValueError, match="HPRIM"):
        parse_hprim("trop\r\ncourt\r\n")


# ------------------------------------------------------------------ IHE XDM


def test_xdm_archive_contents_validate_and_parse_back(
    tmp_path: Path, pdf: Path, item: dict[str, Any]
) -> None:
    out = tmp_path / "xdm"
    out.mkdir()
    paths = write_export(get_profile("xdm"), out, item, pdf, oid=OID_NIR_TEST)
    assert len(paths) == 1 and paths[0].suffix == ".zip"
    with zipfile.ZipFile(paths[0]) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == sorted(
            ["README.TXT", "INDEX.HTM", "IHE_XDM/SUBSET01/METADATA.XML",
             "IHE_XDM/SUBSET01/DOC0001.PDF"]
        )  # fmt: skip
        metadata = archive.read("IHE_XDM/SUBSET01/METADATA.XML")
        readme = archive.read("README.TXT").decode("utf-8")
        index = archive.read("INDEX.HTM").decode("utf-8")
    assert xdm_module.validator_name() in ("lxml", "xsd_subset")
    assert xdm_module.schema_errors(metadata) == []
    assert xdm_module.xds_errors(metadata) == []
    assert "Marc GAUTHIER" in readme and "LEFÈVRE" in readme and "Expéditeur" in readme
    assert 'href="IHE_XDM/SUBSET01/DOC0001.PDF"' in index

    data = pdf.read_bytes()
    back = read_xdm(paths[0])
    assert back["patient_id"] == "269046912304567"
    assert back["patient_oid"] == OID_NIR_TEST
    assert back["source_patient_id"] == f"269046912304567^^^&{OID_NIR_TEST}&ISO"
    assert back["birth_name"] == "LEFÈVRE"
    assert back["used_name"] == "GAUTHIER"
    assert back["first_name"] == "Hélène"
    assert back["birth_date"] == "1969-04-12"
    assert back["sex"] == "F"
    assert back["title"] == item["document"]["title"]
    assert back["mime_type"] == "application/pdf"
    assert back["type_code"] == back["class_code"] == "11488-4"
    assert back["creation_time"] == "20261119"
    assert back["author"] == "^GAUTHIER^Marc"
    assert back["unique_id"].startswith("2.25.") and len(back["unique_id"]) <= 64
    assert back["hash"] == hashlib.sha1(data).hexdigest()  # noqa: S324 - XDS hash is SHA-1
    assert back["size"] == len(data)
    assert back["pdf"] == data


def test_xdm_is_deterministic_and_pdf_beside_variant(
    tmp_path: Path, pdf: Path, item: dict[str, Any]
) -> None:
    build_xdm(item, pdf, tmp_path / "a.zip", oid=OID_NIR_TEST)
    build_xdm(item, pdf, tmp_path / "b.zip", oid=OID_NIR_TEST)
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    # a profile keeping the PDF beside the archive: PDF first, same stem
    beside = dataclasses.replace(get_profile("xdm"), id="xdm_pdf", pdf_in_zip=False)
    out = tmp_path / "out"
    out.mkdir()
    paths = write_export(beside, out, item, pdf, oid=OID_NIR_TEST)
    assert [p.suffix for p in paths] == [".pdf", ".zip"] and paths[0].stem == paths[1].stem
    assert write_export(beside, out, item, pdf, oid=OID_NIR_TEST) == paths
    assert listing(out) == sorted(p.name for p in paths)


def test_xdm_without_ins_uses_the_platform_id(tmp_path: Path, pdf: Path) -> None:
    item = make_item(pdf, patient__ins=None, patient__used_name=None, patient__sex="I")
    build_xdm(item, pdf, tmp_path / "IHE_XDM.ZIP")
    back = read_xdm(tmp_path / "IHE_XDM.ZIP")
    assert back["patient_id"] == item["patient"]["id"]
    assert back["patient_oid"] == xdm_module.SISRA_PATIENT_OID
    assert back["used_name"] is None and back["sex"] == "U"


def test_metadata_checks_reject_broken_metadata(pdf: Path, item: dict[str, Any]) -> None:
    good = xdm_module.metadata_xml(item, "0" * 40, 10, OID_NIR_TEST)
    assert xdm_module.schema_errors(good) == [] and xdm_module.xds_errors(good) == []
    broken = {
        "mimeType": good.replace(b' mimeType="application/pdf"', b""),
        "order": good.replace(
            b'<rim:Slot name="submissionTime">',
            b'<rim:Name><rim:LocalizedString value="x" /></rim:Name>'
            b'<rim:Slot name="submissionTime">',
            1,
        ),
        "unknown": good.replace(b"<rim:RegistryObjectList>", b"<rim:RegistryObjectList><rim:X/>"),
        "id": good.replace(b'ExtrinsicObject id="urn:uuid:', b'ExtrinsicObject id="D1" a="'),
        "value": good.replace(b"<rim:Value>fr-FR</rim:Value>", b"<rim:Value>" + b"x" * 300
                              + b"</rim:Value>"),
    }  # fmt: skip
    for label, xml in broken.items():
        assert xml != good, label
        assert xdm_module.schema_errors(xml), label
    orphan = good.replace(b"AssociationType:HasMember", b"AssociationType:Other")
    assert any("HasMember" in p for p in xdm_module.xds_errors(orphan))
    with pytest.raises(xdm_module.XdmError, match=r"METADATA\.XML invalide"):
        xdm_module.validate_metadata(broken["mimeType"])


def test_xsd_subset_refuses_constructs_it_does_not_interpret() -> None:
    schema = (
        b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" '
        b'elementFormDefault="qualified"><xs:element name="R"><xs:complexType><xs:sequence>'
        b"<xs:any/></xs:sequence></xs:complexType></xs:element></xs:schema>"
    )
    with pytest.raises(SchemaError):
        Schema(lambda _name: schema, "t.xsd")


# ------------------------------------------------------------------ atomic writes


@pytest.mark.parametrize("profile_id", sorted(EXPECTED_PROFILES))
def test_write_export_is_atomic_for_every_profile(
    tmp_path: Path, pdf: Path, item: dict[str, Any], profile_id: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    profile = get_profile(profile_id)
    paths = write_export(profile, out, item, pdf, oid=OID_NIR_TEST)
    assert listing(out) == sorted(p.name for p in paths)  # no ".part" left
    assert all(p.parent == out and p.is_file() for p in paths)
    if profile.writes_pdf:
        assert paths[0].suffix == ".pdf" and paths[0].read_bytes() == pdf.read_bytes()
    assert len(paths) == 1 + (profile.sidecar != "none") - (not profile.writes_pdf)


def test_missing_folder(tmp_path: Path, pdf: Path, item: dict[str, Any]) -> None:
    with pytest.raises(ExportError) as caught:
        write_export(get_profile("hprim"), tmp_path / "absent", item, pdf)
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
                write_export(get_profile(profile_id), folder, item, pdf)
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
            write_export(get_profile(profile_id), folder, item, pdf, oid=OID_NIR_TEST)
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
        write_export(get_profile("hprim"), folder, item, pdf)
    assert caught.value.code == "disk_full"
    assert listing(folder) == [filler.name]
    # once room is made, the same export succeeds
    filler.unlink()
    paths = write_export(get_profile("hprim"), folder, item, pdf)
    assert listing(folder) == sorted(p.name for p in paths)


def test_unreadable_source_is_export_failed(tmp_path: Path, item: dict[str, Any]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ExportError) as caught:
        write_export(get_profile("pdf"), out, item, tmp_path / "absent.pdf")
    assert caught.value.code == "export_failed"
    assert listing(out) == []


def test_item_is_not_modified(tmp_path: Path, pdf: Path, item: dict[str, Any]) -> None:
    before = copy.deepcopy(item)
    out = tmp_path / "out"
    out.mkdir()
    for profile in load_profiles():
        write_export(profile, out, item, pdf, oid=OID_NIR_TEST)
    assert item == before


def test_export_package_stays_headless() -> None:
    """MonSisra's engine must not pull the platform (server) nor Qt."""
    code = (
        "import sys, sisra.client.export; "
        "bad = [m for m in sys.modules if m.startswith(('sisra.platform', 'PySide', 'PyQt'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

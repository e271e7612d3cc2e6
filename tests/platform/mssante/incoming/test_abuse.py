"""Abuse of the gateway by another operator's sender: zip bombs, entry names that leave their
folder, executables deep inside nested zips, a local professional's address claimed from
outside, and external correspondents passing for the directory's professionals."""

import io
import struct
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sisra.platform.models import Document, Professional, Role
from support.mssante import ELF, audited_refusals, stored_blobs
from support.web import web_session

from .mails import SENDER, lmtp, with_pdf, with_xdm, xdm_zip, zip_of
from .shared import running_gateway

PATIENT = {"birth_name": "BERNARD", "first_given_name": "Louise", "birth_date": "1988-02-29"}


def _raw_zip(entries: list[tuple[str, int, int, int, bytes]]) -> bytes:
    """A zip written byte by byte: (name, method, crc, expanded size, stored data) per entry,
    the sizes as given (a zip's declared sizes are whatever its writer says)."""
    out = io.BytesIO()
    central = []
    for name, method, crc, size, data in entries:
        offset = out.tell()
        raw = name.encode()
        head = struct.pack("<HHHHHIIIHH", 20, 0, method, 0, 0x21, crc, len(data), size, len(raw), 0)
        out.write(b"PK\x03\x04" + head + raw + data)
        central.append(
            b"PK\x01\x02"
            + struct.pack(
                "<HHHHHHIIIHHHHHII",
                *(20, 20, 0, method, 0, 0x21, crc, len(data), size, len(raw), 0, 0, 0, 0, 0),
                offset,
            )
            + raw
        )
    start = out.tell()
    directory = b"".join(central)
    out.write(directory)
    count = len(entries)
    out.write(b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, count, count, len(directory), start, 0))
    return out.getvalue()


def zeros_bomb(tmp: Path, gib: int) -> bytes:
    """A valid XDM archive whose document is ``gib`` GiB of zeros, about 1 MB per GiB: the
    deflate stream of one MiB of zeros, ended by a full flush, is the same for every MiB."""
    mib = bytes(1 << 20)
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = squeeze.compress(mib) + squeeze.flush(zlib.Z_FULL_FLUSH)
    count = gib << 10
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(mib, crc)
    bomb = segment * count + squeeze.flush()
    with zipfile.ZipFile(io.BytesIO(xdm_zip(tmp, PATIENT, b"%PDF-1.4\n"))) as good:
        small = [(n, good.read(n)) for n in good.namelist() if not n.endswith(".PDF")]
    entries = [(n, 0, zlib.crc32(d), len(d), d) for n, d in small]
    entries.append(("IHE_XDM/SUBSET01/DOC0001.PDF", 8, crc, count << 20, bomb))
    return _raw_zip(entries)


def _with_entries(tmp: Path, pdf: bytes, extra: dict[str, bytes]) -> bytes:
    """A valid XDM archive of ``pdf`` with more entries."""
    buf = io.BytesIO(xdm_zip(tmp, PATIENT, pdf))
    with zipfile.ZipFile(buf, "a") as archive:
        for name, data in extra.items():
            archive.writestr(zipfile.ZipInfo(name), data)
    return buf.getvalue()


def _nested(levels: int, inner: dict[str, bytes]) -> bytes:
    """``inner`` zipped, then that zip zipped, ``levels`` times in all."""
    data = zip_of(inner)
    for _ in range(levels - 1):
        data = zip_of({"niveau.zip": data})
    return data


@pytest.fixture
def claire(mailbox: Any) -> Any:
    return mailbox("claire.martin")


# --- zip bombs ------------------------------------------------------------------------------


def test_a_zip_bomb_is_bounced_quickly_in_bounded_memory(
    app_client, settings, claire, counts, db, tmp_path
):
    bomb = zeros_bomb(tmp_path, 2)  # 2 GiB of zeros in 2 MB
    assert len(bomb) < 2_500_000
    msg = with_xdm(claire.address, bomb)
    with running_gateway(
        app_client.app, settings, mssante_max_message_bytes=8 * 1024 * 1024
    ) as gateway:
        tracemalloc.start()
        started = time.monotonic()
        try:
            status, text = lmtp(gateway.port, SENDER, [claire.address], msg)[claire.address]
            elapsed = time.monotonic() - started
            _size, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert status == 554 and text.startswith("5.7.1 Archive refusee"), text
    assert peak < 80 * 1024 * 1024, f"the gateway held {peak >> 20} MB"
    assert elapsed < 60, elapsed  # generous: the old code held 2 GiB in memory
    assert counts() == (0, 0)
    assert [d["reason"] for d in audited_refusals(db)] == ["archive_limits"]


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"mssante_archive_max_bytes": 1024 * 1024}, "elle depasse 1 Mo"),
        ({"mssante_archive_max_entries": 10}, "plus de 10 fichiers"),
    ],
)
def test_the_expanded_size_and_the_entries_are_bounded(
    app_client, settings, claire, counts, db, pdf, tmp_path, overrides, words
):
    extra = {f"IHE_XDM/SUBSET01/ANNEXE{i}.TXT": bytes(200_000) for i in range(8)}
    archive = _with_entries(tmp_path, pdf(), extra)
    # stored, not compressed (a ratio of 1): the expanded size or the count decides
    with running_gateway(app_client.app, settings, **overrides) as gateway:
        status, text = lmtp(
            gateway.port, SENDER, [claire.address], with_xdm(claire.address, archive)
        )[claire.address]
    assert status == 554 and words in text, text
    assert counts() == (0, 0)
    assert [d["reason"] for d in audited_refusals(db)] == ["archive_limits"]


def test_zips_nested_too_deep_are_refused(gateway, claire, counts, db, pdf, tmp_path):
    archive = _with_entries(tmp_path, pdf(), {"IHE_XDM/SUBSET01/A.ZIP": _nested(2, {"a": b"a"})})
    status, text = lmtp(gateway.port, SENDER, [claire.address], with_xdm(claire.address, archive))[
        claire.address
    ]
    assert status == 554 and "archives imbriquees" in text, text
    assert counts() == (0, 0)
    assert [d["reason"] for d in audited_refusals(db)] == ["archive_limits"]


def test_an_executable_is_found_at_every_level(
    app_client, settings, claire, counts, db, pdf, tmp_path
):
    deep = _nested(4, {"outil": ELF})
    archive = _with_entries(tmp_path, pdf(), {"IHE_XDM/SUBSET01/A.ZIP": deep})
    with running_gateway(app_client.app, settings, mssante_archive_max_depth=5) as gateway:
        status, text = lmtp(
            gateway.port, SENDER, [claire.address], with_xdm(claire.address, archive)
        )[claire.address]
    assert status == 554 and "executable ELF" in text, text
    assert counts() == (0, 0)
    assert [d["reason"] for d in audited_refusals(db)] == ["executable"]


# --- entry names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/cron.d/sisra",
        "IHE_XDM/SUBSET01/../../../tmp/x",
        "/etc/passwd",
        "IHE_XDM\\SUBSET01\\..\\..\\x.txt",
        "C:/Windows/System32/x.txt",
        "c:x.txt",
    ],
)
def test_an_entry_name_leaving_its_folder_is_refused(
    gateway, claire, counts, db, pdf, settings, tmp_path, name
):
    archive = _with_entries(tmp_path, pdf(), {name: b"bonjour"})
    status, text = lmtp(gateway.port, SENDER, [claire.address], with_xdm(claire.address, archive))[
        claire.address
    ]
    assert status == 554 and "nom de fichier dangereux" in text, text
    assert counts() == (0, 0) and stored_blobs(settings) == []
    assert [d["reason"] for d in audited_refusals(db)] == ["unsafe_entry_name"]


def test_an_entry_name_leaving_its_folder_is_refused_in_a_nested_zip(
    gateway, claire, counts, db, pdf, tmp_path
):
    inner = zip_of({"../../x.txt": b"bonjour"})
    archive = _with_entries(tmp_path, pdf(), {"IHE_XDM/SUBSET01/A.ZIP": inner})
    status, text = lmtp(gateway.port, SENDER, [claire.address], with_xdm(claire.address, archive))[
        claire.address
    ]
    assert status == 554 and "nom de fichier dangereux" in text, text
    assert [d["reason"] for d in audited_refusals(db)] == ["unsafe_entry_name"]


# --- a local professional's address from outside --------------------------------------------


def test_a_local_domain_sender_from_the_relay_is_refused(gateway, mailbox, counts, db, pdf):
    claire, paul = mailbox("claire.martin"), mailbox("paul.durand")
    msg = with_pdf(paul.address, pdf(), sender=claire.address)
    status, text = lmtp(gateway.port, claire.address, [paul.address], msg)[paul.address]
    assert status == 550 and "usurpation" in text, text
    assert counts() == (0, 0)
    refusals = audited_refusals(db)
    assert [d["reason"] for d in refusals] == ["local_sender_from_outside"]
    assert refusals[0]["sender"] == claire.address


def test_a_local_professional_s_address_in_another_domain_is_refused(
    gateway, claire, make_pro, counts, db, pdf
):
    """A professional of the platform whose MSSanté address is not in the platform's domains
    (kept from another operator): mail claiming it is never filed with them as its author."""
    jeanne = make_pro("jeanne.durand")
    own = "jeanne.durand@medecin.mssante.fr"
    with db() as session:
        session.get(Professional, jeanne.id).mssante = own
    msg = with_pdf(claire.address, pdf(), sender=own)
    status, text = lmtp(gateway.port, own, [claire.address], msg)[claire.address]
    assert status == 550 and "usurpation" in text, text
    assert counts() == (0, 0)
    assert [d["reason"] for d in audited_refusals(db)] == ["local_sender_from_outside"]
    with db() as session:
        assert session.scalars(select(Document).where(Document.author_id == jeanne.id)).all() == []


# --- directory poisoning --------------------------------------------------------------------


def test_an_external_namesake_is_labelled_and_listed_after_the_professional(
    app_client, gateway, claire, make_pro, make_patient, db, pdf
):
    real = make_pro("marc.gauthier", first_name="Marc", last_name="GAUTHIER", city="Lyon")
    fake = "marc.gauthier@cabinet-faux.mssante.fr"
    msg = with_pdf(claire.address, pdf(), sender=fake)
    msg.replace_header("From", f"Dr Marc GAUTHIER <{fake}>")
    assert lmtp(gateway.port, fake, [claire.address], msg)[claire.address][0] == 250
    with db() as session:
        row = session.scalars(select(Professional).where(Professional.mssante == fake)).one()
        assert row.external and (row.first_name, row.last_name) == ("Marc", "GAUTHIER")

    # API directory search
    found = app_client.get("/api/v1/professionals?q=gauthier", headers=claire.headers).json()
    assert [(p["id"], p["external"]) for p in found] == [(str(real.id), False), (str(row.id), True)]
    assert found[1]["mssante"] == fake

    # the send page: search as you type, and the page itself
    web_session(app_client, claire, "/")
    items = app_client.get("/web/annuaire?q=gauthier").json()["items"]
    assert [(i["id"], i["external"], i["address"]) for i in items] == [
        (str(real.id), False, None),
        (str(row.id), True, fake),
    ]
    patient = make_patient()
    html = app_client.get(f"/envoyer/{patient}?q=gauthier").text
    assert html.index(str(real.id)) < html.index(str(row.id))
    assert html.count("correspondant externe") == 1
    assert f"&lt;{fake}&gt;" in html

    # the administrators' directory page
    admin = make_pro("admin.annuaire", role=Role.administrator)
    web_session(app_client, admin, "/admin/annuaire")
    html = app_client.get("/admin/annuaire?q=gauthier").text
    assert html.index(str(real.id)) < html.index(str(row.id))
    assert html.count("correspondant externe") == 1 and f"&lt;{fake}&gt;" in html

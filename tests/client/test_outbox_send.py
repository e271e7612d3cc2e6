"""The outbox against a running platform: letters sent once, or set aside with their reason."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from sisra.client.outbox import SENT_DIR, SET_ASIDE_DIR, idempotency_key, pending
from sisra.client.outbox.letters import NO_HEADER
from sisra.common.ins import with_key
from sisra.common.xdm import build_xdm
from sisra.platform.models import Document, Notification, Professional, ShareIdempotencyKey
from support.export import make_item
from support.outbox import drop, hprim, mode, new_patient, platform_for, rpps_of, two_passes
from support.outbox import watcher as make_watcher
from support.web import web_session

BIRTH = date(1961, 3, 14)


@pytest.fixture
def world(live_server: Any, make_pro: Any, smtp_sink: Any, db: Any, tmp_path: Path) -> Any:
    """A sender (logged in on the platform and in MonSisra), two recipients, a patient and
    the outbox."""

    class World:
        pass

    w = World()
    w.sender = make_pro("expediteur", first_name="Paul", last_name="Expéditeur")
    w.claire = make_pro("claire", first_name="Claire", last_name="Martin", log_in=False)
    w.luc = make_pro("luc", first_name="Luc", last_name="Blanc", log_in=False)
    w.patient = new_patient(db, "LEFÈVRE", "Hélène", BIRTH)
    w.platform = platform_for(live_server.url, smtp_sink, "expediteur")
    w.outbox = tmp_path / "envoi"
    w.outbox.mkdir()
    w.lines = []
    w.watcher = make_watcher(w.outbox, w.platform, w.lines)
    yield w
    w.platform.client.close()


def _documents(db: Any, patient: Any) -> list[Document]:
    with db() as s:
        return list(s.scalars(select(Document).where(Document.patient_id == patient)))


def _recipients(db: Any, document: Document) -> set[Any]:
    with db() as s:
        rows = s.scalars(select(Notification).where(Notification.document_id == document.id))
        return {n.recipient_id for n in rows}


def _set_aside(outbox: Path, name: str) -> str:
    return (outbox / SET_ASIDE_DIR / f"{name}.txt").read_text(encoding="utf-8")


def test_an_hprim_letter_is_sent_to_every_recipient_and_filed_by_month(
    world: Any, db: Any, pdf: Any, app_client: Any
) -> None:
    rpps = rpps_of(db, world.claire.id)
    header = hprim(
        "Lefevre", "helene", BIRTH, f"{rpps} ; Dr Luc BLANC", title="Suivi de l'HTA"
    )  # accents and case as a practice software may write them
    drop(world.outbox, "lettre-1", pdf("Lettre au confrère"), header)
    first = world.watcher.scan_once()
    assert first.sent == [] and first.waiting == 1  # seen once: not yet complete
    report = world.watcher.scan_once()
    assert report.sent == ["lettre-1"], world.lines

    [doc] = _documents(db, world.patient)
    assert doc.title == "Suivi de l'HTA" and doc.author_id == world.sender.id
    assert _recipients(db, doc) == {world.claire.id, world.luc.id}
    month = world.outbox / SENT_DIR / f"{date.today():%Y-%m}"
    assert sorted(p.name for p in month.iterdir()) == ["lettre-1.hpr", "lettre-1.pdf"]
    assert not (world.outbox / "lettre-1.pdf").exists()
    assert mode(world.outbox / SENT_DIR) == 0o700 and mode(month) == 0o700
    assert mode(world.outbox / SENT_DIR / ".journal") == 0o600
    [line] = world.lines
    assert "Courrier envoyé : « lettre-1.hpr, lettre-1.pdf »" in line
    assert "Claire MARTIN" in line and f"{SENT_DIR}/{date.today():%Y-%m}/" in line

    # the sender sees it in « Documents envoyés », with each recipient's state
    html = web_session(app_client, world.sender, "/documents-envoyes").text
    row = html.split("Suivi de l&#39;HTA", 1)[1] if "Suivi de l&#39;HTA" in html else ""
    assert row, html
    assert "en attente" in row and "LEFÈVRE" in html


def test_a_qualified_ins_finds_the_patient_whatever_the_traits_say(
    world: Any, db: Any, pdf: Any
) -> None:
    ins = with_key("2690469123045")
    patient = new_patient(db, "ROUX", "Anne", date(1969, 4, 12), ins=ins, status="qualifiée")
    with db() as s:  # Claire is named by her MSSanté address this time
        s.get(Professional, world.claire.id).mssante = "claire.martin@sante.example"
    # the practice software knows her by her used name and a short first name
    header = hprim("DURAND", "Annie", date(1969, 4, 12), "Claire.Martin@sante.example", nss=ins)
    drop(world.outbox, "ins", pdf("INS"), header)
    assert two_passes(world.watcher).sent == ["ins"], world.lines
    [doc] = _documents(db, patient)
    assert _recipients(db, doc) == {world.claire.id}


def test_an_ins_that_is_not_qualified_needs_the_strict_traits(
    world: Any, db: Any, pdf: Any
) -> None:
    ins = with_key("1550299123456")
    new_patient(db, "BERNARD", "Marc", date(1955, 2, 9), sex="M", ins=ins, status="validée")
    rpps = rpps_of(db, world.claire.id)
    drop(
        world.outbox, "ins2", pdf("x"), hprim("BERNARD", "Marcel", date(1955, 2, 9), rpps, nss=ins)
    )
    assert two_passes(world.watcher).set_aside == ["ins2"]
    assert "aucun patient BERNARD Marcel" in _set_aside(world.outbox, "ins2")


def test_an_xdm_archive_is_read_from_its_metadata(
    world: Any, db: Any, pdf: Any, tmp_path: Path
) -> None:
    source = tmp_path / "source.pdf"
    source.write_bytes(pdf("Archive"))
    rpps = rpps_of(db, world.claire.id)
    item = make_item(source)
    item["patient"].update(
        birth_name="LEFÈVRE", used_name=None, first_given_name="Hélène",
        birth_date=BIRTH.isoformat(), sex="F", ins="", ins_oid=None,
        identity_status="provisoire",
    )  # fmt: skip
    item["document"].update(title="Compte rendu opératoire du genou", type_code="cr_operatoire")
    item["recipient"].update(rpps=rpps, first_name="Claire", last_name="Martin")
    build_xdm(item, source, world.outbox / "IHE_XDM.zip")
    assert two_passes(world.watcher).sent == ["IHE_XDM"], world.lines
    [doc] = _documents(db, world.patient)
    assert doc.title == "Compte rendu opératoire du genou" and doc.type_code == "cr_operatoire"
    assert _recipients(db, doc) == {world.claire.id}


def test_a_lone_pdf_is_never_guessed(world: Any, db: Any, pdf: Any) -> None:
    drop(world.outbox, "seul", pdf("Seul"))
    world.watcher.companion_wait_s = 3600.0
    two_passes(world.watcher)
    assert (world.outbox / "seul.pdf").exists()  # its header may still come
    world.watcher.companion_wait_s = 0.0
    assert world.watcher.scan_once().set_aside == ["seul"]
    note = _set_aside(world.outbox, "seul")
    assert f"Motif : {NO_HEADER}" in note and "Que faire : " in note
    assert (world.outbox / SET_ASIDE_DIR / "seul.pdf").exists()
    assert _documents(db, world.patient) == []
    [letter] = pending(world.outbox)
    assert letter.path.name == "seul.pdf" and letter.reason == NO_HEADER
    assert "Courrier mis de côté : « seul.pdf »" in world.lines[0]


def test_a_file_being_written_is_left_until_it_is_complete(world: Any, db: Any, pdf: Any) -> None:
    rpps = rpps_of(db, world.claire.id)
    data = pdf("En cours")
    (world.outbox / "lent.hpr").write_bytes(hprim("LEFEVRE", "Hélène", BIRTH, rpps))
    (world.outbox / "lent.pdf").write_bytes(data[:100])
    (world.outbox / "autre.pdf.part").write_bytes(data)  # a writer's temporary name
    assert world.watcher.scan_once().waiting == 1
    with (world.outbox / "lent.pdf").open("ab") as fh:
        fh.write(data[100:])  # the writer goes on between two scans
    assert world.watcher.scan_once().sent == []
    assert world.watcher.scan_once().sent == ["lent"], world.lines
    assert len(_documents(db, world.patient)) == 1
    assert (world.outbox / "autre.pdf.part").exists()
    assert [p.name for p in world.outbox.iterdir() if p.is_file()] == ["autre.pdf.part"]


class Killed(BaseException):
    """What a kill looks like to the pass: nothing after it runs."""


def _kill_after_share(letter: Any) -> None:
    raise Killed


@pytest.mark.parametrize("forget_keys", [False, True])
def test_a_restart_between_sharing_and_moving_sends_nothing_twice(
    world: Any, db: Any, pdf: Any, forget_keys: bool
) -> None:
    rpps = rpps_of(db, world.claire.id)
    good = pdf("Une fois")
    drop(world.outbox, "deux-fois", good, hprim("LEFEVRE", "Hélène", BIRTH, rpps))
    world.watcher.after_share = _kill_after_share
    world.watcher.scan_once()
    with pytest.raises(Killed):
        world.watcher.scan_once()
    assert len(_documents(db, world.patient)) == 1
    assert (world.outbox / "deux-fois.pdf").exists()  # not moved: killed before
    if forget_keys:
        # killed after the journal line instead, and restarted after the platform's 24 hours
        # of keys: the journal alone remembers the share
        [doc] = _documents(db, world.patient)
        key = idempotency_key(good, str(world.patient), [str(world.claire.id)])
        world.watcher.journal.add(key, str(doc.id))
        with db() as s:
            s.execute(delete(ShareIdempotencyKey))
    restarted = make_watcher(world.outbox, world.platform, world.lines)
    assert two_passes(restarted).sent == ["deux-fois"], world.lines
    assert len(_documents(db, world.patient)) == 1
    assert (world.outbox / SENT_DIR / f"{date.today():%Y-%m}" / "deux-fois.pdf").exists()
    with db() as s:
        assert s.scalar(select(func.count()).select_from(Notification)) == 1


def _encrypted(data: bytes) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_every_doubt_sets_the_letter_aside_with_its_reason(
    world: Any, db: Any, pdf: Any, make_pro: Any
) -> None:
    rpps = rpps_of(db, world.claire.id)
    # two patients the header cannot tell apart (it has no sex line)
    new_patient(db, "JUMEAU", "Camille", date(1990, 1, 1), sex="F")
    new_patient(db, "JUMEAU", "Camille", date(1990, 1, 1), sex="M")
    make_pro("homonyme1", first_name="Jean", last_name="Petit", log_in=False)
    make_pro("homonyme2", first_name="Jean", last_name="Petit", log_in=False)
    good = pdf("Courrier")
    cases = {
        "inconnu": (good, hprim("PERSONNE", "Nul", BIRTH, rpps)),
        "jumeaux": (good, hprim("JUMEAU", "Camille", date(1990, 1, 1), rpps)),
        "sans-date": (good, hprim("LEFEVRE", "Hélène", None, rpps)),
        "destinataire": (good, hprim("LEFEVRE", "Hélène", BIRTH, "10000000009")),
        "homonymes": (good, hprim("LEFEVRE", "Hélène", BIRTH, "Dr Jean PETIT")),
        "personne": (good, hprim("LEFEVRE", "Hélène", BIRTH, "")),
        "illisible": (good, b"P1\r\nNOM\r\n"),
        "pas-un-pdf": (b"Bonjour, ceci est un texte.", hprim("LEFEVRE", "Hélène", BIRTH, rpps)),
        "protege": (_encrypted(good), hprim("LEFEVRE", "Hélène", BIRTH, rpps)),
        "trop-gros": (
            pdf("Gros", padding=3 * 1024 * 1024),
            hprim("LEFEVRE", "Hélène", BIRTH, rpps),
        ),
    }
    for name, (data, header) in cases.items():
        drop(world.outbox, name, data, header)
    (world.outbox / "traitement.docx").write_bytes(b"PK\x03\x04 not a letter")
    report = two_passes(world.watcher)
    assert report.sent == [], world.lines
    assert sorted(report.set_aside) == sorted([*cases, "traitement"]), world.lines
    reasons = {name: _set_aside(world.outbox, name) for name in [*cases, "traitement"]}
    expected = {
        "inconnu": "aucun patient PERSONNE Nul",
        "jumeaux": "plusieurs patients JUMEAU Camille",
        "sans-date": "identité incomplète",
        "destinataire": "destinataire « RPPS 10000000009 » introuvable",
        "homonymes": "plusieurs professionnels portent ce nom",
        "personne": "aucun destinataire sur la ligne 12",
        "illisible": "l'en-tête HPRIM est incomplet",
        "pas-un-pdf": "ce fichier n'est pas un PDF",
        "protege": "protégé par un mot de passe",
        "trop-gros": "dépasse la taille maximale acceptée par la plateforme (2 Mo)",
        "traitement": "ce n'est pas un PDF",
    }
    for name, words in expected.items():
        assert words in reasons[name], (name, reasons[name])
    assert _documents(db, world.patient) == []
    aside = world.outbox / SET_ASIDE_DIR
    assert mode(aside) == 0o700
    assert all(mode(p) == 0o600 for p in aside.glob("*.txt"))
    # nothing lost: every file is there, beside its note
    assert {p.name for p in aside.iterdir()} >= {
        f"{n}{s}" for n in cases if n != "illisible" for s in (".pdf", ".hpr")
    }
    assert not [p for p in world.outbox.iterdir() if p.is_file()]
    listed = {p.path.name: p.reason for p in pending(world.outbox)}
    assert len(listed) == len(expected) and "pas-un-pdf.pdf" in listed
    assert len(world.lines) == len(expected)

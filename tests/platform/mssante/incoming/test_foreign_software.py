"""What other operators' software sends, filed: archives written by hand from the
specifications (IHE ITI TF-3 XDM, CI-SIS), not by this project's writer (``foreign.py``)."""

import io
import socket
from datetime import date
from typing import Any

from sqlalchemy import select

from sisra.common.ins import OID_NIR, OID_NIR_DEMO, OID_NIR_TEST, with_key
from sisra.common.xdm import read_xdm, write_xdm
from sisra.platform.models import AuditEvent, Document, MailPending, PendingReason, Professional

from .foreign import LOCAL_OID, Foreign, archive
from .mails import SENDER, lmtp, with_xdm
from .shared import new_patient

INS = with_key("2690469123045")
LEFEVRE = {
    "birth_name": "LEFÈVRE",
    "birth_given_names": ["Hélène", "Marie"],
    "birth_date": date(1969, 4, 12),
    "sex": "F",
}


def _send(gateway: Any, to: Any, spec: Foreign, data: bytes) -> tuple[int, str]:
    return lmtp(gateway.port, SENDER, [to.address], with_xdm(to.address, archive(spec, data)))[
        to.address
    ]


def _filed(db: Any) -> list[Document]:
    with db() as session:
        return list(session.scalars(select(Document)))


# --- the patient under the sender's own identifier ---------------------------------------


def test_a_local_patient_id_with_its_traits_is_filed_by_the_strict_traits(
    gateway, mailbox, db, pdf
):
    """A hospital's software names a patient whose identity is not qualified by its own IPP
    (its OID, not an INS authority), as ``sourcePatientId`` too under another OID of its own
    (IHE: the source's identifier need not be the ``patientId``), with the traits in PID-5/7/8
    and the birth place in PID-11: not bounced, filed by the strict traits."""
    claire = mailbox("claire.martin")
    patient_id = new_patient(db, **LEFEVRE, birth_place_code="69123")
    spec = Foreign(
        patient_cx=f"IPP-00042^^^&{LOCAL_OID}&ISO",
        source_patient_cx="8812-A^^^&1.2.250.1.999.4.7&ISO",
        pid=[
            "PID-3|8812-A^^^&1.2.250.1.999.4.7&ISO",
            "PID-5|LEFEVRE^HELENE^^^^^L",
            "PID-7|19690412",
            "PID-8|F",
            "PID-11|^^^^^^BDL^^69123",
        ],
    )
    code, text = _send(gateway, claire, spec, pdf())
    assert code == 250, text
    docs = _filed(db)
    assert [d.patient_id for d in docs] == [patient_id]
    with db() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "mssante.receive")
        ).one()
        assert event.details["matched_by"] == "traits"


def test_a_local_patient_id_nobody_matches_waits_to_be_matched(gateway, mailbox, db, pdf):
    claire = mailbox("claire.martin")
    spec = Foreign(
        pid=[
            f"PID-3|IPP-00042^^^&{LOCAL_OID}&ISO",
            "PID-5|NOUVEAU^ANNE^^^^^L",
            "PID-7|19900102",
            "PID-8|F",
        ],
    )
    code, text = _send(gateway, claire, spec, pdf())
    assert code == 250, text
    with db() as session:
        pending = session.scalars(select(MailPending)).one()
        assert pending.reason == PendingReason.no_match
        assert (pending.birth_name, pending.ins) == ("NOUVEAU", None)


# --- authors and associations as others write them ---------------------------------------


def _authors() -> dict[str, Foreign]:
    return {
        # IHE ITI TF-3 example: a person without identifier
        "person without id": Foreign(author_person="^Welby^Marcus^^^Dr^MD"),
        # the sender's own staff identifier, under its own OID
        "local id": Foreign(author_person="4711^DUPONT^Marie^^^^^^&1.2.250.1.999.3&ISO"),
        # an ADELI (« 0 » + ADELI under IdNat_PS) or a free text name
        "adeli": Foreign(author_person="0691234567^DUPONT^Marie^^^^^^&1.2.250.1.71.4.2.1&ISO"),
        "free text": Foreign(author_person="Dr Marie DUPONT"),
        # the institution only: a laboratory's or a hospital's automatic sending
        "institution only": Foreign(author_person=None),
    }


def test_authors_as_other_software_writes_them_do_not_bounce(gateway, mailbox, db, pdf):
    claire = mailbox("claire.martin")
    new_patient(db, **LEFEVRE, ins=INS, ins_oid=OID_NIR)
    for label, spec in _authors().items():
        spec.patient_cx = f"{INS}^^^&{OID_NIR}&ISO"
        spec.pid = [f"PID-3|{spec.patient_cx}", "PID-5|LEFEVRE^HELENE^^^^^L", "PID-7|19690412"]
        code, text = _send(gateway, claire, spec, pdf(label))
        assert code == 250, (label, text)
    assert len(_filed(db)) == len(_authors())


def test_associations_to_documents_outside_the_archive_do_not_bounce(gateway, mailbox, db, pdf):
    """An ``RPLC`` (this letter replaces an earlier version the recipient got before) and an
    ``IsSnapshotOf`` point at documents the archive does not carry (ITI TF-3 §4.2.2)."""
    claire = mailbox("claire.martin")
    new_patient(db, **LEFEVRE, ins=INS, ins_oid=OID_NIR)
    for kind in ("RPLC", "IsSnapshotOf", "XFRM"):
        spec = Foreign(
            patient_cx=f"{INS}^^^&{OID_NIR}&ISO",
            associations=[(kind, "urn:uuid:0b1e8e5c-3f8a-4c1e-9d7e-2a1b3c4d5e6f")],
        )
        spec.pid[0] = f"PID-3|{spec.patient_cx}"
        code, text = _send(gateway, claire, spec, pdf(kind))
        assert code == 250, (kind, text)
    assert len(_filed(db)) == 3


def test_a_reference_to_nothing_inside_the_archive_is_still_refused(gateway, mailbox, counts, pdf):
    """The leniency is for associations only: a classification of an object the archive does
    not hold is a broken archive, and the HasMember of the submission set must be there."""
    claire = mailbox("claire.martin")
    spec = Foreign(associations=[("RPLC", "urn:uuid:0b1e8e5c-3f8a-4c1e-9d7e-2a1b3c4d5e6f")])
    data = archive(
        spec,
        pdf(),
        lambda xml: xml.replace(b'classifiedObject="Document01"', b'classifiedObject="X"', 1),
    )
    msg = with_xdm(claire.address, data)
    code, text = lmtp(gateway.port, SENDER, [claire.address], msg)[claire.address]
    assert code == 554 and "ne designe aucun objet" in text, text
    assert counts() == (0, 0)


# --- the INS with its OID ----------------------------------------------------------------


def test_an_ins_is_matched_with_its_oid(gateway, mailbox, db, pdf):
    """A production NIR (…4.8) is not the test NIR (…4.10) or demonstration NIR (…4.11) with
    the same digits: the patient holding those is not that person, by INS or by traits."""
    claire = mailbox("claire.martin")
    for held, sent in ((OID_NIR_TEST, OID_NIR), (OID_NIR_DEMO, OID_NIR), (OID_NIR, OID_NIR_TEST)):
        with db() as session:
            for row in session.scalars(select(Document)):
                session.delete(row)
        holder = new_patient(
            db,
            **{**LEFEVRE, "birth_name": f"LEFEVRE-{held[-2:].strip('.')}-{sent[-2:]}"},
            ins=with_key("2690469123045"),
            ins_oid=held,
        )
        name = f"LEFEVRE-{held[-2:].strip('.')}-{sent[-2:]}"
        spec = Foreign(
            patient_cx=f"{INS}^^^&{sent}&ISO",
            pid=[
                f"PID-3|{INS}^^^&{sent}&ISO",
                f"PID-5|{name}^HELENE^^^^^L",
                "PID-7|19690412",
                "PID-8|F",
            ],
        )
        code, text = _send(gateway, claire, spec, pdf(held + sent))
        assert code == 250, text
        assert [d.patient_id for d in _filed(db) if d.patient_id == holder] == [], (held, sent)
        with db() as session:
            from sisra.platform.models import Patient

            session.delete(session.get(Patient, holder))


def test_the_same_ins_and_oid_still_files(gateway, mailbox, db, pdf):
    claire = mailbox("claire.martin")
    holder = new_patient(db, **LEFEVRE, ins=INS, ins_oid=OID_NIR_TEST)
    spec = Foreign(patient_cx=f"{INS}^^^&{OID_NIR_TEST}&ISO")
    spec.pid[0] = f"PID-3|{spec.patient_cx}"
    assert _send(gateway, claire, spec, pdf())[0] == 250
    assert [d.patient_id for d in _filed(db)] == [holder]


# --- the sender's identity, kept and exported again ----------------------------------------


def test_the_senders_identity_is_kept_and_exported_again(
    gateway, mailbox, db, app_client, pdf, tmp_path
):
    """The archive names its author (RPPS, name), its institution (name, FINESS) and its
    sector (``healthcareFacilityTypeCode``): the external correspondent keeps them, and
    MonSisra's re-export of the letter says that sector, not « Cabinet individuel »."""
    claire = mailbox("claire.martin")
    new_patient(db, **LEFEVRE, ins=INS, ins_oid=OID_NIR)
    spec = Foreign(
        patient_cx=f"{INS}^^^&{OID_NIR}&ISO",
        author_person="810087654321^ROUX^Anne^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS",
        author_institution=("Polyclinique du Parc^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^1690001234"),
        facility_code=("SA03", "Etablissement privé non PSPH"),
    )
    spec.pid[0] = f"PID-3|{spec.patient_cx}"
    assert _send(gateway, claire, spec, pdf())[0] == 250
    with db() as session:
        doc = session.scalars(select(Document)).one()
        author = session.get(Professional, doc.author_id)
        assert author.external
        assert (author.rpps, author.structure, author.finess) == (
            "10087654321",
            "Polyclinique du Parc",
            "690001234",
        )
        assert (author.sector_code, author.sector_label) == (
            "SA03",
            "Etablissement privé non PSPH",
        )
    item = app_client.get("/api/v1/inbox", headers=claire.headers).json()["items"][0]
    assert item["sender"]["structure"] == "Polyclinique du Parc"
    assert item["sender"]["rpps"] == "10087654321"
    source = tmp_path / "doc.pdf"
    source.write_bytes(pdf())
    out = io.BytesIO()
    write_xdm(out, item, source)
    out.seek(0)
    again = read_xdm(out)
    assert again["codes"]["healthcareFacilityTypeCode"]["code"] == "SA03"
    assert again["sender"]["structure"] == "Polyclinique du Parc"
    assert again["sender"]["rpps"] == "10087654321"


def test_a_hospitals_letter_is_not_exported_again_as_an_individual_practice(
    gateway, mailbox, db, app_client, pdf, tmp_path
):
    claire = mailbox("claire.martin")
    new_patient(db, **LEFEVRE, ins=INS, ins_oid=OID_NIR)
    spec = Foreign(patient_cx=f"{INS}^^^&{OID_NIR}&ISO")  # « CHU Exemple », SA01
    spec.pid[0] = f"PID-3|{spec.patient_cx}"
    assert _send(gateway, claire, spec, pdf())[0] == 250
    item = app_client.get("/api/v1/inbox", headers=claire.headers).json()["items"][0]
    source = tmp_path / "doc.pdf"
    source.write_bytes(pdf())
    out = io.BytesIO()
    write_xdm(out, item, source)
    out.seek(0)
    facility = read_xdm(out)["codes"]["healthcareFacilityTypeCode"]
    assert (facility["code"], facility["label"]) == ("SA01", "Etablissement public de santé")


# --- LMTP: PIPELINING and ENHANCEDSTATUSCODES ---------------------------------------------


def _replies(sock: socket.socket, count: int) -> list[str]:
    """``count`` complete replies (the lines of a multiline one joined by « \\n »), in the
    order they came."""
    data, replies, lines = b"", [], []
    while len(replies) < count:
        while b"\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {replies}"
            data += chunk
        line, data = data.split(b"\r\n", 1)
        lines.append(line.decode())
        if lines[-1][3:4] != "-":  # the last line of a reply
            replies.append("\n".join(lines))
            lines = []
    assert not data, f"more replies than commands: {data!r}"
    return replies


def test_lhlo_announces_pipelining_and_enhanced_status_codes(gateway, mailbox, pdf):
    claire = mailbox("claire.martin")
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=30) as sock:
        (greeting,) = _replies(sock, 1)
        assert greeting.startswith("220 ")
        sock.sendall(b"LHLO relais.test\r\n")
        (lhlo,) = _replies(sock, 1)
        keywords = [line[4:] for line in lhlo.split("\n")]
        assert "PIPELINING" in keywords and "ENHANCEDSTATUSCODES" in keywords, lhlo

        # RFC 2920: the envelope in one packet, answered in order, one reply per command
        bad = "personne@sisra.mssante.fr"
        sock.sendall(
            (
                f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{claire.address}>\r\nRCPT TO:<{bad}>\r\nDATA\r\n"
            ).encode()
        )
        mail, rcpt, refused, data = _replies(sock, 4)
        assert mail.startswith("250 2.1.0"), mail
        assert rcpt.startswith("250 2.1.5"), rcpt
        assert refused.startswith("550 5.1.1") and bad in refused, refused
        assert data.startswith("354"), data
        spec = Foreign(author_person=None)
        msg = with_xdm(claire.address, archive(spec, pdf()))
        from email.policy import SMTP

        body = msg.as_bytes(policy=SMTP).replace(b"\r\n.", b"\r\n..")
        sock.sendall(body + b"\r\n.\r\n")
        (delivered,) = _replies(sock, 1)
        assert delivered.startswith("250 2.0.0"), delivered

        # aiosmtpd's own replies get an enhanced code too (RFC 2034 §3), pipelined as well
        sock.sendall(b"NOOP\r\nRSET\r\nRCPT TO:<x@y.fr>\r\nVRFY x\r\nFOO\r\nMAIL FROM:\r\nQUIT\r\n")
        replies = _replies(sock, 7)
        codes = [r.split(" ", 2)[:2] for r in replies]
        assert [c[0] for c in codes] == ["250", "250", "503", "252", "500", "501", "221"], replies
        for reply in replies:
            number, enhanced = reply.split(" ", 2)[:2]
            parts = enhanced.split(".")
            assert len(parts) == 3 and parts[0] == number[0], reply
            assert all(p.isdigit() for p in parts), reply

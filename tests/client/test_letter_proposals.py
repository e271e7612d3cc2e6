"""Proposals from a printed letter's text (sisra.client.letter_proposals), on real PDFs."""

import random
from datetime import date

from sisra.client.letter_proposals import pdf_text, propose, propose_pdf
from sisra.common.identifiers import luhn_complete
from sisra.common.ins import with_key
from support.letters import letter_pdf, referral_lines

INS = with_key("2500375123456")
RPPS = luhn_complete("1001234567")


def _spaced(ins: str) -> str:
    return " ".join((ins[0], ins[1:3], ins[3:5], ins[5:7], ins[7:10], ins[10:13], ins[13:]))


def test_a_referral_gives_the_patient_the_ins_and_the_recipient_with_their_sources():
    data = letter_pdf(referral_lines(ins=_spaced(INS), rpps=RPPS))
    found = propose_pdf(data, exclude={"Roux"})
    by_ins = found.patients[0]
    assert by_ins.ins == INS and _spaced(INS) in by_ins.source
    named = found.patients[1]
    assert (named.birth_name, named.given, named.birth_date) == (
        "DUPONT",
        "Jeanne",
        date(1950, 3, 12),
    )
    assert "née le 12/03/1950" in named.source
    assert named.search() == {"q": "DUPONT", "birth_date": "1950-03-12"}
    assert by_ins.search() == {"ins": INS}
    names = [r.name for r in found.recipients if r.name]
    assert names == ["Paul MARTIN"]  # the author (Dr Claire ROUX) left out
    assert [r.rpps for r in found.recipients if r.rpps] == [RPPS]
    assert found.recipients[0].source.startswith("À l'attention du Docteur Paul MARTIN")
    assert found.greeting == "Cher confrère"


def test_a_wrong_key_is_no_ins_and_a_wrong_luhn_key_no_rpps():
    bad_ins = INS[:13] + f"{(int(INS[13:]) + 1) % 100:02d}"
    bad_rpps = RPPS[:10] + str((int(RPPS[10]) + 1) % 10)
    found = propose("\n".join(referral_lines(ins=bad_ins, rpps=bad_rpps)))
    assert all(p.ins is None for p in found.patients)
    assert all(r.rpps is None for r in found.recipients)


def test_other_forms_of_names_dates_and_titles():
    text = "\n".join(
        [
            "Monsieur LE GALL Jean-Pierre",
            "Date de naissance : 01.02.1948",
            "Dr. Anne-Sophie BÉRARD, cardiologue",
            "Pr DURAND",
        ]
    )
    found = propose(text)
    (patient,) = found.patients
    assert (patient.birth_name, patient.given, patient.birth_date) == (
        "LE GALL",
        "Jean-Pierre",
        date(1948, 2, 1),
    )
    assert [r.name for r in found.recipients] == ["Anne-Sophie BÉRARD", "DURAND"]


def test_a_letter_without_any_clue_proposes_nothing_and_a_damaged_file_no_text():
    found = propose_pdf(letter_pdf(["Ordonnance", "Paracétamol 1 g, 3 fois par jour."]))
    assert found.empty and found.greeting is None
    assert pdf_text(b"%PDF-1.4 this is not a pdf") == ""
    assert propose_pdf(b"not a pdf at all").empty


def test_the_demo_letters_give_their_patient():
    from sisra.platform.demo.pdfs.render import render_pdf

    data = render_pdf(
        title="Courrier au médecin traitant",
        type_label="courrier",
        author_name="Dr Hélène Morel",
        author_profession="Cardiologue",
        author_structure="Cabinet de cardiologie",
        author_city="Lyon",
        patient_name="Mme Jeanne DUPONT",
        patient_birth_date=date(1950, 3, 12),
        patient_ins=INS,
        clinical_date=date(2026, 11, 2),
        rng=random.Random(4),
        patient_identity_status="qualifiée",
    )
    found = propose_pdf(data, exclude={"Morel"})
    assert found.patients and found.patients[0].ins == INS
    assert any(p.birth_date == date(1950, 3, 12) for p in found.patients), found.text[:800]

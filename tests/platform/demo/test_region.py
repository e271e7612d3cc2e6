"""The demo region: professionals, patients and documents are valid, coherent, repeatable."""

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from sisra.common.doctypes import BY_CODE
from sisra.common.identifiers import validate_adeli, validate_rpps
from sisra.common.ins import OID_NIR_TEST, validate_ins
from sisra.platform.demo.exchanges import make_declared_members, make_documents
from sisra.platform.demo.region import (
    BIRTH_PLACES,
    DemoDocument,
    DemoPatient,
    DemoProfessional,
    make_care_teams,
    make_patients,
    make_professionals,
    nir_first13,
)

Region = tuple[list[DemoProfessional], list[DemoPatient], list[DemoDocument]]

NOW = datetime(2026, 10, 20, 14, 30, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture(scope="module")
def region() -> Region:
    rng = random.Random(2026)
    pros = make_professionals(rng)
    pats = make_patients(rng)
    docs = make_documents(rng, pros, pats, now=NOW)
    return pros, pats, docs


def test_same_seed_same_region() -> None:
    def build(seed: int) -> tuple[object, object, object]:
        rng = random.Random(seed)
        pros = make_professionals(rng)
        pats = make_patients(rng, 50)
        return pros, pats, make_documents(rng, pros, pats, 120, now=NOW)

    assert build(7) == build(7)
    assert build(7) != build(8)


# ------------------------------------------------------------------ professionals


def test_first_three_professionals_are_fixed(region: Region) -> None:
    pros = region[0]
    assert len(pros) == 36
    elodie, marc, sophie = pros[:3]
    assert (elodie.first_name, elodie.last_name, elodie.login) == (
        "Élodie",
        "Lefèvre",
        "elodie.lefevre",
    )
    assert (elodie.profession, elodie.city) == ("Médecin généraliste", "Lyon")
    assert elodie.display_name == "Dr Élodie Lefèvre"
    assert (marc.first_name, marc.last_name, marc.login) == ("Marc", "Gauthier", "marc.gauthier")
    assert (marc.profession, marc.city) == ("Cardiologue", "Villeurbanne")
    assert (sophie.first_name, sophie.last_name, sophie.login) == (
        "Sophie",
        "Bernard",
        "sophie.bernard",
    )
    assert (sophie.profession, sophie.city) == ("Infirmière", "Lyon")
    assert sophie.display_name == "Sophie Bernard"
    # Whatever the seed, the fixed three stay the same people.
    other = make_professionals(random.Random(99))
    assert [p.login for p in other[:3]] == ["elodie.lefevre", "marc.gauthier", "sophie.bernard"]


def test_identifiers_valid_and_unique(region: Region) -> None:
    pros = region[0]
    rpps = [p.rpps for p in pros if p.rpps]
    adeli = [p.adeli for p in pros if p.adeli]
    for number in rpps:
        assert validate_rpps(number) == number
    for number in adeli:
        assert validate_adeli(number) == number
        assert len(number) == 9 and number.isdigit()
    assert len(set(rpps)) == len(rpps)
    assert len(set(adeli)) == len(adeli)
    assert all(bool(p.rpps) != bool(p.adeli) for p in pros)
    # ADELI-only professionals are nurses; some nurses have one.
    assert adeli
    assert all(p.profession in ("Infirmier", "Infirmière") for p in pros if p.adeli)


def test_logins_emails_unique_ascii(region: Region) -> None:
    pros = region[0]
    logins = [p.login for p in pros]
    assert len(set(logins)) == len(logins)
    for p in pros:
        assert p.login.isascii() and p.login == p.login.lower() and " " not in p.login
        assert p.email == f"{p.login}@demo.sisra.test"
        assert p.mssante.startswith(f"{p.login}@") and p.mssante.endswith(".mssante.fr")


def test_professions_varied_and_cards(region: Region) -> None:
    pros = region[0]
    professions = Counter(p.profession for p in pros)
    assert len(professions) >= 6
    assert professions["Médecin généraliste"] >= 4
    assert "Secrétaire médicale" not in professions
    cards = sum(p.has_card for p in pros) / len(pros)
    assert 0.45 <= cards <= 0.9
    assert any("é" in p.first_name + p.last_name or "è" in p.last_name for p in pros)
    assert all(p.structure and p.city for p in pros)


def test_larger_and_smaller_directories() -> None:
    big = make_professionals(random.Random(1), 120)
    assert len({p.login for p in big}) == 120
    assert len({p.rpps for p in big if p.rpps}) == sum(1 for p in big if p.rpps)
    small = make_professionals(random.Random(1), 2)
    assert [p.login for p in small] == ["elodie.lefevre", "marc.gauthier"]


# ------------------------------------------------------------------ patients


def test_ins_valid_unique_and_built_from_traits(region: Region) -> None:
    pats = region[1]
    assert len(pats) == 300
    assert len({p.ins for p in pats}) == len(pats)
    for p in pats:
        assert validate_ins(p.ins) == p.ins
        assert p.ins_oid == OID_NIR_TEST
        assert p.ins[0] == ("1" if p.sex == "M" else "2")
        assert p.ins[1:3] == f"{p.birth_date.year % 100:02d}"
        assert p.ins[3:5] == f"{p.birth_date.month:02d}"
        assert len(p.birth_place_code) == 5 and p.birth_place_code in BIRTH_PLACES
        department = p.birth_place_code[:2]
        if department in ("2A", "2B") and p.birth_date.year < 1976:
            department = "20"
        assert p.ins[5:7] == department
        assert p.ins[7:10] == p.birth_place_code[2:]


def test_corsican_nir() -> None:
    old = nir_first13("F", date(1960, 5, 1), "2A004", 12)
    recent = nir_first13("M", date(1990, 5, 1), "2B033", 12)
    assert old == "2600520004012"
    assert recent == "190052B033012"


def test_patient_traits(region: Region) -> None:
    pats = region[1]
    for p in pats:
        assert date(1930, 1, 1) <= p.birth_date <= date(2024, 12, 31)
        assert 1 <= len(p.birth_given_names) <= 3
        assert p.first_given_name == p.birth_given_names[0]
        assert p.sex in ("M", "F")
        assert p.identity_status in ("provisoire", "récupérée", "validée", "qualifiée")
        if p.used_name is not None:
            assert p.sex == "F" and p.used_name != p.birth_name
    statuses = Counter(p.identity_status for p in pats)
    assert statuses["qualifiée"] > 0.7 * len(pats)
    assert sum(p.used_name is not None for p in pats) >= 10
    assert any(
        p.birth_place_code in ("2A004", "2B033") for p in make_patients(random.Random(3), 1000)
    )


# ------------------------------------------------------------------ documents


def test_documents_basic_invariants(region: Region) -> None:
    pros, pats, docs = region
    assert len(docs) == 1000
    for d in docs:
        assert 0 <= d.patient_index < len(pats)
        assert 0 <= d.author_index < len(pros)
        assert 1 <= len(d.recipient_indexes) <= 3
        assert len(set(d.recipient_indexes)) == len(d.recipient_indexes)
        assert d.author_index not in d.recipient_indexes
        assert d.type_code in BY_CODE
        assert d.title.strip()


def test_documents_dates_within_last_days(region: Region) -> None:
    docs = region[2]
    ages = [d.created_days_ago for d in docs]
    assert ages == sorted(ages, reverse=True)  # oldest first
    for d in docs:
        assert 0 <= d.created_days_ago < 60
        uploaded = (NOW - timedelta(days=d.created_days_ago)).date()
        assert TODAY - timedelta(days=60) <= d.clinical_date <= uploaded <= TODAY
    assert max(ages) > 50 and min(ages) < 3  # spread over the whole period


def test_replies_consistent(region: Region) -> None:
    docs = region[2]
    replies = [(i, d) for i, d in enumerate(docs) if d.in_reply_to_index is not None]
    assert 0.06 * len(docs) <= len(replies) <= 0.15 * len(docs)
    for i, d in replies:
        j = d.in_reply_to_index
        assert j is not None and 0 <= j < i
        original = docs[j]
        assert original.patient_index == d.patient_index
        assert d.author_index in original.recipient_indexes
        assert original.author_index in d.recipient_indexes
        assert original.created_days_ago > d.created_days_ago
        assert d.clinical_date >= original.clinical_date


def test_documents_stay_in_care_teams(region: Region) -> None:
    pros, pats, docs = region
    teams = make_care_teams(random.Random(0), pros, pats, TODAY)
    assert all(2 <= len(t) <= 6 and len(set(t)) == len(t) for t in teams)
    assert all(pros[t[0]].profession == "Médecin généraliste" for t in teams)
    involved: dict[int, set[int]] = {}
    for d in docs:
        involved.setdefault(d.patient_index, set()).update([d.author_index, *d.recipient_indexes])
    assert max(len(v) for v in involved.values()) <= 6
    # Children are followed by GPs and paediatricians, not by adult specialists.
    for p_idx, members in involved.items():
        if pats[p_idx].age_on(TODAY) < 16:
            assert not {pros[m].profession for m in members} & {
                "Cardiologue",
                "Pneumologue",
                "Gastro-entérologue",
                "Endocrinologue",
            }


def test_fixed_professionals_exchange_a_lot(region: Region) -> None:
    docs = region[2]
    received = Counter(r for d in docs for r in d.recipient_indexes)
    authored = Counter(d.author_index for d in docs)
    for fixed in (0, 1, 2):
        assert received[fixed] >= 30 and authored[fixed] >= 20
    assert any(d.author_index == 1 and 0 in d.recipient_indexes for d in docs)


def test_titles_fit_type_and_specialty(region: Region) -> None:
    pros, _pats, docs = region
    titles = Counter(d.title for d in docs)
    assert len(titles) > 100
    for d in docs:
        author = pros[d.author_index]
        if d.type_code == "biologie":
            assert author.profession == "Biologiste"
        if d.type_code == "cr_operatoire":
            assert d.title.startswith("Compte rendu opératoire")
        if d.type_code == "cr_consultation" and author.profession == "Cardiologue":
            assert "cardiologie" in d.title.lower() or "consultation du" in d.title.lower()
    assert any(t.startswith("Bilan biologique du ") for t in titles)


def test_small_region_and_errors() -> None:
    rng = random.Random(4)
    pros = make_professionals(rng, 5)
    pats = make_patients(rng, 10)
    docs = make_documents(rng, pros, pats, 50, days=10, now=NOW)
    assert len(docs) == 50
    assert all(d.created_days_ago < 10 for d in docs)
    with pytest.raises(ValueError):
        make_documents(rng, pros[:1], pats, 5, now=NOW)
    with pytest.raises(ValueError):
        make_documents(rng, pros, [], 5, now=NOW)


def test_declared_care_teams_are_the_gp_and_regular_correspondents(region: Region) -> None:
    pros, _pats, docs = region
    members = make_declared_members(pros, docs)
    involved: dict[int, Counter[int]] = {}
    for d in docs:
        involved.setdefault(d.patient_index, Counter()).update(
            {d.author_index, *d.recipient_indexes}
        )
    declared: dict[int, set[int]] = {}
    for m in members:
        declared.setdefault(m.patient_index, set()).add(m.professional_index)
        assert involved[m.patient_index][m.professional_index] >= 1
        assert len(m.context) >= 5
    assert len({(m.patient_index, m.professional_index) for m in members}) == len(members)
    # every patient with documents has a team, led by a GP when one is involved
    assert set(declared) == set(involved)
    for patient, counts in involved.items():
        if any(pros[i].kind == "mg" for i in counts):
            assert any(pros[i].kind == "mg" for i in declared[patient])
        for pro, n in counts.items():
            if n >= 2:
                assert pro in declared[patient]
    # not every sender: professionals seen on one document only read that document
    pairs = sum(len(c) for c in involved.values())
    assert len(members) < pairs
    one_off_authors = [
        (d.patient_index, d.author_index)
        for d in docs
        if involved[d.patient_index][d.author_index] == 1
        and d.author_index not in declared[d.patient_index]
    ]
    assert one_off_authors

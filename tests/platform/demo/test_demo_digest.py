"""The demo is deterministic: a fixed seed gives this very region and these very PDFs.

The digests were recorded before the word lists and tables moved out of the Python code
into data files: moving data must not change a single patient nor a single PDF byte (the
PDFs are written with reportlab's ``invariant`` mode and a seeded date stamp, so their
bytes are stable). If a change to the demo is meant to change what it generates, record
the new digests with ``python tests/platform/demo/test_demo_digest.py``.
"""

import hashlib
import random
from collections import Counter
from datetime import UTC, date, datetime

from sisra.common.doctypes import BY_CODE, DOCUMENT_TYPES
from sisra.platform.demo.exchanges import make_declared_members, make_documents
from sisra.platform.demo.pdfs import render_pdf
from sisra.platform.demo.region import (
    PROFESSIONS,
    DemoDocument,
    DemoPatient,
    DemoProfessional,
    make_care_teams,
    make_patients,
    make_professionals,
)

NOW = datetime(2026, 10, 20, 14, 30, tzinfo=UTC)
REGION_DIGEST = "3ccd659ba6a5fca46b13c3c5d0908fece011d1008327c1d51d36b74772c0dd6a"
CRAFTED_PDFS_DIGEST = "1649188d3e2c0a993b2a2f2d76167a5a32bc40c97b9978bedef8ff68c505c0ae"
PDFS_DIGEST = "a9ac717d9532409c9b1e9d205e477be481594a3828152b1653050d290277db77"


def _sha(value: object) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()


def _region() -> tuple[list[DemoProfessional], list[DemoPatient], list[DemoDocument]]:
    rng = random.Random(2026)
    pros = make_professionals(rng)
    pats = make_patients(rng)
    return pros, pats, make_documents(rng, pros, pats, now=NOW)


def region_digest() -> str:
    pros, pats, docs = _region()
    teams = make_care_teams(random.Random(5), pros, pats, NOW.date())
    members = make_declared_members(pros, docs)
    small = make_professionals(random.Random(3), 80)
    return _sha((pros, pats, docs, teams, members, small))


def pdfs_digest() -> str:
    """Three PDFs per (document type, author kind) met in the region, from one shared rng."""
    pros, pats, docs = _region()
    rng = random.Random(11)
    seen: Counter[tuple[str, str]] = Counter()
    digests = []
    for d in docs:
        author, patient = pros[d.author_index], pats[d.patient_index]
        if seen[d.type_code, author.kind] == 3:
            continue
        seen[d.type_code, author.kind] += 1
        data = render_pdf(
            title=d.title,
            type_label=BY_CODE[d.type_code].label,
            author_name=f"{author.first_name} {author.last_name}",
            author_profession=author.specialty or author.profession,
            author_structure=author.structure,
            author_city=author.city,
            patient_name=f"{patient.used_name or patient.birth_name} {patient.first_given_name}",
            patient_birth_date=patient.birth_date,
            patient_ins=patient.ins,
            patient_identity_status=patient.identity_status,
            clinical_date=d.clinical_date,
            rng=rng,
        )
        digests.append(hashlib.sha256(data).hexdigest())
    return _sha(digests)


# Titles that steer the bodies of « autre » documents and letters down each of their branches.
OTHER_TITLES = (
    "Holter ECG des 24 heures",
    "Épreuve d'effort",
    "MAPA des 24 heures",
    "Explorations fonctionnelles respiratoires",
    "Polygraphie ventilatoire nocturne",
    "Compte rendu de coloscopie",
    "Compte rendu de gastroscopie",
    "Suivi de plaie chronique",
    "Relevé glycémique",
    "Bilan de rééducation",
    "Conciliation médicamenteuse",
    "Transmission de soins infirmiers",
    "Courbe de croissance",
    "Certificat médical",
    "Séance d'éducation thérapeutique",
    "Entretien prénatal précoce",
    "Note de suivi",
    "Réponse à votre courrier",
    "Demande d'avis pour dyspnée",
)


def crafted_pdfs_digest() -> str:
    """Every document type by every profession, then steering titles, for an adult and a child."""
    rng = random.Random(13)
    cases = [(t.label, t.label, PROFESSIONS) for t in DOCUMENT_TYPES]
    cases += [
        (title, label, PROFESSIONS[::4])
        for title in OTHER_TITLES
        for label in ("autre", "courrier")
    ]
    digests = []
    for n, (title, label, specs) in enumerate(cases):
        for spec in specs:
            data = render_pdf(
                title=title,
                type_label=label,
                author_name="Claire MARTIN",
                author_profession=spec.specialty or spec.profession,
                author_structure="Cabinet médical des Terreaux",
                author_city="Lyon",
                patient_name="DURAND Léa",
                patient_birth_date=date(2019, 5, 4) if n % 3 == 0 else date(1950, 5, 4),
                patient_ins="248036912345678" if n % 2 else "151036912345678",
                patient_identity_status="qualifiée",
                clinical_date=date(2026, 10, 12),
                rng=rng,
            )
            digests.append(hashlib.sha256(data).hexdigest())
    return _sha(digests)


def test_the_seeded_region_is_unchanged() -> None:
    assert region_digest() == REGION_DIGEST


def test_the_seeded_pdfs_are_unchanged() -> None:
    assert pdfs_digest() == PDFS_DIGEST


def test_pdfs_of_every_kind_are_unchanged() -> None:
    assert crafted_pdfs_digest() == CRAFTED_PDFS_DIGEST


if __name__ == "__main__":
    print(f'REGION_DIGEST = "{region_digest()}"')
    print(f'PDFS_DIGEST = "{pdfs_digest()}"')
    print(f'CRAFTED_PDFS_DIGEST = "{crafted_pdfs_digest()}"')

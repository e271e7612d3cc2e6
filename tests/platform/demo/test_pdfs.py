"""Demo PDFs: real multi-page documents that pypdf can read, with the expected content."""

import importlib
import pkgutil
import random
from datetime import UTC, date, datetime
from io import BytesIO

import pytest
from pypdf import PdfReader

from sisra.common.doctypes import BY_CODE, DOCUMENT_TYPES
from sisra.platform.demo import pdfs
from sisra.platform.demo.exchanges import make_documents
from sisra.platform.demo.pdfs import layout, render_pdf
from sisra.platform.demo.region import make_patients, make_professionals

PATIENT = "DUBŒUF Hélène"
INS_F = "248036912345678"  # not checked here: only its sex digit is used


def _render(**overrides: object) -> bytes:
    args: dict[str, object] = {
        "title": "Compte rendu de consultation de cardiologie",
        "type_label": "Compte rendu de consultation",
        "author_name": "Marc GAUTHIER",
        "author_profession": "Cardiologue",
        "author_structure": "Cabinet de cardiologie des Gratte-Ciel",
        "author_city": "Villeurbanne",
        "patient_name": PATIENT,
        "patient_birth_date": date(1948, 3, 12),
        "patient_ins": INS_F,
        "clinical_date": date(2026, 10, 12),
        "rng": random.Random(1),
    }
    args.update(overrides)
    return render_pdf(**args)  # type: ignore[arg-type]


def _text(reader: PdfReader) -> str:
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


def _check(data: bytes, title: str, patient: str = PATIENT, low: int = 2, high: int = 4) -> str:
    assert data.startswith(b"%PDF-")
    reader = PdfReader(BytesIO(data))
    assert low <= len(reader.pages) <= high
    text = _text(reader)
    assert " ".join(title.split()) in text
    assert patient in text
    assert f"Page 1 / {len(reader.pages)}" in text
    assert f"Page {len(reader.pages)} / {len(reader.pages)}" in text
    assert reader.metadata is not None
    assert reader.metadata.title == title
    assert reader.metadata.author
    return text


@pytest.mark.parametrize("doctype", DOCUMENT_TYPES, ids=lambda t: t.code)
def test_every_document_type(doctype: object) -> None:
    label = doctype.label  # type: ignore[attr-defined]
    title = f"{label} du 12/10/2026"
    text = _check(_render(title=title, type_label=label), title)
    assert "Villeurbanne, le 12 octobre 2026" in text
    assert "Dr Marc GAUTHIER" in text


@pytest.mark.parametrize(
    ("title", "type_code", "profession", "expected"),
    [
        ("Bilan biologique du 12/10/2026", "biologie", "Biologie médicale", "Valeurs de référence"),
        ("Échographie abdominale", "cr_imagerie", "Radiologue", "Conclusion"),
        (
            "Compte rendu opératoire – prothèse totale de hanche droite",
            "cr_operatoire",
            "Chirurgien orthopédiste",
            "Traçabilité des dispositifs médicaux implantables",
        ),
        (
            "Ordonnance de renouvellement du traitement",
            "ordonnance",
            "Médecin généraliste",
            "Durée :",
        ),
        ("Explorations fonctionnelles respiratoires", "autre", "Pneumologue", "VEMS"),
        ("Transmission infirmière", "courrier", "Infirmière", "à domicile"),
        (
            "Compte rendu d'hospitalisation en cardiologie",
            "cr_hospitalisation",
            "Cardiologie et maladies vasculaires",
            "Évolution dans le service",
        ),
        ("Lettre de liaison infirmière", "lettre_liaison", "Infirmier", "Soins en cours"),
    ],
)
def test_content_fits_type_and_author(
    title: str, type_code: str, profession: str, expected: str
) -> None:
    data = _render(
        title=title,
        type_label=BY_CODE[type_code].label,
        author_profession=profession,
        rng=random.Random(7),
    )
    text = _check(data, title)
    assert expected in text


def test_accents_and_ligatures_survive() -> None:
    text = _check(
        _render(patient_name="Cœurdacier Noémie-Gaëlle"),
        "Compte rendu de consultation de cardiologie",
        patient="Cœurdacier Noémie-Gaëlle",
    )
    for word in ("Antécédents", "Examen clinique", "âgée", "Cœurdacier"):
        assert word in text
    # Characters outside WinAnsi are replaced before they reach reportlab.
    assert layout._clean("≥ 5 → β") == ">= 5 -> bêta"
    assert layout._clean("Dubœuf – « oui » ’") == "Dubœuf – « oui » ’"


def test_same_rng_same_bytes_and_rng_advances() -> None:
    assert _render(rng=random.Random(3)) == _render(rng=random.Random(3))
    assert _render(rng=random.Random(3)) != _render(rng=random.Random(4))
    rng = random.Random(5)
    first = _render(rng=rng)
    second = _render(rng=rng)
    assert first != second


def test_min_pages_and_missing_ins() -> None:
    data = _render(min_pages=5)
    assert len(PdfReader(BytesIO(data)).pages) >= 5
    _check(
        _render(patient_ins=None, rng=random.Random(9)),
        "Compte rendu de consultation de cardiologie",
    )


def test_child_and_unknown_type() -> None:
    title = "Document de suivi"
    text = _check(
        _render(
            title=title,
            type_label="Type inconnu",
            author_profession="Pédiatre",
            patient_birth_date=date(2024, 2, 1),
        ),
        title,
    )
    assert "mois" in text  # an infant's age is given in months


def test_bank_text_is_winansi() -> None:
    """Every sentence of the banks can be shown with Helvetica's WinAnsi encoding."""

    def strings(value: object) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict):
            return [s for k, v in value.items() for s in strings(k) + strings(v)]
        if isinstance(value, tuple | list):
            return [s for v in value for s in strings(v)]
        return []

    modules = [
        importlib.import_module(f"sisra.platform.demo.pdfs.{m.name}")
        for m in pkgutil.iter_modules(pdfs.__path__)
    ]
    found = [
        s
        for module in modules
        for name, value in vars(module).items()
        if name.lstrip("_").isupper()
        for s in strings(value)
    ]
    assert len(found) > 500
    for s in found:
        s.encode("cp1252")


def test_region_documents_render() -> None:
    """A slice of the real demo region renders into valid 2-4 page PDFs of sensible size."""
    rng = random.Random(2026)
    pros = make_professionals(rng)
    pats = make_patients(rng, 60)
    docs = make_documents(rng, pros, pats, 40, now=datetime(2026, 10, 20, 14, 0, tzinfo=UTC))
    sizes = []
    seen_types = set()
    for d in docs:
        author, patient = pros[d.author_index], pats[d.patient_index]
        name = f"{patient.used_name or patient.birth_name} {patient.first_given_name}"
        data = render_pdf(
            title=d.title,
            type_label=BY_CODE[d.type_code].label,
            author_name=f"{author.first_name} {author.last_name.upper()}",
            author_profession=author.specialty or author.profession,
            author_structure=author.structure,
            author_city=author.city,
            patient_name=name,
            patient_birth_date=patient.birth_date,
            patient_ins=patient.ins,
            clinical_date=d.clinical_date,
            rng=rng,
        )
        _check(data, d.title, patient=name)
        sizes.append(len(data))
        seen_types.add(d.type_code)
    assert len(seen_types) >= 6
    assert 8_000 < sum(sizes) / len(sizes) < 60_000

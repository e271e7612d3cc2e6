"""What a demo letter knows while written: author, patient, day, and the words that fit them."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sisra.common.doctypes import DOCUMENT_TYPES
from sisra.platform.demo.banks import load
from sisra.platform.demo.pdfs.layout import _num


@dataclass
class _Ctx:
    rng: random.Random
    title: str
    type_code: str
    kind: str
    author_name: str
    author_profession: str
    author_structure: str
    author_city: str
    patient_name: str
    birth_date: date
    ins: str | None
    day: date
    sex: str  # 'M', 'F' or '' when unknown
    age: int
    w: dict[str, str] = field(default_factory=dict)  # words and values for the sentence banks
    # The patient's history and usual treatment, drawn once so that every section and annex
    # of a document agree.
    history: list[str] | None = None
    drugs: list[tuple[str, str]] | None = None

    @property
    def adult(self) -> bool:
        return self.age >= 16

    @property
    def title_l(self) -> str:
        return self.title.lower()

    def pick(self, items: Sequence[str], k: int = 1) -> list[str]:
        """``k`` distinct items, kept in the order of the bank (which reads naturally)."""
        k = max(0, min(k, len(items)))
        chosen = sorted(self.rng.sample(range(len(items)), k))
        return [self.fill(items[i]) for i in chosen]

    def one(self, items: Sequence[str]) -> str:
        return self.fill(self.rng.choice(list(items)))

    def fill(self, text: str) -> str:
        return text.format_map(self.w)


def _age(birth: date, day: date) -> int:
    years = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
    return max(years, 0)


def _age_text(birth: date, day: date) -> str:
    years = _age(birth, day)
    if years >= 2:
        return f"{years} ans"
    months = (day.year - birth.year) * 12 + day.month - birth.month - (day.day < birth.day)
    return f"{max(months, 0)} mois"


_KIND_KEYWORDS: tuple[tuple[str, str], ...] = load("kind_keywords")
_DOCTOR_KINDS = frozenset(
    {"mg", "cardio", "pneumo", "radio", "ortho", "gastro", "endo", "pedia", "bio", "pharma"}
)


def _kind(profession: str) -> str:
    low = profession.lower()
    for word, kind in _KIND_KEYWORDS:
        if word in low:
            return kind
    return "mg" if "médecin" in low else "autre"


def _type_code(type_label: str, title: str) -> str:
    for t in DOCUMENT_TYPES:
        if type_label in (t.label, t.code):
            return t.code
    low = f"{type_label} {title}".lower()
    for word, code in (
        ("ordonnance", "ordonnance"),
        ("opératoire", "cr_operatoire"),
        ("hospitalisation", "cr_hospitalisation"),
        ("liaison", "lettre_liaison"),
        ("biolog", "biologie"),
        ("imagerie", "cr_imagerie"),
        ("consultation", "cr_consultation"),
        ("courrier", "courrier"),
    ):
        if word in low:
            return code
    return "autre"


def _sex_from_ins(ins: str | None) -> str:
    if ins and ins[:1] in "13":
        return "M"
    if ins and ins[:1] in "24":
        return "F"
    return ""


def _words(rng: random.Random, sex: str, age: int, name: str) -> dict[str, str]:
    fem = sex == "F"
    w: dict[str, str] = {
        "p": "la patiente" if fem else "le patient",
        "P": "La patiente" if fem else "Le patient",
        "il": "elle" if fem else "il",
        "Il": "Elle" if fem else "Il",
        "e": "e" if fem else "",
        "civ": {"F": "Madame", "M": "Monsieur"}.get(sex, ""),
        "ne": "née" if fem else "né",
        "name": name,
        "age": f"{age} ans",
        "enfant": "votre fille" if fem else "votre fils",
    }
    w["civname"] = f"{w['civ']} {name}".strip()
    # Vital signs and usual values, drawn once so a whole document stays consistent.
    if age >= 16:
        height = rng.randint(160, 190) if not fem else rng.randint(152, 176)
        weight = round(rng.gauss(78 if not fem else 65, 12))
        weight = max(45, min(weight, 130))
    else:
        height = int(52 + min(age, 15) * 6.2 + rng.randint(-4, 4)) if age else rng.randint(50, 76)
        weight = max(3, round(3.5 + age * 2.6 + rng.gauss(0, 1.5)))
    imc = weight / (height / 100) ** 2
    sys_bp = rng.randint(112, 158) if age >= 16 else rng.randint(95, 115)
    dia_bp = rng.randint(62, 92) if age >= 16 else rng.randint(55, 70)
    w.update(
        {
            "taille": str(height),
            "poids": str(weight),
            "imc": _num(imc, 1),
            "ta": f"{sys_bp}/{dia_bp}",
            "ta_auto": f"{sys_bp - rng.randint(2, 12)}/{dia_bp - rng.randint(0, 6)}",
            "fc": str(rng.randint(56, 94) if age >= 16 else rng.randint(80, 125)),
            "spo2": str(rng.randint(94, 99)),
            "temp": _num(rng.uniform(36.4, 37.6), 1),
            "fevg": str(rng.choice([35, 40, 45, 55, 58, 60, 62, 65])),
            "ldl": _num(rng.uniform(0.55, 1.75), 2),
            "creat": str(rng.randint(55, 118)),
            "k": _num(rng.uniform(3.6, 5.0), 1),
            "chads": str(rng.randint(2, 5)),
            "hba1c": _num(rng.uniform(6.3, 9.4), 1),
            "glyc": _num(rng.uniform(0.95, 1.65), 2),
            "vems": str(rng.randint(48, 92)),
            "tiff": str(rng.randint(52, 78)),
            "dfg": str(rng.randint(42, 98)),
            "hb": _num(rng.uniform(10.8, 15.5), 1),
            "inr": _num(rng.uniform(1.8, 3.3), 1),
            "crp": str(rng.randint(1, 48)),
            "tsh": _num(rng.uniform(0.6, 6.5), 2),
            "eva": str(rng.randint(2, 7)),
            "sa": str(rng.randint(14, 36)),
            "hu": str(rng.randint(18, 33)),
            "bcf": str(rng.randint(130, 155)),
            "pc": _num(34 + min(age, 3) * 4.5 + rng.uniform(-1, 1), 1),
            "iah": str(rng.randint(8, 42)),
            "desat": str(rng.randint(5, 38)),
            "plaie": _num(rng.uniform(1.5, 6.5), 1),
            "seances": str(rng.choice([10, 12, 15, 20])),
            "flexion": str(rng.randint(85, 125)),
            "perim": str(rng.randint(70, 112)),
        }
    )
    return w

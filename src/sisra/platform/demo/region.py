"""A fictitious but realistic Auvergne-Rhône-Alpes region: professionals, patients, documents.

Everything is generated from a :class:`random.Random`, so the same seed always gives the
same region. Nothing here touches a database: the caller loads the lists it gets back.

* :func:`make_professionals` - the directory. The first three are always Dr Élodie Lefèvre
  (general practitioner, Lyon), Dr Marc Gauthier (cardiologist, Villeurbanne) and Sophie
  Bernard (nurse, Lyon), so that a demo can log in as them.
* :func:`make_patients` - identities with a valid *test* INS (NIR built from the traits).
* :func:`make_care_teams` - who takes care of each patient.

The documents they exchange are made by :mod:`sisra.platform.demo.exchanges`; the names,
cities and professions are read from ``data/`` (:mod:`sisra.platform.demo.banks`).
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, TypeVar

from sisra.common.french import de
from sisra.common.identifiers import luhn_complete
from sisra.common.ins import OID_NIR_TEST, with_key
from sisra.platform.demo.banks import load

Sex = Literal["M", "F"]
IdentityStatus = Literal["provisoire", "récupérée", "validée", "qualifiée"]

T = TypeVar("T")


@dataclass
class DemoProfessional:
    rpps: str | None
    adeli: str | None
    first_name: str
    last_name: str
    profession: str
    specialty: str | None
    structure: str
    city: str
    email: str
    mssante: str
    login: str
    has_card: bool

    @property
    def kind(self) -> str:
        """Short key of the profession ('mg', 'cardio', 'ide'...), see :data:`PROFESSIONS`."""
        return kind_of(self.profession)

    @property
    def display_name(self) -> str:
        """How the professional signs: 'Dr Élodie Lefèvre', 'Sophie Bernard'."""
        spec = _SPECS_BY_KIND.get(self.kind)
        prefix = "Dr " if spec is not None and spec.doctor else ""
        return f"{prefix}{self.first_name} {self.last_name}"


@dataclass
class DemoPatient:
    ins: str
    ins_oid: str
    birth_name: str
    used_name: str | None
    birth_given_names: list[str]
    first_given_name: str
    birth_date: date
    sex: Sex
    birth_place_code: str
    identity_status: IdentityStatus

    @property
    def display_name(self) -> str:
        """'Jeanne DUBOIS' (used name when there is one), as documents show patients."""
        return f"{self.first_given_name} {(self.used_name or self.birth_name).upper()}"

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


@dataclass
class DemoDocument:
    patient_index: int
    author_index: int
    recipient_indexes: list[int]
    type_code: str
    title: str
    clinical_date: date
    created_days_ago: float
    in_reply_to_index: int | None = None


@dataclass(frozen=True)
class ProfessionSpec:
    kind: str
    profession: str
    profession_f: str
    specialty: str | None
    mssante_domain: str
    doctor: bool
    female_ratio: float
    # "de cardiologie" / "cardiologique": used to build document titles.
    discipline: str
    adjective: str


PROFESSIONS: tuple[ProfessionSpec, ...] = tuple(
    ProfessionSpec(**row) for row in load("professions")
)

_SPECS_BY_KIND: dict[str, ProfessionSpec] = {s.kind: s for s in PROFESSIONS}
_KIND_BY_PROFESSION: dict[str, str] = {}
for _spec in PROFESSIONS:
    _KIND_BY_PROFESSION[_spec.profession] = _spec.kind
    _KIND_BY_PROFESSION[_spec.profession_f] = _spec.kind

PHYSICIAN_SPECIALISTS = frozenset({"cardio", "pneumo", "ortho", "gastro", "endo", "pedia"})


def kind_of(profession: str) -> str:
    """The short key of a profession label ('Infirmière' -> 'ide'); 'autre' if unknown."""
    return _KIND_BY_PROFESSION.get(profession, "autre")


def spec_of(kind: str) -> ProfessionSpec | None:
    return _SPECS_BY_KIND.get(kind)


# After the three fixed professionals, the others follow this cycle (36 gives a balanced
# region: 7 GPs, 6 nurses, 2 of each specialty...).
_PROFESSION_CYCLE: tuple[str, ...] = load("profession_cycle")


@dataclass(frozen=True)
class _City:
    name: str
    department: str
    weight: float
    quarters: tuple[str, ...]
    hospitals: tuple[str, ...] = ()
    clinics: tuple[str, ...] = ()
    labs: tuple[str, ...] = ()


_CITIES: tuple[_City, ...] = tuple(_City(**row) for row in load("cities"))

_CITY_BY_NAME: dict[str, _City] = {c.name: c for c in _CITIES}

#: INSEE codes of birth places (communes, or 99xxx for a country of birth) and their names.
#: In data/birth_places.json: Auvergne-Rhône-Alpes first, then elsewhere in France,
#: Corsica and overseas, and abroad.
BIRTH_PLACES: dict[str, str] = load("birth_places")

_REGION_BIRTH_WEIGHTS: dict[str, float] = load("region_birth_weights")
_FRANCE_BIRTH_CODES: tuple[str, ...] = load("france_birth_codes")
_CORSICA_OVERSEAS_CODES = ("2A004", "2B033", "97411", "97209", "97101")
_ABROAD_CODES: tuple[str, ...] = load("abroad_codes")


_FEMALE_OLD: tuple[str, ...] = load("female_old")
_FEMALE_MID: tuple[str, ...] = load("female_mid")
_FEMALE_YOUNG: tuple[str, ...] = load("female_young")
_MALE_OLD: tuple[str, ...] = load("male_old")
_MALE_MID: tuple[str, ...] = load("male_mid")
_MALE_YOUNG: tuple[str, ...] = load("male_young")

_LAST_NAMES: tuple[str, ...] = load("last_names")
_DIVERSE_LAST_NAMES: tuple[str, ...] = load("diverse_last_names")


def _weighted_choice(rng: random.Random, items: Sequence[T], weights: Sequence[float]) -> T:
    return rng.choices(items, weights=weights, k=1)[0]


def _weighted_sample(
    rng: random.Random, items: Sequence[T], weights: Sequence[float], k: int
) -> list[T]:
    """Up to ``k`` distinct items drawn without replacement (zero weights never drawn)."""
    pool = [(item, w) for item, w in zip(items, weights, strict=True) if w > 0]
    chosen: list[T] = []
    while pool and len(chosen) < k:
        total = sum(w for _, w in pool)
        r = rng.random() * total
        acc = 0.0
        pick = len(pool) - 1
        for idx, (_, w) in enumerate(pool):
            acc += w
            if r < acc:
                pick = idx
                break
        chosen.append(pool.pop(pick)[0])
    return chosen


def ascii_slug(text: str) -> str:
    """'Dubœuf' -> 'duboeuf', "N'Diaye" -> 'ndiaye', 'Da Silva' -> 'da-silva'."""
    text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    out: list[str] = []
    for ch in stripped:
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif ch in " -" and out and out[-1] != "-":
            out.append("-")
    return "".join(out).strip("-")


def _given_name_pool(sex: Sex, birth_year: int) -> tuple[str, ...]:
    if birth_year < 1960:
        return _FEMALE_OLD if sex == "F" else _MALE_OLD
    if birth_year < 1990:
        return _FEMALE_MID if sex == "F" else _MALE_MID
    return _FEMALE_YOUNG if sex == "F" else _MALE_YOUNG


def _structure(rng: random.Random, kind: str, city: _City) -> str:
    quarter = rng.choice(city.quarters)
    hospital = rng.choice(city.hospitals) if city.hospitals else None
    clinic = rng.choice(city.clinics) if city.clinics else None
    if kind == "mg":
        return rng.choice(
            [f"Cabinet médical {quarter}", f"Maison de santé pluriprofessionnelle {quarter}"]
        )
    if kind in PHYSICIAN_SPECIALISTS:
        spec = _SPECS_BY_KIND[kind]
        options = [f"Cabinet {_de(spec.discipline)} {quarter}"]
        if hospital:
            options += [hospital, hospital]
        if clinic:
            options.append(clinic)
        return rng.choice(options)
    if kind == "radio":
        options = [f"Centre d'imagerie médicale {quarter}", f"Cabinet de radiologie {quarter}"]
        if hospital:
            options.append(hospital)
        if clinic:
            options.append(clinic)
        return rng.choice(options)
    if kind == "bio":
        if city.labs:
            return rng.choice(city.labs)
        return f"Laboratoire de biologie médicale {quarter}"
    if kind == "pharma":
        return rng.choice([f"Pharmacie {quarter}", "Pharmacie de la Gare", "Pharmacie du Marché"])
    if kind == "ide":
        if hospital and rng.random() < 0.25:
            return hospital
        return rng.choice([f"Cabinet infirmier {quarter}", f"Centre de soins infirmiers {quarter}"])
    if kind == "kine":
        return f"Cabinet de kinésithérapie {quarter}"
    if kind == "sf":
        if hospital and rng.random() < 0.4:
            return hospital
        return f"Cabinet de sages-femmes {quarter}"
    return f"Cabinet {quarter}"


def _de(word: str) -> str:
    """'de cardiologie', "d'endocrinologie"."""
    return de(word)


def _unique_rpps(rng: random.Random, used: set[str]) -> str:
    while True:
        rpps = luhn_complete("10" + f"{rng.randrange(10**8):08d}")
        if rpps not in used:
            used.add(rpps)
            return rpps


def _unique_adeli(rng: random.Random, department: str, used: set[str]) -> str:
    while True:
        adeli = department + f"{rng.randrange(10**7):07d}"
        if adeli not in used:
            used.add(adeli)
            return adeli


def _unique_login(first: str, last: str, used: set[str]) -> str:
    base = f"{ascii_slug(first)}.{ascii_slug(last)}"
    login, n = base, 1
    while login in used:
        n += 1
        login = f"{base}{n}"
    used.add(login)
    return login


def _professional(
    *,
    rng: random.Random,
    kind: str,
    first: str,
    last: str,
    female: bool,
    city: _City,
    structure: str,
    has_card: bool,
    adeli_only: bool,
    used_rpps: set[str],
    used_adeli: set[str],
    used_logins: set[str],
) -> DemoProfessional:
    spec = _SPECS_BY_KIND[kind]
    login = _unique_login(first, last, used_logins)
    rpps = None if adeli_only else _unique_rpps(rng, used_rpps)
    adeli = _unique_adeli(rng, city.department, used_adeli) if adeli_only else None
    return DemoProfessional(
        rpps=rpps,
        adeli=adeli,
        first_name=first,
        last_name=last,
        profession=spec.profession_f if female else spec.profession,
        specialty=spec.specialty,
        structure=structure,
        city=city.name,
        email=f"{login}@demo.sisra.test",
        mssante=f"{login}@{spec.mssante_domain}",
        login=login,
        has_card=has_card,
    )


def make_professionals(rng: random.Random, n: int = 36) -> list[DemoProfessional]:
    """``n`` professionals of the region; the first three are fixed (see module docstring).

    Doctors, pharmacists, physiotherapists, midwives and most nurses have an RPPS number;
    some nurses only have an ADELI number. About two thirds have a CPS card.
    """
    used_rpps: set[str] = set()
    used_adeli: set[str] = set()
    used_logins: set[str] = set()
    used_last_names: set[str] = set()
    fixed = [
        ("mg", "Élodie", "Lefèvre", True, "Lyon", "Cabinet médical des Brotteaux", True),
        (
            "cardio",
            "Marc",
            "Gauthier",
            False,
            "Villeurbanne",
            "Cabinet de cardiologie des Gratte-Ciel",
            True,
        ),
        ("ide", "Sophie", "Bernard", True, "Lyon", "Cabinet infirmier de la Croix-Rousse", False),
    ]
    result: list[DemoProfessional] = []
    for kind, first, last, female, city_name, structure, card in fixed[:n]:
        used_last_names.add(last)
        result.append(
            _professional(
                rng=rng,
                kind=kind,
                first=first,
                last=last,
                female=female,
                city=_CITY_BY_NAME[city_name],
                structure=structure,
                has_card=card,
                adeli_only=False,
                used_rpps=used_rpps,
                used_adeli=used_adeli,
                used_logins=used_logins,
            )
        )
    city_weights = [c.weight for c in _CITIES]
    nurses = 0
    i = 0
    while len(result) < n:
        kind = _PROFESSION_CYCLE[i % len(_PROFESSION_CYCLE)]
        i += 1
        spec = _SPECS_BY_KIND[kind]
        female = rng.random() < spec.female_ratio
        pool = rng.choice([_FEMALE_MID, _FEMALE_YOUNG] if female else [_MALE_MID, _MALE_YOUNG])
        first = rng.choice(pool)
        for _attempt in range(20):  # distinct last names while the lists last
            last = rng.choice(_LAST_NAMES if rng.random() < 0.85 else _DIVERSE_LAST_NAMES)
            if last not in used_last_names:
                break
        used_last_names.add(last)
        city = _weighted_choice(rng, _CITIES, city_weights)
        adeli_only = False
        if kind == "ide":
            # The first generated nurse is ADELI-only so a region always has one.
            adeli_only = nurses == 0 or rng.random() < 0.4
            nurses += 1
        result.append(
            _professional(
                rng=rng,
                kind=kind,
                first=first,
                last=last,
                female=female,
                city=city,
                structure=_structure(rng, kind, city),
                has_card=rng.random() < 2 / 3,
                adeli_only=adeli_only,
                used_rpps=used_rpps,
                used_adeli=used_adeli,
                used_logins=used_logins,
            )
        )
    return result


def _birth_date(rng: random.Random) -> date:
    bucket = rng.random()
    if bucket < 0.15:
        first, last = date(2008, 1, 1), date(2024, 12, 31)
    elif bucket < 0.5:
        first, last = date(1965, 1, 1), date(2007, 12, 31)
    else:
        first, last = date(1930, 1, 1), date(1964, 12, 31)
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def _birth_place(rng: random.Random, birth_year: int) -> str:
    r = rng.random()
    abroad = 0.10 if birth_year < 2000 else 0.03
    if r < abroad:
        return rng.choice(_ABROAD_CODES)
    if r < abroad + 0.04:
        return rng.choice(_CORSICA_OVERSEAS_CODES)
    if r < abroad + 0.18:
        return rng.choice(_FRANCE_BIRTH_CODES)
    codes = list(_REGION_BIRTH_WEIGHTS)
    return _weighted_choice(rng, codes, [_REGION_BIRTH_WEIGHTS[c] for c in codes])


def nir_first13(sex: Sex, birth_date: date, birth_place_code: str, order: int) -> str:
    """The 13 characters of a NIR before its key.

    Corsica was department 20 until 1976, so people born there before keep 20 in their NIR
    even though the commune code (COG) now reads 2A/2B.
    """
    department, commune = birth_place_code[:2], birth_place_code[2:]
    if department in ("2A", "2B") and birth_date.year < 1976:
        department = "20"
    sex_digit = "1" if sex == "M" else "2"
    return (
        f"{sex_digit}{birth_date.year % 100:02d}{birth_date.month:02d}"
        f"{department}{commune}{order:03d}"
    )


def make_patients(rng: random.Random, n: int = 300) -> list[DemoPatient]:
    """``n`` patients with unique, valid test INS (OID 1.2.250.1.213.1.4.10)."""
    used_ins: set[str] = set()
    patients: list[DemoPatient] = []
    statuses: tuple[IdentityStatus, ...] = ("qualifiée", "validée", "récupérée", "provisoire")
    for _ in range(n):
        sex: Sex = "F" if rng.random() < 0.52 else "M"
        birth_date = _birth_date(rng)
        place = _birth_place(rng, birth_date.year)
        while True:
            ins = with_key(nir_first13(sex, birth_date, place, rng.randint(1, 999)))
            if ins not in used_ins:
                used_ins.add(ins)
                break
        diverse = place.startswith("99") and rng.random() < 0.6
        birth_name = rng.choice(_DIVERSE_LAST_NAMES if diverse else _LAST_NAMES)
        used_name: str | None = None
        if sex == "F" and birth_date.year <= 1998 and rng.random() < 0.45:
            used_name = rng.choice([x for x in _LAST_NAMES if x != birth_name])
        pool = _given_name_pool(sex, birth_date.year)
        count = _weighted_choice(rng, (1, 2, 3), (0.4, 0.35, 0.25))
        given = rng.sample(pool, count)
        status = _weighted_choice(rng, statuses, (0.85, 0.07, 0.05, 0.03))
        patients.append(
            DemoPatient(
                ins=ins,
                ins_oid=OID_NIR_TEST,
                birth_name=birth_name,
                used_name=used_name,
                birth_given_names=given,
                first_given_name=given[0],
                birth_date=birth_date,
                sex=sex,
                birth_place_code=place,
                identity_status=status,
            )
        )
    return patients


def _member_weight(kind: str, age: int, sex: Sex) -> float:
    if age < 16 and kind in ("cardio", "pneumo", "gastro", "endo", "ortho", "pharma", "sf"):
        return 0.0  # children see the paediatrician (and the radiologist, the lab...)
    if kind == "cardio":
        return 3.0 if age >= 45 else 0.4
    if kind == "pneumo":
        return 1.5 if age >= 16 else 0.5
    if kind == "gastro":
        return 1.3 if age >= 16 else 0.3
    if kind == "endo":
        return 1.5 if age >= 16 else 0.3
    if kind == "ortho":
        return 1.6 if age >= 50 else 0.8
    if kind == "pedia":
        return 4.0 if age < 16 else 0.0
    if kind == "sf":
        return 2.0 if sex == "F" and 18 <= age <= 42 else 0.0
    if kind == "ide":
        return 3.0 if age >= 70 else 0.8
    if kind == "kine":
        return 1.0
    if kind == "pharma":
        return 1.5 if age >= 60 else 0.6
    if kind == "radio":
        return 2.0
    if kind == "bio":
        return 3.0
    if kind == "mg":
        return 0.2
    return 0.5


def _department_of(professional: DemoProfessional) -> str:
    city = _CITY_BY_NAME.get(professional.city)
    return city.department if city else ""


def make_care_teams(
    rng: random.Random,
    professionals: Sequence[DemoProfessional],
    patients: Sequence[DemoPatient],
    today: date,
) -> list[list[int]]:
    """For each patient, the indexes of its care team: the GP first, then 1-3 others."""
    if len(professionals) < 2:
        raise ValueError("A demo region needs at least two professionals.")
    kinds = [p.kind for p in professionals]
    gps = [i for i, k in enumerate(kinds) if k == "mg"] or [0]
    # The first professional (Élodie Lefèvre) is the GP of a large share of the patients.
    gp_weights = [4.0 if i == 0 else 1.0 for i in gps]
    departments = [_department_of(p) for p in professionals]
    teams: list[list[int]] = []
    for patient in patients:
        age = patient.age_on(today)
        gp = _weighted_choice(rng, gps, gp_weights)
        others = [i for i in range(len(professionals)) if i != gp]
        weights = []
        for i in others:
            w = _member_weight(kinds[i], age, patient.sex)
            w *= 3.0 if departments[i] == departments[gp] else 0.3
            weights.append(w)
        k = _weighted_choice(rng, (1, 2, 3), (0.3, 0.4, 0.3) if age < 70 else (0.15, 0.4, 0.45))
        team = [gp, *_weighted_sample(rng, others, weights, k)]
        if gp == 0:
            # Make the three fixed professionals work together often.
            for fixed in (1, 2):
                if (
                    fixed < len(professionals)
                    and fixed not in team
                    and _member_weight(kinds[fixed], age, patient.sex) > 0
                    and rng.random() < 0.45
                ):
                    team.append(fixed)
        if len(team) < 2:
            team.append(rng.choice(others))
        teams.append(team)
    return teams

"""A fictitious but realistic Auvergne-Rhône-Alpes region: professionals, patients, documents.

Everything is generated from a :class:`random.Random`, so the same seed always gives the
same region. Nothing here touches a database: the caller loads the lists it gets back.

* :func:`make_professionals` - the directory. The first three are always Dr Élodie Lefèvre
  (general practitioner, Lyon), Dr Marc Gauthier (cardiologist, Villeurbanne) and Sophie
  Bernard (nurse, Lyon), so that a demo can log in as them.
* :func:`make_patients` - identities with a valid *test* INS (NIR built from the traits).
* :func:`make_documents` - exchanges inside each patient's care team over the last days,
  in chronological order (index 0 is the oldest), about 10 % being replies.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, TypeVar

from sisra.common.french import de
from sisra.common.identifiers import luhn_complete
from sisra.common.ins import OID_NIR_TEST, with_key

Sex = Literal["M", "F"]
IdentityStatus = Literal["provisoire", "récupérée", "validée", "qualifiée"]

T = TypeVar("T")


# --------------------------------------------------------------------------- dataclasses


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


# --------------------------------------------------------------------------- professions


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


PROFESSIONS: tuple[ProfessionSpec, ...] = (
    ProfessionSpec(
        "mg",
        "Médecin généraliste",
        "Médecin généraliste",
        "Médecine générale",
        "medecin.mssante.fr",
        True,
        0.55,
        "médecine générale",
        "de médecine générale",
    ),
    ProfessionSpec(
        "cardio",
        "Cardiologue",
        "Cardiologue",
        "Cardiologie et maladies vasculaires",
        "medecin.mssante.fr",
        True,
        0.3,
        "cardiologie",
        "cardiologique",
    ),
    ProfessionSpec(
        "pneumo",
        "Pneumologue",
        "Pneumologue",
        "Pneumologie",
        "medecin.mssante.fr",
        True,
        0.45,
        "pneumologie",
        "pneumologique",
    ),
    ProfessionSpec(
        "radio",
        "Radiologue",
        "Radiologue",
        "Radiodiagnostic et imagerie médicale",
        "medecin.mssante.fr",
        True,
        0.4,
        "radiologie",
        "radiologique",
    ),
    ProfessionSpec(
        "ortho",
        "Chirurgien orthopédiste",
        "Chirurgien orthopédiste",
        "Chirurgie orthopédique et traumatologie",
        "medecin.mssante.fr",
        True,
        0.2,
        "chirurgie orthopédique",
        "orthopédique",
    ),
    ProfessionSpec(
        "gastro",
        "Gastro-entérologue",
        "Gastro-entérologue",
        "Gastro-entérologie et hépatologie",
        "medecin.mssante.fr",
        True,
        0.4,
        "gastro-entérologie",
        "gastro-entérologique",
    ),
    ProfessionSpec(
        "endo",
        "Endocrinologue",
        "Endocrinologue",
        "Endocrinologie, diabétologie, nutrition",
        "medecin.mssante.fr",
        True,
        0.6,
        "endocrinologie",
        "endocrinologique",
    ),
    ProfessionSpec(
        "pedia",
        "Pédiatre",
        "Pédiatre",
        "Pédiatrie",
        "medecin.mssante.fr",
        True,
        0.7,
        "pédiatrie",
        "pédiatrique",
    ),
    ProfessionSpec(
        "ide",
        "Infirmier",
        "Infirmière",
        None,
        "infirmier.mssante.fr",
        False,
        0.85,
        "soins infirmiers",
        "infirmier",
    ),
    ProfessionSpec(
        "kine",
        "Masseur-kinésithérapeute",
        "Masseur-kinésithérapeute",
        None,
        "masseur-kinesitherapeute.mssante.fr",
        False,
        0.5,
        "kinésithérapie",
        "kinésithérapique",
    ),
    ProfessionSpec(
        "pharma",
        "Pharmacien",
        "Pharmacien",
        None,
        "pharmacien.mssante.fr",
        True,
        0.6,
        "pharmacie",
        "pharmaceutique",
    ),
    ProfessionSpec(
        "sf",
        "Sage-femme",
        "Sage-femme",
        None,
        "sage-femme.mssante.fr",
        False,
        0.97,
        "suivi de grossesse",
        "obstétrical",
    ),
    ProfessionSpec(
        "bio",
        "Biologiste",
        "Biologiste",
        "Biologie médicale",
        "medecin.mssante.fr",
        True,
        0.5,
        "biologie médicale",
        "biologique",
    ),
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
_PROFESSION_CYCLE: tuple[str, ...] = (
    "mg",
    "ide",
    "pneumo",
    "radio",
    "mg",
    "bio",
    "pharma",
    "endo",
    "kine",
    "gastro",
    "ortho",
    "mg",
    "ide",
    "pedia",
    "sf",
    "cardio",
    "mg",
    "radio",
    "bio",
    "pharma",
    "ide",
    "mg",
    "pneumo",
    "kine",
    "ide",
    "endo",
    "mg",
    "gastro",
    "ortho",
    "pedia",
    "ide",
    "sf",
    "cardio",
)

# --------------------------------------------------------------------------- geography


@dataclass(frozen=True)
class _City:
    name: str
    department: str
    weight: float
    quarters: tuple[str, ...]
    hospitals: tuple[str, ...] = ()
    clinics: tuple[str, ...] = ()
    labs: tuple[str, ...] = ()


_CITIES: tuple[_City, ...] = (
    _City(
        "Lyon",
        "69",
        8,
        (
            "des Brotteaux",
            "de la Croix-Rousse",
            "de Monplaisir",
            "de Vaise",
            "de la Guillotière",
            "de la Part-Dieu",
            "de Bellecour",
            "de Gerland",
        ),
        ("CHU de Lyon – Hôpital Édouard Herriot", "CHU de Lyon – Hôpital de la Croix-Rousse"),
        ("Clinique du Parc", "Clinique Saint-Jean-de-Dieu"),
        ("Laboratoire Rhône Biologie – site Part-Dieu", "Laboratoire des Brotteaux"),
    ),
    _City(
        "Villeurbanne",
        "69",
        3,
        ("des Gratte-Ciel", "de Cusset", "des Charpennes", "de la Doua"),
        (),
        ("Clinique du Tonkin",),
        ("Laboratoire Rhône Biologie – site Gratte-Ciel",),
    ),
    _City("Vénissieux", "69", 1, ("du Centre", "des Minguettes")),
    _City(
        "Bron",
        "69",
        1,
        ("du Centre", "de Parilly"),
        ("CHU de Lyon – Hôpital Louis Pradel", "CHU de Lyon – Hôpital Femme Mère Enfant"),
    ),
    _City(
        "Villefranche-sur-Saône",
        "69",
        1,
        ("du Centre", "de Béligny"),
        ("Hôpital Nord-Ouest – Villefranche-sur-Saône",),
        (),
        ("Laboratoire Beaujolais Analyses",),
    ),
    _City(
        "Saint-Étienne",
        "42",
        3,
        ("de Bellevue", "de Jacquard", "du Crêt de Roch", "de Carnot"),
        ("CHU de Saint-Étienne – Hôpital Nord",),
        ("Clinique des Monts du Forez",),
        ("Laboratoire Forez Analyses",),
    ),
    _City("Roanne", "42", 1, ("du Centre", "du Mayollet"), ("Centre hospitalier de Roanne",)),
    _City(
        "Grenoble",
        "38",
        3,
        ("de l'Île Verte", "des Eaux-Claires", "de Championnet", "de la Villeneuve"),
        ("CHU Grenoble Alpes",),
        ("Clinique des Alpes",),
        ("Laboratoire Dauphiné Biologie",),
    ),
    _City("Vienne", "38", 1, ("du Centre", "d'Estressin"), ("Centre hospitalier de Vienne",)),
    _City(
        "Clermont-Ferrand",
        "63",
        3,
        ("de Jaude", "de Montferrand", "des Salins", "de la Gare"),
        (
            "CHU de Clermont-Ferrand – Hôpital Gabriel-Montpied",
            "CHU de Clermont-Ferrand – Hôpital Estaing",
        ),
        ("Clinique des Volcans",),
        ("Laboratoire Dôme Biologie",),
    ),
    _City(
        "Annecy",
        "74",
        2,
        ("des Teppes", "de Novel", "du Vieil Annecy"),
        ("Centre hospitalier Annecy Genevois",),
        ("Clinique du Lac",),
        ("Laboratoire Savoie Léman Biologie",),
    ),
    _City(
        "Chambéry",
        "73",
        2,
        ("de Bissy", "du Biollay", "des Hauts de Chambéry"),
        ("Centre hospitalier Métropole Savoie",),
        (),
        ("Laboratoire Savoie Léman Biologie – site de Chambéry",),
    ),
    _City(
        "Valence",
        "26",
        2,
        ("de Fontbarlettes", "du Polygone", "de Châteauvert"),
        ("Centre hospitalier de Valence",),
        ("Clinique du Vivarais",),
        ("Laboratoire Drôme Ardèche Biologie",),
    ),
    _City(
        "Bourg-en-Bresse",
        "01",
        1,
        ("du Centre", "de la Reyssouze"),
        ("Centre hospitalier de Bourg-en-Bresse",),
    ),
    _City("Aurillac", "15", 0.5, ("du Centre",), ("Centre hospitalier d'Aurillac",)),
    _City("Le Puy-en-Velay", "43", 0.5, ("du Centre",), ("Centre hospitalier Émile Roux",)),
)

_CITY_BY_NAME: dict[str, _City] = {c.name: c for c in _CITIES}

#: INSEE codes of birth places (communes, or 99xxx for a country of birth) and their names.
BIRTH_PLACES: dict[str, str] = {
    # Auvergne-Rhône-Alpes
    "69123": "Lyon",
    "69383": "Lyon 3e Arrondissement",
    "69387": "Lyon 7e Arrondissement",
    "69266": "Villeurbanne",
    "69259": "Vénissieux",
    "69029": "Bron",
    "69264": "Villefranche-sur-Saône",
    "42218": "Saint-Étienne",
    "42187": "Roanne",
    "42207": "Saint-Chamond",
    "42095": "Firminy",
    "38185": "Grenoble",
    "38544": "Vienne",
    "38151": "Échirolles",
    "38421": "Saint-Martin-d'Hères",
    "63113": "Clermont-Ferrand",
    "63300": "Riom",
    "63178": "Issoire",
    "74010": "Annecy",
    "74012": "Annemasse",
    "74281": "Thonon-les-Bains",
    "73065": "Chambéry",
    "73008": "Aix-les-Bains",
    "73011": "Albertville",
    "26362": "Valence",
    "26198": "Montélimar",
    "26281": "Romans-sur-Isère",
    "01053": "Bourg-en-Bresse",
    "01283": "Oyonnax",
    "03190": "Moulins",
    "03310": "Vichy",
    "03185": "Montluçon",
    "15014": "Aurillac",
    "15187": "Saint-Flour",
    "43157": "Le Puy-en-Velay",
    "07186": "Privas",
    "07010": "Annonay",
    "07019": "Aubenas",
    # elsewhere in France
    "75056": "Paris",
    "75115": "Paris 15e Arrondissement",
    "13055": "Marseille",
    "59350": "Lille",
    "67482": "Strasbourg",
    "33063": "Bordeaux",
    "31555": "Toulouse",
    "21231": "Dijon",
    "06088": "Nice",
    "44109": "Nantes",
    # Corsica and overseas
    "2A004": "Ajaccio",
    "2B033": "Bastia",
    "97411": "Saint-Denis (La Réunion)",
    "97209": "Fort-de-France",
    "97101": "Les Abymes",
    # born abroad: 99 + country code
    "99350": "Maroc",
    "99352": "Algérie",
    "99351": "Tunisie",
    "99139": "Portugal",
    "99127": "Italie",
    "99134": "Espagne",
    "99109": "Allemagne",
    "99341": "Sénégal",
    "99243": "Viêt Nam",
    "99208": "Turquie",
}

_REGION_BIRTH_WEIGHTS: dict[str, float] = {
    "69123": 10,
    "69383": 2,
    "69387": 2,
    "69266": 4,
    "69259": 2,
    "69029": 2,
    "69264": 1.5,
    "42218": 5,
    "42187": 2,
    "42207": 1,
    "42095": 1,
    "38185": 5,
    "38544": 1.5,
    "38151": 1.5,
    "38421": 1,
    "63113": 5,
    "63300": 1,
    "63178": 1,
    "74010": 2.5,
    "74012": 1.5,
    "74281": 1,
    "73065": 2.5,
    "73008": 1,
    "73011": 1,
    "26362": 2.5,
    "26198": 1.5,
    "26281": 1,
    "01053": 1.5,
    "01283": 1,
    "03190": 1,
    "03310": 1,
    "03185": 1,
    "15014": 1,
    "15187": 0.5,
    "43157": 1,
    "07186": 0.5,
    "07010": 1,
    "07019": 1,
}
_FRANCE_BIRTH_CODES = (
    "75056",
    "75115",
    "13055",
    "59350",
    "67482",
    "33063",
    "31555",
    "21231",
    "06088",
    "44109",
)
_CORSICA_OVERSEAS_CODES = ("2A004", "2B033", "97411", "97209", "97101")
_ABROAD_CODES = (
    "99350",
    "99352",
    "99351",
    "99139",
    "99127",
    "99134",
    "99109",
    "99341",
    "99243",
    "99208",
)

# --------------------------------------------------------------------------- names

_FEMALE_OLD = (
    "Jacqueline",
    "Monique",
    "Françoise",
    "Danièle",
    "Josiane",
    "Odile",
    "Thérèse",
    "Colette",
    "Huguette",
    "Simone",
    "Geneviève",
    "Marie",
    "Jeanne",
    "Yvette",
    "Paulette",
    "Ginette",
    "Régine",
    "Ghislaine",
    "Marguerite",
    "Suzanne",
    "Andrée",
    "Denise",
    "Bernadette",
    "Hélène",
    "Annie",
    "Michèle",
)
_FEMALE_MID = (
    "Nathalie",
    "Isabelle",
    "Valérie",
    "Sandrine",
    "Stéphanie",
    "Céline",
    "Aurélie",
    "Émilie",
    "Sophie",
    "Christelle",
    "Karine",
    "Laurence",
    "Véronique",
    "Hélène",
    "Anne",
    "Claire",
    "Cécile",
    "Agnès",
    "Béatrice",
    "Élodie",
    "Gaëlle",
    "Séverine",
    "Virginie",
    "Delphine",
    "Mélanie",
    "Anne-Sophie",
    "Marie-Claire",
    "Fatima",
    "Nadia",
    "Noémie",
)
_FEMALE_YOUNG = (
    "Léa",
    "Chloé",
    "Manon",
    "Inès",
    "Camille",
    "Zoé",
    "Anaïs",
    "Maëlle",
    "Clémence",
    "Océane",
    "Lina",
    "Jade",
    "Louise",
    "Alice",
    "Rose",
    "Ambre",
    "Léonie",
    "Maëlys",
    "Noémie",
    "Salomé",
    "Justine",
    "Solène",
    "Mathilde",
    "Pauline",
    "Yasmine",
    "Éléonore",
)
_MALE_OLD = (
    "Jean",
    "Michel",
    "Bernard",
    "Gérard",
    "René",
    "André",
    "Pierre",
    "Jacques",
    "Robert",
    "Marcel",
    "Roger",
    "Henri",
    "Georges",
    "Raymond",
    "Lucien",
    "Maurice",
    "Claude",
    "Jean-Pierre",
    "Alain",
    "Daniel",
    "Guy",
    "Gilbert",
    "François",
    "Joseph",
    "Louis",
    "Yves",
)
_MALE_MID = (
    "Philippe",
    "Stéphane",
    "Frédéric",
    "Hervé",
    "Éric",
    "Christophe",
    "Sébastien",
    "Nicolas",
    "Julien",
    "Cédric",
    "Jérôme",
    "Benoît",
    "Loïc",
    "Laurent",
    "Olivier",
    "Thierry",
    "Pascal",
    "Franck",
    "Grégoire",
    "Mathieu",
    "Guillaume",
    "Xavier",
    "Karim",
    "Mehdi",
    "Joël",
    "Rémi",
    "Jean-Baptiste",
    "Emmanuel",
    "François",
    "Marc",
)
_MALE_YOUNG = (
    "Thomas",
    "Hugo",
    "Théo",
    "Lucas",
    "Léo",
    "Gabriel",
    "Raphaël",
    "Louis",
    "Jules",
    "Arthur",
    "Noé",
    "Maël",
    "Timothée",
    "Clément",
    "Adrien",
    "Bastien",
    "Florian",
    "Antoine",
    "Étienne",
    "Nathan",
    "Sacha",
    "Youssef",
    "Adam",
    "Mathis",
    "Gaël",
    "Enzo",
)

_LAST_NAMES = (
    "Lefèvre",
    "Gauthier",
    "Mercier",
    "Dubœuf",
    "Bernard",
    "Martin",
    "Dubois",
    "Moreau",
    "Girard",
    "Bonnet",
    "Fontaine",
    "Rousseau",
    "Chevalier",
    "Faure",
    "Roux",
    "Blanc",
    "Guérin",
    "Perrin",
    "Morel",
    "Fournier",
    "Lambert",
    "Barbier",
    "Chauvin",
    "Ferrand",
    "Brunet",
    "Garnier",
    "Vidal",
    "Perret",
    "Besson",
    "Chabert",
    "Bouvier",
    "Vincent",
    "Meunier",
    "Rey",
    "Pelletier",
    "Dupré",
    "Delorme",
    "Baudouin",
    "Noël",
    "Carré",
    "Lemaître",
    "Ménard",
    "Hébert",
    "Géraud",
    "Thévenet",
    "Régnier",
    "Chrétien",
    "Lacroix",
    "Arnaud",
    "Jacquet",
    "Rochas",
    "Pélissier",
    "Crozet",
    "Brossard",
    "Chapuis",
    "Favre",
    "Jacquemet",
    "Excoffier",
    "Duchêne",
    "Bérard",
    "Poncet",
    "Reynaud",
    "Chambon",
    "Vallet",
    "Magnin",
    "Guillot",
    "Charvet",
    "Bouchet",
    "Gonnet",
    "Mollard",
    "Berthet",
    "Girod",
    "Jourdan",
    "Ravel",
    "Sauvageot",
    "Cœurdacier",
    "Bréchet",
    "Marcoux",
    "Ollier",
    "Tardy",
    "Valette",
    "Rivière",
    "Bœuf",
    "Fayolle",
    "Gaillard",
    "Pommier",
    "Lhôte",
    "Mathonnet",
)
_DIVERSE_LAST_NAMES = (
    "Benali",
    "Haddad",
    "Nguyen",
    "Da Silva",
    "Ferreira",
    "Rossi",
    "Bianchi",
    "Martinez",
    "Garcia",
    "Diallo",
    "Traoré",
    "N'Diaye",
    "Yilmaz",
    "Benchekroun",
    "Mansouri",
    "Pereira",
    "Lopes",
    "Esposito",
    "Tran",
    "Kaya",
)

# --------------------------------------------------------------------------- helpers


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


# --------------------------------------------------------------------------- professionals


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


# --------------------------------------------------------------------------- patients


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


# --------------------------------------------------------------------------- care teams


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


# --------------------------------------------------------------------------- documents

_TYPE_WEIGHTS: dict[str, dict[str, float]] = {
    "mg": {
        "courrier": 2.5,
        "cr_consultation": 1.5,
        "ordonnance": 1.5,
        "lettre_liaison": 0.8,
        "autre": 0.4,
    },
    "cardio": {
        "cr_consultation": 5,
        "autre": 2,
        "cr_imagerie": 1.5,
        "cr_hospitalisation": 2,
        "lettre_liaison": 0.7,
        "courrier": 1,
        "ordonnance": 1,
    },
    "pneumo": {
        "cr_consultation": 5,
        "autre": 2,
        "cr_hospitalisation": 2,
        "courrier": 1,
        "ordonnance": 1,
        "lettre_liaison": 0.5,
    },
    "gastro": {
        "cr_consultation": 4,
        "autre": 2.5,
        "cr_hospitalisation": 1.5,
        "courrier": 1,
        "ordonnance": 0.8,
    },
    "endo": {
        "cr_consultation": 5,
        "courrier": 1.5,
        "ordonnance": 1.5,
        "cr_hospitalisation": 1,
        "autre": 0.5,
    },
    "pedia": {
        "cr_consultation": 5,
        "courrier": 1,
        "ordonnance": 1.5,
        "cr_hospitalisation": 1.2,
        "autre": 0.4,
    },
    "ortho": {
        "cr_consultation": 3,
        "cr_operatoire": 4,
        "cr_hospitalisation": 1.5,
        "lettre_liaison": 1.2,
        "courrier": 0.8,
        "ordonnance": 1,
    },
    "radio": {"cr_imagerie": 1},
    "bio": {"biologie": 1},
    "ide": {"courrier": 2, "autre": 2, "lettre_liaison": 1},
    "kine": {"courrier": 2, "autre": 1.5},
    "pharma": {"courrier": 1.5, "autre": 1},
    "sf": {"cr_consultation": 3, "courrier": 1, "ordonnance": 1, "autre": 1, "cr_imagerie": 1},
}

_AUTHOR_WEIGHTS: dict[str, float] = {
    "mg": 2,
    "cardio": 2,
    "pneumo": 2,
    "gastro": 2,
    "endo": 2,
    "pedia": 2,
    "ortho": 2.5,
    "radio": 2,
    "bio": 2.5,
    "ide": 1.2,
    "kine": 0.8,
    "pharma": 0.6,
    "sf": 1.5,
}

# How many days the clinical act may precede the upload, by type.
_MAX_DELAY: dict[str, int] = {
    "biologie": 2,
    "cr_imagerie": 3,
    "cr_consultation": 4,
    "cr_hospitalisation": 7,
    "cr_operatoire": 5,
    "ordonnance": 1,
    "courrier": 2,
    "lettre_liaison": 2,
    "autre": 5,
}

_HOSPITAL_WORDS = ("CHU", "Centre hospitalier", "Hôpital", "Clinique")


def _fr(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def _imaging_title(rng: random.Random, patient: DemoPatient, age: int) -> str:
    if age < 16:
        return rng.choice(
            [
                "Radiographie du thorax de face",
                "Échographie abdominale",
                "Radiographie de la cheville droite",
                "Radiographie du poignet gauche",
                "Échographie de hanche",
            ]
        )
    options = [
        "Échographie abdominale",
        "Radiographie du thorax de face",
        "Scanner thoraco-abdomino-pelvien",
        "IRM du genou droit",
        "IRM lombaire",
        "Échographie thyroïdienne",
        "Radiographie du poignet gauche",
        "Échodoppler veineux des membres inférieurs",
        "Scanner cérébral sans injection",
        "Radiographie du bassin de face",
        "Radiographie du genou gauche",
    ]
    if patient.sex == "F":
        options.append("Échographie pelvienne")
        if age >= 40:
            options += ["Mammographie bilatérale", "Mammographie bilatérale"]
        if age >= 50:
            options.append("Ostéodensitométrie")
    return rng.choice(options)


def _title(
    rng: random.Random,
    type_code: str,
    kind: str,
    patient: DemoPatient,
    clinical_date: date,
    recipient_kind: str,
) -> str:
    spec = _SPECS_BY_KIND.get(kind)
    discipline = spec.discipline if spec else "médecine générale"
    age = patient.age_on(clinical_date)
    if type_code == "cr_consultation":
        if kind == "sf":
            return rng.choice(
                [
                    "Consultation prénatale – suivi de grossesse",
                    "Compte rendu de consultation de suivi de grossesse",
                ]
            )
        if kind == "mg":
            return rng.choice(
                [
                    "Compte rendu de consultation de médecine générale",
                    f"Compte rendu de consultation du {_fr(clinical_date)}",
                ]
            )
        return rng.choice(
            [
                f"Compte rendu de consultation {_de(discipline)}",
                f"Compte rendu de consultation {_de(discipline)}",
                f"Consultation de suivi – {discipline[0].upper()}{discipline[1:]}",
            ]
        )
    if type_code == "biologie":
        options = [
            f"Bilan biologique du {_fr(clinical_date)}",
            f"Bilan biologique du {_fr(clinical_date)}",
            f"Résultats d'analyses du {_fr(clinical_date)}",
            "Numération formule sanguine et CRP",
            "Bilan rénal et ionogramme",
        ]
        if age >= 18:
            options += [
                "Bilan lipidique et glycémie à jeun",
                "Hémoglobine glyquée (HbA1c)",
                "Bilan thyroïdien (TSH)",
            ]
        if age >= 60:
            options.append("Surveillance INR")
        if patient.sex == "F" and 18 <= age <= 42:
            options.append("Bilan prénatal")
        return rng.choice(options)
    if type_code == "cr_imagerie":
        if kind == "cardio":
            return rng.choice(
                ["Échocardiographie transthoracique", "Échodoppler des troncs supra-aortiques"]
            )
        if kind == "sf":
            return rng.choice(
                [
                    "Échographie obstétricale du deuxième trimestre",
                    "Échographie obstétricale du troisième trimestre",
                ]
            )
        return _imaging_title(rng, patient, age)
    if type_code == "cr_operatoire":
        side = rng.choice(["droit", "gauche"])
        side_f = "droite" if side == "droit" else "gauche"
        procedure = rng.choice(
            [
                f"prothèse totale de hanche {side_f}",
                f"prothèse totale de genou {side}",
                f"arthroscopie du genou {side} avec méniscectomie partielle",
                f"ostéosynthèse d'une fracture du radius distal {side}",
                f"réparation de la coiffe des rotateurs de l'épaule {side_f}",
                f"libération du nerf médian au canal carpien {side}",
                f"ablation de matériel d'ostéosynthèse de la cheville {side_f}",
            ]
        )
        return f"Compte rendu opératoire – {procedure}"
    if type_code == "cr_hospitalisation":
        return rng.choice(
            [
                f"Compte rendu d'hospitalisation en {discipline}",
                f"Compte rendu d'hospitalisation en {discipline}",
                f"Compte rendu d'hospitalisation de jour – {discipline}",
            ]
        )
    if type_code == "lettre_liaison":
        if kind == "ide":
            return "Lettre de liaison infirmière"
        if kind == "mg":
            return rng.choice(
                [
                    "Lettre de liaison",
                    "Lettre de liaison – entrée en EHPAD"
                    if age >= 75
                    else "Lettre de liaison – admission programmée",
                ]
            )
        return rng.choice(
            [
                "Lettre de liaison de sortie d'hospitalisation",
                f"Lettre de liaison – sortie du service {_de(discipline)}",
            ]
        )
    if type_code == "ordonnance":
        options = {
            "mg": [
                "Ordonnance",
                "Ordonnance de renouvellement du traitement",
                "Ordonnance de biologie",
                "Ordonnance de soins infirmiers",
                "Ordonnance de kinésithérapie",
            ],
            "cardio": ["Ordonnance", "Ordonnance – traitement anticoagulant"],
            "endo": [
                "Ordonnance – insulinothérapie",
                "Ordonnance de matériel d'autosurveillance glycémique",
                "Ordonnance",
            ],
            "ortho": [
                "Ordonnance de kinésithérapie postopératoire",
                "Ordonnance – antalgiques et anticoagulation préventive",
            ],
            "pneumo": ["Ordonnance – traitement inhalé", "Ordonnance"],
            "gastro": ["Ordonnance – préparation colique", "Ordonnance"],
            "sf": ["Ordonnance – supplémentation et bilan prénatal", "Ordonnance"],
            "pedia": ["Ordonnance", "Ordonnance – traitement de la fièvre et de la douleur"],
        }.get(kind, ["Ordonnance"])
        return rng.choice(options)
    if type_code == "courrier":
        if kind == "mg":
            target = _SPECS_BY_KIND.get(recipient_kind)
            if recipient_kind in PHYSICIAN_SPECIALISTS and target:
                return rng.choice(
                    [
                        f"Demande d'avis {target.adjective}",
                        f"Courrier d'adressage en {target.discipline}",
                    ]
                )
            return {
                "radio": "Demande d'examen d'imagerie",
                "bio": "Demande d'analyses complémentaires",
                "ide": "Demande de soins infirmiers à domicile",
                "kine": "Demande de prise en charge en kinésithérapie",
                "pharma": "Demande de bilan partagé de médication",
                "sf": "Courrier d'adressage – suivi de grossesse",
            }.get(recipient_kind, "Courrier de liaison entre médecins")
        if kind == "ide":
            return rng.choice(
                [
                    "Transmission infirmière",
                    "Transmission infirmière",
                    "Signalement d'une altération de l'état général",
                ]
            )
        if kind == "kine":
            return rng.choice(
                [
                    "Bilan-diagnostic kinésithérapique",
                    "Courrier de fin de prise en charge en kinésithérapie",
                ]
            )
        if kind == "pharma":
            return rng.choice(
                ["Bilan partagé de médication", "Signalement d'une interaction médicamenteuse"]
            )
        if kind == "sf":
            return "Courrier de suivi de grossesse"
        adjective = spec.adjective if spec else "médical"
        return rng.choice(["Courrier au médecin traitant", f"Avis {adjective}"])
    # autre
    options = {
        "cardio": [
            "Électrocardiogramme de repos",
            "Holter ECG des 24 heures",
            "Épreuve d'effort",
            "Holter tensionnel (MAPA)",
        ],
        "pneumo": [
            "Explorations fonctionnelles respiratoires",
            "Polygraphie ventilatoire nocturne",
        ],
        "gastro": ["Compte rendu de coloscopie", "Compte rendu de gastroscopie"],
        "ide": [
            "Fiche de suivi de plaie",
            "Relevé de surveillance glycémique",
            "Bilan de soins infirmiers",
        ],
        "kine": ["Bilan de fin de rééducation"],
        "pharma": ["Conciliation médicamenteuse de sortie", "Plan de prise des médicaments"],
        "mg": ["Certificat médical", "Certificat de non contre-indication à la pratique sportive"],
        "endo": ["Bilan d'éducation thérapeutique"],
        "sf": ["Entretien prénatal précoce"],
        "pedia": ["Certificat de santé", "Bilan de croissance"],
    }.get(kind, ["Document de suivi"])
    return rng.choice(options)


def _reply_title(original: DemoDocument) -> str:
    d = _fr(original.clinical_date)
    return {
        "courrier": f"Réponse à votre courrier du {d}",
        "lettre_liaison": f"Réponse à votre lettre de liaison du {d}",
        "cr_consultation": f"Retour sur la consultation du {d}",
        "biologie": f"Suite au bilan biologique du {d}",
        "cr_imagerie": f"Suite à l'examen d'imagerie du {d}",
        "cr_hospitalisation": f"Suivi après l'hospitalisation du {d}",
        "cr_operatoire": f"Suivi postopératoire – intervention du {d}",
        "ordonnance": f"Réponse concernant l'ordonnance du {d}",
    }.get(original.type_code, f"Réponse à votre envoi du {d}")


def _upload_times(rng: random.Random, n: int, days: int, now: datetime) -> list[float]:
    """``n`` upload ages in days, mostly on weekdays during office hours, oldest first."""
    now_fraction = (now.hour + now.minute / 60 + now.second / 3600) / 24
    today = now.date()
    ages: list[float] = []
    while len(ages) < n:
        offset = rng.randrange(days)
        weekday = (today - timedelta(days=offset)).weekday()
        if weekday >= 5 and rng.random() < 0.8:
            continue
        hour = rng.choice((8, 9, 9, 10, 10, 11, 11, 12, 13, 14, 14, 15, 16, 16, 17, 17, 18, 19))
        time_fraction = (hour + rng.random()) / 24
        age = offset + now_fraction - time_fraction
        if age < 0 or age >= days:
            continue
        ages.append(age)
    ages.sort(reverse=True)
    return ages


def make_documents(
    rng: random.Random,
    professionals: Sequence[DemoProfessional],
    patients: Sequence[DemoPatient],
    n: int = 1000,
    days: int = 60,
    *,
    now: datetime | None = None,
) -> list[DemoDocument]:
    """``n`` documents uploaded over the last ``days`` days, oldest first.

    Upload time is ``now - created_days_ago`` (pass the same ``now`` when loading them);
    the clinical date is on or before the upload date and never older than ``days`` days.
    Each patient has a care team (:func:`make_care_teams`); documents about a patient go
    between members of that team. About 10 % reply to an earlier document of the same
    patient: the replier is one of its recipients and writes back to its author.
    """
    if not patients:
        raise ValueError("A demo region needs patients to write documents about.")
    now = now or datetime.now(UTC)
    today = now.date()
    oldest = today - timedelta(days=days)
    teams = make_care_teams(rng, professionals, patients, today)
    kinds = [p.kind for p in professionals]
    in_hospital = [any(w in p.structure for w in _HOSPITAL_WORDS) for p in professionals]
    # Some patients see their professionals much more often than others.
    patient_weights = [
        rng.expovariate(1.0) * (1.5 if {0, 1, 2} & set(team) else 1.0) + 0.05 for team in teams
    ]
    patient_ids = list(range(len(patients)))
    ages = _upload_times(rng, n, days, now)
    documents: list[DemoDocument] = []
    for index, age in enumerate(ages):
        upload_date = (now - timedelta(days=age)).date()
        reply = _try_reply(rng, documents, ages, index, kinds, teams, upload_date)
        if reply is not None:
            documents.append(reply)
            continue
        p_idx = _weighted_choice(rng, patient_ids, patient_weights)
        team = teams[p_idx]
        author = _weighted_choice(rng, team, [_AUTHOR_WEIGHTS.get(kinds[i], 1.0) for i in team])
        type_weights = dict(_TYPE_WEIGHTS.get(kinds[author], {"courrier": 1.0}))
        if not in_hospital[author]:
            type_weights.pop("cr_hospitalisation", None)
        type_code = _weighted_choice(rng, list(type_weights), list(type_weights.values()))
        others = [i for i in team if i != author]
        count = min(len(others), _weighted_choice(rng, (1, 2, 3), (0.6, 0.3, 0.1)))
        gp = team[0]
        if author != gp:
            rest = [i for i in others if i != gp]
            recipients = [gp, *rng.sample(rest, count - 1)]
        else:
            recipients = rng.sample(others, count)
        delay = min(rng.randint(0, _MAX_DELAY.get(type_code, 2)), (upload_date - oldest).days)
        clinical_date = upload_date - timedelta(days=max(delay, 0))
        title = _title(
            rng, type_code, kinds[author], patients[p_idx], clinical_date, kinds[recipients[0]]
        )
        documents.append(
            DemoDocument(
                patient_index=p_idx,
                author_index=author,
                recipient_indexes=recipients,
                type_code=type_code,
                title=title,
                clinical_date=clinical_date,
                created_days_ago=age,
            )
        )
    return documents


_REPLIABLE = frozenset(
    {
        "courrier",
        "lettre_liaison",
        "cr_consultation",
        "biologie",
        "cr_imagerie",
        "cr_hospitalisation",
        "cr_operatoire",
        "ordonnance",
        "autre",
    }
)
_NON_REPLYING_KINDS = frozenset({"bio", "radio"})


def _try_reply(
    rng: random.Random,
    documents: list[DemoDocument],
    ages: list[float],
    index: int,
    kinds: list[str],
    teams: list[list[int]],
    upload_date: date,
) -> DemoDocument | None:
    """A reply to one of the documents of the previous weeks, about 10 % of the time."""
    if not documents or rng.random() >= 0.1:
        return None
    age = ages[index]
    candidates = [
        j
        for j in range(len(documents) - 1, -1, -1)
        if 0.05 <= ages[j] - age <= 21
        and documents[j].type_code in _REPLIABLE
        and documents[j].in_reply_to_index is None
        and any(kinds[r] not in _NON_REPLYING_KINDS for r in documents[j].recipient_indexes)
    ]
    if not candidates:
        return None
    j = rng.choice(candidates)
    original = documents[j]
    repliers = [r for r in original.recipient_indexes if kinds[r] not in _NON_REPLYING_KINDS]
    author = rng.choice(repliers)
    team = teams[original.patient_index]
    extra = [i for i in team if i not in (author, original.author_index)]
    recipients = [original.author_index]
    if extra and rng.random() < 0.3:
        recipients.append(rng.choice(extra))
    kind = kinds[author]
    if kind in PHYSICIAN_SPECIALISTS and rng.random() < 0.5:
        type_code = "cr_consultation"
    else:
        type_code = "courrier"
    clinical_date = max(original.clinical_date, upload_date - timedelta(days=rng.randint(0, 1)))
    if type_code == "cr_consultation":
        spec = _SPECS_BY_KIND[kind]
        title = f"Compte rendu de consultation {_de(spec.discipline)}"
    else:
        title = _reply_title(original)
    return DemoDocument(
        patient_index=original.patient_index,
        author_index=author,
        recipient_indexes=recipients,
        type_code=type_code,
        title=title,
        clinical_date=clinical_date,
        created_days_ago=ages[index],
        in_reply_to_index=j,
    )


# --------------------------------------------------------------------------- care teams


@dataclass(frozen=True)
class DemoMembership:
    """A declared care relationship: the professional attested it in these words."""

    patient_index: int
    professional_index: int
    context: str
    since_days_ago: float
    reason: str = "consultation"  # care_team.REASONS


def _care_context(professional: DemoProfessional, is_gp: bool) -> str:
    if is_gp:
        return "médecin traitant, suivi en médecine générale"
    spec = _SPECS_BY_KIND.get(professional.kind)
    return f"suivi en {spec.discipline}" if spec else "suivi régulier du patient"


def make_declared_members(
    professionals: Sequence[DemoProfessional],
    documents: Sequence[DemoDocument],
) -> list[DemoMembership]:
    """Who declared taking care of each patient, as real teams would have.

    The record is open to the care team only, and membership is declared, not derived from
    sending a document. So, per patient: the general practitioner most involved in its
    documents (the médecin traitant, or else the most involved professional), and every
    regular correspondent (two documents or more, written or received). A professional seen
    on a single document did not declare: they read that document only.
    """
    involvement: dict[int, dict[int, list[float]]] = {}
    for d in documents:
        per_pro = involvement.setdefault(d.patient_index, {})
        for i in (d.author_index, *d.recipient_indexes):
            per_pro.setdefault(i, []).append(d.created_days_ago)
    members: list[DemoMembership] = []
    for patient_index in sorted(involvement):
        per_pro = involvement[patient_index]
        ranked = sorted(per_pro, key=lambda i: (-len(per_pro[i]), i))
        gps = [i for i in ranked if professionals[i].kind == "mg"]
        lead = gps[0] if gps else ranked[0]
        for i in ranked:
            if i == lead or len(per_pro[i]) >= 2:
                members.append(
                    DemoMembership(
                        patient_index=patient_index,
                        professional_index=i,
                        context=_care_context(professionals[i], i == lead and bool(gps)),
                        # declared on their first document about the patient
                        since_days_ago=max(per_pro[i]),
                    )
                )
    return members

"""The documents of the demo region: who writes what to whom about which patient, and when.

* :func:`make_documents` - exchanges inside each patient's care team over the last days,
  in chronological order (index 0 is the oldest), about 10 % being replies.
* :func:`make_declared_members` - who declared taking care of each patient.

Like :mod:`sisra.platform.demo.region`, everything comes from a seeded
:class:`random.Random`: the same seed gives the same documents.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sisra.platform.demo.banks import load
from sisra.platform.demo.region import (
    _SPECS_BY_KIND,
    PHYSICIAN_SPECIALISTS,
    DemoDocument,
    DemoPatient,
    DemoProfessional,
    ProfessionSpec,
    _de,
    _weighted_choice,
    make_care_teams,
)

_TYPE_WEIGHTS: dict[str, dict[str, float]] = load("type_weights")

_AUTHOR_WEIGHTS: dict[str, float] = load("author_weights")

# How many days the clinical act may precede the upload, by type.
_MAX_DELAY: dict[str, int] = load("max_delay")

# Titles by the author's kind.
_PRESCRIPTION_TITLES: dict[str, tuple[str, ...]] = load("prescription_titles")
_OTHER_TITLES: dict[str, tuple[str, ...]] = load("other_titles")

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


def _title_cr_consultation(t: _TitleFacts) -> str:
    """Title of a « cr_consultation » document."""
    rng = t.rng
    kind = t.kind
    clinical_date = t.clinical_date
    discipline = t.discipline
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


def _title_biologie(t: _TitleFacts) -> str:
    """Title of a « biologie » document."""
    rng = t.rng
    patient = t.patient
    clinical_date = t.clinical_date
    age = t.age
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


def _title_cr_imagerie(t: _TitleFacts) -> str:
    """Title of a « cr_imagerie » document."""
    rng = t.rng
    kind = t.kind
    patient = t.patient
    age = t.age
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


def _title_cr_operatoire(t: _TitleFacts) -> str:
    """Title of a « cr_operatoire » document."""
    rng = t.rng
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


def _title_cr_hospitalisation(t: _TitleFacts) -> str:
    """Title of a « cr_hospitalisation » document."""
    rng = t.rng
    discipline = t.discipline
    return rng.choice(
        [
            f"Compte rendu d'hospitalisation en {discipline}",
            f"Compte rendu d'hospitalisation en {discipline}",
            f"Compte rendu d'hospitalisation de jour – {discipline}",
        ]
    )


def _title_lettre_liaison(t: _TitleFacts) -> str:
    """Title of a « lettre_liaison » document."""
    rng = t.rng
    kind = t.kind
    discipline = t.discipline
    age = t.age
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


def _title_ordonnance(t: _TitleFacts) -> str:
    """Title of a « ordonnance » document."""
    rng = t.rng
    kind = t.kind
    options = _PRESCRIPTION_TITLES.get(kind, ("Ordonnance",))
    return rng.choice(options)


def _title_courrier(t: _TitleFacts) -> str:
    """Title of a « courrier » document."""
    rng = t.rng
    kind = t.kind
    recipient_kind = t.recipient_kind
    spec = t.spec
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


def _title_autre(t: _TitleFacts) -> str:
    """Title of an « autre » document: what the author's profession produces."""
    rng = t.rng
    kind = t.kind
    options = _OTHER_TITLES.get(kind, ("Document de suivi",))
    return rng.choice(options)


@dataclass(frozen=True)
class _TitleFacts:
    """What a document's title depends on."""

    rng: random.Random
    kind: str  # the author's
    patient: DemoPatient
    clinical_date: date
    recipient_kind: str
    spec: ProfessionSpec | None
    discipline: str
    age: int


_TITLES: dict[str, Callable[[_TitleFacts], str]] = {
    "cr_consultation": _title_cr_consultation,
    "biologie": _title_biologie,
    "cr_imagerie": _title_cr_imagerie,
    "cr_operatoire": _title_cr_operatoire,
    "cr_hospitalisation": _title_cr_hospitalisation,
    "lettre_liaison": _title_lettre_liaison,
    "ordonnance": _title_ordonnance,
    "courrier": _title_courrier,
}


def _title(
    rng: random.Random,
    type_code: str,
    kind: str,
    patient: DemoPatient,
    clinical_date: date,
    recipient_kind: str,
) -> str:
    spec = _SPECS_BY_KIND.get(kind)
    facts = _TitleFacts(
        rng=rng,
        kind=kind,
        patient=patient,
        clinical_date=clinical_date,
        recipient_kind=recipient_kind,
        spec=spec,
        discipline=spec.discipline if spec else "médecine générale",
        age=patient.age_on(clinical_date),
    )
    return _TITLES.get(type_code, _title_autre)(facts)


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

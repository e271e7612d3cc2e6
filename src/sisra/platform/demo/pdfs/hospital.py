"""Hospitalisation reports and discharge letters (« lettre de liaison »)."""

from __future__ import annotations

from datetime import timedelta

from reportlab.lib.units import cm
from reportlab.platypus import Flowable, Spacer

from sisra.platform.demo.banks import load
from sisra.platform.demo.pdfs.clinical import (
    _ALLERGIES,
    _antecedents,
    _drug_table,
    _lifestyle,
    _treatment,
)
from sisra.platform.demo.pdfs.consultation import _closing, _greeting
from sisra.platform.demo.pdfs.context import _Ctx
from sisra.platform.demo.pdfs.layout import _bullets, _fr, _h, _kv, _lower_first, _num, _p, _table

_HOSPIT: dict[str, tuple[dict[str, str], ...]] = load("hospit")
_HOSPIT_DEFAULT: tuple[dict[str, str], ...] = load("hospit_default")


def _hospit_scenario(ctx: _Ctx) -> dict[str, str]:
    kind = ctx.kind if ctx.adult else "pedia"
    return ctx.rng.choice(list(_HOSPIT.get(kind, _HOSPIT_DEFAULT)))


def _body_hospitalisation(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    sc = _hospit_scenario(ctx)
    stay = rng.randint(2, 9)
    entry = ctx.day - timedelta(days=stay)
    service = ctx.author_profession
    return [
        _kv(
            "Séjour :", f"du {_fr(entry)} au {_fr(ctx.day)} ({stay} jours) – {ctx.author_structure}"
        ),
        _kv(
            "Mode d'entrée :",
            rng.choice(["par les urgences", "programmée", "transfert d'un autre établissement"]),
        ),
        _kv(
            "Mode de sortie :",
            rng.choice(
                [
                    "retour à domicile",
                    "retour à domicile avec passage infirmier",
                    "soins médicaux et de réadaptation",
                ]
            ),
        ),
        _kv("Service :", service),
        _h("Motif d'hospitalisation"),
        _p(sc["motif"] + "."),
        _h("Antécédents"),
        *_bullets(_antecedents(ctx)),
        _h("Histoire de la maladie"),
        _p(
            ctx.fill("{P}, âgé{e} de {age}, est hospitalisé{e} pour ")
            + _lower_first(sc["motif"])
            + ctx.one(
                (
                    ", dans un contexte d'aggravation progressive depuis une semaine.",
                    ", d'installation brutale la veille de l'admission.",
                    ", après échec de la prise en charge ambulatoire.",
                )
            )
        ),
        _h("Examen clinique à l'entrée"),
        _p(
            ctx.fill(
                "Pression artérielle {ta} mmHg, fréquence cardiaque {fc}/min, SpO2 {spo2} %, "
                "température {temp} °C, poids {poids} kg."
            )
        ),
        _h("Évolution dans le service"),
        _p(ctx.fill(sc["evol"])),
        _h("Examens complémentaires"),
        _table(
            [
                ["Examen", "Entrée", "Sortie"],
                ["Hémoglobine (g/dL)", ctx.w["hb"], _num(rng.uniform(10.5, 14.5), 1)],
                ["CRP (mg/L)", str(rng.randint(20, 190)), ctx.w["crp"]],
                ["Créatinine (µmol/L)", str(rng.randint(70, 160)), ctx.w["creat"]],
                ["Potassium (mmol/L)", _num(rng.uniform(3.3, 5.4), 1), ctx.w["k"]],
            ],
            [7.0 * cm, 5.0 * cm, 5.0 * cm],
        ),
        _h("Diagnostic principal"),
        _p(sc["diag"] + "."),
        _h("Traitement de sortie"),
        _drug_table(ctx, _treatment(ctx), status=True),
        _h("Suivi proposé"),
        *_bullets(
            rng.sample(
                [
                    "Consultation de suivi dans le service dans un mois.",
                    "Contrôle biologique (ionogramme, créatinine) dans une semaine par le laboratoire de "
                    "ville.",
                    "Consultation chez le médecin traitant dans les 7 jours suivant la sortie.",
                    "Passage infirmier quotidien pour la surveillance et l'aide à la prise des "
                    "traitements.",
                    "Kinésithérapie à domicile.",
                ],
                3,
            )
        ),
    ]


def _nurse_liaison(ctx: _Ctx) -> list[Flowable]:
    """From a nurse: the care to carry on at home."""
    return [
        _p(
            ctx.fill("Lettre de liaison concernant {civname}, {ne} le ")
            + _fr(ctx.birth_date)
            + ", suivi(e) à domicile par notre cabinet infirmier."
        ),
        _h("Soins en cours"),
        *_bullets(
            ctx.pick(
                (
                    "Préparation du pilulier hebdomadaire et aide à la prise des traitements.",
                    "Surveillance glycémique capillaire matin et soir, injection d'insuline le soir.",
                    "Pansement d'ulcère de jambe gauche tous les deux jours (surface {plaie} cm²).",
                    "Bas de contention posés le matin, retirés le soir.",
                    "Surveillance des paramètres : TA {ta} mmHg, FC {fc}/min, poids {poids} kg.",
                ),
                3,
            )
        ),
        _h("Autonomie et environnement"),
        _p(_lifestyle(ctx)),
        _h("Points de vigilance"),
        *_bullets(
            ctx.pick(
                (
                    "Risque de chute : deux chutes sans gravité au cours des trois derniers mois.",
                    "Appétit diminué, perte de 2 kg en un mois.",
                    "Troubles mnésiques débutants, oublis de traitement.",
                    "Douleur cotée {eva}/10 lors des soins de pansement.",
                ),
                2,
            )
        ),
        _h("Traitement en cours"),
        _drug_table(ctx, _treatment(ctx)),
    ]


def _gp_liaison(ctx: _Ctx) -> list[Flowable]:
    """From a GP: the patient's file for an admission."""
    rng = ctx.rng
    return [
        _p(f"{_greeting(ctx)}"),
        _p(
            ctx.fill(
                "Je vous adresse {civname}, âgé{e} de {age}, que je suis depuis "
                "plusieurs années. Vous trouverez ci-dessous les éléments utiles "
                "à sa prise en charge."
            )
        ),
        _h("Antécédents"),
        *_bullets(_antecedents(ctx)),
        _p(ctx.one(_ALLERGIES)),
        _h("Traitement en cours"),
        _drug_table(ctx, _treatment(ctx)),
        _h("Situation actuelle"),
        _p(_lifestyle(ctx)),
        _p(
            ctx.fill(
                "Dernières constantes : TA {ta} mmHg, FC {fc}/min, poids {poids} kg. "
                "Dernière HbA1c {hba1c} %, DFG {dfg} mL/min/1,73 m²."
            )
        ),
        _h("Directives anticipées et personne de confiance"),
        _p(
            rng.choice(
                (
                    "Des directives anticipées ont été rédigées ; une copie est jointe au dossier.",
                    "Pas de directives anticipées rédigées à ce jour ; le sujet a été abordé.",
                )
            )
            + " Personne de confiance désignée : "
            + rng.choice(("son fils.", "sa fille.", "son conjoint.", "sa sœur."))
        ),
        Spacer(1, 4),
        _p(_closing(ctx)),
    ]


def _discharge_liaison(ctx: _Ctx) -> list[Flowable]:
    """From a hospital department: the discharge."""
    rng = ctx.rng
    sc = _hospit_scenario(ctx)
    return [
        _p(
            ctx.fill(
                "{civname}, âgé{e} de {age}, a été pris{e} en charge dans notre service "
                "et sort ce jour, "
            )
            + _fr(ctx.day)
            + "."
        ),
        _h("Motif de prise en charge"),
        _p(sc["motif"] + "."),
        _h("Synthèse du séjour"),
        _p(ctx.fill(sc["evol"])),
        _h("Traitement de sortie"),
        _drug_table(ctx, _treatment(ctx), status=True),
        _h("Suites à donner"),
        *_bullets(
            rng.sample(
                [
                    "Consultation chez le médecin traitant dans les 7 jours.",
                    "Contrôle biologique à une semaine (NFS, ionogramme, créatinine).",
                    "Rendez-vous de consultation dans le service dans un mois (convocation envoyée).",
                    "Soins infirmiers à domicile : pansement tous les deux jours.",
                    "Compte rendu d'hospitalisation détaillé à suivre.",
                ],
                3,
            )
        ),
        _h("Points de vigilance"),
        _p(
            rng.choice(
                (
                    "Surveillance du poids : reconsulter en cas de prise de plus de 2 kg en 3 jours.",
                    "Risque hémorragique sous double antiagrégation plaquettaire.",
                    "Surveillance de la cicatrice et de la température.",
                )
            )
        ),
    ]


def _body_lettre_liaison(ctx: _Ctx) -> list[Flowable]:
    if ctx.kind == "ide":
        return _nurse_liaison(ctx)
    if ctx.kind == "mg":
        return _gp_liaison(ctx)
    return _discharge_liaison(ctx)

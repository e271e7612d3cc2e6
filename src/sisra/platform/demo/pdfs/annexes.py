"""The annexes that fill the pages after the letter: treatment, results, history..."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from reportlab.lib.units import cm
from reportlab.platypus import Flowable, Spacer

from sisra.platform.demo.banks import load
from sisra.platform.demo.pdfs.biology import _bio_table
from sisra.platform.demo.pdfs.clinical import (
    _ALLERGIES,
    _COLLEAGUES,
    _antecedents,
    _lifestyle,
    _treatment,
)
from sisra.platform.demo.pdfs.context import _Ctx
from sisra.platform.demo.pdfs.furniture import _phone
from sisra.platform.demo.pdfs.layout import _SMALL, _SMALL_KEEP, _bullets, _fr, _h, _num, _p, _table


def _annex_treatment(ctx: _Ctx) -> list[Flowable]:
    drugs = _treatment(ctx)
    rows = [["Médicament", "Matin", "Midi", "Soir", "Coucher", "Depuis"]]
    for name, _pos in drugs:
        slots = ctx.rng.choice(
            [
                ("1", "", "", ""),
                ("", "", "1", ""),
                ("1", "", "1", ""),
                ("1", "1", "1", ""),
                ("", "", "", "1"),
                ("½", "", "", ""),
            ]
        )
        since = ctx.day - timedelta(days=ctx.rng.randint(20, 2500))
        rows.append([name, *slots, f"{since:%m/%Y}"])
    return [
        _h("Plan de prise des médicaments"),
        _table(rows, [6.4 * cm, 1.8 * cm, 1.8 * cm, 1.8 * cm, 2.0 * cm, 3.2 * cm]),
        Spacer(1, 6),
        _p(
            "Ce plan de prise reprend les traitements connus à la date du document. Signalez "
            "toute automédication à votre médecin ou à votre pharmacien.",
            _SMALL,
        ),
    ]


def _annex_biology(ctx: _Ctx) -> list[Flowable]:
    previous = ctx.day - timedelta(days=ctx.rng.randint(60, 300))
    keys = ctx.rng.sample(["nfs", "iono", "hepat", "lipid", "gly", "thyro", "fer"], 2)
    out: list[Flowable] = [
        _h("Derniers résultats biologiques disponibles"),
        _p(f"Antériorité : résultats du {_fr(previous)}.", _SMALL_KEEP),
    ]
    for key in keys:
        out += _bio_table(ctx, key, previous)
    return out


def _annex_history(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    rows = [["Date", "Professionnel", "Motif", "Conclusion"]]
    d = ctx.day
    for _ in range(rng.randint(7, 11)):
        d -= timedelta(days=rng.randint(20, 120))
        rows.append(
            [
                _fr(d),
                rng.choice(_COLLEAGUES),
                rng.choice(
                    [
                        "Suivi",
                        "Renouvellement",
                        "Bilan annuel",
                        "Douleur",
                        "Vaccination",
                        "Résultats d'examens",
                        "Consultation post-hospitalisation",
                    ]
                ),
                rng.choice(
                    [
                        "Stable",
                        "Adaptation du traitement",
                        "Examens prescrits",
                        "Avis demandé",
                        "Sans particularité",
                    ]
                ),
            ]
        )
    return [
        _h("Historique des consultations"),
        _table(rows, [2.4 * cm, 4.6 * cm, 5.0 * cm, 5.0 * cm]),
    ]


def _annex_vitals(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    rows = [["Date", "PA (mmHg)", "FC (/min)", "Poids (kg)", "SpO2 (%)", "Température (°C)"]]
    d = ctx.day - timedelta(days=rng.randint(60, 200))
    weight = float(ctx.w["poids"])
    spread = 2.0 if ctx.adult else 0.4
    systolic, diastolic, pulse = (
        ((110, 160), (60, 95), (55, 100)) if ctx.adult else ((92, 118), (52, 72), (75, 120))
    )
    for _ in range(rng.randint(8, 12)):
        rows.append(
            [
                _fr(d),
                f"{rng.randint(*systolic)}/{rng.randint(*diastolic)}",
                str(rng.randint(*pulse)),
                _num(weight + rng.uniform(-spread, spread), 1),
                str(rng.randint(95, 99)),
                _num(rng.uniform(36.3, 37.8), 1),
            ]
        )
        d += timedelta(days=rng.randint(5, 20))
    return [
        _h("Surveillance des paramètres"),
        _table(rows, [2.6 * cm, 2.8 * cm, 2.4 * cm, 2.6 * cm, 2.6 * cm, 4.0 * cm]),
    ]


_ADVICE: tuple[str, ...] = load("advice")


def _annex_advice(ctx: _Ctx) -> list[Flowable]:
    return [
        _h("Informations et conseils remis au patient"),
        _p(
            ctx.fill(
                "Ces conseils ont été expliqués à {civname} et, le cas échéant, à son entourage."
            )
        ),
        *_bullets(ctx.rng.sample(list(_ADVICE), ctx.rng.randint(6, 9))),
        Spacer(1, 6),
        _h("Contacts utiles"),
        _table(
            [
                ["Service", "Téléphone", "Horaires"],
                ["Secrétariat", _phone(ctx.rng), "Du lundi au vendredi, 8h30 – 18h"],
                ["Infirmière de coordination", _phone(ctx.rng), "Du lundi au vendredi, 9h – 17h"],
                ["Permanence des soins", "116 117", "Soirs, week-ends et jours fériés"],
                ["SAMU", "15", "24 heures sur 24"],
            ],
            [5.5 * cm, 3.5 * cm, 8.0 * cm],
        ),
    ]


def _annex_antecedents(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    family = rng.sample(
        [
            "Père : infarctus du myocarde à 58 ans.",
            "Mère : diabète de type 2.",
            "Sœur : cancer du sein à 52 ans.",
            "Frère : hypertension artérielle.",
            "Pas d'antécédent familial notable.",
            "Grand-père paternel : cancer colorectal.",
        ],
        2,
    )
    return [
        _h("Antécédents détaillés"),
        _p("Antécédents personnels :"),
        *_bullets(_antecedents(ctx)),
        _p("Antécédents familiaux :"),
        *_bullets(family),
        _p(
            "Vaccinations : "
            + rng.choice(
                (
                    "à jour, rappel diphtérie-tétanos-poliomyélite à prévoir.",
                    "grippe saisonnière et COVID-19 réalisées cet automne.",
                    "calendrier vaccinal à jour.",
                )
            )
        ),
        _p("Allergies : " + ctx.one(_ALLERGIES)),
        _h("Mode de vie"),
        _p(_lifestyle(ctx)),
    ]


def _annex_devices(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    t = ctx.title_l
    devices: list[tuple[str, str]] = []
    if "hanche" in t and "prothèse" in t:
        devices = [
            ("Cupule double mobilité", "52"),
            ("Tige fémorale sans ciment", "4"),
            ("Tête céramique", "28 mm"),
            ("Insert polyéthylène", "52/28"),
        ]
    elif "genou" in t and "prothèse" in t:
        devices = [
            ("Implant fémoral cimenté", "4"),
            ("Plateau tibial cimenté", "3"),
            ("Insert polyéthylène", "10 mm"),
            ("Ciment orthopédique", "40 g"),
        ]
    elif "ostéosynthèse" in t and "ablation" not in t:
        devices = [
            ("Plaque radius distal verrouillée", "3 trous"),
            ("Vis corticale verrouillée", "2,4 × 20 mm"),
            ("Vis épiphysaire verrouillée", "2,4 × 22 mm"),
        ]
    elif "coiffe" in t:
        devices = [("Ancre résorbable double fil", "4,5 mm"), ("Ancre sans nœud", "4,75 mm")]
    if devices:
        rows = [["Dispositif", "Fabricant", "Référence", "Lot", "Taille"]]
        for name, size in devices:
            rows.append(
                [
                    name,
                    rng.choice(["Orthoalpes", "Lyon Implant", "Médiforme"]),
                    f"REF-{rng.randint(10000, 99999)}",
                    f"L{rng.randint(100000, 999999)}",
                    size,
                ]
            )
        tracing: Flowable = _table(rows, [5.6 * cm, 3.0 * cm, 3.0 * cm, 3.0 * cm, 2.4 * cm])
    else:
        tracing = _p("Aucun dispositif médical implantable posé au cours de l'intervention.")
    return [
        _h("Traçabilité des dispositifs médicaux implantables"),
        tracing,
        Spacer(1, 6),
        _h("Consignes postopératoires"),
        *_bullets(
            [
                *rng.sample(list(_ADVICE), 4),
                "Surveillez la cicatrice : rougeur, écoulement ou fièvre doivent faire consulter.",
                "Ne mouillez pas le pansement pendant les 10 premiers jours.",
            ]
        ),
    ]


def _annex_imaging(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    return [
        _h("Informations techniques et dosimétrie"),
        _table(
            [
                ["Élément", "Valeur"],
                [
                    "Appareil",
                    rng.choice(
                        [
                            "Scanner 64 barrettes",
                            "IRM 1,5 T",
                            "Échographe haut de gamme",
                            "Table de radiologie numérique",
                        ]
                    ),
                ],
                [
                    "Produit de contraste",
                    rng.choice(["Aucun", "Iohexol 350, 80 mL", "Gadotérate, 15 mL"]),
                ],
                ["Produit dose-longueur (PDL)", f"{rng.randint(0, 650)} mGy.cm"],
                ["Niveau de référence diagnostique", "respecté"],
                ["Archivage", "PACS régional, accès sécurisé"],
            ],
            [7 * cm, 10 * cm],
        ),
        _h("Comparaison et recommandations"),
        _p(
            rng.choice(
                (
                    "Comparaison avec l'examen du "
                    + _fr(ctx.day - timedelta(days=rng.randint(200, 900)))
                    + " : pas d'évolution significative.",
                    "Pas d'examen antérieur disponible.",
                )
            )
        ),
        _p(
            "Les recommandations de suivi sont données à titre indicatif et doivent être "
            "confrontées au contexte clinique par le médecin demandeur."
        ),
    ]


def _annex_exams(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    pool = [
        ("Électrocardiogramme", "Rythme sinusal, pas de trouble de la repolarisation"),
        ("Radiographie du thorax", "Pas d'anomalie pleuro-parenchymateuse"),
        ("Échographie abdominale", "Stéatose hépatique modérée"),
        ("Échocardiographie", f"FEVG {ctx.w['fevg']} %, pas de valvulopathie significative"),
        ("Spirométrie", f"VEMS {ctx.w['vems']} % de la théorique"),
        ("Fond d'œil", "Pas de rétinopathie"),
        ("Ostéodensitométrie", "Ostéopénie (T-score -1,8 DS)"),
        ("Coloscopie", "Polype hyperplasique réséqué"),
        ("Mammographie", "ACR 2"),
        ("Échodoppler des membres inférieurs", "Pas de thrombose"),
    ]
    rows = [["Date", "Examen", "Résultat principal"]]
    d = ctx.day
    for name, result in rng.sample(pool, rng.randint(5, 8)):
        d -= timedelta(days=rng.randint(30, 400))
        rows.append([_fr(d), name, result])
    return [_h("Examens complémentaires antérieurs"), _table(rows, [2.4 * cm, 5.6 * cm, 9.0 * cm])]


def _annex_scores(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    if ctx.adult and ctx.age >= 70:
        rows = [
            ["Échelle", "Score", "Interprétation"],
            ["ADL de Katz", f"{rng.randint(4, 6)}/6", "Autonomie partielle à complète"],
            ["IADL de Lawton", f"{rng.randint(3, 8)}/8", "Aide pour les activités complexes"],
            ["MNA (dépistage)", f"{rng.randint(8, 14)}/14", "Risque de dénutrition"],
            ["MMSE", f"{rng.randint(22, 30)}/30", "À confronter au niveau d'études"],
            ["Timed Up and Go", f"{rng.randint(9, 22)} secondes", "Risque de chute évalué"],
            ["Douleur (EVA)", f"{ctx.w['eva']}/10", "Douleur modérée"],
        ]
    elif ctx.adult:
        rows = [
            ["Échelle", "Score", "Interprétation"],
            ["Douleur (EVA)", f"{ctx.w['eva']}/10", "Douleur modérée"],
            ["Epworth (somnolence)", f"{rng.randint(4, 16)}/24", "Somnolence diurne évaluée"],
            ["PHQ-9 (humeur)", f"{rng.randint(2, 14)}/27", "Symptômes dépressifs légers"],
            ["AUDIT-C (alcool)", f"{rng.randint(0, 6)}/12", "Consommation à risque faible"],
            ["Score de risque SCORE2", f"{rng.randint(3, 14)} %", "Risque cardiovasculaire"],
        ]
    else:
        rows = [
            ["Repère", "Résultat", "Commentaire"],
            ["Poids", f"{ctx.w['poids']} kg", "Courbe régulière"],
            ["Taille", f"{ctx.w['taille']} cm", "Couloir habituel"],
            ["Développement psychomoteur", "Conforme", "Acquisitions de l'âge présentes"],
            ["Audition et vision", "Normales", "Dépistage réalisé"],
        ]
    return [_h("Scores et échelles d'évaluation"), _table(rows, [5.5 * cm, 3.5 * cm, 8.0 * cm])]


def _annex_vaccinations(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    if ctx.adult:
        pool = [
            "Diphtérie, tétanos, poliomyélite",
            "Grippe saisonnière",
            "COVID-19",
            "Pneumocoque (vaccin conjugué)",
            "Zona (vaccin recombinant)",
            "Hépatite B",
            "Coqueluche (rappel)",
        ]
    else:
        pool = [
            "Hexavalent (DTCaP-Hib-HepB)",
            "Pneumocoque",
            "Méningocoque C",
            "Rougeole, oreillons, rubéole",
            "Méningocoque B",
            "Rotavirus",
        ]
    rows = [["Vaccin", "Date", "Lot", "Statut"]]
    for name in rng.sample(pool, min(len(pool), rng.randint(4, 6))):
        d = ctx.day - timedelta(days=rng.randint(30, 3000))
        rows.append(
            [
                name,
                _fr(d),
                f"{rng.choice('ABCDEFGHKLMT')}{rng.randint(1000, 9999)}",
                rng.choice(["À jour", "À jour", "Rappel à prévoir"]),
            ]
        )
    return [_h("Vaccinations"), _table(rows, [7.0 * cm, 3.0 * cm, 3.0 * cm, 4.0 * cm])]


_ANNEXES: dict[str, tuple[Callable[[_Ctx], list[Flowable]], ...]] = {
    "cr_consultation": (_annex_biology, _annex_treatment, _annex_history, _annex_advice),
    "biologie": (_annex_biology, _annex_history, _annex_advice),
    "cr_imagerie": (_annex_imaging, _annex_exams, _annex_history, _annex_antecedents),
    "cr_operatoire": (_annex_devices, _annex_treatment, _annex_vitals, _annex_advice),
    "cr_hospitalisation": (_annex_biology, _annex_treatment, _annex_vitals, _annex_advice),
    "lettre_liaison": (_annex_treatment, _annex_antecedents, _annex_scores, _annex_vitals),
    "ordonnance": (_annex_treatment, _annex_advice, _annex_history),
    "courrier": (_annex_antecedents, _annex_biology, _annex_history, _annex_exams),
    "autre": (_annex_vitals, _annex_treatment, _annex_antecedents, _annex_advice),
}
_GENERAL_ANNEXES: tuple[Callable[[_Ctx], list[Flowable]], ...] = (
    _annex_treatment,
    _annex_biology,
    _annex_history,
    _annex_vitals,
    _annex_antecedents,
    _annex_exams,
    _annex_scores,
    _annex_vaccinations,
    _annex_advice,
)


def _annex_makers(type_code: str) -> list[Callable[[_Ctx], list[Flowable]]]:
    preferred = _ANNEXES.get(type_code, _ANNEXES["autre"])
    return [*preferred, *(m for m in _GENERAL_ANNEXES if m not in preferred)]

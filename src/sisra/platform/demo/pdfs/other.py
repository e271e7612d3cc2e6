"""Other documents (« autre »): ECG, effort tests, certificates, education, prenatal..."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from reportlab.lib.units import cm
from reportlab.platypus import Flowable

from sisra.platform.demo.pdfs.clinical import _treatment
from sisra.platform.demo.pdfs.consultation import _CONSULT
from sisra.platform.demo.pdfs.context import _Ctx
from sisra.platform.demo.pdfs.hospital import _body_lettre_liaison
from sisra.platform.demo.pdfs.layout import _bullets, _fr, _h, _num, _p, _table


def _concluded(
    ctx: _Ctx, rows: list[list[str]], widths: list[float], conclusions: tuple[str, ...]
) -> list[Flowable]:
    """A measurement's report ends the same way: its table of results, then a conclusion
    drawn from its bank (after the table's values: the draws keep their order)."""
    return [_table(rows, widths), _h("Conclusion"), _p(ctx.rng.choice(conclusions))]


def _rhythm(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    return [
        _h("Indication"),
        _p(
            ctx.one(
                (
                    "Palpitations.",
                    "Bilan préopératoire.",
                    "Surveillance d'un traitement antiarythmique.",
                )
            )
        ),
        _h("Résultats"),
        *_concluded(
            ctx,
            [
                ["Paramètre", "Valeur"],
                ["Rythme", "Sinusal"],
                ["Fréquence moyenne", f"{ctx.w['fc']}/min"],
                [
                    "Fréquence minimale / maximale",
                    f"{rng.randint(45, 58)} / {rng.randint(105, 140)}/min",
                ],
                [
                    "Extrasystoles ventriculaires",
                    f"{rng.randint(0, 900)} (isolées, monomorphes)",
                ],
                ["Extrasystoles supraventriculaires", f"{rng.randint(0, 400)}"],
                ["Pauses supérieures à 2,5 s", "Aucune"],
                ["Espace PR", f"{rng.randint(140, 200)} ms"],
                ["QRS", f"{rng.randint(80, 110)} ms"],
                ["QTc", f"{rng.randint(400, 450)} ms"],
            ],
            [8 * cm, 9 * cm],
            (
                "Enregistrement sans trouble du rythme ni de la conduction significatif.",
                "Extrasystolie ventriculaire peu abondante, sans corrélation avec les symptômes.",
                "Deux accès de fibrillation atriale paroxystique asymptomatiques.",
            ),
        ),
    ]


def _effort_test(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    return [
        _h("Protocole"),
        _p(
            "Épreuve d'effort sur bicyclette ergométrique, paliers de 30 W "
            "toutes les 2 minutes, sous traitement habituel."
        ),
        _h("Résultats"),
        *_concluded(
            ctx,
            [
                ["Paramètre", "Repos", "Pic d'effort"],
                ["Fréquence cardiaque (/min)", ctx.w["fc"], str(rng.randint(130, 165))],
                [
                    "Pression artérielle (mmHg)",
                    ctx.w["ta"],
                    f"{rng.randint(170, 205)}/{rng.randint(80, 95)}",
                ],
                ["Puissance (W)", "0", str(rng.choice([120, 150, 180, 210]))],
                ["Fréquence maximale théorique atteinte", "", f"{rng.randint(82, 98)} %"],
            ],
            [8 * cm, 4.5 * cm, 4.5 * cm],
            (
                "Épreuve d'effort maximale, cliniquement et électriquement négative.",
                "Épreuve sous-maximale, non conclusive ; une scintigraphie myocardique est "
                "proposée.",
            ),
        ),
    ]


def _blood_pressure(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    return [
        _h("Résultats de la mesure ambulatoire sur 24 heures"),
        *_concluded(
            ctx,
            [
                ["Période", "PA moyenne (mmHg)", "FC moyenne (/min)", "Mesures valides"],
                [
                    "24 heures",
                    f"{rng.randint(125, 150)}/{rng.randint(75, 92)}",
                    ctx.w["fc"],
                    f"{rng.randint(85, 98)} %",
                ],
                [
                    "Diurne",
                    f"{rng.randint(130, 155)}/{rng.randint(78, 95)}",
                    str(int(ctx.w["fc"]) + 4),
                    "",
                ],
                [
                    "Nocturne",
                    f"{rng.randint(112, 138)}/{rng.randint(65, 82)}",
                    str(int(ctx.w["fc"]) - 8),
                    "",
                ],
            ],
            [4.2 * cm, 4.4 * cm, 4.2 * cm, 4.2 * cm],
            (
                "Hypertension artérielle diurne confirmée, profil dipper conservé.",
                "Pression artérielle contrôlée sur les 24 heures sous traitement.",
            ),
        ),
    ]


def _lung_function(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    cvf = rng.randint(70, 105)
    return [
        _h("Spirométrie et pléthysmographie"),
        *_concluded(
            ctx,
            [
                ["Paramètre", "Mesuré", "% théorique", "Après bronchodilatateur"],
                [
                    "VEMS (L)",
                    _num(rng.uniform(1.2, 3.4), 2),
                    ctx.w["vems"] + " %",
                    f"+{rng.randint(2, 14)} %",
                ],
                [
                    "CVF (L)",
                    _num(rng.uniform(2.2, 4.6), 2),
                    f"{cvf} %",
                    f"+{rng.randint(1, 9)} %",
                ],
                ["VEMS/CVF", ctx.w["tiff"] + " %", "", ""],
                ["CPT (L)", _num(rng.uniform(4.5, 7.5), 2), f"{rng.randint(90, 125)} %", ""],
                ["DLCO", "", f"{rng.randint(55, 95)} %", ""],
            ],
            [4.5 * cm, 3.6 * cm, 3.6 * cm, 5.3 * cm],
            (
                "Trouble ventilatoire obstructif non réversible, compatible avec une BPCO.",
                "Trouble ventilatoire obstructif significativement réversible, évocateur d'asthme.",
                "Explorations fonctionnelles respiratoires normales.",
            ),
        ),
    ]


def _sleep_study(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    return [
        _h("Résultats de l'enregistrement nocturne"),
        _table(
            [
                ["Paramètre", "Valeur"],
                [
                    "Durée d'enregistrement valide",
                    f"{rng.randint(6, 8)} h {rng.randint(0, 59):02d}",
                ],
                ["Index d'apnées-hypopnées", f"{ctx.w['iah']}/h"],
                ["Index de désaturation en oxygène", f"{ctx.w['desat']}/h"],
                [
                    "SpO2 moyenne / minimale",
                    f"{rng.randint(92, 95)} % / {rng.randint(78, 88)} %",
                ],
                ["Apnées à prédominance", "obstructive"],
            ],
            [9 * cm, 8 * cm],
        ),
        _h("Conclusion"),
        _p(
            f"Syndrome d'apnées obstructives du sommeil "
            f"{'sévère' if int(ctx.w['iah']) >= 30 else 'modéré'} ; "
            "une pression positive continue est indiquée."
        ),
    ]


def _endoscopy(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    t = ctx.title_l
    colo = "coloscopie" in t
    return [
        _h("Indication"),
        _p(
            rng.choice(
                (
                    "Test immunologique positif.",
                    "Rectorragies.",
                    "Épigastralgies persistantes.",
                    "Anémie ferriprive.",
                )
            )
        ),
        _h("Conditions"),
        _p(
            "Examen sous anesthésie générale. "
            + (
                f"Préparation de bonne qualité (score de Boston {rng.randint(6, 9)}/9). "
                "Intubation caecale confirmée par la visualisation de la valvule et de "
                "l'orifice appendiculaire."
                if colo
                else "Examen complet jusqu'au deuxième duodénum."
            )
        ),
        _h("Description"),
        *_bullets(
            rng.sample(
                [
                    "Polype sessile de 8 mm du côlon sigmoïde, réséqué à l'anse froide, récupéré."
                    if colo
                    else "Gastrite érythémateuse antrale ; biopsies selon le protocole de Sydney.",
                    "Diverticulose sigmoïdienne non compliquée."
                    if colo
                    else "Hernie hiatale par glissement de 2 cm.",
                    "Hémorroïdes internes de stade 2."
                    if colo
                    else "Œsophagite peptique de grade A de Los Angeles.",
                    "Muqueuse colique normale par ailleurs."
                    if colo
                    else "Bulbe et deuxième duodénum normaux.",
                ],
                3,
            )
        ),
        _h("Conclusion"),
        _p(
            "Résultats anatomopathologiques à suivre ; "
            + rng.choice(
                (
                    "prochaine coloscopie de surveillance dans 3 à 5 ans selon l'histologie.",
                    "traitement par inhibiteur de la pompe à protons pour 8 semaines.",
                    "recherche d'Helicobacter pylori sur les biopsies.",
                )
            )
        ),
    ]


def _wound(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    rows = [["Date", "Surface (cm²)", "Aspect", "Pansement", "Douleur (EVA)"]]
    d = ctx.day - timedelta(days=18)
    surface = float(ctx.w["plaie"].replace(",", "."))
    for _ in range(7):
        rows.append(
            [
                _fr(d),
                _num(surface, 1),
                rng.choice(
                    [
                        "Fibrineux 50 %",
                        "Bourgeonnant",
                        "Fibrineux 30 %",
                        "Épidermisation des berges",
                    ]
                ),
                rng.choice(["Hydrocolloïde", "Alginate", "Interface + compresses"]),
                f"{rng.randint(1, 6)}/10",
            ]
        )
        d += timedelta(days=3)
        surface = max(surface * rng.uniform(0.82, 0.98), 0.3)
    return [
        _p(
            ctx.fill(
                "Suivi de l'ulcère veineux de la jambe gauche de {civname}. Soins "
                "réalisés à domicile tous les trois jours."
            )
        ),
        _h("Évolution de la plaie"),
        _table(rows, [2.4 * cm, 2.6 * cm, 5.0 * cm, 4.4 * cm, 2.6 * cm]),
        _h("Observations"),
        _p(
            ctx.one(
                (
                    "Évolution favorable, diminution progressive de la surface, pas de signe "
                    "d'infection.",
                    "Stagnation de la cicatrisation ; un avis médical est "
                    "souhaité pour adapter la prise en charge.",
                )
            )
        ),
    ]


def _glucose(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    rows = [["Date", "Réveil (g/L)", "Avant déjeuner", "Avant dîner", "Coucher", "Insuline"]]
    d = ctx.day - timedelta(days=13)
    for _ in range(14):
        rows.append(
            [_fr(d)]
            + [_num(rng.uniform(0.9, 2.4), 2) for _ in range(4)]
            + [f"{rng.randint(14, 20)} UI"]
        )
        d += timedelta(days=1)
    return [
        _p(
            ctx.fill(
                "Relevé des glycémies capillaires de {civname} réalisées lors des "
                "passages infirmiers."
            )
        ),
        _table(rows, [2.6 * cm, 2.8 * cm, 2.9 * cm, 2.8 * cm, 2.5 * cm, 3.4 * cm], font_size=8.2),
        _h("Commentaire"),
        _p(
            "Glycémies du soir régulièrement au-dessus de l'objectif ; pas d'hypoglycémie "
            "relevée. Une adaptation du traitement est à discuter."
        ),
    ]


def _rehabilitation(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    return [
        _h("Bilan de fin de rééducation"),
        _table(
            [
                ["Critère", "Bilan initial", "Bilan final"],
                ["Douleur (EVA)", f"{rng.randint(5, 8)}/10", f"{rng.randint(0, 3)}/10"],
                ["Flexion active", f"{rng.randint(60, 90)}°", f"{ctx.w['flexion']}°"],
                ["Périmètre de marche", f"{rng.randint(100, 400)} m", "illimité"],
                ["Escaliers", "avec rampe, marche par marche", "alternés sans appui"],
                ["Test de Tinetti", f"{rng.randint(14, 20)}/28", f"{rng.randint(23, 28)}/28"],
            ],
            [6 * cm, 5.5 * cm, 5.5 * cm],
        ),
        _h("Conclusion"),
        _p(
            f"Après {ctx.w['seances']} séances, les objectifs fixés sont atteints. "
            "Un programme d'auto-exercices a été remis."
        ),
    ]


def _reconciliation(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    drugs = _treatment(ctx)
    rows = [["Médicament", "Matin", "Midi", "Soir", "Coucher"]]
    for d_name, _pos in drugs:
        rows.append([d_name] + [rng.choice(["1", "", "", "½"]) for _ in range(4)])
    return [
        _p(
            ctx.fill(
                "Médicaments de {civname} après vérification croisée de l'ordonnance "
                "de sortie, de l'historique de délivrance et de l'entretien."
            )
        ),
        _table(rows, [7.0 * cm, 2.5 * cm, 2.5 * cm, 2.5 * cm, 2.5 * cm]),
        _h("Divergences relevées"),
        *_bullets(
            rng.sample(
                [
                    "Oméprazole présent avant l'hospitalisation, absent de l'ordonnance de sortie : "
                    "arrêt volontaire à confirmer.",
                    "Dosage de la statine différent entre l'ordonnance de ville et l'ordonnance de "
                    "sortie.",
                    "Automédication par ibuprofène signalée : déconseillée avec le traitement en "
                    "cours.",
                    "Aucune divergence non documentée.",
                ],
                2,
            )
        ),
    ]


def _nursing(ctx: _Ctx) -> list[Flowable]:
    return _body_lettre_liaison(ctx)


def _growth(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    rows = [["Âge", "Poids (kg)", "Taille (cm)", "IMC (kg/m²)", "Périmètre crânien (cm)"]]
    for months in (1, 4, 9, 12, 24, 36):
        weight = 4 + months * 0.35 if months <= 12 else 9.5 + (months - 12) * 0.2
        height = 54 + months * 2 if months <= 12 else 75 + (months - 12) * 0.8
        rows.append(
            [
                f"{months} mois",
                _num(weight * rng.uniform(0.95, 1.05), 1),
                _num(height * rng.uniform(0.98, 1.02), 1),
                _num(weight / (height / 100) ** 2, 1),
                _num(35 + months**0.5 * 2, 1),
            ]
        )
    return [
        _h("Suivi de croissance"),
        _table(rows, [3 * cm, 3 * cm, 3 * cm, 3 * cm, 5 * cm]),
        _h("Développement"),
        _p(
            "Acquisitions psychomotrices conformes à l'âge. Vaccinations à jour. Dépistage "
            "auditif et visuel sans anomalie."
        ),
    ]


def _certificate(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    return [
        _p(
            ctx.fill(
                "Je soussigné(e), {author}, certifie avoir examiné ce jour {civname}, {ne} le "
            )
            + _fr(ctx.birth_date)
            + "."
        ),
        _p(
            rng.choice(
                (
                    "L'examen clinique ne révèle pas de contre-indication à la pratique du sport "
                    "en compétition, hors sports à contraintes particulières.",
                    "Son état de santé nécessite un aménagement de poste pendant un mois.",
                    "L'examen clinique est normal pour l'âge ; la croissance et le développement "
                    "sont harmonieux.",
                )
            )
        ),
        _p(
            "Certificat établi à la demande de l'intéressé(e) et remis en main propre "
            "pour servir et valoir ce que de droit."
        ),
    ]


def _education(ctx: _Ctx) -> list[Flowable]:
    return [
        _h("Bilan éducatif partagé"),
        *_bullets(
            ctx.pick(
                (
                    "Connaissances sur la maladie : bonnes, explique correctement le rôle de l'HbA1c.",
                    "Autosurveillance glycémique maîtrisée, lecture du capteur acquise.",
                    "Adaptation des doses d'insuline : partiellement acquise, à renforcer.",
                    "Reconnaissance et resucrage des hypoglycémies : acquis.",
                    "Équilibre alimentaire : comptage des glucides à approfondir.",
                ),
                4,
            )
        ),
        _h("Objectifs fixés"),
        *_bullets(
            [
                "Marche 30 minutes par jour.",
                "Tenue d'un carnet alimentaire pendant deux semaines.",
                "Atelier collectif « Insuline et activité physique » le mois prochain.",
            ]
        ),
    ]


def _prenatal(ctx: _Ctx) -> list[Flowable]:
    return [
        _h("Entretien prénatal précoce"),
        _p(ctx.fill("Entretien réalisé avec {civname} à {sa} semaines d'aménorrhée.")),
        *_bullets(
            ctx.pick(
                (
                    "Projet de naissance discuté : souhait d'un accouchement physiologique.",
                    "Situation sociale stable, logement adapté, conjoint présent.",
                    "Pas de consommation de tabac ni d'alcool pendant la grossesse.",
                    "Fatigue et anxiété modérées ; soutien proposé.",
                    "Orientation vers les séances de préparation à la naissance.",
                ),
                4,
            )
        ),
    ]


def _follow_up(ctx: _Ctx) -> list[Flowable]:
    return [
        _p(ctx.fill("Document de suivi concernant {civname}, âgé{e} de {age}.")),
        _h("Observations"),
        _p(" ".join(ctx.pick(_CONSULT["mg"]["histoire"], 3))),
        _h("Conduite à tenir"),
        *_bullets(ctx.pick(_CONSULT["mg"]["cat"], 2)),
    ]


# The first entry whose words appear in the title (lower case) writes the body.
_BY_TITLE: tuple[tuple[tuple[str, ...], Callable[[_Ctx], list[Flowable]]], ...] = (
    (("électrocardiogramme", "holter ecg"), _rhythm),
    (("effort",), _effort_test),
    (("mapa", "tensionnel"), _blood_pressure),
    (("respiratoire",), _lung_function),
    (("polygraphie",), _sleep_study),
    (("coloscopie", "gastroscopie"), _endoscopy),
    (("plaie",), _wound),
    (("glycémique",), _glucose),
    (("rééducation",), _rehabilitation),
    (("conciliation", "plan de prise"), _reconciliation),
    (("soins infirmiers",), _nursing),
    (("croissance", "certificat de santé"), _growth),
    (("certificat",), _certificate),
    (("éducation",), _education),
    (("prénatal",), _prenatal),
)


def _body_autre(ctx: _Ctx) -> list[Flowable]:
    for words, body in _BY_TITLE:
        if any(word in ctx.title_l for word in words):
            return body(ctx)
    return _follow_up(ctx)

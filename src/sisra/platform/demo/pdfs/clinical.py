"""Clinical content shared by every kind of letter: antecedents, treatments, way of life."""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.lib.units import cm
from reportlab.platypus import Flowable

from sisra.platform.demo.banks import load
from sisra.platform.demo.pdfs.context import _Ctx
from sisra.platform.demo.pdfs.layout import _table

_STREETS: tuple[str, ...] = load("streets")
_POSTCODES: dict[str, tuple[str, ...]] = load("postcodes")
_COLLEAGUES: tuple[str, ...] = load("colleagues")
_NURSES: tuple[str, ...] = load("nurses")

_ANTECEDENTS_ADULT: tuple[str, ...] = load("antecedents_adult")
_ANTECEDENTS_YOUNG: tuple[str, ...] = load("antecedents_young")
_ANTECEDENTS_OLD: tuple[str, ...] = load("antecedents_old")
_ANTECEDENTS_CHILD: tuple[str, ...] = load("antecedents_child")
_ALLERGIES: tuple[str, ...] = load("allergies")
_DRUGS: tuple[tuple[str, str], ...] = load("drugs")


def _antecedents(ctx: _Ctx) -> list[str]:
    if ctx.history is None:
        ctx.history = _draw_antecedents(ctx)
    return ctx.history


def _draw_antecedents(ctx: _Ctx) -> list[str]:
    rng = ctx.rng
    year = ctx.day.year
    first = min(ctx.birth_date.year + 16, year)  # no adult history before adolescence

    def past(low: int, high: int) -> str:
        return str(max(year - rng.randint(low, high), first))

    years = {"y1": past(3, 15), "y2": past(1, 20), "y3": past(1, 4)}
    if not ctx.adult:
        pool: Sequence[str] = _ANTECEDENTS_CHILD
    elif ctx.age < 35:
        pool = _ANTECEDENTS_YOUNG
    elif ctx.age >= 65:
        pool = _ANTECEDENTS_ADULT + _ANTECEDENTS_OLD + _ANTECEDENTS_OLD
    else:
        pool = _ANTECEDENTS_ADULT
    count = rng.randint(2, 3) if not ctx.adult else rng.randint(2, 5)
    return [s.format_map(years) for s in rng.sample(list(pool), count)]


_YOUNG_DRUGS = frozenset(
    {
        "Paracétamol",
        "Oméprazole",
        "Sertraline",
        "Lévothyroxine",
        "Colécalciférol",
        "Macrogol",
        "Budésonide/formotérol",
    }
)


def _treatment(ctx: _Ctx) -> list[tuple[str, str]]:
    """The patient's usual treatment (the same list everywhere in a document)."""
    if ctx.drugs is None:
        if not ctx.adult:
            ctx.drugs = [
                (
                    "Paracétamol 2,4 % suspension buvable",
                    "1 dose-poids toutes les 6 heures si fièvre",
                )
            ]
        elif ctx.age < 40:
            pool = [d for d in _DRUGS if d[0].split()[0] in _YOUNG_DRUGS]
            ctx.drugs = ctx.rng.sample(pool, ctx.rng.randint(1, 3))
        else:
            k = ctx.rng.randint(2, 4) if ctx.age < 60 else ctx.rng.randint(4, 7)
            ctx.drugs = ctx.rng.sample(list(_DRUGS), k)
    return ctx.drugs


def _lifestyle(ctx: _Ctx) -> str:
    if not ctx.adult:
        if ctx.age < 3:
            return ctx.fill(
                "Vit avec ses deux parents, gardé{e} en crèche trois jours par semaine."
            )
        school = ctx.rng.choice(["CP", "CE2", "CM1", "sixième", "quatrième", "seconde"])
        sport = ctx.rng.choice(["football", "judo", "handball", "tennis", "la danse"])
        return ctx.fill(
            f"Scolarisé{{e}} en classe de {school}, bonne intégration, pratique "
            f"{'la danse' if sport == 'la danse' else 'le ' + sport}."
        )
    if ctx.age >= 75:
        return ctx.one(
            [
                "Vit seul{e} à domicile, passage infirmier quotidien, aide-ménagère deux fois par "
                "semaine.",
                "Vit avec son conjoint en maison individuelle, autonome pour les actes de la vie "
                "quotidienne.",
                "Vit en résidence autonomie, se déplace avec une canne, portage des repas.",
            ]
        )
    if ctx.age < 26:
        return ctx.one(
            [
                "Étudiant{e}, vit chez ses parents. Pas de consommation de tabac.",
                "Étudiant{e} en alternance, pratique le football en club. Consommation d'alcool "
                "festive occasionnelle.",
                "Vit en colocation, travaille dans la restauration. Tabagisme actif à 8 "
                "cigarettes par jour.",
            ]
        )
    if ctx.age >= 65:
        return ctx.one(
            [
                "Retraité{e}, vit avec son conjoint, autonome. Jardinage et marche quotidienne.",
                "Retraité{e}, vit seul{e} en appartement au deuxième étage avec ascenseur.",
                "Retraité{e} de la fonction publique. Tabagisme sevré depuis quinze ans.",
            ]
        )
    return ctx.one(
        [
            "Marié{e}, deux enfants. Activité professionnelle de bureau. Pas de consommation "
            "d'alcool à risque.",
            "Vit en couple, exerce comme artisan. Tabagisme actif estimé à 15 paquets-années.",
            "Célibataire, enseignant{e}. Activité physique régulière (course à pied, vélo).",
            "Vit en couple, un enfant, cadre dans l'industrie. Activité physique irrégulière.",
        ]
    )


def _drug_table(ctx: _Ctx, drugs: Sequence[tuple[str, str]], status: bool = False) -> Flowable:
    if status:
        rows = [["Médicament", "Posologie", "Statut"]]
        rows += [
            [d, p, ctx.rng.choice(["Poursuivi", "Poursuivi", "Poursuivi", "Modifié", "Nouveau"])]
            for d, p in drugs
        ]
        return _table(rows, [6.2 * cm, 8.0 * cm, 2.8 * cm])
    rows = [["Médicament", "Posologie"]] + [[d, p] for d, p in drugs]
    return _table(rows, [7.0 * cm, 10.0 * cm])

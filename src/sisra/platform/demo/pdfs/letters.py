"""Letters between professionals (« courrier »): referrals and replies."""

from __future__ import annotations

from typing import Any

from reportlab.platypus import Flowable, Spacer

from sisra.platform.demo.banks import load
from sisra.platform.demo.pdfs.clinical import _drug_table, _treatment
from sisra.platform.demo.pdfs.consultation import _closing, _consult_bank, _greeting
from sisra.platform.demo.pdfs.context import _Ctx
from sisra.platform.demo.pdfs.layout import _h, _lower_first, _p

_REFERRAL_REASONS: tuple[tuple[str, tuple[str, ...]], ...] = load("referral_reasons")


def _referral_reason(ctx: _Ctx) -> str:
    t = ctx.title_l
    for key, reasons in _REFERRAL_REASONS:
        if key in t:
            return ctx.rng.choice(reasons)
    if not ctx.adult:
        return ctx.rng.choice(
            ("fièvre récidivante", "troubles du sommeil", "douleurs abdominales récurrentes")
        )
    return ctx.rng.choice(
        (
            "asthénie persistante",
            "perte d'autonomie à domicile",
            "douleurs articulaires invalidantes",
            "amaigrissement récent",
        )
    )


_REPLY_MARKERS: tuple[str, ...] = load("reply_markers")


def _reply(ctx: _Ctx) -> tuple[str, list[str]]:
    intro = ctx.fill(
        "Je vous remercie pour votre courrier concernant {civname}, "
        "âgé{e} de {age}, que j'ai revu{e} le {day}."
    )
    paragraphs = ctx.pick(
        (
            "J'ai pris connaissance des résultats que vous m'avez transmis. Ils confirment "
            "l'évolution favorable observée cliniquement.",
            "{P} va bien ; les symptômes décrits se sont nettement amendés depuis l'adaptation "
            "du traitement.",
            "Comme vous le proposiez, j'ai modifié la posologie et programmé un contrôle "
            "biologique dans un mois.",
            "Je partage votre analyse et reste disponible pour en discuter par téléphone si "
            "besoin.",
            "Je vous tiendrai informé{e} des résultats des examens complémentaires dès réception.",
        ),
        3,
    )
    return intro, paragraphs


def _from_gp(ctx: _Ctx) -> tuple[str, list[str]]:
    intro = (
        ctx.fill(
            "Je vous adresse {civname}, âgé{e} de {age}, pour avis et prise en charge. Motif : "
        )
        + _referral_reason(ctx)
        + "."
    )
    if ctx.adult:
        bank: tuple[str, ...] = (
            "Les symptômes évoluent depuis environ deux mois, sans amélioration malgré le "
            "traitement symptomatique.",
            "L'examen clinique retrouve une pression artérielle à {ta} mmHg et une "
            "fréquence cardiaque à {fc}/min ; le reste de l'examen est sans particularité.",
            "Le dernier bilan biologique montre une HbA1c à {hba1c} %, une créatinine à "
            "{creat} µmol/L et une CRP à {crp} mg/L.",
            "{P} est demandeur d'un avis rapide ; {il} est joignable au numéro figurant "
            "dans le dossier.",
            "Je joins le traitement en cours et les derniers résultats. Merci de me tenir "
            "informé(e) de votre avis.",
        )
    else:
        bank = (
            "Les parents rapportent des symptômes évoluant depuis quelques semaines.",
            "L'enfant est en bon état général, poids {poids} kg, taille {taille} cm ; "
            "l'examen clinique est par ailleurs sans particularité.",
            "Les vaccinations sont à jour selon le calendrier vaccinal.",
            "Merci de me tenir informé(e) de votre avis.",
        )
    paragraphs = ctx.pick(bank, 4)
    return intro, paragraphs


# the nurse's, physiotherapist's, pharmacist's and midwife's letters: an intro, then
# ``count`` sentences of their bank
_LETTERS: dict[str, dict[str, Any]] = load("letters")


def _from_bank(ctx: _Ctx, letter: dict[str, Any]) -> tuple[str, list[str]]:
    return ctx.fill(letter["intro"]), ctx.pick(letter["paragraphs"], letter["count"])


def _from_specialist(ctx: _Ctx) -> tuple[str, list[str]]:
    intro = ctx.fill(
        "Je vous remercie de m'avoir adressé {civname}, âgé{e} de {age}, "
        "que j'ai vu{e} en consultation le {day}."
    )
    consult = _consult_bank(ctx)
    paragraphs = [
        *ctx.pick(consult["histoire"], 2),
        *ctx.pick(consult["examen"], 1),
        "En conclusion : " + _lower_first(ctx.one(consult["conclusion"])),
        *ctx.pick(consult["cat"], 2),
    ]
    return intro, paragraphs


def _body_courrier(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    t = ctx.title_l
    intro: str
    paragraphs: list[str]
    ctx.w.setdefault("n", str(rng.randint(6, 11)))
    if any(w in t for w in _REPLY_MARKERS):
        intro, paragraphs = _reply(ctx)
    elif ctx.kind == "mg":
        intro, paragraphs = _from_gp(ctx)
    elif ctx.kind in _LETTERS:
        intro, paragraphs = _from_bank(ctx, _LETTERS[ctx.kind])
    else:
        intro, paragraphs = _from_specialist(ctx)
    out: list[Flowable] = [_p(_greeting(ctx)), _p(intro)]
    out += [_p(ctx.fill(par)) for par in paragraphs]
    out += [
        _h("Traitement en cours"),
        _drug_table(ctx, _treatment(ctx)),
        Spacer(1, 6),
        _p(_closing(ctx)),
    ]
    return out

"""Consultation reports (« compte rendu de consultation »)."""

from __future__ import annotations

from reportlab.platypus import Flowable, Spacer

from sisra.platform.demo.banks import load
from sisra.platform.demo.pdfs.clinical import (
    _ALLERGIES,
    _antecedents,
    _drug_table,
    _lifestyle,
    _treatment,
)
from sisra.platform.demo.pdfs.context import _Ctx
from sisra.platform.demo.pdfs.layout import _bullets, _h, _lower_first, _p

_CONSULT: dict[str, dict[str, tuple[str, ...]]] = load("consult")


def _consult_bank(ctx: _Ctx) -> dict[str, tuple[str, ...]]:
    if not ctx.adult:
        return _CONSULT["pedia"]
    return _CONSULT.get(ctx.kind, _CONSULT["mg"])


def _greeting(ctx: _Ctx) -> str:
    return ctx.rng.choice(
        ["Cher confrère,", "Chère consœur, cher confrère,", "Chère consœur,", "Cher ami,"]
    )


def _closing(ctx: _Ctx) -> str:
    return ctx.rng.choice(
        [
            "Je vous remercie de votre confiance et vous prie de croire, cher confrère, "
            "à l'assurance de mes sentiments confraternels.",
            "Bien confraternellement.",
            "Je reste à votre disposition pour tout renseignement complémentaire. "
            "Bien cordialement.",
            "Avec mes remerciements, bien confraternellement.",
        ]
    )


def _body_consultation(ctx: _Ctx) -> list[Flowable]:
    bank = _consult_bank(ctx)
    rng = ctx.rng
    out: list[Flowable] = [
        _p(f"{_greeting(ctx)}"),
        _p(
            ctx.fill(
                "J'ai vu en consultation le {day} {civname}, âgé{e} de {age}, "
                "pour le motif suivant : "
            )
            + _lower_first(ctx.one(bank["motif"]))
            + "."
        ),
        _h("Antécédents"),
        *_bullets(_antecedents(ctx)),
        _p(ctx.one(_ALLERGIES)),
        _h("Mode de vie"),
        _p(_lifestyle(ctx)),
        _h("Traitement habituel"),
        _drug_table(ctx, _treatment(ctx)),
        _h("Histoire de la maladie"),
        _p(" ".join(ctx.pick(bank["histoire"], rng.randint(2, 4)))),
        _h("Examen clinique"),
        _p(" ".join(ctx.pick(bank["examen"], rng.randint(2, 4)))),
        _h("Examens complémentaires"),
        *_bullets(ctx.pick(bank["examens"], rng.randint(1, 3))),
        _h("Conclusion"),
        _p(ctx.one(bank["conclusion"])),
        _h("Conduite à tenir"),
        *_bullets(ctx.pick(bank["cat"], rng.randint(2, 4))),
        Spacer(1, 4),
        _p(_closing(ctx)),
    ]
    return out

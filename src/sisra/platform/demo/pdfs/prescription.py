"""Prescriptions (« ordonnance »)."""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.platypus import Flowable, Paragraph, Spacer

from sisra.platform.demo.banks import load
from sisra.platform.demo.pdfs.clinical import _treatment
from sisra.platform.demo.pdfs.context import _Ctx
from sisra.platform.demo.pdfs.layout import _BODY, _BULLET, _SMALL, _esc, _kv, _p

_ORDO: tuple[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], ...] = load("ordo")


def _body_ordonnance(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    t = ctx.title_l
    lines: Sequence[tuple[str, str]] | None = next(
        (items for keys, items in _ORDO if any(k in t for k in keys)), None
    )
    if lines is None:
        lines = _treatment(ctx)
        qsp = rng.choice(["QSP 3 mois", "QSP 1 mois, à renouveler 2 fois", "QSP 28 jours"])
    else:
        lines = list(lines)
        qsp = rng.choice(["", "QSP 1 mois", "QSP 3 mois"])
    out: list[Flowable] = [
        _p(ctx.fill("{civname}") + f" – {ctx.w['age']} – poids {ctx.w['poids']} kg"),
        Spacer(1, 6),
    ]
    for i, (drug, posology) in enumerate(lines, 1):
        posology = ctx.fill(posology)
        out.append(Paragraph(f"<b>{i}. {_esc(drug)}</b>", _BODY))
        if posology:
            out.append(_p(posology, _BULLET))
    if qsp:
        out += [Spacer(1, 4), _kv("Durée :", qsp)]
    out += [
        Spacer(1, 6),
        _p(
            rng.choice(
                (
                    "Ordonnance établie en dénomination commune internationale.",
                    "Substitution autorisée sauf mention contraire.",
                    "Renouvellement non autorisé sans nouvelle consultation.",
                )
            ),
            _SMALL,
        ),
    ]
    return out

"""Imaging reports (« compte rendu d'imagerie »)."""

from __future__ import annotations

from reportlab.platypus import Flowable

from sisra.platform.demo.banks import load
from sisra.platform.demo.pdfs.clinical import _COLLEAGUES
from sisra.platform.demo.pdfs.context import _Ctx
from sisra.platform.demo.pdfs.layout import _fr, _h, _kv, _p

_IMAGING: tuple[tuple[tuple[str, ...], dict[str, tuple[str, ...]]], ...] = load("imaging")
_IMAGING_DEFAULT = _IMAGING[2][1]


def _imaging_bank(ctx: _Ctx) -> dict[str, tuple[str, ...]]:
    t = ctx.title_l
    for keys, bank in _IMAGING:
        if any(k in t for k in keys):
            return bank
    return _IMAGING_DEFAULT


def _body_imagerie(ctx: _Ctx) -> list[Flowable]:
    bank = _imaging_bank(ctx)
    rng = ctx.rng
    results = ctx.pick(bank["resultats"], max(2, len(bank["resultats"]) - rng.randint(0, 1)))
    return [
        _kv("Examen réalisé le", f"{_fr(ctx.day)} – demandé par {rng.choice(_COLLEAGUES)}"),
        _h("Indication"),
        _p(ctx.one(bank["indication"])),
        _h("Technique"),
        _p(ctx.one(bank["technique"])),
        _h("Résultats"),
        *[_p(r) for r in results],
        _h("Conclusion"),
        _p(ctx.one(bank["conclusion"])),
        _p(
            ctx.one(
                (
                    "Examen comparé au précédent : évolution stable.",
                    "Pas d'examen antérieur disponible pour comparaison.",
                    "Les images sont disponibles sur le serveur régional d'imagerie.",
                )
            )
        ),
    ]

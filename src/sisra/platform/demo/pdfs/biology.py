"""Biology reports: panels of analytes with reference values and the previous result."""

from __future__ import annotations

from datetime import date, timedelta

from reportlab.lib.units import cm
from reportlab.platypus import Flowable, Spacer

from sisra.platform.demo.banks import load
from sisra.platform.demo.pdfs.clinical import _COLLEAGUES, _NURSES
from sisra.platform.demo.pdfs.context import _Ctx
from sisra.platform.demo.pdfs.layout import _SMALL, _fr, _h, _num, _p, _table

# name, unit, low, high, mean, sd, decimals (None bounds = one-sided reference)
_Analyte = tuple[str, str, float | None, float | None, float, float, int]

_PANELS: dict[str, tuple[str, tuple[_Analyte, ...]]] = load("panels")


def _ref(low: float | None, high: float | None, decimals: int) -> str:
    if low is not None and high is not None:
        return f"{_num(low, decimals)} – {_num(high, decimals)}"
    if high is not None:
        return f"< {_num(high, decimals)}"
    if low is not None:
        return f"> {_num(low, decimals)}"
    return ""


def _panel_rows(ctx: _Ctx, key: str, previous: date) -> tuple[str, list[list[str]], list[int]]:
    title, analytes = _PANELS[key]
    rng = ctx.rng
    rows: list[list[str]] = [
        ["Analyse", "Résultat", "Unité", "Valeurs de référence", "Antériorité"]
    ]
    flagged: list[int] = []
    for name, unit, low, high, mean, sd, dec in analytes:
        value = max(rng.gauss(mean, sd), 0.0 if dec else 1.0)
        before = max(value + rng.gauss(0, sd * 0.5), 0.0)
        flag = ""
        if low is not None and value < low:
            flag = " B"
        elif high is not None and value > high:
            flag = " H"
        if flag:
            flagged.append(len(rows))
        rows.append([name, _num(value, dec) + flag, unit, _ref(low, high, dec), _num(before, dec)])
    return title, rows, flagged


def _panels_for(ctx: _Ctx) -> list[str]:
    t = ctx.title_l
    if "nfs" in t or "numération" in t:
        return ["nfs", "crp"]
    if "rénal" in t or "ionogramme" in t:
        return ["iono"]
    if "lipid" in t:
        return ["lipid", "gly"]
    if "hba1c" in t or "glyquée" in t:
        return ["gly", "iono"]
    if "thyro" in t or "tsh" in t:
        return ["thyro"]
    if "inr" in t:
        return ["inr", "nfs"]
    if "prénatal" in t:
        return ["prenatal"]
    pool = ["iono", "hepat", "lipid", "crp", "thyro", "fer"]
    return ["nfs", *ctx.rng.sample(pool, ctx.rng.randint(2, 4))]


_BIO_COMMENTS: tuple[str, ...] = load("bio_comments")


def _bio_table(ctx: _Ctx, key: str, previous: date) -> list[Flowable]:
    title, rows, flagged = _panel_rows(ctx, key, previous)
    table = _table(
        rows,
        [5.2 * cm, 2.3 * cm, 2.9 * cm, 3.4 * cm, 3.2 * cm],
        bold=[(1, r) for r in flagged],
        font_size=8.4,
    )
    return [_h(title), table, Spacer(1, 4)]


def _body_biologie(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    previous = ctx.day - timedelta(days=rng.randint(45, 400))
    hour = f"{rng.randint(7, 11):02d}h{rng.randint(0, 59):02d}"
    out: list[Flowable] = [
        _table(
            [
                [
                    "Dossier n°",
                    f"{ctx.day:%y%m%d}-{rng.randint(1000, 9999)}",
                    "Prélevé le",
                    f"{_fr(ctx.day)} à {hour}",
                ],
                ["Prescripteur", rng.choice(_COLLEAGUES), "Reçu le", f"{_fr(ctx.day)}"],
                [
                    "Préleveur",
                    rng.choice(_NURSES) + ", IDE",
                    "Validé le",
                    f"{_fr(ctx.day)} à {rng.randint(12, 18):02d}h{rng.randint(0, 59):02d}",
                ],
            ],
            [2.8 * cm, 5.7 * cm, 2.4 * cm, 6.1 * cm],
            header=False,
            bold=[(0, 0), (0, 1), (0, 2), (2, 0), (2, 1), (2, 2)],
        ),
        Spacer(1, 6),
        _p(
            "Les valeurs marquées H (haute) ou B (basse) sont en dehors des valeurs de "
            "référence du laboratoire ; elles sont imprimées en gras. Antériorité : résultats "
            f"du {_fr(previous)}.",
            _SMALL,
        ),
    ]
    for key in _panels_for(ctx):
        out += _bio_table(ctx, key, previous)
    out += [_h("Commentaire du biologiste"), _p(" ".join(rng.sample(list(_BIO_COMMENTS), 2)))]
    return out

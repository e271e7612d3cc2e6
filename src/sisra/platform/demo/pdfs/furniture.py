"""Page furniture: letterhead, footers, « Page X / Y », signature and patient block."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from sisra.common.dates import french_date
from sisra.platform.demo.pdfs.context import _age_text, _Ctx
from sisra.platform.demo.pdfs.layout import (
    _SIGN,
    ACCENT,
    GRID,
    INK,
    LIGHT,
    MARGIN_X,
    PAGE_H,
    PAGE_W,
    _clean,
    _esc,
    _fr,
    _p,
)


def _phone(rng: random.Random) -> str:
    return "04 " + " ".join(f"{rng.randint(10, 99)}" for _ in range(4))


def _format_ins(ins: str) -> str:
    if len(ins) != 15:
        return ins
    return " ".join((ins[0], ins[1:3], ins[3:5], ins[5:7], ins[7:10], ins[10:13], ins[13:]))


@dataclass
class _Letterhead:
    structure: str
    author: str
    profession: str
    address: str
    phone: str
    where_when: str
    footer_patient: str
    title: str


def _draw_first(head: _Letterhead) -> Callable[[Canvas, Any], None]:
    def draw(canv: Canvas, _doc: Any) -> None:
        canv.saveState()
        top = PAGE_H - 1.5 * cm
        canv.setFillColor(ACCENT)
        canv.rect(MARGIN_X, top - 2.35 * cm, 0.12 * cm, 2.45 * cm, stroke=0, fill=1)
        x = MARGIN_X + 0.4 * cm
        canv.setFont("Helvetica-Bold", 11.5)
        canv.drawString(x, top - 0.1 * cm, _clean(head.structure)[:70])
        canv.setFillColor(INK)
        canv.setFont("Helvetica-Bold", 10)
        canv.drawString(x, top - 0.62 * cm, _clean(head.author))
        canv.setFont("Helvetica", 9)
        canv.drawString(x, top - 1.07 * cm, _clean(head.profession))
        canv.drawString(x, top - 1.5 * cm, _clean(head.address))
        canv.drawString(x, top - 1.93 * cm, _clean(head.phone))
        canv.setFont("Helvetica", 9.5)
        canv.drawRightString(PAGE_W - MARGIN_X, top - 1.93 * cm, _clean(head.where_when))
        canv.setStrokeColor(GRID)
        canv.setLineWidth(0.6)
        canv.line(MARGIN_X, top - 2.55 * cm, PAGE_W - MARGIN_X, top - 2.55 * cm)
        _draw_footer_text(canv)
        canv.restoreState()

    return draw


def _draw_later(head: _Letterhead) -> Callable[[Canvas, Any], None]:
    def draw(canv: Canvas, _doc: Any) -> None:
        canv.saveState()
        canv.setFont("Helvetica", 8)
        canv.setFillColor(colors.HexColor("#52606d"))
        y = PAGE_H - 1.3 * cm
        canv.drawString(MARGIN_X, y, _clean(head.footer_patient)[:95])
        canv.drawRightString(PAGE_W - MARGIN_X, y, _clean(head.structure)[:60])
        canv.setStrokeColor(GRID)
        canv.setLineWidth(0.4)
        canv.line(MARGIN_X, y - 0.2 * cm, PAGE_W - MARGIN_X, y - 0.2 * cm)
        _draw_footer_text(canv)
        canv.restoreState()

    return draw


def _draw_footer_text(canv: Canvas) -> None:
    canv.setFont("Helvetica", 7.5)
    canv.setFillColor(colors.HexColor("#7b8794"))
    canv.setStrokeColor(GRID)
    canv.setLineWidth(0.4)
    canv.line(MARGIN_X, 1.55 * cm, PAGE_W - MARGIN_X, 1.55 * cm)
    canv.drawString(
        MARGIN_X,
        1.15 * cm,
        "Document fictif de démonstration sisra – aucune donnée de santé réelle. "
        "Confidentiel : secret médical.",
    )


class _NumberedCanvas(Canvas):  # type: ignore[misc]
    """Defers page output until the end so each footer can show "Page X / Y"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending_pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pending_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pending_pages)
        for state in self._pending_pages:
            self.__dict__.update(state)
            self.setFont("Helvetica", 8)
            self.setFillColor(INK)
            self.drawRightString(PAGE_W - MARGIN_X, 1.15 * cm, f"Page {self._pageNumber} / {total}")
            super().showPage()
        super().save()


def _canvas_maker(stamp: str) -> Callable[..., Canvas]:
    def make(*args: Any, **kwargs: Any) -> Canvas:
        canv = _NumberedCanvas(*args, **kwargs)
        canv.setDateFormatter(lambda *_parts: stamp)
        return canv

    return make


def _signature(ctx: _Ctx) -> list[Flowable]:
    return [
        Spacer(1, 12),
        KeepTogether(
            [
                _p(
                    f"{ctx.author_city}, le {french_date(ctx.day)}"
                    if ctx.author_city
                    else f"Le {french_date(ctx.day)}",
                    _SIGN,
                ),
                Paragraph(f"<b>{_esc(ctx.author_name)}</b>", _SIGN),
                _p(ctx.author_profession, _SIGN),
                _p("Signé électroniquement", _SIGN),
            ]
        ),
    ]


def _patient_block(ctx: _Ctx) -> Table:
    sex = {"F": "Féminin", "M": "Masculin"}.get(ctx.sex, "Non renseigné")
    rows = [
        ["Patient(e)", ctx.patient_name, "Sexe", sex],
        [
            "Date de naissance",
            f"{_fr(ctx.birth_date)} ({_age_text(ctx.birth_date, ctx.day)})",
            "Date de l'acte",
            _fr(ctx.day),
        ],
    ]
    if ctx.ins:
        rows.append(["INS (matricule)", _format_ins(ctx.ins), "Identité", "qualifiée – NIR"])
    table = Table(
        [[_clean(c) for c in r] for r in rows], colWidths=[3.3 * cm, 7.2 * cm, 2.6 * cm, 3.9 * cm]
    )
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), "Helvetica", 9),
                ("FONT", (0, 0), (0, -1), "Helvetica-Bold", 9),
                ("FONT", (2, 0), (2, -1), "Helvetica-Bold", 9),
                ("FONT", (1, 0), (1, 0), "Helvetica-Bold", 10),
                ("TEXTCOLOR", (0, 0), (-1, -1), INK),
                ("BACKGROUND", (0, 0), (-1, -1), LIGHT),
                ("BOX", (0, 0), (-1, -1), 0.6, GRID),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table

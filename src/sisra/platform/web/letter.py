"""A document written in the web form, laid out as a real PDF letter (reportlab).

Letterhead (author, profession/specialty, structure, city), patient block, date and place,
title, the text's paragraphs, then the signature.
"""

import io
from dataclasses import dataclass
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    HRFlowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from sisra.common.dates import french_date
from sisra.common.ins import shareable_ins
from sisra.platform.models import Patient, Professional


@dataclass(frozen=True)
class Letter:
    title: str
    type_label: str
    clinical_date: date
    body: str


def _p(text: str) -> str:
    """Plain text → reportlab paragraph markup (escaped; line breaks kept)."""
    return escape(text).replace("\n", "<br/>")


def _patient_lines(patient: Patient) -> list[str]:
    names = patient.birth_name
    if patient.used_name and patient.used_name != patient.birth_name:
        names = f"{patient.used_name} (né(e) {patient.birth_name})"
    sex = {"M": "homme", "F": "femme"}.get(patient.sex.value, "sexe indéterminé")
    lines = [
        '<font size="7" color="#64748b">PATIENT</font>',
        f"<b>{escape(names)} {escape(patient.first_given_name)}</b>",
        f"Né·e le {patient.birth_date.strftime('%d/%m/%Y')} — {sex}",
    ]
    ins = shareable_ins(patient.ins, patient.identity_status.value)  # qualified identity only
    if ins:
        lines.append(f"INS : {escape(ins)}")
    return lines


def render(author: Professional, patient: Patient, letter: Letter) -> bytes:
    """The letter as PDF bytes."""
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=22 * mm,
        rightMargin=22 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=letter.title,
        author=author.display_name,
        subject=letter.type_label,
        creator="Sisra",
    )
    base = getSampleStyleSheet()
    normal = ParagraphStyle("body", parent=base["Normal"], fontSize=10.5, leading=15)
    small = ParagraphStyle("small", parent=normal, fontSize=9, leading=12, textColor="#334155")
    head = ParagraphStyle("head", parent=normal, fontSize=13, leading=17, textColor="#0b5cad")
    right = ParagraphStyle("right", parent=normal, alignment=TA_RIGHT)
    title = ParagraphStyle("title", parent=base["Heading2"], fontSize=13, spaceAfter=8)

    author_lines = [f"<b>{escape(author.display_name)}</b>"]
    job = author.profession + (f" — {author.specialty}" if author.specialty else "")
    author_lines.append(escape(job))
    if author.structure:
        author_lines.append(escape(author.structure))
    if author.city:
        author_lines.append(escape(author.city))
    if author.rpps:
        author_lines.append(f"RPPS {escape(author.rpps)}")

    letterhead = Table(
        [
            [
                Paragraph("<br/>".join(author_lines), head),
                Paragraph("<br/>".join(_patient_lines(patient)), small),
            ]
        ],
        colWidths=[95 * mm, 71 * mm],
    )
    letterhead.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOX", (1, 0), (1, 0), 0.6, colors.HexColor("#94a3b8")),
                ("BACKGROUND", (1, 0), (1, 0), colors.HexColor("#f1f5f9")),
                ("LEFTPADDING", (1, 0), (1, 0), 8),
                ("TOPPADDING", (1, 0), (1, 0), 6),
                ("BOTTOMPADDING", (1, 0), (1, 0), 6),
            ]
        )
    )
    place = f"{escape(author.city)}, le " if author.city else "Le "
    story = [
        letterhead,
        Spacer(1, 6 * mm),
        HRFlowable(width="100%", thickness=0.8, color=colors.HexColor("#0b5cad")),
        Spacer(1, 4 * mm),
        Paragraph(place + french_date(letter.clinical_date), right),
        Spacer(1, 6 * mm),
        Paragraph(escape(letter.title), title),
        Paragraph(escape(letter.type_label), small),
        Spacer(1, 4 * mm),
    ]
    paragraphs = [p.strip() for p in letter.body.replace("\r\n", "\n").split("\n\n")]
    for text in paragraphs:
        if text:
            story += [Paragraph(_p(text), normal), Spacer(1, 3 * mm)]
    story.append(
        KeepTogether(
            [
                Spacer(1, 10 * mm),
                Paragraph(escape(author.display_name), right),
                Paragraph(escape(job), ParagraphStyle("sr", parent=small, alignment=TA_RIGHT)),
            ]
        )
    )

    def _footer(canvas: Any, _document: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(colors.HexColor("#64748b"))
        canvas.drawString(
            22 * mm,
            12 * mm,
            f"Document créé sur Sisra par {author.display_name} — page {canvas.getPageNumber()}",
        )
        canvas.restoreState()

    doc.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return buf.getvalue()

"""Realistic French medical PDF documents for the demo region, made with reportlab.

:func:`render_pdf` composes a 2-4 page document (letterhead, patient block, body fitting the
document type and the author's specialty, signature, annexes, "Page X / Y" footers) from
sentence banks, tables of values and prescription lines. The output only depends on the
arguments and on the state of ``rng``: the same inputs give the same bytes.

Only the standard Helvetica fonts are used; their WinAnsi encoding covers French (é, è, ê,
à, ç, œ, «, », ’, –, °, µ, ², ½). Dynamic text is sanitised to that character set.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from sisra.common.dates import french_date
from sisra.common.doctypes import DOCUMENT_TYPES
from sisra.common.ins import shareable_ins

__all__ = ["render_pdf"]

# --------------------------------------------------------------------------- layout

PAGE_W, PAGE_H = A4
MARGIN_X = 2.0 * cm
FIRST_TOP = 4.4 * cm  # room for the letterhead on page 1
LATER_TOP = 2.3 * cm
BOTTOM = 2.2 * cm
TEXT_W = PAGE_W - 2 * MARGIN_X
INK = colors.HexColor("#1f2933")
ACCENT = colors.HexColor("#1d4e89")
LIGHT = colors.HexColor("#eef2f7")
GRID = colors.HexColor("#b8c4d3")

_BODY = ParagraphStyle(
    "body", fontName="Helvetica", fontSize=9.6, leading=13.2, textColor=INK, spaceAfter=4.5
)
_BULLET = ParagraphStyle("bullet", parent=_BODY, leftIndent=12, bulletIndent=2, spaceAfter=2)
_H1 = ParagraphStyle(
    "h1",
    fontName="Helvetica-Bold",
    fontSize=13.5,
    leading=17,
    textColor=ACCENT,
    spaceBefore=6,
    spaceAfter=6,
)
_H2 = ParagraphStyle(
    "h2",
    fontName="Helvetica-Bold",
    fontSize=10.4,
    leading=13.5,
    textColor=ACCENT,
    spaceBefore=7,
    spaceAfter=3,
    keepWithNext=1,
)
_SMALL = ParagraphStyle(
    "small", parent=_BODY, fontSize=8, leading=10.5, textColor=colors.HexColor("#52606d")
)
_ANNEX_LABEL = ParagraphStyle("annex", parent=_SMALL, keepWithNext=1)
_SMALL_KEEP = ParagraphStyle("small_keep", parent=_SMALL, keepWithNext=1)
_SIGN = ParagraphStyle("sign", parent=_BODY, leftIndent=TEXT_W * 0.55, spaceAfter=1)

_CP1252_FIXES = str.maketrans(
    {
        "≥": ">=",
        "≤": "<=",
        "→": "->",
        "←": "<-",
        "β": "bêta",
        "α": "alpha",
        "γ": "gamma",
        "\u2009": " ",
        "\u202f": "\u00a0",
        "\u2011": "-",
        "\u2212": "-",
    }
)


def _clean(text: str) -> str:
    """Text restricted to what Helvetica's WinAnsi encoding can show."""
    text = text.translate(_CP1252_FIXES)
    return text.encode("cp1252", errors="replace").decode("cp1252")


def _esc(text: str) -> str:
    return escape(_clean(text))


_CHAR_WIDTHS: dict[str, dict[str, float]] = {}


def _text_width(text: str, font: str, size: float) -> float:
    """Width of ``text`` in a standard font, from a per-character cache (no kerning in
    the standard fonts, so this equals reportlab's ``stringWidth``, only faster)."""
    table = _CHAR_WIDTHS.setdefault(font, {})
    total = 0.0
    for ch in text:
        width = table.get(ch)
        if width is None:
            width = table[ch] = stringWidth(ch, font, 1000)
        total += width
    return total * size / 1000


def _split_lines(text: str, font: str, size: float, max_width: float) -> list[str]:
    space = _text_width(" ", font, size)
    lines: list[str] = []
    current: list[str] = []
    width = -space
    for word in text.split():
        w = _text_width(word, font, size)
        if current and width + space + w > max_width:
            lines.append(" ".join(current))
            current, width = [word], w
        else:
            current.append(word)
            width += space + w
    if current:
        lines.append(" ".join(current))
    return lines


class _Text(Flowable):  # type: ignore[misc]
    """Plain left-aligned text (optionally bulleted) in one text object.

    Most of a document is plain sentences: this skips ``Paragraph``'s markup parser and
    per-fragment machinery, which dominate the rendering time otherwise. It splits across
    pages between lines (never leaving a single line behind).
    """

    def __init__(
        self,
        text: str,
        style: ParagraphStyle,
        bullet: str | None = None,
        lines: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.text = text
        self.style = style
        self.bullet = bullet
        self._lines = lines
        self._for_width = -1.0

    def _layout(self, avail_width: float) -> list[str]:
        if self._lines is None or self._for_width != avail_width:
            st = self.style
            self._lines = _split_lines(
                self.text, st.fontName, st.fontSize, avail_width - st.leftIndent - st.rightIndent
            )
            self._for_width = avail_width
        return self._lines

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        self.height = len(self._layout(avail_width)) * self.style.leading
        return self.width, self.height

    def split(self, avail_width: float, avail_height: float) -> list[Flowable]:
        lines = self._layout(avail_width)
        fits = int(avail_height // self.style.leading)
        if fits < 2 or fits > len(lines) - 2:
            return []
        first = _Text(" ".join(lines[:fits]), self.style, self.bullet, lines[:fits])
        rest = _Text(" ".join(lines[fits:]), self.style, None, lines[fits:])
        first._for_width = rest._for_width = avail_width
        first.style = ParagraphStyle("cont", parent=self.style, spaceAfter=0)
        return [first, rest]

    def draw(self) -> None:
        st = self.style
        canv = self.canv
        lines = self._lines or []
        baseline = self.height - st.fontSize
        text = canv.beginText(st.leftIndent, baseline)
        text.setFont(st.fontName, st.fontSize, st.leading)
        text.setFillColor(st.textColor)
        for line in lines:
            text.textLine(line)
        canv.drawText(text)
        if self.bullet:
            canv.setFont(st.fontName, st.fontSize)
            canv.setFillColor(st.textColor)
            canv.drawString(st.bulletIndent, baseline, self.bullet)


def _p(text: str, style: ParagraphStyle = _BODY) -> Flowable:
    return _Text(_clean(text), style)


def _kv(label: str, value: str, style: ParagraphStyle = _BODY) -> Paragraph:
    return Paragraph(f"<b>{_esc(label)}</b> {_esc(value)}", style)


def _h(text: str) -> Paragraph:
    return Paragraph(_esc(text), _H2)


def _bullets(items: Sequence[str]) -> list[Flowable]:
    return [_Text(_clean(item), _BULLET, "•") for item in items]


class _AnnexBreak(Flowable):  # type: ignore[misc]
    """Annexes start on a new page when the letter fits on the first one; when the letter
    already runs onto a later page, they follow it (on a new page only if little room is
    left), so that no page stays almost empty."""

    MIN_ROOM = 9 * cm

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        if self.canv.getPageNumber() == 1 or avail_height < self.MIN_ROOM:
            return avail_width, avail_height  # fills the frame: annexes go to the next page
        return avail_width, 0.0

    def draw(self) -> None:
        pass


class _GridTable(Flowable):  # type: ignore[misc]
    """A plain table of one-line cells, drawn with a single text object.

    reportlab's ``Table`` draws every cell with its own ``drawString`` and style lookups;
    this lean version keeps tables cheap (results tables have dozens of rows). It splits
    across pages between rows, repeating the header row.
    """

    PAD_X = 3.0
    PAD_Y = 2.2

    def __init__(
        self,
        rows: list[list[str]],
        widths: list[float],
        header: bool,
        bold: frozenset[tuple[int, int]],
        font_size: float,
    ) -> None:
        super().__init__()
        self.rows = rows
        self.widths = widths
        self.header = header
        self.bold = bold
        self.font_size = font_size
        self.row_h = font_size * 1.18 + 2 * self.PAD_Y
        self.width = sum(widths)
        self.height = self.row_h * len(rows)

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.width, self.height

    def split(self, avail_width: float, avail_height: float) -> list[Flowable]:
        fits = int(avail_height // self.row_h)
        first_data = 1 if self.header else 0
        if fits <= first_data + 1 or fits >= len(self.rows):
            return []
        head = self.rows[:first_data]
        part1 = self.rows[:fits]
        part2 = head + self.rows[fits:]
        bold1 = frozenset((c, r) for c, r in self.bold if r < fits)
        bold2 = frozenset((c, r - fits + first_data) for c, r in self.bold if r >= fits)
        return [
            _GridTable(part1, self.widths, self.header, bold1, self.font_size),
            _GridTable(part2, self.widths, self.header, bold2, self.font_size),
        ]

    def draw(self) -> None:
        canv = self.canv
        row_h, height, width = self.row_h, self.height, self.width
        if self.header:
            canv.setFillColor(LIGHT)
            canv.rect(0, height - row_h, width, row_h, stroke=0, fill=1)
        canv.setStrokeColor(GRID)
        canv.setLineWidth(0.25)
        path = canv.beginPath()
        for i in range(1, len(self.rows) + 1):
            y = height - i * row_h
            path.moveTo(0, y)
            path.lineTo(width, y)
        canv.drawPath(path, stroke=1, fill=0)
        if self.header:
            canv.setStrokeColor(ACCENT)
            canv.setLineWidth(0.8)
            canv.line(0, height - row_h, width, height - row_h)
        text = canv.beginText()
        text.setFillColor(INK)
        current = ""
        for r, row in enumerate(self.rows):
            baseline = height - (r + 1) * row_h + self.PAD_Y + self.font_size * 0.28
            x = self.PAD_X
            for c, cell in enumerate(row):
                font = (
                    "Helvetica-Bold"
                    if (self.header and r == 0) or (c, r) in self.bold
                    else "Helvetica"
                )
                if font != current:
                    text.setFont(font, self.font_size)
                    current = font
                if cell:
                    text.setTextOrigin(x, baseline)
                    text.textOut(cell)
                x += self.widths[c]
        canv.drawText(text)


def _table(
    rows: Sequence[Sequence[str]],
    widths: Sequence[float],
    *,
    header: bool = True,
    bold: Sequence[tuple[int, int]] = (),
    font_size: float = 8.6,
) -> Flowable:
    data = [[_clean(c) for c in row] for row in rows]
    return _GridTable(data, list(widths), header, frozenset(bold), font_size)


def _fr(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def _lower_first(text: str) -> str:
    """'Suivi d'une BPCO' -> 'suivi d'une BPCO' (acronyms keep their capitals)."""
    return text[:1].lower() + text[1:]


def _num(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}".replace(".", ",")


# --------------------------------------------------------------------------- context


@dataclass
class _Ctx:
    rng: random.Random
    title: str
    type_code: str
    kind: str
    author_name: str
    author_profession: str
    author_structure: str
    author_city: str
    patient_name: str
    birth_date: date
    ins: str | None
    day: date
    sex: str  # 'M', 'F' or '' when unknown
    age: int
    w: dict[str, str] = field(default_factory=dict)  # words and values for the sentence banks
    # The patient's history and usual treatment, drawn once so that every section and annex
    # of a document agree.
    history: list[str] | None = None
    drugs: list[tuple[str, str]] | None = None

    @property
    def adult(self) -> bool:
        return self.age >= 16

    @property
    def title_l(self) -> str:
        return self.title.lower()

    def pick(self, items: Sequence[str], k: int = 1) -> list[str]:
        """``k`` distinct items, kept in the order of the bank (which reads naturally)."""
        k = max(0, min(k, len(items)))
        chosen = sorted(self.rng.sample(range(len(items)), k))
        return [self.fill(items[i]) for i in chosen]

    def one(self, items: Sequence[str]) -> str:
        return self.fill(self.rng.choice(list(items)))

    def fill(self, text: str) -> str:
        return text.format_map(self.w)


def _age(birth: date, day: date) -> int:
    years = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
    return max(years, 0)


def _age_text(birth: date, day: date) -> str:
    years = _age(birth, day)
    if years >= 2:
        return f"{years} ans"
    months = (day.year - birth.year) * 12 + day.month - birth.month - (day.day < birth.day)
    return f"{max(months, 0)} mois"


_KIND_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("généralist", "mg"),
    ("médecine générale", "mg"),
    ("cardio", "cardio"),
    ("pneumo", "pneumo"),
    ("radio", "radio"),
    ("imagerie", "radio"),
    ("orthop", "ortho"),
    ("gastro", "gastro"),
    ("hépato", "gastro"),
    ("endocrin", "endo"),
    ("diabét", "endo"),
    ("pédiat", "pedia"),
    ("infirm", "ide"),
    ("kinési", "kine"),
    ("biolog", "bio"),
    ("pharmac", "pharma"),
    ("sage-femme", "sf"),
    ("maïeut", "sf"),
)
_DOCTOR_KINDS = frozenset(
    {"mg", "cardio", "pneumo", "radio", "ortho", "gastro", "endo", "pedia", "bio", "pharma"}
)


def _kind(profession: str) -> str:
    low = profession.lower()
    for word, kind in _KIND_KEYWORDS:
        if word in low:
            return kind
    return "mg" if "médecin" in low else "autre"


def _type_code(type_label: str, title: str) -> str:
    for t in DOCUMENT_TYPES:
        if type_label in (t.label, t.code):
            return t.code
    low = f"{type_label} {title}".lower()
    for word, code in (
        ("ordonnance", "ordonnance"),
        ("opératoire", "cr_operatoire"),
        ("hospitalisation", "cr_hospitalisation"),
        ("liaison", "lettre_liaison"),
        ("biolog", "biologie"),
        ("imagerie", "cr_imagerie"),
        ("consultation", "cr_consultation"),
        ("courrier", "courrier"),
    ):
        if word in low:
            return code
    return "autre"


def _sex_from_ins(ins: str | None) -> str:
    if ins and ins[:1] in "13":
        return "M"
    if ins and ins[:1] in "24":
        return "F"
    return ""


def _words(rng: random.Random, sex: str, age: int, name: str) -> dict[str, str]:
    fem = sex == "F"
    w: dict[str, str] = {
        "p": "la patiente" if fem else "le patient",
        "P": "La patiente" if fem else "Le patient",
        "il": "elle" if fem else "il",
        "Il": "Elle" if fem else "Il",
        "e": "e" if fem else "",
        "civ": {"F": "Madame", "M": "Monsieur"}.get(sex, ""),
        "ne": "née" if fem else "né",
        "name": name,
        "age": f"{age} ans",
        "enfant": "votre fille" if fem else "votre fils",
    }
    w["civname"] = f"{w['civ']} {name}".strip()
    # Vital signs and usual values, drawn once so a whole document stays consistent.
    if age >= 16:
        height = rng.randint(160, 190) if not fem else rng.randint(152, 176)
        weight = round(rng.gauss(78 if not fem else 65, 12))
        weight = max(45, min(weight, 130))
    else:
        height = int(52 + min(age, 15) * 6.2 + rng.randint(-4, 4)) if age else rng.randint(50, 76)
        weight = max(3, round(3.5 + age * 2.6 + rng.gauss(0, 1.5)))
    imc = weight / (height / 100) ** 2
    sys_bp = rng.randint(112, 158) if age >= 16 else rng.randint(95, 115)
    dia_bp = rng.randint(62, 92) if age >= 16 else rng.randint(55, 70)
    w.update(
        {
            "taille": str(height),
            "poids": str(weight),
            "imc": _num(imc, 1),
            "ta": f"{sys_bp}/{dia_bp}",
            "ta_auto": f"{sys_bp - rng.randint(2, 12)}/{dia_bp - rng.randint(0, 6)}",
            "fc": str(rng.randint(56, 94) if age >= 16 else rng.randint(80, 125)),
            "spo2": str(rng.randint(94, 99)),
            "temp": _num(rng.uniform(36.4, 37.6), 1),
            "fevg": str(rng.choice([35, 40, 45, 55, 58, 60, 62, 65])),
            "ldl": _num(rng.uniform(0.55, 1.75), 2),
            "creat": str(rng.randint(55, 118)),
            "k": _num(rng.uniform(3.6, 5.0), 1),
            "chads": str(rng.randint(2, 5)),
            "hba1c": _num(rng.uniform(6.3, 9.4), 1),
            "glyc": _num(rng.uniform(0.95, 1.65), 2),
            "vems": str(rng.randint(48, 92)),
            "tiff": str(rng.randint(52, 78)),
            "dfg": str(rng.randint(42, 98)),
            "hb": _num(rng.uniform(10.8, 15.5), 1),
            "inr": _num(rng.uniform(1.8, 3.3), 1),
            "crp": str(rng.randint(1, 48)),
            "tsh": _num(rng.uniform(0.6, 6.5), 2),
            "eva": str(rng.randint(2, 7)),
            "sa": str(rng.randint(14, 36)),
            "hu": str(rng.randint(18, 33)),
            "bcf": str(rng.randint(130, 155)),
            "pc": _num(34 + min(age, 3) * 4.5 + rng.uniform(-1, 1), 1),
            "iah": str(rng.randint(8, 42)),
            "desat": str(rng.randint(5, 38)),
            "plaie": _num(rng.uniform(1.5, 6.5), 1),
            "seances": str(rng.choice([10, 12, 15, 20])),
            "flexion": str(rng.randint(85, 125)),
            "perim": str(rng.randint(70, 112)),
        }
    )
    return w


# --------------------------------------------------------------------------- shared banks

_STREETS = (
    "rue de la République",
    "avenue Jean Jaurès",
    "cours Lafayette",
    "boulevard des Belges",
    "rue Garibaldi",
    "avenue Félix Faure",
    "rue Victor Hugo",
    "place Carnot",
    "avenue de Saxe",
    "rue du Docteur Rollet",
    "boulevard Gambetta",
    "rue des Écoles",
    "avenue Maréchal Foch",
    "rue Pasteur",
    "quai Claude Bernard",
    "rue de la Paix",
)
_POSTCODES = {
    "Lyon": ("69001", "69002", "69003", "69004", "69006", "69007", "69008", "69009"),
    "Villeurbanne": ("69100",),
    "Vénissieux": ("69200",),
    "Bron": ("69500",),
    "Villefranche-sur-Saône": ("69400",),
    "Saint-Étienne": ("42000", "42100"),
    "Roanne": ("42300",),
    "Grenoble": ("38000", "38100"),
    "Vienne": ("38200",),
    "Clermont-Ferrand": ("63000", "63100"),
    "Annecy": ("74000",),
    "Chambéry": ("73000",),
    "Valence": ("26000",),
    "Bourg-en-Bresse": ("01000",),
    "Aurillac": ("15000",),
    "Le Puy-en-Velay": ("43000",),
}
_COLLEAGUES = (
    "Dr Anne Chapuis",
    "Dr Thomas Roux",
    "Dr Cécile Morel",
    "Dr Julien Besson",
    "Dr Hélène Perret",
    "Dr Loïc Ferrand",
    "Dr Noémie Vallet",
    "Dr Benoît Girod",
    "Dr Gaëlle Tardy",
    "Dr Jérôme Ollier",
    "Dr François Bréchet",
    "Dr Léa Marcoux",
)
_NURSES = (
    "Claire Favre",
    "Julien Magnin",
    "Mélanie Berthet",
    "Karine Poncet",
    "Rémi Charvet",
    "Solène Gaillard",
)

_ANTECEDENTS_ADULT = (
    "Hypertension artérielle depuis {y1}",
    "Dyslipidémie traitée",
    "Diabète de type 2 depuis {y2}",
    "Syndrome d'apnées obstructives du sommeil appareillé",
    "Appendicectomie dans l'enfance",
    "Cholécystectomie en {y1}",
    "Hypothyroïdie substituée",
    "Épisode dépressif en {y2}",
    "Tabagisme sevré (20 paquets-années)",
    "Tabagisme actif à 10 cigarettes par jour",
    "Asthme dans l'enfance",
    "Lombalgies chroniques",
    "Migraine sans aura",
    "Reflux gastro-œsophagien",
    "Fracture du poignet droit en {y2}",
)
_ANTECEDENTS_YOUNG = (
    "Asthme dans l'enfance",
    "Migraine sans aura",
    "Appendicectomie dans l'enfance",
    "Fracture de la cheville droite en {y2}",
    "Reflux gastro-œsophagien",
    "Épisode dépressif en {y2}",
    "Tabagisme actif à 10 cigarettes par jour",
    "Rhinite allergique aux pollens de graminées",
    "Entorse du genou gauche en {y3}",
    "Pas d'antécédent médical notable",
)
_ANTECEDENTS_OLD = (
    "Cardiopathie ischémique : angioplastie avec pose d'un stent sur l'IVA en {y1}",
    "Fibrillation atriale paroxystique sous anticoagulant",
    "Insuffisance rénale chronique stade 3a",
    "Prothèse totale de hanche gauche en {y2}",
    "Arthrose des genoux",
    "Ostéoporose fracturaire",
    "Cataracte opérée des deux yeux",
    "Hypertrophie bénigne de prostate",
    "BPCO stade 2 de GOLD",
    "Chute avec traumatisme crânien en {y3}",
    "Accident vasculaire cérébral ischémique sans séquelle en {y1}",
)
_ANTECEDENTS_CHILD = (
    "Naissance à terme, grossesse sans particularité",
    "Bronchiolite à 8 mois",
    "Otites moyennes aiguës à répétition",
    "Eczéma atopique",
    "Vaccinations à jour",
    "Allergie aux protéines de lait de vache dans la petite enfance",
    "Asthme du nourrisson",
    "Pas d'antécédent chirurgical",
)
_ALLERGIES = (
    "Pas d'allergie médicamenteuse connue.",
    "Pas d'allergie connue.",
    "Allergie à la pénicilline (urticaire).",
    "Intolérance à la codéine (nausées).",
    "Allergie à l'iode signalée (réaction cutanée ancienne).",
)
_DRUGS = (
    ("Ramipril 5 mg", "1 comprimé le matin"),
    ("Amlodipine 5 mg", "1 comprimé le soir"),
    ("Bisoprolol 2,5 mg", "1 comprimé le matin"),
    ("Atorvastatine 20 mg", "1 comprimé le soir"),
    ("Metformine 1000 mg", "1 comprimé matin et soir au cours des repas"),
    ("Lévothyroxine 75 µg", "1 comprimé le matin à jeun"),
    ("Apixaban 5 mg", "1 comprimé matin et soir"),
    ("Acide acétylsalicylique 75 mg", "1 sachet le midi"),
    ("Oméprazole 20 mg", "1 gélule le matin avant le repas"),
    ("Furosémide 40 mg", "1 comprimé le matin"),
    ("Sertraline 50 mg", "1 comprimé le matin"),
    ("Tamsulosine 0,4 mg", "1 gélule le soir"),
    ("Colécalciférol 100 000 UI", "1 ampoule tous les 3 mois"),
    ("Paracétamol 1 g", "1 comprimé jusqu'à 3 fois par jour si douleurs"),
    ("Allopurinol 100 mg", "1 comprimé le soir"),
    ("Macrogol 4000", "1 sachet le matin"),
    ("Budésonide/formotérol 200/6 µg", "2 inhalations matin et soir"),
    ("Insuline glargine 100 UI/mL", "16 UI le soir, adaptation selon protocole"),
)


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


# --------------------------------------------------------------------------- consultations

_CONSULT: dict[str, dict[str, tuple[str, ...]]] = {
    "mg": {
        "motif": (
            "Renouvellement du traitement et suivi des facteurs de risque cardiovasculaire",
            "Asthénie évoluant depuis six semaines",
            "Lombalgie aiguë après un effort de port de charge",
            "Toux persistante depuis trois semaines",
            "Suivi d'un diabète de type 2",
            "Douleurs abdominales intermittentes",
            "Bilan de chute à domicile",
            "Troubles du sommeil et anxiété",
        ),
        "histoire": (
            "{P} décrit une fatigue progressive, prédominant en fin de journée, sans fièvre ni "
            "amaigrissement. L'appétit est conservé.",
            "Depuis la dernière consultation, {il} signale quelques épisodes de vertiges brefs "
            "au lever, sans chute ni perte de connaissance.",
            "La douleur est apparue brutalement en soulevant une charge, sans irradiation dans "
            "les membres inférieurs, sans trouble sphinctérien.",
            "La toux est sèche, à prédominance nocturne, sans hémoptysie. Pas de dyspnée, pas de "
            "fièvre. Notion de rhinite récente dans l'entourage.",
            "L'autosurveillance glycémique montre des glycémies à jeun entre 1,30 et 1,60 g/L. "
            "Les écarts alimentaires sont reconnus pendant les fêtes de famille.",
            "Les douleurs siègent dans la fosse iliaque gauche, rythmées par les repas, "
            "soulagées par l'émission de gaz, avec une alternance diarrhée et constipation.",
            "{P} rapporte des difficultés d'endormissement, des réveils précoces et des "
            "ruminations en lien avec un contexte professionnel tendu.",
            "Le traitement habituel est bien toléré et pris régulièrement ; pas d'effet "
            "indésirable rapporté.",
        ),
        "examen": (
            "Pression artérielle {ta} mmHg, fréquence cardiaque {fc}/min, SpO2 {spo2} % en air "
            "ambiant, température {temp} °C.",
            "Poids {poids} kg, taille {taille} cm, IMC {imc} kg/m².",
            "Auscultation cardio-pulmonaire sans particularité. Abdomen souple, dépressible, "
            "indolore, sans masse palpable.",
            "Examen neurologique normal, pas de déficit sensitivomoteur, réflexes ostéotendineux "
            "présents et symétriques.",
            "Contracture paravertébrale lombaire droite, distance mains-sol à 25 cm, pas de "
            "signe de Lasègue.",
            "Examen ORL : tympans normaux, pharynx discrètement inflammatoire, pas d'adénopathie "
            "cervicale.",
        ),
        "examens": (
            "Dernier bilan biologique : HbA1c {hba1c} %, créatinine {creat} µmol/L, DFG estimé "
            "{dfg} mL/min/1,73 m².",
            "Bilan biologique prescrit : NFS, CRP, ionogramme, créatinine, TSH, ferritine, bilan "
            "hépatique.",
            "Électrocardiogramme réalisé au cabinet : rythme sinusal régulier, pas d'anomalie de "
            "la repolarisation.",
            "Pas d'examen complémentaire nécessaire à ce stade.",
        ),
        "conclusion": (
            "Tableau compatible avec une lombalgie commune aiguë, sans signe de gravité.",
            "Diabète de type 2 insuffisamment équilibré, sans complication aiguë.",
            "Asthénie sans orientation étiologique évidente à l'examen clinique ; bilan "
            "biologique en cours.",
            "Toux post-infectieuse probable, examen rassurant.",
            "Facteurs de risque cardiovasculaire bien contrôlés sous traitement.",
            "Syndrome anxieux réactionnel, sans idée suicidaire.",
        ),
        "cat": (
            "Poursuite du traitement habituel, renouvelé pour trois mois.",
            "Antalgiques de palier 1, maintien d'une activité adaptée, arrêt de travail de 3 "
            "jours.",
            "Renforcement des mesures hygiéno-diététiques ; réévaluation dans trois mois avec "
            "une nouvelle HbA1c.",
            "Avis spécialisé demandé, courrier joint.",
            "Reconsulter en cas de fièvre, d'aggravation des symptômes ou d'apparition d'une "
            "dyspnée.",
            "Prochain rendez-vous dans trois mois.",
        ),
    },
    "cardio": {
        "motif": (
            "Suivi d'une cardiopathie ischémique stentée",
            "Bilan d'une dyspnée d'effort d'apparition récente",
            "Palpitations récidivantes",
            "Suivi d'une fibrillation atriale paroxystique sous anticoagulant",
            "Découverte d'un souffle cardiaque",
            "Hypertension artérielle mal contrôlée malgré une bithérapie",
            "Douleurs thoraciques atypiques",
            "Évaluation cardiologique avant reprise d'une activité sportive",
        ),
        "histoire": (
            "{P} rapporte une dyspnée pour des efforts modérés (stade II de la NYHA), stable "
            "depuis plusieurs mois, sans orthopnée ni œdème des membres inférieurs.",
            "Pas de douleur thoracique angineuse, pas de malaise ni de syncope. Quelques "
            "palpitations brèves, non invalidantes, sans facteur déclenchant retrouvé.",
            "Le traitement est bien toléré ; {p} ne signale pas de saignement sous "
            "anticoagulant, ni de vertige orthostatique.",
            "L'observance est bonne d'après {p}, qui tient un carnet d'automesure tensionnelle : "
            "moyenne rapportée autour de {ta_auto} mmHg.",
            "Depuis la dernière consultation, {il} a repris une activité physique régulière "
            "(marche rapide 30 minutes, 4 fois par semaine) et réduit sa consommation de sel.",
            "Un épisode de douleur thoracique au repos est survenu il y a trois semaines, "
            "spontanément résolutif en moins de dix minutes, sans consultation aux urgences.",
        ),
        "examen": (
            "Pression artérielle {ta} mmHg aux deux bras, fréquence cardiaque {fc}/min, "
            "régulière. Poids {poids} kg pour {taille} cm (IMC {imc} kg/m²).",
            "Auscultation cardiaque : bruits du cœur réguliers, sans souffle ni bruit surajouté. "
            "Pas de frottement péricardique.",
            "Auscultation pulmonaire libre, pas de crépitants aux bases. Pas de turgescence "
            "jugulaire, pas de reflux hépato-jugulaire.",
            "Pouls périphériques perçus et symétriques. Pas de souffle carotidien ni fémoral. "
            "Absence d'œdème des membres inférieurs.",
        ),
        "examens": (
            "ECG : rythme sinusal à {fc}/min, PR à 160 ms, QRS fins, pas de trouble de la "
            "repolarisation.",
            "Échocardiographie transthoracique : ventricule gauche non dilaté, FEVG estimée à "
            "{fevg} % (Simpson biplan), pas de valvulopathie significative, pressions de "
            "remplissage basses.",
            "Biologie récente : LDL-cholestérol {ldl} g/L, créatinine {creat} µmol/L, kaliémie "
            "{k} mmol/L.",
            "Holter ECG des 24 heures : rythme sinusal de fond, rares extrasystoles "
            "ventriculaires monomorphes, pas de passage en fibrillation atriale.",
        ),
        "conclusion": (
            "Cardiopathie stable sous traitement médical optimal, sans signe d'insuffisance "
            "cardiaque.",
            "Hypertension artérielle insuffisamment contrôlée : objectif tensionnel non atteint "
            "à l'automesure.",
            "Fibrillation atriale paroxystique, score CHA2DS2-VASc à {chads}, anticoagulation "
            "justifiée et bien tolérée.",
            "Pas d'argument pour une cardiopathie ischémique ; les symptômes paraissent "
            "d'origine pariétale.",
        ),
        "cat": (
            "Poursuite du traitement à l'identique.",
            "Majoration du traitement antihypertenseur : amlodipine portée à 10 mg le soir ; "
            "contrôle de l'automesure dans un mois.",
            "Objectif de LDL-cholestérol inférieur à 0,55 g/L : majoration de la statine et "
            "contrôle du bilan lipidique dans 8 semaines.",
            "Réalisation d'une épreuve d'effort dans les prochaines semaines.",
            "Prochaine consultation de cardiologie dans 6 mois, plus tôt en cas de récidive des "
            "symptômes.",
        ),
    },
    "pneumo": {
        "motif": (
            "Suivi d'une BPCO",
            "Toux chronique",
            "Bilan d'un nodule pulmonaire de découverte fortuite",
            "Suspicion de syndrome d'apnées du sommeil",
            "Asthme mal contrôlé",
            "Dyspnée d'effort",
        ),
        "histoire": (
            "{P} décrit une dyspnée stade 2 de l'échelle mMRC, une toux matinale productive et "
            "deux exacerbations traitées en ville au cours de l'année.",
            "Le tabagisme est estimé à 35 paquets-années, sevré depuis deux ans avec l'aide de "
            "substituts nicotiniques.",
            "Ronflements sonores rapportés par le conjoint, somnolence diurne avec un score "
            "d'Epworth à 14/24, céphalées matinales.",
            "Les symptômes d'asthme sont pluri-hebdomadaires avec des réveils nocturnes ; la "
            "technique d'inhalation est imparfaite.",
            "Le nodule a été découvert sur un scanner réalisé pour un bilan de douleur "
            "abdominale ; pas d'altération de l'état général.",
        ),
        "examen": (
            "SpO2 {spo2} % en air ambiant au repos, fréquence respiratoire 16/min, pression "
            "artérielle {ta} mmHg.",
            "Auscultation : murmure vésiculaire diminué aux deux bases, quelques sibilants "
            "expiratoires, pas de crépitants.",
            "Pas de signe d'insuffisance cardiaque droite, pas d'hippocratisme digital. Poids "
            "{poids} kg, IMC {imc} kg/m².",
            "Périmètre cervical à 42 cm, rétrognathie discrète, score de Mallampati à 3.",
        ),
        "examens": (
            "Spirométrie : VEMS à {vems} % de la théorique, rapport VEMS/CVF à {tiff} %, "
            "réversibilité non significative après bronchodilatateur.",
            "Scanner thoracique : nodule solide de 6 mm du lobe supérieur droit, à contours "
            "réguliers, sans adénopathie médiastinale.",
            "Radiographie thoracique : distension thoracique, pas de foyer ni d'épanchement.",
            "Gazométrie artérielle en air ambiant : PaO2 72 mmHg, PaCO2 41 mmHg, pH 7,41.",
        ),
        "conclusion": (
            "BPCO stade 2 de GOLD, groupe B, avec un retentissement fonctionnel modéré.",
            "Asthme partiellement contrôlé, en lien avec une mauvaise technique d'inhalation.",
            "Nodule pulmonaire de 6 mm à faible probabilité de malignité.",
            "Forte suspicion de syndrome d'apnées obstructives du sommeil.",
        ),
        "cat": (
            "Introduction d'une bithérapie bronchodilatatrice de longue durée d'action, "
            "éducation à la technique d'inhalation.",
            "Réhabilitation respiratoire proposée, vaccinations antigrippale et "
            "antipneumococcique à jour.",
            "Scanner thoracique de contrôle dans 12 mois selon les recommandations de la "
            "Fleischner Society.",
            "Polygraphie ventilatoire nocturne programmée.",
            "Revoir en consultation dans 4 mois avec une nouvelle spirométrie.",
        ),
    },
    "gastro": {
        "motif": (
            "Douleurs épigastriques récidivantes",
            "Rectorragies",
            "Suivi d'une maladie de Crohn",
            "Anomalies du bilan hépatique",
            "Dépistage du cancer colorectal après un test immunologique positif",
            "Reflux gastro-œsophagien résistant au traitement",
        ),
        "histoire": (
            "Épigastralgies à type de brûlures, post-prandiales, améliorées partiellement par "
            "les IPP, sans dysphagie ni amaigrissement.",
            "Rectorragies de sang rouge, en fin de selles, intermittentes depuis deux mois, sans "
            "trouble du transit associé.",
            "La maladie est en rémission clinique sous traitement d'entretien, avec 2 selles par "
            "jour sans glaire ni sang.",
            "Cytolyse modérée découverte sur un bilan systématique ; consommation d'alcool "
            "estimée à 3 verres par jour.",
            "Le test immunologique de dépistage est revenu positif ; pas d'antécédent familial "
            "de cancer colorectal.",
        ),
        "examen": (
            "Abdomen souple, sensibilité épigastrique à la palpation profonde, pas de masse, pas "
            "d'hépatosplénomégalie.",
            "Pas d'ictère, pas de signe d'insuffisance hépatocellulaire ni d'hypertension portale.",
            "Toucher rectal : pas de masse, présence d'hémorroïdes internes non thrombosées.",
            "Poids {poids} kg (stable), IMC {imc} kg/m², pression artérielle {ta} mmHg.",
        ),
        "examens": (
            "Bilan hépatique : ASAT 1,8 N, ALAT 2,1 N, GGT 4 N, bilirubine normale, TP 92 %.",
            "Échographie abdominale : foie de taille normale, hyperéchogène, homogène ; pas de "
            "dilatation des voies biliaires.",
            "Calprotectine fécale à 85 µg/g.",
            "Hémoglobine {hb} g/dL, ferritine 18 µg/L.",
        ),
        "conclusion": (
            "Dyspepsie ulcéreuse probable ; recherche d'Helicobacter pylori indiquée.",
            "Rectorragies probablement d'origine hémorroïdaire, mais une coloscopie complète "
            "reste nécessaire.",
            "Maladie de Crohn iléale en rémission clinique et biologique.",
            "Stéatopathie métabolique et alcoolique, sans argument pour une cirrhose.",
        ),
        "cat": (
            "Gastroscopie avec biopsies programmée sous anesthésie générale.",
            "Coloscopie programmée ; consultation d'anesthésie et préparation colique prescrites.",
            "Poursuite du traitement d'entretien, bilan biologique trimestriel.",
            "Réduction de la consommation d'alcool, élastométrie hépatique à programmer.",
            "Revoir en consultation avec les résultats.",
        ),
    },
    "endo": {
        "motif": (
            "Suivi d'un diabète de type 2 sous insuline",
            "Déséquilibre d'un diabète de type 1",
            "Nodule thyroïdien",
            "Hypothyroïdie",
            "Prise en charge d'une obésité",
        ),
        "histoire": (
            "L'HbA1c est à {hba1c} % contre 7,1 % il y a six mois, dans un contexte de baisse de "
            "l'activité physique et de reprise pondérale de 4 kg.",
            "Quelques hypoglycémies nocturnes sont signalées, ressenties, sans resucrage par un "
            "tiers.",
            "Le nodule a été découvert à l'échographie ; pas de dysphagie ni de dysphonie, pas "
            "d'antécédent d'irradiation cervicale.",
            "Asthénie, frilosité et prise de poids depuis plusieurs mois ; TSH à {tsh} mUI/L.",
            "{P} utilise un capteur de glucose en continu : temps dans la cible à 58 %, temps "
            "sous la cible à 3 %.",
        ),
        "examen": (
            "Poids {poids} kg, taille {taille} cm, IMC {imc} kg/m², tour de taille {perim} cm. "
            "Pression artérielle {ta} mmHg.",
            "Examen des pieds : pas de plaie, sensibilité au monofilament conservée, pouls "
            "pédieux perçus.",
            "Palpation cervicale : nodule lobaire droit d'environ 2 cm, mobile à la déglutition, "
            "sans adénopathie.",
            "Pas de lipodystrophie aux sites d'injection.",
        ),
        "examens": (
            "HbA1c {hba1c} %, créatinine {creat} µmol/L, rapport albuminurie/créatininurie à 4 "
            "mg/mmol.",
            "Fond d'œil de l'année : pas de rétinopathie diabétique.",
            "Échographie thyroïdienne : nodule lobaire droit de 21 mm, classé EU-TIRADS 3.",
            "TSH {tsh} mUI/L, T4 libre 12,1 pmol/L.",
        ),
        "conclusion": (
            "Diabète de type 2 déséquilibré, sans complication micro-angiopathique évolutive.",
            "Hypoglycémies nocturnes liées à une dose d'insuline basale trop élevée.",
            "Nodule thyroïdien EU-TIRADS 3 de 21 mm, indication d'une cytoponction.",
            "Hypothyroïdie périphérique insuffisamment substituée.",
        ),
        "cat": (
            "Introduction d'un agoniste du récepteur du GLP-1 en injection hebdomadaire, "
            "titration progressive.",
            "Diminution de l'insuline basale de 2 UI, puis titration selon les glycémies du "
            "réveil.",
            "Cytoponction à l'aiguille fine sous échographie.",
            "Majoration de la lévothyroxine de 25 µg, TSH de contrôle dans 6 semaines.",
            "Inscription au programme d'éducation thérapeutique ; consultation diététique.",
        ),
    },
    "pedia": {
        "motif": (
            "Fièvre depuis 48 heures",
            "Suivi de croissance",
            "Toux et sifflements récidivants",
            "Douleurs abdominales récurrentes",
            "Eczéma étendu",
            "Examen systématique",
        ),
        "histoire": (
            "Fièvre à 39 °C depuis deux jours, bien tolérée, avec une rhinorrhée claire et une "
            "toux. Alimentation et hydratation conservées.",
            "Troisième épisode de toux sifflante cet hiver, améliorée par le salbutamol en "
            "chambre d'inhalation.",
            "Douleurs péri-ombilicales sans horaire particulier, sans vomissement, transit "
            "régulier, sommeil préservé.",
            "Lésions d'eczéma des plis, prurigineuses, perturbant le sommeil malgré les "
            "émollients.",
            "Bon développement psychomoteur, alimentation diversifiée, vaccinations à jour selon "
            "le calendrier vaccinal.",
        ),
        "examen": (
            "Poids {poids} kg, taille {taille} cm, courbes harmonieuses. Température {temp} °C, "
            "fréquence cardiaque {fc}/min.",
            "Enfant tonique, bien coloré, réactif. Pas de signe de déshydratation. Temps de "
            "recoloration inférieur à 3 secondes.",
            "Tympans : otite moyenne aiguë congestive à droite. Pharynx érythémateux. "
            "Auscultation pulmonaire : quelques sibilants diffus.",
            "Abdomen souple, indolore, pas d'hépatosplénomégalie. Examen cutané : plaques "
            "eczématiformes des plis des coudes.",
        ),
        "examens": (
            "Pas d'examen complémentaire nécessaire.",
            "Bandelette urinaire négative.",
            "Test de diagnostic rapide du streptocoque négatif.",
            "Radiographie de thorax : distension thoracique, pas de foyer.",
        ),
        "conclusion": (
            "Infection virale des voies aériennes supérieures compliquée d'une otite moyenne "
            "aiguë droite.",
            "Asthme du nourrisson, contrôle partiel.",
            "Douleurs abdominales fonctionnelles, examen rassurant.",
            "Dermatite atopique modérée.",
            "Croissance staturo-pondérale et développement normaux.",
        ),
        "cat": (
            "Amoxicilline 80 mg/kg/j en deux prises pendant 5 jours, paracétamol si fièvre.",
            "Traitement de fond par corticoïde inhalé, plan d'action écrit remis aux parents.",
            "Dermocorticoïde d'activité modérée en cure courte, émollients quotidiens.",
            "Reconsulter si fièvre persistante au-delà de 48 heures de traitement ou altération "
            "de l'état général.",
            "Prochain examen systématique à l'âge prévu par le calendrier.",
        ),
    },
    "ortho": {
        "motif": (
            "Gonalgie droite mécanique",
            "Coxarthrose gauche invalidante",
            "Suivi à six semaines d'une prothèse totale de hanche",
            "Douleurs de l'épaule droite",
            "Traumatisme du poignet",
            "Paresthésies nocturnes de la main",
        ),
        "histoire": (
            "Douleurs mécaniques évoluant depuis deux ans, avec un périmètre de marche limité à "
            "500 mètres et une gêne pour monter les escaliers.",
            "Échec du traitement médical bien conduit : antalgiques, infiltration et "
            "kinésithérapie.",
            "Suites opératoires simples, marche sans aide technique depuis la quatrième semaine, "
            "cicatrice propre.",
            "Douleurs de l'épaule à l'élévation antérieure, réveils nocturnes, pas de notion de "
            "traumatisme.",
            "Paresthésies des trois premiers doigts, nocturnes, soulagées en secouant la main.",
        ),
        "examen": (
            "Marche avec boiterie d'esquive. Flexion de hanche à {flexion}°, rotation interne "
            "douloureuse et limitée.",
            "Genou sec, stable, flexion à {flexion}°, douleur à la palpation de l'interligne "
            "fémoro-tibial interne.",
            "Cicatrice propre, pas d'inégalité de longueur des membres inférieurs, pas de signe "
            "de phlébite.",
            "Testing de la coiffe : Jobe douloureux et déficitaire, Patte normal. Mobilités "
            "passives conservées.",
            "Signe de Tinel et test de Phalen positifs, pas d'amyotrophie thénarienne.",
        ),
        "examens": (
            "Radiographies : pincement articulaire complet avec ostéophytose et condensation "
            "sous-chondrale.",
            "IRM : rupture transfixiante du tendon du supra-épineux, rétractée au stade 2 de "
            "Patte.",
            "Radiographies de contrôle : implants en place, sans liseré ni signe de descellement.",
            "Électroneuromyogramme : syndrome du canal carpien droit de sévérité modérée.",
        ),
        "conclusion": (
            "Arthrose évoluée avec un retentissement fonctionnel important, indication d'une "
            "arthroplastie.",
            "Rupture de la coiffe des rotateurs accessible à une réparation arthroscopique.",
            "Évolution favorable à six semaines d'une prothèse totale de hanche.",
            "Syndrome du canal carpien droit, indication d'une libération chirurgicale.",
        ),
        "cat": (
            "Intervention programmée ; consultation d'anesthésie à prévoir.",
            "Poursuite de la rééducation en kinésithérapie, reprise progressive de la conduite "
            "automobile.",
            "Information donnée sur les bénéfices et les risques de l'intervention ; délai de "
            "réflexion proposé.",
            "Revoir à trois mois avec des radiographies de contrôle.",
        ),
    },
    "sf": {
        "motif": (
            "Consultation prénatale du sixième mois",
            "Consultation prénatale du huitième mois",
            "Suivi de grossesse à bas risque",
            "Consultation postnatale",
        ),
        "histoire": (
            "Grossesse de {sa} semaines d'aménorrhée, bien vécue, mouvements actifs fœtaux bien "
            "perçus.",
            "Pas de contraction utérine douloureuse, pas de métrorragie, pas de perte de liquide.",
            "Quelques brûlures d'estomac en fin de journée, soulagées par le fractionnement des "
            "repas.",
            "Allaitement maternel exclusif, bien installé, pas de douleur mammaire.",
        ),
        "examen": (
            "Pression artérielle {ta} mmHg, poids {poids} kg, bandelette urinaire négative.",
            "Hauteur utérine {hu} cm, bruits du cœur fœtal perçus à {bcf} battements par minute.",
            "Col postérieur, long et fermé. Pas d'œdème des membres inférieurs.",
        ),
        "examens": (
            "Échographie du deuxième trimestre : morphologie normale, biométries au 45e "
            "percentile, placenta fundique.",
            "Test de O'Sullivan réalisé : glycémie à 1,28 g/L, normal.",
            "Sérologie toxoplasmose négative, surveillance mensuelle poursuivie.",
        ),
        "conclusion": (
            "Grossesse évolutive de déroulement normal.",
            "Suivi à bas risque, pas de facteur de risque identifié.",
        ),
        "cat": (
            "Poursuite de la supplémentation en vitamine D et en acide folique.",
            "Préparation à la naissance et à la parentalité : séances programmées.",
            "Prochaine consultation prénatale dans un mois, avec le bilan sanguin mensuel.",
            "Inscription à la maternité confirmée.",
        ),
    },
}


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


# --------------------------------------------------------------------------- biology

# name, unit, low, high, mean, sd, decimals (None bounds = one-sided reference)
_Analyte = tuple[str, str, float | None, float | None, float, float, int]

_PANELS: dict[str, tuple[str, tuple[_Analyte, ...]]] = {
    "nfs": (
        "Hématologie – Numération formule sanguine",
        (
            ("Hémoglobine", "g/dL", 12.0, 17.0, 13.8, 1.4, 1),
            ("Hématocrite", "%", 36.0, 50.0, 41.0, 3.5, 1),
            ("Volume globulaire moyen", "fL", 80.0, 100.0, 89.0, 5.0, 1),
            ("Leucocytes", "G/L", 4.0, 10.0, 7.0, 1.9, 2),
            ("Polynucléaires neutrophiles", "G/L", 1.8, 7.5, 4.2, 1.4, 2),
            ("Lymphocytes", "G/L", 1.0, 4.0, 2.1, 0.6, 2),
            ("Monocytes", "G/L", 0.2, 1.0, 0.5, 0.15, 2),
            ("Plaquettes", "G/L", 150.0, 400.0, 255.0, 60.0, 0),
        ),
    ),
    "crp": ("Inflammation", (("Protéine C réactive (CRP)", "mg/L", None, 5.0, 4.0, 6.0, 1),)),
    "iono": (
        "Biochimie – Ionogramme et fonction rénale",
        (
            ("Sodium", "mmol/L", 136.0, 145.0, 139.5, 2.5, 0),
            ("Potassium", "mmol/L", 3.5, 5.1, 4.2, 0.4, 1),
            ("Chlorure", "mmol/L", 98.0, 107.0, 102.0, 2.5, 0),
            ("Bicarbonates", "mmol/L", 22.0, 29.0, 25.5, 2.0, 0),
            ("Urée", "mmol/L", 2.5, 7.5, 5.8, 1.6, 1),
            ("Créatinine", "µmol/L", 45.0, 104.0, 80.0, 18.0, 0),
            ("DFG estimé (CKD-EPI)", "mL/min/1,73 m²", 90.0, None, 82.0, 16.0, 0),
        ),
    ),
    "hepat": (
        "Biochimie – Bilan hépatique",
        (
            ("ASAT", "UI/L", None, 35.0, 27.0, 9.0, 0),
            ("ALAT", "UI/L", None, 45.0, 31.0, 13.0, 0),
            ("Gamma-GT", "UI/L", None, 55.0, 42.0, 25.0, 0),
            ("Phosphatases alcalines", "UI/L", 40.0, 130.0, 78.0, 20.0, 0),
            ("Bilirubine totale", "µmol/L", None, 21.0, 11.0, 4.0, 0),
        ),
    ),
    "lipid": (
        "Biochimie – Bilan lipidique",
        (
            ("Cholestérol total", "g/L", None, 2.0, 1.95, 0.35, 2),
            ("HDL-cholestérol", "g/L", 0.4, None, 0.55, 0.12, 2),
            ("LDL-cholestérol (calculé)", "g/L", None, 1.6, 1.18, 0.3, 2),
            ("Triglycérides", "g/L", None, 1.5, 1.25, 0.45, 2),
        ),
    ),
    "gly": (
        "Biochimie – Métabolisme glucidique",
        (
            ("Glycémie à jeun", "g/L", 0.7, 1.1, 1.08, 0.22, 2),
            ("Hémoglobine glyquée (HbA1c)", "%", 4.0, 6.0, 6.6, 0.9, 1),
        ),
    ),
    "thyro": (
        "Hormonologie – Thyroïde",
        (
            ("TSH", "mUI/L", 0.27, 4.2, 2.1, 1.2, 2),
            ("T4 libre", "pmol/L", 12.0, 22.0, 15.5, 2.5, 1),
        ),
    ),
    "inr": (
        "Hémostase",
        (
            ("Taux de prothrombine", "%", 70.0, 100.0, 38.0, 8.0, 0),
            ("INR (zone thérapeutique 2,0 – 3,0)", "", 2.0, 3.0, 2.5, 0.45, 2),
        ),
    ),
    "fer": (
        "Biochimie – Bilan martial et vitamines",
        (
            ("Ferritine", "µg/L", 30.0, 300.0, 110.0, 70.0, 0),
            ("Saturation de la transferrine", "%", 20.0, 40.0, 26.0, 7.0, 0),
            ("25-OH vitamine D", "ng/mL", 30.0, 100.0, 24.0, 9.0, 0),
        ),
    ),
    "prenatal": (
        "Bilan prénatal",
        (
            ("Hémoglobine", "g/dL", 11.0, 15.0, 11.9, 0.9, 1),
            ("Plaquettes", "G/L", 150.0, 400.0, 232.0, 45.0, 0),
            ("Glycémie à jeun", "g/L", None, 0.92, 0.82, 0.06, 2),
            ("Toxoplasmose IgG", "UI/mL", None, 8.0, 1.5, 1.0, 1),
            ("Ferritine", "µg/L", 15.0, 150.0, 32.0, 15.0, 0),
        ),
    ),
}


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


_BIO_COMMENTS = (
    "Résultats contrôlés et validés par le biologiste.",
    "Discrète anémie normocytaire ; un bilan martial est conseillé si non réalisé récemment.",
    "Fonction rénale stable par rapport à l'antériorité.",
    "Syndrome inflammatoire biologique modéré, à interpréter selon le contexte clinique.",
    "INR dans la zone thérapeutique : pas de modification de dose nécessaire en l'absence "
    "d'autre élément.",
    "Hypercholestérolémie LDL au-dessus de l'objectif fixé pour un patient à haut risque "
    "cardiovasculaire.",
    "Carence en vitamine D ; une supplémentation peut être envisagée.",
)


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


# --------------------------------------------------------------------------- imaging

_IMAGING: tuple[tuple[tuple[str, ...], dict[str, tuple[str, ...]]], ...] = (
    (
        ("scanner thoraco",),
        {
            "indication": ("Bilan d'extension.", "Altération de l'état général."),
            "technique": (
                "Acquisition hélicoïdale thoraco-abdomino-pelvienne après injection de produit de "
                "contraste iodé au temps portal.",
            ),
            "resultats": (
                "Parenchyme pulmonaire : micronodule de 4 mm du lobe inférieur gauche, sans "
                "caractère suspect.",
                "Pas d'adénopathie médiastinale, hilaire ou rétropéritonéale.",
                "Foie, rate, pancréas et surrénales sans lésion focale.",
                "Diverticulose sigmoïdienne non compliquée.",
            ),
            "conclusion": (
                "Pas de lésion suspecte décelée. Micronodule pulmonaire non spécifique.",
            ),
        },
    ),
    (
        ("abdominal",),
        {
            "indication": (
                "Douleurs de l'hypocondre droit.",
                "Perturbation du bilan hépatique.",
                "Bilan de douleurs abdominales diffuses.",
            ),
            "technique": (
                "Échographie abdominale par voie sous-costale et intercostale, patient à jeun.",
            ),
            "resultats": (
                "Foie de taille normale (flèche hépatique 14 cm), de contours réguliers, "
                "d'échostructure homogène, discrètement hyperéchogène.",
                "Vésicule biliaire à paroi fine, alithiasique. Voie biliaire principale fine à 4 mm.",
                "Pancréas visualisé dans sa totalité, d'aspect normal. Rate homogène de 10 cm.",
                "Reins de taille normale, bien différenciés, sans dilatation des cavités "
                "pyélocalicielles ni lithiase visible.",
                "Pas d'épanchement intrapéritonéal. Aorte abdominale de calibre normal.",
            ),
            "conclusion": (
                "Stéatose hépatique modérée, sans autre anomalie.",
                "Examen échographique abdominal normal.",
                "Lithiase vésiculaire non compliquée.",
            ),
        },
    ),
    (
        ("thorax",),
        {
            "indication": ("Toux persistante.", "Fièvre et toux.", "Bilan de dyspnée."),
            "technique": ("Radiographie du thorax de face en inspiration, en position debout.",),
            "resultats": (
                "Silhouette cardiaque de taille normale, index cardiothoracique à 0,47.",
                "Pas de foyer de condensation parenchymateuse, pas d'épanchement pleural.",
                "Coupoles diaphragmatiques régulières, culs-de-sac libres.",
                "Hiles de morphologie normale. Pas de pneumothorax.",
                "Discrète distension thoracique avec aplatissement des coupoles.",
            ),
            "conclusion": (
                "Radiographie thoracique sans anomalie significative.",
                "Opacité alvéolaire du lobe inférieur droit évoquant une pneumopathie.",
                "Distension thoracique compatible avec le contexte de BPCO.",
            ),
        },
    ),
    (
        ("irm du genou",),
        {
            "indication": ("Gonalgies mécaniques.", "Blocage méniscal.", "Traumatisme en torsion."),
            "technique": (
                "IRM du genou, séquences T1 et DP Fat Sat dans les trois plans, sans injection.",
            ),
            "resultats": (
                "Fissure horizontale de la corne postérieure du ménisque médial, atteignant la "
                "surface articulaire inférieure.",
                "Ligaments croisés antérieur et postérieur continus, d'aspect normal.",
                "Chondropathie fémoro-tibiale médiale de grade 2, avec un œdème osseux sous-chondral "
                "modéré.",
                "Épanchement intra-articulaire de faible abondance. Pas de kyste poplité.",
            ),
            "conclusion": (
                "Lésion méniscale médiale postérieure et chondropathie médiale de grade 2.",
            ),
        },
    ),
    (
        ("genou",),
        {
            "indication": (
                "Gonalgies mécaniques.",
                "Bilan préopératoire.",
                "Traumatisme en torsion.",
            ),
            "technique": (
                "Clichés de face en charge, profil et incidence fémoro-patellaire à 30°.",
            ),
            "resultats": (
                "Pincement de l'interligne fémoro-tibial médial avec ostéophytose marginale.",
                "Interligne fémoro-tibial latéral conservé. Pas de chondrocalcinose.",
                "Articulation fémoro-patellaire centrée, discrète ostéophytose rotulienne.",
                "Pas de lésion osseuse traumatique.",
            ),
            "conclusion": (
                "Gonarthrose fémoro-tibiale médiale modérée.",
                "Radiographies sans lésion traumatique.",
            ),
        },
    ),
    (
        ("lombaire",),
        {
            "indication": ("Lombosciatique gauche résistante au traitement médical.",),
            "technique": (
                "IRM du rachis lombaire, séquences sagittales T1, T2 et STIR, axiales T2.",
            ),
            "resultats": (
                "Discopathie L4-L5 et L5-S1 avec pincement discal et déshydratation.",
                "Hernie discale postéro-latérale gauche L5-S1 au contact de la racine S1 gauche.",
                "Pas de rétrécissement canalaire significatif. Cône médullaire de signal normal.",
                "Arthrose interapophysaire postérieure étagée.",
            ),
            "conclusion": (
                "Hernie discale L5-S1 gauche en conflit avec la racine S1, concordante avec la "
                "clinique.",
            ),
        },
    ),
    (
        ("thyroïd",),
        {
            "indication": ("Nodule palpable.", "Surveillance d'un nodule thyroïdien."),
            "technique": (
                "Échographie cervicale avec sonde linéaire haute fréquence et doppler couleur.",
            ),
            "resultats": (
                "Thyroïde de volume normal : lobe droit 6 mL, lobe gauche 5 mL, isthme 3 mm.",
                "Nodule lobaire droit médian de 18 × 12 × 10 mm, ovale, isoéchogène, à contours "
                "réguliers, sans microcalcification.",
                "Pas d'adénopathie cervicale suspecte.",
            ),
            "conclusion": (
                "Nodule thyroïdien droit de 18 mm classé EU-TIRADS 3 ; cytoponction non indiquée "
                "sous 20 mm.",
            ),
        },
    ),
    (
        ("mammographie",),
        {
            "indication": ("Dépistage organisé du cancer du sein.", "Surveillance annuelle."),
            "technique": (
                "Mammographie bilatérale, incidences de face et oblique externe, complétée par une "
                "échographie.",
            ),
            "resultats": (
                "Seins de densité de type B (tissu fibroglandulaire épars).",
                "Pas de masse, pas de distorsion architecturale, pas de foyer de microcalcifications "
                "suspectes.",
                "Échographie complémentaire : kyste simple de 6 mm du quadrant supéro-externe gauche.",
                "Creux axillaires sans adénopathie.",
            ),
            "conclusion": (
                "Examen classé ACR 2 à droite et à gauche ; poursuite du dépistage organisé.",
            ),
        },
    ),
    (
        ("pelvien",),
        {
            "indication": ("Douleurs pelviennes.", "Ménométrorragies."),
            "technique": ("Échographie pelvienne par voie sus-pubienne puis endovaginale.",),
            "resultats": (
                "Utérus antéversé de taille normale, endomètre fin à 6 mm.",
                "Myome interstitiel de 22 mm de la paroi postérieure.",
                "Ovaires de taille et d'aspect normaux. Pas d'épanchement dans le cul-de-sac de "
                "Douglas.",
            ),
            "conclusion": ("Myome utérin interstitiel de 22 mm, sans autre anomalie.",),
        },
    ),
    (
        ("doppler veineux",),
        {
            "indication": ("Œdème douloureux du mollet gauche.",),
            "technique": (
                "Échodoppler veineux des membres inférieurs, réseaux profond et superficiel, "
                "bilatéral et comparatif.",
            ),
            "resultats": (
                "Réseau veineux profond perméable et compressible de la veine fémorale commune aux "
                "veines surales.",
                "Pas de thrombose veineuse profonde ni superficielle.",
                "Incontinence ostiale de la grande veine saphène gauche.",
            ),
            "conclusion": (
                "Absence de thrombose veineuse profonde. Insuffisance veineuse superficielle gauche.",
            ),
        },
    ),
    (
        ("cérébral",),
        {
            "indication": (
                "Céphalées inhabituelles.",
                "Chute avec traumatisme crânien sous anticoagulant.",
            ),
            "technique": ("Scanner cérébral sans injection de produit de contraste.",),
            "resultats": (
                "Pas d'hémorragie intra- ou extra-axiale. Pas d'effet de masse.",
                "Leucopathie vasculaire périventriculaire modérée (Fazekas 1).",
                "Système ventriculaire de taille normale, médian.",
                "Pas de fracture de la voûte crânienne.",
            ),
            "conclusion": ("Pas de lésion hémorragique ni de lésion traumatique intracrânienne.",),
        },
    ),
    (
        ("poignet", "cheville", "bassin", "hanche"),
        {
            "indication": ("Traumatisme.", "Douleurs mécaniques.", "Contrôle."),
            "technique": ("Radiographies standard de face et de profil.",),
            "resultats": (
                "Pas de trait de fracture visible. Alignement articulaire conservé.",
                "Trait de fracture extra-articulaire non déplacé.",
                "Structures osseuses de densité normale. Parties molles sans anomalie.",
                "Interlignes articulaires conservés.",
            ),
            "conclusion": (
                "Pas de lésion osseuse traumatique.",
                "Fracture non déplacée ; traitement orthopédique à discuter.",
            ),
        },
    ),
    (
        ("ostéodensitométrie",),
        {
            "indication": ("Bilan d'ostéoporose post-ménopausique.",),
            "technique": (
                "Absorptiométrie biphotonique au rachis lombaire et à l'extrémité supérieure des "
                "deux fémurs.",
            ),
            "resultats": (
                "Rachis lombaire L1-L4 : T-score à -2,7 DS.",
                "Col fémoral gauche : T-score à -2,1 DS ; hanche totale : T-score à -1,8 DS.",
            ),
            "conclusion": ("Ostéoporose densitométrique au rachis lombaire.",),
        },
    ),
    (
        ("échocardiographie", "transthoracique"),
        {
            "indication": (
                "Dyspnée d'effort.",
                "Souffle systolique.",
                "Bilan d'une fibrillation atriale.",
            ),
            "technique": (
                "Échocardiographie transthoracique, coupes standard, doppler pulsé, continu et "
                "couleur.",
            ),
            "resultats": (
                "Ventricule gauche non dilaté, non hypertrophié, FEVG à {fevg} % (Simpson biplan).",
                "Pas de trouble de la cinétique segmentaire.",
                "Rétrécissement aortique lâche, surface estimée à 1,6 cm². Insuffisance mitrale "
                "minime.",
                "Oreillette gauche modérément dilatée (indexée à 38 mL/m²). Pas d'épanchement "
                "péricardique.",
                "Pressions pulmonaires estimées normales, veine cave inférieure compliante.",
            ),
            "conclusion": (
                "Fonction systolique ventriculaire gauche conservée, valvulopathie minime.",
                "Dysfonction systolique ventriculaire gauche modérée.",
            ),
        },
    ),
    (
        ("troncs supra-aortiques",),
        {
            "indication": ("Bilan de l'athérome chez un patient à haut risque cardiovasculaire.",),
            "technique": ("Échodoppler cervical des axes carotidiens et vertébraux.",),
            "resultats": (
                "Plaque calcifiée du bulbe carotidien droit, sténose estimée à 30 % (critères NASCET).",
                "Carotide interne gauche sans sténose hémodynamiquement significative.",
                "Flux vertébraux antérogrades et symétriques.",
            ),
            "conclusion": ("Athérome carotidien non sténosant.",),
        },
    ),
    (
        ("obstétricale",),
        {
            "indication": ("Échographie de dépistage recommandée.",),
            "technique": ("Échographie par voie abdominale.",),
            "resultats": (
                "Grossesse monofœtale évolutive, présentation céphalique. Activité cardiaque "
                "régulière.",
                "Biométries : périmètre crânien et périmètre abdominal au 40e percentile, longueur "
                "fémorale au 50e percentile.",
                "Morphologie fœtale sans anomalie décelée dans les limites de l'examen.",
                "Placenta fundique, normalement inséré. Liquide amniotique de quantité normale.",
            ),
            "conclusion": ("Échographie sans anomalie, croissance fœtale harmonieuse.",),
        },
    ),
)
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


# --------------------------------------------------------------------------- operative report

_OP_STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "arthroscopie",
        (
            "Voies d'abord antéro-latérale et antéro-médiale. Exploration systématique.",
            "Lésion horizontale de la corne postérieure du ménisque médial.",
            "Méniscectomie partielle a minima à la pince et au shaver, régularisation du mur méniscal.",
            "Lavage articulaire abondant. Fermeture cutanée aux points séparés.",
        ),
    ),
    (
        "matériel",
        (
            "Reprise de la cicatrice antérieure.",
            "Ablation de la plaque et des vis sans difficulté.",
            "Lavage, contrôle radioscopique. Fermeture.",
        ),
    ),
    (
        "hanche",
        (
            "Voie d'abord postéro-latérale. Capsulotomie et luxation postérieure de la hanche.",
            "Ostéotomie du col fémoral à 1 cm au-dessus du petit trochanter.",
            "Préparation du cotyle par fraisages successifs jusqu'à la taille 52. Mise en place "
            "d'une cupule double mobilité sans ciment.",
            "Préparation fémorale par râpes successives. Essais, vérification de la stabilité et des "
            "longueurs.",
            "Mise en place d'une tige fémorale sans ciment et d'une tête en céramique. Réduction.",
            "Réparation capsulaire et des pelvi-trochantériens. Fermeture plan par plan sur un drain "
            "de Redon.",
        ),
    ),
    (
        "genou",
        (
            "Voie d'abord para-patellaire médiale sous garrot pneumatique.",
            "Coupe tibiale à l'aide du guide extra-médullaire, puis coupes fémorales avec le guide "
            "intra-médullaire.",
            "Équilibrage ligamentaire en flexion et en extension. Essais satisfaisants.",
            "Scellement des implants définitifs. Resurfaçage patellaire non réalisé.",
            "Lâcher du garrot, hémostase soigneuse. Fermeture plan par plan.",
        ),
    ),
    (
        "radius",
        (
            "Voie d'abord antérieure de Henry. Exposition du foyer de fracture.",
            "Réduction sous contrôle de l'amplificateur de brillance.",
            "Ostéosynthèse par plaque antérieure verrouillée, 3 vis proximales et 6 vis épiphysaires.",
            "Contrôle radioscopique satisfaisant de face et de profil. Fermeture.",
        ),
    ),
    (
        "coiffe",
        (
            "Installation en position semi-assise. Arthroscopie glénohumérale par voie postérieure.",
            "Rupture transfixiante du supra-épineux de 2 cm, rétractée au stade 2.",
            "Acromioplastie, avivement du footprint.",
            "Réinsertion en double rang par deux ancres. Testing satisfaisant.",
        ),
    ),
    (
        "canal carpien",
        (
            "Incision palmaire de 2 cm dans l'axe du quatrième rayon.",
            "Section complète du ligament annulaire antérieur du carpe sous contrôle de la vue.",
            "Nerf médian aplati, hyperhémié, sans névrome. Pas de neurolyse.",
            "Fermeture cutanée par points séparés, pansement peu compressif.",
        ),
    ),
)


def _body_operatoire(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    t = ctx.title_l
    steps = next((s for k, s in _OP_STEPS if k in t), _OP_STEPS[0][1])
    start = rng.randint(8, 15)
    duration = rng.randint(35, 130)
    end_min = start * 60 + rng.randint(0, 30) + duration
    return [
        _table(
            [
                ["Date de l'intervention", _fr(ctx.day), "Durée", f"{duration} minutes"],
                ["Opérateur", ctx.author_name, "Aide", rng.choice(_COLLEAGUES)],
                ["Anesthésiste", rng.choice(_COLLEAGUES), "IBODE", rng.choice(_NURSES)],
                [
                    "Anesthésie",
                    rng.choice(["Générale", "Rachianesthésie", "Bloc plexique échoguidé"]),
                    "Fin",
                    f"{end_min // 60:02d}h{end_min % 60:02d}",
                ],
            ],
            [3.6 * cm, 5.2 * cm, 2.0 * cm, 6.2 * cm],
            header=False,
            bold=[(0, r) for r in range(4)] + [(2, r) for r in range(4)],
        ),
        _h("Indication"),
        _p(
            ctx.fill("{P}, âgé{e} de {age}, présente ")
            + ctx.one(
                (
                    "une pathologie symptomatique résistante au traitement médical bien conduit.",
                    "une lésion traumatique nécessitant une prise en charge chirurgicale.",
                    "une gêne fonctionnelle importante retentissant sur la vie quotidienne.",
                )
            )
            + " L'information sur le bénéfice attendu et les risques a été délivrée ; "
            "le consentement éclairé a été recueilli."
        ),
        _h("Installation"),
        _p(
            rng.choice(
                (
                    "Décubitus latéral, appuis pubien et sacré. Antibioprophylaxie par céfazoline 2 g "
                    "à l'induction. Check-list HAS réalisée.",
                    "Décubitus dorsal, garrot à la racine du membre. Antibioprophylaxie selon le "
                    "protocole du service. Check-list HAS réalisée.",
                )
            )
        ),
        _h("Description de l'intervention"),
        *[_p(f"{i}. {s}") for i, s in enumerate(steps, 1)],
        _h("Incidents peropératoires"),
        _p(
            rng.choice(
                (
                    "Aucun incident.",
                    "Aucun incident. Saignement estimé à 200 mL.",
                    "Saignement modéré contrôlé par l'hémostase, sans transfusion.",
                )
            )
        ),
        _h("Suites immédiates"),
        *_bullets(
            rng.sample(
                [
                    "Appui complet autorisé d'emblée, selon la douleur.",
                    "Anticoagulation préventive par énoxaparine 4000 UI/jour pendant 35 jours.",
                    "Radiographie de contrôle en salle de réveil satisfaisante.",
                    "Glaçage et surélévation du membre. Antalgiques de palier 1 et 2.",
                    "Ablation des fils ou agrafes à J14 par l'infirmier(ère) à domicile.",
                    "Consultation de contrôle à six semaines avec radiographie.",
                ],
                4,
            )
        ),
    ]


# --------------------------------------------------------------------------- hospitalisation

_HOSPIT: dict[str, tuple[dict[str, str], ...]] = {
    "cardio": (
        {
            "motif": "Décompensation cardiaque globale",
            "diag": (
                "Insuffisance cardiaque à fraction d'éjection altérée, décompensée sur une "
                "fibrillation atriale rapide"
            ),
            "evol": (
                "Amélioration rapide sous diurétiques intraveineux avec une perte de 4 kg. "
                "Ralentissement de la fibrillation atriale sous bêtabloquant. Introduction d'une "
                "anticoagulation orale. Échocardiographie : FEVG à {fevg} %."
            ),
        },
        {
            "motif": "Syndrome coronarien aigu sans sus-décalage du segment ST",
            "diag": (
                "Infarctus du myocarde sans sus-décalage de ST, angioplastie de la coronaire droite"
            ),
            "evol": (
                "Coronarographie à H18 : sténose serrée de la coronaire droite moyenne traitée par "
                "angioplastie avec un stent actif. Double antiagrégation plaquettaire pour 12 "
                "mois. Pas de récidive douloureuse."
            ),
        },
    ),
    "pneumo": (
        {
            "motif": "Exacerbation de BPCO",
            "diag": "Exacerbation sévère de BPCO d'origine virale",
            "evol": (
                "Aérosols de bronchodilatateurs, corticothérapie orale 5 jours, oxygénothérapie à "
                "2 L/min sevrée à J4. Kinésithérapie respiratoire quotidienne."
            ),
        },
        {
            "motif": "Pneumopathie aiguë communautaire",
            "diag": "Pneumopathie franche lobaire aiguë du lobe inférieur droit",
            "evol": (
                "Antibiothérapie par amoxicilline intraveineuse puis relais oral, apyrexie à J3. "
                "Décroissance de la CRP de 180 à {crp} mg/L."
            ),
        },
    ),
    "gastro": (
        {
            "motif": "Hémorragie digestive haute",
            "diag": "Ulcère bulbaire Forrest IIb, Helicobacter pylori positif",
            "evol": (
                "Gastroscopie à H12 : ulcère bulbaire traité par injection d'adrénaline et clips. "
                "Transfusion de 2 culots globulaires. Éradication d'Helicobacter pylori débutée."
            ),
        },
        {
            "motif": "Pancréatite aiguë",
            "diag": "Pancréatite aiguë biliaire, score de Balthazar C",
            "evol": (
                "Réhydratation, antalgiques, réalimentation précoce bien tolérée. Cholécystectomie "
                "programmée à distance."
            ),
        },
    ),
    "endo": (
        {
            "motif": "Déséquilibre glycémique",
            "diag": "Déséquilibre d'un diabète de type 2 avec hyperglycémie sans cétose",
            "evol": (
                "Mise en place d'un schéma basal-bolus, éducation thérapeutique à "
                "l'autosurveillance et à l'adaptation des doses. Glycémies dans la cible à la "
                "sortie."
            ),
        },
    ),
    "pedia": (
        {
            "motif": "Bronchiolite aiguë",
            "diag": "Bronchiolite aiguë à VRS",
            "evol": (
                "Désobstruction rhinopharyngée, alimentation fractionnée, oxygénothérapie aux "
                "lunettes 48 heures. Bonne reprise alimentaire à la sortie."
            ),
        },
        {
            "motif": "Gastro-entérite avec déshydratation",
            "diag": "Gastro-entérite aiguë virale avec déshydratation à 6 %",
            "evol": (
                "Réhydratation par soluté de réhydratation orale sur sonde nasogastrique puis per "
                "os. Reprise de poids, selles moulées à la sortie."
            ),
        },
    ),
    "ortho": (
        {
            "motif": "Fracture du col du fémur",
            "diag": "Fracture cervicale vraie du fémur, traitée par prothèse intermédiaire",
            "evol": (
                "Intervention à J1. Verticalisation à J2, marche avec déambulateur à J4. Pas de "
                "complication thromboembolique. Orientation en soins médicaux et de réadaptation."
            ),
        },
        {
            "motif": "Arthroplastie programmée",
            "diag": "Coxarthrose primitive, prothèse totale de hanche",
            "evol": (
                "Suites simples, appui complet d'emblée, cicatrice propre. Sortie à domicile avec "
                "kinésithérapie."
            ),
        },
    ),
}
_HOSPIT_DEFAULT: tuple[dict[str, str], ...] = (
    {
        "motif": "Altération de l'état général",
        "diag": "Altération de l'état général sur infection urinaire",
        "evol": (
            "Antibiothérapie adaptée à l'antibiogramme, réhydratation, amélioration clinique. "
            "Bilan gériatrique réalisé."
        ),
    },
)


def _hospit_scenario(ctx: _Ctx) -> dict[str, str]:
    kind = ctx.kind if ctx.adult else "pedia"
    return ctx.rng.choice(list(_HOSPIT.get(kind, _HOSPIT_DEFAULT)))


def _body_hospitalisation(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    sc = _hospit_scenario(ctx)
    stay = rng.randint(2, 9)
    entry = ctx.day - timedelta(days=stay)
    service = ctx.author_profession
    return [
        _kv(
            "Séjour :", f"du {_fr(entry)} au {_fr(ctx.day)} ({stay} jours) – {ctx.author_structure}"
        ),
        _kv(
            "Mode d'entrée :",
            rng.choice(["par les urgences", "programmée", "transfert d'un autre établissement"]),
        ),
        _kv(
            "Mode de sortie :",
            rng.choice(
                [
                    "retour à domicile",
                    "retour à domicile avec passage infirmier",
                    "soins médicaux et de réadaptation",
                ]
            ),
        ),
        _kv("Service :", service),
        _h("Motif d'hospitalisation"),
        _p(sc["motif"] + "."),
        _h("Antécédents"),
        *_bullets(_antecedents(ctx)),
        _h("Histoire de la maladie"),
        _p(
            ctx.fill("{P}, âgé{e} de {age}, est hospitalisé{e} pour ")
            + _lower_first(sc["motif"])
            + ctx.one(
                (
                    ", dans un contexte d'aggravation progressive depuis une semaine.",
                    ", d'installation brutale la veille de l'admission.",
                    ", après échec de la prise en charge ambulatoire.",
                )
            )
        ),
        _h("Examen clinique à l'entrée"),
        _p(
            ctx.fill(
                "Pression artérielle {ta} mmHg, fréquence cardiaque {fc}/min, SpO2 {spo2} %, "
                "température {temp} °C, poids {poids} kg."
            )
        ),
        _h("Évolution dans le service"),
        _p(ctx.fill(sc["evol"])),
        _h("Examens complémentaires"),
        _table(
            [
                ["Examen", "Entrée", "Sortie"],
                ["Hémoglobine (g/dL)", ctx.w["hb"], _num(rng.uniform(10.5, 14.5), 1)],
                ["CRP (mg/L)", str(rng.randint(20, 190)), ctx.w["crp"]],
                ["Créatinine (µmol/L)", str(rng.randint(70, 160)), ctx.w["creat"]],
                ["Potassium (mmol/L)", _num(rng.uniform(3.3, 5.4), 1), ctx.w["k"]],
            ],
            [7.0 * cm, 5.0 * cm, 5.0 * cm],
        ),
        _h("Diagnostic principal"),
        _p(sc["diag"] + "."),
        _h("Traitement de sortie"),
        _drug_table(ctx, _treatment(ctx), status=True),
        _h("Suivi proposé"),
        *_bullets(
            rng.sample(
                [
                    "Consultation de suivi dans le service dans un mois.",
                    "Contrôle biologique (ionogramme, créatinine) dans une semaine par le laboratoire de "
                    "ville.",
                    "Consultation chez le médecin traitant dans les 7 jours suivant la sortie.",
                    "Passage infirmier quotidien pour la surveillance et l'aide à la prise des "
                    "traitements.",
                    "Kinésithérapie à domicile.",
                ],
                3,
            )
        ),
    ]


def _body_lettre_liaison(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    if ctx.kind == "ide":
        return [
            _p(
                ctx.fill("Lettre de liaison concernant {civname}, {ne} le ")
                + _fr(ctx.birth_date)
                + ", suivi(e) à domicile par notre cabinet infirmier."
            ),
            _h("Soins en cours"),
            *_bullets(
                ctx.pick(
                    (
                        "Préparation du pilulier hebdomadaire et aide à la prise des traitements.",
                        "Surveillance glycémique capillaire matin et soir, injection d'insuline le soir.",
                        "Pansement d'ulcère de jambe gauche tous les deux jours (surface {plaie} cm²).",
                        "Bas de contention posés le matin, retirés le soir.",
                        "Surveillance des paramètres : TA {ta} mmHg, FC {fc}/min, poids {poids} kg.",
                    ),
                    3,
                )
            ),
            _h("Autonomie et environnement"),
            _p(_lifestyle(ctx)),
            _h("Points de vigilance"),
            *_bullets(
                ctx.pick(
                    (
                        "Risque de chute : deux chutes sans gravité au cours des trois derniers mois.",
                        "Appétit diminué, perte de 2 kg en un mois.",
                        "Troubles mnésiques débutants, oublis de traitement.",
                        "Douleur cotée {eva}/10 lors des soins de pansement.",
                    ),
                    2,
                )
            ),
            _h("Traitement en cours"),
            _drug_table(ctx, _treatment(ctx)),
        ]
    if ctx.kind == "mg":
        return [
            _p(f"{_greeting(ctx)}"),
            _p(
                ctx.fill(
                    "Je vous adresse {civname}, âgé{e} de {age}, que je suis depuis "
                    "plusieurs années. Vous trouverez ci-dessous les éléments utiles "
                    "à sa prise en charge."
                )
            ),
            _h("Antécédents"),
            *_bullets(_antecedents(ctx)),
            _p(ctx.one(_ALLERGIES)),
            _h("Traitement en cours"),
            _drug_table(ctx, _treatment(ctx)),
            _h("Situation actuelle"),
            _p(_lifestyle(ctx)),
            _p(
                ctx.fill(
                    "Dernières constantes : TA {ta} mmHg, FC {fc}/min, poids {poids} kg. "
                    "Dernière HbA1c {hba1c} %, DFG {dfg} mL/min/1,73 m²."
                )
            ),
            _h("Directives anticipées et personne de confiance"),
            _p(
                rng.choice(
                    (
                        "Des directives anticipées ont été rédigées ; une copie est jointe au dossier.",
                        "Pas de directives anticipées rédigées à ce jour ; le sujet a été abordé.",
                    )
                )
                + " Personne de confiance désignée : "
                + rng.choice(("son fils.", "sa fille.", "son conjoint.", "sa sœur."))
            ),
            Spacer(1, 4),
            _p(_closing(ctx)),
        ]
    sc = _hospit_scenario(ctx)
    return [
        _p(
            ctx.fill(
                "{civname}, âgé{e} de {age}, a été pris{e} en charge dans notre service "
                "et sort ce jour, "
            )
            + _fr(ctx.day)
            + "."
        ),
        _h("Motif de prise en charge"),
        _p(sc["motif"] + "."),
        _h("Synthèse du séjour"),
        _p(ctx.fill(sc["evol"])),
        _h("Traitement de sortie"),
        _drug_table(ctx, _treatment(ctx), status=True),
        _h("Suites à donner"),
        *_bullets(
            rng.sample(
                [
                    "Consultation chez le médecin traitant dans les 7 jours.",
                    "Contrôle biologique à une semaine (NFS, ionogramme, créatinine).",
                    "Rendez-vous de consultation dans le service dans un mois (convocation envoyée).",
                    "Soins infirmiers à domicile : pansement tous les deux jours.",
                    "Compte rendu d'hospitalisation détaillé à suivre.",
                ],
                3,
            )
        ),
        _h("Points de vigilance"),
        _p(
            rng.choice(
                (
                    "Surveillance du poids : reconsulter en cas de prise de plus de 2 kg en 3 jours.",
                    "Risque hémorragique sous double antiagrégation plaquettaire.",
                    "Surveillance de la cicatrice et de la température.",
                )
            )
        ),
    ]


# --------------------------------------------------------------------------- prescriptions

_ORDO: tuple[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], ...] = (
    (
        ("biologie",),
        (
            ("NFS, plaquettes", "à jeun"),
            ("Ionogramme sanguin, créatinine avec DFG estimé", ""),
            ("Bilan lipidique (EAL)", "à jeun depuis 12 heures"),
            ("HbA1c", ""),
            ("TSH", ""),
            ("Bilan hépatique : ASAT, ALAT, GGT, PAL, bilirubine", ""),
            ("Rapport albuminurie/créatininurie sur échantillon", ""),
        ),
    ),
    (
        ("soins infirmiers",),
        (
            ("Soins infirmiers à domicile, y compris dimanches et jours fériés", "pendant 1 mois"),
            ("Préparation et administration des médicaments per os", "une fois par semaine"),
            ("Surveillance de la glycémie capillaire", "matin et soir"),
            ("Injection sous-cutanée d'insuline", "le soir"),
            ("Pansement simple de plaie", "tous les deux jours jusqu'à cicatrisation"),
        ),
    ),
    (
        ("kinésithérapie",),
        (
            ("Séances de rééducation du membre opéré", "{seances} séances, 3 par semaine"),
            ("Renforcement musculaire et travail proprioceptif", ""),
            ("Balnéothérapie si possible", ""),
            ("Bilan-diagnostic kinésithérapique en début et fin de traitement", ""),
        ),
    ),
    (
        ("matériel", "autosurveillance"),
        (
            ("Lecteur de glycémie", "1"),
            ("Bandelettes réactives", "150 par mois"),
            ("Lancettes", "150 par mois"),
            ("Stylo auto-piqueur", "1"),
            ("Aiguilles pour stylo injecteur 4 mm", "100 par mois"),
        ),
    ),
    (
        ("préparation colique",),
        (
            (
                "Macrogol 3350 avec électrolytes",
                "2 litres la veille au soir et 2 litres le matin de l'examen",
            ),
            ("Régime sans résidus", "pendant les 3 jours précédant l'examen"),
        ),
    ),
    (
        ("insulin",),
        (
            (
                "Insuline glargine 100 UI/mL, stylo prérempli",
                "16 UI le soir, adaptation selon le protocole",
            ),
            (
                "Insuline asparte 100 UI/mL, stylo prérempli",
                "selon le schéma d'adaptation, avant chaque repas",
            ),
            ("Glucagon 1 mg", "en cas d'hypoglycémie sévère"),
        ),
    ),
    (
        ("antalgiques",),
        (
            ("Paracétamol 1 g", "1 comprimé toutes les 6 heures"),
            ("Tramadol 50 mg", "1 gélule toutes les 8 heures si douleur non calmée"),
            (
                "Énoxaparine 4000 UI anti-Xa/0,4 mL",
                "1 injection sous-cutanée par jour pendant 35 jours",
            ),
            ("Numération plaquettaire", "2 fois par semaine pendant 1 mois"),
        ),
    ),
    (
        ("anticoagul",),
        (
            ("Apixaban 5 mg", "1 comprimé matin et soir"),
            ("NFS, créatinine", "dans 1 mois puis tous les 6 mois"),
        ),
    ),
    (
        ("inhalé",),
        (
            (
                "Budésonide/formotérol 200/6 µg, poudre pour inhalation",
                "2 inhalations matin et soir",
            ),
            (
                "Salbutamol 100 µg/dose, suspension pour inhalation",
                "2 bouffées en cas de gêne respiratoire",
            ),
            ("Chambre d'inhalation", "1"),
        ),
    ),
    (
        ("supplémentation", "prénatal"),
        (
            ("Acide folique 0,4 mg", "1 comprimé par jour jusqu'à 12 semaines d'aménorrhée"),
            ("Colécalciférol 100 000 UI", "1 ampoule au septième mois"),
            (
                "Bilan prénatal mensuel : sérologie toxoplasmose, recherche d'agglutinines "
                "irrégulières",
                "",
            ),
        ),
    ),
    (
        ("fièvre",),
        (
            (
                "Paracétamol 2,4 % suspension buvable",
                "1 dose-poids toutes les 6 heures si fièvre, sans dépasser 4 prises par jour",
            ),
            ("Sérum physiologique en unidoses", "lavage de nez 4 à 6 fois par jour"),
        ),
    ),
)


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


# --------------------------------------------------------------------------- letters

_REFERRAL_REASONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "cardio",
        (
            "douleurs thoraciques d'effort récentes",
            "palpitations récidivantes",
            "hypertension artérielle résistante à une trithérapie",
        ),
    ),
    (
        "pneumo",
        (
            "toux chronique",
            "dyspnée d'effort progressive",
            "suspicion de syndrome d'apnées du sommeil",
        ),
    ),
    (
        "gastro",
        ("troubles digestifs persistants", "rectorragies", "perturbation du bilan hépatique"),
    ),
    ("endo", ("déséquilibre glycémique persistant", "nodule thyroïdien palpable")),
    ("orthop", ("gonalgies invalidantes", "douleurs de hanche mécaniques")),
    ("pédiat", ("cassure de la courbe staturale", "toux récidivante")),
    ("imagerie", ("exploration de douleurs abdominales", "bilan de lombalgies persistantes")),
    ("analyses", ("bilan d'une asthénie", "surveillance biologique d'un traitement")),
    (
        "infirmiers",
        (
            "surveillance et soins à domicile après une hospitalisation",
            "pansement d'ulcère de jambe",
        ),
    ),
    (
        "kinésithérapie",
        ("rééducation d'une lombalgie chronique", "rééducation après une entorse de cheville"),
    ),
    ("médication", ("revue d'une polymédication", "difficultés d'observance")),
    ("grossesse", ("suivi d'une grossesse de déroulement normal",)),
)


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


_REPLY_MARKERS = (
    "réponse",
    "retour sur",
    "suite au",
    "suite à",
    "suivi après",
    "suivi postopératoire",
)


def _body_courrier(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    t = ctx.title_l
    intro: str
    paragraphs: list[str]
    ctx.w.setdefault("n", str(rng.randint(6, 11)))
    if any(w in t for w in _REPLY_MARKERS):
        intro = (
            ctx.fill(
                "Je vous remercie pour votre courrier concernant {civname}, "
                "âgé{e} de {age}, que j'ai revu{e} le "
            )
            + _fr(ctx.day)
            + "."
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
    elif ctx.kind == "mg":
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
    elif ctx.kind == "ide":
        intro = ctx.fill(
            "Je me permets de vous transmettre des informations concernant "
            "{civname}, que nous suivons à domicile."
        )
        paragraphs = ctx.pick(
            (
                "Depuis une semaine, nous constatons une baisse de l'appétit et une fatigue "
                "inhabituelle.",
                "Les glycémies capillaires sont élevées le soir, entre 2,10 et 2,60 g/L, malgré une "
                "bonne observance.",
                "La plaie de jambe évolue lentement : surface mesurée à {plaie} cm², fond fibrineux, "
                "berges propres.",
                "La tension artérielle relevée ce jour est de {ta} mmHg, la fréquence cardiaque de "
                "{fc}/min.",
                "{P} signale des douleurs cotées à {eva}/10 lors des soins. Pourriez-vous réévaluer "
                "le traitement antalgique ?",
                "Nous vous proposons de faire le point lors de votre prochaine visite à domicile.",
            ),
            4,
        )
    elif ctx.kind == "kine":
        intro = ctx.fill(
            "Veuillez trouver ci-dessous le bilan de {civname}, pris{e} en "
            "charge sur votre prescription."
        )
        paragraphs = ctx.pick(
            (
                "Bilan initial : douleur cotée {eva}/10, flexion active à {flexion}°, déficit de "
                "force du quadriceps, boiterie à la marche.",
                "Après {seances} séances : amélioration nette de la mobilité, marche sans aide "
                "technique sur 1 km.",
                "Le travail a porté sur la récupération des amplitudes, le renforcement musculaire "
                "et l'équilibre.",
                "Objectifs restants : reprise des escaliers sans appui et retour aux activités de "
                "loisir.",
                "Je propose de poursuivre par une série de 10 séances complémentaires.",
            ),
            4,
        )
    elif ctx.kind == "pharma":
        intro = ctx.fill(
            "Dans le cadre du bilan partagé de médication de {civname}, "
            "je vous transmets la synthèse de notre entretien."
        )
        paragraphs = ctx.pick(
            (
                "{P} prend actuellement {n} médicaments par jour, répartis en trois prises.",
                "L'observance est bonne, mais la technique d'inhalation doit être revue.",
                "Association à surveiller : anticoagulant oral et anti-inflammatoire pris en "
                "automédication ; conseils donnés pour l'éviter.",
                "Un traitement par inhibiteur de la pompe à protons est poursuivi sans réévaluation "
                "depuis plus d'un an : une réévaluation de son indication est proposée.",
                "Un plan de prise a été remis et expliqué.",
            ),
            4,
        )
    elif ctx.kind == "sf":
        intro = ctx.fill(
            "Je suis {civname} pour sa grossesse, actuellement à {sa} semaines d'aménorrhée."
        )
        paragraphs = ctx.pick(
            (
                "Le déroulement de la grossesse est normal, la dernière échographie est sans anomalie.",
                "La pression artérielle est à {ta} mmHg et la bandelette urinaire négative.",
                "Le projet d'allaitement maternel est confirmé ; les séances de préparation à la "
                "naissance sont en cours.",
                "Je vous tiendrai informé(e) du déroulement de l'accouchement.",
            ),
            3,
        )
    else:
        intro = (
            ctx.fill(
                "Je vous remercie de m'avoir adressé {civname}, âgé{e} de {age}, "
                "que j'ai vu{e} en consultation le "
            )
            + _fr(ctx.day)
            + "."
        )
        consult = _consult_bank(ctx)
        paragraphs = [
            *ctx.pick(consult["histoire"], 2),
            *ctx.pick(consult["examen"], 1),
            "En conclusion : " + _lower_first(ctx.one(consult["conclusion"])),
            *ctx.pick(consult["cat"], 2),
        ]
    out: list[Flowable] = [_p(_greeting(ctx)), _p(intro)]
    out += [_p(ctx.fill(par)) for par in paragraphs]
    out += [
        _h("Traitement en cours"),
        _drug_table(ctx, _treatment(ctx)),
        Spacer(1, 6),
        _p(_closing(ctx)),
    ]
    return out


# --------------------------------------------------------------------------- other documents


def _body_autre(ctx: _Ctx) -> list[Flowable]:
    rng = ctx.rng
    t = ctx.title_l
    if "électrocardiogramme" in t or "holter ecg" in t:
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
            _table(
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
            ),
            _h("Conclusion"),
            _p(
                rng.choice(
                    (
                        "Enregistrement sans trouble du rythme ni de la conduction significatif.",
                        "Extrasystolie ventriculaire peu abondante, sans corrélation avec les symptômes.",
                        "Deux accès de fibrillation atriale paroxystique asymptomatiques.",
                    )
                )
            ),
        ]
    if "effort" in t:
        return [
            _h("Protocole"),
            _p(
                "Épreuve d'effort sur bicyclette ergométrique, paliers de 30 W "
                "toutes les 2 minutes, sous traitement habituel."
            ),
            _h("Résultats"),
            _table(
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
            ),
            _h("Conclusion"),
            _p(
                rng.choice(
                    (
                        "Épreuve d'effort maximale, cliniquement et électriquement négative.",
                        "Épreuve sous-maximale, non conclusive ; une scintigraphie myocardique est "
                        "proposée.",
                    )
                )
            ),
        ]
    if "mapa" in t or "tensionnel" in t:
        return [
            _h("Résultats de la mesure ambulatoire sur 24 heures"),
            _table(
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
            ),
            _h("Conclusion"),
            _p(
                rng.choice(
                    (
                        "Hypertension artérielle diurne confirmée, profil dipper conservé.",
                        "Pression artérielle contrôlée sur les 24 heures sous traitement.",
                    )
                )
            ),
        ]
    if "respiratoire" in t:
        cvf = rng.randint(70, 105)
        return [
            _h("Spirométrie et pléthysmographie"),
            _table(
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
            ),
            _h("Conclusion"),
            _p(
                rng.choice(
                    (
                        "Trouble ventilatoire obstructif non réversible, compatible avec une BPCO.",
                        "Trouble ventilatoire obstructif significativement réversible, évocateur d'asthme.",
                        "Explorations fonctionnelles respiratoires normales.",
                    )
                )
            ),
        ]
    if "polygraphie" in t:
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
    if "coloscopie" in t or "gastroscopie" in t:
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
                        "Polype sessile de 8 mm du côlon sigmoïde, réséqué à l'anse froide, "
                        "récupéré."
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
    if "plaie" in t:
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
    if "glycémique" in t:
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
            _table(
                rows, [2.6 * cm, 2.8 * cm, 2.9 * cm, 2.8 * cm, 2.5 * cm, 3.4 * cm], font_size=8.2
            ),
            _h("Commentaire"),
            _p(
                "Glycémies du soir régulièrement au-dessus de l'objectif ; pas d'hypoglycémie "
                "relevée. Une adaptation du traitement est à discuter."
            ),
        ]
    if "rééducation" in t:
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
    if "conciliation" in t or "plan de prise" in t:
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
    if "soins infirmiers" in t:
        return _body_lettre_liaison(ctx)
    if "croissance" in t or "certificat de santé" in t:
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
    if "certificat" in t:
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
    if "éducation" in t:
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
    if "prénatal" in t:
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
    return [
        _p(ctx.fill("Document de suivi concernant {civname}, âgé{e} de {age}.")),
        _h("Observations"),
        _p(" ".join(ctx.pick(_CONSULT["mg"]["histoire"], 3))),
        _h("Conduite à tenir"),
        *_bullets(ctx.pick(_CONSULT["mg"]["cat"], 2)),
    ]


_BODIES: dict[str, Callable[[_Ctx], list[Flowable]]] = {
    "cr_consultation": _body_consultation,
    "biologie": _body_biologie,
    "cr_imagerie": _body_imagerie,
    "cr_operatoire": _body_operatoire,
    "cr_hospitalisation": _body_hospitalisation,
    "lettre_liaison": _body_lettre_liaison,
    "ordonnance": _body_ordonnance,
    "courrier": _body_courrier,
    "autre": _body_autre,
}


# --------------------------------------------------------------------------- annexes


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


_ADVICE = (
    "Prenez vos médicaments chaque jour à la même heure, sans les arrêter sans avis médical.",
    "En cas d'oubli d'une prise, ne doublez pas la dose suivante.",
    "Pesez-vous deux fois par semaine, le matin à jeun, et notez le résultat.",
    "Limitez votre consommation de sel à 6 grammes par jour.",
    "Pratiquez une activité physique adaptée, par exemple 30 minutes de marche par jour.",
    "Consultez rapidement en cas de fièvre supérieure à 38,5 °C, d'essoufflement inhabituel, "
    "de douleur thoracique ou de saignement.",
    "En cas d'urgence, appelez le 15 (SAMU) ou le 112.",
    "Apportez ce document et vos ordonnances à chaque consultation.",
    "Signalez tout nouveau traitement, y compris sans ordonnance, à votre pharmacien.",
    "Buvez environ 1,5 litre d'eau par jour, sauf restriction médicale.",
)


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


# --------------------------------------------------------------------------- page furniture


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


# --------------------------------------------------------------------------- entry point


def render_pdf(
    *,
    title: str,
    type_label: str,
    author_name: str,
    author_profession: str,
    author_structure: str,
    author_city: str,
    patient_name: str,
    patient_birth_date: date,
    patient_ins: str | None,
    clinical_date: date,
    rng: random.Random,
    min_pages: int = 2,
    patient_identity_status: str | None = None,
) -> bytes:
    """A multi-page French medical PDF fitting ``type_label`` and the author's profession.

    ``type_label`` is a document type label or code of :mod:`sisra.common.doctypes`;
    ``author_profession`` may be a profession ("Cardiologue", "Infirmière") or an RPPS
    specialty ("Cardiologie et maladies vasculaires"). The sex, when needed for French
    agreement, is read from the INS. The INS is printed only when ``patient_identity_status``
    is « qualifiée » (INS référentiel: :func:`sisra.common.ins.shareable_ins`). The result
    has between ``max(2, min_pages)`` and ``max(4, min_pages)`` pages, its metadata title and
    author set.
    """
    low = max(2, min_pages)
    high = max(4, min_pages)
    # The letter fills (about) the first page; annexes follow from page 2, about two blocks
    # per page. Count the pages once built and adjust the number of blocks if needed.
    blocks = (5 * (rng.randint(low, high) - 1) + 1) // 2
    one_per_page = False
    state = rng.getstate()
    tried: set[tuple[int, bool]] = set()
    data = b""
    for _attempt in range(10):
        # Compose from the same random state each time, so that adjusting the annexes does
        # not change the rest of the document (and the output stays deterministic).
        rng.setstate(state)
        tried.add((blocks, one_per_page))
        story, head, stamp = _compose(
            title=title,
            type_label=type_label,
            author_name=author_name,
            author_profession=author_profession,
            author_structure=author_structure,
            author_city=author_city,
            patient_name=patient_name,
            patient_birth_date=patient_birth_date,
            patient_ins=patient_ins,
            patient_identity_status=patient_identity_status,
            clinical_date=clinical_date,
            rng=rng,
            blocks=blocks,
            one_per_page=one_per_page,
        )
        data, pages = _build(story, head, type_label, stamp)
        if low <= pages <= high:
            break
        step = -1 if pages > high else 1
        if blocks + step < 1 or (blocks + step, one_per_page) in tried:
            # Going back and forth between too few and too many pages: one block per page.
            if one_per_page:
                break
            one_per_page = True
            blocks = max(1, low - 1)
        else:
            blocks += step
    return data


def _compose(
    *,
    title: str,
    type_label: str,
    author_name: str,
    author_profession: str,
    author_structure: str,
    author_city: str,
    patient_name: str,
    patient_birth_date: date,
    patient_ins: str | None,
    patient_identity_status: str | None,
    clinical_date: date,
    rng: random.Random,
    blocks: int,
    one_per_page: bool,
) -> tuple[list[Flowable], _Letterhead, str]:
    kind = _kind(author_profession)
    name = author_name.strip()
    if kind in _DOCTOR_KINDS and not name.lower().startswith(("dr ", "dr.", "docteur", "pr ")):
        name = f"Dr {name}"
    sex = _sex_from_ins(patient_ins)
    age = _age(patient_birth_date, clinical_date)
    type_code = _type_code(type_label, title)
    ctx = _Ctx(
        rng=rng,
        title=title,
        type_code=type_code,
        kind=kind,
        author_name=name,
        author_profession=author_profession,
        author_structure=author_structure,
        author_city=author_city,
        patient_name=patient_name,
        birth_date=patient_birth_date,
        ins=shareable_ins(patient_ins, patient_identity_status),
        day=clinical_date,
        sex=sex,
        age=age,
    )
    ctx.w = _words(rng, sex, age, patient_name)
    ctx.w.update({"day": _fr(clinical_date), "author": name})

    postcode = rng.choice(_POSTCODES.get(author_city, ("",)))
    street = f"{rng.randint(1, 140)} {rng.choice(_STREETS)}"
    head = _Letterhead(
        structure=author_structure,
        author=name,
        profession=author_profession,
        address=", ".join(x for x in (street, f"{postcode} {author_city}".strip()) if x),
        phone=f"Tél. {_phone(rng)} – Secrétariat du lundi au vendredi",
        where_when=f"{author_city}, le {french_date(clinical_date)}"
        if author_city
        else f"Le {french_date(clinical_date)}",
        footer_patient=f"{patient_name} – né(e) le {_fr(patient_birth_date)} – {title}",
        title=title,
    )
    story: list[Flowable] = [
        Paragraph(_esc(title), _H1),
        _p(f"Type de document : {type_label}", _SMALL),
        Spacer(1, 4),
        _patient_block(ctx),
        Spacer(1, 8),
        *_BODIES.get(type_code, _body_autre)(ctx),
        *_signature(ctx),
    ]
    makers = _annex_makers(type_code)
    for i in range(blocks):
        if i == 0:
            story.append(_AnnexBreak())
        elif one_per_page:
            story.append(PageBreak())
        else:
            story.append(Spacer(1, 10))
        story.append(Paragraph(_esc(f"Annexe {i + 1}"), _ANNEX_LABEL))
        story.extend(makers[i % len(makers)](ctx))
    stamp = f"D:{clinical_date:%Y%m%d}{rng.randint(8, 19):02d}{rng.randint(0, 59):02d}00+00'00'"
    return story, head, stamp


def _build(story: list[Flowable], head: _Letterhead, subject: str, stamp: str) -> tuple[bytes, int]:
    buffer = BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=LATER_TOP,
        bottomMargin=BOTTOM,
        title=_clean(head.title),
        author=_clean(head.author),
        subject=_clean(subject),
        creator="sisra – région de démonstration",
        producer="sisra demo (reportlab)",
        keywords="document médical fictif, démonstration",
        invariant=1,
        pageCompression=0,
    )
    first = Frame(
        MARGIN_X,
        BOTTOM,
        TEXT_W,
        PAGE_H - FIRST_TOP - BOTTOM,
        id="first",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    later = Frame(
        MARGIN_X,
        BOTTOM,
        TEXT_W,
        PAGE_H - LATER_TOP - BOTTOM - 0.4 * cm,
        id="later",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    doc.addPageTemplates(
        [
            PageTemplate(
                id="first", frames=[first], onPage=_draw_first(head), autoNextPageTemplate="later"
            ),
            PageTemplate(id="later", frames=[later], onPage=_draw_later(head)),
        ]
    )
    doc.build(story, canvasmaker=_canvas_maker(stamp))
    return buffer.getvalue(), doc.page

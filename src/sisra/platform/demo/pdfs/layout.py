"""Page geometry, paragraph styles and the flowables the demo letters are made of.

Only the standard Helvetica fonts are used; their WinAnsi encoding covers French (é, è, ê,
à, ç, œ, «, », ’, –, °, µ, ², ½). Dynamic text is sanitised to that character set."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, Paragraph

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

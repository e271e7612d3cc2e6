"""Realistic French medical PDF documents for the demo region, made with reportlab.

:func:`render_pdf` composes a 2-4 page document (letterhead, patient block, body fitting the
document type and the author's specialty, signature, annexes, "Page X / Y" footers) from
sentence banks, tables of values and prescription lines. The output only depends on the
arguments and on the state of ``rng``: the same inputs give the same bytes.

One module per kind of letter (:mod:`.consultation`, :mod:`.biology`, :mod:`.imaging`,
:mod:`.operative`, :mod:`.hospital`, :mod:`.prescription`, :mod:`.letters`, :mod:`.other`),
the shared pieces in :mod:`.layout`, :mod:`.context`, :mod:`.clinical`, :mod:`.annexes` and
:mod:`.furniture`; the sentence banks themselves are JSON files in ``demo/data/``.
"""

from sisra.platform.demo.pdfs.render import render_pdf

__all__ = ["render_pdf"]

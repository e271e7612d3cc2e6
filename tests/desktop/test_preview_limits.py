"""MonSisra's hover preview caps its pixels too (a received PDF may declare any page size)."""

import io
from pathlib import Path

from sisra.common.pagefit import MAX_PIXELS
from sisra.desktop import preview


def _pdf(path: Path, width_pt: float, height_pt: float) -> Path:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(width_pt, height_pt))
    c.showPage()
    c.save()
    path.write_bytes(buf.getvalue())
    return path


def test_a_3_6_by_2000_pt_page_renders_a_small_image(tmp_path: Path) -> None:
    image = preview.render_first_page(_pdf(tmp_path / "long.pdf", 3.6, 2000))
    assert image.height() <= preview.MAX_HEIGHT_PX and image.width() <= preview.WIDTH_PX
    assert image.width() * image.height() <= MAX_PIXELS
    wide = preview.render_first_page(_pdf(tmp_path / "wide.pdf", 2000, 3.6))
    assert wide.height() >= 1 and wide.width() <= preview.WIDTH_PX
    a4 = preview.render_first_page(_pdf(tmp_path / "a4.pdf", 595, 842))
    assert a4.width() == preview.WIDTH_PX

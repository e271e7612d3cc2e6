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


def test_a_page_slow_to_draw_fails_within_the_bound(tmp_path: Path) -> None:
    """A page of a million path operators takes PDFium minutes: the render process is ended
    after the preview's wall-clock limit and the preview is unavailable, with a reason."""
    import time

    import pytest

    from sisra.common.pdfrender import RenderFailed
    from support.documents import slow_to_draw_pdf

    path = tmp_path / "slow.pdf"
    path.write_bytes(slow_to_draw_pdf())
    started = time.monotonic()
    with pytest.raises(RenderFailed) as failed:
        preview.render_first_page(path)
    assert time.monotonic() - started < 15
    assert failed.value.timed_out and "trop long" in failed.value.message


def test_a_file_that_is_not_a_pdf_fails_with_a_reason(tmp_path: Path) -> None:
    import pytest

    from sisra.common.pdfrender import RenderFailed

    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n garbage")
    with pytest.raises(RenderFailed) as failed:
        preview.render_first_page(path)
    assert not failed.value.timed_out and "aperçu" in failed.value.message

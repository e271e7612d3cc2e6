"""First-page previews of PDFs (pypdfium2), rendered on the server for the web pages.

The rendered size is fitted into a box and capped in pixels *before* PDFium renders
(:func:`sisra.common.pagefit.preview_scale`): a page's size is whatever the uploaded file says.
"""

import io

import pypdfium2 as pdfium

from sisra.common.pagefit import PageSizeError, preview_scale
from sisra.platform.errors import SisraError

WIDTH_PX = 360
MAX_HEIGHT_PX = 3 * WIDTH_PX


class PreviewUnavailable(SisraError):
    status = 422
    code = "preview_unavailable"


def first_page_png(data: bytes, width: int = WIDTH_PX) -> bytes:
    """The first page as a PNG at most ``width`` × :data:`MAX_HEIGHT_PX` pixels."""
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise _unavailable() from exc
    try:
        page = pdf[0]
        w, h = page.get_size()
        scale = preview_scale(w, h, width, max_height_px=MAX_HEIGHT_PX)
        image = page.render(scale=scale).to_pil()
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
        return out.getvalue()
    except (pdfium.PdfiumError, PageSizeError, IndexError) as exc:
        raise _unavailable() from exc
    finally:
        pdf.close()


def _unavailable() -> PreviewUnavailable:
    return PreviewUnavailable(
        "L'aperçu de ce document ne peut pas être affiché ; ouvrez le PDF pour le consulter."
    )

"""First-page previews of PDFs (pypdfium2), rendered on the server for the web pages."""

import io

import pypdfium2 as pdfium

WIDTH_PX = 360


def first_page_png(data: bytes, width: int = WIDTH_PX) -> bytes:
    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[0]
        scale = width / page.get_width()
        image = page.render(scale=scale).to_pil()
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
        return out.getvalue()
    finally:
        pdf.close()

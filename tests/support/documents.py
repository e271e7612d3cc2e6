"""Documents for the tests: real PDFs, and a share through the API."""

import secrets
from typing import Any

from support.personas import Persona


def share_request(
    client: Any, sender: Persona, patient_id: Any, recipients: list[Any], data: bytes, **meta: Any
) -> Any:
    """POST /api/v1/documents through ``client`` (a TestClient or an httpx.Client)."""
    import json
    from datetime import date

    metadata = {
        "patient_id": str(patient_id),
        "title": meta.pop("title", "Compte rendu de consultation"),
        "type_code": meta.pop("type_code", "cr_consultation"),
        "clinical_date": meta.pop("clinical_date", date.today().isoformat()),
        "recipients": [str(getattr(r, "id", r)) for r in recipients],
        **meta,
    }
    return client.post(
        "/api/v1/documents",
        headers=sender.headers,
        data={"metadata": json.dumps(metadata)},
        files={"file": ("document.pdf", data, "application/pdf")},
    )


def make_pdf(text_line: str = "Compte rendu", pages: int = 1, padding: int = 0) -> bytes:
    """A real PDF made with reportlab; ``padding`` adds incompressible bytes to grow it."""
    import io

    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pageCompression=0)
    for i in range(pages):
        c.drawString(72, 720, f"{text_line} — page {i + 1}")
        c.showPage()
    if padding:
        # an incompressible comment block keeps the file a valid PDF
        c.setKeywords(secrets.token_hex(padding // 2))
    c.save()
    return buf.getvalue()


def slow_to_draw_pdf(shapes: int = 200_000) -> bytes:
    """A valid one-page PDF of about 100 KB whose page takes minutes to draw: ``shapes``
    filled page-sized triangles (a million path operators), in one compressed content
    stream. Each triangle makes PDFium rasterize the whole page again (136 s on a 2-core test
    machine with the default 200,000). The corners vary a little (a fixed seed) so that the
    stream compresses to tens of kilobytes rather than a few."""
    import random
    import zlib

    pick = random.Random(18).choice
    content = b"".join(
        b"0 0 m 595 842 l %d 842 l h f\n" % pick((0, 1, 2, 3)) for _ in range(shapes)
    )
    stream = zlib.compress(content, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)

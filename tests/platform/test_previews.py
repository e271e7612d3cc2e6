"""Previews cap the pixels they render: a tiny PDF may declare an absurd page size."""

import io
from typing import Any

from PIL import Image

from conftest import share_request as share
from sisra.common.pagefit import MAX_PIXELS
from sisra.platform.web import preview


def hostile_pdf(width_pt: float = 3.6, height_pt: float = 2000) -> bytes:
    """A valid one-page PDF of a few hundred bytes whose page is 3.6 × 2000 pt: rendered
    « 360 px wide » it is a 360 × 200,000 px bitmap."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(width_pt, height_pt), pageCompression=1)
    c.showPage()
    c.save()
    return buf.getvalue()


def web_session(client: Any, persona: Any, target: str) -> Any:
    """Open ``target`` in ``client`` logged in through a one-time web ticket (as MonSisra)."""
    r = client.post("/api/v1/auth/web-ticket", headers=persona.headers, json={"target": target})
    assert r.status_code == 200, r.text
    return client.get("/web/ticket/" + r.json()["url"].split("/web/ticket/", 1)[1])


def _size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as im:
        return im.size


def test_the_web_preview_of_a_hostile_page_size_is_small(
    app_client, make_pro, make_patient
) -> None:
    author, rec = make_pro(), make_pro()
    data = hostile_pdf()
    assert len(data) < 2000
    r = share(app_client, author, make_patient(), [rec], data)
    assert r.status_code == 201, r.text
    doc_id = r.json()["document"]["id"]
    web_session(app_client, rec, "/accueil")
    png = app_client.get(f"/web/documents/{doc_id}/apercu.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    width, height = _size(png.content)
    assert height <= preview.MAX_HEIGHT_PX and width <= preview.WIDTH_PX
    assert width * height <= MAX_PIXELS


def test_every_shape_of_page_stays_in_the_box() -> None:
    for w, h in [(3.6, 2000), (2000, 3.6), (14_400, 14_400), (0.5, 0.5), (595, 842)]:
        width, height = _size(preview.first_page_png(hostile_pdf(w, h)))
        assert 1 <= width <= preview.WIDTH_PX and 1 <= height <= preview.MAX_HEIGHT_PX, (w, h)
        assert width * height <= MAX_PIXELS
    # an ordinary A4 page keeps its ordinary preview: 360 px wide
    assert _size(preview.first_page_png(hostile_pdf(595, 842)))[0] == preview.WIDTH_PX


def test_a_pdf_pdfium_cannot_open_is_a_clear_refusal() -> None:
    import pytest

    with pytest.raises(preview.PreviewUnavailable) as err:
        preview.first_page_png(b"%PDF-1.4\n garbage")
    assert err.value.code == "preview_unavailable" and "aperçu" in err.value.message

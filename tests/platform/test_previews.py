"""Previews cap the pixels they render: a tiny PDF may declare an absurd page size."""

import io
import uuid

from PIL import Image

from sisra.common.pagefit import MAX_PIXELS
from sisra.platform.web import preview
from support.documents import share_request as share
from support.personas import PASSWORD
from support.web import web_session


def hostile_pdf(width_pt: float = 3.6, height_pt: float = 2000) -> bytes:
    """A valid one-page PDF of a few hundred bytes whose page is 3.6 × 2000 pt: rendered
    « 360 px wide » it is a 360 × 200,000 px bitmap."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(width_pt, height_pt), pageCompression=1)
    c.showPage()
    c.save()
    return buf.getvalue()


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


# --- a page that takes minutes to draw (issue 18, point 2) ---------------------------------

DRAW_BOUND_S = 15  # the preview answers « Aperçu indisponible » within this
WRITE_BOUND_S = 5  # a login or a share made meanwhile answers within this


def _render_processes() -> int:
    import psutil

    count = 0
    for child in psutil.Process().children(recursive=True):
        try:
            if "sisra.common.pdfrender" in " ".join(child.cmdline()):
                count += 1
        except psutil.Error:
            pass
    return count


def test_a_page_slow_to_draw_is_unavailable_in_seconds_and_stalls_no_one(
    app_client, live_server, make_pro, make_patient, pdf
) -> None:
    """A 100 KB page of a million path operators (136 s for PDFium on the test machine):
    the web preview answers « Aperçu indisponible » within 15 s, and a login and a share made
    meanwhile answer within 5 s (before, on SQLite, the preview's transaction held the write
    lock for the whole drawing and they failed after 30 s)."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from support.documents import slow_to_draw_pdf

    author, rec, other = make_pro(), make_pro(), make_pro()
    slow = slow_to_draw_pdf()
    assert 26_000 <= len(slow) <= 128_000
    r = share(app_client, author, make_patient(), [rec], slow, title="Plan")
    assert r.status_code == 201, r.text
    doc_id = r.json()["document"]["id"]
    patient = make_patient()

    with httpx.Client(base_url=live_server.url, timeout=60) as browser:
        web_session(browser, rec, "/accueil")
        peak = 0
        stop = threading.Event()

        def watch() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, _render_processes())
                time.sleep(0.05)

        def fetch_preview() -> tuple[float, httpx.Response]:
            started = time.monotonic()
            answer = browser.get(f"/web/documents/{doc_id}/apercu.png")
            return time.monotonic() - started, answer

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        with (
            ThreadPoolExecutor(1) as pool,
            httpx.Client(base_url=live_server.url, timeout=60) as api,
        ):
            pending = pool.submit(fetch_preview)
            # the drawing has started (its process is there) before the writes are made
            deadline = time.monotonic() + DRAW_BOUND_S
            while peak == 0 and not pending.done() and time.monotonic() < deadline:
                time.sleep(0.05)
            started = time.monotonic()
            login = api.post(
                "/api/v1/auth/login", json={"identifier": other.login, "password": PASSWORD}
            )
            login_s = time.monotonic() - started
            assert login.status_code == 200, login.text
            assert login_s < WRITE_BOUND_S, f"a login took {login_s:.1f} s during the preview"
            started = time.monotonic()
            shared = share(api, author, patient, [other], pdf("Pendant l'aperçu"))
            share_s = time.monotonic() - started
            assert shared.status_code == 201, shared.text
            assert share_s < WRITE_BOUND_S, f"a share took {share_s:.1f} s during the preview"
            took, preview_answer = pending.result(timeout=DRAW_BOUND_S + 60)
        stop.set()
        watcher.join()

        assert took < DRAW_BOUND_S, f"the preview took {took:.1f} s"
        assert preview_answer.status_code == 422, preview_answer.text
        body = preview_answer.json()
        assert body["code"] == "preview_unavailable"
        assert body["message"].startswith("Aperçu indisponible") and "trop long" in body["message"]
        assert peak == 1  # drawn in a separate process, not in the server's

        # remembered: hovering it again does not draw it again
        previews = live_server.app.state.previews
        remembered = previews.remembered(previews.key(uuid.UUID(doc_id), _sha256(slow)))
        assert remembered is not None and remembered.png is None and remembered.too_long
        again = browser.get(f"/web/documents/{doc_id}/apercu.png")
        assert again.status_code == 422 and again.json()["code"] == "preview_unavailable"
        assert _render_processes() == 0


def test_previews_draw_at_most_two_at_a_time_and_each_answers_in_bounded_time(
    app_client, live_server, make_pro, make_patient
) -> None:
    """Four slow pages hovered at once: never more than two render processes (the others wait
    for a place, or are told to retry), and every answer comes within the bound."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from support.documents import slow_to_draw_pdf

    author, rec = make_pro(), make_pro()
    patient = make_patient()
    ids = []
    for n in range(4):
        r = share(app_client, author, patient, [rec], slow_to_draw_pdf(200_000 + n))
        assert r.status_code == 201, r.text
        ids.append(r.json()["document"]["id"])
    assert live_server.app.state.settings.preview_concurrency == 2

    with httpx.Client(base_url=live_server.url, timeout=60) as browser:
        web_session(browser, rec, "/accueil")
        peak = 0
        stop = threading.Event()

        def watch() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, _render_processes())
                time.sleep(0.05)

        def fetch(doc_id: str) -> tuple[float, httpx.Response]:
            started = time.monotonic()
            answer = browser.get(f"/web/documents/{doc_id}/apercu.png")
            return time.monotonic() - started, answer

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(fetch, ids))
        stop.set()
        watcher.join()
    assert 1 <= peak <= 2
    for took, answer in answers:
        assert took < DRAW_BOUND_S, f"a preview took {took:.1f} s"
        assert answer.status_code in (422, 503), answer.text
        assert answer.json()["message"].startswith("Aperçu indisponible")


def test_a_remembered_preview_is_still_behind_the_access_check(
    app_client, make_pro, make_patient, pdf
) -> None:
    """The in-memory cache is looked up only after the caller's access was checked: a
    professional outside the document's circle is refused although its PNG is remembered."""
    author, rec, outsider = make_pro(), make_pro(), make_pro()
    r = share(app_client, author, make_patient(), [rec], pdf("Résultats"))
    assert r.status_code == 201, r.text
    doc_id = r.json()["document"]["id"]
    web_session(app_client, rec, "/accueil")
    first = app_client.get(f"/web/documents/{doc_id}/apercu.png")
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    again = app_client.get(f"/web/documents/{doc_id}/apercu.png")
    assert again.status_code == 200 and again.content == first.content
    web_session(app_client, outsider, "/accueil")
    refused = app_client.get(f"/web/documents/{doc_id}/apercu.png")
    assert refused.status_code == 403 and refused.headers["content-type"] != "image/png"


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_the_render_process_gets_none_of_the_servers_secrets(monkeypatch) -> None:
    """The child that draws an untrusted page sees no SISRA_* setting (the master key may be
    one): were PDFium exploited, it would find no key in its environment."""
    import threading
    import time

    import psutil
    import pytest

    from sisra.common import pdfrender
    from support.documents import slow_to_draw_pdf

    monkeypatch.setenv("SISRA_MASTER_KEY", "c2VjcmV0LWRlLXRlc3Q=")
    seen: list[dict[str, str]] = []

    def spy() -> None:
        deadline = time.monotonic() + 10
        while not seen and time.monotonic() < deadline:
            for child in psutil.Process().children():
                try:
                    if "sisra.common.pdfrender" in " ".join(child.cmdline()):
                        seen.append(child.environ())
                except psutil.Error:
                    pass
            time.sleep(0.02)

    watcher = threading.Thread(target=spy)
    watcher.start()
    with pytest.raises(pdfrender.RenderFailed):
        pdfrender.render_first_page(slow_to_draw_pdf(), 360, 1080, pdfrender.RenderLimits(3))
    watcher.join()
    assert seen, "the render process was not seen"
    assert not [name for name in seen[0] if name.startswith("SISRA_")]

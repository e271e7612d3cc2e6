"""First-page previews of PDFs, rendered on the server for the web pages.

The rendered size is fitted into a box and capped in pixels *before* PDFium renders
(:func:`sisra.common.pagefit.preview_scale`): a page's size is whatever the uploaded file says.
What a page costs to *draw* is whatever the file says too (a page of a million filled
triangles takes minutes): PDFium runs in a separate process with CPU-time, memory and
wall-clock limits (:mod:`sisra.common.pdfrender`), never in the server's.

:class:`Previews` (one per server process, ``app.state.previews``) adds what a server needs
around that:

- at most ``preview_concurrency`` renders at a time; a request that cannot start one within
  the timeout is answered « busy » (not remembered), so previews cannot exhaust memory or the
  request threads;
- one render per document at a time: concurrent requests for the same preview wait for it;
- results are remembered *in memory only* (never written to disk), keyed by document id,
  content digest and width: the PNG for ``preview_cache_s``, a document too long to draw or
  unreadable for ``preview_failure_cache_s`` (hovering it again costs nothing). The cache is
  consulted only *after* the route has checked the caller's access to the document and
  audited it, like the PDF itself, so it hands no one a preview they could not fetch.

The caller renders outside any database transaction (see ``pages_record.record_preview``).
"""

import io
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from PIL import Image

from sisra.common import pdfrender
from sisra.platform.errors import SisraError
from sisra.platform.settings import Settings

WIDTH_PX = 360
MAX_HEIGHT_PX = 3 * WIDTH_PX

UNAVAILABLE = "Aperçu indisponible : "


class PreviewUnavailable(SisraError):
    """No preview for this document; ``too_long``: it takes too long to draw; ``transient``:
    not the document's fault (not remembered)."""

    status = 422
    code = "preview_unavailable"

    def __init__(self, message: str, *, too_long: bool = False, transient: bool = False) -> None:
        super().__init__(message)
        self.too_long = too_long
        self.transient = transient


class PreviewBusy(SisraError):
    status = 503
    code = "preview_busy"


def first_page_png(
    data: bytes, width: int = WIDTH_PX, limits: pdfrender.RenderLimits | None = None
) -> bytes:
    """The first page as a PNG at most ``width`` × :data:`MAX_HEIGHT_PX` pixels, drawn in a
    bounded process; :class:`PreviewUnavailable` when it cannot be (unreadable, too long)."""
    try:
        bitmap = pdfrender.render_first_page(data, width, MAX_HEIGHT_PX, limits)
    except pdfrender.RenderFailed as exc:
        raise PreviewUnavailable(
            UNAVAILABLE + exc.message, too_long=exc.timed_out, transient=exc.transient
        ) from exc
    image = Image.frombytes("RGB", (bitmap.width, bitmap.height), bitmap.rgb)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


Key = tuple[uuid.UUID, str, int]


@dataclass
class Remembered:
    """A rendered preview, or a failure, remembered until ``expires`` (monotonic)."""

    png: bytes | None  # None: a remembered failure
    message: str
    too_long: bool
    expires: float

    @property
    def size(self) -> int:
        return len(self.png or b"") + 200


class Previews:
    """Bounded, remembered renders for one server process (see the module)."""

    def __init__(self, settings: Settings) -> None:
        self.limits = pdfrender.RenderLimits(
            timeout_s=settings.preview_timeout_s, memory_mb=settings.preview_memory_mb
        )
        self.cache_s = settings.preview_cache_s
        self.failure_cache_s = settings.preview_failure_cache_s
        self.max_bytes = settings.preview_cache_mb * 1024 * 1024
        self._slots = threading.BoundedSemaphore(settings.preview_concurrency)
        self._lock = threading.Lock()
        self._cache: OrderedDict[Key, Remembered] = OrderedDict()
        self._bytes = 0
        self._rendering: dict[Key, threading.Event] = {}

    @staticmethod
    def key(document_id: uuid.UUID, sha256: str, width: int = WIDTH_PX) -> Key:
        return (document_id, sha256, width)

    def remembered(self, key: Key) -> Remembered | None:
        """What is remembered of ``key``'s preview (:meth:`answer` gives it), if anything."""
        with self._lock:
            return self._get(key)

    def png(self, key: Key, data: bytes) -> bytes:
        """The preview of ``data`` (the document of ``key``), rendered at most once at a time."""
        while True:
            with self._lock:
                entry = self._get(key)
                if entry is not None:
                    return self.answer(entry)
                running = self._rendering.get(key)
                if running is None:
                    mine = self._rendering[key] = threading.Event()
                    break
            # someone renders this very preview: wait for their result
            if not running.wait(self.limits.timeout_s * 2 + 1):
                raise self._busy()
        try:
            entry = self._render(key, data)
        finally:
            with self._lock:
                del self._rendering[key]
            mine.set()
        return self.answer(entry)

    def _render(self, key: Key, data: bytes) -> Remembered:
        if not self._slots.acquire(timeout=self.limits.timeout_s):
            raise self._busy()
        try:
            png = first_page_png(data, key[2], self.limits)
            entry = Remembered(png, "", False, time.monotonic() + self.cache_s)
        except PreviewUnavailable as exc:
            if exc.transient:
                raise
            expires = time.monotonic() + self.failure_cache_s
            entry = Remembered(None, exc.message, exc.too_long, expires)
        finally:
            self._slots.release()
        with self._lock:
            self._put(key, entry)
        return entry

    @staticmethod
    def answer(entry: Remembered) -> bytes:
        """The PNG, or the remembered failure raised again."""
        if entry.png is None:
            raise PreviewUnavailable(entry.message, too_long=entry.too_long)
        return entry.png

    @staticmethod
    def _busy() -> PreviewBusy:
        return PreviewBusy(
            UNAVAILABLE + "le serveur prépare déjà d'autres aperçus ; réessayez dans un instant.",
            extra={"retry_after_s": 2},
        )

    # the cache itself (callers hold self._lock) -----------------------------------------------
    def _get(self, key: Key) -> Remembered | None:
        entry = self._cache.get(key)
        if entry is None:
            return None
        if entry.expires <= time.monotonic():
            self._drop(key)
            return None
        self._cache.move_to_end(key)
        return entry

    def _put(self, key: Key, entry: Remembered) -> None:
        if key in self._cache:
            self._drop(key)
        if entry.size > self.max_bytes:
            return
        self._cache[key] = entry
        self._bytes += entry.size
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._cache)))

    def _drop(self, key: Key) -> None:
        self._bytes -= self._cache.pop(key).size

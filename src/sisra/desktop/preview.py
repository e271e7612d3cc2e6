"""First-page previews shown when hovering a document's title.

PDFium never runs in MonSisra's process: each render is a short-lived child process with
CPU-time, memory and wall-clock limits (:mod:`sisra.common.pdfrender`), started from a pool of
:data:`CONCURRENT_RENDERS` threads, never from the UI thread. A page too long to draw (a
received PDF may be a page of a million shapes) gives « Aperçu indisponible » after at most
:data:`LIMITS` ``.timeout_s`` and leaves the other previews free. Images are cached (most
recently used first), so hovering back over a row is instant; a failure is remembered too,
so hovering the same document again does not draw it again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QPoint, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QWidget

from sisra.common import pdfrender
from sisra.desktop.tasks import describe_error, run_task

WIDTH_PX = 340
MAX_HEIGHT_PX = 3 * WIDTH_PX
CACHE_SIZE = 64
# the platform's defaults (SISRA_PREVIEW_TIMEOUT_S, _MEMORY_MB, _CONCURRENCY)
LIMITS = pdfrender.RenderLimits(timeout_s=5.0, memory_mb=512)
CONCURRENT_RENDERS = 2


def render_first_page(
    path: Path, width: int = WIDTH_PX, limits: pdfrender.RenderLimits = LIMITS
) -> QImage:
    """The first page of the PDF at ``path``, ``width`` pixels wide (any thread but the UI's:
    it waits for the render process).

    Fitted into ``width`` × :data:`MAX_HEIGHT_PX` and capped in pixels before rendering: a
    received PDF may declare an absurd page size (a 3.6 × 2000 pt page would otherwise make a
    340 × 190,000 px bitmap). A file that cannot be drawn, or not within ``limits``, raises
    :class:`sisra.common.pdfrender.RenderFailed`.
    """
    bitmap = pdfrender.render_first_page(path.read_bytes(), width, MAX_HEIGHT_PX, limits)
    image = QImage(
        bitmap.rgb, bitmap.width, bitmap.height, bitmap.width * 3, QImage.Format.Format_RGB888
    )
    return image.copy()  # own the pixels


class PreviewRenderer(QObject):
    """Asynchronous, cached first-page renders, keyed by notification id."""

    ready = Signal(str, QImage)
    failed = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(CONCURRENT_RENDERS)
        self._cache: OrderedDict[str, QImage] = OrderedDict()
        self._failures: OrderedDict[str, str] = OrderedDict()
        self._pending: set[str] = set()

    def cached(self, key: str) -> QImage | None:
        image = self._cache.get(key)
        if image is not None:
            self._cache.move_to_end(key)
        return image

    def request(self, key: str, locate: Callable[[], Path]) -> None:
        """Render ``key`` unless cached or on its way; ``locate`` (run off the UI thread)
        returns the PDF, downloading it if needed."""
        if key in self._cache:
            self.ready.emit(key, self._cache[key])
            return
        if key in self._failures:
            self.failed.emit(key, self._failures[key])
            return
        if key in self._pending:
            return
        self._pending.add(key)

        def done(image: QImage) -> None:
            self._pending.discard(key)
            self._cache[key] = image
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
            self.ready.emit(key, image)

        def error(exc: Exception) -> None:
            self._pending.discard(key)
            if isinstance(exc, pdfrender.RenderFailed):
                message = exc.message
                if not exc.transient:  # the same file would fail the same way
                    self._failures[key] = message
                    while len(self._failures) > CACHE_SIZE:
                        self._failures.popitem(last=False)
            else:  # e.g. the download failed: worth trying again on the next hover
                message = describe_error(exc)
            self.failed.emit(key, message)

        run_task(lambda: render_first_page(locate()), done, error, pool=self._pool)

    def wait(self, msecs: int = 10_000) -> bool:
        return self._pool.waitForDone(msecs)


class PreviewPopup(QLabel):
    """A borderless tooltip-like window holding the preview image."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.ToolTip)
        self.setObjectName("preview")
        self.setStyleSheet("QLabel#preview { background: white; border: 1px solid #8a8a8a; }")
        self.setMargin(4)
        self.key: str | None = None

    def show_image(self, key: str, image: QImage, at: QPoint) -> None:
        self.key = key
        self.setPixmap(QPixmap.fromImage(image))
        self.adjustSize()
        self.move(at)
        self.show()

    def show_text(self, key: str, text: str, at: QPoint) -> None:
        self.key = key
        self.setPixmap(QPixmap())
        self.setText(text)
        self.adjustSize()
        self.move(at)
        self.show()

    def dismiss(self) -> None:
        self.key = None
        self.hide()

"""First-page previews shown when hovering a document's title.

Rendering (pypdfium2) happens in a pool of ONE thread: PDFium is not thread-safe, and one
worker keeps the UI thread free. Images are cached (most recently used first), so hovering
back over a row is instant.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import pypdfium2 as pdfium
from PySide6.QtCore import QObject, QPoint, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QWidget

from sisra.common.pagefit import preview_scale
from sisra.desktop.tasks import describe_error, run_task

WIDTH_PX = 340
MAX_HEIGHT_PX = 3 * WIDTH_PX
CACHE_SIZE = 64


def render_first_page(path: Path, width: int = WIDTH_PX) -> QImage:
    """The first page of the PDF at ``path``, ``width`` pixels wide (any thread).

    Fitted into ``width`` × :data:`MAX_HEIGHT_PX` and capped in pixels before rendering: a
    received PDF may declare an absurd page size (a 3.6 × 2000 pt page would otherwise make a
    340 × 190,000 px bitmap). A page without a usable size raises ``ValueError``.
    """
    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[0]
        w, h = page.get_size()
        scale = preview_scale(w, h, width, max_height_px=MAX_HEIGHT_PX)
        bitmap = page.render(scale=scale, rev_byteorder=True)
        fmt = (
            QImage.Format.Format_RGBA8888 if bitmap.n_channels == 4 else QImage.Format.Format_RGB888
        )
        image = QImage(bitmap.buffer, bitmap.width, bitmap.height, bitmap.stride, fmt)
        return image.copy()  # own the pixels: PDFium frees its bitmap when we close
    finally:
        pdf.close()


class PreviewRenderer(QObject):
    """Asynchronous, cached first-page renders, keyed by notification id."""

    ready = Signal(str, QImage)
    failed = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._cache: OrderedDict[str, QImage] = OrderedDict()
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
            self.failed.emit(key, describe_error(exc))

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

"""First-page renders in a separate, bounded process: one rule for the platform and MonSisra.

A PDF page is a program: a 80 KB file whose page fills a million triangles keeps PDFium busy
for minutes, holding whatever the caller held meanwhile (a database transaction, a thread of
the server's pool, MonSisra's preview thread). PDFium is therefore never run in the caller's
process. :func:`render_first_page` starts a short-lived child (``python -m
sisra.common.pdfrender``, or the frozen MonSisra executable with :data:`WORKER_FLAG`) that:

- sets its own CPU-time limit (``RLIMIT_CPU``, the kernel ends it beyond) and address-space
  limit (``RLIMIT_AS``, an allocation beyond fails) before it reads the PDF;
- reads the PDF on its standard input and writes the page as a binary PPM (``P6``, RGB) on
  its standard output, fitted and capped in pixels by :func:`sisra.common.pagefit.preview_scale`.

The parent waits at most a wall-clock timeout and kills the child beyond it. Any failure
(PDFium cannot open the file, no usable page size, time or memory exhausted, killed) is a
:class:`RenderFailed` with a French message; ``timed_out`` says whether the document was too
long to draw (the caller may remember that) rather than unreadable.

PPM keeps the child small (no Pillow: the MonSisra bundle has none) and is read by both
Pillow (the platform's PNG) and Qt (MonSisra's ``QImage``).
"""

from __future__ import annotations

import contextlib
import math
import os
import selectors
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from sisra.common.pagefit import MAX_PIXELS, MAX_SIDE_PX, PageSizeError, preview_scale

# The frozen MonSisra executable runs the worker when given this first argument
# (packaging/linux/entry.py); a Python interpreter runs ``-m sisra.common.pdfrender``.
WORKER_FLAG = "--sisra-render-first-page"

# Exit statuses of the worker besides 0.
_UNREADABLE = 3
_NO_MEMORY = 4

UNREADABLE_MESSAGE = (
    "ce document ne peut pas être affiché en aperçu ; ouvrez le PDF pour le consulter."
)
RETRY_MESSAGE = "l'aperçu n'a pas pu être préparé ; réessayez dans un instant."
# the largest answer a child may give: a PPM of the largest preview pagefit allows (its sides
# rounded up)
MAX_OUTPUT = 3 * (MAX_PIXELS + 4 * MAX_SIDE_PX) + 64
TOO_LONG_MESSAGE = (
    "ce document est trop long à dessiner pour un aperçu ; ouvrez le PDF pour le consulter."
)


@dataclass(frozen=True)
class RenderLimits:
    """What one render may take: wall-clock seconds, CPU seconds, address space."""

    timeout_s: float = 5.0
    memory_mb: int = 768

    @property
    def cpu_s(self) -> int:
        # the wall clock usually ends it first; the CPU limit bounds a child whose parent died
        return max(1, math.ceil(self.timeout_s))


class RenderFailed(Exception):
    """No preview: ``message`` says why, in French; ``timed_out``: too long to draw;
    ``transient``: not the document's fault (worth trying again, not worth remembering)."""

    def __init__(self, message: str, *, timed_out: bool = False, transient: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.timed_out = timed_out
        self.transient = transient


@dataclass(frozen=True)
class Bitmap:
    """An RGB image, rows packed (``width * 3`` bytes each)."""

    width: int
    height: int
    rgb: bytes

    def ppm(self) -> bytes:
        return b"P6\n%d %d\n255\n" % (self.width, self.height) + self.rgb


def worker_command() -> list[str]:
    """How to start the worker: the frozen executable itself, or this interpreter."""
    if getattr(sys, "frozen", False):
        return [sys.executable, WORKER_FLAG]
    return [sys.executable, "-m", "sisra.common.pdfrender"]


def render_first_page(
    data: bytes, width: int, max_height_px: int, limits: RenderLimits | None = None
) -> Bitmap:
    """The first page of ``data`` in a bounded child process (see the module)."""
    limits = limits or RenderLimits()
    cmd = [
        *worker_command(),
        str(width),
        str(max_height_px),
        str(limits.cpu_s),
        str(limits.memory_mb),
    ]
    try:
        status, out = _run(cmd, data, limits.timeout_s, MAX_OUTPUT)
    except _TimedOut as exc:
        raise RenderFailed(TOO_LONG_MESSAGE, timed_out=True) from exc
    except OSError as exc:  # no process could be started (the machine is short of memory)
        raise RenderFailed(RETRY_MESSAGE, transient=True) from exc
    if status == 0:
        try:
            return _parse_ppm(out)
        except ValueError as exc:
            raise RenderFailed(UNREADABLE_MESSAGE) from exc
    if status == _UNREADABLE:
        raise RenderFailed(UNREADABLE_MESSAGE)
    # killed by the CPU limit (SIGXCPU / SIGKILL), out of memory, or any other crash: the
    # document asked for more than a preview may take
    raise RenderFailed(TOO_LONG_MESSAGE, timed_out=True)


class _TimedOut(Exception):
    pass


def _environment() -> dict[str, str]:
    """What the child needs: none of the server's settings (its secrets may be among them)."""
    keep = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "PYTHONPATH", "TMPDIR", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(cmd: list[str], data: bytes, timeout_s: float, max_out: int) -> tuple[int, bytes]:
    """Run ``cmd`` with ``data`` on its input; its exit status and output. The child is killed
    when it runs past ``timeout_s`` or writes more than ``max_out`` bytes (:class:`_TimedOut`)."""
    deadline = time.monotonic() + timeout_s
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_environment(),
    )
    assert proc.stdin is not None and proc.stdout is not None

    def feed() -> None:  # in a thread: a child that stops reading must not block us
        assert proc.stdin is not None
        with contextlib.suppress(OSError):
            proc.stdin.write(data)
        with contextlib.suppress(OSError):
            proc.stdin.close()

    writer = threading.Thread(target=feed, name="pdfrender-input", daemon=True)
    writer.start()
    out = bytearray()
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise _TimedOut
                if not selector.select(left):
                    continue
                chunk = os.read(proc.stdout.fileno(), 1 << 16)
                if not chunk:
                    break
                out += chunk
                if len(out) > max_out:  # not a preview: something is wrong with the child
                    raise _TimedOut
        try:
            status = proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired as exc:
            raise _TimedOut from exc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        writer.join()
        proc.stdout.close()
    return status, bytes(out)


def _parse_ppm(out: bytes) -> Bitmap:
    parts = out.split(b"\n", 3)
    if len(parts) != 4 or parts[0] != b"P6" or parts[2] != b"255":
        raise ValueError("not a PPM")
    w, h = (int(v) for v in parts[1].split())
    if w <= 0 or h <= 0 or len(parts[3]) != w * h * 3:
        raise ValueError("truncated PPM")
    return Bitmap(w, h, parts[3])


# --- the child ----------------------------------------------------------------------------


def _limit_self(cpu_s: int, memory_mb: int) -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not a Unix system: the wall clock still holds
        return
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _render(data: bytes, width: int, max_height_px: int) -> Bitmap:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[0]
        w, h = page.get_size()
        scale = preview_scale(w, h, width, max_height_px=max_height_px)
        # rev_byteorder: RGB rather than PDFium's BGR; no alpha (white background)
        bitmap = page.render(scale=scale, rev_byteorder=True, prefer_bgrx=False)
        if bitmap.n_channels != 3:
            raise ValueError("unexpected bitmap format")
        row = bitmap.width * 3
        buf = bytes(bitmap.buffer)
        rgb = (
            buf[: row * bitmap.height]
            if bitmap.stride == row
            else b"".join(
                buf[y * bitmap.stride : y * bitmap.stride + row] for y in range(bitmap.height)
            )
        )
        return Bitmap(bitmap.width, bitmap.height, rgb)
    finally:
        pdf.close()


def main(argv: list[str]) -> int:
    """The worker: ``WIDTH MAX_HEIGHT CPU_S MEMORY_MB``, PDF on stdin, PPM on stdout."""
    width, max_height_px, cpu_s, memory_mb = (int(a) for a in argv[:4])
    import pypdfium2  # loaded before the address-space limit applies

    _limit_self(cpu_s, memory_mb)
    data = sys.stdin.buffer.read()
    try:
        image = _render(data, width, max_height_px)
    except MemoryError:
        return _NO_MEMORY
    except (pypdfium2.PdfiumError, PageSizeError, IndexError, ValueError):
        return _UNREADABLE  # not a PDF PDFium can open, or no usable first page
    sys.stdout.buffer.write(image.ppm())
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""How large a first-page preview may be: one rule for the platform's and MonSisra's renders.

A PDF page's size is whatever its author wrote. A 447-byte file with a 3.6 × 2000 pt page,
rendered "360 px wide", makes a 360 × 200,000 px bitmap (hundreds of megabytes). Every preview
is therefore fitted into a box, and its pixel count is capped, *before* PDFium allocates
anything.
"""

import math

# A preview is at most this many pixels on its longest side, and this many pixels in all.
MAX_SIDE_PX = 1600
MAX_PIXELS = 1_000_000


class PageSizeError(ValueError):
    """The page has no usable size (zero, negative, not a number)."""


def preview_scale(
    width_pt: float,
    height_pt: float,
    want_width_px: int,
    *,
    max_height_px: int,
    max_side_px: int = MAX_SIDE_PX,
    max_pixels: int = MAX_PIXELS,
) -> float:
    """The render scale (pixels per point) for a page ``width_pt`` × ``height_pt``.

    The page is rendered ``want_width_px`` wide unless that would make it taller than
    ``max_height_px``; then it is scaled down to fit that height (an unusually tall page gets a
    narrow preview, never a huge one). Whatever the page's rotation, neither side exceeds
    ``max_side_px`` and the area stays under ``max_pixels``.
    """
    if not all(math.isfinite(v) and v > 0 for v in (width_pt, height_pt)):
        raise PageSizeError("Taille de page invalide.")
    scale = min(want_width_px / width_pt, max_height_px / height_pt)
    # rotation may swap the sides: bound the longest one by the box's longest side too
    scale = min(scale, max_side_px / max(width_pt, height_pt))
    area = width_pt * height_pt * scale * scale
    if area > max_pixels:
        scale *= math.sqrt(max_pixels / area)
    return scale

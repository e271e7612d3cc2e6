"""Text normalisation used for searching names regardless of accents and case."""

import re
import unicodedata

_SEPARATORS = re.compile(r"[\s'\-]+")


def fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced form of ``text``, for search.

    "Élodie  D'Aubigné-Lévêque" -> "elodie d aubigne leveque". Ligatures are expanded
    (œ -> oe) because French names carry them and users never type them.
    """
    text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", stripped.casefold()).strip()

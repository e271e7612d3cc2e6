"""Text normalisation used for searching names regardless of accents and case."""

import re
import unicodedata

_SEPARATORS = re.compile(r"[\s'\-]+")
_LATIN_MARKS = re.compile("[\u0300-\u036f]")  # the accents of French, once decomposed


def fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced form of ``text``, for search.

    "Élodie  D'Aubigné-Lévêque" -> "elodie d aubigne leveque". Ligatures are expanded
    (œ -> oe) because French names carry them and users never type them.
    """
    if not text.isascii():  # most names are plain ASCII: skip the Unicode work (hot path)
        text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
        text = _LATIN_MARKS.sub("", unicodedata.normalize("NFKD", text))
        if not text.isascii():  # other scripts: the general rule
            text = "".join(c for c in text if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", text.casefold()).strip()

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


# Characters no text of the platform may hold: NUL, lone surrogates (not encodable in UTF-8)
# and Unicode noncharacters (U+FDD0–U+FDEF and the last two code points of every plane,
# U+FFFE, U+FFFF, U+1FFFE … U+10FFFF), which XML 1.0 and many readers refuse: a title holding
# one could never be written into an XDM archive.
_FORBIDDEN = re.compile(
    "[\x00\ud800-\udfff\ufdd0-\ufdef"
    + "".join(f"{chr(p * 0x10000 + 0xFFFE)}{chr(p * 0x10000 + 0xFFFF)}" for p in range(17))
    + "]"
)


def forbidden_character(text: str) -> str | None:
    """The first character of ``text`` the platform refuses (see ``_FORBIDDEN``), or None."""
    found = _FORBIDDEN.search(text)
    return found.group() if found else None


def without_forbidden(text: str) -> str:
    """``text`` with each forbidden character replaced by U+FFFD (for text received from
    outside that cannot be refused to a person, such as a mail's subject)."""
    return _FORBIDDEN.sub("\ufffd", text)


def named_by_address(first_name: str, last_name: str, address: str | None) -> bool:
    """Whether a correspondent's « name » is only its MSSanté address: a typed address
    whose owner is not known by name. Rows created before names were kept as the address
    carry the address split in two (local part as first name, domain as last name)."""
    value = (address or "").strip().lower()
    if not value:
        return False
    first, last = first_name.strip().lower(), last_name.strip().lower()
    local, _, domain = value.partition("@")
    return (not first and last == value[:100]) or (first == local and last == domain)

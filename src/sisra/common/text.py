"""Text normalisation: names searched regardless of accents and case, one-line fields, and
how a person is named (« Dr Marc GAUTHIER », a patient's used name)."""

import re
import unicodedata
from typing import Any

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


_SPACES = re.compile(r"\s+")
# Professions whose members are addressed as "Docteur" in France (the directory's labels).
_DOCTOR_WORDS = ("medecin", "chirurgien", "pharmacien", "biologiste", "iatre", "anesthesiste")
_NOT_DOCTOR = ("psychologue", "podologue", "kinesitherapeute", "infirmi", "sage femme")


def one_line(value: Any) -> str:
    """One line of text: control characters and line breaks become spaces, spaces collapse."""
    if value is None:
        return ""
    raw = unicodedata.normalize("NFC", str(value))
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in raw)
    return _SPACES.sub(" ", cleaned).strip()


def is_doctor(profession: str) -> bool:
    folded = fold(profession)
    if any(word in folded for word in _NOT_DOCTOR):
        return False
    return any(word in folded for word in _DOCTOR_WORDS) or folded.endswith("logue")


def person_label(name: Any, profession: Any) -> str:
    """'Dr Marc GAUTHIER' for a doctor, the plain name otherwise."""
    label = one_line(name)
    if label and is_doctor(one_line(profession)) and not fold(label).startswith(("dr ", "pr ")):
        return f"Dr {label}"
    return label


def patient_last_name(used: Any, birth: Any) -> str:
    """The name the patient uses (``used``, else ``birth``), upper-case."""
    return one_line(used or birth).upper()

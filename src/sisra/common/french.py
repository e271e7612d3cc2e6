"""French typography shared by the desktop, the web templates and the command line."""

from __future__ import annotations

NBSP = "\u00a0"
# « de » elides before a vowel or a mute h: « d'Élodie », « d'Hélène », « de Paul ».
_ELIDING = frozenset("aeiouyhàâäéèêëîïôöùûüÿœæ")


def de(name: str) -> str:
    """« de » followed by ``name``, elided when French wants it: "d'Élodie", "de Paul".

    A name starting with h is taken as mute (« d'Hélène », « d'Hugo »), the common case for
    given names; the rare aspirated h of a family name is not worth a dictionary.
    """
    stripped = name.lstrip()
    if stripped[:1].lower() in _ELIDING:
        return f"d'{stripped}"
    return f"de {stripped}"


def guillemets(text: str) -> str:
    """``text`` with no-break spaces inside « … », so a line break never parts them from
    their words."""
    return text.replace("« ", "«" + NBSP).replace(" »", NBSP + "»")

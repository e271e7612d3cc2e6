"""Dates as French letters write them."""

from datetime import date

_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def french_date(d: date) -> str:
    """« 1er mars 2026 », « 27 novembre 2026 »."""
    return f"{d.day}{'er' if d.day == 1 else ''} {_MONTHS[d.month - 1]} {d.year}"

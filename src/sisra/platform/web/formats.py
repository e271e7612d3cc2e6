"""Dates as the pages show and read them, in French and in the platform's time zone."""

from datetime import date, datetime

from sisra.common import clock


def fr_date(value: date | str | None) -> str:
    """``dd/mm/yyyy`` (also accepts an ISO string, as in inbox items)."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.strftime("%d/%m/%Y")


def fr_datetime(value: datetime | str | None, empty: str = "") -> str:
    """« 06/12/2026 à 17h21 », in the platform's time zone (``SISRA_TIMEZONE``); a stored
    naive time is UTC. ``empty`` when there is no time (the admin tables show « — »)."""
    if value is None:
        return empty
    return clock.fr_datetime(value, clock.platform_zone())


def _parse_day(value: str, label: str, errors: list[str]) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors.append(f"Date « {label} » invalide (format attendu : AAAA-MM-JJ).")
        return None


def parse_range(du: str, au: str, errors: list[str]) -> tuple[date | None, date | None] | None:
    """The days « du » and « au » of a search (either may be empty); None when « du » comes
    after « au »: nothing is searched and ``errors`` says why, rather than an empty list."""
    start, end = _parse_day(du, "du", errors), _parse_day(au, "au", errors)
    if start is not None and end is not None and start > end:
        errors.append(
            f"La date « du » ({fr_date(start)}) est postérieure à la date « au » "
            f"({fr_date(end)}) : aucune recherche n'a été faite. Inversez les deux dates, "
            "ou corrigez l'une d'elles."
        )
        return None
    return start, end

"""Search parameters of the FHIR API: tokens, references, dates, paging links."""

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from sisra.platform.errors import Invalid

MAX_COUNT = 100
DEFAULT_COUNT = 20
MAX_OFFSET = 100_000


def bad_parameter(name: str, why: str) -> Invalid:
    return Invalid(
        f"Paramètre de recherche « {name} » invalide : {why}", code="invalid_search_parameter"
    )


@dataclass(frozen=True)
class Token:
    system: str | None  # None: any system; "": explicitly none
    code: str


def token(name: str, value: str) -> Token:
    """``system|code``, ``|code`` or ``code``."""
    system, bar, code = value.partition("|")
    if not bar:
        system, code = None, value  # type: ignore[assignment]
    code = code.strip()
    if not code:
        raise bad_parameter(name, "la valeur est vide (forme attendue : système|valeur).")
    return Token(system.strip() if system is not None else None, code)


def reference_id(name: str, value: str, kind: str) -> uuid.UUID:
    """The id of ``Kind/<id>``, ``<id>`` or an absolute URL ending in ``Kind/<id>``."""
    parts = value.strip().split("/")
    wrong_kind = len(parts) > 1 and parts[-2] != kind
    try:
        if wrong_kind or len(parts[-1]) not in (32, 36):
            raise ValueError(value)
        return uuid.UUID(parts[-1])
    except ValueError as exc:
        raise bad_parameter(name, f"une référence {kind}/<identifiant> est attendue.") from exc


_DATE = re.compile(r"^(eq|ge|gt|le|lt)?([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?$")


def _range(year: int, month: int | None, day: int | None) -> tuple[date, date]:
    """The days a date of this precision covers: [first, after last)."""
    if day is not None and month is not None:
        first = date(year, month, day)
        return first, first + timedelta(days=1)
    if month is not None:
        first = date(year, month, 1)
        return first, (date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1))
    return date(year, 1, 1), date(year + 1, 1, 1)


def date_filter(name: str, value: str) -> Callable[[date], bool]:
    """``[eq|ge|gt|le|lt]YYYY[-MM[-DD]]`` as a predicate on a date (FHIR's date search)."""
    m = _DATE.match(value.strip())
    if m is None:
        raise bad_parameter(name, "date attendue sous la forme [ge|le|gt|lt|eq]AAAA[-MM[-JJ]].")
    prefix = m.group(1) or "eq"
    try:
        lo, hi = _range(
            int(m.group(2)),
            int(m.group(3)) if m.group(3) else None,
            int(m.group(4)) if m.group(4) else None,
        )
    except ValueError as exc:
        raise bad_parameter(name, "cette date n'existe pas.") from exc
    tests: dict[str, Callable[[date], bool]] = {
        "eq": lambda d: lo <= d < hi,
        "ge": lambda d: d >= lo,
        "gt": lambda d: d >= hi,
        "le": lambda d: d < hi,
        "lt": lambda d: d < lo,
    }
    return tests[prefix]


def exact_date(name: str, value: str) -> date:
    """A whole day, ``YYYY-MM-DD`` (optionally ``eq``): identity searches match exactly."""
    m = _DATE.match(value.strip())
    if m is None or m.group(4) is None or (m.group(1) or "eq") != "eq":
        raise bad_parameter(name, "date complète attendue (AAAA-MM-JJ).")
    try:
        return date(int(m.group(2)), int(m.group(3)), int(m.group(4)))
    except ValueError as exc:
        raise bad_parameter(name, "cette date n'existe pas.") from exc


@dataclass(frozen=True)
class Page:
    """Offset paging of a searchset: ``_count`` entries from ``_offset``."""

    count: int
    offset: int

    def links(self, url: str, params: list[tuple[str, str]], total: int) -> tuple[str, str | None]:
        """The ``self`` and ``next`` links (``next`` only when entries remain)."""
        kept = [(k, v) for k, v in params if k not in ("_count", "_offset")]

        def at(offset: int) -> str:
            query = [*kept, ("_count", str(self.count)), ("_offset", str(offset))]
            return f"{url}?{urlencode(query)}"

        following = self.offset + self.count
        more = self.count > 0 and following < total
        return at(self.offset), (at(following) if more else None)

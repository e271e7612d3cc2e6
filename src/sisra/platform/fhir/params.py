"""Search parameters of the FHIR API: tokens, references, dates, paging links."""

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from sisra.platform.errors import Invalid, SisraError

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


_DATE = re.compile(
    r"^(eq|ne|ge|gt|le|lt|sa|eb)?([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})"
    r"(?:T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2}))?)?)?$"
)


def _range(year: int, month: int | None, day: int | None) -> tuple[date, date]:
    """The days a date of this precision covers: [first, after last)."""
    if day is not None and month is not None:
        first = date(year, month, day)
        return first, first + timedelta(days=1)
    if month is not None:
        first = date(year, month, 1)
        return first, (date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1))
    return date(year, 1, 1), date(year + 1, 1, 1)


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _bounds(m: re.Match[str]) -> tuple[datetime, datetime]:
    """The instants a date or dateTime of this precision covers: [first, after last)."""
    if m.group(5) is not None:  # a dateTime: to the minute or second, with its zone
        zone = m.group(8)
        tz = UTC if zone == "Z" else datetime.fromisoformat(f"2000-01-01T00:00{zone}").tzinfo
        second = m.group(7)
        first = datetime(
            int(m.group(2)),
            int(m.group(3)),
            int(m.group(4)),
            int(m.group(5)),
            int(m.group(6)),
            int(second or 0),
            tzinfo=tz,
        ).astimezone(UTC)
        return first, first + timedelta(seconds=1 if second else 60)
    lo, hi = _range(
        int(m.group(2)),
        int(m.group(3)) if m.group(3) else None,
        int(m.group(4)) if m.group(4) else None,
    )
    return _midnight(lo), _midnight(hi)


Moment = date | datetime


def _instant(value: Moment) -> datetime:
    """A stored value as an instant: a datetime as is, a date as its first instant (UTC)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return _midnight(value)


def date_filter(name: str, value: str) -> Callable[[Moment], bool]:
    """``[eq|ne|ge|gt|le|lt|sa|eb]YYYY[-MM[-DD[Thh:mm[:ss]zone]]]`` as a predicate on a date or
    an instant (FHIR's date search: the parameter's precision sets the range it covers)."""
    m = _DATE.match(value.strip())
    if m is None:
        raise bad_parameter(
            name,
            "date attendue sous la forme [ge|le|gt|lt|eq|ne]AAAA[-MM[-JJ[Thh:mm:ssZ]]], par "
            "exemple ge2026-01-01 ou ge2026-01-01T00:00:00Z.",
        )
    prefix = m.group(1) or "eq"
    try:
        lo, hi = _bounds(m)
    except ValueError as exc:
        raise bad_parameter(name, "cette date n'existe pas.") from exc
    tests: dict[str, Callable[[datetime], bool]] = {
        "eq": lambda d: lo <= d < hi,
        "ne": lambda d: not lo <= d < hi,
        "ge": lambda d: d >= lo,
        "gt": lambda d: d >= hi,
        "sa": lambda d: d >= hi,
        "le": lambda d: d < hi,
        "lt": lambda d: d < lo,
        "eb": lambda d: d < lo,
    }
    test = tests[prefix]
    return lambda value: test(_instant(value))


def exact_date(name: str, value: str) -> date:
    """A whole day, ``YYYY-MM-DD`` (optionally ``eq``): identity searches match exactly."""
    m = _DATE.match(value.strip())
    if m is None or m.group(4) is None or m.group(5) is not None or (m.group(1) or "eq") != "eq":
        raise bad_parameter(
            name,
            "date complète attendue (AAAA-MM-JJ, ou eqAAAA-MM-JJ) : la recherche d'une identité "
            "se fait sur la date de naissance exacte, pas sur un intervalle.",
        )
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


# Parameters every search takes (besides its own)
COMMON = frozenset({"_count", "_offset", "_format", "_summary"})


@dataclass(frozen=True)
class Control:
    """What a search does with its parameters beyond the criteria: those it ignored (lenient
    handling, FHIR's default) and whether only the count is wanted (``_summary=count``)."""

    ignored: tuple[str, ...] = ()
    count_only: bool = False

    def warning(self) -> str | None:
        if not self.ignored:
            return None
        return (
            "Paramètres de recherche non pris en charge, ignorés : "
            f"{', '.join(self.ignored)} (lien « self » : la recherche réellement faite)."
        )


def control(
    known: frozenset[str],
    items: list[tuple[str, str]],
    prefer: str,
    refused: dict[str, str] | None = None,
) -> Control:
    """Check a search's parameter names against those it ``known``; ``refused`` names are
    answered with their message whatever the handling (they would silently broaden it)."""
    names = {k for k, _v in items}
    for name, why in (refused or {}).items():
        if name in names:
            raise SisraError(
                f"Paramètre de recherche « {name} » non pris en charge : {why}",
                code="unsupported_search_parameter",
                status=400,
            )
    unknown = sorted(n[:50] for n in names - known - COMMON)[:10]
    strict = "handling=strict" in prefer.replace(" ", "").lower()
    if unknown and strict:
        raise SisraError(
            "Paramètres de recherche non pris en charge (Prefer: handling=strict) : "
            f"{', '.join(unknown)}.",
            code="unknown_search_parameter",
            status=400,
        )
    summary = {v.strip() for k, v in items if k == "_summary"}
    if summary - {"count", "false"}:
        raise bad_parameter("_summary", "valeurs prises en charge : count, false.")
    return Control(tuple(unknown), "count" in summary)

"""Proposals read from a letter's text: who it is about and to whom it is addressed.

A letter printed to MonSisra has no header naming its patient and recipients (unlike the
outbox's files): the « Envoyer ce document » window proposes them from the PDF's text, each
with the words it came from, and the doctor confirms or changes them. Nothing here is trusted:
a proposal only pre-fills a search on the platform.

- the patient: an INS (NIR/NIA, 15 characters whose key checks), and a name with a birth date
  (« Mme DUPONT Jeanne, née le 12/03/1950 », « Date de naissance : 12/03/1950 »);
- the recipients: « Docteur X », « Dr X », « Pr X » (the letter's own author left out by the
  caller's ``exclude``), an RPPS number (11 digits whose Luhn key checks); a greeting
  (« Cher confrère ») says the letter goes to a colleague, without a name.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date

from sisra.common.identifiers import luhn_valid
from sisra.common.ins import InvalidINS, validate_ins
from sisra.common.text import fold

MAX_PAGES = 5  # the proposals are on the first pages; a long annex is not read
MAX_TEXT = 200_000

_UP = "A-ZÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸÆŒ"
_LOW = "a-zàâäçéèêëîïôöùûüÿæœ"
_NAME_UP = rf"[{_UP}][{_UP}'’\-]+(?:[ \-][{_UP}][{_UP}'’\-]+)*"
_NAME_CAP = rf"[{_UP}][{_LOW}'’]+(?:-[{_UP}][{_LOW}'’]+)?"
_DATE = r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})"

_INS_RE = re.compile(
    r"(?<![0-9A-Za-z])([1-478])[ .]?(\d{2})[ .]?(\d{2})[ .]?(\d{2}|2[AB])[ .]?(\d{3})"
    r"[ .]?(\d{3})[ .]?(\d{2})(?![0-9])"
)
_CIVIL = r"(?:Madame|Monsieur|Mademoiselle|Mme\.?|Mlle\.?|M\.)"
_PERSON_RE = re.compile(rf"{_CIVIL}\s+(?P<last>{_NAME_UP})\s+(?P<first>{_NAME_CAP})")
_PERSON_FIRST_RE = re.compile(rf"{_CIVIL}\s+(?P<first>{_NAME_CAP})\s+(?P<last>{_NAME_UP})\b")
_PATIENT_LABEL_RE = re.compile(
    rf"Patient(?:\(e\)|e)?\s*:?\s+(?P<last>{_NAME_UP})\s+(?P<first>{_NAME_CAP})"
)
_BORN_RE = re.compile(rf"(?:n[ée]e?(?:\s*\(e\))?\s+le|naissance\s*:?)\s*{_DATE}", re.IGNORECASE)
_DOCTOR_RE = re.compile(
    rf"\b(?:Docteur|Dr\.?|Professeur|Pr\.?)\s+(?P<name>(?:{_NAME_CAP}|{_NAME_UP})"
    rf"(?:[ \-](?:{_NAME_CAP}|{_NAME_UP}))?)"
)
_RPPS_RE = re.compile(r"(?<![0-9])(8?)(\d{11})(?![0-9])")
_GREETING_RE = re.compile(
    r"\b(?:Cher|Chère|Chere)\s+(?:confrère|consœur|consoeur|confrere|ami|amie)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class PatientProposal:
    """A patient to look for on the platform; ``source`` is the text it came from."""

    source: str
    ins: str | None = None
    birth_name: str | None = None
    given: str | None = None
    birth_date: date | None = None

    def search(self) -> dict[str, str] | None:
        """The body of ``POST /api/v1/patients/search``, or None without enough traits."""
        if self.ins:
            return {"ins": self.ins}
        if self.birth_name and self.birth_date:
            return {"q": self.birth_name, "birth_date": self.birth_date.isoformat()}
        if self.birth_name and self.given and len(self.given) >= 3:
            return {"q": self.birth_name, "given": self.given}
        return None


@dataclass(frozen=True)
class RecipientProposal:
    """A professional to look for in the directory (by name, or by RPPS)."""

    source: str
    name: str | None = None
    rpps: str | None = None

    @property
    def query(self) -> str:
        return self.rpps or self.name or ""


@dataclass
class LetterProposals:
    text: str
    patients: list[PatientProposal] = field(default_factory=list)
    recipients: list[RecipientProposal] = field(default_factory=list)
    greeting: str | None = None  # « Cher confrère »: addressed to a colleague

    @property
    def empty(self) -> bool:
        return not self.patients and not self.recipients


def pdf_text(data: bytes, max_pages: int = MAX_PAGES) -> str:
    """The text of the PDF's first pages ('' when it has none, e.g. a scan, or is unreadable)."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        parts = [(page.extract_text() or "") for page in reader.pages[:max_pages]]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError):
        return ""
    return "\n".join(parts)[:MAX_TEXT]


def _line_of(text: str, start: int, end: int) -> str:
    """The words around a match, for the window to show where a proposal came from."""
    left = max(text.rfind("\n", 0, start) + 1, start - 60)
    right = text.find("\n", end)
    right = len(text) if right < 0 else min(right, end + 60)
    return " ".join(text[left:right].split())


def _date(day: str, month: str, year: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def _ins_proposals(text: str) -> list[PatientProposal]:
    found: list[PatientProposal] = []
    for m in _INS_RE.finditer(text):
        try:
            ins = validate_ins("".join(m.groups()))
        except InvalidINS:
            continue
        if all(p.ins != ins for p in found):
            found.append(PatientProposal(_line_of(text, m.start(), m.end()), ins=ins))
    return found


def _named_proposals(text: str) -> list[PatientProposal]:
    """A civil title or « Patient(e) » with a NAME Given (or Given NAME), and the nearest
    birth date after it (within the next 200 characters), or alone when no date follows."""
    found: list[PatientProposal] = []
    seen: set[tuple[str, str, date | None]] = set()
    people = [
        *_PATIENT_LABEL_RE.finditer(text),
        *_PERSON_RE.finditer(text),
        *_PERSON_FIRST_RE.finditer(text),
    ]
    for m in sorted(people, key=lambda m: m.start()):
        born = _BORN_RE.search(text, m.end(), m.end() + 200)
        birth = _date(*born.groups()) if born else None
        key = (fold(m["last"]), fold(m["first"]), birth)
        if key in seen:
            continue
        seen.add(key)
        end = born.end() if born else m.end()
        found.append(
            PatientProposal(
                _line_of(text, m.start(), end),
                birth_name=" ".join(m["last"].split()),
                given=m["first"],
                birth_date=birth,
            )
        )
    # dated proposals first: they find one patient where a name alone may not
    return sorted(found, key=lambda p: p.birth_date is None)


def _recipient_proposals(text: str, exclude: set[str]) -> list[RecipientProposal]:
    found: list[RecipientProposal] = []
    for m in _DOCTOR_RE.finditer(text):
        name = " ".join(m["name"].split())
        folded = fold(name)
        if any(word in exclude for word in folded.split()) or any(
            fold(r.name or "") == folded for r in found
        ):
            continue
        found.append(RecipientProposal(_line_of(text, m.start(), m.end()), name=name))
    for m in _RPPS_RE.finditer(text):
        rpps = m.group(2)
        if not luhn_valid(rpps) or rpps in exclude or any(r.rpps == rpps for r in found):
            continue
        found.append(RecipientProposal(_line_of(text, m.start(), m.end()), rpps=rpps))
    return found


def propose(text: str, exclude: set[str] | None = None) -> LetterProposals:
    """Every proposal in ``text``. ``exclude``: the sender's own last name and RPPS (their
    letterhead and signature are in every letter they print), in any case and accents."""
    excluded = {fold(x) for x in (exclude or set()) if x}
    proposals = LetterProposals(text)
    proposals.patients = [*_ins_proposals(text), *_named_proposals(text)]
    proposals.recipients = _recipient_proposals(text, excluded)
    greeting = _GREETING_RE.search(text)
    if greeting:
        proposals.greeting = greeting.group(0)
    return proposals


def propose_pdf(data: bytes, exclude: set[str] | None = None) -> LetterProposals:
    return propose(pdf_text(data), exclude)

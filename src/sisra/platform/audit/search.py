"""Searching the audit trail: one search for ``/api/v1/audit`` and the administrators' page.

:class:`Filters` is what a search asks (an actor, patients, an action by French label or
code, days in the platform's time zone, a row number to page before); :func:`conditions`
turns it into SQL and :func:`newest` reads a page of rows, newest first by ``seq`` (given at
insertion: rows not sealed yet are listed too, and ``before`` pages stably). The page's form
is typed text: :func:`from_form` resolves it (a login, a patient's INS or name) and reports
what it cannot resolve, in French.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from sisra.common import clock
from sisra.platform.audit import labels
from sisra.platform.audit import query as audit_query
from sisra.platform.audit.sealer import OUT_OF_ORDER
from sisra.platform.directory import service as directory
from sisra.platform.errors import NotFound
from sisra.platform.models import AuditEvent, Document, Professional


@dataclass
class Filters:
    """A search of the trail; empty fields do not filter."""

    actor_id: uuid.UUID | None = None
    patient_ids: list[uuid.UUID] | None = None  # None: any; [] matches nothing
    action: str = ""  # a French label's words or a code prefix (labels.matching_codes)
    start: date | None = None  # days in the platform's time zone, both included
    end: date | None = None
    before: int | None = None  # rows with a smaller ``seq``


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clock.platform_zone()).astimezone(UTC)


def conditions(f: Filters) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.actor_id is not None:
        conds.append(AuditEvent.actor_id == f.actor_id)
    if f.patient_ids is not None:
        conds.append(AuditEvent.patient_id.in_(f.patient_ids))
    if f.action.strip():
        codes, prefix = labels.matching_codes(f.action)
        conds.append(
            or_(AuditEvent.action.in_(codes), AuditEvent.action.startswith(prefix, autoescape=True))
        )
    if f.start is not None:
        conds.append(AuditEvent.at >= _day_start(f.start))
    if f.end is not None:
        conds.append(AuditEvent.at < _day_start(f.end + timedelta(days=1)))
    if f.before is not None:
        conds.append(AuditEvent.seq < f.before)
    return conds


def count(session: Session, f: Filters) -> int:
    stmt = select(func.count()).select_from(AuditEvent).where(*conditions(f))
    return int(session.scalar(stmt) or 0)


def newest(session: Session, f: Filters, limit: int, offset: int = 0) -> list[AuditEvent]:
    """A page of matching rows, newest first."""
    stmt = select(AuditEvent).where(*conditions(f)).order_by(AuditEvent.seq.desc())
    return list(session.scalars(stmt.offset(offset).limit(limit)))


# --------------------------------------------------------------------------- the page's form


@dataclass
class FormFilters:
    """The administrators' search form, as typed; ``errors`` in French, by field."""

    actor: str = ""
    patient: str = ""  # an id, an INS or a name: POSTed, never in a URL
    action: str = ""
    start: str = ""
    end: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    patient_ids: list[uuid.UUID] = field(default_factory=list)

    def as_details(self) -> dict[str, Any]:
        """What the audit of the search keeps: the resolved ids, never the traits typed."""
        out: dict[str, Any] = {
            k: v
            for k, v in (
                ("actor", self.actor),
                ("action", self.action),
                ("from", self.start),
                ("to", self.end),
            )
            if v
        }
        if self.patient_ids:
            out["patients"] = [str(i) for i in self.patient_ids[:20]]
        return out


def from_form(session: Session, f: FormFilters) -> Filters:
    """The search the form asks for; what cannot be resolved is put in ``f.errors``."""
    out = Filters(action=f.action.strip())
    if f.actor.strip():
        try:
            out.actor_id = directory.by_login(session, f.actor.strip()).id
        except NotFound as exc:
            f.errors["acteur"] = exc.message
    if f.patient.strip():
        try:
            f.patient_ids = out.patient_ids = audit_query.patient_ids(session, f.patient)
        except audit_query.PatientNotFound as exc:
            f.errors["patient"] = str(exc)
    for attr, key in (("start", "du"), ("end", "au")):
        value = getattr(f, attr).strip()
        if not value:
            continue
        try:
            setattr(out, attr, date.fromisoformat(value))
        except ValueError:
            f.errors[key] = "Date invalide (format attendu : AAAA-MM-JJ)."
    return out


# --------------------------------------------------------------------------- reading rows

_FLAGS_READ = 5000  # flags looked at for one page (they are rare: each names a row)


def _paris_iso(value: object) -> str:
    """An ISO time written in a flag, in the platform's time zone (« ? » if it is not one)."""
    try:
        return clock.fr_datetime(datetime.fromisoformat(str(value)), clock.platform_zone())
    except ValueError:
        return "?"


def out_of_order_flags(session: Session, events: list[AuditEvent]) -> dict[int, str]:
    """The sealer's « hors de l'ordre chronologique » flags on these rows, by row number.

    Read defensively: a flag row is an audit row like the others, and a database writer may
    have put anything in one.
    """
    seqs = {e.seq for e in events}
    if not seqs:
        return {}
    found = session.scalars(
        select(AuditEvent.details)
        .where(AuditEvent.seq > min(seqs), AuditEvent.action == OUT_OF_ORDER)
        .order_by(AuditEvent.seq)  # a flag is written after the row it names
        .limit(_FLAGS_READ)
    )
    out: dict[int, str] = {}
    for d in found:
        seq = d.get("seq") if isinstance(d, dict) else None
        if not isinstance(seq, int) or seq not in seqs:
            continue
        sealed = _paris_iso(d.get("sealed_at"))
        if d.get("kind") == "future":
            out[seq] = f"Ligne postdatée : datée après son scellement ({sealed})."
        else:
            out[seq] = (
                "Ligne antidatée : écrite alors que la piste était déjà scellée jusqu'au "
                f"{_paris_iso(d.get('head_at'))} (scellée le {sealed}). Elle ne vient pas d'une "
                "action faite à la date indiquée : insertion directe dans la base ou horloge "
                "déréglée."
            )
    return out


def _uuid_set(texts: set[str]) -> set[uuid.UUID]:
    out: set[uuid.UUID] = set()
    for text in texts:
        try:
            out.add(uuid.UUID(text))
        except ValueError:
            continue  # a login or a name written in an older row: shown as it is
    return out


@dataclass(frozen=True)
class Names:
    """The names a page of rows shows instead of ids."""

    patients: dict[uuid.UUID, str]
    documents: dict[uuid.UUID, str]  # titles
    details: dict[str, str]  # ids named in the details (patients, professionals)


def names(session: Session, events: list[AuditEvent]) -> Names:
    """One query per kind: patients (the column and the details), documents' titles,
    professionals named in the details."""
    pro_texts, patient_texts = labels.ids_named([e.details or {} for e in events])
    patient_ids = {e.patient_id for e in events if e.patient_id} | _uuid_set(patient_texts)
    patients = audit_query.patient_labels(session, patient_ids)
    doc_ids = {e.document_id for e in events if e.document_id}
    documents: dict[uuid.UUID, str] = (
        dict(session.execute(select(Document.id, Document.title).where(Document.id.in_(doc_ids))))
        if doc_ids
        else {}
    )
    pro_ids = _uuid_set(pro_texts)
    details: dict[str, str] = {str(k): v for k, v in patients.items()}
    if pro_ids:
        for p in session.scalars(select(Professional).where(Professional.id.in_(pro_ids))):
            details[str(p.id)] = p.display_name
    return Names(patients, documents, details)

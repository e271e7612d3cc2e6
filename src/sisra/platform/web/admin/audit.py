"""Admin pages: the audit trail — search it, read it page by page, export it as CSV.

The search itself is the audit domain's (``audit/search.py``), the one ``/api/v1/audit``
uses; these pages read the form and show the rows in French.
"""

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from sisra.common import clock
from sisra.platform.audit import labels, search
from sisra.platform.audit import service as audit
from sisra.platform.db import unit_of_work
from sisra.platform.deps import DbSession
from sisra.platform.models import AuditEvent
from sisra.platform.web import kit
from sisra.platform.web.formats import fr_datetime

router = APIRouter(prefix="/admin", include_in_schema=False)

PAGE_SIZE = 50


def _csv_row(e: AuditEvent) -> dict[str, str]:
    """The CSV export's columns."""
    return {
        "seq": str(e.seq),
        "at": fr_datetime(e.at, "—"),
        "actor": e.actor_label or "système",
        "action": e.action,
        "outcome": e.outcome,
        "patient": str(e.patient_id) if e.patient_id else "",
        "document": str(e.document_id) if e.document_id else "",
        "ip": e.ip or "",
        "label": labels.action_label(e.action),
        "details": " ; ".join(f"{k} : {v}" for k, v in labels.details(e.details or {})),
    }


def _page_row(e: AuditEvent, names: search.Names, flags: dict[int, str]) -> dict[str, Any]:
    document = ""
    if e.document_id:
        title = names.documents.get(e.document_id)
        document = f"« {title} »" if title else f"n° {str(e.document_id)[:8]}"
    return {
        "out_of_order": flags.get(e.seq, ""),
        "at": fr_datetime(e.at, "—"),
        "actor": e.actor_label or "système",
        "actor_id": e.actor_id,
        "action": labels.action_label(e.action),
        "code": e.action,
        "outcome": e.outcome,
        "outcome_label": labels.outcome_label(e.outcome),
        "patient_id": e.patient_id,
        "patient": names.patients.get(e.patient_id, str(e.patient_id)[:8]) if e.patient_id else "",
        "document": document,
        "details": labels.details(e.details or {}, names.details),
        "ip": e.ip or "",
    }


def _audit_view(
    request: Request,
    user: kit.WebUser,
    session: DbSession,
    f: search.FormFilters,
    page_number: int,
) -> HTMLResponse:
    filters = search.from_form(session, f)
    rows: list[dict[str, Any]] = []
    total = 0
    pages = 1
    page_number = max(1, page_number)
    if not f.errors:
        total = search.count(session, filters)
        pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
        page_number = min(page_number, pages)
        events = search.newest(session, filters, PAGE_SIZE, (page_number - 1) * PAGE_SIZE)
        names = search.names(session, events)
        flags = search.out_of_order_flags(session, events)
        rows = [_page_row(e, names, flags) for e in events]
        audit.record(
            session, user.ctx, "audit.read", details={**f.as_details(), "page": page_number}
        )
    return kit.render(
        request,
        user,
        "admin/audit.html",
        {"f": f, "rows": rows, "total": total, "page_number": page_number, "pages": pages},
        status=422 if f.errors else 200,
    )


@dataclass(frozen=True)
class AuditForm:
    """The search form as typed, by its fields' French names (those of the page's links)."""

    acteur: str = ""
    patient: str = ""
    action: str = ""
    du: str = ""
    au: str = ""
    page: str = "1"

    def filters(self, request: Request) -> search.FormFilters:
        """The search asked for. A patient's INS or name comes in a POSTed form only: a link
        (a GET) names a patient by id, or not at all."""
        patient = self.patient.strip()
        if patient and request.method != "POST":
            try:
                uuid.UUID(patient)
            except ValueError:
                patient = ""  # traits never come through a URL
        return search.FormFilters(self.acteur, patient, self.action, self.du, self.au)

    def page_number(self) -> int:
        return int(self.page) if self.page.strip().isdigit() else 1


AuditSearch = Annotated[AuditForm, Depends(kit.typed_form(AuditForm))]


@router.get("/audit", response_class=HTMLResponse)
@router.post("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, user: kit.Admin, session: DbSession, form: AuditSearch
) -> HTMLResponse:
    """The trail, newest first: the search form POSTs, other pages link with an id."""
    return _audit_view(request, user, session, form.filters(request), form.page_number())


# --------------------------------------------------------------------------- CSV export

CSV_HEADER = (
    "n°",
    "date",
    "acteur",
    "action",
    "résultat",
    "patient",
    "document",
    "adresse IP",
    "libellé",
    "détails",
)


def _cell(value: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection) in exported cells."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_line(values: tuple[str, ...] | list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\r\n").writerow([_cell(v) for v in values])
    return buf.getvalue()


def _stream_audit(request: Request, filters: search.Filters, batch: int = 1000) -> Iterator[bytes]:
    """The rows, newest first, read in short transactions of ``batch`` rows each."""
    yield ("\ufeff" + _csv_line(CSV_HEADER)).encode()
    last: int | None = None
    while True:
        with unit_of_work(request.app.state.session_factory) as s:
            events = search.newest(s, replace(filters, before=last), batch)
            chunk = "".join(_csv_line(list(_csv_row(e).values())) for e in events)
        if not events:
            return
        last = events[-1].seq
        yield chunk.encode()
        if len(events) < batch:
            return


def _export(
    request: Request, user: kit.WebUser, session: DbSession, f: search.FormFilters
) -> Response:
    filters = search.from_form(session, f)
    if f.errors:
        raise kit.message("Export impossible", " ".join(f.errors.values()), 422, user)
    audit.record(session, user.ctx, "audit.read", details={**f.as_details(), "export": "csv"})
    stamp = datetime.now(clock.platform_zone()).strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        _stream_audit(request, filters),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="audit-sisra-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/audit/export.csv")
@router.post("/audit/export.csv")
def audit_export(
    request: Request, user: kit.Admin, session: DbSession, form: AuditSearch
) -> Response:
    """The rows the search form asks for, as CSV."""
    return _export(request, user, session, form.filters(request))

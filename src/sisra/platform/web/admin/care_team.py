"""Admin pages: care-team memberships — review declarations, add and remove members.

Declaring a care relationship is open to every professional; this page is where abuse shows:
an administrator lists memberships per professional (or per patient), reads each attestation,
and ends a membership with a reason. Every change goes through the same service (and audit)
as the API.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from sisra.common.text import fold
from sisra.platform.audit import service as audit
from sisra.platform.deps import DbSession
from sisra.platform.directory import service as directory
from sisra.platform.errors import Invalid, NotFound, SisraError
from sisra.platform.models import CareTeamHow, CareTeamMember, Patient, Professional
from sisra.platform.record import care_team
from sisra.platform.web import kit
from sisra.platform.web.formats import fr_datetime

router = APIRouter(prefix="/admin", include_in_schema=False)

PAGE_SIZE = 50  # memberships a page

_HOW_FILTERS = {
    "": None,
    "declared": CareTeamHow.declared,
    "admin": CareTeamHow.admin,
    "history": CareTeamHow.history,
}
_NOTICES = {
    "ajoute": "Le professionnel a été ajouté à l'équipe de soins.",
    "retire": "Le professionnel a été retiré de l'équipe de soins.",
}


def _find_patient(session: Session, text: str) -> Patient:
    """A patient by INS or by identifier (the ids the listing links to)."""
    text = text.strip()
    found: Patient | None = None
    try:
        found = session.get(Patient, uuid.UUID(text))
    except ValueError:
        ins = "".join(text.split()).upper()
        found = session.scalars(select(Patient).where(Patient.ins == ins)).first()
    if found is None:
        raise NotFound(
            "Patient introuvable : indiquez son INS ou son identifiant.", code="patient_not_found"
        )
    return found


def _find_professional(session: Session, text: str) -> Professional:
    """A professional by login, or by name when exactly one matches."""
    text = text.strip()
    try:
        return directory.by_login(session, text)
    except NotFound:
        stmt = select(Professional)
        for part in fold(text).split():
            stmt = stmt.where(Professional.search_text.contains(part, autoescape=True))
        matches = list(session.scalars(stmt.limit(2)))
        if len(matches) == 1:
            return matches[0]
        raise NotFound(
            "Professionnel introuvable (ou plusieurs correspondent) : indiquez son identifiant "
            "de connexion.",
            code="professional_not_found",
        ) from None


def _context(**values: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "professionnel": "",
        "patient": "",
        "comment": "",
        "terminees": False,
        "errors": {},
        "rows": [],
        "notice": "",
        "query": "",
        "add_error": None,
        "remove_error": None,
        "add": {},
        "alerts": None,  # None: not computed (an error page), the section is left out
        "total": 0,
        "pages": 1,
        "page_number": 1,
    }
    return context | values


def _end_date(text: str) -> date | None:
    """The optional end date of an administrator's addition (``AAAA-MM-JJ`` from the date
    field, or ``JJ/MM/AAAA`` typed)."""
    text = text.strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise Invalid(
        "Date de fin invalide : indiquez une date (JJ/MM/AAAA) ou laissez vide (sans fin).",
        code="end_date_invalid",
    )


def _patient_label(p: Patient) -> str:
    name = p.used_name or p.birth_name
    return f"{name} {p.first_given_name}, né(e) le {p.birth_date.strftime('%d/%m/%Y')}"


@router.get("/equipes-de-soins", response_class=HTMLResponse)
def memberships_page(
    request: Request,
    user: kit.Admin,
    session: DbSession,
    professionnel: str = "",
    patient: str = "",
    comment: str = "",
    terminees: str = "",
    notice: str = "",
    page_number: int = Query(1, alias="page"),
) -> HTMLResponse:
    ctx = user.ctx
    context = _context(
        professionnel=professionnel,
        patient=patient,
        comment=comment if comment in _HOW_FILTERS else "",
        terminees=bool(terminees),
        notice=_NOTICES.get(notice, ""),
        query=urlencode(
            {
                "professionnel": professionnel,
                "patient": patient,
                "comment": comment,
                "terminees": "1" if terminees else "",
            }
        ),
    )
    filters: dict[str, Any] = {"how": _HOW_FILTERS.get(comment), "include_ended": bool(terminees)}
    if professionnel.strip():
        try:
            filters["professional_id"] = _find_professional(session, professionnel).id
        except NotFound as exc:
            context["errors"]["professionnel"] = exc.message
    if patient.strip():
        try:
            filters["patient_id"] = _find_patient(session, patient).id
        except NotFound as exc:
            context["errors"]["patient"] = exc.message
    context["alerts"] = care_team.alerts(session)
    if context["errors"]:
        return kit.render(request, user, "admin/care_team.html", context, status=404)
    total = care_team.count_memberships(session, **filters)
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    page_number = min(max(1, page_number), pages)
    context |= {"total": total, "pages": pages, "page_number": page_number}
    rows = care_team.memberships(
        session, **filters, limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE
    )
    logins = dict(
        session.execute(
            select(Professional.id, Professional.login).where(
                Professional.id.in_({m.professional_id for m, _p in rows})
            )
        ).all()
    )
    context["rows"] = [
        {
            "id": m.id,
            "patient": _patient_label(p),
            "patient_id": p.id,
            "professional": m.professional_name,
            "professional_id": m.professional_id,
            "professional_login": logins.get(m.professional_id, ""),
            "how_code": m.how.value,
            "since": fr_datetime(m.since, "—"),
            "how": m.how_label,
            "attestation": m.attestation or "",
            "added_by": m.added_by_name,
            "ended": (
                f"Terminée le {fr_datetime(m.ended_at, '—')} par {m.ended_by_name or '—'}"
                + (f" : {m.end_reason}" if m.end_reason else "")
                if m.ended_at
                else ""
            ),
            "status": care_team.status_label(m),
            "active": m.active,
        }
        for m, p in rows
    ]
    audit.record(
        session,
        ctx,
        "care_team.review",
        details={k: str(v) for k, v in filters.items() if v is not None and v is not False}
        | {"page": page_number},
    )
    return kit.render(request, user, "admin/care_team.html", context)


@dataclass(frozen=True)
class Addition:
    """The « Ajouter un membre » form: shown again as typed when the addition fails."""

    patient: str = ""
    professionnel: str = ""
    motif: str = ""
    fin: str = ""


AdditionForm = Annotated[Addition, Depends(kit.typed_form(Addition))]


@router.post("/equipes-de-soins/ajouter", response_class=HTMLResponse)
def add_submit(user: kit.Admin, session: DbSession, form: AdditionForm) -> Response:
    try:
        target = _find_professional(session, form.professionnel)
        who = _find_patient(session, form.patient)
        care_team.add(session, user.ctx, who.id, target.id, form.motif, _end_date(form.fin))
    except SisraError as exc:
        context = _context(add_error=exc.message, add=form)
        raise kit.Failure("admin/care_team.html", context, exc.status, user) from exc
    query = urlencode({"patient": str(who.id), "notice": "ajoute"})
    return RedirectResponse(f"/admin/equipes-de-soins?{query}", status_code=303)


@router.post("/equipes-de-soins/{member_id}/retirer", response_class=HTMLResponse)
def remove_submit(
    request: Request,
    user: kit.Admin,
    session: DbSession,
    member_id: uuid.UUID,
    motif: str = Form(""),
    retour: str = Form(""),
) -> Response:
    member = session.get(CareTeamMember, member_id)
    try:
        if member is None:
            raise NotFound("Appartenance introuvable.", code="not_a_member")
        care_team.remove(session, user.ctx, member.patient_id, member.professional_id, motif)
    except SisraError as exc:
        raise kit.Failure(
            "admin/care_team.html", _context(remove_error=exc.message), exc.status, user
        ) from exc
    # ``retour`` is the listing's own query string: it stays a query string of this page
    query = urlencode(
        {
            k: v
            for k, v in parse_qsl(retour)
            if k in ("professionnel", "patient", "comment", "terminees")
        }
        | {"notice": "retire"}
    )
    return RedirectResponse(f"/admin/equipes-de-soins?{query}", status_code=303)

"""Admin pages: duplicate patient identities, and merging two of them (no clinical content)."""

import uuid
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from sisra.platform.deps import DbSession
from sisra.platform.errors import SisraError
from sisra.platform.models import Patient
from sisra.platform.patients import merge as merging
from sisra.platform.web import kit
from sisra.platform.web.formats import fr_datetime

router = APIRouter(prefix="/admin", include_in_schema=False)


def _identity_label(p: Patient, docs: int) -> str:
    given = " ".join(p.birth_given_names or [])
    ins = f", INS {p.ins}" if p.ins else ""
    return (
        f"{p.birth_name} {p.first_given_name} ({given}), né(e) le "
        f"{p.birth_date.strftime('%d/%m/%Y')}, sexe {p.sex}{ins} — {docs} document(s) — "
        f"n° {str(p.id)[:8]}"
    )


def _identities_context(session: Session) -> dict[str, Any]:
    groups = [
        [
            {
                "id": str(p.id),
                "label": _identity_label(p, merging.document_count(session, p.id)),
                "status": str(p.identity_status),
                "created": fr_datetime(p.created_at, "—"),
            }
            for p in group
        ]
        for group in merging.duplicate_groups(session)
    ]
    return {"groups": groups, "error": None, "notice": ""}


@router.get("/identites/{patient_id}", response_class=HTMLResponse)
def identity_page(
    request: Request, user: kit.Admin, session: DbSession, patient_id: uuid.UUID
) -> Response:
    """One identity (no clinical content), reached from an audit row."""
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise kit.message(
            "Identité introuvable",
            "Cette identité n'existe plus (elle a peut-être été fusionnée).",
            404,
            user,
        )
    return kit.render(
        request,
        user,
        "admin/identity.html",
        {
            "patient_id": patient.id,
            "label": _identity_label(patient, merging.document_count(session, patient.id)),
            "status": str(patient.identity_status),
            "created": fr_datetime(patient.created_at, "—"),
        },
    )


@router.get("/identites", response_class=HTMLResponse)
def identities_page(
    request: Request, user: kit.Admin, session: DbSession, notice: str = ""
) -> HTMLResponse:
    context = _identities_context(session)
    if notice == "fusion":
        context["notice"] = "Les deux identités ont été fusionnées."
    return kit.render(request, user, "admin/identities.html", context)


@router.post("/identites/fusion", response_class=HTMLResponse)
def merge_submit(
    request: Request,
    user: kit.Admin,
    session: DbSession,
    keep_id: str = Form(""),
    remove_id: str = Form(""),
    reason: str = Form(""),
) -> Response:
    try:
        try:
            keep, remove = uuid.UUID(keep_id), uuid.UUID(remove_id)
        except ValueError as exc:
            raise SisraError("Choisissez les deux identités.", code="merge_choice") from exc
        merging.merge(session, user.ctx, keep, remove, reason)
    except SisraError as exc:
        error = exc.message
        return kit.fail_over(
            session,
            request,
            user,
            "admin/identities.html",
            lambda: _identities_context(session) | {"error": error},
            exc.status,
        )
    return kit.redirect("/admin/identites?notice=fusion")

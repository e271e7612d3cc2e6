"""Web pages: « Identités à rapprocher », documents received by MSSanté still without patient.

Only the message's recipients see an item. Each one shows the identity as received, the
document (its PDF opens in the browser), the patients the traits point to, a search, and the
creation of the identity from the received traits. Choosing files the document about that
patient: it then reaches « Documents reçus » and MonSisra like any other. All audited.
"""

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from sisra.common import doctypes
from sisra.platform.audit import service as audit
from sisra.platform.deps import AppSettings, Blobs, DbSession, Hub
from sisra.platform.errors import SisraError
from sisra.platform.models import MailPending, Patient, PendingReason, Professional
from sisra.platform.mssante import matching, service
from sisra.platform.mssante.inbound import Identity
from sisra.platform.settings import Settings
from sisra.platform.web import kit, patient_forms
from sisra.platform.web.formats import fr_date, fr_datetime

router = APIRouter(include_in_schema=False)

BASE = "/identites-a-rapprocher"
_REASONS = {
    PendingReason.no_match: "Aucun patient de la plateforme ne correspond à l'identité reçue.",
    PendingReason.several: "Plusieurs patients pourraient correspondre : choisissez le bon.",
    PendingReason.unstructured: (
        "Message sans identité structurée (PDF joint à un courriel) : indiquez de quel patient "
        "il s'agit."
    ),
}
_SEX = {"M": "Masculin", "F": "Féminin", "I": "Indéterminé"}
_NOTICES = {"rapproche": "Le document a été rattaché au patient : il est dans vos documents reçus."}


def _refused(user: kit.WebUser, exc: SisraError) -> kit.Failure:
    return kit.Failure("mssante/refused.html", {"message": exc.message}, exc.status, user)


def _identity(item: MailPending) -> Identity:
    return Identity(
        ins=item.ins,
        ins_oid=item.ins_oid,
        birth_name=item.birth_name,
        used_name=item.used_name,
        first_given_name=item.first_given_name,
        birth_date=item.birth_date,
        sex=item.sex,
        birth_place_code=item.birth_place_code,
    )


def _patient_row(p: Patient) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": f"{p.used_name or p.birth_name} {p.first_given_name}",
        "birth_name": p.birth_name,
        # homonyms differ by these: the choice must be possible on the page itself
        "given_names": " ".join(p.birth_given_names),
        "birth_place": p.birth_place_code or "",
        "birth_date": fr_date(p.birth_date),
        "sex": _SEX.get(p.sex.value, p.sex.value),
        "ins": p.ins or "",
        "status": p.identity_status.value,
    }


def _item_view(item: MailPending, sender: Professional) -> dict[str, Any]:
    dtype = doctypes.get(item.type_code)
    return {
        "id": item.id,
        "received": fr_datetime(item.created_at),
        "sender": sender.display_name,
        "sender_address": sender.mssante or "",
        "title": item.title,
        "subject": item.subject,
        "type": dtype.label if dtype else item.type_code,
        "clinical_date": fr_date(item.clinical_date),
        "reason": _REASONS[item.reason],
        "unstructured": item.reason == PendingReason.unstructured,
        "traits": [
            (label, value)
            for label, value in (
                ("Nom de naissance", item.birth_name),
                ("Nom utilisé", item.used_name),
                ("Premier prénom", item.first_given_name),
                ("Date de naissance", fr_date(item.birth_date)),
                ("Sexe", _SEX.get(item.sex or "", item.sex)),
                ("Lieu de naissance (code INSEE)", item.birth_place_code),
                ("INS", item.ins),
            )
            if value
        ],
    }


@router.get(BASE, response_class=HTMLResponse)
def pending_list(
    request: Request, user: kit.LoggedIn, session: DbSession, notice: str = ""
) -> HTMLResponse:
    rows = [_item_view(item, sender) for item, sender in service.pending_for(session, user.ctx)]
    return kit.render(
        request,
        user,
        "mssante/pending.html",
        {"items": rows, "notice": _NOTICES.get(notice, "")},
    )


def _form_defaults(item: MailPending) -> kit.FormValues:
    """The identity form, filled with the received traits."""
    form = kit.FormValues.empty(patient_forms.IDENTITY_FIELDS)
    form.values |= {
        "birth_name": item.birth_name or "",
        "used_name": item.used_name or "",
        "birth_given_names": item.first_given_name or "",
        "birth_date": item.birth_date.isoformat() if item.birth_date else "",
        "sex": item.sex or "",
        "birth_place_code": item.birth_place_code or "",
        "ins": item.ins or "",
    }
    return form


def _received(item: MailPending) -> patient_forms.PatientSearch:
    """The form's defaults: the received traits, for the professional to search with."""
    return patient_forms.PatientSearch(
        q=item.birth_name or "",
        given=item.first_given_name or "",
        birth_date=item.birth_date.isoformat() if item.birth_date else "",
        ins=item.ins or "",
    )


def _item_context(
    session: Session,
    user: kit.WebUser,
    settings: Settings,
    pending_id: uuid.UUID,
    search: patient_forms.PatientSearch | None,
) -> tuple[dict[str, Any], int]:
    """The page and its status; ``search`` is what the professional asked for (None: the
    page is only shown, with the received traits ready in the search form)."""
    ctx = user.ctx
    try:
        item = service.read_pending(session, ctx, pending_id)
    except SisraError as exc:
        raise _refused(user, exc) from exc
    sender = session.get(Professional, item.sender_id)
    assert sender is not None
    candidates: list[Patient] = []
    if item.resolved_at is None:
        match = matching.find(session, _identity(item))
        if match.candidates:
            candidates = list(
                session.scalars(select(Patient).where(Patient.id.in_(match.candidates)))
            )
    asked = search is not None and search.asked() and item.resolved_at is None
    found = patient_forms.Found()
    if asked:
        assert search is not None
        found = patient_forms.search(session, ctx, settings, search)
    shown = search if search is not None else _received(item)
    return {
        "item": _item_view(item, sender),
        "resolved": item.resolved_at is not None,
        "candidates": [_patient_row(p) for p in candidates],
        "found": [
            _patient_row(p) for p in found.patients if p.id not in {c.id for c in candidates}
        ],
        "searched": search is not None and search.asked() and not found.error,
        "truncated": found.truncated,
        "max_results": settings.patient_search_max_results,
        "search": shown,
        "search_error": found.error,
        "form": _form_defaults(item),
        "errors": {},
    }, found.status


@router.get(BASE + "/{pending_id}", response_class=HTMLResponse)
def pending_item(
    request: Request,
    user: kit.LoggedIn,
    session: DbSession,
    settings: AppSettings,
    pending_id: uuid.UUID,
) -> HTMLResponse:
    context, status = _item_context(session, user, settings, pending_id, None)
    return kit.render(request, user, "mssante/item.html", context, status)


# The search is a POST: names, birth dates and INS never appear in URLs (nor in access logs).
@router.post(BASE + "/{pending_id}", response_class=HTMLResponse)
def pending_item_search(
    request: Request,
    user: kit.LoggedIn,
    session: DbSession,
    settings: AppSettings,
    pending_id: uuid.UUID,
    search: patient_forms.Search,
) -> HTMLResponse:
    context, status = _item_context(session, user, settings, pending_id, search)
    return kit.render(request, user, "mssante/item.html", context, status)


@router.get(BASE + "/{pending_id}/pdf")
def pending_pdf(
    user: kit.LoggedIn, session: DbSession, blobs: Blobs, pending_id: uuid.UUID
) -> Response:
    """The received PDF, for its recipients to see whom it is about (audited)."""
    ctx = user.ctx
    try:
        item = service.get_pending(session, ctx, pending_id)
    except SisraError as exc:
        raise _refused(user, exc) from exc
    audit.record(session, ctx, "mssante.pending_pdf", details={"pending": str(item.id)})
    chunks = blobs.read(item.blob_key, item.wrapped_key, item.document_id.bytes, item.size)
    return StreamingResponse(
        chunks,
        media_type="application/pdf",
        headers={
            "Content-Disposition": 'inline; filename="document-mssante.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.post(BASE + "/{pending_id}/patient")
def choose_patient(
    request: Request,
    user: kit.LoggedIn,
    session: DbSession,
    hub: Hub,
    pending_id: uuid.UUID,
    patient_id: uuid.UUID = Form(),
) -> Response:
    try:
        service.resolve(session, user.ctx, hub, pending_id, patient_id)
    except SisraError as exc:
        raise _refused(user, exc) from exc
    return RedirectResponse(f"{BASE}?{urlencode({'notice': 'rapproche'})}", status_code=303)


@router.post(BASE + "/{pending_id}/creer")
def create_identity(
    request: Request,
    user: kit.LoggedIn,
    session: DbSession,
    settings: AppSettings,
    hub: Hub,
    pending_id: uuid.UUID,
    form: patient_forms.Identity,
) -> Response:
    born = patient_forms.parse_date(form.values["birth_date"])
    try:
        if born is None:
            raise SisraError(
                "Indiquez la date de naissance (jj/mm/aaaa).", code="invalid_birth_date", status=422
            )
        data = patient_forms.new_patient(form, born)
        service.resolve_new_identity(session, user.ctx, hub, pending_id, data)
    except SisraError as exc:
        if exc.code in ("pending_forbidden", "pending_not_found", "pending_resolved"):
            raise _refused(user, exc) from exc
        error = exc.message

        def again() -> dict[str, Any]:
            # nothing of the attempt is kept; the page is shown again with the reason
            context, _status = _item_context(session, user, settings, pending_id, None)
            return context | {"form": form, "errors": {"create": error}}

        return kit.fail_over(session, request, user, "mssante/item.html", again, exc.status)
    return RedirectResponse(f"{BASE}?{urlencode({'notice': 'rapproche'})}", status_code=303)

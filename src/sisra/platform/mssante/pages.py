"""Web pages: « Identités à rapprocher », documents received by MSSanté still without patient.

Only the message's recipients see an item. Each one shows the identity as received, the
document (its PDF opens in the browser), the patients the traits point to, a search, and the
creation of the identity from the received traits. Choosing files the document about that
patient: it then reaches « Documents reçus » and MonSisra like any other. All audited.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from sisra.common import doctypes
from sisra.platform.audit import service as audit
from sisra.platform.deps import AppSettings, Blobs, DbSession, Hub
from sisra.platform.errors import Invalid, SisraError
from sisra.platform.models import MailPending, Patient, PendingReason, Professional
from sisra.platform.mssante import matching, service
from sisra.platform.mssante.inbound import Identity
from sisra.platform.patients import service as patients
from sisra.platform.web.pages_record import fr_date, fr_datetime
from sisra.platform.web.routes import _FormError, check_csrf, page, web_context
from sisra.settings import Settings

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


def _who(pro: Professional) -> dict[str, str]:
    """What the page header shows of the caller, as plain values: an error page is rendered
    after the transaction rolled back, when the row can no longer be read."""
    return {"display_name": pro.display_name, "role": str(pro.role.value)}


def _refused(pro: Professional, csrf: str, exc: SisraError) -> _FormError:
    return _FormError(
        "mssante/refused.html", {"pro": _who(pro), "csrf": csrf, "message": exc.message}, exc.status
    )


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
def pending_list(request: Request, session: DbSession, notice: str = "") -> HTMLResponse:
    ctx, pro, csrf = web_context(request, session)
    rows = [_item_view(item, sender) for item, sender in service.pending_for(session, ctx)]
    return page(
        request,
        "mssante/pending.html",
        {"pro": pro, "csrf": csrf, "items": rows, "notice": _NOTICES.get(notice, "")},
    )


def _form_defaults(item: MailPending) -> dict[str, str]:
    return {
        "birth_name": item.birth_name or "",
        "used_name": item.used_name or "",
        "given_names": item.first_given_name or "",
        "birth_date": item.birth_date.isoformat() if item.birth_date else "",
        "sex": item.sex or "",
        "birth_place_code": item.birth_place_code or "",
        "ins": item.ins or "",
    }


@dataclass(frozen=True)
class _Search:
    """The page's patient search, as typed (a POST form: traits never travel in a URL)."""

    q: str = ""
    given: str = ""
    birth: str = ""
    ins: str = ""

    def asked(self) -> bool:
        return any(v.strip() for v in (self.q, self.given, self.birth, self.ins))


def _received(item: MailPending) -> _Search:
    """The form's defaults: the received traits, for the professional to search with."""
    return _Search(
        q=item.birth_name or "",
        given=item.first_given_name or "",
        birth=item.birth_date.isoformat() if item.birth_date else "",
        ins=item.ins or "",
    )


def _item_context(
    session: Session,
    request: Request,
    settings: Settings,
    pending_id: uuid.UUID,
    search: _Search | None,
    csrf_field: str | None = None,
) -> tuple[dict[str, Any], int]:
    """The page and its status; ``search`` is what the professional asked for (None: the
    page is only shown, with the received traits ready in the search form)."""
    ctx, pro, csrf = web_context(request, session)
    if csrf_field is not None:
        check_csrf(csrf, csrf_field)
    try:
        item = service.read_pending(session, ctx, pending_id)
    except SisraError as exc:
        raise _refused(pro, csrf, exc) from exc
    sender = session.get(Professional, item.sender_id)
    assert sender is not None
    candidates: list[Patient] = []
    if item.resolved_at is None:
        match = matching.find(session, _identity(item))
        if match.candidates:
            candidates = list(
                session.scalars(select(Patient).where(Patient.id.in_(match.candidates)))
            )
    found: list[Patient] = []
    truncated = False
    search_error = ""
    status = 200
    if search is not None and search.asked() and item.resolved_at is None:
        birth = _date(search.birth) if search.birth.strip() else None
        criteria = patients.Criteria(
            q=search.q.strip() or None,
            given=search.given.strip() or None,
            birth_date=birth,
            ins=search.ins.strip() or None,
        )
        try:
            if search.birth.strip() and birth is None:
                raise Invalid("La date de naissance n'est pas valide.", code="invalid_birth_date")
            result = patients.search(session, ctx, settings, criteria)
            found, truncated = result.patients, result.truncated
        except SisraError as exc:
            search_error, status = exc.message, exc.status
    shown = search if search is not None else _received(item)
    return {
        "pro": pro,
        "csrf": csrf,
        "item": _item_view(item, sender),
        "resolved": item.resolved_at is not None,
        "candidates": [_patient_row(p) for p in candidates],
        "found": [_patient_row(p) for p in found if p.id not in {c.id for c in candidates}],
        "searched": search is not None and search.asked() and not search_error,
        "truncated": truncated,
        "max_results": settings.patient_search_max_results,
        "search": shown,
        "search_error": search_error,
        "form": _form_defaults(item),
        "errors": {},
    }, status


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


@router.get(BASE + "/{pending_id}", response_class=HTMLResponse)
def pending_item(
    request: Request, session: DbSession, settings: AppSettings, pending_id: uuid.UUID
) -> HTMLResponse:
    context, status = _item_context(session, request, settings, pending_id, None)
    return page(request, "mssante/item.html", context, status)


# The search is a POST: names, birth dates and INS never appear in URLs (nor in access logs).
@router.post(BASE + "/{pending_id}", response_class=HTMLResponse)
def pending_item_search(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    pending_id: uuid.UUID,
    q: str = Form("", max_length=100),
    given: str = Form("", max_length=100),
    naissance: str = Form("", max_length=10),
    ins: str = Form("", max_length=25),
    csrf: str = Form(""),
) -> HTMLResponse:
    search = _Search(q=q, given=given, birth=naissance, ins=ins)
    context, status = _item_context(session, request, settings, pending_id, search, csrf)
    return page(request, "mssante/item.html", context, status)


@router.get(BASE + "/{pending_id}/pdf")
def pending_pdf(
    request: Request, session: DbSession, blobs: Blobs, pending_id: uuid.UUID
) -> Response:
    """The received PDF, for its recipients to see whom it is about (audited)."""
    ctx, pro, csrf = web_context(request, session)
    try:
        item = service.get_pending(session, ctx, pending_id)
    except SisraError as exc:
        raise _refused(pro, csrf, exc) from exc
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
    session: DbSession,
    hub: Hub,
    pending_id: uuid.UUID,
    patient_id: uuid.UUID = Form(),
    csrf: str = Form(""),
) -> Response:
    ctx, pro, expected = web_context(request, session)
    check_csrf(expected, csrf)
    try:
        service.resolve(session, ctx, hub, pending_id, patient_id)
    except SisraError as exc:
        raise _refused(pro, expected, exc) from exc
    return RedirectResponse(f"{BASE}?{urlencode({'notice': 'rapproche'})}", status_code=303)


@router.post(BASE + "/{pending_id}/creer")
def create_identity(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    hub: Hub,
    pending_id: uuid.UUID,
    csrf: str = Form(""),
    birth_name: str = Form(""),
    used_name: str = Form(""),
    given_names: str = Form(""),
    birth_date: str = Form(""),
    sex: str = Form(""),
    birth_place_code: str = Form(""),
    ins: str = Form(""),
) -> Response:
    ctx, pro, expected = web_context(request, session)
    check_csrf(expected, csrf)
    form = {
        "birth_name": birth_name,
        "used_name": used_name,
        "given_names": given_names,
        "birth_date": birth_date,
        "sex": sex,
        "birth_place_code": birth_place_code,
        "ins": ins,
    }
    born = _date(birth_date)
    try:
        if born is None:
            raise SisraError(
                "Indiquez la date de naissance (jj/mm/aaaa).", code="invalid_birth_date", status=422
            )
        data = patients.NewPatient(
            birth_name=birth_name,
            birth_given_names=given_names.split(),
            used_name=used_name or None,
            birth_date=born,
            sex=sex,
            birth_place_code=birth_place_code or None,
            ins=ins or None,
        )
        service.resolve_new_identity(session, ctx, hub, pending_id, data)
    except SisraError as exc:
        if exc.code in ("pending_forbidden", "pending_not_found", "pending_resolved"):
            raise _refused(pro, expected, exc) from exc
        # nothing of the attempt is kept; the page is shown again with the reason
        session.rollback()
        session.info.clear()
        context, _status = _item_context(session, request, settings, pending_id, None)
        context["form"] = form
        context["errors"] = {"create": exc.message}
        return page(request, "mssante/item.html", context, status=exc.status)
    return RedirectResponse(f"{BASE}?{urlencode({'notice': 'rapproche'})}", status_code=303)

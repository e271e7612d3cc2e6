"""Web pages (record): « Documents reçus » and « Dossier régional du patient ».

Server-rendered twins of MonSisra's inbox and of the regional record. Only ids travel in URLs;
every read goes through the same services (and audit) as the API.
"""

import uuid
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from sisra.common import clock, doctypes
from sisra.platform.audit import service as audit
from sisra.platform.context import RequestContext
from sisra.platform.db import unit_of_work
from sisra.platform.deps import AppSettings, Blobs, DbSession
from sisra.platform.documents import content
from sisra.platform.documents import service as documents
from sisra.platform.errors import SisraError
from sisra.platform.inbox import browse
from sisra.platform.inbox import service as inbox
from sisra.platform.models import (
    CareTeamHow,
    Document,
    Notification,
    Patient,
    Professional,
    Role,
)
from sisra.platform.mssante import service as mssante
from sisra.platform.record import care_team
from sisra.platform.record import service as record
from sisra.platform.storage import EncryptedBlobs
from sisra.platform.web import preview, saved_search
from sisra.platform.web.routes import (
    SESSION_COOKIE,
    _FormError,
    check_csrf,
    page,
    web_context,
)

router = APIRouter(include_in_schema=False)

_SEX = {"M": "Masculin", "F": "Féminin", "I": "Indéterminé"}


def fr_date(value: date | str | None) -> str:
    """``dd/mm/yyyy`` (also accepts an ISO string, as in inbox items)."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.strftime("%d/%m/%Y")


def fr_datetime(value: datetime | str | None) -> str:
    """« 06/12/2026 à 17h21 », in the platform's time zone (``SISRA_TIMEZONE``)."""
    if value is None:
        return ""
    return clock.fr_datetime(value, clock.platform_zone())


def _error_page(
    request: Request, pro: Professional, csrf: str, exc: SisraError, heading: str
) -> Response:
    return page(
        request,
        "record/error.html",
        {"pro": pro, "csrf": csrf, "heading": heading, "message": exc.message},
        exc.status,
    )


def _respond(
    request: Request,
    session: Session,
    ctx: RequestContext,
    blobs: EncryptedBlobs,
    doc: Document,
    pro: Professional,
    csrf: str,
) -> Response:
    """The PDF; a damaged one is a page saying so (the transaction rolls back, the
    integrity failure stays in the audit)."""
    try:
        return content.respond(request, session, ctx, blobs, doc)
    except content.DocumentDamaged as exc:
        who = {"display_name": pro.display_name, "role": pro.role.value}  # usable after rollback
        raise _FormError(
            "record/error.html",
            {"pro": who, "csrf": csrf, "heading": "Document endommagé", "message": exc.message},
            exc.status,
        ) from exc


def _patient_name(p: dict[str, Any]) -> str:
    name = p["used_name"] or p["birth_name"]
    return f"{name} {p['first_given_name']}"


# --- Documents reçus --------------------------------------------------------------------------


def _inbox_items(session: DbSession, notes: list[Notification]) -> list[dict[str, Any]]:
    return [
        {
            "id": i["id"],
            "document_id": i["document"]["id"],
            "received": fr_datetime(i["created_at"]),
            "clinical_date": fr_date(i["document"]["clinical_date"]),
            "unread": i["read_at"] is None,
            "patient_id": i["patient"]["id"],
            "patient_name": _patient_name(i["patient"]),
            "patient_birth": fr_date(i["patient"]["birth_date"]),
            "sender": i["sender"]["name"],
            "title": i["document"]["title"],
            "type": i["document"]["type_label"],
        }
        for i in inbox.items_for(session, notes)
    ]


def _parse_day(value: str, label: str, errors: list[str]) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors.append(f"Date « {label} » invalide (format attendu : AAAA-MM-JJ).")
        return None


def _inbox_page(
    request: Request,
    session: DbSession,
    *,
    q: str = "",
    etat: str = "",
    type_code: str = "",
    du: str = "",
    au: str = "",
    avant: int | None = None,
    apres: int | None = None,
    flash: str | None = None,
) -> Response:
    ctx, pro, csrf = web_context(request, session)
    errors: list[str] = []
    f = browse.InboxFilters(
        q=q.strip()[:200],
        unread_only=etat == "non-lus",
        type_code=type_code if doctypes.get(type_code) else "",
        start=_parse_day(du, "du", errors),
        end=_parse_day(au, "au", errors),
    )
    result = browse.page(session, pro.id, f, before=avant, after=apres)
    items = _inbox_items(session, result.notes)
    audit.record(
        session,
        ctx,
        "inbox.list",
        details={
            "web": True,
            "count": len(items),
            "search": bool(f.q),  # never the words: they may be patient traits
            "unread_only": f.unread_only,
            "type": f.type_code or None,
        },
    )
    return page(
        request,
        "record/inbox.html",
        {
            "pro": pro,
            "csrf": csrf,
            "items": items,
            "flash": flash,
            "errors": errors,
            # documents received by MSSanté still waiting for their patient (a link to them)
            "pending_mssante": mssante.pending_count(session, pro.id),
            "f": {
                "q": f.q,
                "etat": "non-lus" if f.unread_only else "tous",
                "type": f.type_code,
                "du": du.strip(),
                "au": au.strip(),
            },
            "filtered": bool(f.q or f.unread_only or f.type_code or f.start or f.end),
            "types": doctypes.DOCUMENT_TYPES,
            "total": result.total,
            "first": result.first_index,
            "last": result.first_index + len(items) - 1,
            "newer": result.newer,
            "older": result.older,
        },
        422 if errors else 200,
    )


@router.get("/documents-recus", response_class=HTMLResponse)
def received(
    request: Request,
    session: DbSession,
    supprime: int = 0,
    etat: str = "",
    type: str = "",
    du: str = "",
    au: str = "",
    avant: int | None = None,
    apres: int | None = None,
    recherche: str = "",
) -> Response:
    """The inbox, newest first, 50 a page. A search is POSTed (its words may be patient
    traits), then shown here through an opaque reference: « Back » never resubmits a form."""
    flash = (
        "Le document a été retiré de vos documents reçus. Il reste consultable dans le dossier "
        "du patient."
        if supprime
        else None
    )
    if recherche:
        saved = saved_search.unseal(
            request.app.state.search_key, request.cookies.get(SESSION_COOKIE, ""), recherche
        )
        if saved is None:
            flash = "Cette recherche a expiré : relancez-la."
        else:
            return _inbox_page(
                request,
                session,
                q=str(saved.get("q", "")),
                etat=str(saved.get("etat", "")),
                type_code=str(saved.get("type", "")),
                du=str(saved.get("du", "")),
                au=str(saved.get("au", "")),
                avant=_cursor(str(saved.get("avant", ""))),
                apres=_cursor(str(saved.get("apres", ""))),
            )
    return _inbox_page(
        request,
        session,
        etat=etat,
        type_code=type,
        du=du,
        au=au,
        avant=avant,
        apres=apres,
        flash=flash,
    )


def _cursor(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None


@router.post("/documents-recus")
def received_search(
    request: Request,
    session: DbSession,
    csrf: str = Form(""),
    q: str = Form(""),
    etat: str = Form(""),
    type: str = Form(""),
    du: str = Form(""),
    au: str = Form(""),
    avant: str = Form(""),
    apres: str = Form(""),
) -> Response:
    """The search, sealed into a reference bound to this browser's session, then shown by a
    GET (POST-redirect-GET): the words stay out of every address."""
    _ctx, _pro, expected = web_context(request, session)
    check_csrf(expected, csrf)
    ref = saved_search.seal(
        request.app.state.search_key,
        request.cookies.get(SESSION_COOKIE, ""),
        {"q": q[:200], "etat": etat, "type": type, "du": du, "au": au}
        | {"avant": avant, "apres": apres},
    )
    return RedirectResponse(f"/documents-recus?recherche={ref}", status_code=303)


@router.get("/web/documents-recus/{notification_id}/pdf")
def received_pdf(
    request: Request, session: DbSession, blobs: Blobs, notification_id: uuid.UUID
) -> Response:
    """The received PDF, inline; opening it posts the read receipt."""
    ctx, pro, csrf = web_context(request, session)
    try:
        note = inbox.own(session, ctx, notification_id)
        doc = documents.get(session, note.document_id)
        documents.open_content(session, ctx, doc, via="web_inbox")
        inbox.receipt(session, ctx, notification_id, "read")
    except SisraError as exc:
        return _error_page(request, pro, csrf, exc, "Document indisponible")
    return _respond(request, session, ctx, blobs, doc, pro, csrf)


@router.post("/documents-recus/{notification_id}/supprimer", response_class=HTMLResponse)
def delete_received(
    request: Request,
    session: DbSession,
    notification_id: uuid.UUID,
    csrf: str = Form(""),
    confirmer: str = Form(""),
) -> Response:
    """First POST: the confirmation page; second POST (``confirmer``): the deletion."""
    ctx, pro, expected = web_context(request, session)
    check_csrf(expected, csrf)
    try:
        if confirmer == "oui":
            inbox.delete(session, ctx, notification_id)
            return RedirectResponse("/documents-recus?supprime=1", status_code=303)
        note = inbox.own(session, ctx, notification_id)
    except SisraError as exc:
        return _error_page(request, pro, expected, exc, "Document indisponible")
    item = inbox.items_for(session, [note])[0]
    return page(
        request,
        "record/confirm_delete.html",
        {
            "pro": pro,
            "csrf": expected,
            "id": notification_id,
            "title": item["document"]["title"],
            "type": item["document"]["type_label"],
            "sender": item["sender"]["name"],
            "patient_name": _patient_name(item["patient"]),
            "patient_birth": fr_date(item["patient"]["birth_date"]),
        },
    )


# --- Dossier régional du patient ---------------------------------------------------------------


def _identity(p: Patient) -> dict[str, Any]:
    return {
        "birth_name": p.birth_name,
        "used_name": p.used_name,
        "given_names": " ".join(p.birth_given_names or []),
        "first_given_name": p.first_given_name,
        "birth_date": fr_date(p.birth_date),
        "sex": _SEX.get(p.sex.value, p.sex.value),
        "ins": p.ins,
        "identity_status": p.identity_status.value,
    }


def _record_docs(
    session: DbSession, ctx: RequestContext, docs: list[Document]
) -> list[dict[str, Any]]:
    assert ctx.actor is not None
    authors = {
        a.id: a
        for a in session.scalars(
            select(Professional).where(Professional.id.in_({d.author_id for d in docs}))
        )
    }
    out = []
    for d in docs:
        dtype = doctypes.get(d.type_code)
        author = authors.get(d.author_id)
        mine = d.author_id == ctx.actor.id
        shares = documents.detail(session, ctx, d.id).shares if mine else []
        out.append(
            {
                "id": d.id,
                "date": fr_date(d.clinical_date),
                "type": dtype.label if dtype else d.type_code,
                "title": d.title,
                "author": author.display_name if author else "—",
                "mine": mine,
                "shares": [
                    {
                        "name": s.recipient_name,
                        "delivered": fr_datetime(s.delivered_at),
                        "read": fr_datetime(s.read_at),
                        "deleted": s.deleted,
                        # a correspondent of another MSSanté operator: the mail's state
                        "mssante": s.mssante_address,
                        "mail": MAIL_STATUS.get(s.mssante_status or "", ""),
                        "mail_error": s.mssante_error,
                    }
                    for s in shares or []
                ],
            }
        )
    return out


# what the author reads of a mail to another MSSanté operator (outbox status)
MAIL_STATUS = {
    "queued": "envoi par MSSanté en cours",
    "sent": "remis à la messagerie MSSanté, en attente de l'accusé de réception",
    "delivered": "reçu par la messagerie du destinataire",
    "read": "lu par le destinataire",
    "failed": "échec de l'envoi par MSSanté",
}


def _patient_heading(p: Patient) -> str:
    """« DUPONT (né(e) MARTIN) Marie, né(e) le 01/02/1960 »: whom a record page is about."""
    name = p.used_name or p.birth_name
    if p.used_name and p.used_name != p.birth_name:
        name += f" (né(e) {p.birth_name})"
    return f"{name} {p.first_given_name}, né(e) le {fr_date(p.birth_date)}"


def _until(value: datetime | None) -> str:
    """« 06/12/2026 à 21h30 » in French local time (a stored naive time is UTC)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return fr_datetime(value)


def _refusal(
    request: Request,
    session: Session,
    pro: Professional,
    csrf: str,
    patient_id: uuid.UUID,
    message: str,
    *,
    error: str | None = None,
    reason: str = "",
    declare_error: str | None = None,
    declare_context: str = "",
    declare_reason: str = "",
    status: int = 403,
) -> Response:
    who = session.get(Patient, patient_id)
    return page(
        request,
        "record/refused.html",
        {
            "pro": pro,
            "csrf": csrf,
            "patient_id": patient_id,
            "patient_name": _patient_heading(who) if who is not None else "",
            "message": message,
            "error": error,
            "reason": reason,
            "min_reason": record.MIN_REASON,
            "is_admin": pro.role == Role.administrator,
            "declare_error": declare_error,
            "declare_context": declare_context,
            "declare_reason": declare_reason,
        },
        status,
    )


def _team(session: DbSession, ctx: RequestContext, patient_id: uuid.UUID) -> list[dict[str, Any]]:
    assert ctx.actor is not None
    return [
        {
            "name": m.professional_name,
            "me": m.professional_id == ctx.actor.id,
            "since": fr_date(clock.local(m.since, clock.platform_zone()).date()),
            "how": m.how_label,
            "added_by": m.added_by_name if m.how == CareTeamHow.admin else None,
            "attestation": m.attestation if m.how == CareTeamHow.declared else None,
            "active": m.active,
            "status": care_team.status_label(m),
        }
        for m in care_team.team(session, patient_id)
    ]


def _new_declarations(
    session: DbSession, ctx: RequestContext, patient_id: uuid.UUID
) -> list[dict[str, Any]]:
    """The notice: declarations of the last 30 days by others (new members of the team)."""
    assert ctx.actor is not None
    return [
        {
            "name": m.professional_name,
            "at": fr_datetime(m.declared_at),
            "reason": m.reason_label or "—",
            "status": care_team.status_label(m),
        }
        for m in care_team.recent_declarations(session, patient_id)
        if m.professional_id != ctx.actor.id
    ]


_FLASH = {
    "declare": "Vous faites désormais partie de l'équipe de soins de ce patient.",
    "quitte": "Vous avez quitté l'équipe de soins de ce patient.",
}


@router.get("/patients/{patient_id:uuid}", response_class=HTMLResponse)
def patient_record(
    request: Request, session: DbSession, patient_id: uuid.UUID, equipe: str = ""
) -> Response:
    ctx, pro, csrf = web_context(request, session)
    try:
        access = record.open_record(session, ctx, patient_id)
    except SisraError as exc:
        if exc.code == record.NOT_IN_CARE_TEAM:
            return _refusal(request, session, pro, csrf, patient_id, exc.message)
        return _error_page(request, pro, csrf, exc, "Dossier indisponible")
    return page(
        request,
        "record/patient.html",
        {
            "pro": pro,
            "csrf": csrf,
            "patient_id": patient_id,
            "patient": _identity(access.patient),
            "patient_name": _patient_heading(access.patient),
            "break_glass_until": _until(access.break_glass_until),
            "docs": _record_docs(session, ctx, access.documents),
            "break_glass": access.break_glass,
            "care_team": access.care_team,
            "team": _team(session, ctx, patient_id)
            if access.care_team or access.break_glass
            else [],
            "new_declarations": _new_declarations(session, ctx, patient_id)
            if access.care_team or access.break_glass
            else [],
            "flash": _FLASH.get(equipe),
        },
    )


_DECLARE_ERRORS = frozenset(
    {
        "attestation_required",
        "care_context_required",
        "care_reason_required",
        "consent_required",
        "care_team_rate_limited",
    }
)


@router.post("/patients/{patient_id}/equipe-de-soins", response_class=HTMLResponse)
def patient_declare_care(
    request: Request,
    session: DbSession,
    patient_id: uuid.UUID,
    settings: AppSettings,
    csrf: str = Form(""),
    motif: str = Form(""),
    cadre: str = Form(""),
    consentement: str = Form(""),
    atteste: str = Form(""),
) -> Response:
    """« Je déclare prendre en charge ce patient », from the refusal, record or sent page."""
    ctx, pro, expected = web_context(request, session)
    check_csrf(expected, csrf)
    try:
        care_team.declare(
            session,
            settings,
            ctx,
            patient_id,
            attested=atteste == "oui",
            reason=motif or None,
            details=cadre,
            consent=consentement == "oui",
        )
    except SisraError as exc:
        if exc.code in _DECLARE_ERRORS:
            return _refusal(
                request,
                session,
                pro,
                expected,
                patient_id,
                "Votre déclaration n'a pas été enregistrée.",
                declare_error=exc.message,
                declare_context=cadre[:400],
                declare_reason=motif if motif in care_team.REASONS else "",
                status=exc.status,
            )
        return _error_page(request, pro, expected, exc, "Déclaration impossible")
    return RedirectResponse(f"/patients/{patient_id}?equipe=declare", status_code=303)


@router.post("/patients/{patient_id}/equipe-de-soins/quitter", response_class=HTMLResponse)
def patient_leave_care(
    request: Request, session: DbSession, patient_id: uuid.UUID, csrf: str = Form("")
) -> Response:
    ctx, pro, expected = web_context(request, session)
    check_csrf(expected, csrf)
    try:
        care_team.leave(session, ctx, patient_id)
    except SisraError as exc:
        return _error_page(request, pro, expected, exc, "Impossible de quitter l'équipe")
    return RedirectResponse(f"/patients/{patient_id}?equipe=quitte", status_code=303)


@router.post("/patients/{patient_id}/bris-de-glace", response_class=HTMLResponse)
def patient_break_glass(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    patient_id: uuid.UUID,
    csrf: str = Form(""),
    reason: str = Form(""),
) -> Response:
    ctx, pro, expected = web_context(request, session)
    check_csrf(expected, csrf)
    try:
        record.break_glass(session, settings, ctx, patient_id, reason)
    except SisraError as exc:
        if exc.code == "reason_required":
            return _refusal(
                request,
                session,
                pro,
                expected,
                patient_id,
                "Vous n'avez pas accès au dossier de ce patient.",
                error=exc.message,
                reason=reason,
                status=exc.status,
            )
        return _error_page(request, pro, expected, exc, "Accès en urgence impossible")
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)


@router.get("/web/documents/{document_id}/pdf")
def record_pdf(
    request: Request, session: DbSession, blobs: Blobs, document_id: uuid.UUID
) -> Response:
    """A record document's PDF, inline, for whoever may see it."""
    ctx, pro, csrf = web_context(request, session)
    try:
        doc = documents.get(session, document_id)
        documents.open_content(session, ctx, doc, via="web_record")
    except SisraError as exc:
        return _error_page(request, pro, csrf, exc, "Document indisponible")
    return _respond(request, session, ctx, blobs, doc, pro, csrf)


@router.get("/web/documents/{document_id}/apercu.png")
def record_preview(request: Request, blobs: Blobs, document_id: uuid.UUID) -> Response:
    """The first page as a small PNG, for the record's preview (same access rule as the PDF).

    Access is checked and audited, and the PDF read, in a transaction that ends *before* the
    page is drawn: drawing may take seconds (bounded, in another process) and must hold no
    database lock meanwhile (on SQLite the session's ``last_seen_at`` takes the write lock).
    """
    previews: preview.Previews = request.app.state.previews
    with unit_of_work(request.app.state.session_factory) as session:
        ctx, pro, csrf = web_context(request, session)
        try:
            doc = documents.get(session, document_id)
            documents.open_content(session, ctx, doc, via="web_preview")
        except SisraError as exc:
            return _error_page(request, pro, csrf, exc, "Document indisponible")
        key = previews.key(doc.id, doc.sha256)
        remembered, data = previews.remembered(key), b""
        if remembered is None:
            data = content.read_all(session, ctx, blobs, doc)  # 503 document_damaged if it is
    # the transaction has ended: drawing holds no lock
    png = previews.png(key, data) if remembered is None else previews.answer(remembered)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, no-store"})

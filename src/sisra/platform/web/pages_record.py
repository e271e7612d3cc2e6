"""Web pages (record): « Documents reçus » and « Dossier régional du patient ».

Server-rendered twins of MonSisra's inbox and of the regional record. Only ids travel in URLs;
every read goes through the same services (and audit) as the API.
"""

import uuid
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from sisra.common import clock, doctypes
from sisra.platform.audit import service as audit
from sisra.platform.context import RequestContext
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
)
from sisra.platform.mssante import service as mssante
from sisra.platform.record import care_team
from sisra.platform.record import service as record
from sisra.platform.storage import EncryptedBlobs
from sisra.platform.web import kit, preview, saved_search
from sisra.platform.web.formats import fr_date, fr_datetime, parse_range

router = APIRouter(include_in_schema=False)

_SEX = {"M": "Masculin", "F": "Féminin", "I": "Indéterminé"}


def _failed(user: kit.WebUser, exc: SisraError, heading: str) -> kit.Failure:
    """The error page, drawn after the request rolled back (refusals stay in the audit)."""
    return kit.Failure(
        "record/error.html", {"heading": heading, "message": exc.message}, exc.status, user
    )


def _respond(
    request: Request,
    session: Session,
    user: kit.WebUser,
    blobs: EncryptedBlobs,
    doc: Document,
) -> Response:
    """The PDF; a damaged one is a page saying so (the transaction rolls back, the
    integrity failure stays in the audit)."""
    try:
        return content.respond(request, session, user.ctx, blobs, doc)
    except content.DocumentDamaged as exc:
        raise _failed(user, exc, "Document endommagé") from exc


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


@dataclass(frozen=True)
class InboxSearch:
    """The inbox's search form (French names, those of the page's fields) and its paging."""

    q: str = ""
    etat: str = ""
    type: str = ""
    du: str = ""
    au: str = ""
    avant: str = ""  # paging cursors: older than, newer than
    apres: str = ""


InboxForm = Annotated[InboxSearch, Depends(kit.typed_form(InboxSearch))]


def _cursor(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None


def _inbox_page(
    request: Request,
    session: DbSession,
    user: kit.WebUser,
    asked: InboxSearch,
    flash: str | None = None,
) -> Response:
    ctx, pro = user.ctx, user.pro
    errors: list[str] = []
    du, au = asked.du, asked.au
    days = parse_range(du, au, errors)
    f = browse.InboxFilters(
        q=asked.q.strip()[:200],
        unread_only=asked.etat == "non-lus",
        type_code=asked.type if doctypes.get(asked.type) else "",
        start=days[0] if days else None,
        end=days[1] if days else None,
    )
    before, after = _cursor(asked.avant), _cursor(asked.apres)
    result = (
        browse.page(session, pro.id, f, before=before, after=after)
        if days is not None
        else browse.InboxPage([], 0, 1, None, None)
    )
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
    return kit.render(
        request,
        user,
        "record/inbox.html",
        {
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
            "filtered": bool(f.q or f.unread_only or f.type_code or du.strip() or au.strip()),
            "inverted": days is None,
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
    user: kit.LoggedIn,
    session: DbSession,
    asked: InboxForm,
    supprime: int = 0,
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
        saved = saved_search.unseal(request.app.state.search_key, user.token, recherche)
        if saved is None:
            flash = "Cette recherche a expiré : relancez-la."
        else:
            fields = kit.text_fields(InboxSearch)
            return _inbox_page(
                request, session, user, InboxSearch(**{k: str(saved.get(k, "")) for k in fields})
            )
    # words never come through an address: only a sealed search carries them
    return _inbox_page(request, session, user, replace(asked, q=""), flash)


@router.post("/documents-recus")
def received_search(request: Request, user: kit.LoggedIn, asked: InboxForm) -> Response:
    """The search, sealed into a reference bound to this browser's session, then shown by a
    GET (POST-redirect-GET): the words stay out of every address."""
    sealed = asdict(replace(asked, q=asked.q[:200]))
    ref = saved_search.seal(request.app.state.search_key, user.token, sealed)
    return RedirectResponse(f"/documents-recus?recherche={ref}", status_code=303)


@router.get("/web/documents-recus/{notification_id}/pdf")
def received_pdf(
    request: Request,
    user: kit.LoggedIn,
    session: DbSession,
    blobs: Blobs,
    notification_id: uuid.UUID,
) -> Response:
    """The received PDF, inline; opening it posts the read receipt."""
    ctx = user.ctx
    try:
        note = inbox.own(session, ctx, notification_id)
        doc = documents.get(session, note.document_id)
        documents.open_content(session, ctx, doc, via="web_inbox")
        inbox.receipt(session, ctx, notification_id, "read")
    except SisraError as exc:
        raise _failed(user, exc, "Document indisponible") from exc
    return _respond(request, session, user, blobs, doc)


@router.post("/documents-recus/{notification_id}/supprimer", response_class=HTMLResponse)
def delete_received(
    request: Request,
    user: kit.LoggedIn,
    session: DbSession,
    notification_id: uuid.UUID,
    confirmer: str = Form(""),
) -> Response:
    """First POST: the confirmation page; second POST (``confirmer``): the deletion."""
    ctx = user.ctx
    try:
        if confirmer == "oui":
            inbox.delete(session, ctx, notification_id)
            return RedirectResponse("/documents-recus?supprime=1", status_code=303)
        note = inbox.own(session, ctx, notification_id)
    except SisraError as exc:
        raise _failed(user, exc, "Document indisponible") from exc
    item = inbox.items_for(session, [note])[0]
    return kit.render(
        request,
        user,
        "record/confirm_delete.html",
        {
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
    session: Session,
    user: kit.WebUser,
    patient_id: uuid.UUID,
    message: str,
    *,
    error: str | None = None,
    reason: str = "",
    declare_error: str | None = None,
    declare_context: str = "",
    declare_reason: str = "",
) -> dict[str, Any]:
    """The « no access to this record » page's context (break glass, declare)."""
    who = session.get(Patient, patient_id)
    return {
        "patient_id": patient_id,
        "patient_name": _patient_heading(who) if who is not None else "",
        "message": message,
        "error": error,
        "reason": reason,
        "min_reason": record.MIN_REASON,
        "is_admin": user.is_admin,
        "declare_error": declare_error,
        "declare_context": declare_context,
        "declare_reason": declare_reason,
    }


def _refused_again(
    session: Session,
    request: Request,
    user: kit.WebUser,
    patient_id: uuid.UUID,
    message: str,
    status: int,
    **form: str,
) -> Response:
    """The refusal page again, after a declaration or a break-glass the form got wrong:
    the attempt rolled back, ``form`` (:func:`_refusal`'s) says what to correct."""
    return kit.fail_over(
        session,
        request,
        user,
        "record/refused.html",
        lambda: _refusal(session, user, patient_id, message, **form),
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
    request: Request,
    user: kit.LoggedIn,
    session: DbSession,
    patient_id: uuid.UUID,
    equipe: str = "",
) -> Response:
    ctx = user.ctx
    try:
        access = record.open_record(session, ctx, patient_id)
    except SisraError as exc:
        if exc.code == record.NOT_IN_CARE_TEAM:
            context = _refusal(session, user, patient_id, exc.message)
            return kit.render(request, user, "record/refused.html", context, 403)
        raise _failed(user, exc, "Dossier indisponible") from exc
    return kit.render(
        request,
        user,
        "record/patient.html",
        {
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
    user: kit.LoggedIn,
    session: DbSession,
    patient_id: uuid.UUID,
    settings: AppSettings,
    motif: str = Form(""),
    cadre: str = Form(""),
    consentement: str = Form(""),
    atteste: str = Form(""),
) -> Response:
    """« Je déclare prendre en charge ce patient », from the refusal, record or sent page."""
    try:
        care_team.declare(
            session,
            settings,
            user.ctx,
            patient_id,
            attested=atteste == "oui",
            reason=motif or None,
            details=cadre,
            consent=consentement == "oui",
        )
    except SisraError as exc:
        if exc.code in _DECLARE_ERRORS:
            return _refused_again(
                session,
                request,
                user,
                patient_id,
                "Votre déclaration n'a pas été enregistrée.",
                exc.status,
                declare_error=exc.message,
                declare_context=cadre[:400],
                declare_reason=motif if motif in care_team.REASONS else "",
            )
        raise _failed(user, exc, "Déclaration impossible") from exc
    return RedirectResponse(f"/patients/{patient_id}?equipe=declare", status_code=303)


@router.post("/patients/{patient_id}/equipe-de-soins/quitter", response_class=HTMLResponse)
def patient_leave_care(user: kit.LoggedIn, session: DbSession, patient_id: uuid.UUID) -> Response:
    try:
        care_team.leave(session, user.ctx, patient_id)
    except SisraError as exc:
        raise _failed(user, exc, "Impossible de quitter l'équipe") from exc
    return RedirectResponse(f"/patients/{patient_id}?equipe=quitte", status_code=303)


@router.post("/patients/{patient_id}/bris-de-glace", response_class=HTMLResponse)
def patient_break_glass(
    request: Request,
    user: kit.LoggedIn,
    session: DbSession,
    settings: AppSettings,
    patient_id: uuid.UUID,
    reason: str = Form(""),
) -> Response:
    try:
        record.break_glass(session, settings, user.ctx, patient_id, reason)
    except SisraError as exc:
        if exc.code == "reason_required":
            return _refused_again(
                session,
                request,
                user,
                patient_id,
                "Vous n'avez pas accès au dossier de ce patient.",
                exc.status,
                error=exc.message,
                reason=reason,
            )
        raise _failed(user, exc, "Accès en urgence impossible") from exc
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)


@router.get("/web/documents/{document_id}/pdf")
def record_pdf(
    request: Request, user: kit.LoggedIn, session: DbSession, blobs: Blobs, document_id: uuid.UUID
) -> Response:
    """A record document's PDF, inline, for whoever may see it."""
    doc = _opened(session, user, document_id, "web_record")
    return _respond(request, session, user, blobs, doc)


def _opened(session: Session, user: kit.WebUser, document_id: uuid.UUID, via: str) -> Document:
    """The record's document, its opening checked and audited (else the error page)."""
    try:
        doc = documents.get(session, document_id)
        documents.open_content(session, user.ctx, doc, via=via)
    except SisraError as exc:
        raise _failed(user, exc, "Document indisponible") from exc
    return doc


@router.get("/web/documents/{document_id}/apercu.png")
def record_preview(request: Request, blobs: Blobs, document_id: uuid.UUID) -> Response:
    """The first page as a small PNG, for the record's preview (same access rule as the PDF).

    Access is checked and audited, and the PDF read, in a transaction that ends *before* the
    page is drawn: drawing may take seconds (bounded, in another process) and must hold no
    database lock meanwhile (on SQLite the session's ``last_seen_at`` takes the write lock).
    """
    previews: preview.Previews = request.app.state.previews
    with kit.own_transaction(request) as (session, user):
        doc = _opened(session, user, document_id, "web_preview")
        key = previews.key(doc.id, doc.sha256)
        remembered, data = previews.remembered(key), b""
        if remembered is None:
            data = content.read_all(session, user.ctx, blobs, doc)  # 503 document_damaged if it is
    # the transaction has ended: drawing holds no lock
    png = previews.png(key, data) if remembered is None else previews.answer(remembered)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, no-store"})

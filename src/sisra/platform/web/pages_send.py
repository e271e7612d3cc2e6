"""Web pages to send a document: find (or create) the patient, choose recipients, share.

Everything works without JavaScript (the recipient search is a GET form that carries the
already-chosen recipients); ``/static/send.js`` only adds search-as-you-type.
"""

import hashlib
import io
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from sisra.common import doctypes
from sisra.platform.deps import AppSettings, Blobs, DbSession, Hub
from sisra.platform.directory import service as directory
from sisra.platform.documents import service as documents
from sisra.platform.documents import sharing
from sisra.platform.documents.schemas import ShareMetadata
from sisra.platform.errors import NotFound, SisraError
from sisra.platform.inbox import service as inbox
from sisra.platform.inputs import bad_text
from sisra.platform.models import (
    Document,
    IdentityStatus,
    Notification,
    Patient,
    Professional,
    utcnow,
)
from sisra.platform.patients import service as patients
from sisra.platform.record import policy
from sisra.platform.web import kit, letter, patient_forms

router = APIRouter(include_in_schema=False)

MAX_RECIPIENTS = 50

# service error code -> the form field the message is shown next to
_PATIENT_FIELDS = {
    "invalid_ins": "ins",
    "invalid_birth_date": "birth_date",
    "invalid_birth_place": "birth_place_code",
    "missing_traits": "birth_name",
    "trait_too_long": "birth_name",
    "ins_required": "ins",
    "invalid_sex": "sex",
    "invalid_identity_status": "identity_status",
}
_SHARE_FIELDS = {
    "not_a_pdf": "file",
    "file_too_large": "file",
    "upload_changed": "file",
    "invalid_document_type": "type_code",
    "invalid_date": "clinical_date",
    "self_recipient": "recipients",
    "unknown_recipient": "recipients",
    # MSSanté: addresses of other operators
    "invalid_mssante_address": "external",
    "sender_without_mssante": "external",
    "mssante_not_configured": "external",
}


def _new_idempotency_key() -> str:
    """A fresh key for each rendering of the share form: submitting the same form twice
    (double click, reload, back button, a lost answer) shares once."""
    return secrets.token_urlsafe(24)


def _uuids(values: list[str]) -> list[uuid.UUID]:
    out: list[uuid.UUID] = []
    for v in values:
        try:
            u = uuid.UUID(v)
        except ValueError:
            continue
        if u not in out:
            out.append(u)
    return out[:MAX_RECIPIENTS]


def _patient_view(p: Patient) -> dict[str, Any]:
    return {
        "id": p.id,
        "birth_name": p.birth_name,
        "used_name": p.used_name,
        "first_given_name": p.first_given_name,
        "birth_given_names": " ".join(p.birth_given_names),
        "birth_date": p.birth_date.strftime("%d/%m/%Y"),
        "sex": p.sex.value,
        "ins": p.ins,
        "identity_status": p.identity_status.value,
    }


def _pro_view(p: Professional) -> dict[str, Any]:
    return {
        "id": str(p.id),
        "name": p.display_name,
        "profession": p.profession,
        "specialty": p.specialty,
        "structure": p.structure,
        "city": p.city,
        # « correspondant externe »: another operator's address, never one of the directory's
        "external": p.external,
        "address": p.mssante if p.external else None,
    }


# ---------------------------------------------------------------- 1. find the patient


@router.get("/envoyer", response_class=HTMLResponse)
@router.get("/patients/rechercher", response_class=HTMLResponse)
# The search is a POST: names, birth dates and INS never appear in URLs (nor in access logs).
@router.post("/envoyer", response_class=HTMLResponse)
@router.post("/patients/rechercher", response_class=HTMLResponse)
def patient_search(
    request: Request,
    user: kit.LoggedIn,
    session: DbSession,
    settings: AppSettings,
    form: patient_forms.Search,
) -> HTMLResponse:
    """A patient search page: to send a document (``/envoyer``) or, « Rechercher un patient »,
    to open a record (the same rule, limit and audit), each line leading to the patient's
    record or to its refusal page (care-team declaration, break-glass)."""
    for_record = request.url.path == "/patients/rechercher"
    if request.method != "POST":
        form = patient_forms.PatientSearch()  # a GET shows the empty form
    found = (
        patient_forms.search(session, user.ctx, settings, form)
        if form.asked()
        else patient_forms.Found()
    )
    return kit.render(
        request,
        user,
        "send/search.html",
        {
            "q": form.q,
            "given": form.given,
            "birth_date": form.birth_date,
            "ins": form.ins,
            "results": [_patient_view(p) for p in found.patients]
            if form.asked() and not found.error
            else None,
            "truncated": found.truncated,
            "max_results": settings.patient_search_max_results,
            "error": found.error or None,
            "for_record": for_record,
        },
        found.status,
    )


# ---------------------------------------------------------------- 2. create an identity


def _identity_context(form: kit.FormValues, **more: Any) -> dict[str, Any]:
    return {
        "v": form.values,
        "sexes": patient_forms.SEXES,
        "statuses": [s.value for s in IdentityStatus],
        "errors": form.errors,
        "error": None,
        "candidates": None,
        **more,
    }


@router.get("/patients/nouveau", response_class=HTMLResponse)
def new_patient_page(request: Request, user: kit.LoggedIn, session: DbSession) -> HTMLResponse:
    form = kit.FormValues.empty(patient_forms.IDENTITY_FIELDS)
    form.values["identity_status"] = IdentityStatus.provisoire.value
    return kit.render(request, user, "send/new_patient.html", _identity_context(form))


@router.post("/patients/nouveau", response_class=HTMLResponse)
def new_patient_submit(
    request: Request, user: kit.LoggedIn, session: DbSession, form: patient_forms.Identity
) -> Response:
    born = patient_forms.check_identity(form)
    if form.errors or born is None:
        context = _identity_context(form, error="Vérifiez les champs signalés.")
        raise kit.Failure("send/new_patient.html", context, 422, user)
    try:
        patient = patients.create(session, user.ctx, patient_forms.new_patient(form, born))
    except patients.DuplicateIdentity as exc:
        candidates = [_patient_view(p) for p in exc.candidates]
        context = _identity_context(form, error=exc.message, candidates=candidates)
        raise kit.Failure("send/new_patient.html", context, 409, user) from exc
    except SisraError as exc:
        field = _PATIENT_FIELDS.get(exc.code)
        if field:
            form.errors[field] = exc.message
        error = "Vérifiez les champs signalés." if field else exc.message
        context = _identity_context(form, error=error)
        raise kit.Failure("send/new_patient.html", context, exc.status, user) from exc
    return RedirectResponse(f"/envoyer/{patient.id}?identite=creee", status_code=303)


# ---------------------------------------------------------------- 3. the share form


def _reply_note(session: Session, user: kit.WebUser, notification_id: uuid.UUID) -> Any:
    """The caller's notification and its document, or a 'not found' page."""
    try:
        note: Notification = inbox.own(session, user.ctx, notification_id)
    except NotFound as exc:
        raise kit.Failure(
            "send/message.html",
            {
                "heading": "Document introuvable",
                "message": exc.message,
            },
            404,
            user,
        ) from exc
    return note, documents.get(session, note.document_id)


@dataclass
class _Shown:
    """What a share form shows: about whom, to whom, how, what it holds and where it lives."""

    patient: Patient
    chosen: list[uuid.UUID]
    mode: str
    values: dict[str, str]
    base_url: str
    reply: dict[str, Any] | None = None


def _share_context(
    session: Session,
    pro: Professional,
    shown: _Shown,
    *,
    q: str = "",
    errors: dict[str, str] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    chosen = shown.chosen
    found = {
        p.id: p for p in session.scalars(select(Professional).where(Professional.id.in_(chosen)))
    }
    recipients = [_pro_view(found[c]) for c in chosen if c in found]
    chosen_ids = {r["id"] for r in recipients}
    matches = None
    if q.strip():
        matches = [
            _pro_view(p)
            for p in directory.search(session, q)
            if p.id != pro.id and str(p.id) not in chosen_ids
        ]
    return {
        "patient": _patient_view(shown.patient),
        "types": doctypes.DOCUMENT_TYPES,
        "recipients": recipients,
        "q": q,
        "matches": matches,
        "mode": "creer" if shown.mode == "creer" else "joindre",
        "v": shown.values,
        "errors": errors or {},
        "error": error,
        "reply": shown.reply,
        "base_url": shown.base_url,
        "today": utcnow().date().isoformat(),
    }


def _default_values(title: str = "", in_reply_to: str = "") -> dict[str, str]:
    return {
        "title": title,
        "type_code": "",
        "clinical_date": utcnow().date().isoformat(),
        "body": "",
        "restricted": "",
        "in_reply_to": in_reply_to,
        "reply_note": "",
        "external": "",
        "idempotency_key": _new_idempotency_key(),
    }


_IDENTITY_CREATED = "Identité créée. Choisissez maintenant les destinataires du document."


@dataclass(frozen=True)
class _Picking:
    """The recipients being chosen, carried by the share page's address (no JavaScript
    needed): the directory search typed, the mode, the recipients chosen so far."""

    q: str
    mode: str
    chosen: list[uuid.UUID]
    edited: bool  # ``sel``: the list was already edited (a reply's first visit is not)


def _picking(request: Request, q: str = "", mode: str = "joindre") -> _Picking:
    params = request.query_params
    return _Picking(q, mode, _uuids(params.getlist("r")), "sel" in params)


Picking = Annotated[_Picking, Depends(_picking)]


@router.get("/envoyer/{patient_id}", response_class=HTMLResponse)
def share_page(
    request: Request,
    user: kit.LoggedIn,
    session: DbSession,
    patient_id: uuid.UUID,
    picking: Picking,
    identite: str = "",
) -> HTMLResponse:
    """The share form; ``identite=creee``: just after « Créer l'identité » (its notice)."""
    patient = session.get(Patient, patient_id)
    if patient is None:
        context = {"heading": "Patient introuvable", "message": "Ce patient n'existe pas."}
        raise kit.Failure("send/message.html", context, 404, user)
    values = _default_values()
    shown = _Shown(patient, picking.chosen, picking.mode, values, f"/envoyer/{patient.id}")
    context = _share_context(session, user.pro, shown, q=picking.q)
    flash = _IDENTITY_CREATED if identite == "creee" else None
    return kit.render(request, user, "send/share.html", context | {"flash": flash})


@router.get("/repondre/{notification_id}", response_class=HTMLResponse)
def reply_page(
    request: Request,
    user: kit.LoggedIn,
    session: DbSession,
    notification_id: uuid.UUID,
    picking: Picking,
) -> HTMLResponse:
    note, doc = _reply_note(session, user, notification_id)
    patient = patients.get(session, doc.patient_id)
    chosen = picking.chosen
    if not picking.edited:  # first visit: the original sender is preselected
        chosen = [note.sender_id, *chosen]
    values = _default_values(f"Réponse : {doc.title}"[:200], str(doc.id))
    values["reply_note"] = str(note.id)
    reply = {"title": doc.title, "note_id": str(note.id)}
    shown = _Shown(patient, chosen, picking.mode, values, f"/repondre/{note.id}", reply)
    context = _share_context(session, user.pro, shown, q=picking.q)
    return kit.render(request, user, "send/share.html", context)


# the share form's text fields (its recipients are a list, its file an upload)
_SHARE_FIELDS_READ = (
    "mode",
    "title",
    "type_code",
    "clinical_date",
    "body",
    "restricted",
    "external",
    "in_reply_to",
    "reply_note",
    "idempotency_key",
)
ShareForm = Annotated[kit.FormValues, Depends(kit.form_values(_SHARE_FIELDS_READ))]
_BAD_CHARACTER = "Ce champ contient un caractère interdit (caractère invalide) : retirez-le."


def _normalised(form: kit.FormValues) -> None:
    """The values the form is shown again with (ids checked, a key kept)."""
    v = form.values
    reply_id, note_id = _uuids([v["in_reply_to"]]), _uuids([v["reply_note"]])
    v["mode"] = v["mode"] or "joindre"
    v["restricted"] = "1" if v["restricted"] else ""
    v["in_reply_to"] = str(reply_id[0]) if reply_id else ""
    v["reply_note"] = str(note_id[0]) if note_id else ""
    v["external"] = v["external"].strip()
    # kept when the form comes back with an error: nothing was shared under it
    v["idempotency_key"] = v["idempotency_key"] or _new_idempotency_key()


def _check_share(
    form: kit.FormValues, chosen: list[uuid.UUID], addresses: list[str], has_file: bool
) -> date | None:
    """The French errors of the share form, by field; the document's date if valid."""
    v, errors = form.values, form.errors
    if not chosen and not addresses:
        errors["recipients"] = "Ajoutez au moins un destinataire."
    if len(chosen) + len(addresses) > MAX_RECIPIENTS:
        errors["external"] = f"Au plus {MAX_RECIPIENTS} destinataires par envoi."
    elif any(len(a) > 254 for a in addresses):
        errors["external"] = "Une adresse MSSanté ne dépasse pas 254 caractères."
    form.require({"title": "Le titre est obligatoire."})
    if len(v["title"].strip()) > 200:
        errors["title"] = "Le titre ne doit pas dépasser 200 caractères."
    for name in ("title", "body", "external"):
        if bad_text(v[name]) and name not in errors:
            errors[name] = _BAD_CHARACTER
    if doctypes.get(v["type_code"]) is None:
        errors["type_code"] = "Choisissez le type de document."
    when = patient_forms.parse_date(v["clinical_date"])
    if when is None:
        errors["clinical_date"] = "Saisissez la date du document."
    if v["mode"] == "creer":
        form.require({"body": "Rédigez le texte du document."})
    elif not has_file:
        errors["file"] = "Choisissez le fichier PDF à joindre."
    return when


@router.post("/envoyer/{patient_id}", response_class=HTMLResponse)
def share_submit(
    request: Request,
    user: kit.LoggedIn,
    session: DbSession,
    settings: AppSettings,
    blobs: Blobs,
    hub: Hub,
    patient_id: uuid.UUID,
    form: ShareForm,
    recipients: list[str] = Form(default=[]),
    file: UploadFile | None = File(None),
) -> HTMLResponse:
    ctx, pro = user.ctx, user.pro
    patient = patients.get(session, patient_id)
    chosen = _uuids(recipients)
    _normalised(form)
    v = form.values
    reply, base_url = None, f"/envoyer/{patient.id}"
    if v["in_reply_to"] and v["reply_note"]:
        reply = {"title": "", "note_id": v["reply_note"]}
        base_url = f"/repondre/{v['reply_note']}"

    shown = _Shown(patient, chosen, v["mode"], v, base_url, reply)

    def fail(message: str, status: int = 422) -> kit.Failure:
        context = _share_context(session, user.pro, shown, errors=form.errors, error=message)
        return kit.Failure("send/share.html", context, status, user)

    addresses = [a for a in re.split(r"[\s,;]+", v["external"]) if a]
    when = _check_share(form, chosen, addresses, file is not None and bool(file.filename))
    if form.errors or when is None:
        raise fail("Rien n'a été envoyé : vérifiez les champs signalés.")
    meta = ShareMetadata(
        patient_id=patient.id,
        title=v["title"].strip(),
        type_code=v["type_code"],
        clinical_date=when,
        recipients=chosen,
        external_recipients=addresses,
        in_reply_to=uuid.UUID(v["in_reply_to"]) if v["in_reply_to"] else None,
        restricted=bool(v["restricted"]),
    )
    try:
        if v["mode"] == "creer":
            dtype, body = doctypes.BY_CODE[v["type_code"]], v["body"]
            pdf: BinaryIO | sharing.Made = sharing.Made(
                "text:" + hashlib.sha256(body.encode()).hexdigest(),
                lambda: io.BytesIO(
                    letter.render(pro, patient, letter.Letter(meta.title, dtype.label, when, body))
                ),
            )
        else:
            assert file is not None
            pdf = file.file
        key = v["idempotency_key"]
        shared = sharing.share_once(session, settings, ctx, blobs, hub, meta, pdf, key)
        if shared.replayed:  # this very form was already shared: show its result again
            first = documents.get(session, shared.document_id)
            ids = [uuid.UUID(str(n)) for n in shared.body.get("notifications", [])]
            notes = list(session.scalars(select(Notification).where(Notification.id.in_(ids))))
            return _done(request, session, user, patient, first, notes)
        assert shared.document is not None
        doc, notes = shared.document, shared.notifications
    except SisraError as exc:
        # a refusal may come from a failed flush (the database backstop): the form is shown
        # again from a clean transaction
        session.rollback()
        if exc.code in ("idempotency_key_reused", "invalid_idempotency_key"):
            v["idempotency_key"] = _new_idempotency_key()  # this form may be sent now
            raise fail(
                "Ce formulaire avait déjà servi à partager un autre document : rien de nouveau "
                "n'a été envoyé. Vérifiez les informations puis cliquez de nouveau sur "
                "« Partager ».",
                exc.status,
            ) from exc
        field = _SHARE_FIELDS.get(exc.code)
        if field:
            form.errors[field] = exc.message
        raise fail(
            "Rien n'a été envoyé : " + (exc.message if not field else "vérifiez le champ signalé."),
            exc.status,
        ) from exc
    return _done(request, session, user, patient, doc, notes)


def _done(
    request: Request,
    session: Session,
    user: kit.WebUser,
    patient: Patient,
    doc: Document,
    notes: list[Notification],
) -> HTMLResponse:
    """« Document partagé avec … »."""
    names = {
        p.id: p.display_name
        for p in session.scalars(
            select(Professional).where(Professional.id.in_([n.recipient_id for n in notes]))
        )
    }
    return kit.render(
        request,
        user,
        "send/done.html",
        {
            "title": doc.title,
            "patient": _patient_view(patient),
            "names": [names[n.recipient_id] for n in notes],
            "restricted": doc.restricted,
            # sending opens this document only: offer to join the care team
            "patient_id": doc.patient_id,
            "care_team": policy.in_care_team(session, user.pro.id, doc.patient_id),
        },
    )


# ---------------------------------------------------------------- directory search (JSON)


@router.get("/web/annuaire")
def directory_json(
    request: Request, user: kit.LoggedIn, session: DbSession, q: str = ""
) -> JSONResponse:
    """Search as you type (send.js): the logged-in web session's directory look-up."""
    pro = user.pro
    found = (
        [_pro_view(p) for p in directory.search(session, q) if p.id != pro.id]
        if len(q.strip()) >= 2
        else []
    )
    return JSONResponse({"items": found}, headers={"Cache-Control": "no-store"})

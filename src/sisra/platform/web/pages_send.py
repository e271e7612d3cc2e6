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
from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from sisra.common import doctypes
from sisra.platform.context import RequestContext
from sisra.platform.deps import AppSettings, Blobs, DbSession, Hub
from sisra.platform.directory import service as directory
from sisra.platform.documents import idempotency
from sisra.platform.documents import service as documents
from sisra.platform.documents.schemas import ShareMetadata, ShareResult
from sisra.platform.errors import NotFound, SisraError
from sisra.platform.inbox import service as inbox
from sisra.platform.inputs import bad_text
from sisra.platform.models import (
    Document,
    IdentityStatus,
    Notification,
    Patient,
    Professional,
    Sex,
    utcnow,
)
from sisra.platform.patients import service as patients
from sisra.platform.record import policy
from sisra.platform.web import letter
from sisra.platform.web.routes import _FormError, check_csrf, page, web_context

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


@dataclass(frozen=True)
class _Who:
    """What the page header shows of the caller: a plain copy, usable after a rollback."""

    display_name: str
    role: str


def _who(pro: Professional) -> _Who:
    return _Who(pro.display_name, str(pro.role.value))


def _parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


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
def send_search_page(request: Request, session: DbSession, settings: AppSettings) -> HTMLResponse:
    return send_search(request, session, settings, "", "", "", "", "")


# The search is a POST: names, birth dates and INS never appear in URLs (nor in access logs).
@router.post("/envoyer", response_class=HTMLResponse)
def send_search(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    q: str = Form(""),
    given: str = Form(""),
    birth_date: str = Form(""),
    ins: str = Form(""),
    csrf_field: str = Form("", alias="csrf"),
) -> HTMLResponse:
    return _patient_search(request, session, settings, q, given, birth_date, ins, csrf_field)


# « Rechercher un patient »: the same search (the same rule, limit and audit), each line
# leading to the patient's record, or to its refusal page (care-team declaration, break-glass).
@router.get("/patients/rechercher", response_class=HTMLResponse)
def record_search_page(request: Request, session: DbSession, settings: AppSettings) -> HTMLResponse:
    return record_search(request, session, settings, "", "", "", "", "")


@router.post("/patients/rechercher", response_class=HTMLResponse)
def record_search(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    q: str = Form(""),
    given: str = Form(""),
    birth_date: str = Form(""),
    ins: str = Form(""),
    csrf_field: str = Form("", alias="csrf"),
) -> HTMLResponse:
    return _patient_search(
        request, session, settings, q, given, birth_date, ins, csrf_field, for_record=True
    )


def _patient_search(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    q: str,
    given: str,
    birth_date: str,
    ins: str,
    csrf_field: str,
    *,
    for_record: bool = False,
) -> HTMLResponse:
    """A patient search page: to send a document (``/envoyer``) or to open a record."""
    ctx, pro, csrf = web_context(request, session)
    if request.method == "POST":
        check_csrf(csrf, csrf_field)
    results: list[dict[str, Any]] | None = None
    error = None
    truncated = False
    status = 200
    if q.strip() or given.strip() or birth_date.strip() or ins.strip():
        when = _parse_date(birth_date) if birth_date.strip() else None
        if birth_date.strip() and when is None:
            error, status = "La date de naissance n'est pas valide.", 422
        else:
            criteria = patients.Criteria(
                q=q.strip() or None,
                given=given.strip() or None,
                birth_date=when,
                ins=ins.strip() or None,
            )
            try:
                found = patients.search(session, ctx, settings, criteria)
                results = [_patient_view(p) for p in found.patients]
                truncated = found.truncated
            except SisraError as exc:
                error, status = exc.message, exc.status
    return page(
        request,
        "send/search.html",
        {
            "pro": pro,
            "csrf": csrf,
            "q": q,
            "given": given,
            "birth_date": birth_date,
            "ins": ins,
            "results": results,
            "truncated": truncated,
            "max_results": settings.patient_search_max_results,
            "error": error,
            "for_record": for_record,
        },
        status,
    )


# ---------------------------------------------------------------- 2. create an identity

_EMPTY_IDENTITY = {
    "birth_name": "",
    "used_name": "",
    "birth_given_names": "",
    "first_given_name": "",
    "birth_date": "",
    "sex": "",
    "birth_place_code": "",
    "ins": "",
    "identity_status": IdentityStatus.provisoire.value,
}


def _identity_context(
    pro: Professional, csrf: str, values: dict[str, str], **more: Any
) -> dict[str, Any]:
    return {
        "pro": _who(pro),
        "csrf": csrf,
        "v": values,
        "sexes": [("F", "Féminin"), ("M", "Masculin"), ("I", "Indéterminé")],
        "statuses": [s.value for s in IdentityStatus],
        "errors": {},
        "error": None,
        "candidates": None,
        **more,
    }


@router.get("/patients/nouveau", response_class=HTMLResponse)
def new_patient_page(request: Request, session: DbSession) -> HTMLResponse:
    _ctx, pro, csrf = web_context(request, session)
    return page(request, "send/new_patient.html", _identity_context(pro, csrf, _EMPTY_IDENTITY))


@router.post("/patients/nouveau", response_class=HTMLResponse)
def new_patient_submit(
    request: Request,
    session: DbSession,
    csrf: str = Form(""),
    birth_name: str = Form(""),
    used_name: str = Form(""),
    birth_given_names: str = Form(""),
    first_given_name: str = Form(""),
    birth_date: str = Form(""),
    sex: str = Form(""),
    birth_place_code: str = Form(""),
    ins: str = Form(""),
    identity_status: str = Form(IdentityStatus.provisoire.value),
) -> Response:
    ctx, pro, expected = web_context(request, session)
    check_csrf(expected, csrf)
    values = {
        "birth_name": birth_name,
        "used_name": used_name,
        "birth_given_names": birth_given_names,
        "first_given_name": first_given_name,
        "birth_date": birth_date,
        "sex": sex,
        "birth_place_code": birth_place_code,
        "ins": ins,
        "identity_status": identity_status,
    }
    errors: dict[str, str] = {}
    when = _parse_date(birth_date)
    if when is None:
        errors["birth_date"] = "Saisissez la date de naissance (jj/mm/aaaa)."
    if not birth_name.strip():
        errors["birth_name"] = "Le nom de naissance est obligatoire."
    if not birth_given_names.split():
        errors["birth_given_names"] = "Saisissez au moins un prénom de naissance."
    if sex not in {s.value for s in Sex}:
        errors["sex"] = "Choisissez le sexe."
    if errors or when is None:
        raise _FormError(
            "send/new_patient.html",
            _identity_context(
                pro, expected, values, errors=errors, error="Vérifiez les champs signalés."
            ),
            422,
        )
    try:
        patient = patients.create(
            session,
            ctx,
            patients.NewPatient(
                birth_name=birth_name,
                used_name=used_name or None,
                birth_given_names=birth_given_names.split(),
                first_given_name=first_given_name.strip() or None,
                birth_date=when,
                sex=sex,
                birth_place_code=birth_place_code or None,
                ins=ins.strip() or None,
                identity_status=identity_status,
            ),
        )
    except patients.DuplicateIdentity as exc:
        raise _FormError(
            "send/new_patient.html",
            _identity_context(
                pro,
                expected,
                values,
                error=exc.message,
                candidates=[_patient_view(p) for p in exc.candidates],
            ),
            409,
        ) from exc
    except SisraError as exc:
        field = _PATIENT_FIELDS.get(exc.code)
        raise _FormError(
            "send/new_patient.html",
            _identity_context(
                pro,
                expected,
                values,
                errors={field: exc.message} if field else {},
                error="Vérifiez les champs signalés." if field else exc.message,
            ),
            exc.status,
        ) from exc
    return RedirectResponse(f"/envoyer/{patient.id}", status_code=303)


# ---------------------------------------------------------------- 3. the share form


def _reply_note(
    session: Session, ctx: RequestContext, pro: Professional, csrf: str, notification_id: uuid.UUID
) -> Any:
    """The caller's notification and its document, or a 'not found' page."""
    try:
        note: Notification = inbox.own(session, ctx, notification_id)
    except NotFound as exc:
        raise _FormError(
            "send/message.html",
            {
                "pro": _who(pro),
                "csrf": csrf,
                "heading": "Document introuvable",
                "message": exc.message,
            },
            404,
        ) from exc
    return note, documents.get(session, note.document_id)


def _share_context(
    session: Session,
    pro: Professional,
    csrf: str,
    patient: Patient,
    *,
    chosen: list[uuid.UUID],
    q: str,
    mode: str,
    values: dict[str, str],
    base_url: str,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    reply: dict[str, Any] | None = None,
) -> dict[str, Any]:
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
        "pro": _who(pro),
        "csrf": csrf,
        "patient": _patient_view(patient),
        "types": doctypes.DOCUMENT_TYPES,
        "recipients": recipients,
        "q": q,
        "matches": matches,
        "mode": "creer" if mode == "creer" else "joindre",
        "v": values,
        "errors": errors or {},
        "error": error,
        "reply": reply,
        "base_url": base_url,
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


@router.get("/envoyer/{patient_id}", response_class=HTMLResponse)
def share_page(
    request: Request,
    session: DbSession,
    patient_id: uuid.UUID,
    q: str = "",
    mode: str = "joindre",
) -> HTMLResponse:
    _ctx, pro, csrf = web_context(request, session)
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise _FormError(
            "send/message.html",
            {
                "pro": _who(pro),
                "csrf": csrf,
                "heading": "Patient introuvable",
                "message": "Ce patient n'existe pas.",
            },
            404,
        )
    chosen = _uuids(request.query_params.getlist("r"))
    return page(
        request,
        "send/share.html",
        _share_context(
            session,
            pro,
            csrf,
            patient,
            chosen=chosen,
            q=q,
            mode=mode,
            values=_default_values(),
            base_url=f"/envoyer/{patient.id}",
        ),
    )


@router.get("/repondre/{notification_id}", response_class=HTMLResponse)
def reply_page(
    request: Request,
    session: DbSession,
    notification_id: uuid.UUID,
    q: str = "",
    mode: str = "joindre",
) -> HTMLResponse:
    ctx, pro, csrf = web_context(request, session)
    note, doc = _reply_note(session, ctx, pro, csrf, notification_id)
    patient = patients.get(session, doc.patient_id)
    params = request.query_params
    chosen = _uuids(params.getlist("r"))
    if "sel" not in params:  # first visit: the original sender is preselected
        chosen = [note.sender_id, *chosen]
    values = _default_values(f"Réponse : {doc.title}"[:200], str(doc.id))
    values["reply_note"] = str(note.id)
    return page(
        request,
        "send/share.html",
        _share_context(
            session,
            pro,
            csrf,
            patient,
            chosen=chosen,
            q=q,
            mode=mode,
            values=values,
            base_url=f"/repondre/{note.id}",
            reply={"title": doc.title, "note_id": str(note.id)},
        ),
    )


@router.post("/envoyer/{patient_id}", response_class=HTMLResponse)
def share_submit(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    blobs: Blobs,
    hub: Hub,
    patient_id: uuid.UUID,
    csrf: str = Form(""),
    mode: str = Form("joindre"),
    title: str = Form(""),
    type_code: str = Form(""),
    clinical_date: str = Form(""),
    body: str = Form(""),
    restricted: str = Form(""),
    recipients: list[str] = Form(default=[]),
    external: str = Form(""),
    in_reply_to: str = Form(""),
    reply_note: str = Form(""),
    idempotency_key: str = Form(""),
    file: UploadFile | None = File(None),
) -> HTMLResponse:
    ctx, pro, expected = web_context(request, session)
    check_csrf(expected, csrf)
    patient = patients.get(session, patient_id)
    chosen = _uuids(recipients)
    reply_id = _uuids([in_reply_to])
    note_id = _uuids([reply_note])
    reply = None
    base_url = f"/envoyer/{patient.id}"
    if reply_id and note_id:
        reply = {"title": "", "note_id": str(note_id[0])}
        base_url = f"/repondre/{note_id[0]}"
    values = {
        "title": title,
        "type_code": type_code,
        "clinical_date": clinical_date,
        "body": body,
        "restricted": "1" if restricted else "",
        "in_reply_to": str(reply_id[0]) if reply_id else "",
        "reply_note": str(note_id[0]) if note_id else "",
        "external": external.strip(),
        # kept when the form comes back with an error: nothing was shared under it
        "idempotency_key": idempotency_key or _new_idempotency_key(),
    }

    def fail(errors: dict[str, str], message: str, status: int = 422) -> _FormError:
        return _FormError(
            "send/share.html",
            _share_context(
                session,
                pro,
                expected,
                patient,
                chosen=chosen,
                q="",
                mode=mode,
                values=values,
                base_url=base_url,
                errors=errors,
                error=message,
                reply=reply,
            ),
            status,
        )

    errors: dict[str, str] = {}
    when = _parse_date(clinical_date)
    addresses = [a for a in re.split(r"[\s,;]+", external) if a]
    if not chosen and not addresses:
        errors["recipients"] = "Ajoutez au moins un destinataire."
    if len(chosen) + len(addresses) > MAX_RECIPIENTS:
        errors["external"] = f"Au plus {MAX_RECIPIENTS} destinataires par envoi."
    elif any(len(a) > 254 for a in addresses):
        errors["external"] = "Une adresse MSSanté ne dépasse pas 254 caractères."
    if not title.strip():
        errors["title"] = "Le titre est obligatoire."
    elif len(title.strip()) > 200:
        errors["title"] = "Le titre ne doit pas dépasser 200 caractères."
    for name, text in (("title", title), ("body", body), ("external", external)):
        if bad_text(text) and name not in errors:
            errors[name] = (
                "Ce champ contient un caractère interdit (caractère invalide) : retirez-le."
            )
    if doctypes.get(type_code) is None:
        errors["type_code"] = "Choisissez le type de document."
    if when is None:
        errors["clinical_date"] = "Saisissez la date du document."
    if mode == "creer":
        if not body.strip():
            errors["body"] = "Rédigez le texte du document."
    elif file is None or not file.filename:
        errors["file"] = "Choisissez le fichier PDF à joindre."
    if errors or when is None:
        raise fail(errors, "Rien n'a été envoyé : vérifiez les champs signalés.")
    meta = ShareMetadata(
        patient_id=patient.id,
        title=title.strip(),
        type_code=type_code,
        clinical_date=when,
        recipients=chosen,
        external_recipients=addresses,
        in_reply_to=reply_id[0] if reply_id else None,
        restricted=bool(restricted),
    )
    key = values["idempotency_key"]
    try:
        idempotency.parse_key(key)
        if mode == "creer":
            digest = "text:" + hashlib.sha256(body.encode()).hexdigest()
        else:
            assert file is not None
            digest = idempotency.digest(file.file)
        replay = idempotency.claim(
            session, settings, pro.id, key, idempotency.fingerprint(meta, digest)
        )
        if replay is not None:  # this very form was already shared: show its result again
            first = documents.get(session, replay.document_id)
            ids = [uuid.UUID(str(n)) for n in replay.body.get("notifications", [])]
            notes = list(session.scalars(select(Notification).where(Notification.id.in_(ids))))
            return _done(request, session, pro, expected, patient, first, notes)
        if mode == "creer":
            dtype = doctypes.BY_CODE[type_code]
            content = letter.render(
                pro, patient, letter.Letter(meta.title, dtype.label, when, body)
            )
            doc, notes = documents.share(
                session, settings, ctx, blobs, hub, meta, io.BytesIO(content)
            )
        else:
            assert file is not None
            doc, notes = documents.share(session, settings, ctx, blobs, hub, meta, file.file)
        result = ShareResult(document=documents.to_out(doc), notifications=[n.id for n in notes])
        idempotency.complete(session, pro.id, key, 201, result.model_dump(mode="json"), doc.id)
    except SisraError as exc:
        # a refusal may come from a failed flush (the database backstop): the form is shown
        # again from a clean transaction
        session.rollback()
        if exc.code in ("idempotency_key_reused", "invalid_idempotency_key"):
            values["idempotency_key"] = _new_idempotency_key()  # this form may be sent now
            raise fail(
                {},
                "Ce formulaire avait déjà servi à partager un autre document : rien de nouveau "
                "n'a été envoyé. Vérifiez les informations puis cliquez de nouveau sur "
                "« Partager ».",
                exc.status,
            ) from exc
        field = _SHARE_FIELDS.get(exc.code)
        raise fail(
            {field: exc.message} if field else {},
            "Rien n'a été envoyé : " + (exc.message if not field else "vérifiez le champ signalé."),
            exc.status,
        ) from exc
    return _done(request, session, pro, expected, patient, doc, notes)


def _done(
    request: Request,
    session: Session,
    pro: Professional,
    csrf: str,
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
    return page(
        request,
        "send/done.html",
        {
            "pro": pro,
            "csrf": csrf,
            "title": doc.title,
            "patient": _patient_view(patient),
            "names": [names[n.recipient_id] for n in notes],
            "restricted": doc.restricted,
            # sending opens this document only: offer to join the care team
            "patient_id": doc.patient_id,
            "care_team": policy.in_care_team(session, pro.id, doc.patient_id),
        },
    )


# ---------------------------------------------------------------- directory search (JSON)


@router.get("/web/annuaire")
def directory_json(request: Request, session: DbSession, q: str = "") -> JSONResponse:
    """Search as you type (send.js): the logged-in web session's directory look-up."""
    _ctx, pro, _csrf = web_context(request, session)
    found = (
        [_pro_view(p) for p in directory.search(session, q) if p.id != pro.id]
        if len(q.strip()) >= 2
        else []
    )
    return JSONResponse({"items": found}, headers={"Cache-Control": "no-store"})

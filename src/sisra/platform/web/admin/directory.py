"""Admin pages: the directory — list, add and edit a professional, (de)activate an account,
e-mail a password link, import an extract and e-mail the imported their instructions.

The import's rules live in the directory domain (``directory/imports.py``); these pages
read the forms and show the results.
"""

import uuid
from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sisra.common.identifiers import (
    InvalidIdentifier,
    validate_adeli,
    validate_finess,
    validate_rpps,
    validate_siret,
)
from sisra.common.text import fold
from sisra.platform.audit import service as audit
from sisra.platform.auth import passwords
from sisra.platform.auth.mailer import MailError
from sisra.platform.bodies import import_too_large_message
from sisra.platform.deps import AppSettings, DbSession
from sisra.platform.directory import imports
from sisra.platform.directory import service as directory
from sisra.platform.errors import NotFound, SisraError
from sisra.platform.models import Professional, Role
from sisra.platform.web import kit

router = APIRouter(prefix="/admin", include_in_schema=False)

MAX_INSTRUCTIONS = 500
EDITABLE = ("first_name", "last_name", "profession", "specialty", "structure", "city", "email")
_EDIT_FIELDS = (*EDITABLE, "mssante", "finess", "siret")
_NEW_FIELDS = (
    "rpps",
    "adeli",
    "last_name",
    "first_name",
    "profession",
    "specialty",
    "structure",
    "city",
    "email",
    "mssante",
    "login",
    "role",
    "password",
)
_REQUIRED = {
    "last_name": "Indiquez le nom.",
    "first_name": "Indiquez le prénom.",
    "profession": "Indiquez la profession.",
    "email": "Indiquez l'adresse e-mail.",
}
_NOTICES = {
    "cree": "Le professionnel a été ajouté à l'annuaire.",
    "modifie": "Les modifications ont été enregistrées.",
    "active": "Le compte est activé.",
    "desactive": "Le compte est désactivé : ses connexions sont refusées.",
    "lien": "Un lien pour choisir son mot de passe a été envoyé à son adresse e-mail ; "
    "les liens envoyés avant ne fonctionnent plus.",
}


@router.get("/annuaire", response_class=HTMLResponse)
def directory_page(
    request: Request, user: kit.Admin, session: DbSession, q: str = "", notice: str = ""
) -> HTMLResponse:
    stmt = select(Professional)
    for part in fold(q).split():
        stmt = stmt.where(Professional.search_text.contains(part, autoescape=True))
    # the platform's professionals first, external correspondents after (decision 126)
    stmt = stmt.order_by(Professional.external, directory.sort_key(session), Professional.id)
    people = list(session.scalars(stmt.limit(200)))
    return kit.render(
        request, user, "admin/directory.html", {"q": q, "people": people, "notice": notice}
    )


# --------------------------------------------------------------------------- the forms


def _check_common(form: kit.FormValues) -> None:
    v = form.values
    form.require(_REQUIRED)
    email = v.get("email", "").strip()
    if email and ("@" not in email or " " in email):
        form.errors["email"] = "L'adresse e-mail n'est pas valide."
    mss = v.get("mssante", "").strip()
    if mss and "@" not in mss:
        form.errors["mssante"] = "L'adresse MSSanté n'est pas valide."
    for name, check in (("finess", validate_finess), ("siret", validate_siret)):
        if v.get(name, "").strip():
            try:
                v[name] = check(v[name])
            except InvalidIdentifier as exc:
                form.errors[name] = str(exc)


def _check_new(session: Session, form: kit.FormValues) -> None:
    v = form.values
    _check_common(form)
    role = Role.administrator if v["role"] == "administrator" else Role.professional
    for name, validate, column, label in (
        ("rpps", validate_rpps, Professional.rpps, "le RPPS"),
        ("adeli", validate_adeli, Professional.adeli, "l'ADELI"),
    ):
        if not v[name].strip():
            continue
        try:
            number = validate(v[name])
        except InvalidIdentifier as exc:
            form.errors[name] = str(exc)
            continue
        if session.scalar(select(Professional.id).where(column == number)):
            form.errors[name] = f"Un professionnel existe déjà avec {label} {number}."
    if role == Role.professional and not v["rpps"].strip() and not v["adeli"].strip():
        form.errors["rpps"] = "Un professionnel doit avoir un numéro RPPS ou ADELI."
    login = v["login"].strip().lower()
    if not login:
        form.errors["login"] = "Indiquez l'identifiant de connexion."
    elif session.scalar(select(Professional.id).where(func.lower(Professional.login) == login)):
        form.errors["login"] = f"L'identifiant « {login} » est déjà utilisé."
    if v["password"] and (reason := passwords.check_strength(v["password"])):
        form.errors["password"] = reason


def _new_professional(form: kit.FormValues) -> directory.NewProfessional:
    v = form.values
    return directory.NewProfessional(
        first_name=v["first_name"],
        last_name=v["last_name"],
        profession=v["profession"],
        email=v["email"],
        login=v["login"],
        rpps=form.optional("rpps"),
        adeli=form.optional("adeli"),
        specialty=form.optional("specialty"),
        structure=form.optional("structure"),
        city=form.optional("city"),
        mssante=form.optional("mssante"),
        role=Role.administrator if v["role"] == "administrator" else Role.professional,
        password=v["password"] or None,
    )


@router.get("/annuaire/nouveau", response_class=HTMLResponse)
def new_professional_page(request: Request, user: kit.Admin) -> HTMLResponse:
    context = {"form": kit.FormValues.empty(_NEW_FIELDS), "error": None}
    return kit.render(request, user, "admin/pro_new.html", context)


@router.post("/annuaire/nouveau", response_class=HTMLResponse)
async def new_professional_submit(
    request: Request, user: kit.Admin, session: DbSession
) -> Response:
    form = await kit.read_form(request, _NEW_FIELDS)
    _check_new(session, form)
    if form.errors:
        raise kit.Failure(
            "admin/pro_new.html", {"form": form, "error": kit.FORM_HAS_ERRORS}, 422, user
        )
    try:
        created = directory.create(session, user.ctx, _new_professional(form))
    except SisraError as exc:
        raise kit.Failure(
            "admin/pro_new.html", {"form": form, "error": exc.message}, exc.status, user
        ) from exc
    return kit.redirect(f"/admin/annuaire/{created.id}?notice=cree")


def _edit_context(target: Professional) -> dict[str, Any]:
    values = {k: getattr(target, k) or "" for k in _EDIT_FIELDS}
    return {"target": target, "form": kit.FormValues(values, {}), "error": None, "notice": ""}


@router.get("/annuaire/{professional_id}", response_class=HTMLResponse)
def edit_professional_page(
    request: Request,
    user: kit.Admin,
    session: DbSession,
    professional_id: uuid.UUID,
    notice: str = "",
) -> HTMLResponse:
    context = _edit_context(directory.get(session, professional_id))
    context["notice"] = _NOTICES.get(notice, "")
    return kit.render(request, user, "admin/pro_edit.html", context)


@router.post("/annuaire/{professional_id}", response_class=HTMLResponse)
async def edit_professional_submit(
    request: Request, user: kit.Admin, session: DbSession, professional_id: uuid.UUID
) -> Response:
    form = await kit.read_form(request, _EDIT_FIELDS)
    target = directory.get(session, professional_id)
    _check_common(form)
    if form.errors:
        return kit.fail_over(
            session,
            request,
            user,
            "admin/pro_edit.html",
            lambda: _edit_context(target) | {"form": form, "error": kit.FORM_HAS_ERRORS},
            422,
        )
    changed = []
    for name in _EDIT_FIELDS:
        value = form.optional(name)
        if name in _REQUIRED:
            value = value or ""
        if getattr(target, name) != value:
            setattr(target, name, value)
            changed.append(name)
    target.search_text = directory.search_text(target)
    audit.record(
        session,
        user.ctx,
        "directory.update",
        details={"professional": str(target.id), "fields": changed},
    )
    return kit.redirect(f"/admin/annuaire/{target.id}?notice=modifie")


@router.post("/annuaire/{professional_id}/activation")
def set_active_submit(
    user: kit.Admin, session: DbSession, professional_id: uuid.UUID, active: str = Form("")
) -> Response:
    target = directory.get(session, professional_id)
    if target.id == user.pro.id:
        raise kit.message(
            "Action impossible", "Vous ne pouvez pas désactiver votre propre compte.", 422, user
        )
    enable = active == "1"
    directory.set_active(session, user.ctx, target, enable)
    return kit.redirect(f"/admin/annuaire/{target.id}?notice={'active' if enable else 'desactive'}")


@router.post("/annuaire/{professional_id}/lien-mot-de-passe")
def password_link_submit(
    request: Request,
    user: kit.Admin,
    session: DbSession,
    settings: AppSettings,
    professional_id: uuid.UUID,
) -> Response:
    """E-mail the professional a new link to choose their password (first login, forgotten)."""
    target = directory.get(session, professional_id)

    def refused(error: str, status: int) -> Response:
        def context() -> dict[str, Any]:
            return _edit_context(target) | {"error": error}

        return kit.fail_over(session, request, user, "admin/pro_edit.html", context, status)

    if not target.active or target.external:
        return refused("Ce compte ne peut pas recevoir de lien : il est désactivé ou externe.", 422)
    try:
        with session.begin_nested():
            imports.send_welcome(session, settings, user.ctx, target)
    except MailError:
        return refused(
            "Le courriel n'a pas pu être envoyé (serveur de messagerie indisponible) : "
            "réessayez plus tard.",
            502,
        )
    return kit.redirect(f"/admin/annuaire/{target.id}?notice=lien")


# --------------------------------------------------------------------------- CSV import


@router.get("/annuaire-import", response_class=HTMLResponse)
def import_page(request: Request, user: kit.Admin) -> HTMLResponse:
    return kit.render(request, user, "admin/import.html", {"report": None, "error": None})


@router.post("/annuaire-import", response_class=HTMLResponse)
async def import_submit(
    request: Request,
    user: kit.Admin,
    session: DbSession,
    settings: AppSettings,
    fichier: UploadFile = File(...),
) -> HTMLResponse:
    # the whole request is bounded while received (bodies.BodyGuard); the file exactly here
    limit = settings.max_directory_import_bytes
    raw = await fichier.read(limit + 1)
    if len(raw) > limit:
        context = {"report": None, "error": import_too_large_message(settings)}
        raise kit.Failure("admin/import.html", context, 413, user)
    try:
        report = imports.import_csv(session, user.ctx, raw)
    except SisraError as exc:
        context = {"report": None, "error": exc.message}
        raise kit.Failure("admin/import.html", context, 422, user) from exc
    return kit.render(request, user, "admin/import.html", {"report": report, "error": None})


@router.post("/annuaire-import/instructions", response_class=HTMLResponse)
def send_instructions(
    request: Request,
    user: kit.Admin,
    session: DbSession,
    settings: AppSettings,
    ids: list[str] = Form(default_factory=list),
) -> HTMLResponse:
    """E-mail their first-login instructions to the professionals just imported."""
    sent: list[str] = []
    failed: list[str] = []
    for raw_id in ids[:MAX_INSTRUCTIONS]:
        try:
            target = directory.get(session, uuid.UUID(raw_id))
        except (ValueError, NotFound):
            continue
        if not target.active or target.external:
            continue
        try:
            with session.begin_nested():  # a mail that failed leaves no link behind
                imports.send_welcome(session, settings, user.ctx, target)
        except MailError:
            failed.append(target.display_name)
            continue
        sent.append(target.display_name)
    message = f"Instructions de première connexion envoyées à {len(sent)} professionnel(s)."
    if failed:
        message += " Envoi impossible (serveur de messagerie) pour : " + ", ".join(failed) + "."
    # a partial failure keeps what was sent (the links mailed must work): it is not rolled back
    return kit.render(
        request,
        user,
        "admin/instructions.html",
        {
            "heading": "Instructions envoyées" if not failed else "Envoi incomplet",
            "kind": "error" if failed else "notice",
            "message": message,
        },
        status=502 if failed and not sent else 200,
    )

"""Web pages (admin): directory, devices, audit trail and duplicate identities.

Administrators manage the directory and read the audit; they never see clinical content.
Every page refuses a non-administrator with a French 403 page (and audits the refusal).
"""

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from sisra.common import clock
from sisra.common.identifiers import (
    InvalidIdentifier,
    validate_adeli,
    validate_finess,
    validate_rpps,
    validate_siret,
)
from sisra.common.text import fold
from sisra.platform.audit import labels
from sisra.platform.audit import query as audit_query
from sisra.platform.audit import service as audit
from sisra.platform.audit.sealer import OUT_OF_ORDER
from sisra.platform.auth import first_login, passwords
from sisra.platform.auth import service as auth
from sisra.platform.auth.mailer import MailError, send_mail
from sisra.platform.bodies import import_too_large_message
from sisra.platform.context import RequestContext
from sisra.platform.db import unit_of_work
from sisra.platform.deps import AppSettings, DbSession
from sisra.platform.directory import extract
from sisra.platform.directory import service as directory
from sisra.platform.errors import NotFound, SisraError
from sisra.platform.models import AuditEvent, Document, Patient, Professional, Role
from sisra.platform.patients import merge as merging
from sisra.platform.web.routes import _FormError, check_csrf, page, web_context
from sisra.settings import Settings

router = APIRouter(prefix="/admin", include_in_schema=False)

PAGE_SIZE = 50
MAX_INSTRUCTIONS = 500
EDITABLE = ("first_name", "last_name", "profession", "specialty", "structure", "city", "email")


# --------------------------------------------------------------------------- helpers


def _admin(request: Request, session: Session) -> tuple[RequestContext, Professional, str]:
    """The administrator's context, or the French refusal page (403, audited)."""
    ctx, pro, csrf = web_context(request, session)
    if pro.role != Role.administrator:
        audit.record(
            session,
            ctx,
            "admin.refused",
            outcome="refused",
            details={"path": request.url.path},
            keep_on_failure=True,
        )
        raise _FormError("admin/refused.html", {"pro": _detached(pro), "csrf": csrf}, 403)
    return ctx, pro, csrf


def _detached(pro: Professional) -> dict[str, str]:
    """What the page header needs, readable after the failed request's rollback."""
    return {"display_name": pro.display_name, "role": str(pro.role)}


def _paris(value: datetime | None) -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return clock.fr_datetime(value, clock.platform_zone())


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --------------------------------------------------------------------------- directory


@router.get("/annuaire", response_class=HTMLResponse)
def directory_page(
    request: Request, session: DbSession, q: str = "", notice: str = ""
) -> HTMLResponse:
    _ctx, pro, csrf = _admin(request, session)
    stmt = select(Professional)
    for part in fold(q).split():
        stmt = stmt.where(Professional.search_text.contains(part, autoescape=True))
    # the platform's professionals first, external correspondents after (decision 126)
    stmt = stmt.order_by(Professional.external, directory.sort_key(session), Professional.id)
    people = list(session.scalars(stmt.limit(200)))
    return page(
        request,
        "admin/directory.html",
        {"pro": pro, "csrf": csrf, "q": q, "people": people, "notice": notice},
    )


@dataclass
class _ProForm:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


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


def _check_common(form: _ProForm) -> None:
    v = form.values
    for name, message in _REQUIRED.items():
        if not v.get(name, "").strip():
            form.errors[name] = message
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


def _new_form(session: Session, raw: dict[str, str]) -> _ProForm:
    form = _ProForm({k: raw.get(k, "") for k in _NEW_FIELDS})
    v = form.values
    _check_common(form)
    role = Role.administrator if v["role"] == "administrator" else Role.professional
    if v["rpps"].strip():
        try:
            rpps = validate_rpps(v["rpps"])
            if session.scalar(select(Professional.id).where(Professional.rpps == rpps)):
                form.errors["rpps"] = f"Un professionnel existe déjà avec le RPPS {rpps}."
        except InvalidIdentifier as exc:
            form.errors["rpps"] = str(exc)
    if v["adeli"].strip():
        try:
            adeli = validate_adeli(v["adeli"])
            if session.scalar(select(Professional.id).where(Professional.adeli == adeli)):
                form.errors["adeli"] = f"Un professionnel existe déjà avec l'ADELI {adeli}."
        except InvalidIdentifier as exc:
            form.errors["adeli"] = str(exc)
    if role == Role.professional and not v["rpps"].strip() and not v["adeli"].strip():
        form.errors["rpps"] = "Un professionnel doit avoir un numéro RPPS ou ADELI."
    login = v["login"].strip().lower()
    if not login:
        form.errors["login"] = "Indiquez l'identifiant de connexion."
    elif session.scalar(select(Professional.id).where(func.lower(Professional.login) == login)):
        form.errors["login"] = f"L'identifiant « {login} » est déjà utilisé."
    if v["password"] and (reason := passwords.check_strength(v["password"])):
        form.errors["password"] = reason
    return form


@router.get("/annuaire/nouveau", response_class=HTMLResponse)
def new_professional_page(request: Request, session: DbSession) -> HTMLResponse:
    _ctx, pro, csrf = _admin(request, session)
    form = _ProForm({k: "" for k in _NEW_FIELDS})
    return page(
        request, "admin/pro_new.html", {"pro": pro, "csrf": csrf, "form": form, "error": None}
    )


@router.post("/annuaire/nouveau", response_class=HTMLResponse)
async def new_professional_submit(request: Request, session: DbSession) -> Response:
    ctx, pro, csrf = _admin(request, session)
    data = await request.form()
    raw = {k: str(data.get(k, "")) for k in (*_NEW_FIELDS, "csrf")}
    check_csrf(csrf, raw["csrf"])
    form = _new_form(session, raw)
    context: dict[str, Any] = {"pro": pro, "csrf": csrf, "form": form, "error": None}
    if form.errors:
        context["error"] = "Le formulaire contient des erreurs : corrigez les champs signalés."
        return page(request, "admin/pro_new.html", context, status=422)
    v = form.values
    try:
        created = directory.create(
            session,
            ctx,
            directory.NewProfessional(
                first_name=v["first_name"],
                last_name=v["last_name"],
                profession=v["profession"],
                email=v["email"],
                login=v["login"],
                rpps=_clean(v["rpps"]),
                adeli=_clean(v["adeli"]),
                specialty=_clean(v["specialty"]),
                structure=_clean(v["structure"]),
                city=_clean(v["city"]),
                mssante=_clean(v["mssante"]),
                role=Role.administrator if v["role"] == "administrator" else Role.professional,
                password=v["password"] or None,
            ),
        )
    except SisraError as exc:
        context["error"] = exc.message
        return page(request, "admin/pro_new.html", context, status=exc.status)
    return _redirect(f"/admin/annuaire/{created.id}?notice=cree")


def _edit_context(pro: Professional, csrf: str, target: Professional) -> dict[str, Any]:
    values = {k: getattr(target, k) or "" for k in (*EDITABLE, "mssante", "finess", "siret")}
    return {
        "pro": pro,
        "csrf": csrf,
        "target": target,
        "form": _ProForm(values),
        "error": None,
        "notice": "",
    }


@router.get("/annuaire/{professional_id}", response_class=HTMLResponse)
def edit_professional_page(
    request: Request, session: DbSession, professional_id: uuid.UUID, notice: str = ""
) -> HTMLResponse:
    _ctx, pro, csrf = _admin(request, session)
    target = directory.get(session, professional_id)
    context = _edit_context(pro, csrf, target)
    context["notice"] = {
        "cree": "Le professionnel a été ajouté à l'annuaire.",
        "modifie": "Les modifications ont été enregistrées.",
        "active": "Le compte est activé.",
        "desactive": "Le compte est désactivé : ses connexions sont refusées.",
        "lien": "Un lien pour choisir son mot de passe a été envoyé à son adresse e-mail ; "
        "les liens envoyés avant ne fonctionnent plus.",
    }.get(notice, "")
    return page(request, "admin/pro_edit.html", context)


@router.post("/annuaire/{professional_id}", response_class=HTMLResponse)
async def edit_professional_submit(
    request: Request, session: DbSession, professional_id: uuid.UUID
) -> Response:
    ctx, pro, csrf = _admin(request, session)
    data = await request.form()
    check_csrf(csrf, str(data.get("csrf", "")))
    target = directory.get(session, professional_id)
    form = _ProForm({k: str(data.get(k, "")) for k in (*EDITABLE, "mssante", "finess", "siret")})
    _check_common(form)
    if form.errors:
        context = _edit_context(pro, csrf, target)
        context["form"] = form
        context["error"] = "Le formulaire contient des erreurs : corrigez les champs signalés."
        return page(request, "admin/pro_edit.html", context, status=422)
    changed = []
    for name in (*EDITABLE, "mssante", "finess", "siret"):
        value = form.values[name].strip() or None
        if name in _REQUIRED:
            value = value or ""
        if getattr(target, name) != value:
            setattr(target, name, value)
            changed.append(name)
    target.search_text = directory.search_text(target)
    audit.record(
        session,
        ctx,
        "directory.update",
        details={"professional": str(target.id), "fields": changed},
    )
    return _redirect(f"/admin/annuaire/{target.id}?notice=modifie")


@router.post("/annuaire/{professional_id}/activation")
def set_active_submit(
    request: Request,
    session: DbSession,
    professional_id: uuid.UUID,
    active: str = Form(""),
    csrf: str = Form(""),
) -> Response:
    ctx, _pro, expected = _admin(request, session)
    check_csrf(expected, csrf)
    target = directory.get(session, professional_id)
    if ctx.actor is not None and target.id == ctx.actor.id:
        raise _FormError(
            "message.html",
            {
                "pro": _detached(_pro),
                "csrf": expected,
                "heading": "Action impossible",
                "kind": "error",
                "message": "Vous ne pouvez pas désactiver votre propre compte.",
            },
            422,
        )
    enable = active == "1"
    directory.set_active(session, ctx, target, enable)
    return _redirect(f"/admin/annuaire/{target.id}?notice={'active' if enable else 'desactive'}")


@router.post("/annuaire/{professional_id}/lien-mot-de-passe")
def password_link_submit(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    professional_id: uuid.UUID,
    csrf: str = Form(""),
) -> Response:
    """E-mail the professional a new link to choose their password (first login, forgotten)."""
    ctx, pro, expected = _admin(request, session)
    check_csrf(expected, csrf)
    target = directory.get(session, professional_id)
    context = _edit_context(pro, expected, target)
    if not target.active or target.external:
        context["error"] = "Ce compte ne peut pas recevoir de lien : il est désactivé ou externe."
        return page(request, "admin/pro_edit.html", context, status=422)
    try:
        with session.begin_nested():
            _send_welcome(session, settings, ctx, target)
    except MailError:
        context["error"] = (
            "Le courriel n'a pas pu être envoyé (serveur de messagerie indisponible) : "
            "réessayez plus tard."
        )
        return page(request, "admin/pro_edit.html", context, status=502)
    return _redirect(f"/admin/annuaire/{target.id}?notice=lien")


# --------------------------------------------------------------------------- CSV import


@dataclass
class ImportLine:
    line: int
    label: str
    status: str  # "créé" | "déjà présent" | "erreur"
    reason: str = ""
    professional_id: str = ""
    how: str = ""  # how the created professional will log in


def login_help(rpps: str | None, login: str) -> str:
    """How a professional of the directory logs in, in French (import report, first e-mail)."""
    password = (
        f"identifiant « {login} » et mot de passe (à choisir avec le lien de première connexion "
        "reçu par e-mail), puis code reçu par e-mail"
    )
    if rpps:
        return f"Carte CPS dans MonSisra (RPPS {rpps}) ; sans carte : {password}"
    return password[0].upper() + password[1:]


def _already_present(session: Session, row: dict[str, str]) -> str | None:
    rpps, adeli, login = row["rpps"], row["adeli"].upper(), row["identifiant"].lower()
    if rpps and session.scalar(select(Professional.id).where(Professional.rpps == rpps)):
        return f"RPPS {rpps} déjà dans l'annuaire"
    if adeli and session.scalar(select(Professional.id).where(Professional.adeli == adeli)):
        return f"ADELI {adeli} déjà dans l'annuaire"
    if login and _login_taken(session, login):
        return f"identifiant « {login} » déjà utilisé"
    return None


def _login_taken(session: Session, login: str) -> bool:
    found = session.scalar(select(Professional.id).where(func.lower(Professional.login) == login))
    return found is not None


def _free_login(session: Session, login: str) -> str:
    """``login``, or ``login2``, ``login3``… (generated logins of an RPPS extract)."""
    candidate, n = login, 1
    while _login_taken(session, candidate):
        n += 1
        candidate = f"{login}{n}"
    return candidate


def _import_row(session: Session, ctx: RequestContext, n: int, row: dict[str, str]) -> ImportLine:
    label = " ".join(x for x in (row["prenom"], row["nom"]) if x) or "(sans nom)"
    missing = [
        name
        for name, col in (
            ("nom", "nom"),
            ("prénom", "prenom"),
            ("profession", "profession"),
            ("e-mail", "email"),
            ("identifiant", "identifiant"),
        )
        if not row[col]
    ]
    if missing:
        return ImportLine(n, label, "erreur", "champ(s) manquant(s) : " + ", ".join(missing))
    if "@" not in row["email"]:
        return ImportLine(n, label, "erreur", "adresse e-mail invalide")
    try:
        if row["rpps"]:
            validate_rpps(row["rpps"])
        if row["adeli"]:
            validate_adeli(row["adeli"])
    except InvalidIdentifier as exc:
        return ImportLine(n, label, "erreur", str(exc))
    if reason := _already_present(session, row):
        return ImportLine(n, label, "déjà présent", reason)
    if not row["rpps"] and not row["adeli"]:
        return ImportLine(n, label, "erreur", "ni RPPS ni ADELI")
    try:
        created = directory.create(
            session,
            ctx,
            directory.NewProfessional(
                first_name=row["prenom"],
                last_name=row["nom"],
                profession=row["profession"],
                email=row["email"],
                login=row["identifiant"],
                rpps=row["rpps"] or None,
                adeli=row["adeli"] or None,
                specialty=row["specialite"] or None,
                structure=row["structure"] or None,
                finess=row.get("finess") or None,
                siret=row.get("siret") or None,
                city=row["ville"] or None,
            ),
        )
    except SisraError as exc:
        # create() validates and checks clashes before writing: nothing is half-imported.
        return ImportLine(n, label, "erreur", exc.message)
    return ImportLine(
        n,
        label,
        "créé",
        professional_id=str(created.id),
        how=login_help(created.rpps, created.login),
    )


def import_csv(session: Session, ctx: RequestContext, raw: bytes) -> list[ImportLine]:
    """Import a directory extract; one report line per CSV line. Raises on a bad file."""
    try:
        parsed = extract.read(raw)
    except extract.ExtractError as exc:
        raise SisraError(str(exc), code="bad_import") from exc
    report: list[ImportLine] = []
    for n, row in parsed.rows:
        if isinstance(row, str):
            report.append(ImportLine(n, "—", "erreur", row))
            continue
        if parsed.kind == "rpps" and row["identifiant"]:
            present = row["rpps"] and session.scalar(
                select(Professional.id).where(Professional.rpps == row["rpps"])
            )
            if not present:
                row["identifiant"] = _free_login(session, row["identifiant"])
        report.append(_import_row(session, ctx, n, row))
    counts = {s: sum(1 for r in report if r.status == s) for s in ("créé", "déjà présent")}
    audit.record(
        session,
        ctx,
        "directory.import",
        details={
            "format": parsed.kind,
            "encoding": parsed.encoding,
            "lines": len(report),
            "created": counts["créé"],
            "present": counts["déjà présent"],
            "errors": len(report) - counts["créé"] - counts["déjà présent"],
        },
    )
    return report


@router.get("/annuaire-import", response_class=HTMLResponse)
def import_page(request: Request, session: DbSession) -> HTMLResponse:
    _ctx, pro, csrf = _admin(request, session)
    return page(
        request, "admin/import.html", {"pro": pro, "csrf": csrf, "report": None, "error": None}
    )


@router.post("/annuaire-import", response_class=HTMLResponse)
async def import_submit(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    fichier: UploadFile = File(...),
    csrf: str = Form(""),
) -> HTMLResponse:
    ctx, pro, expected = _admin(request, session)
    check_csrf(expected, csrf)
    context: dict[str, Any] = {"pro": pro, "csrf": expected, "report": None, "error": None}
    # the whole request is bounded while received (bodies.BodyGuard); the file exactly here
    limit = settings.max_directory_import_bytes
    raw = await fichier.read(limit + 1)
    if len(raw) > limit:
        context["error"] = import_too_large_message(settings)
        return page(request, "admin/import.html", context, status=413)
    try:
        context["report"] = import_csv(session, ctx, raw)
    except SisraError as exc:
        context["error"] = exc.message
        return page(request, "admin/import.html", context, status=422)
    return page(request, "admin/import.html", context)


def _welcome_body(settings: Settings, target: Professional, link: first_login.IssuedLink) -> str:
    expires = clock.fr_datetime(link.expires_at, clock.platform_zone())
    return (
        f"Bonjour {target.first_name} {target.last_name},\n\n"
        f"Votre compte a été créé sur {settings.platform_name}, la plateforme régionale "
        "d'échange de documents médicaux.\n\n"
        f"Pour vous connecter : {login_help(target.rpps, target.login)}.\n\n"
        "Choisissez votre mot de passe en ouvrant ce lien (il ne sert qu'une fois, jusqu'au "
        f"{expires}) :\n{link.url}\n\n"
        f"Installez MonSisra ou rendez-vous sur {settings.public_url}.\n"
        f"Une question : {settings.contact_email}\n"
    )


def _send_welcome(
    session: Session, settings: Settings, ctx: RequestContext, target: Professional
) -> None:
    """The first-login e-mail, with a new link to choose the password; raises MailError."""
    link = first_login.issue(session, settings, ctx, target)
    send_mail(
        settings,
        target.email,
        f"Votre accès à {settings.platform_name}",
        _welcome_body(settings, target, link),
    )
    audit.record(
        session, ctx, "directory.instructions_sent", details={"professional": str(target.id)}
    )


@router.post("/annuaire-import/instructions", response_class=HTMLResponse)
def send_instructions(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    ids: list[str] = Form(default_factory=list),
    csrf: str = Form(""),
) -> HTMLResponse:
    """E-mail their first-login instructions to the professionals just imported."""
    ctx, pro, expected = _admin(request, session)
    check_csrf(expected, csrf)
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
                _send_welcome(session, settings, ctx, target)
        except MailError:
            failed.append(target.display_name)
            continue
        sent.append(target.display_name)
    message = f"Instructions de première connexion envoyées à {len(sent)} professionnel(s)."
    if failed:
        message += " Envoi impossible (serveur de messagerie) pour : " + ", ".join(failed) + "."
    return page(
        request,
        "admin/instructions.html",
        {
            "pro": pro,
            "csrf": expected,
            "heading": "Instructions envoyées" if not failed else "Envoi incomplet",
            "kind": "error" if failed else "notice",
            "message": message,
        },
        status=502 if failed and not sent else 200,
    )


# --------------------------------------------------------------------------- devices


@router.get("/appareils", response_class=HTMLResponse)
def devices_page(
    request: Request, session: DbSession, login: str = "", notice: str = ""
) -> HTMLResponse:
    _ctx, pro, csrf = _admin(request, session)
    context: dict[str, Any] = {
        "pro": pro,
        "csrf": csrf,
        "login": login,
        "target": None,
        "devices": [],
        "error": None,
        "notice": "L'appareil a été révoqué." if notice == "revoque" else "",
    }
    if login.strip():
        try:
            target = directory.by_login(session, login.strip())
        except NotFound as exc:
            context["error"] = exc.message
            return page(request, "admin/devices.html", context, status=404)
        context["target"] = target
        context["devices"] = [
            {
                "id": d.id,
                "name": d.name,
                "method": {"otp": "Code par e-mail", "cps": "Carte CPS"}.get(
                    d.auth_method, d.auth_method
                ),
                "strong": _paris(d.strong_auth_at),
                "seen": _paris(d.last_seen_at),
                "revoked": d.revoked_at is not None,
                "state": f"Révoqué le {_paris(d.revoked_at)}" if d.revoked_at else "Actif",
            }
            for d in auth.list_devices(session, target.id)
        ]
    return page(request, "admin/devices.html", context)


@router.post("/appareils/{device_id}/revoquer")
def revoke_device_submit(
    request: Request,
    session: DbSession,
    device_id: uuid.UUID,
    login: str = Form(""),
    csrf: str = Form(""),
) -> Response:
    ctx, _pro, expected = _admin(request, session)
    check_csrf(expected, csrf)
    auth.revoke_device(session, ctx, device_id)
    from urllib.parse import quote

    return _redirect(f"/admin/appareils?login={quote(login)}&notice=revoque")


# --------------------------------------------------------------------------- audit


@dataclass
class AuditFilters:
    actor: str = ""
    patient: str = ""  # an id, an INS or a name: POSTed, never in a URL
    action: str = ""
    start: str = ""
    end: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    patient_ids: list[uuid.UUID] = field(default_factory=list)

    def as_details(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            k: v
            for k, v in (
                ("actor", self.actor),
                ("action", self.action),
                ("from", self.start),
                ("to", self.end),
            )
            if v
        }
        if self.patient_ids:  # the resolved ids, never the traits typed
            out["patients"] = [str(i) for i in self.patient_ids[:20]]
        return out


def _paris_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clock.platform_zone()).astimezone(UTC)


def _audit_conditions(session: Session, f: AuditFilters) -> list[ColumnElement[bool]]:
    """SQL conditions for the filters; invalid filters are put in ``f.errors``."""
    conds: list[ColumnElement[bool]] = []
    if f.actor.strip():
        try:
            conds.append(AuditEvent.actor_id == directory.by_login(session, f.actor.strip()).id)
        except NotFound as exc:
            f.errors["acteur"] = exc.message
    if f.patient.strip():
        try:
            f.patient_ids = audit_query.patient_ids(session, f.patient)
            conds.append(AuditEvent.patient_id.in_(f.patient_ids))
        except audit_query.PatientNotFound as exc:
            f.errors["patient"] = str(exc)
    if f.action.strip():
        codes, prefix = labels.matching_codes(f.action)
        conds.append(
            or_(AuditEvent.action.in_(codes), AuditEvent.action.startswith(prefix, autoescape=True))
        )
    for attr, key in (("start", "du"), ("end", "au")):
        value = getattr(f, attr).strip()
        if not value:
            continue
        try:
            day = date.fromisoformat(value)
        except ValueError:
            f.errors[key] = "Date invalide (format attendu : AAAA-MM-JJ)."
            continue
        if attr == "start":
            conds.append(AuditEvent.at >= _paris_day_start(day))
        else:
            conds.append(AuditEvent.at < _paris_day_start(day + timedelta(days=1)))
    return conds


def _audit_row(e: AuditEvent) -> dict[str, str]:
    """The CSV export's columns."""
    return {
        "seq": str(e.seq),
        "at": _paris(e.at),
        "actor": e.actor_label or "système",
        "action": e.action,
        "outcome": e.outcome,
        "patient": str(e.patient_id) if e.patient_id else "",
        "document": str(e.document_id) if e.document_id else "",
        "ip": e.ip or "",
        "label": labels.action_label(e.action),
        "details": " ; ".join(f"{k} : {v}" for k, v in labels.details(e.details or {})),
    }


_FLAGS_READ = 5000  # flags looked at for one page (they are rare: each names a row)


def _out_of_order_flags(session: Session, events: list[AuditEvent]) -> dict[int, str]:
    """The sealer's « hors de l'ordre chronologique » flags on these rows, by row number.

    Read defensively: a flag row is an audit row like the others, and a database writer may
    have put anything in one.
    """
    seqs = {e.seq for e in events}
    if not seqs:
        return {}
    found = session.scalars(
        select(AuditEvent.details)
        .where(AuditEvent.seq > min(seqs), AuditEvent.action == OUT_OF_ORDER)
        .order_by(AuditEvent.seq)  # a flag is written after the row it names
        .limit(_FLAGS_READ)
    )
    out: dict[int, str] = {}
    for d in found:
        seq = d.get("seq") if isinstance(d, dict) else None
        if not isinstance(seq, int) or seq not in seqs:
            continue
        sealed = _paris_iso(d.get("sealed_at"))
        if d.get("kind") == "future":
            out[seq] = f"Ligne postdatée : datée après son scellement ({sealed})."
        else:
            out[seq] = (
                "Ligne antidatée : écrite alors que la piste était déjà scellée jusqu'au "
                f"{_paris_iso(d.get('head_at'))} (scellée le {sealed}). Elle ne vient pas d'une "
                "action faite à la date indiquée : insertion directe dans la base ou horloge "
                "déréglée."
            )
    return out


def _paris_iso(value: object) -> str:
    try:
        return _paris(datetime.fromisoformat(str(value)))
    except ValueError:
        return "?"


def _uuid_set(texts: set[str]) -> set[uuid.UUID]:
    out: set[uuid.UUID] = set()
    for text in texts:
        try:
            out.add(uuid.UUID(text))
        except ValueError:
            continue  # a login or a name written in an older row: shown as it is
    return out


def _audit_names(
    session: Session, events: list[AuditEvent]
) -> tuple[dict[uuid.UUID, str], dict[uuid.UUID, str], dict[str, str]]:
    """The names a page of audit rows shows instead of ids, in one query per kind: patients
    (the column and the details), documents' titles, professionals named in the details."""
    pro_texts, patient_texts = labels.ids_named([e.details or {} for e in events])
    patient_ids = {e.patient_id for e in events if e.patient_id} | _uuid_set(patient_texts)
    patients = audit_query.patient_labels(session, patient_ids)
    doc_ids = {e.document_id for e in events if e.document_id}
    documents: dict[uuid.UUID, str] = (
        dict(session.execute(select(Document.id, Document.title).where(Document.id.in_(doc_ids))))
        if doc_ids
        else {}
    )
    pro_ids = _uuid_set(pro_texts)
    names: dict[str, str] = {str(k): v for k, v in patients.items()}
    if pro_ids:
        for p in session.scalars(select(Professional).where(Professional.id.in_(pro_ids))):
            names[str(p.id)] = p.display_name
    return patients, documents, names


def _audit_page_row(
    e: AuditEvent,
    patients: dict[uuid.UUID, str],
    flags: dict[int, str],
    documents: dict[uuid.UUID, str] | None = None,
    names: dict[str, str] | None = None,
) -> dict[str, Any]:
    document = ""
    if e.document_id:
        title = (documents or {}).get(e.document_id)
        document = f"« {title} »" if title else f"n° {str(e.document_id)[:8]}"
    return {
        "out_of_order": flags.get(e.seq, ""),
        "at": _paris(e.at),
        "actor": e.actor_label or "système",
        "actor_id": e.actor_id,
        "action": labels.action_label(e.action),
        "code": e.action,
        "outcome": e.outcome,
        "outcome_label": labels.outcome_label(e.outcome),
        "patient_id": e.patient_id,
        "patient": patients.get(e.patient_id, str(e.patient_id)[:8]) if e.patient_id else "",
        "document": document,
        "details": labels.details(e.details or {}, names),
        "ip": e.ip or "",
    }


def _audit_view(
    request: Request, session: Session, f: AuditFilters, page_number: int
) -> HTMLResponse:
    ctx, pro, csrf = _admin(request, session)
    conds = _audit_conditions(session, f)
    rows: list[dict[str, Any]] = []
    total = 0
    pages = 1
    page_number = max(1, page_number)
    if not f.errors:
        total = int(session.scalar(select(func.count()).select_from(AuditEvent).where(*conds)) or 0)
        pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
        page_number = min(page_number, pages)
        events = list(
            session.scalars(
                select(AuditEvent)
                .where(*conds)
                .order_by(AuditEvent.seq.desc())
                .offset((page_number - 1) * PAGE_SIZE)
                .limit(PAGE_SIZE)
            )
        )
        patients, documents, names = _audit_names(session, events)
        flags = _out_of_order_flags(session, events)
        rows = [_audit_page_row(e, patients, flags, documents, names) for e in events]
        audit.record(session, ctx, "audit.read", details={**f.as_details(), "page": page_number})
    return page(
        request,
        "admin/audit.html",
        {
            "pro": pro,
            "csrf": csrf,
            "f": f,
            "rows": rows,
            "total": total,
            "page_number": page_number,
            "pages": pages,
        },
        status=422 if f.errors else 200,
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: DbSession,
    acteur: str = "",
    patient: str = "",
    action: str = "",
    du: str = "",
    au: str = "",
    page_number: int = Query(1, alias="page"),
) -> HTMLResponse:
    """The trail, newest first; ``patient`` here is only an id (links from other pages)."""
    if patient.strip():
        try:
            uuid.UUID(patient.strip())
        except ValueError:
            patient = ""  # traits never come through a URL: the form POSTs them
    return _audit_view(request, session, AuditFilters(acteur, patient, action, du, au), page_number)


@router.post("/audit", response_class=HTMLResponse)
def audit_search(
    request: Request,
    session: DbSession,
    csrf: str = Form(""),
    acteur: str = Form(""),
    patient: str = Form(""),
    action: str = Form(""),
    du: str = Form(""),
    au: str = Form(""),
    page_number: int = Form(1, alias="page"),
) -> HTMLResponse:
    """The search form: a patient's INS or name stays in the request body."""
    _ctx, _pro, expected = _admin(request, session)
    check_csrf(expected, csrf)
    return _audit_view(request, session, AuditFilters(acteur, patient, action, du, au), page_number)


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


def _stream_audit(
    request: Request, conds: list[ColumnElement[bool]], batch: int = 1000
) -> Iterator[bytes]:
    yield ("\ufeff" + _csv_line(CSV_HEADER)).encode()
    last: int | None = None
    while True:
        with unit_of_work(request.app.state.session_factory) as s:
            stmt = select(AuditEvent).where(*conds)
            if last is not None:
                stmt = stmt.where(AuditEvent.seq < last)
            events = list(s.scalars(stmt.order_by(AuditEvent.seq.desc()).limit(batch)))
            chunk = "".join(_csv_line(list(_audit_row(e).values())) for e in events)
        if not events:
            return
        last = events[-1].seq
        yield chunk.encode()
        if len(events) < batch:
            return


def _export(request: Request, session: Session, f: AuditFilters) -> Response:
    ctx, pro, csrf = _admin(request, session)
    conds = _audit_conditions(session, f)
    if f.errors:
        raise _FormError(
            "message.html",
            {
                "pro": _detached(pro),
                "csrf": csrf,
                "heading": "Export impossible",
                "kind": "error",
                "message": " ".join(f.errors.values()),
            },
            422,
        )
    audit.record(session, ctx, "audit.read", details={**f.as_details(), "export": "csv"})
    stamp = datetime.now(clock.platform_zone()).strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        _stream_audit(request, conds),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="audit-sisra-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/audit/export.csv")
def audit_export(
    request: Request,
    session: DbSession,
    acteur: str = "",
    action: str = "",
    du: str = "",
    au: str = "",
) -> Response:
    return _export(request, session, AuditFilters(acteur, "", action, du, au))


@router.post("/audit/export.csv")
def audit_export_search(
    request: Request,
    session: DbSession,
    csrf: str = Form(""),
    acteur: str = Form(""),
    patient: str = Form(""),
    action: str = Form(""),
    du: str = Form(""),
    au: str = Form(""),
) -> Response:
    _ctx, _pro, expected = _admin(request, session)
    check_csrf(expected, csrf)
    return _export(request, session, AuditFilters(acteur, patient, action, du, au))


# --------------------------------------------------------------------------- identities


def _identity_label(p: Patient, docs: int) -> str:
    given = " ".join(p.birth_given_names or [])
    ins = f", INS {p.ins}" if p.ins else ""
    return (
        f"{p.birth_name} {p.first_given_name} ({given}), né(e) le "
        f"{p.birth_date.strftime('%d/%m/%Y')}, sexe {p.sex}{ins} — {docs} document(s) — "
        f"n° {str(p.id)[:8]}"
    )


def _identities_context(session: Session, pro: Professional, csrf: str) -> dict[str, Any]:
    groups = [
        [
            {
                "id": str(p.id),
                "label": _identity_label(p, merging.document_count(session, p.id)),
                "status": str(p.identity_status),
                "created": _paris(p.created_at),
            }
            for p in group
        ]
        for group in merging.duplicate_groups(session)
    ]
    return {"pro": pro, "csrf": csrf, "groups": groups, "error": None, "notice": ""}


@router.get("/identites/{patient_id}", response_class=HTMLResponse)
def identity_page(request: Request, session: DbSession, patient_id: uuid.UUID) -> Response:
    """One identity (no clinical content), reached from an audit row."""
    _ctx, pro, csrf = _admin(request, session)
    patient = session.get(Patient, patient_id)
    if patient is None:
        return page(
            request,
            "message.html",
            {
                "pro": pro,
                "csrf": csrf,
                "heading": "Identité introuvable",
                "kind": "error",
                "message": "Cette identité n'existe plus (elle a peut-être été fusionnée).",
            },
            404,
        )
    return page(
        request,
        "admin/identity.html",
        {
            "pro": pro,
            "csrf": csrf,
            "patient_id": patient.id,
            "label": _identity_label(patient, merging.document_count(session, patient.id)),
            "status": str(patient.identity_status),
            "created": _paris(patient.created_at),
        },
    )


@router.get("/identites", response_class=HTMLResponse)
def identities_page(request: Request, session: DbSession, notice: str = "") -> HTMLResponse:
    _ctx, pro, csrf = _admin(request, session)
    context = _identities_context(session, pro, csrf)
    if notice == "fusion":
        context["notice"] = "Les deux identités ont été fusionnées."
    return page(request, "admin/identities.html", context)


@router.post("/identites/fusion", response_class=HTMLResponse)
def merge_submit(
    request: Request,
    session: DbSession,
    keep_id: str = Form(""),
    remove_id: str = Form(""),
    reason: str = Form(""),
    csrf: str = Form(""),
) -> Response:
    ctx, pro, expected = _admin(request, session)
    check_csrf(expected, csrf)
    try:
        try:
            keep, remove = uuid.UUID(keep_id), uuid.UUID(remove_id)
        except ValueError as exc:
            raise SisraError("Choisissez les deux identités.", code="merge_choice") from exc
        merging.merge(session, ctx, keep, remove, reason)
    except SisraError as exc:
        context = _identities_context(session, pro, expected)
        context["error"] = exc.message
        return page(request, "admin/identities.html", context, status=exc.status)
    return _redirect("/admin/identites?notice=fusion")

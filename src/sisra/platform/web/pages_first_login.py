"""« Choisir mon mot de passe »: the page a first-login link opens (auth/first_login.py)."""

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from sisra.platform.auth import first_login, passwords
from sisra.platform.deps import Anonymous, AppSettings, DbSession
from sisra.platform.errors import SisraError
from sisra.platform.models import Professional
from sisra.platform.web.routes import anon_csrf, anonymous_page, check_anon_csrf
from sisra.settings import Settings

router = APIRouter(include_in_schema=False)
TEMPLATE = "password_link.html"


def _form(token: str, holder: Professional) -> dict[str, object]:
    return {"token": token, "holder": holder, "min_length": passwords.MIN_LENGTH}


def _unusable(request: Request, settings: Settings, exc: SisraError) -> HTMLResponse:
    """The link itself is refused (unknown, used, expired): nothing left to fill in."""
    return anonymous_page(
        request,
        settings,
        "message.html",
        {"heading": "Lien inutilisable", "kind": "error", "message": exc.message},
        exc.status,
    )


@router.get(first_login.PATH + "/{token}", response_class=HTMLResponse)
def choose_page(
    request: Request, session: DbSession, settings: AppSettings, token: str
) -> HTMLResponse:
    csrf = anon_csrf(request)
    try:
        pro = first_login.holder(session, token)
    except SisraError as exc:
        return _unusable(request, settings, exc)
    context = {**_form(token, pro), "csrf": csrf, "error": None}
    return anonymous_page(request, settings, TEMPLATE, context, csrf_cookie=csrf)


@router.post(first_login.PATH + "/{token}", response_class=HTMLResponse)
def choose_submit(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    ctx: Anonymous,
    token: str,
    password: str = Form(""),
    confirmation: str = Form(""),
    csrf: str = Form(""),
) -> HTMLResponse:
    check_anon_csrf(request, csrf)
    try:
        pro = first_login.choose_password(session, ctx, token, password, confirmation)
    except SisraError as exc:
        try:
            holder = first_login.holder(session, token)
        except SisraError:
            return _unusable(request, settings, exc)
        context = {**_form(token, holder), "csrf": csrf, "error": exc.message}
        return anonymous_page(request, settings, TEMPLATE, context, exc.status)
    return anonymous_page(
        request,
        settings,
        "message.html",
        {
            "heading": "Mot de passe enregistré",
            "kind": "notice",
            "message": f"Votre mot de passe est enregistré. Connectez-vous avec votre identifiant "
            f"« {pro.login} », ce mot de passe, puis le code reçu par e-mail.",
        },
    )

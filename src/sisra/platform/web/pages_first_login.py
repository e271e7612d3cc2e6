"""« Choisir mon mot de passe »: the page a first-login link opens (auth/first_login.py)."""

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from sisra.platform.auth import first_login, passwords
from sisra.platform.deps import Anonymous, AppSettings, DbSession
from sisra.platform.errors import SisraError
from sisra.platform.models import Professional
from sisra.platform.web import kit

router = APIRouter(include_in_schema=False)
TEMPLATE = "password_link.html"


def _form(token: str, holder: Professional) -> dict[str, object]:
    return {"token": token, "holder": holder, "min_length": passwords.MIN_LENGTH}


def _unusable(request: Request, exc: SisraError) -> HTMLResponse:
    """The link itself is refused (unknown, used, expired): nothing left to fill in."""
    return kit.render(
        request,
        None,
        "message.html",
        {"heading": "Lien inutilisable", "kind": "error", "message": exc.message},
        exc.status,
    )


@router.get(first_login.PATH + "/{token}", response_class=HTMLResponse)
def choose_page(
    request: Request, session: DbSession, csrf: kit.AnonymousCsrf, token: str
) -> HTMLResponse:
    try:
        pro = first_login.holder(session, token)
    except SisraError as exc:
        return _unusable(request, exc)
    context = {**_form(token, pro), "csrf": csrf, "error": None}
    return kit.render(request, None, TEMPLATE, context, csrf_cookie=csrf)


@router.post(first_login.PATH + "/{token}", response_class=HTMLResponse)
def choose_submit(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    ctx: Anonymous,
    token: str,
    csrf: kit.AnonymousCsrf,
    password: str = Form(""),
    confirmation: str = Form(""),
) -> HTMLResponse:
    try:
        pro = first_login.choose_password(session, ctx, token, password, confirmation)
    except SisraError as exc:
        try:
            holder = first_login.holder(session, token)
        except SisraError:
            return _unusable(request, exc)
        error = exc.message
        return kit.fail_over(
            session,
            request,
            None,
            TEMPLATE,
            lambda: {**_form(token, holder), "csrf": csrf, "error": error},
            exc.status,
        )
    return kit.render(
        request,
        None,
        "message.html",
        {
            "heading": "Mot de passe enregistré",
            "kind": "notice",
            "message": f"Votre mot de passe est enregistré. Connectez-vous avec votre identifiant "
            f"« {pro.login} », ce mot de passe, puis le code reçu par e-mail.",
        },
    )

"""« Changer mon mot de passe »: one's own portal password (auth/password_change.py)."""

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sisra.platform.auth import password_change, passwords
from sisra.platform.deps import AppSettings, DbSession
from sisra.platform.errors import SisraError
from sisra.platform.web import kit

router = APIRouter(include_in_schema=False)
PATH = "/mon-compte/mot-de-passe"
TEMPLATE = "password_change.html"


def _context(user: kit.WebUser, **more: object) -> dict[str, object]:
    return {
        "min_length": passwords.MIN_LENGTH,
        "has_password": user.pro.password_hash is not None,
        "error": None,
        "flash": None,
        **more,
    }


@router.get(PATH, response_class=HTMLResponse)
def change_page(request: Request, user: kit.LoggedIn, change: int = 0) -> HTMLResponse:
    flash = (
        "Votre mot de passe a été changé. Vos autres connexions (autres navigateurs, MonSisra "
        "sur vos autres ordinateurs) ont été fermées."
        if change
        else None
    )
    return kit.render(request, user, TEMPLATE, _context(user, flash=flash))


@router.post(PATH, response_class=HTMLResponse)
def change_submit(
    user: kit.LoggedIn,
    session: DbSession,
    settings: AppSettings,
    current: str = Form(""),
    password: str = Form(""),
    confirmation: str = Form(""),
) -> Response:
    try:
        password_change.change(
            session, settings, user.ctx, user.pro, user.web_session, current, password, confirmation
        )
    except SisraError as exc:
        # drawn after the rollback: the context holds plain values only
        raise kit.Failure(TEMPLATE, _context(user, error=exc.message), exc.status, user) from exc
    return RedirectResponse(f"{PATH}?change=1", status_code=303)

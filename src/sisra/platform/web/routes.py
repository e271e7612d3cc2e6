"""Web login (two-step, like the API), one-time web tickets, and the logged-in home page.

Pages are server-rendered (Jinja2). Anonymous forms carry a double-submit CSRF token (cookie +
field); logged-in forms carry the session's CSRF token. Cookies are HttpOnly, SameSite=Lax
(a ticket opened from MonSisra is a top-level navigation from outside), Secure over HTTPS.
"""

import secrets
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from sisra.common.french import de
from sisra.platform.audit import service as audit
from sisra.platform.auth import known_devices, otp, psc, web
from sisra.platform.auth.tokens import same_secret
from sisra.platform.context import Actor, RequestContext
from sisra.platform.deps import Anonymous, AppSettings, DbSession, anonymous_context
from sisra.platform.errors import NotAuthenticated, NotFound, SisraError
from sisra.platform.models import Professional
from sisra.platform.record.care_team import MIN_OTHER as CARE_MIN_OTHER
from sisra.platform.record.care_team import REASONS as CARE_REASONS
from sisra.settings import Settings

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["de"] = de  # « de Paul », « d'Élodie »
# the closed list of care-team declaration reasons (record/_declare.html)
templates.env.globals["care_reasons"] = CARE_REASONS
templates.env.globals["care_min_other"] = CARE_MIN_OTHER

SESSION_COOKIE = "sisra_session"
CSRF_COOKIE = "sisra_csrf"


def _secure(settings: Settings) -> bool:
    return settings.public_url.startswith("https://")


def _safe_next(value: str | None) -> str:
    try:
        return web.check_target(value or "/accueil")
    except SisraError:
        return "/accueil"


def _anon_csrf(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)


def _check_anon_csrf(request: Request, field: str) -> None:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not same_secret(cookie, field):
        raise SisraError(
            "La page a expiré : rechargez-la et recommencez.", code="csrf_failed", status=403
        )


def _page(
    request: Request,
    settings: Settings,
    name: str,
    context: dict[str, Any],
    status: int = 200,
    csrf_cookie: str | None = None,
) -> HTMLResponse:
    response = templates.TemplateResponse(
        request,
        name,
        {
            "pro": None,
            "psc": settings.psc_enabled,
            "contact_email": settings.contact_email,
            "flash": None,
            **context,
        },
        status_code=status,
    )
    if csrf_cookie:
        response.set_cookie(
            CSRF_COOKIE,
            csrf_cookie,
            httponly=True,
            samesite="strict",
            secure=_secure(settings),
            path="/",
        )
    response.headers["Cache-Control"] = "no-store"
    return response


# for the other anonymous pages (pages_first_login.py)
anon_csrf = _anon_csrf
check_anon_csrf = _check_anon_csrf
anonymous_page = _page


def _logged_in(response: Response, settings: Settings, token: str) -> Response:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(settings),
        path="/",
        max_age=settings.web_session_hours * 3600,
    )
    return response


@router.get("/connexion", response_class=HTMLResponse)
def login_page(
    request: Request, settings: AppSettings, next: str = "/accueil", deconnecte: int = 0
) -> HTMLResponse:
    csrf = _anon_csrf(request)
    return _page(
        request,
        settings,
        "login.html",
        {
            "csrf": csrf,
            "next": _safe_next(next),
            "identifier": "",
            "error": None,
            "flash": "Vous êtes déconnecté(e)." if deconnecte else None,
        },
        csrf_cookie=csrf,
    )


@router.post("/connexion", response_class=HTMLResponse)
def login_submit(
    request: Request,
    session: DbSession,
    ctx: Anonymous,
    settings: AppSettings,
    identifier: str = Form(""),
    password: str = Form(""),
    csrf: str = Form(""),
    next: str = Form("/accueil"),
) -> HTMLResponse:
    _check_anon_csrf(request, csrf)
    target = _safe_next(next)
    cookie = request.cookies.get(known_devices.COOKIE)
    device = known_devices.counter(session, identifier, cookie=cookie)
    try:
        flow = otp.start(
            session, settings, ctx, identifier, password, purpose="web", known_device=device
        )
    except SisraError as exc:
        raise _FormError(
            "login.html",
            {"csrf": csrf, "next": target, "identifier": identifier, "error": exc.message},
            exc.status,
        ) from exc
    return _page(
        request,
        settings,
        "code.html",
        {
            "csrf": csrf,
            "flow_id": flow.flow_id,
            "next": target,
            "email_hint": flow.email_hint,
            "error": None,
        },
    )


@router.post("/connexion/code", response_class=HTMLResponse)
def code_submit(
    request: Request,
    session: DbSession,
    ctx: Anonymous,
    settings: AppSettings,
    flow_id: uuid.UUID = Form(...),
    code: str = Form(""),
    csrf: str = Form(""),
    next: str = Form("/accueil"),
) -> Response:
    _check_anon_csrf(request, csrf)
    target = _safe_next(next)
    try:
        pro = otp.verify(session, settings, ctx, flow_id, code)
    except SisraError as exc:
        raise _FormError(
            "code.html",
            {
                "csrf": csrf,
                "flow_id": flow_id,
                "next": target,
                "email_hint": "votre adresse",
                "error": exc.message,
            },
            exc.status,
        ) from exc
    token, _ = web.open_session(session, settings, pro)
    known = known_devices.remember_browser(
        session, settings, pro, request.cookies.get(known_devices.COOKIE)
    )
    audit.record(
        session, ctx.with_actor(Actor.of(pro)), "auth.web_login", details={"method": "otp"}
    )
    response = _logged_in(RedirectResponse(target, status_code=303), settings, token)
    response.delete_cookie(CSRF_COOKIE, path="/")
    # this browser is now known: its next logins are not slowed by strangers' failures
    response.set_cookie(
        known_devices.COOKIE,
        known,
        httponly=True,
        samesite="strict",
        secure=_secure(settings),
        path=known_devices.COOKIE_PATH,
        max_age=settings.known_device_days * 86400,
    )
    return response


@router.post("/connexion/code/renvoyer", response_class=HTMLResponse)
def code_resend(
    request: Request,
    session: DbSession,
    ctx: Anonymous,
    settings: AppSettings,
    flow_id: uuid.UUID = Form(...),
    csrf: str = Form(""),
    next: str = Form("/accueil"),
) -> HTMLResponse:
    _check_anon_csrf(request, csrf)
    target = _safe_next(next)
    context = {"csrf": csrf, "flow_id": flow_id, "next": target, "email_hint": "votre adresse"}
    try:
        flow = otp.resend(session, settings, ctx, flow_id)
    except SisraError as exc:
        raise _FormError("code.html", {**context, "error": exc.message}, exc.status) from exc
    return _page(
        request, settings, "code.html", {**context, "email_hint": flow.email_hint, "error": None}
    )


# --- Pro Santé Connect (e-CPS): the provider's login, then back here (auth/psc.py) -------

PSC_COOKIE = "sisra_psc"


def _require_psc(settings: Settings) -> None:
    """The French « not offered here » page when the platform has no Pro Santé Connect."""
    if not settings.psc_enabled:
        raise _FormError(
            "message.html",
            {
                "heading": "Connexion indisponible",
                "kind": "error",
                "message": psc.disabled().message,
            },
            404,
        )


@router.get("/connexion/psc")
def psc_login(
    request: Request, session: DbSession, ctx: Anonymous, settings: AppSettings, next: str = ""
) -> Response:
    """« Se connecter avec Pro Santé Connect »: off to the provider, this browser bound."""
    _require_psc(settings)
    try:
        started, browser = psc.start_web(session, settings, ctx, _safe_next(next))
    except SisraError as exc:
        raise _FormError(
            "message.html",
            {"heading": "Connexion impossible", "kind": "error", "message": exc.message},
            exc.status,
        ) from exc
    response = RedirectResponse(started.authorization_url, status_code=303)
    # Lax: the provider's redirect back is a top-level navigation, which carries it
    response.set_cookie(
        PSC_COOKIE,
        browser,
        httponly=True,
        samesite="lax",
        secure=_secure(settings),
        path="/connexion/psc",
        max_age=settings.psc_flow_ttl_s,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/connexion/psc/retour")
def psc_return(
    request: Request,
    session: DbSession,
    ctx: Anonymous,
    settings: AppSettings,
    state: str = "",
    code: str = "",
    error: str = "",
) -> Response:
    """The provider's redirect: a web session, or MonSisra's loopback with its one-time code."""
    _require_psc(settings)
    try:
        done = psc.callback(
            session,
            settings,
            ctx,
            state=state[:200],
            code=code[:500],
            error=error[:100],
            browser=request.cookies.get(PSC_COOKIE),
        )
    except psc.CallbackRefused as refused:
        if refused.app_redirect:
            raise _Redirect(refused.app_redirect) from None
        raise _FormError(
            "message.html",
            {"heading": "Connexion refusée", "kind": "error", "message": refused.error.message},
            refused.error.status,
        ) from None
    if done.purpose == "app":
        response: Response = RedirectResponse(done.redirect, status_code=303)
    else:
        assert done.pro is not None
        token, _ = web.open_session(session, settings, done.pro)
        audit.record(
            session,
            ctx.with_actor(Actor.of(done.pro)),
            "auth.web_login",
            details={"method": "psc"},
        )
        response = _logged_in(RedirectResponse(done.redirect, status_code=303), settings, token)
    response.delete_cookie(PSC_COOKIE, path="/connexion/psc")
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/web/ticket/{ticket}")
def open_ticket(
    request: Request, session: DbSession, ctx: Anonymous, settings: AppSettings, ticket: str
) -> Response:
    """A one-time link from MonSisra: opens its page already logged in."""
    try:
        pro, target, device_id = web.consume_ticket(session, ctx, ticket)
    except NotAuthenticated as exc:
        raise _FormError(
            "message.html", {"heading": "Lien expiré", "kind": "error", "message": exc.message}, 401
        ) from exc
    token, _ = web.open_session(session, settings, pro, device_id)
    return _logged_in(RedirectResponse(target, status_code=303), settings, token)


def current_web_user(request: Request, session: DbSession) -> tuple[Professional, str]:
    """The logged-in professional and the session's CSRF token, or a redirect to the login."""
    try:
        pro, row = web.current_session(session, request.cookies.get(SESSION_COOKIE))
    except NotAuthenticated as exc:
        raise _LoginRedirect(request.url.path) from exc
    return pro, row.csrf_token


def check_csrf(expected: str, given: str) -> None:
    """Logged-in forms carry the session's CSRF token."""
    if not given or not same_secret(expected, given):
        raise SisraError(
            "La page a expiré : rechargez-la et recommencez.", code="csrf_failed", status=403
        )


def web_context(request: Request, session: Session) -> tuple[RequestContext, Professional, str]:
    """For pages: the request context as the logged-in professional, and the CSRF token."""
    pro, csrf = current_web_user(request, session)
    ctx = anonymous_context(request).with_actor(Actor.of(pro))
    return ctx, pro, csrf


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """Render a logged-in page (``context`` holds ``pro`` and ``csrf``)."""
    return _page(request, request.app.state.settings, name, context, status)


@router.get("/accueil", response_class=HTMLResponse)
def home(request: Request, session: DbSession, settings: AppSettings) -> HTMLResponse:
    pro, csrf = current_web_user(request, session)
    return _page(request, settings, "home.html", {"pro": pro, "csrf": csrf})


@router.post("/deconnexion")
def logout(request: Request, session: DbSession, csrf: str = Form("")) -> Response:
    _pro, expected = current_web_user(request, session)
    if not same_secret(expected, csrf):
        raise SisraError("La page a expiré : rechargez-la.", code="csrf_failed", status=403)
    web.close_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/connexion?deconnecte=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/demo/courriels", response_class=HTMLResponse)
def demo_mails(request: Request, settings: AppSettings) -> HTMLResponse:
    """Demo mode only: the codes the demo's mail sink captured."""
    if not settings.demo_mode:
        raise NotFound("Adresse introuvable.")
    from sisra.devtools.smtp_sink import read_mail_dir

    mails = [
        {
            "when": datetime.fromtimestamp(m.received_at).strftime("%d/%m %H:%M:%S"),
            "to": ", ".join(m.to),
            "code": m.code() or "—",
        }
        for m in read_mail_dir(settings.data_dir / "mails", 30)
    ]
    return _page(request, settings, "mails.html", {"mails": mails})


class _FormError(Exception):
    """Re-render a form with its error, after the transaction's failure hooks ran."""

    def __init__(self, template: str, context: dict[str, Any], status: int) -> None:
        super().__init__(template)
        self.template, self.context, self.status = template, context, status


class _Redirect(Exception):
    """Leave for ``url`` after the transaction's failure hooks ran (a refusal MonSisra shows)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


class _LoginRedirect(Exception):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def install(app: FastAPI) -> None:
    """Exception handlers that turn web errors into pages (not JSON)."""
    from urllib.parse import quote

    @app.exception_handler(_FormError)
    async def _form_error(request: Request, exc: _FormError) -> HTMLResponse:
        settings: Settings = request.app.state.settings
        return _page(request, settings, exc.template, exc.context, exc.status)

    @app.exception_handler(_Redirect)
    async def _redirect(_request: Request, exc: _Redirect) -> RedirectResponse:
        return RedirectResponse(exc.url, status_code=303, headers={"Cache-Control": "no-store"})

    @app.exception_handler(_LoginRedirect)
    async def _login_redirect(_request: Request, exc: _LoginRedirect) -> RedirectResponse:
        return RedirectResponse(f"/connexion?next={quote(exc.path)}", status_code=303)

"""Web login (two-step, like the API), one-time web tickets, and the logged-in home page.

Pages are server-rendered (Jinja2). Anonymous forms carry a double-submit CSRF token (cookie +
field); logged-in forms carry the session's CSRF token. Cookies are HttpOnly, SameSite=Lax
(a ticket opened from MonSisra is a top-level navigation from outside), Secure over HTTPS.
"""

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape

from sisra.common import clock
from sisra.platform.audit import service as audit
from sisra.platform.auth import known_devices, otp, psc, web
from sisra.platform.context import Actor
from sisra.platform.demo import mails
from sisra.platform.deps import Anonymous, AppSettings, DbSession
from sisra.platform.errors import NotAuthenticated, NotFound, SisraError
from sisra.platform.settings import Settings
from sisra.platform.web import kit

router = APIRouter(include_in_schema=False)


def _safe_next(value: str | None) -> str:
    try:
        return web.check_target(value or "/accueil")
    except SisraError:
        return "/accueil"


@router.get("/connexion", response_class=HTMLResponse)
def login_page(
    request: Request,
    settings: AppSettings,
    csrf: kit.AnonymousCsrf,
    next: str = "/accueil",
    deconnecte: int = 0,
) -> HTMLResponse:
    return kit.render(
        request,
        None,
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
    csrf: kit.AnonymousCsrf,
    identifier: str = Form(""),
    password: str = Form(""),
    next: str = Form("/accueil"),
) -> HTMLResponse:
    target = _safe_next(next)
    cookie = request.cookies.get(known_devices.COOKIE)
    device = known_devices.counter(session, identifier, cookie=cookie)
    try:
        flow = otp.start(
            session, settings, ctx, identifier, password, purpose="web", known_device=device
        )
    except SisraError as exc:
        raise kit.Failure(
            "login.html",
            {"csrf": csrf, "next": target, "identifier": identifier, "error": exc.message},
            exc.status,
        ) from exc
    return kit.render(
        request,
        None,
        "code.html",
        {
            "csrf": csrf,
            "flow_id": flow.flow_id,
            "next": target,
            "email_hint": flow.email_hint,
            "error": None,
        },
    )


def _code_again(csrf: str, flow_id: uuid.UUID, target: str, exc: SisraError) -> kit.Failure:
    """The code page again, with why the code (or a new one) was refused."""
    context = {"csrf": csrf, "flow_id": flow_id, "next": target, "email_hint": "votre adresse"}
    return kit.Failure("code.html", {**context, "error": exc.message}, exc.status)


@router.post("/connexion/code", response_class=HTMLResponse)
def code_submit(
    request: Request,
    session: DbSession,
    ctx: Anonymous,
    settings: AppSettings,
    csrf: kit.AnonymousCsrf,
    flow_id: uuid.UUID = Form(...),
    code: str = Form(""),
    next: str = Form("/accueil"),
) -> Response:
    target = _safe_next(next)
    try:
        pro = otp.verify(session, settings, ctx, flow_id, code)
    except SisraError as exc:
        raise _code_again(csrf, flow_id, target, exc) from exc
    token, _ = web.open_session(session, settings, pro)
    known = known_devices.remember_browser(
        session, settings, pro, request.cookies.get(known_devices.COOKIE)
    )
    audit.record(
        session, ctx.with_actor(Actor.of(pro)), "auth.web_login", details={"method": "otp"}
    )
    response = kit.logged_in_as(RedirectResponse(target, status_code=303), settings, token)
    response.delete_cookie(kit.CSRF_COOKIE, path="/")
    # this browser is now known: its next logins are not slowed by strangers' failures
    response.set_cookie(
        known_devices.COOKIE,
        known,
        httponly=True,
        samesite="strict",
        secure=kit.secure(settings),
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
    csrf: kit.AnonymousCsrf,
    flow_id: uuid.UUID = Form(...),
    next: str = Form("/accueil"),
) -> HTMLResponse:
    target = _safe_next(next)
    try:
        flow = otp.resend(session, settings, ctx, flow_id)
    except SisraError as exc:
        raise _code_again(csrf, flow_id, target, exc) from exc
    context = {"csrf": csrf, "flow_id": flow_id, "next": target}
    return kit.render(
        request, None, "code.html", {**context, "email_hint": flow.email_hint, "error": None}
    )


# --- Pro Santé Connect (e-CPS): the provider's login, then back here (auth/psc.py) -------

PSC_COOKIE = "sisra_psc"


def _require_psc(settings: Settings) -> None:
    """The French « not offered here » page when the platform has no Pro Santé Connect."""
    if not settings.psc_enabled:
        raise kit.Failure(
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
        raise kit.Failure(
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
        secure=kit.secure(settings),
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
            raise kit.Redirect(refused.app_redirect) from None
        raise kit.Failure(
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
        response = kit.logged_in_as(
            RedirectResponse(done.redirect, status_code=303), settings, token
        )
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
        raise kit.Failure(
            "message.html", {"heading": "Lien expiré", "kind": "error", "message": exc.message}, 401
        ) from exc
    token, _ = web.open_session(session, settings, pro, device_id)
    return kit.logged_in_as(RedirectResponse(target, status_code=303), settings, token)


@router.get("/accueil", response_class=HTMLResponse)
def home(request: Request, user: kit.LoggedIn) -> HTMLResponse:
    return kit.render(request, user, "home.html", {})


@router.post("/deconnexion")
def logout(session: DbSession, user: kit.LoggedIn) -> Response:
    web.close_session(session, user.token)
    return kit.logged_out(RedirectResponse("/connexion?deconnecte=1", status_code=303))


def _linked(text: str) -> Markup:
    """``text`` escaped, its web addresses made links (a captured mail's body)."""
    parts, last = [], 0
    for start, link in mails.link_spans(text):
        parts += [escape(text[last:start]), _LINK.format(link)]
        last = start + len(link)
    return Markup("").join([*parts, escape(text[last:])])


_LINK = Markup('<a href="{0}">{0}</a>')


@router.get("/demo/courriels", response_class=HTMLResponse)
def demo_mails(request: Request, settings: AppSettings) -> HTMLResponse:
    """Demo mode only: the mails the demo's sink captured, decoded, newest first."""
    if not settings.demo_mode:
        raise NotFound("Adresse introuvable.")
    shown = [
        {
            "when": clock.fr_datetime(
                datetime.fromtimestamp(m.received_at, UTC), clock.platform_zone()
            ),
            "to": ", ".join(m.to),
            "subject": m.subject,
            "code": m.code(),
            "body": _linked(m.body),
        }
        for m in mails.read_mail_dir(settings.data_dir / "mails", 30)
    ]
    return kit.render(request, None, "mails.html", {"mails": shown})

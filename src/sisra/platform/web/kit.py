"""The web pages' toolkit: who is calling, CSRF, forms, one renderer, failure pages.

Every page handler gets its caller from a dependency, as the API's routes do
(``deps.ProContext``/``AdminContext``)::

    def page(request: Request, user: LoggedIn) -> HTMLResponse: ...
    def admin_page(request: Request, user: Admin) -> HTMLResponse: ...

``LoggedIn`` is a professional or an administrator with a web session (else a redirect to
the login page); ``Admin`` is an administrator (else the French refusal page, 403, audited).
Both check the form's CSRF token on state-changing methods, so no handler does it by hand;
the anonymous forms (login, first login) take their double-submit token from
``AnonymousCsrf``, which checks it likewise. A form is a dataclass read by the dependency
:func:`typed_form`, or named fields read into :class:`FormValues` (values and French errors).
A page is rendered by :func:`render`; a failure is shown by raising :class:`Failure`, whose
page is drawn after the request's transaction rolled back (refusals' audit rows kept).
"""

import secrets
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from sisra.common.french import de
from sisra.platform.audit import service as audit
from sisra.platform.auth import web
from sisra.platform.auth.tokens import same_secret
from sisra.platform.context import Actor, RequestContext
from sisra.platform.db import rollback_attempt, unit_of_work
from sisra.platform.deps import DbSession, anonymous_context
from sisra.platform.errors import NotAuthenticated, SisraError
from sisra.platform.models import Professional, Role, WebSession
from sisra.platform.record.care_team import MIN_OTHER as CARE_MIN_OTHER
from sisra.platform.record.care_team import REASONS as CARE_REASONS
from sisra.platform.settings import Settings

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["de"] = de  # « de Paul », « d'Élodie »
# the closed list of care-team declaration reasons (record/_declare.html)
templates.env.globals["care_reasons"] = CARE_REASONS
templates.env.globals["care_min_other"] = CARE_MIN_OTHER

SESSION_COOKIE = "sisra_session"
CSRF_COOKIE = "sisra_csrf"
# methods that change state carry the CSRF token in their form (field ``csrf``)
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
T = TypeVar("T")
_EXPIRED = "La page a expiré : rechargez-la et recommencez."


# --------------------------------------------------------------------------- the caller


@dataclass(frozen=True)
class Header:
    """What a page's header shows of the caller: plain values, readable after a rollback."""

    display_name: str
    first_name: str
    last_name: str
    role: str


@dataclass(frozen=True)
class WebUser:
    """The logged-in caller of a page."""

    pro: Professional
    csrf: str  # the session's CSRF token, put in every form of the page
    ctx: RequestContext  # the request as this professional (for services and the audit)
    token: str  # the session cookie (binds saved searches to this browser's session)
    header: Header
    web_session: WebSession  # this browser's session row (a password change keeps it)

    @property
    def is_admin(self) -> bool:
        return self.header.role == Role.administrator.value


def _session_user(request: Request, session: Session) -> WebUser:
    """The caller from the session cookie, or a redirect to the login page."""
    token = request.cookies.get(SESSION_COOKIE, "")
    try:
        pro, row = web.current_session(session, token)
    except NotAuthenticated as exc:
        raise LoginRedirect(request.url.path) from exc
    header = Header(pro.display_name, pro.first_name, pro.last_name, str(pro.role.value))
    ctx = anonymous_context(request).with_actor(Actor.of(pro))
    return WebUser(pro, row.csrf_token, ctx, token, header, row)


def _professional(request: Request, session: DbSession) -> WebUser:
    return _session_user(request, session)


@contextmanager
def own_transaction(request: Request) -> Iterator[tuple[Session, WebUser]]:
    """A unit of work of its own and the caller looked up in it, for a handler that must end
    its transaction before it answers (the record's preview draws with no lock held).

    A GET only: there is no form whose CSRF token would be checked.
    """
    assert request.method not in STATE_CHANGING
    with unit_of_work(request.app.state.session_factory) as session:
        yield session, _session_user(request, session)


def _administrator(
    request: Request, session: DbSession, user: Annotated[WebUser, Depends(_professional)]
) -> WebUser:
    if not user.is_admin:
        audit.record(
            session,
            user.ctx,
            "admin.refused",
            outcome="refused",
            details={"path": request.url.path},
            keep_on_failure=True,
        )
        raise Failure("admin/refused.html", {}, 403, user=user)
    return user


def check_csrf(expected: str, given: str) -> None:
    """A form's token is the one expected (the session's, or the anonymous cookie's)."""
    if not expected or not given or not same_secret(expected, given):
        raise SisraError(_EXPIRED, code="csrf_failed", status=403)


async def _form_csrf(request: Request, user: WebUser) -> WebUser:
    # the form is parsed once: FastAPI's Form parameters and ``request.form()`` reuse it
    if request.method in STATE_CHANGING:
        form = await request.form()
        check_csrf(user.csrf, str(form.get("csrf", "")))
    return user


async def logged_in(request: Request, user: Annotated[WebUser, Depends(_professional)]) -> WebUser:
    """A logged-in professional or administrator; CSRF checked on state-changing methods."""
    return await _form_csrf(request, user)


async def admin(request: Request, user: Annotated[WebUser, Depends(_administrator)]) -> WebUser:
    """An administrator (others get the refusal page, audited); CSRF checked likewise."""
    return await _form_csrf(request, user)


LoggedIn = Annotated[WebUser, Depends(logged_in)]
Admin = Annotated[WebUser, Depends(admin)]


def logged_in_as(response: Response, settings: Settings, token: str) -> Response:
    """``response`` carries the new web session's cookie (login, ticket, Pro Santé Connect)."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=secure(settings),
        path="/",
        max_age=settings.web_session_hours * 3600,
    )
    return response


def logged_out(response: Response) -> Response:
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --------------------------------------------------------------------------- anonymous forms


async def anonymous_csrf(request: Request) -> str:
    """The anonymous forms' token (login, first login): they are double-submit.

    On a state-changing method the form's ``csrf`` field must match the browser's cookie;
    otherwise the token is the cookie's, or a new one (set by :func:`render`'s
    ``csrf_cookie``).
    """
    if request.method in STATE_CHANGING:
        given = str((await request.form()).get("csrf", ""))
        check_csrf(request.cookies.get(CSRF_COOKIE, ""), given)
        return given
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)


AnonymousCsrf = Annotated[str, Depends(anonymous_csrf)]


def secure(settings: Settings) -> bool:
    return settings.public_url.startswith("https://")


# --------------------------------------------------------------------------- forms


@dataclass
class FormValues:
    """A submitted form's text fields, and the French error of each field that is wrong."""

    values: dict[str, str]
    errors: dict[str, str]

    @classmethod
    def empty(cls, names: Iterable[str]) -> "FormValues":
        return cls({name: "" for name in names}, {})

    def require(self, messages: dict[str, str]) -> None:
        for name, message in messages.items():
            if not self.values.get(name, "").strip():
                self.errors[name] = message

    def optional(self, name: str) -> str | None:
        """The field, trimmed, or None when left empty."""
        return self.values.get(name, "").strip() or None


async def read_form(request: Request, names: Iterable[str]) -> FormValues:
    """The named text fields of the request's form (missing ones empty)."""
    data = await request.form()
    return FormValues({name: str(data.get(name, "")) for name in names}, {})


def form_values(names: Iterable[str]) -> Callable[[Request], Awaitable[FormValues]]:
    """A dependency: the named fields as :func:`read_form` reads them (the handler may stay
    synchronous: its database work then runs off the event loop)."""
    names = tuple(names)

    async def read(request: Request) -> FormValues:
        return await read_form(request, names)

    return read


def text_fields(cls: type[Any]) -> tuple[str, ...]:
    """A form dataclass's fields read from the request: those typed ``str``."""
    return tuple(f.name for f in fields(cls) if f.init and f.type in (str, "str"))


def typed_form(cls: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency: the request's fields read into ``cls``, a dataclass declaring a form.

    Its ``str`` fields are the form's fields of the same names (missing ones empty), read
    from the body on a state-changing method and from the query string on a GET; its other
    fields keep their defaults (the errors a check fills, what the check resolves).
    Declared once, the form is taken by every handler that reads it::

        Search = Annotated[PatientSearch, Depends(kit.typed_form(PatientSearch))]
    """
    names = text_fields(cls)

    async def read(request: Request) -> T:
        if request.method in STATE_CHANGING:
            data: Mapping[str, Any] = await request.form()
        else:
            data = request.query_params
        return cls(**{name: str(data.get(name, "")) for name in names})

    return read


FORM_HAS_ERRORS = "Le formulaire contient des erreurs : corrigez les champs signalés."


# --------------------------------------------------------------------------- rendering


def render(
    request: Request,
    user: WebUser | None,
    name: str,
    context: dict[str, Any],
    status: int = 200,
    csrf_cookie: str | None = None,
) -> HTMLResponse:
    """The one page renderer: ``pro`` (the header) and ``csrf`` come from ``user``."""
    settings: Settings = request.app.state.settings
    base: dict[str, Any] = {
        "pro": None,
        "psc": settings.psc_enabled,
        "contact_email": settings.contact_email,
        "flash": None,
    }
    if user is not None:
        base |= {"pro": user.header, "csrf": user.csrf}
    response = templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
    if csrf_cookie:
        response.set_cookie(
            CSRF_COOKIE,
            csrf_cookie,
            httponly=True,
            samesite="strict",
            secure=secure(settings),
            path="/",
        )
    response.headers["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------- failures


class Failure(Exception):
    """Show ``template`` as the failure's page, after the transaction rolled back.

    The page is drawn once the request's unit of work has rolled back (and kept what must
    outlive a failure: refusals' audit rows), so ``context`` holds plain values only. A page
    that needs the database again (a form shown with its choices) fails with
    :func:`fail_over` instead.
    """

    def __init__(
        self, template: str, context: dict[str, Any], status: int, user: WebUser | None = None
    ) -> None:
        super().__init__(template)
        self.template, self.context, self.status, self.user = template, context, status, user


def fail_over(
    session: Session,
    request: Request,
    user: WebUser | None,
    template: str,
    context: Callable[[], dict[str, Any]],
    status: int,
) -> HTMLResponse:
    """Undo the failed attempt, then show ``template`` with what ``context()`` reads now.

    For failures whose page reads the database: what the attempt wrote is rolled back
    first (refusals' audit rows kept), so the page shows the state before it.
    """
    rollback_attempt(session)
    return render(request, user, template, context(), status)


def message(
    heading: str, text: str, status: int, user: WebUser | None = None, kind: str = "error"
) -> Failure:
    """A failure shown as the message page."""
    return Failure(
        "message.html", {"heading": heading, "kind": kind, "message": text}, status, user
    )


class Redirect(Exception):
    """Leave for ``url`` after the transaction's failure hooks ran (a refusal MonSisra shows)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


class LoginRedirect(Exception):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def install(app: FastAPI) -> None:
    """Exception handlers that turn web failures into pages (not JSON)."""
    from urllib.parse import quote

    @app.exception_handler(Failure)
    async def _failure(request: Request, exc: Failure) -> HTMLResponse:
        return render(request, exc.user, exc.template, exc.context, exc.status)

    @app.exception_handler(Redirect)
    async def _redirect(_request: Request, exc: Redirect) -> RedirectResponse:
        return RedirectResponse(exc.url, status_code=303, headers={"Cache-Control": "no-store"})

    @app.exception_handler(LoginRedirect)
    async def _login_redirect(_request: Request, exc: LoginRedirect) -> RedirectResponse:
        return RedirectResponse(f"/connexion?next={quote(exc.path)}", status_code=303)


def redirect(url: str) -> RedirectResponse:
    """After a successful form: POST-redirect-GET."""
    return RedirectResponse(url, status_code=303)

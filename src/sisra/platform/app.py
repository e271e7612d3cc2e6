"""The platform's ASGI application: ``create_app()`` wires settings, database, storage, events."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import DataError, SQLAlchemyError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sisra import __version__
from sisra.common import clock
from sisra.platform import apidocs
from sisra.platform.audit.routes import router as audit_router
from sisra.platform.audit.sealer import Sealer, SealerThread
from sisra.platform.auth.cache import AuthCache
from sisra.platform.auth.cps import TrustStore
from sisra.platform.auth.revocation import RevocationWatch
from sisra.platform.auth.routes import router as auth_router
from sisra.platform.bodies import BodyGuard
from sisra.platform.db import make_engine, make_session_factory
from sisra.platform.directory.routes import router as directory_router
from sisra.platform.documents import sweep
from sisra.platform.documents.routes import router as documents_router
from sisra.platform.errors import SisraError, error_response, invalid_value_response
from sisra.platform.events.hub import hub_for
from sisra.platform.events.lane import EventsLane
from sisra.platform.events.routes import router as events_router
from sisra.platform.events.ticker import RevocationTicker
from sisra.platform.fhir.outcome import FhirErrors  # FHIR R4 API
from sisra.platform.fhir.routes import router as fhir_router  # FHIR R4 API
from sisra.platform.inbox.fast import InboxFastLane
from sisra.platform.inbox.routes import router as inbox_router
from sisra.platform.inbox.sequencer import SequencerThread
from sisra.platform.inbox.service import platform_summary
from sisra.platform.inputs import InputGuard
from sisra.platform.logs import install_log_redaction
from sisra.platform.mssante.sender import OutboxSender, SenderThread
from sisra.platform.patients.routes import router as patients_router
from sisra.platform.record.digest import DigestThread
from sisra.platform.record.routes import router as record_router
from sisra.platform.settings import Settings, get_settings
from sisra.platform.storage import blobs_from_settings, load_master_key
from sisra.platform.web import (
    admin,
    kit,
    pages_account,
    pages_download,
    pages_first_login,
    pages_mssante,
    pages_record,
    pages_send,
    pages_sent,
    saved_search,
)
from sisra.platform.web import routes as web_routes
from sisra.platform.web.preview import Previews

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; object-src 'none'",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

_HTTP_CODES = {
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "file_too_large",
}
_HTTP_MESSAGES = {404: "Adresse introuvable.", 405: "Méthode non autorisée pour cette adresse."}


class SecurityHeaders:
    """Pure ASGI middleware (it must not buffer the Server-Sent Events stream)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class DisplayZone:
    """Pure ASGI middleware: this app's ``SISRA_TIMEZONE`` for every time its pages, mails
    and answers show to a person (:func:`sisra.common.clock.platform_zone`)."""

    def __init__(self, app: ASGIApp, zone: str) -> None:
        self.app, self.zone = app, zone

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with clock.zone_in_use(self.zone):
            await self.app(scope, receive, send)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Background work of one server process: the audit sealer, the orphan-blob sweeper and
    the events listener (PostgreSQL)."""
    interval = app.state.settings.audit_seal_interval_s
    thread = SealerThread(app.state.audit_sealer, interval).start() if interval > 0 else None
    app.state.hub.start()
    # numbers notifications a request left without a cursor (it died after its commit)
    inbox_seq = SequencerThread(app.state.session_factory, app.state.hub).start()
    # MSSanté: mail to other operators, when a relay is configured
    mss_out = (
        SenderThread(app.state.mssante_sender).start()
        if app.state.settings.mssante_relay_host
        else None
    )
    # the daily digest of new care-team declarations (claimed per recipient and day)
    digest_interval = app.state.settings.care_team_digest_interval_s
    digests = (
        DigestThread(app.state.session_factory, app.state.settings).start()
        if digest_interval > 0
        else None
    )
    try:
        async with sweep.lifespan(app):
            yield
    finally:
        if digests is not None:
            digests.stop()
        if mss_out is not None:
            mss_out.stop()
        inbox_seq.stop()
        app.state.hub.stop()
        if thread is not None:
            thread.stop()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    # every time a person reads (sisra.common.clock): per request (DisplayZone), and for the
    # periodic jobs of this process
    clock.set_platform_zone(settings.timezone)
    install_log_redaction()  # one-time links never written to the access log
    app = FastAPI(
        lifespan=_lifespan,
        title="sisra",
        version=__version__,
        summary="Échange de documents médicaux entre professionnels de santé",
        description='API v1. Errors are `{"code": ..., "message": ...}` with a stable code and '
        "a French message.",
        docs_url=None,  # /docs is served by apidocs, from our own assets
        redoc_url=None,
    )
    engine = make_engine(settings.effective_database_url, settings)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    # inbox items name the platform (exports write it in their README)
    app.state.session_factory.configure(info={"platform": platform_summary(settings)})
    master = load_master_key(
        settings.master_key.get_secret_value() if settings.master_key else None,
        settings.master_key_file,
    )
    app.state.blobs = blobs_from_settings(settings, master)
    app.state.search_key = saved_search.derive_key(master)
    # first-page previews: bounded renders, remembered in this process's memory
    app.state.previews = Previews(settings)
    app.state.hub = hub_for(engine)
    app.state.revocations = RevocationWatch(
        app.state.session_factory, settings.events_revocation_check_s
    )
    app.state.revocation_ticker = RevocationTicker(
        app.state.hub, app.state.revocations, settings.events_revocation_check_s
    )
    app.state.auth_cache = AuthCache(
        app.state.revocations, settings.auth_cache_s, app.state.session_factory
    )
    app.state.audit_sealer = Sealer.from_settings(settings, app.state.session_factory)
    app.state.trust_store = TrustStore.from_settings(settings)
    # MSSanté gateway, outgoing mail
    app.state.mssante_sender = OutboxSender(settings, app.state.session_factory, app.state.blobs)

    @app.exception_handler(SisraError)
    async def _sisra_error(_request: Request, exc: SisraError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(x) for x in e["loc"]), "error": e["msg"]} for e in exc.errors()
        ]
        return JSONResponse(
            {
                "code": "invalid_request",
                "message": "La requête est incomplète ou mal formée.",
                "errors": errors,
            },
            status_code=422,
        )

    @app.exception_handler(DataError)
    async def _data_error(_request: Request, _exc: DataError) -> JSONResponse:
        return invalid_value_response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # a body FastAPI could not even decode: invalid input
            return JSONResponse(
                {"code": "invalid_request", "message": "Le corps de la requête est illisible."},
                status_code=422,
            )
        return JSONResponse(
            {
                "code": _HTTP_CODES.get(exc.status_code, "http_error"),
                "message": _HTTP_MESSAGES.get(exc.status_code, str(exc.detail)),
            },
            status_code=exc.status_code,
        )

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/accueil", status_code=303)

    @app.get("/api/v1/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/healthz", include_in_schema=False)  # for the load balancer, not the API
    def ready(request: Request) -> JSONResponse:
        """For the load balancer: this node can serve (its database answers)."""
        # the app from the request, not from this closure: FastAPI caches facts about
        # endpoint callables process-wide, and a closure over ``app`` would keep every app
        # built in one process (the tests build hundreds) alive in that cache
        try:
            with request.app.state.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return JSONResponse(
                {
                    "code": "not_ready",
                    "message": "Ce serveur ne joint pas sa base de données.",
                },
                status_code=503,
            )
        return JSONResponse({"status": "ok", "version": __version__})

    apidocs.install(app)
    kit.install(app)
    static = Path(kit.__file__).parent / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")
    # The API first: FastAPI finds a request's route by walking the included routers in
    # order, so a MonSisra request no longer walks every web router before its own (about a
    # fifth of the event loop's CPU per API request). No web path can take an API request:
    # web paths start with a fixed segment other than ``api`` and ``fhir``, and the two API
    # paths of ``pages_download`` are matched by no API router
    # (tests/platform/test_route_order.py).
    for router in (
        auth_router,
        directory_router,
        patients_router,
        documents_router,
        inbox_router,
        record_router,
        events_router,
        audit_router,
        fhir_router,  # FHIR R4 API
        web_routes.router,
        pages_record.router,
        pages_send.router,
        pages_sent.router,
        *admin.routers,
        pages_download.router,
        pages_first_login.router,
        pages_account.router,
        pages_mssante.router,  # « Identités à rapprocher »
    ):
        app.include_router(router)
    # the inbox's cycle requests answered below the framework, after every guard (decision 195)
    app.add_middleware(InboxFastLane)
    # the event streams too, for their whole life (decision 206)
    app.add_middleware(EventsLane)
    app.add_middleware(InputGuard)  # reads JSON and form bodies: inside the body bounds
    app.add_middleware(BodyGuard, settings=settings)  # every body bounded while received
    app.add_middleware(SecurityHeaders)
    app.add_middleware(DisplayZone, zone=settings.timezone)
    app.add_middleware(FhirErrors)  # FHIR R4 API: errors under /fhir/ as OperationOutcome
    return app

"""The API's own documentation: the OpenAPI schema with its documented errors, and ``/docs``.

- Every ``/api/`` operation documents the error answers any route may give (``{code,
  message}``): the property-based API tests check that no other status code is ever returned.
- ``/docs`` is Swagger UI served from the ``swagger_ui_bundle`` package (no CDN), under a
  Content Security Policy that allows only this origin's scripts plus the page's one inline
  initialisation script, pinned by its SHA-256.
"""

import base64
import hashlib
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "description": "Stable machine code"},
        "message": {"type": "string", "description": "French sentence for the user"},
    },
    "additionalProperties": True,
}

# The answers any API route may give besides its own: authentication, permission, unknown
# resource, request body stalled or too large (bodies.BodyGuard), conflict, invalid input,
# throttling.
COMMON_ERRORS: dict[int, str] = {
    401: "Authentification requise ou refusée",
    403: "Accès refusé",
    404: "Ressource introuvable",
    408: "Corps de la requête interrompu (plus de données reçues)",
    409: "Conflit avec l'état actuel",
    413: "Contenu trop volumineux",
    422: "Requête invalide",
    429: "Trop de tentatives",
}

DOCS_ASSETS = "/docs-assets"
DOCS_SCHEMA = "/docs/openapi.json"


def error_response(description: str) -> dict[str, Any]:
    """An error answer in the shared ``{code, message}`` shape (for a route's own errors)."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the shared error answers to every ``/api/`` operation (routes keep their own)."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, item in schema.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            for status, description in COMMON_ERRORS.items():
                # FastAPI's own 422 (HTTPValidationError) is replaced: ours is {code, message}
                if str(status) not in responses or status == 422:
                    responses[str(status)] = error_response(description)
    return schema


BEARER = "bearer"
_ROLE = re.compile(r":(?:mod|func|class|meth|attr|data|ref|obj):`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


def markdown(text: str) -> str:
    """A docstring as the Markdown Swagger UI renders: Sphinx roles and RST literals
    (``:func:`x```, ````x````) become code spans."""
    return _LITERAL.sub(r"`\1`", _ROLE.sub(r"`\1`", text))


def _needs_token(route: APIRoute) -> bool:
    """Whether a route authenticates its caller by bearer token (anywhere in its
    dependencies)."""
    from sisra.platform.deps import current_context

    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if dependant.call is current_context:
            return True
        pending.extend(dependant.dependencies)
    return False


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """The API routes, including those of routers included in the app (kept as routers by
    FastAPI, their paths already prefixed)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif (router := getattr(route, "original_router", None)) is not None:
            found += _api_routes(list(router.routes))
    return found


def document_security(schema: dict[str, Any], routes: list[Any]) -> dict[str, Any]:
    """Declare the bearer scheme (Swagger UI's « Authorize », generated clients) on every
    operation that reads the token; render descriptions as Markdown."""
    schema.setdefault("components", {})["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "Jeton d'accès de l'API v1 (Authorization: Bearer <jeton>).",
        }
    }
    secured = {
        (route.path_format, method.lower())
        for route in _api_routes(routes)
        if _needs_token(route)
        for method in route.methods or ()
    }
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if (path, method) in secured:
                operation["security"] = [{BEARER: []}]
            if isinstance(operation.get("description"), str):
                operation["description"] = markdown(operation["description"])
    return schema


def _csp_hash(html: str) -> str:
    inline = re.search(r"<script>(.*?)</script>", html, re.DOTALL)
    assert inline is not None, "Swagger UI's initialisation script moved"
    digest = hashlib.sha256(inline.group(1).encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def install(app: FastAPI) -> None:
    """The schema with documented errors at ``/openapi.json`` and Swagger UI at ``/docs``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = document_security(document_errors(schema), app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    page = get_swagger_ui_html(
        openapi_url=DOCS_SCHEMA,
        title=f"{app.title} — API",
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},  # no call to an outside validator
    )
    html = bytes(page.body).decode()
    csp = (
        f"default-src 'self'; script-src 'self' {_csp_hash(html)}; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'"
    )

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(html, headers={"Content-Security-Policy": csp})

    @app.get(DOCS_SCHEMA, include_in_schema=False)
    def docs_schema(request: Request) -> JSONResponse:
        # The packaged Swagger UI (4.x) only renders documents labelled OpenAPI 3.0; FastAPI's
        # schema is 3.1 and renders well once labelled so. /openapi.json stays the reference.
        # (request.app, not a closure over app: see app.ready)
        return JSONResponse({**request.app.openapi(), "openapi": "3.0.3"})

    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

"""What the FHIR routes share: JSON format negotiation, FHIR JSON responses with their
version headers, search bundles and paging, the search controls known or refused, ids."""

import json
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import Depends, Form, Query, Request
from fastapi.responses import Response

from sisra.platform.errors import NotFound, SisraError
from sisra.platform.fhir import codes, params, resources
from sisra.platform.fhir.params import MAX_COUNT, MAX_OFFSET, Page
from sisra.platform.settings import Settings

PREFIX = "/fhir/r4"

_JSON_FORMATS = {"json", "application/json", "application/fhir+json", "application/json+fhir"}
_ANY = {"*/*", "application/*"}


def base_url(settings: Settings) -> str:
    """The FHIR base from the configured public address (not from the request's Host)."""
    return f"{settings.public_url.rstrip('/')}{PREFIX}/"


def _accepted(request: Request) -> set[str]:
    header = request.headers.get("accept", "")
    return {part.split(";")[0].strip().lower() for part in header.split(",") if part.strip()}


def _not_acceptable(what: str) -> SisraError:
    return SisraError(
        f"Format de réponse non disponible : ce serveur répond en {what}.",
        code="format_not_supported",
        status=406,
    )


def json_format(request: Request, _format: str | None = Query(None, max_length=50)) -> None:
    """Content negotiation: FHIR JSON only (``_format`` or ``Accept``), else 406."""
    if _format is not None and _format.strip().lower() not in _JSON_FORMATS:
        raise _not_acceptable("JSON FHIR (_format=json)")
    accepted = _accepted(request)
    if accepted and not accepted & (_JSON_FORMATS | _ANY):
        raise _not_acceptable("JSON FHIR (application/fhir+json)")


Negotiated = Depends(json_format)


def fhir_json(body: dict[str, Any], status: int = 200, **headers: str) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False),
        status_code=status,
        media_type=f"{codes.MEDIA_TYPE}; charset=utf-8",
        headers=headers or None,
    )


def versioned(body: dict[str, Any], modified: datetime | None = None) -> dict[str, str]:
    """The headers of a read: ``ETag`` (weak, the ``meta.versionId``) and, when the time of
    the version is known, ``Last-Modified`` (FHIR RESTful API, « read »)."""
    vid = body.get("meta", {}).get("versionId")
    headers = {"ETag": f'W/"{vid}"'} if vid else {}
    if modified is not None:
        headers["Last-Modified"] = format_datetime(modified.astimezone(UTC), usegmt=True)
    return headers


def read_json(body: dict[str, Any], modified: datetime | None = None) -> Response:
    return fhir_json(body, 200, **versioned(body, modified))


def _page(count: int, offset: int) -> Page:
    return Page(count, offset)


Count = Annotated[int, Query(alias="_count", ge=0, le=MAX_COUNT)]
Offset = Annotated[int, Query(alias="_offset", ge=0, le=MAX_OFFSET)]
Text = Annotated[str | None, Query(max_length=200)]
Dates = Annotated[list[str] | None, Query(max_length=10)]


def _bundle(
    settings: Settings,
    kind: str,
    entries: list[dict[str, Any]],
    total: int,
    page: Page,
    used: list[tuple[str, str]],
    control: params.Control,
    warning: str | None = None,
) -> Response:
    base = base_url(settings)
    if control.count_only:  # _summary=count: the total alone
        entries, page, used = [], Page(0, 0), [*used, ("_summary", "count")]
    self_url, next_url = page.links(f"{base}{kind}", used, total)
    notes = "\n".join(w for w in (warning, control.warning()) if w) or None
    return fhir_json(resources.searchset(base, kind, entries, total, self_url, next_url, notes))


KNOWN = {
    "Patient": frozenset({"identifier", "family", "given", "birthdate", "gender", "_id"}),
    "Practitioner": frozenset({"identifier", "family", "given", "name", "_id"}),
    "DocumentReference": frozenset(
        {"patient", "patient.identifier", "date", "period", "type", "identifier", "_id"}
    ),
}
REFUSED = {
    "Patient": {"name": "utilisez family (nom de naissance ou d'usage) et given (premier prénom)."},
}


def search_control(kind: str) -> Any:
    """The dependency that checks a search's parameter names (URL, and form body of a POST
    search) and reads ``Prefer: handling`` and ``_summary``."""

    async def check(request: Request) -> params.Control:
        items = list(request.query_params.multi_items())
        if request.method == "POST":
            form_body(request)
            form = await request.form()
            items += [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        prefer = request.headers.get("prefer", "")
        return params.control(KNOWN[kind], items, prefer, REFUSED.get(kind))

    return Depends(check)


def _resource_id(value: str, error: NotFound) -> uuid.UUID:
    """The id of a read: anything that is not one of ours is simply not found (404)."""
    try:
        if len(value) not in (32, 36):
            raise ValueError(value)
        return uuid.UUID(value)
    except ValueError:
        raise error from None


def _maybe_id(value: str) -> uuid.UUID | None:
    try:
        return _resource_id(value.strip(), NotFound(""))
    except NotFound:
        return None


def form_body(request: Request) -> None:
    """FHIR's POST search takes a form body: anything else is refused (415), not read as an
    empty (too broad) search."""
    mime = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if mime != "application/x-www-form-urlencoded":
        raise SisraError(
            "Envoyez les paramètres de recherche en formulaire "
            "(Content-Type: application/x-www-form-urlencoded).",
            code="unsupported_media_type",
            status=415,
        )


FormText = Annotated[str | None, Form(max_length=200)]
FormDates = Annotated[list[str] | None, Form(max_length=10)]
FormCount = Annotated[int, Form(alias="_count", ge=0, le=MAX_COUNT)]
FormOffset = Annotated[int, Form(alias="_offset", ge=0, le=MAX_OFFSET)]

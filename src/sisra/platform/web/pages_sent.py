"""« Documents envoyés »: what one shared, with each recipient's delivery and read state,
paged (50) and searchable as « Documents reçus » (the words in the request body, never in
a URL: they may be patient traits)."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sisra.platform.audit import service as audit
from sisra.platform.deps import DbSession
from sisra.platform.documents import sent
from sisra.platform.web import saved_search
from sisra.platform.web.pages_record import fr_date, fr_datetime
from sisra.platform.web.routes import SESSION_COOKIE, check_csrf, page, web_context

router = APIRouter(include_in_schema=False)


def _sent_page(request: Request, session: DbSession, *, q: str = "", number: int = 1) -> Response:
    ctx, pro, csrf = web_context(request, session)
    q = q.strip()[:200]
    result = sent.list_sent(session, pro.id, q=q, page=number, fmt=fr_datetime)
    audit.record(
        session,
        ctx,
        "documents.sent_list",
        details={"web": True, "count": len(result.items), "search": bool(q), "page": result.page},
    )
    first = (result.page - 1) * sent.PAGE_SIZE + 1
    return page(
        request,
        "record/sent.html",
        {
            "pro": pro,
            "csrf": csrf,
            "q": q,
            "result": result,
            "items": [
                {
                    "item": item,
                    "sent_at": fr_datetime(item.sent_at),
                    "clinical_date": fr_date(item.clinical_date),
                    "patient_birth": fr_date(item.patient_birth),
                }
                for item in result.items
            ],
            "first": first,
            "last": first + len(result.items) - 1,
        },
    )


@router.get("/documents-envoyes", response_class=HTMLResponse)
def sent_documents(
    request: Request, session: DbSession, page: int = 1, recherche: str = ""
) -> Response:
    """A search is POSTed, then shown here by its opaque reference (« Back » works)."""
    if recherche:
        saved = saved_search.unseal(
            request.app.state.search_key, request.cookies.get(SESSION_COOKIE, ""), recherche
        )
        if saved is not None:
            number = str(saved.get("page", "1"))
            return _sent_page(
                request,
                session,
                q=str(saved.get("q", "")),
                number=int(number) if number.isdigit() else 1,
            )
    return _sent_page(request, session, number=page)


@router.post("/documents-envoyes")
def sent_search(
    request: Request,
    session: DbSession,
    csrf: str = Form(""),
    q: str = Form(""),
    page: str = Form("1"),
) -> Response:
    _ctx, _pro, expected = web_context(request, session)
    check_csrf(expected, csrf)
    ref = saved_search.seal(
        request.app.state.search_key,
        request.cookies.get(SESSION_COOKIE, ""),
        {"q": q[:200], "page": page},
    )
    return RedirectResponse(f"/documents-envoyes?recherche={ref}", status_code=303)

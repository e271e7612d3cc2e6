"""« Documents envoyés »: what one shared, with each recipient's delivery and read state,
paged (50) and searchable as « Documents reçus » (the words in the request body, never in
a URL: they may be patient traits)."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sisra.platform.audit import service as audit
from sisra.platform.deps import DbSession
from sisra.platform.documents import sent
from sisra.platform.web import kit, saved_search
from sisra.platform.web.formats import fr_date, fr_datetime, parse_range

router = APIRouter(include_in_schema=False)


def _sent_page(
    request: Request,
    session: DbSession,
    user: kit.WebUser,
    *,
    q: str = "",
    du: str = "",
    au: str = "",
    number: int = 1,
) -> Response:
    ctx, pro = user.ctx, user.pro
    q = q.strip()[:200]
    errors: list[str] = []
    days = parse_range(du, au, errors)
    result = (
        sent.list_sent(
            session, pro.id, q=q, start=days[0], end=days[1], page=number, fmt=fr_datetime
        )
        if days is not None
        else sent.SentPage([], 0, 1, 1)
    )
    audit.record(
        session,
        ctx,
        "documents.sent_list",
        details={"web": True, "count": len(result.items), "search": bool(q), "page": result.page},
    )
    first = (result.page - 1) * sent.PAGE_SIZE + 1
    return kit.render(
        request,
        user,
        "record/sent.html",
        {
            "q": q,
            "du": du.strip(),
            "au": au.strip(),
            "errors": errors,
            "inverted": days is None,
            "filtered": bool(q or du.strip() or au.strip()),
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
        422 if errors else 200,
    )


@router.get("/documents-envoyes", response_class=HTMLResponse)
def sent_documents(
    request: Request, session: DbSession, user: kit.LoggedIn, page: int = 1, recherche: str = ""
) -> Response:
    """A search is POSTed, then shown here by its opaque reference (« Back » works)."""
    if recherche:
        saved = saved_search.unseal(request.app.state.search_key, user.token, recherche)
        if saved is not None:
            number = str(saved.get("page", "1"))
            return _sent_page(
                request,
                session,
                user,
                q=str(saved.get("q", "")),
                du=str(saved.get("du", "")),
                au=str(saved.get("au", "")),
                number=int(number) if number.isdigit() else 1,
            )
    return _sent_page(request, session, user, number=page)


@router.post("/documents-envoyes")
def sent_search(
    request: Request,
    user: kit.LoggedIn,
    q: str = Form(""),
    du: str = Form(""),
    au: str = Form(""),
    page: str = Form("1"),
) -> Response:
    ref = saved_search.seal(
        request.app.state.search_key,
        user.token,
        {"q": q[:200], "du": du[:10], "au": au[:10], "page": page},
    )
    return RedirectResponse(f"/documents-envoyes?recherche={ref}", status_code=303)

"""« Télécharger MonSisra »: the installers per system, and the update check of MonSisra.

Public (no login: the user guide sends new users here before they have an account). The
files come from the operator's downloads directory, see :mod:`sisra.platform.downloads`.
"""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from sisra.platform.deps import AppSettings
from sisra.platform.downloads import SYSTEMS, available, find, version_key
from sisra.platform.errors import NotFound
from sisra.platform.web import kit

router = APIRouter()

PAGE = "/telecharger"


@router.get(PAGE, response_class=HTMLResponse, include_in_schema=False)
def download_page(request: Request, settings: AppSettings) -> HTMLResponse:
    offered = available(settings.effective_downloads_dir)
    systems = [(key, label, offered.get(key)) for key, label in SYSTEMS]
    return kit.render(request, None, "download.html", {"systems": systems})


@router.get(PAGE + "/{name}", include_in_schema=False)
def download_file(name: str, settings: AppSettings) -> FileResponse:
    installer = find(settings.effective_downloads_dir, name)
    if installer is None:
        raise NotFound(
            "Ce fichier n'est pas proposé au téléchargement : revenez à la page "
            "« Télécharger MonSisra ».",
            code="download_not_found",
        )
    return FileResponse(
        installer.path,
        filename=installer.name,
        media_type="application/octet-stream",
        headers={"X-Content-SHA256": installer.sha256},
    )


@router.get("/api/v1/platform", tags=["monsisra"])
def platform(settings: AppSettings) -> dict[str, str | int]:
    """Who runs this platform, as MonSisra shows it (« À propos »): its name, contact address,
    public address and the time zone times are shown in; and the largest document it takes
    (MonSisra's outbox checks a letter before sending it: a body refused mid-way is seen by
    the client as a lost connection, not as the refusal). Public: nothing here is secret."""
    return {
        "name": settings.platform_name,
        "contact_email": settings.contact_email,
        "public_url": settings.public_url.rstrip("/"),
        "timezone": settings.timezone,
        "max_document_bytes": settings.max_document_bytes,
    }


@router.get("/api/v1/monsisra/latest", tags=["monsisra"])
def latest(settings: AppSettings) -> dict[str, Any]:
    """The newest MonSisra per system (``null`` when none is offered), for update checks."""
    offered = available(settings.effective_downloads_dir)
    base = settings.public_url.rstrip("/")
    files: dict[str, dict[str, Any] | None] = {}
    for key, _label in SYSTEMS:
        item = offered.get(key)
        files[key] = (
            None
            if item is None
            else {
                "version": item.version,
                "name": item.name,
                "size": item.size,
                "sha256": item.sha256,
                "url": f"{base}{PAGE}/{item.name}",
            }
        )
    versions = [i.version for i in offered.values()]
    newest = max(versions, key=version_key) if versions else None
    return {"version": newest, "download_page": f"{base}{PAGE}", "files": files}

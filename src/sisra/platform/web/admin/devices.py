"""Admin pages: a professional's devices (MonSisra installations), and revoking one."""

import uuid
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from sisra.platform.auth import service as auth
from sisra.platform.deps import DbSession
from sisra.platform.directory import service as directory
from sisra.platform.errors import NotFound
from sisra.platform.web import kit
from sisra.platform.web.formats import fr_datetime

router = APIRouter(prefix="/admin", include_in_schema=False)

_METHODS = {"otp": "Code par e-mail", "cps": "Carte CPS"}


@router.get("/appareils", response_class=HTMLResponse)
def devices_page(
    request: Request, user: kit.Admin, session: DbSession, login: str = "", notice: str = ""
) -> HTMLResponse:
    context: dict[str, Any] = {
        "login": login,
        "target": None,
        "devices": [],
        "error": None,
        "notice": "L'appareil a été révoqué." if notice == "revoque" else "",
    }
    if login.strip():
        try:
            target = directory.by_login(session, login.strip())
        except NotFound as exc:
            context["error"] = exc.message
            return kit.render(request, user, "admin/devices.html", context, status=404)
        context["target"] = target
        context["devices"] = [
            {
                "id": d.id,
                "name": d.name,
                "method": _METHODS.get(d.auth_method, d.auth_method),
                "strong": fr_datetime(d.strong_auth_at, "—"),
                "seen": fr_datetime(d.last_seen_at, "—"),
                "revoked": d.revoked_at is not None,
                "state": f"Révoqué le {fr_datetime(d.revoked_at)}" if d.revoked_at else "Actif",
            }
            for d in auth.list_devices(session, target.id)
        ]
    return kit.render(request, user, "admin/devices.html", context)


@router.post("/appareils/{device_id}/revoquer")
def revoke_device_submit(
    user: kit.Admin, session: DbSession, device_id: uuid.UUID, login: str = Form("")
) -> Response:
    auth.revoke_device(session, user.ctx, device_id)
    return kit.redirect(f"/admin/appareils?login={quote(login)}&notice=revoque")

import uuid
from dataclasses import asdict

from fastapi import APIRouter, status
from fastapi.responses import Response

from sisra.platform.auth import service
from sisra.platform.auth.schemas import DeviceOut, LoginIn, RefreshIn, TokensOut
from sisra.platform.deps import Anonymous, AppSettings, Context, DbSession

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/login", response_model=TokensOut)
def login(session: DbSession, ctx: Anonymous, settings: AppSettings, body: LoginIn) -> TokensOut:
    """Portal identifier + password (throttled per account and per IP)."""
    pair = service.login_password(
        session, settings, ctx, body.identifier, body.password, body.device_name
    )
    return TokensOut(**asdict(pair))


@router.post("/refresh", response_model=TokensOut)
def refresh(
    session: DbSession, ctx: Anonymous, settings: AppSettings, body: RefreshIn
) -> TokensOut:
    """Rotate the refresh token. Reusing an old one revokes the device."""
    return TokensOut(**asdict(service.refresh(session, settings, ctx, body.refresh_token)))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(session: DbSession, ctx: Context) -> Response:
    assert ctx.actor is not None and ctx.actor.device_id is not None
    service.logout(session, ctx, ctx.actor.device_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/devices", response_model=list[DeviceOut])
def devices(session: DbSession, ctx: Context) -> list[DeviceOut]:
    assert ctx.actor is not None
    return [DeviceOut.model_validate(d) for d in service.list_devices(session, ctx.actor.id)]


@router.delete("/devices/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke(session: DbSession, ctx: Context, device_id: uuid.UUID) -> Response:
    service.revoke_device(session, ctx, device_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

import base64
import uuid
from dataclasses import asdict

from fastapi import APIRouter, Request, status
from fastapi.responses import Response

from sisra.platform.auth import cps, known_devices, otp, psc, service, web
from sisra.platform.auth.schemas import (
    AuthMethodsOut,
    CpsChallengeOut,
    CpsVerifyIn,
    DeviceOut,
    LoginIn,
    OtpFlowOut,
    OtpResendIn,
    OtpVerifyIn,
    PscStartIn,
    PscStartOut,
    PscTokenIn,
    RefreshIn,
    TokensOut,
    WebTicketIn,
    WebTicketOut,
)
from sisra.platform.deps import Anonymous, AppSettings, Context, DbSession
from sisra.platform.errors import Forbidden

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.get("/methods", response_model=AuthMethodsOut)
def methods(settings: AppSettings) -> AuthMethodsOut:
    """The strong authentications offered here: the CPS card and the code by e-mail always,
    Pro Santé Connect (e-CPS) when the platform has its client. Public: MonSisra asks before
    anyone has logged in, to offer only what will work."""
    return AuthMethodsOut(cps=True, code=True, psc=settings.psc_enabled)


@router.post("/login", response_model=OtpFlowOut)
def login(session: DbSession, ctx: Anonymous, settings: AppSettings, body: LoginIn) -> OtpFlowOut:
    """Step 1 of the two-step login: identifier + portal password → a code sent by e-mail.

    Never returns tokens. Throttled per account and per IP; a MonSisra device giving its
    current ``refresh_token`` is throttled in its own counter instead, which strangers'
    failures on the account do not touch."""
    device = known_devices.counter(session, body.identifier, refresh_token=body.refresh_token)
    flow = otp.start(session, settings, ctx, body.identifier, body.password, known_device=device)
    return OtpFlowOut(**asdict(flow))


@router.post("/otp/resend", response_model=OtpFlowOut)
def otp_resend(
    session: DbSession, ctx: Anonymous, settings: AppSettings, body: OtpResendIn
) -> OtpFlowOut:
    """Send a new code for the same login (after a cool-down); the previous code stops working."""
    return OtpFlowOut(**asdict(otp.resend(session, settings, ctx, body.flow_id)))


@router.post("/otp/verify", response_model=TokensOut)
def otp_verify(
    session: DbSession, ctx: Anonymous, settings: AppSettings, body: OtpVerifyIn
) -> TokensOut:
    """Step 2: the code → a device enrolled (or renewed) and its tokens."""
    pro = otp.verify(session, settings, ctx, body.flow_id, body.code)
    pair = service.enrol(session, settings, ctx, pro, "otp", body.device_name, body.device_id)
    return TokensOut(**asdict(pair))


@router.post("/cps/challenge", response_model=CpsChallengeOut)
def cps_challenge(session: DbSession, settings: AppSettings) -> CpsChallengeOut:
    """A single-use random challenge for the CPS card to sign (valid 2 minutes)."""
    row, challenge = cps.issue_challenge(session, settings)
    return CpsChallengeOut(
        challenge_id=row.id,
        challenge=base64.b64encode(challenge).decode(),
        expires_at=row.expires_at,
    )


@router.post("/cps/verify", response_model=TokensOut)
def cps_verify(
    request: Request, session: DbSession, ctx: Anonymous, settings: AppSettings, body: CpsVerifyIn
) -> TokensOut:
    """The card's certificate and signature → a device enrolled (or renewed) and its tokens."""
    store: cps.TrustStore = request.app.state.trust_store
    pro = cps.verify(
        session,
        settings,
        ctx,
        store,
        body.challenge_id,
        body.certificate,
        body.chain,
        body.signature,
    )
    pair = service.enrol(session, settings, ctx, pro, "cps", body.device_name, body.device_id)
    return TokensOut(**asdict(pair))


@router.post("/psc/start", response_model=PscStartOut)
def psc_start(
    session: DbSession, ctx: Anonymous, settings: AppSettings, body: PscStartIn
) -> PscStartOut:
    """MonSisra starts a Pro Santé Connect (e-CPS) login: the address to open in the system
    browser. The platform's callback then sends the browser to ``redirect_uri`` (loopback
    only) with a one-time ``code`` and the given ``state``. 409 ``psc_disabled`` when the
    platform has no Pro Santé Connect client."""
    started = psc.start_app(
        session, settings, ctx, body.redirect_uri, body.code_challenge, body.state
    )
    return PscStartOut(**asdict(started))


@router.post("/psc/token", response_model=TokensOut)
def psc_token(
    session: DbSession, ctx: Anonymous, settings: AppSettings, body: PscTokenIn
) -> TokensOut:
    """The one-time code and MonSisra's PKCE verifier → a device enrolled (or renewed) and its
    tokens. Single use; a code redeemed twice, or with another verifier, is refused."""
    pro = psc.redeem(session, settings, ctx, body.flow_id, body.code, body.code_verifier)
    pair = service.enrol(session, settings, ctx, pro, "psc", body.device_name, body.device_id)
    return TokensOut(**asdict(pair))


@router.post("/refresh", response_model=TokensOut)
def refresh(
    session: DbSession, ctx: Anonymous, settings: AppSettings, body: RefreshIn
) -> TokensOut:
    """Rotate the refresh token. Reusing an old one revokes the device; an old strong
    authentication answers ``strong_auth_required``."""
    return TokensOut(**asdict(service.refresh(session, settings, ctx, body.refresh_token)))


@router.post("/web-ticket", response_model=WebTicketOut)
def web_ticket(
    session: DbSession, ctx: Context, settings: AppSettings, body: WebTicketIn
) -> WebTicketOut:
    """A one-time link (60 s) that opens ``target`` in the browser, already logged in."""
    ticket, expires = web.create_ticket(session, settings, ctx, body.target)
    return WebTicketOut(url=f"{settings.public_url}/web/ticket/{ticket}", expires_at=expires)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(session: DbSession, ctx: Context) -> Response:
    assert ctx.actor is not None and ctx.actor.device_id is not None
    service.logout(session, ctx, ctx.actor.device_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/devices", response_model=list[DeviceOut])
def devices(session: DbSession, ctx: Context) -> list[DeviceOut]:
    """The caller's devices (computers with MonSisra, browsers)."""
    assert ctx.actor is not None
    return [DeviceOut.model_validate(d) for d in service.list_devices(session, ctx.actor.id)]


@router.get("/devices/of/{professional_id}", response_model=list[DeviceOut])
def devices_of(session: DbSession, ctx: Context, professional_id: uuid.UUID) -> list[DeviceOut]:
    """Administrators: a professional's devices."""
    assert ctx.actor is not None
    if not ctx.actor.is_admin and ctx.actor.id != professional_id:
        raise Forbidden("Réservé aux administrateurs.", code="admin_only")
    return [DeviceOut.model_validate(d) for d in service.list_devices(session, professional_id)]


@router.delete("/devices/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke(session: DbSession, ctx: Context, device_id: uuid.UUID) -> Response:
    """Revoke a device (own, or any for an administrator): its tokens stop at once."""
    service.revoke_device(session, ctx, device_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""Pro Santé Connect (e-CPS) logins: the third strong authentication, beside the card and
the e-mail code.

OpenID Connect authorization code flow with PKCE (S256), ``state`` and ``nonce``. The platform
is the client registered with the provider; its callback (:data:`psc_provider.CALLBACK_PATH`)
ends two kinds of flow:

- ``web``: started from the login page; bound to the browser by a cookie (hashed here), so a
  callback URL carried to another browser opens nothing; ends in a web session.
- ``app``: started by MonSisra (RFC 8252, native apps): MonSisra opens the system browser and
  listens on a loopback address. The callback hands MonSisra, on that address, a one-time code
  (2 minutes) that only MonSisra can redeem, with the PKCE verifier whose S256 challenge it
  gave when starting; redeeming enrols or renews the device like the card and the code do.

Every ``state`` and app code is spent by one conditional ``UPDATE`` in a transaction of its
own, even when the attempt then fails: a replay finds it spent. Refusals are audited.
"""

import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from sisra.platform.audit import service as audit
from sisra.platform.auth import psc_provider, throttle
from sisra.platform.auth.psc_provider import PscRefused
from sisra.platform.auth.tokens import hash_token
from sisra.platform.context import Actor, RequestContext
from sisra.platform.db import side_transaction
from sisra.platform.errors import Invalid, SisraError, TooManyAttempts
from sisra.platform.models import Professional, PscFlow, utcnow
from sisra.platform.settings import Settings

_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url(SHA-256), RFC 7636 section 4.2
_APP_STATE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


def disabled() -> SisraError:
    return SisraError(
        "La connexion avec Pro Santé Connect (e-CPS) n'est pas activée sur cette plateforme. "
        "Connectez-vous avec votre carte CPS ou avec votre identifiant et un code reçu par "
        "e-mail.",
        code="psc_disabled",
        status=409,
    )


def require_enabled(settings: Settings) -> None:
    if not settings.psc_enabled:
        raise disabled()


def _counters(ctx: RequestContext) -> list[throttle.Counter]:
    # per source, like every other login step: an identity from the provider cannot be guessed,
    # but refused identities, spent states and wrong app codes from one source add up. A
    # counter of its own: wrong passwords from the same address never refuse an e-CPS login
    return [throttle.Counter(f"psc:{ctx.ip}", "ip")] if ctx.ip else []


def check_loopback(uri: str) -> str:
    """RFC 8252 section 7.3: ``http://127.0.0.1:<port>/<path>`` (or ``[::1]``), nothing else,
    so an app flow can never redirect its code anywhere but to the computer that asked."""
    try:
        parts = urlsplit(uri)
        ok = (
            len(uri) <= 200
            and parts.scheme == "http"
            and parts.hostname in {"127.0.0.1", "::1"}
            and parts.username is None
            and parts.port is not None
            and not parts.query
            and not parts.fragment
        )
    except ValueError:  # a port out of range
        ok = False
    if not ok:
        raise Invalid(
            "Adresse de retour invalide : MonSisra doit écouter sur http://127.0.0.1:<port>/.",
            code="invalid_redirect_uri",
        )
    return uri


@dataclass(frozen=True)
class Started:
    flow_id: uuid.UUID
    authorization_url: str
    expires_at: datetime


def _new_flow(session: Session, settings: Settings, purpose: str, **fields: object) -> Started:
    require_enabled(settings)
    now = utcnow()
    # flows long finished or abandoned go: anonymous starts must not pile up rows forever
    session.execute(delete(PscFlow).where(PscFlow.expires_at < now - timedelta(days=1)))
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters, within RFC 7636's 43..128
    url = psc_provider.authorization_url(settings, state, nonce, verifier)
    flow = PscFlow(
        id=uuid.uuid4(),
        state_hash=hash_token(state),
        purpose=purpose,
        nonce=nonce,
        code_verifier=verifier,
        expires_at=now + timedelta(seconds=settings.psc_flow_ttl_s),
        **fields,
    )
    session.add(flow)
    session.flush()
    return Started(flow.id, url, flow.expires_at)


def start_web(
    session: Session, settings: Settings, ctx: RequestContext, target: str
) -> tuple[Started, str]:
    """A browser login: the provider's address and the cookie value binding the browser."""
    browser = secrets.token_urlsafe(32)
    started = _new_flow(
        session, settings, "web", next_target=target, browser_hash=hash_token(browser)
    )
    audit.record(
        session, ctx, "auth.psc.start", details={"purpose": "web", "flow": str(started.flow_id)}
    )
    return started, browser


def start_app(
    session: Session,
    settings: Settings,
    ctx: RequestContext,
    redirect_uri: str,
    code_challenge: str,
    app_state: str,
) -> Started:
    """MonSisra's login: it opens the returned address in the system browser."""
    require_enabled(settings)
    check_loopback(redirect_uri)
    if not _CHALLENGE.match(code_challenge) or not _APP_STATE.match(app_state):
        raise Invalid(
            "Demande de connexion invalide (défi PKCE S256 ou état attendu).",
            code="invalid_psc_request",
        )
    started = _new_flow(
        session,
        settings,
        "app",
        app_redirect_uri=redirect_uri,
        app_state=app_state,
        app_challenge=code_challenge,
    )
    audit.record(
        session, ctx, "auth.psc.start", details={"purpose": "app", "flow": str(started.flow_id)}
    )
    return started


@dataclass(frozen=True)
class Callback:
    """Where the browser goes next: a web session for ``pro``, or MonSisra's loopback."""

    purpose: str
    pro: Professional | None
    redirect: str


class CallbackRefused(Exception):
    """A refused callback: the error, and MonSisra's loopback to tell (app flows)."""

    def __init__(self, error: SisraError, app_redirect: str | None) -> None:
        super().__init__(error.message)
        self.error, self.app_redirect = error, app_redirect


def _to_app(flow: PscFlow, **params: str) -> str:
    assert flow.app_redirect_uri is not None and flow.app_state is not None
    return f"{flow.app_redirect_uri}?{urlencode({**params, 'state': flow.app_state})}"


def _claim_flow(session: Session, state: str, now: datetime) -> PscFlow:
    """Mark the flow ``state`` names as used, in its own transaction so that a replay racing
    this one finds it spent; an unknown or already used state is refused."""
    with side_transaction(session) as side:
        claimed = side.execute(
            update(PscFlow)
            .where(PscFlow.state_hash == hash_token(state or "-"), PscFlow.used_at.is_(None))
            .values(used_at=now)
            .returning(PscFlow.id)
            .execution_options(synchronize_session=False)
        ).first()
    if claimed is None:
        spent = session.scalar(select(PscFlow.id).where(PscFlow.state_hash == hash_token(state)))
        raise PscRefused(
            "state_replayed" if spent else "state_unknown",
            "Cette réponse de Pro Santé Connect a déjà servi ou ne correspond à aucune "
            "connexion en cours. Recommencez la connexion.",
        )
    flow = session.get(PscFlow, claimed[0])
    assert flow is not None
    return flow


def _check_return(
    flow: PscFlow,
    now: datetime,
    *,
    browser: str | None,
    error: str,
    code: str,
    details: dict[str, object],
) -> None:
    """The flow is still open, came back to the browser that started it (web) and the
    provider sent a code rather than an error."""
    if flow.expires_at <= now:
        raise PscRefused("flow_expired", "Le délai de connexion est dépassé : recommencez.")
    if flow.purpose == "web" and (
        not browser
        or not flow.browser_hash
        or not hmac.compare_digest(hash_token(browser), flow.browser_hash)
    ):
        raise PscRefused(
            "browser_mismatch",
            "Cette connexion a été commencée dans un autre navigateur. Recommencez-la "
            "depuis cette page.",
        )
    if error or not code:
        details["provider_error"] = (error or "no_code")[:50]
        raise PscRefused(
            "cancelled" if error == "access_denied" else "provider_error",
            "La connexion avec Pro Santé Connect n'a pas abouti (annulée ou refusée par "
            "Pro Santé Connect). Recommencez, ou utilisez votre carte CPS ou un code reçu "
            "par e-mail.",
        )


def _identify(
    session: Session, settings: Settings, flow: PscFlow, code: str, details: dict[str, object]
) -> Professional:
    """Redeem the code, check the provider's identity and find the active professional of its
    national id in the directory."""
    tokens = psc_provider.exchange(settings, code, flow.code_verifier)
    # the flow keeps its end, not its start: the start is that end less the trip's time
    started = flow.expires_at - timedelta(seconds=settings.psc_flow_ttl_s)
    id_claims = psc_provider.id_token_claims(settings, tokens["id_token"], flow.nonce, started)
    info = psc_provider.userinfo(settings, tokens["access_token"])
    if info.get("sub") is not None and info.get("sub") != id_claims.get("sub"):
        # OpenID Connect Core 1.0, 5.3.2: the userinfo must be about the ID token's subject
        raise psc_provider.bad_identity("subject_mismatch")
    nid = psc_provider.national_id(id_claims, info)
    details["national_id"] = nid or ""
    details["acr"] = str(id_claims.get("acr", ""))[:50]
    pro = (
        session.scalar(select(Professional).where(Professional.national_id == nid)) if nid else None
    )
    if pro is None or not pro.active:
        raise PscRefused(
            "unknown_professional" if pro is None else "account_disabled",
            "Pro Santé Connect vous a bien identifié(e), mais vous n'êtes pas inscrit(e) "
            f"dans l'annuaire Sisra (identifiant national {nid or 'absent'}). Contactez "
            "votre administrateur Sisra."
            if pro is None
            else "Votre compte Sisra est désactivé. Contactez votre administrateur Sisra.",
        )
    return pro


def callback(
    session: Session,
    settings: Settings,
    ctx: RequestContext,
    *,
    state: str,
    code: str,
    error: str,
    browser: str | None,
) -> Callback:
    """The provider sent the browser back: check everything, then name the professional."""
    require_enabled(settings)
    details: dict[str, object] = {}
    flow: PscFlow | None = None
    slot: throttle.Reservation | None = None

    def refuse(exc: SisraError) -> CallbackRefused:
        if slot is not None:
            slot.failed(session, settings)
        audit.record(
            session,
            ctx,
            "auth.psc.login",
            outcome="refused",
            details={**details, "reason": exc.code},
            keep_on_failure=True,
        )
        app = None
        if flow is not None and flow.purpose == "app":
            app = _to_app(flow, error="access_denied", error_description=exc.message)
        return CallbackRefused(exc, app)

    try:
        slot = throttle.reserve(session, settings, _counters(ctx))
    except TooManyAttempts as exc:
        raise refuse(exc) from None
    now = utcnow()
    # every refusal below is audited, counted against the source and told to MonSisra (app)
    try:
        flow = _claim_flow(session, state, now)
        details.update(flow=str(flow.id), purpose=flow.purpose)
        _check_return(flow, now, browser=browser, error=error, code=code, details=details)
        pro = _identify(session, settings, flow, code, details)
    except SisraError as exc:
        raise refuse(exc) from None
    slot.succeeded(session, settings)
    audit.record(session, ctx.with_actor(Actor.of(pro)), "auth.psc.login", details=details)
    flow.professional_id = pro.id
    if flow.purpose == "web":
        return Callback("web", pro, flow.next_target or "/accueil")
    app_code = secrets.token_urlsafe(32)
    flow.app_code_hash = hash_token(app_code)
    flow.app_code_expires_at = now + timedelta(seconds=settings.psc_app_code_ttl_s)
    return Callback("app", pro, _to_app(flow, code=app_code))


def redeem(
    session: Session,
    settings: Settings,
    ctx: RequestContext,
    flow_id: uuid.UUID,
    code: str,
    verifier: str,
) -> Professional:
    """MonSisra's one-time code and its PKCE verifier → the professional (then tokens)."""
    require_enabled(settings)
    details: dict[str, object] = {"flow": str(flow_id)}
    slot: throttle.Reservation | None = None

    def refuse(reason: str, message: str) -> SisraError:
        if slot is not None:
            slot.failed(session, settings)
        audit.record(
            session,
            ctx,
            "auth.psc.redeem",
            outcome="refused",
            details={**details, "reason": f"psc_{reason}"},
            keep_on_failure=True,
        )
        return PscRefused(reason, message)

    try:
        slot = throttle.reserve(session, settings, _counters(ctx))
    except TooManyAttempts as exc:
        audit.record(
            session,
            ctx,
            "auth.psc.redeem",
            outcome="refused",
            details={**details, "reason": "throttled"},
            keep_on_failure=True,
        )
        raise exc from None
    now = utcnow()
    key = hash_token(code)
    with side_transaction(session) as side:
        claimed = side.execute(
            update(PscFlow)
            .where(
                PscFlow.id == flow_id,
                PscFlow.purpose == "app",
                PscFlow.app_code_hash == key,
                PscFlow.app_code_used_at.is_(None),
            )
            .values(app_code_used_at=now)
            .returning(PscFlow.professional_id, PscFlow.app_code_expires_at, PscFlow.app_challenge)
            .execution_options(synchronize_session=False)
        ).first()
    if claimed is None:
        spent = session.scalar(
            select(PscFlow.id).where(PscFlow.id == flow_id, PscFlow.app_code_hash == key)
        )
        raise refuse(
            "code_replayed" if spent else "code_invalid",
            "Ce code de connexion Pro Santé Connect a déjà servi."
            if spent
            else "Code de connexion Pro Santé Connect invalide : recommencez la connexion.",
        )
    pro_id, expires_at, challenge = claimed
    if expires_at is None or expires_at <= now:
        raise refuse("code_expired", "Le code de connexion a expiré : recommencez la connexion.")
    if not challenge or not hmac.compare_digest(psc_provider.s256(verifier), challenge):
        raise refuse(
            "verifier_mismatch",
            "Ce code de connexion a été demandé par une autre application : recommencez la "
            "connexion depuis MonSisra.",
        )
    pro = session.get(Professional, pro_id)
    if pro is None or not pro.active:
        raise refuse("account_disabled", "Votre compte Sisra est désactivé.")
    slot.succeeded(session, settings)
    audit.record(session, ctx.with_actor(Actor.of(pro)), "auth.psc.redeem", details=details)
    return pro

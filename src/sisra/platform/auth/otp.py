"""Two-step login (« connexion en deux étapes »): password, then a code sent by e-mail.

The code is 6 digits, single use, valid ``otp_ttl_minutes``, with ``otp_max_attempts`` tries;
it can be sent again after ``otp_resend_cooldown_s``. Only its HMAC is stored, keyed by the
flow id, so a database reader learns nothing usable. Wrong codes also count in the login
throttle (per account and source, per source; or the known device's own counter when a known
device started the flow). Every try, send and use is claimed by one
conditional ``UPDATE`` (never read-then-write), so parallel requests cannot exceed a limit.
"""

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sisra.platform.audit import service as audit
from sisra.platform.auth import passwords, throttle
from sisra.platform.auth.mailer import MailError, send_mail
from sisra.platform.context import Actor, RequestContext
from sisra.platform.db import side_transaction
from sisra.platform.errors import NotAuthenticated, SisraError, TooManyAttempts
from sisra.platform.models import LoginFlow, Professional, utcnow
from sisra.platform.settings import Settings

MAX_SENDS = 5


@dataclass(frozen=True)
class FlowStarted:
    flow_id: uuid.UUID
    expires_at: datetime
    email_hint: str
    resend_after_s: int


def _code_hash(flow_id: uuid.UUID, code: str) -> str:
    return hmac.new(flow_id.bytes, code.encode(), hashlib.sha256).hexdigest()


def mask_email(email: str) -> str:
    """« e•••••@demo.sisra.test »: enough for the user to know where to look."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}{'•' * max(3, len(local) - 1)}@{domain}"


def _bad_credentials() -> NotAuthenticated:
    return NotAuthenticated(
        "Identifiant ou mot de passe incorrect. Vérifiez votre saisie ; après plusieurs échecs "
        "la connexion est suspendue quelques minutes.",
        code="invalid_credentials",
    )


def _send_code(settings: Settings, pro: Professional, code: str) -> None:
    body = (
        f"Bonjour {pro.display_name},\n\n"
        f"Votre code de connexion Sisra est : {code}\n\n"
        f"Il est valable {settings.otp_ttl_minutes} minutes et ne sert qu'une fois.\n"
        "Si vous n'êtes pas à l'origine de cette demande, ne communiquez ce code à personne "
        "et changez votre mot de passe : connectez-vous, puis « Changer mon mot de passe » "
        f"({settings.public_url}/mon-compte/mot-de-passe).\n\n— Sisra\n"
    )
    try:
        send_mail(settings, pro.email, f"Votre code de connexion Sisra : {code}", body)
    except MailError as exc:
        raise SisraError(
            "Le code n'a pas pu être envoyé par e-mail. Réessayez dans quelques minutes ; si le "
            "problème persiste, contactez l'assistance.",
            code="mail_unavailable",
            status=503,
        ) from exc


def start(
    session: Session,
    settings: Settings,
    ctx: RequestContext,
    login: str,
    password: str,
    purpose: str = "device",
    known_device: str | None = None,
) -> FlowStarted:
    """Check identifier + portal password, then e-mail a code. Never returns tokens.

    The attempt is counted before the password is checked (:mod:`throttle`): in the known
    device's own counter when ``known_device`` is given (:mod:`known_devices`), else in the
    per account and per source counters. The flow remembers it for the code's tries."""
    login = login.strip().lower()
    counters = throttle.password_counters(login, ctx.ip, known_device)
    known = {"known_device": True} if known_device else {}
    try:
        slot = throttle.reserve(session, settings, counters)
    except TooManyAttempts:
        audit.record(
            session,
            ctx,
            "auth.login",
            outcome="throttled",
            details={"login": login, **known},
            keep_on_failure=True,
        )
        raise
    pro = session.scalar(select(Professional).where(func.lower(Professional.login) == login))
    ok = passwords.verify_password(pro.password_hash if pro else None, password)
    if not ok or pro is None or not pro.active:
        slot.failed(session, settings)
        audit.record(
            session,
            ctx,
            "auth.login",
            outcome="refused",
            details={
                "login": login,
                "step": "password",
                "reason": "inactive" if pro and ok else "bad_credentials",
                **known,
            },
            keep_on_failure=True,
        )
        raise _bad_credentials()
    slot.succeeded(session, settings)
    now = utcnow()
    flow = LoginFlow(
        id=uuid.uuid4(),
        professional_id=pro.id,
        purpose=purpose,
        code_hash="",
        expires_at=now + timedelta(minutes=settings.otp_ttl_minutes),
        attempts=0,
        sends=1,
        last_sent_at=now,
        known_device=known_device,
    )
    code = f"{secrets.randbelow(1_000_000):06d}"
    flow.code_hash = _code_hash(flow.id, code)
    session.add(flow)
    session.flush()
    _send_code(settings, pro, code)
    audit.record(
        session, ctx.with_actor(Actor.of(pro)), "auth.otp_sent", details={"flow": str(flow.id)}
    )
    return FlowStarted(
        flow.id, flow.expires_at, mask_email(pro.email), settings.otp_resend_cooldown_s
    )


def _flow(session: Session, flow_id: uuid.UUID) -> LoginFlow:
    flow = session.get(LoginFlow, flow_id)
    if flow is None:
        raise NotAuthenticated(
            "Cette demande de connexion est inconnue : recommencez depuis l'identifiant.",
            code="otp_flow_unknown",
        )
    return flow


def resend(
    session: Session, settings: Settings, ctx: RequestContext, flow_id: uuid.UUID
) -> FlowStarted:
    """A new code for the same flow, after the cool-down; the old code stops working.

    One conditional ``UPDATE`` takes the send (cool-down, send limit, flow still open), in a
    transaction of its own, so parallel requests cannot send more codes than allowed."""
    flow = _flow(session, flow_id)
    pro = session.get(Professional, flow.professional_id)
    assert pro is not None
    now = utcnow()
    code = f"{secrets.randbelow(1_000_000):06d}"
    with side_transaction(session) as side:
        sent = side.execute(
            update(LoginFlow)
            .where(
                LoginFlow.id == flow.id,
                LoginFlow.used_at.is_(None),
                LoginFlow.expires_at > now,
                LoginFlow.attempts < settings.otp_max_attempts,
                LoginFlow.sends < MAX_SENDS,
                LoginFlow.last_sent_at <= now - timedelta(seconds=settings.otp_resend_cooldown_s),
            )
            .values(
                code_hash=_code_hash(flow.id, code),
                sends=LoginFlow.sends + 1,
                last_sent_at=now,
                expires_at=now + timedelta(minutes=settings.otp_ttl_minutes),
            )
            .returning(LoginFlow.sends, LoginFlow.expires_at)
            .execution_options(synchronize_session=False)
        ).first()
    if sent is None:
        raise _resend_refusal(session, settings, flow.id, now)
    _send_code(settings, pro, code)
    audit.record(
        session,
        ctx.with_actor(Actor.of(pro)),
        "auth.otp_sent",
        details={"flow": str(flow.id), "resend": int(sent[0])},
    )
    return FlowStarted(flow.id, sent[1], mask_email(pro.email), settings.otp_resend_cooldown_s)


def _fresh(session: Session, flow_id: uuid.UUID) -> LoginFlow:
    flow = session.scalar(
        select(LoginFlow).where(LoginFlow.id == flow_id).execution_options(populate_existing=True)
    )
    assert flow is not None
    return flow


def _resend_refusal(
    session: Session, settings: Settings, flow_id: uuid.UUID, now: datetime
) -> SisraError:
    flow = _fresh(session, flow_id)
    if (
        flow.used_at is not None
        or flow.expires_at <= now
        or flow.attempts >= settings.otp_max_attempts
    ):
        return NotAuthenticated(
            "Cette demande de connexion n'est plus valable : recommencez depuis l'identifiant.",
            code="otp_expired",
        )
    if flow.sends >= MAX_SENDS:
        return TooManyAttempts(
            "Trop de codes demandés : recommencez depuis l'identifiant.", code="otp_resend_limit"
        )
    wait = max(settings.otp_resend_cooldown_s - int((now - flow.last_sent_at).total_seconds()), 1)
    return TooManyAttempts(
        f"Patientez {wait} secondes avant de demander un nouveau code.",
        code="otp_resend_too_soon",
        extra={"retry_after_s": wait},
    )


def verify(
    session: Session, settings: Settings, ctx: RequestContext, flow_id: uuid.UUID, code: str
) -> Professional:
    """Check the code; the flow is consumed on success. Returns the professional.

    The try is counted (on the flow and in the login throttle) before the code is compared,
    and the flow is consumed by a conditional ``UPDATE``: of parallel requests, at most
    ``otp_max_attempts`` are judged and at most one succeeds."""
    flow = _flow(session, flow_id)
    pro = session.get(Professional, flow.professional_id)
    assert pro is not None
    actx = ctx.with_actor(Actor.of(pro))
    now = utcnow()

    def refuse(reason: str, error: SisraError) -> SisraError:
        audit.record(
            session,
            actx,
            "auth.otp_verify",
            outcome="refused",
            details={"flow": str(flow_id), "reason": reason},
            keep_on_failure=True,
        )
        return error

    try:
        slot = throttle.reserve(
            session,
            settings,
            throttle.code_counters(pro.login, ctx.ip, flow.known_device),
            flow_id=flow_id,
            max_tries=settings.otp_max_attempts,
        )
    except TooManyAttempts as exc:
        raise refuse("throttled", exc) from None
    if "flow" not in slot.counts:
        raise _flow_refusal(session, settings, flow_id, now, refuse)
    if not pro.active:
        slot.failed(session, settings)
        raise refuse(
            "inactive", NotAuthenticated("Ce compte est désactivé.", code="account_disabled")
        )
    clean = "".join(ch for ch in code if ch.isdigit())
    current = _fresh(session, flow_id)
    if len(clean) != 6 or not hmac.compare_digest(_code_hash(flow_id, clean), current.code_hash):
        slot.failed(session, settings)
        left = settings.otp_max_attempts - slot.counts["flow"]
        msg = "Code incorrect. " + (
            f"Il vous reste {left} essai{'s' if left > 1 else ''}."
            if left > 0
            else "Recommencez la connexion pour recevoir un nouveau code."
        )
        raise refuse(
            "wrong_code",
            NotAuthenticated(msg, code="otp_invalid", extra={"tries_left": max(left, 0)}),
        )
    # right code: slots back and this source forgiven first (lock order: counters, then flow)
    slot.succeeded(
        session, settings, forgive=throttle.own_counter(pro.login, ctx.ip, flow.known_device)
    )
    consumed = session.execute(
        update(LoginFlow)
        .where(LoginFlow.id == flow_id, LoginFlow.used_at.is_(None))
        .values(used_at=now)
        .returning(LoginFlow.id)
        .execution_options(synchronize_session=False)
    ).first()
    if consumed is None:  # a parallel request with the same code won
        raise refuse("replayed", _used())
    return pro


def _used() -> NotAuthenticated:
    return NotAuthenticated(
        "Ce code a déjà été utilisé. Recommencez la connexion pour en recevoir un nouveau.",
        code="otp_used",
    )


def _flow_refusal(
    session: Session,
    settings: Settings,
    flow_id: uuid.UUID,
    now: datetime,
    refuse: Callable[[str, SisraError], SisraError],
) -> SisraError:
    """Why the flow gave no try: used, expired or out of tries."""
    flow = _fresh(session, flow_id)
    if flow.used_at is not None:
        return refuse("replayed", _used())
    if flow.expires_at <= now:
        return refuse(
            "expired",
            NotAuthenticated(
                f"Ce code a expiré (validité {settings.otp_ttl_minutes} minutes). Demandez un "
                "nouveau code.",
                code="otp_expired",
            ),
        )
    return refuse(
        "too_many_tries",
        TooManyAttempts(
            "Trop d'essais pour ce code. Recommencez la connexion depuis l'identifiant.",
            code="otp_locked",
        ),
    )

"""Two-step login (« connexion en deux étapes »): password, then a code sent by e-mail.

The code is 6 digits, single use, valid ``otp_ttl_minutes``, with ``otp_max_attempts`` tries;
it can be sent again after ``otp_resend_cooldown_s``. Only its HMAC is stored, keyed by the
flow id, so a database reader learns nothing usable. Wrong codes also count in the per-account
and per-IP login throttle.
"""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sisra.platform.audit import service as audit
from sisra.platform.auth import passwords, throttle
from sisra.platform.auth.mailer import MailError, send_mail
from sisra.platform.context import Actor, RequestContext
from sisra.platform.db import on_failure
from sisra.platform.errors import NotAuthenticated, SisraError, TooManyAttempts
from sisra.platform.models import LoginFlow, Professional, utcnow
from sisra.settings import Settings


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
        "et changez votre mot de passe.\n\n— Sisra\n"
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
) -> FlowStarted:
    """Check identifier + portal password, then e-mail a code. Never returns tokens."""
    login = login.strip().lower()
    try:
        throttle.check(session, settings, login, ctx.ip)
    except TooManyAttempts:
        audit.record(
            session,
            ctx,
            "auth.login",
            outcome="throttled",
            details={"login": login},
            keep_on_failure=True,
        )
        raise
    pro = session.scalar(select(Professional).where(func.lower(Professional.login) == login))
    ok = passwords.verify_password(pro.password_hash if pro else None, password)
    if not ok or pro is None or not pro.active:
        audit.record(
            session,
            ctx,
            "auth.login",
            outcome="refused",
            details={
                "login": login,
                "step": "password",
                "reason": "inactive" if pro and ok else "bad_credentials",
            },
            keep_on_failure=True,
        )
        on_failure(session, lambda s: throttle.record_failure(s, settings, login, ctx.ip))
        raise _bad_credentials()
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
    """A new code for the same flow, after the cool-down; the old code stops working."""
    flow = _flow(session, flow_id)
    pro = session.get(Professional, flow.professional_id)
    assert pro is not None
    now = utcnow()
    if (
        flow.used_at is not None
        or flow.expires_at <= now
        or flow.attempts >= settings.otp_max_attempts
    ):
        raise NotAuthenticated(
            "Cette demande de connexion n'est plus valable : recommencez depuis l'identifiant.",
            code="otp_expired",
        )
    wait = settings.otp_resend_cooldown_s - int((now - flow.last_sent_at).total_seconds())
    if wait > 0:
        raise TooManyAttempts(
            f"Patientez {wait} secondes avant de demander un nouveau code.",
            code="otp_resend_too_soon",
            extra={"retry_after_s": wait},
        )
    if flow.sends >= 5:
        raise TooManyAttempts(
            "Trop de codes demandés : recommencez depuis l'identifiant.", code="otp_resend_limit"
        )
    code = f"{secrets.randbelow(1_000_000):06d}"
    flow.code_hash = _code_hash(flow.id, code)
    flow.sends += 1
    flow.last_sent_at = now
    flow.expires_at = now + timedelta(minutes=settings.otp_ttl_minutes)
    _send_code(settings, pro, code)
    audit.record(
        session,
        ctx.with_actor(Actor.of(pro)),
        "auth.otp_sent",
        details={"flow": str(flow.id), "resend": flow.sends},
    )
    return FlowStarted(
        flow.id, flow.expires_at, mask_email(pro.email), settings.otp_resend_cooldown_s
    )


def verify(
    session: Session, settings: Settings, ctx: RequestContext, flow_id: uuid.UUID, code: str
) -> Professional:
    """Check the code; the flow is consumed on success. Returns the professional."""
    flow = _flow(session, flow_id)
    pro = session.get(Professional, flow.professional_id)
    assert pro is not None
    actx = ctx.with_actor(Actor.of(pro))
    now = utcnow()

    def refuse(reason: str, error: SisraError, count: bool = False) -> SisraError:
        audit.record(
            session,
            actx,
            "auth.otp_verify",
            outcome="refused",
            details={"flow": str(flow.id), "reason": reason},
            keep_on_failure=True,
        )
        if count:
            fid, login = flow.id, pro.login

            def _count(s: Session) -> None:
                row = s.get(LoginFlow, fid)
                if row is not None:
                    row.attempts += 1
                throttle.record_failure(s, settings, login, ctx.ip)

            on_failure(session, _count)
        return error

    try:
        throttle.check(session, settings, pro.login, ctx.ip)
    except TooManyAttempts as exc:
        raise refuse("throttled", exc) from None
    if flow.used_at is not None:
        raise refuse(
            "replayed",
            NotAuthenticated(
                "Ce code a déjà été utilisé. Recommencez la connexion pour en recevoir un nouveau.",
                code="otp_used",
            ),
        )
    if flow.expires_at <= now:
        raise refuse(
            "expired",
            NotAuthenticated(
                f"Ce code a expiré (validité {settings.otp_ttl_minutes} minutes). Demandez un "
                "nouveau code.",
                code="otp_expired",
            ),
        )
    if flow.attempts >= settings.otp_max_attempts:
        raise refuse(
            "too_many_tries",
            TooManyAttempts(
                "Trop d'essais pour ce code. Recommencez la connexion depuis l'identifiant.",
                code="otp_locked",
            ),
        )
    if not pro.active:
        raise refuse(
            "inactive", NotAuthenticated("Ce compte est désactivé.", code="account_disabled")
        )
    clean = "".join(ch for ch in code if ch.isdigit())
    if len(clean) != 6 or not hmac.compare_digest(_code_hash(flow.id, clean), flow.code_hash):
        left = settings.otp_max_attempts - flow.attempts - 1
        msg = "Code incorrect. " + (
            f"Il vous reste {left} essai{'s' if left > 1 else ''}."
            if left > 0
            else "Recommencez la connexion pour recevoir un nouveau code."
        )
        raise refuse(
            "wrong_code",
            NotAuthenticated(msg, code="otp_invalid", extra={"tries_left": max(left, 0)}),
            True,
        )
    flow.used_at = now
    # only a complete login clears the counter: wrong codes count like wrong passwords
    throttle.reset_account(session, pro.login)
    return pro

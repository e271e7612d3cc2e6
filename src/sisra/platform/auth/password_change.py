"""« Changer mon mot de passe »: a logged-in professional replaces their portal password.

The current password is asked again (a browser left open is not enough), and each try at it
takes a login-throttle slot like a login attempt (:mod:`throttle`): the known device's counter
when the session was opened from MonSisra, else the account's and the source's. A session
therefore gives no more guesses at the password than the login page does.

Once changed, every other way in ends (decision 153): other browser sessions, other MonSisra
devices (their refresh tokens spent), unused one-time links and login flows started with the
old password. The browser session that made the change, and the MonSisra device that opened
it, stay: the professional is not logged out of what they are using.
"""

from sqlalchemy import update
from sqlalchemy.orm import Session

from sisra.platform.audit import service as audit
from sisra.platform.auth import passwords, revocation, throttle
from sisra.platform.context import RequestContext
from sisra.platform.errors import Invalid, TooManyAttempts
from sisra.platform.models import PasswordLink, Professional, WebSession, utcnow
from sisra.platform.settings import Settings

REASON = "password_changed"


def _refused(session: Session, ctx: RequestContext, reason: str) -> None:
    audit.record(
        session,
        ctx,
        "auth.password_changed",
        outcome="refused",
        details={"reason": reason},
        keep_on_failure=True,
    )


def change(
    session: Session,
    settings: Settings,
    ctx: RequestContext,
    pro: Professional,
    web_session: WebSession,
    current: str,
    new: str,
    confirmation: str,
) -> None:
    """Replace ``pro``'s password; refused with a French reason (nothing changed then)."""
    device = throttle.device_key(web_session.device_id) if web_session.device_id else None
    try:
        slot = throttle.reserve(
            session, settings, throttle.password_counters(pro.login, ctx.ip, device)
        )
    except TooManyAttempts as exc:
        _refused(session, ctx, "throttled")
        wait = max(1, -(-int(exc.extra.get("retry_after_s", 60)) // 60))
        raise TooManyAttempts(
            f"Trop d'essais du mot de passe actuel. Réessayez dans {wait} minute(s).",
            extra=exc.extra,
        ) from exc
    if not passwords.verify_password(pro.password_hash, current):
        slot.failed(session, settings)
        _refused(session, ctx, "wrong_current")
        raise Invalid(
            "Mot de passe actuel incorrect. Après plusieurs erreurs, le changement est "
            "suspendu quelques minutes.",
            code="wrong_current_password",
        )
    slot.succeeded(session, settings)
    if new != confirmation:
        raise Invalid("Les deux nouveaux mots de passe ne sont pas identiques.", code="mismatch")
    if reason := passwords.check_strength(new):
        raise Invalid(reason, code="weak_password")
    if new == current:
        raise Invalid(
            "Le nouveau mot de passe doit être différent de l'actuel.", code="same_password"
        )
    pro.password_hash = passwords.hash_password(new)
    # a first-login link still pending would let its holder choose another password
    session.execute(
        update(PasswordLink)
        .where(PasswordLink.professional_id == pro.id, PasswordLink.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    revocation.end_others(session, pro.id, web_session.token_hash, web_session.device_id, REASON)
    audit.record(session, ctx, "auth.password_changed", details={"others_ended": True})

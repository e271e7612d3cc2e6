"""First-login links: an administrator e-mails a professional a link to choose their password.

Professionals without a card log in with identifier + portal password + a code sent by e-mail.
Imported or created by an administrator, they have no password yet; rather than an
administrator choosing one and passing it on, the administrator sends a one-time link (to the
directory's e-mail address, valid ``password_link_ttl_hours``) where the professional chooses
it. There is no anonymous « mot de passe oublié »: a link is only ever issued by an
administrator, so an attacker holding a mailbox cannot start one (decision 114).

A link is spent by one conditional ``UPDATE`` (of two parallel uses, one wins), and only after
the new password was found acceptable: a weak password or a typo leaves the link usable.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sisra.platform.audit import service as audit
from sisra.platform.auth import passwords
from sisra.platform.auth.tokens import hash_token, new_token
from sisra.platform.context import RequestContext
from sisra.platform.errors import Invalid, NotAuthenticated
from sisra.platform.models import PasswordLink, Professional, utcnow
from sisra.platform.settings import Settings

PATH = "/premiere-connexion"


@dataclass(frozen=True)
class IssuedLink:
    url: str
    expires_at: datetime


def issue(
    session: Session, settings: Settings, ctx: RequestContext, pro: Professional
) -> IssuedLink:
    """A new link for ``pro``; earlier unused ones stop working (only the latest e-mail counts)."""
    now = utcnow()
    session.execute(
        update(PasswordLink)
        .where(PasswordLink.professional_id == pro.id, PasswordLink.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    token = new_token("spl")
    expires = now + timedelta(hours=settings.password_link_ttl_hours)
    session.add(
        PasswordLink(
            token_hash=hash_token(token),
            professional_id=pro.id,
            issued_by_id=ctx.actor.id if ctx.actor else None,
            expires_at=expires,
        )
    )
    audit.record(session, ctx, "auth.password_link_issued", details={"professional": str(pro.id)})
    return IssuedLink(f"{settings.public_url}{PATH}/{token}", expires)


def _refusal(reason: str) -> NotAuthenticated:
    messages = {
        "unknown": "Ce lien n'est pas valable. Demandez un nouveau lien à votre administrateur.",
        "used": "Ce lien a déjà servi. Connectez-vous avec votre identifiant et votre mot de "
        "passe, ou demandez un nouveau lien à votre administrateur.",
        "expired": "Ce lien a expiré. Demandez un nouveau lien à votre administrateur.",
        "inactive": "Votre compte est désactivé. Contactez votre administrateur.",
    }
    return NotAuthenticated(messages[reason], code=f"password_link_{reason}")


def holder(session: Session, token: str) -> Professional:
    """Whose link this is, if it can still be used (the page's first display; spends nothing)."""
    link = session.scalar(select(PasswordLink).where(PasswordLink.token_hash == hash_token(token)))
    if link is None:
        raise _refusal("unknown")
    if link.used_at is not None:
        raise _refusal("used")
    if link.expires_at <= utcnow():
        raise _refusal("expired")
    pro = session.get(Professional, link.professional_id)
    if pro is None or not pro.active or pro.external:
        raise _refusal("inactive")
    return pro


def choose_password(
    session: Session, ctx: RequestContext, token: str, password: str, confirmation: str
) -> Professional:
    """Set the password chosen through a link, and spend the link; refused with a French reason."""
    pro = holder(session, token)
    if password != confirmation:
        raise Invalid("Les deux mots de passe ne sont pas identiques.", code="password_mismatch")
    if reason := passwords.check_strength(password):
        raise Invalid(reason, code="weak_password")
    claimed = session.execute(
        update(PasswordLink)
        .where(
            PasswordLink.token_hash == hash_token(token),
            PasswordLink.used_at.is_(None),
            PasswordLink.expires_at > utcnow(),
        )
        .values(used_at=utcnow())
        .returning(PasswordLink.professional_id)
        .execution_options(synchronize_session=False)
    ).first()
    if claimed is None or claimed[0] != pro.id:  # spent by a parallel request meanwhile
        raise _refusal("used")
    pro.password_hash = passwords.hash_password(password)
    audit.record(
        session,
        ctx,
        "auth.password_chosen",
        details={"professional": str(pro.id), "via": "password_link"},
    )
    return pro

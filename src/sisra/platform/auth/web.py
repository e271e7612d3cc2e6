"""Browser sessions and one-time web tickets.

A web ticket lets MonSisra open a page already logged in: single use, valid at most
``web_ticket_ttl_s`` (60 s), bound to the professional and to the page it was made for. The
browser session it opens (like the web two-step login) is an HttpOnly cookie whose value the
database keeps only hashed, with its own CSRF token.
"""

import re
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from sisra.platform.audit import service as audit
from sisra.platform.auth.tokens import hash_token, new_token
from sisra.platform.context import Actor, RequestContext
from sisra.platform.db import on_failure
from sisra.platform.errors import Invalid, NotAuthenticated
from sisra.platform.models import Professional, WebSession, WebTicket, utcnow
from sisra.settings import Settings

# Pages a ticket may open: a local path only (no scheme, no host, no "//"), so a ticket can
# never be turned into an open redirect.
_TARGET = re.compile(r"^/(?!/)[A-Za-z0-9/_\-.]*(\?[A-Za-z0-9=&_\-.%]*)?$")


def check_target(target: str) -> str:
    if not _TARGET.match(target) or len(target) > 500 or ".." in target:
        raise Invalid(
            "Page cible invalide : seule une page de la plateforme peut être ouverte.",
            code="invalid_target",
        )
    return target


def create_ticket(
    session: Session, settings: Settings, ctx: RequestContext, target: str
) -> tuple[str, datetime]:
    assert ctx.actor is not None
    target = check_target(target)
    ticket = new_token("swt")
    expires = utcnow() + timedelta(seconds=min(settings.web_ticket_ttl_s, 60))
    session.add(
        WebTicket(
            ticket_hash=hash_token(ticket),
            professional_id=ctx.actor.id,
            device_id=ctx.actor.device_id,
            target=target,
            expires_at=expires,
        )
    )
    audit.record(session, ctx, "auth.web_ticket", details={"target": target})
    return ticket, expires


def consume_ticket(session: Session, ctx: RequestContext, ticket: str) -> tuple[Professional, str]:
    """The professional and page of a valid ticket; the ticket is spent even on refusal."""
    row = session.get(WebTicket, hash_token(ticket))
    now = utcnow()

    def refuse(reason: str, message: str) -> NotAuthenticated:
        audit.record(
            session,
            ctx,
            "auth.web_ticket_use",
            outcome="refused",
            details={"reason": reason},
            keep_on_failure=True,
        )
        return NotAuthenticated(message, code=f"web_ticket_{reason}")

    if row is None:
        raise refuse(
            "unknown", "Ce lien de connexion n'est pas valable. Rouvrez la page depuis MonSisra."
        )
    if row.used_at is not None:
        raise refuse("used", "Ce lien de connexion a déjà servi. Rouvrez la page depuis MonSisra.")
    row.used_at = now
    key = row.ticket_hash
    on_failure(session, lambda s: _spend(s, key))
    if row.expires_at <= now:
        raise refuse(
            "expired",
            "Ce lien de connexion a expiré (validité 60 secondes). "
            "Rouvrez la page depuis MonSisra.",
        )
    pro = session.get(Professional, row.professional_id)
    if pro is None or not pro.active:
        raise refuse("unknown", "Ce compte est désactivé.")
    audit.record(
        session,
        ctx.with_actor(Actor.of(pro, row.device_id)),
        "auth.web_ticket_use",
        details={"target": row.target},
    )
    return pro, row.target


def _spend(session: Session, key: str) -> None:
    row = session.get(WebTicket, key)
    if row is not None and row.used_at is None:
        row.used_at = utcnow()


def open_session(session: Session, settings: Settings, pro: Professional) -> tuple[str, str]:
    """A new browser session: returns the cookie value and the CSRF token."""
    token = new_token("sws")
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            token_hash=hash_token(token),
            professional_id=pro.id,
            csrf_token=csrf,
            expires_at=now + timedelta(hours=settings.web_session_hours),
            last_seen_at=now,
        )
    )
    return token, csrf


def current_session(session: Session, token: str | None) -> tuple[Professional, WebSession]:
    if not token:
        raise NotAuthenticated("Connexion requise.", code="not_authenticated")
    row = session.get(WebSession, hash_token(token))
    if row is None or row.expires_at <= utcnow():
        raise NotAuthenticated("Votre session a expiré : reconnectez-vous.", code="session_expired")
    pro = session.get(Professional, row.professional_id)
    if pro is None or not pro.active:
        raise NotAuthenticated("Ce compte est désactivé.", code="account_disabled")
    row.last_seen_at = utcnow()
    return pro, row


def close_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == hash_token(token)))


def close_sessions_of(session: Session, professional_id: uuid.UUID) -> None:
    session.execute(delete(WebSession).where(WebSession.professional_id == professional_id))

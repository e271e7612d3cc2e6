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

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from sisra.platform.audit import service as audit
from sisra.platform.auth.tokens import hash_token, new_token
from sisra.platform.context import Actor, RequestContext
from sisra.platform.db import side_transaction
from sisra.platform.errors import Invalid, NotAuthenticated
from sisra.platform.models import Device, Professional, WebSession, WebTicket, utcnow
from sisra.platform.settings import Settings

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


def consume_ticket(
    session: Session, ctx: RequestContext, ticket: str
) -> tuple[Professional, str, uuid.UUID | None]:
    """The professional, page and device of a valid ticket; spent even on refusal.

    One conditional ``UPDATE`` in a transaction of its own spends the ticket: of parallel
    requests with one link, exactly one goes further."""
    key = hash_token(ticket)
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

    with side_transaction(session) as side:
        claimed = side.execute(
            update(WebTicket)
            .where(WebTicket.ticket_hash == key, WebTicket.used_at.is_(None))
            .values(used_at=now)
            .returning(
                WebTicket.professional_id,
                WebTicket.device_id,
                WebTicket.target,
                WebTicket.expires_at,
            )
            .execution_options(synchronize_session=False)
        ).first()
    if claimed is None:
        if session.get(WebTicket, key) is None:
            raise refuse(
                "unknown",
                "Ce lien de connexion n'est pas valable. Rouvrez la page depuis MonSisra.",
            )
        raise refuse("used", "Ce lien de connexion a déjà servi. Rouvrez la page depuis MonSisra.")
    pro_id, device_id, target, expires_at = claimed
    if expires_at <= now:
        raise refuse(
            "expired",
            "Ce lien de connexion a expiré (validité 60 secondes). "
            "Rouvrez la page depuis MonSisra.",
        )
    pro = session.get(Professional, pro_id)
    if pro is None or not pro.active:
        raise refuse("unknown", "Ce compte est désactivé.")
    device = session.get(Device, device_id) if device_id else None
    if device is not None and device.revoked_at is not None:
        raise refuse("unknown", "Cet appareil a été déconnecté. Rouvrez la page depuis MonSisra.")
    audit.record(
        session,
        ctx.with_actor(Actor.of(pro, device_id)),
        "auth.web_ticket_use",
        details={"target": target},
    )
    return pro, target, device_id


def open_session(
    session: Session,
    settings: Settings,
    pro: Professional,
    device_id: uuid.UUID | None = None,
) -> tuple[str, str]:
    """A new browser session: returns the cookie value and the CSRF token.

    ``device_id``: the MonSisra device whose link opened it; revoking that device closes it."""
    token = new_token("sws")
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            token_hash=hash_token(token),
            professional_id=pro.id,
            device_id=device_id,
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
    if row.device_id is not None:
        device = session.get(Device, row.device_id)
        if device is None or device.revoked_at is not None:
            raise NotAuthenticated("Cet appareil a été déconnecté.", code="device_revoked")
    row.last_seen_at = utcnow()
    return pro, row


def close_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == hash_token(token)))


def close_sessions_of(session: Session, professional_id: uuid.UUID) -> None:
    session.execute(delete(WebSession).where(WebSession.professional_id == professional_id))

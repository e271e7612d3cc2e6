"""The directory of professionals: search, creation, activation, portal passwords."""

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from sisra.common.identifiers import InvalidIdentifier, national_id, validate_adeli, validate_rpps
from sisra.common.text import fold
from sisra.platform.audit import service as audit
from sisra.platform.auth import passwords, revocation
from sisra.platform.context import RequestContext
from sisra.platform.errors import Conflict, Forbidden, Invalid, NotFound
from sisra.platform.inputs import check_text
from sisra.platform.models import Professional, Role

_RPPS_QUERY = re.compile(r"^[0-9]{11}$")


def search_text(p: Professional) -> str:
    parts = [p.last_name, p.first_name, p.city, p.specialty, p.profession, p.structure]
    return fold(" ".join(x for x in parts if x))[:600]


def sort_key(session: Session) -> ColumnElement[str]:
    """Directory order: by folded name (« BRÉCHET » before « BROSSARD », « Œ » as « OE »).

    ``search_text`` starts with the folded last and first names; compared byte by byte on
    both databases (PostgreSQL's locale collations would ignore the spaces between names).
    """
    if session.get_bind().dialect.name == "postgresql":
        return Professional.search_text.collate("C")
    return Professional.search_text.collate("BINARY")


@dataclass(frozen=True)
class Identifiers:
    """Exact identifiers a directory search may also require (none: no condition)."""

    rpps: str | None = None
    adeli: str | None = None
    mssante: str | None = None


def search(
    session: Session,
    q: str,
    limit: int = 20,
    include_inactive: bool = False,
    identifiers: Identifiers | None = None,
) -> list[Professional]:
    """Every word of ``q`` must appear (accent- and case-insensitive) in name, city, specialty.

    The platform's professionals come first, the external correspondents (MSSanté senders and
    addresses of other operators, never checked by anyone) after them: a correspondent who
    took a professional's name is never listed ahead of that professional (decision 126).
    ``q`` of 11 digits is an RPPS number: that professional only."""
    stmt = select(Professional).where(Professional.role == Role.professional)
    if not include_inactive:
        stmt = stmt.where(Professional.active.is_(True))
    if _RPPS_QUERY.match(q.strip()):  # an RPPS number (a printed letter's recipient)
        stmt = stmt.where(Professional.rpps == q.strip())
    else:
        for word in fold(q).split():
            stmt = stmt.where(Professional.search_text.contains(word, autoescape=True))
    ids = identifiers or Identifiers()
    if ids.rpps is not None:
        stmt = stmt.where(Professional.rpps == ids.rpps.strip())
    if ids.adeli is not None:
        stmt = stmt.where(Professional.adeli == ids.adeli.strip())
    if ids.mssante is not None:
        stmt = stmt.where(func.lower(Professional.mssante) == ids.mssante.strip().lower())
    stmt = stmt.order_by(Professional.external, sort_key(session), Professional.id).limit(limit)
    return list(session.scalars(stmt))


def get(session: Session, professional_id: uuid.UUID) -> Professional:
    pro = session.get(Professional, professional_id)
    if pro is None:
        raise NotFound("Professionnel introuvable.", code="professional_not_found")
    return pro


def by_login(session: Session, login: str) -> Professional:
    pro = session.scalar(
        select(Professional).where(func.lower(Professional.login) == login.lower())
    )
    if pro is None:
        raise NotFound(
            f"Aucun professionnel avec l'identifiant « {login} ».", code="professional_not_found"
        )
    return pro


@dataclass
class NewProfessional:
    first_name: str
    last_name: str
    profession: str
    email: str
    login: str
    rpps: str | None = None
    adeli: str | None = None
    specialty: str | None = None
    structure: str | None = None
    finess: str | None = None
    siret: str | None = None
    city: str | None = None
    mssante: str | None = None
    role: Role = Role.professional
    password: str | None = None


def create(
    session: Session, ctx: RequestContext, data: NewProfessional, check_password: bool = True
) -> Professional:
    """Add a professional to the directory; the login and identifiers must be unique."""
    check_text(*(v for v in vars(data).values() if isinstance(v, str)))
    try:
        rpps = validate_rpps(data.rpps) if data.rpps else None
        adeli = validate_adeli(data.adeli) if data.adeli else None
        nid = national_id(rpps, adeli) if data.role == Role.professional else None
    except InvalidIdentifier as exc:
        raise Invalid(str(exc), code="invalid_identifier") from exc
    login = data.login.strip().lower()
    clashes = []
    if session.scalar(select(Professional.id).where(func.lower(Professional.login) == login)):
        clashes.append(f"l'identifiant « {login} »")
    if rpps and session.scalar(select(Professional.id).where(Professional.rpps == rpps)):
        clashes.append(f"le RPPS {rpps}")
    if adeli and session.scalar(select(Professional.id).where(Professional.adeli == adeli)):
        clashes.append(f"l'ADELI {adeli}")
    if clashes:
        raise Conflict(
            "Un professionnel existe déjà avec " + " et ".join(clashes) + ".",
            code="professional_exists",
        )
    pro = Professional(
        rpps=rpps,
        adeli=adeli,
        national_id=nid,
        first_name=data.first_name.strip(),
        last_name=data.last_name.strip(),
        profession=data.profession.strip(),
        specialty=data.specialty,
        structure=data.structure,
        finess=data.finess,
        siret=data.siret,
        city=data.city,
        email=data.email.strip(),
        mssante=data.mssante,
        login=login,
        role=data.role,
        active=True,
    )
    if data.password:
        if check_password and (reason := passwords.check_strength(data.password)):
            raise Invalid(reason, code="weak_password")
        pro.password_hash = passwords.hash_password(data.password)
    pro.search_text = search_text(pro)
    session.add(pro)
    session.flush()
    audit.record(session, ctx, "directory.create", details={"professional": str(pro.id)})
    return pro


def set_active(session: Session, ctx: RequestContext, pro: Professional, active: bool) -> None:
    if ctx.actor is not None and not ctx.actor.is_admin:
        raise Forbidden("Réservé aux administrateurs.", code="admin_only")
    pro.active = active
    if not active:  # its devices, browser sessions, links and event streams end now
        revocation.end_professional(session, pro.id, "account_disabled")
    audit.record(
        session,
        ctx,
        "directory.enable" if active else "directory.disable",
        details={"professional": str(pro.id)},
    )


def set_password(session: Session, ctx: RequestContext, pro: Professional, password: str) -> None:
    if reason := passwords.check_strength(password):
        raise Invalid(reason, code="weak_password")
    pro.password_hash = passwords.hash_password(password)
    audit.record(session, ctx, "directory.set_password", details={"professional": str(pro.id)})


def by_national_id(session: Session, national_id: str) -> Professional | None:
    """The directory's professional whose national id (« 8 » + RPPS, « 0 » + ADELI) it is."""
    return session.scalar(
        select(Professional).where(
            Professional.national_id == national_id, Professional.role == Role.professional
        )
    )

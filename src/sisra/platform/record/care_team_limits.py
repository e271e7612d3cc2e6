"""How many care relationships a professional may declare, and who the administrators look at.

Split from :mod:`sisra.platform.record.care_team` (which declares): each professional's
declarations are counted per rolling hour and day under a lock (decision 118), a refused
attempt is kept even though the request fails, and the « Équipes de soins » page lists the
professionals over the limit lately or far above their usual rate.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, func, select, text, update
from sqlalchemy.orm import Session

from sisra.platform.db import on_failure
from sisra.platform.models import CareTeamDeclaration, Professional, utcnow
from sisra.platform.settings import Settings

# The administrators' alert (« Équipes de soins »): a day this many times the professional's
# usual daily rate, and at least this many declarations, is « far above their usual rate ».
UNUSUAL_FACTOR = 3
UNUSUAL_MIN = 5
ALERT_DAYS = 7
USUAL_DAYS = 30


def _lock_id(professional_id: uuid.UUID) -> int:
    digest = hashlib.blake2b(b"care_team:" + professional_id.bytes, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True)
class Count:
    hour: int
    day: int
    refused: bool


def _serialize(session: Session, professional_id: uuid.UUID) -> None:
    """Hold, until the request's transaction ends, a lock that every declaration by this
    professional takes first: PostgreSQL, a transaction-scoped advisory lock per professional;
    SQLite, the database's write lock (a no-op write of the professional's row), taken before
    the count is read, so the count is the latest and no other declaration commits meanwhile.
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _lock_id(professional_id)})
    else:
        session.execute(
            update(Professional)
            .where(Professional.id == professional_id)
            .values(active=Professional.active)
            .execution_options(synchronize_session=False)
        )


def count_attempt(
    session: Session, settings: Settings, professional_id: uuid.UUID, patient_id: uuid.UUID
) -> Count:
    """Count one declaration attempt against the professional's limits, or refuse it.

    Under :func:`_serialize`'s lock, held until the request commits: parallel requests are
    counted one after the other, each seeing the others' committed attempts, so at most the
    limit get through. An accepted attempt is written with the declaration (it goes if the
    request fails); a refused one is written even though the request fails (``on_failure``).
    """
    _serialize(session, professional_id)
    now = utcnow()
    counted = (CareTeamDeclaration.professional_id == professional_id) & (
        CareTeamDeclaration.refused.is_(False)
    )
    hour, day = session.execute(
        select(
            func.count().filter(CareTeamDeclaration.at > now - timedelta(hours=1)),
            func.count(),
        ).where(counted, CareTeamDeclaration.at > now - timedelta(days=1))
    ).one()
    refused = (
        hour >= settings.care_team_declarations_per_hour
        or day >= settings.care_team_declarations_per_day
    )
    if refused:
        on_failure(
            session,
            lambda s: s.add(
                CareTeamDeclaration(
                    professional_id=professional_id, patient_id=patient_id, at=now, refused=True
                )
            ),
        )
    else:
        session.add(
            CareTeamDeclaration(
                professional_id=professional_id, patient_id=patient_id, at=now, refused=False
            )
        )
        session.flush()
    return Count(int(hour), int(day), refused)


@dataclass(frozen=True)
class Alert:
    """A professional the administrators should look at (« Équipes de soins »)."""

    professional_id: uuid.UUID
    professional_name: str
    login: str
    refused: int  # attempts over the limit in the last ALERT_DAYS days
    last_day: int  # declarations counted in the last 24 hours
    usual_per_day: float  # average per day over the USUAL_DAYS days before

    @property
    def why(self) -> str:
        parts = []
        if self.refused:
            parts.append(
                f"{self.refused} déclaration(s) refusée(s) au-delà de la limite en "
                f"{ALERT_DAYS} jours"
            )
        if self.last_day >= UNUSUAL_MIN and self.last_day >= UNUSUAL_FACTOR * max(
            self.usual_per_day, 1.0
        ):
            parts.append(
                f"{self.last_day} déclaration(s) en 24 heures, pour {self.usual_per_day:.1f} "
                "par jour d'habitude"
            )
        return " ; ".join(parts)


def alerts(session: Session) -> list[Alert]:
    """Professionals over the declaration limit lately, or far above their usual rate."""
    now = utcnow()
    day_ago = now - timedelta(days=1)
    d = CareTeamDeclaration
    ok = d.refused.is_(False)
    rows = session.execute(
        select(
            d.professional_id,
            func.sum(case((d.refused & (d.at > now - timedelta(days=ALERT_DAYS)), 1), else_=0)),
            func.sum(case((ok & (d.at > day_ago), 1), else_=0)),
            func.sum(case((ok & (d.at <= day_ago), 1), else_=0)),
        )
        .where(d.at > day_ago - timedelta(days=USUAL_DAYS))
        .group_by(d.professional_id)
    ).all()
    found = [
        (pid, int(refused or 0), int(last or 0), int(before or 0) / USUAL_DAYS)
        for pid, refused, last, before in rows
    ]
    pros = {
        p.id: p
        for p in session.scalars(
            select(Professional).where(Professional.id.in_({f[0] for f in found}))
        )
    }
    result = [
        Alert(pid, pros[pid].display_name, pros[pid].login, refused, last, usual)
        for pid, refused, last, usual in found
        if pid in pros
    ]
    return sorted((a for a in result if a.why), key=lambda a: (-a.refused, -a.last_day, a.login))

"""The daily digest of new care-team declarations (decision 119).

Once a day, each professional who is an active member of a patient's care team receives one
e-mail listing the declarations made the day before (Paris time) on their patients by other
professionals: the patient's name, the declarant, the reason and the date — nothing of the
record itself. The recipients are the members who were in the team before the declaration
(administrators' additions, carried-over memberships, earlier declarations): the patient's
regular doctors among them.

Each (day, recipient) digest is claimed by inserting its :class:`CareTeamDigest` row in a
transaction of its own before the e-mail is sent: of several server processes or nodes (or a
cron job running ``sisra admin send-care-team-digest``), exactly one claims it; the others
skip it. When the SMTP server refuses the message the claim is given back, so the next run
tries again. A process killed between its claim and the SMTP hand-over loses that one digest
(at most once, never twice).
"""

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker

from sisra.common import clock
from sisra.platform.auth.mailer import MailError, send_mail
from sisra.platform.db import unit_of_work
from sisra.platform.models import (
    CareTeamDigest,
    CareTeamHow,
    CareTeamMember,
    Patient,
    Professional,
    Role,
    utcnow,
)
from sisra.platform.periodic import Periodic
from sisra.platform.record.care_team import REASONS
from sisra.platform.record.policy import active_membership
from sisra.platform.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notice:
    """One new declaration, as a digest lists it."""

    patient: str
    declarant: str
    reason: str
    at: datetime


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=clock.platform_zone()).astimezone(UTC)
    end = datetime.combine(
        day + timedelta(days=1), time.min, tzinfo=clock.platform_zone()
    ).astimezone(UTC)
    return start, end


def yesterday() -> date:
    """The last whole day, in Paris: the day a digest sent now reports."""
    return utcnow().astimezone(clock.platform_zone()).date() - timedelta(days=1)


def _patient_name(p: Patient) -> str:
    return f"{(p.used_name or p.birth_name).upper()} {p.first_given_name}"


def notices(session: Session, day: date) -> dict[uuid.UUID, list[Notice]]:
    """The declarations of ``day`` each recipient is to be told about, by recipient."""
    start, end = _day_bounds(day)
    declarant = aliased(Professional)
    declared = session.execute(
        select(CareTeamMember, declarant, Patient)
        .join(declarant, declarant.id == CareTeamMember.professional_id)
        .join(Patient, Patient.id == CareTeamMember.patient_id)
        .where(
            CareTeamMember.how == CareTeamHow.declared,
            CareTeamMember.declared_at >= start,
            CareTeamMember.declared_at < end,
        )
        .order_by(CareTeamMember.declared_at)
    ).all()
    if not declared:
        return {}
    teams: dict[uuid.UUID, list[tuple[uuid.UUID, datetime]]] = defaultdict(list)
    for pid, pro_id, since in session.execute(
        select(CareTeamMember.patient_id, CareTeamMember.professional_id, CareTeamMember.since)
        .join(Professional, Professional.id == CareTeamMember.professional_id)
        .where(
            CareTeamMember.patient_id.in_({m.patient_id for m, _d, _p in declared}),
            active_membership(),
            Professional.active.is_(True),
            Professional.role == Role.professional,
        )
    ):
        teams[pid].append((pro_id, since))
    by_recipient: dict[uuid.UUID, list[Notice]] = defaultdict(list)
    for member, who, patient in declared:
        notice = Notice(
            patient=_patient_name(patient),
            declarant=who.display_name,
            reason=REASONS.get(member.reason or "", "—"),
            at=member.declared_at or member.since,
        )
        for recipient, since in teams[member.patient_id]:
            if recipient != member.professional_id and since < notice.at:
                by_recipient[recipient].append(notice)
    return dict(by_recipient)


def render(recipient: Professional, day: date, items: list[Notice]) -> tuple[str, str]:
    """Subject and body of one digest, in French, with no clinical content."""
    subject = f"Sisra : {len(items)} nouvelle(s) déclaration(s) de prise en charge de vos patients"
    lines = [
        f"Bonjour {recipient.display_name},",
        "",
        f"Le {day.strftime('%d/%m/%Y')}, des professionnels se sont déclarés dans l'équipe de "
        "soins de patients que vous suivez. Ils consultent désormais leur dossier régional.",
        "",
    ]
    for n in items:
        at = clock.fr_datetime(n.at, clock.platform_zone())
        lines.append(f"- {n.patient} : {n.declarant}, motif « {n.reason} », le {at}")
    lines += [
        "",
        "Si l'une de ces déclarations vous paraît injustifiée, signalez-la aux administrateurs "
        "de la plateforme : ils peuvent retirer un professionnel de l'équipe de soins.",
        "",
        "Ce message est envoyé automatiquement une fois par jour ; n'y répondez pas.",
    ]
    return subject, "\n".join(lines) + "\n"


def _claim(factory: sessionmaker[Session], day: date, recipient: uuid.UUID, count: int) -> bool:
    try:
        with unit_of_work(factory) as session:
            session.add(
                CareTeamDigest(
                    day=day, professional_id=recipient, claimed_at=utcnow(), declarations=count
                )
            )
            session.flush()
    except IntegrityError:
        return False  # another process sends this one
    return True


def _give_back(factory: sessionmaker[Session], day: date, recipient: uuid.UUID) -> None:
    with unit_of_work(factory) as session:
        session.execute(
            delete(CareTeamDigest).where(
                CareTeamDigest.day == day, CareTeamDigest.professional_id == recipient
            )
        )


def send_digests(factory: sessionmaker[Session], settings: Settings, day: date) -> int:
    """Send ``day``'s digests not sent yet; how many this call sent."""
    with unit_of_work(factory) as session:
        pending = notices(session, day)
        if pending:
            done = set(
                session.scalars(
                    select(CareTeamDigest.professional_id).where(CareTeamDigest.day == day)
                )
            )
            pending = {k: v for k, v in pending.items() if k not in done}
        recipients = {
            p.id: p
            for p in session.scalars(select(Professional).where(Professional.id.in_(pending)))
        }
    sent = 0
    for rid, items in pending.items():
        pro = recipients.get(rid)
        if pro is None or not pro.email or not _claim(factory, day, rid, len(items)):
            continue
        subject, body = render(pro, day, items)
        try:
            send_mail(settings, pro.email, subject, body)
        except MailError as exc:
            log.warning("care-team digest for %s not sent (%s): retried later", pro.login, exc)
            _give_back(factory, day, rid)
            continue
        sent += 1
    return sent


class DigestThread(Periodic):
    """Sends yesterday's digests every ``care_team_digest_interval_s`` seconds (the claims make
    the later ticks, and the other processes, find nothing left to send)."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        super().__init__(
            "care-team-digest", settings.care_team_digest_interval_s, self._tick, immediately=True
        )
        self._factory = factory
        self._settings = settings

    def _tick(self) -> None:
        send_digests(self._factory, self._settings, yesterday())

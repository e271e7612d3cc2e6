"""The sealer: chains committed audit rows in batches, then publishes a signed checkpoint.

Requests insert their audit rows without any lock (``seq`` comes from the database). The
sealer takes the rows still unsealed, in ``seq`` order, gives each the next ``seal_seq`` and
its ``chain_hash``, and commits — in one short transaction that only the sealer locks
(PostgreSQL: a transaction-scoped advisory lock; SQLite: ``BEGIN IMMEDIATE``). A row whose
transaction commits late, after rows with a higher ``seq`` were sealed, is simply still
unsealed at the next batch: it is sealed then, never skipped, because the sealer selects by
"not sealed", not by "after the last one".

It runs every ``SISRA_AUDIT_SEAL_INTERVAL_S`` seconds in each server process (a thread
started with the app) and on demand (``sisra admin verify-audit`` seals first).

Time order. Rows are written by requests, so a row sealed now should not be much older than
the rows already sealed: a late commit is older by at most a request's duration. A row older
than the sealed head (the newest time already sealed) by more than
``SISRA_AUDIT_OUT_OF_ORDER_TOLERANCE_S`` did not come from a request of the platform at the
time it claims — typically a row inserted directly into the database, back-dated. Such a row
is sealed all the same (audit data is never dropped), and the sealer seals beside it, in the
same transaction, an ``audit.out_of_order`` row naming it: the flag is in the chain, so it
cannot be removed unseen. A row dated after the sealing time (by more than the tolerance) is
flagged the same way and does not move the head's time, so one post-dated row cannot make
every later row look late. ``verify-audit`` recomputes the same rule from the chain alone.
"""

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sisra.platform.audit import checkpoints
from sisra.platform.audit.chain import GENESIS, link
from sisra.platform.audit.checkpoints import Checkpoint
from sisra.platform.audit.keys import AuditKey, load_audit_key
from sisra.platform.db import exclusive_lock
from sisra.platform.models import AuditEvent
from sisra.platform.periodic import Periodic
from sisra.platform.settings import Settings

log = logging.getLogger(__name__)

# Any constant works; it only has to differ from other advisory locks of the database.
ADVISORY_LOCK_ID = 0x5153_4155_4449_5431  # ASCII "QSAUDIT1"

OUT_OF_ORDER = "audit.out_of_order"  # the sealer's flag on a row out of time order
DEFAULT_TOLERANCE = timedelta(minutes=5)


@dataclass
class TimeOrder:
    """The newest time sealed so far, and the rule a newly sealed row's time is held to.

    ``cap`` is the sealing time: a row's time counts for the head only up to it, so a row
    dated in the future does not push the head forward.
    """

    tolerance: timedelta
    head: datetime | None = None

    def check(self, at: datetime, cap: datetime) -> str | None:
        """``"backdated"``, ``"future"`` or None for a row of time ``at`` sealed at ``cap``."""
        verdict = None
        if at > cap + self.tolerance:
            verdict = "future"
        elif self.head is not None and at < self.head - self.tolerance:
            verdict = "backdated"
        bounded = min(at, cap)
        if self.head is None or bounded > self.head:
            self.head = bounded
        return verdict


class SealRefused(Exception):
    """The chain's head does not verify with our key: sealing on it would bless or break it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Sealer:
    """Seals the audit trail of one database and publishes checkpoints to one directory."""

    factory: sessionmaker[Session]
    key: AuditKey
    checkpoint_dir: Path
    batch: int = 1000
    tolerance: timedelta = DEFAULT_TOLERANCE
    _unpublished: Checkpoint | None = field(default=None, init=False, repr=False)
    _publish_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def from_settings(
        cls, settings: Settings, factory: sessionmaker[Session], *, create_key: bool = True
    ) -> "Sealer":
        return cls(
            factory,
            load_audit_key(settings, create=create_key),
            settings.effective_audit_checkpoint_dir,
            max(1, settings.audit_seal_batch),
            timedelta(seconds=max(0.0, settings.audit_out_of_order_tolerance_s)),
        )

    def seal(self, *, wait: bool = True) -> int:
        """Seal every committed row not sealed yet; returns how many were sealed.

        ``wait=False`` gives up at once when another sealer holds the lock (PostgreSQL).
        Each batch is committed before its checkpoint is written: a checkpoint never names a
        chain the database does not hold. A checkpoint that could not be written is retried
        at the next call.
        """
        total = 0
        failure: OSError | None = self._publish(None)
        while True:
            sealed, cp = self._seal_batch(wait)
            total += sealed
            if cp is not None:
                failure = self._publish(cp) or failure
            if sealed < self.batch:
                break
        if failure is not None and self._unpublished is not None:
            raise failure
        return total

    def _publish(self, cp: Checkpoint | None) -> OSError | None:
        """Write ``cp`` (or the checkpoint left unwritten); keep it for later on failure."""
        with self._publish_lock:
            pending = cp or self._unpublished
            if pending is None:
                return None
            try:
                checkpoints.append(self.checkpoint_dir, self.key, pending)
            except OSError as exc:
                if self._unpublished is None or pending.seal_seq > self._unpublished.seal_seq:
                    self._unpublished = pending
                return exc
            if self._unpublished is not None and self._unpublished.seal_seq <= pending.seal_seq:
                self._unpublished = None
            return None

    def _seal_batch(self, wait: bool) -> tuple[int, Checkpoint | None]:
        with self.factory() as session:
            unsealed = select(AuditEvent.seq).where(AuditEvent.seal_seq.is_(None)).limit(1)
            if session.scalar(unsealed) is None:
                return 0, None
            session.rollback()  # end the read before taking the write lock (SQLite)
            if not exclusive_lock(session, ADVISORY_LOCK_ID, wait=wait):
                return 0, None
            position, prev = self._head(session)
            # to the second, as checkpoints are: verify-audit bounds with their time; but the
            # chain's head is looked for up to this very instant, or a row sealed earlier in
            # the same second would not count and a back-dated row behind it go unflagged
            exact = datetime.now(UTC)
            now = exact.replace(microsecond=0)
            order = TimeOrder(self.tolerance, self._head_time(session, exact))
            rows = session.scalars(
                select(AuditEvent)
                .where(AuditEvent.seal_seq.is_(None))
                .order_by(AuditEvent.seq)
                .limit(self.batch)
            ).all()
            flags: list[AuditEvent] = []
            for row in rows:
                position += 1
                row.seal_seq = position
                row.chain_hash = prev = link(self.key, prev, row)
                head = order.head
                verdict = order.check(row.at, now)
                if verdict is not None:
                    flags.append(_flag(row, verdict, head, now))
            if flags:
                log.warning("audit: %d row(s) out of time order sealed and flagged", len(flags))
                session.add_all(flags)
                session.flush()  # their seq
                for flag in flags:
                    position += 1
                    flag.seal_seq = position
                    flag.chain_hash = prev = link(self.key, prev, flag)
            session.commit()
        if not rows:
            return 0, None
        count = len(rows) + len(flags)
        return len(rows), checkpoints.new_checkpoint(self.key, position, prev, count)

    @staticmethod
    def _head_time(session: Session, now: datetime) -> datetime | None:
        """The newest time already sealed, up to ``now`` (a post-dated row does not count)."""
        return session.scalar(
            select(func.max(AuditEvent.at)).where(
                AuditEvent.seal_seq.is_not(None), AuditEvent.at <= now
            )
        )

    def _head(self, session: Session) -> tuple[int, str]:
        """The chain's last position and hash, checked with our key before we build on it."""
        head = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seal_seq.is_not(None))
            .order_by(AuditEvent.seal_seq.desc())
            .limit(1)
        ).first()
        if head is None or head.seal_seq is None:
            return 0, GENESIS
        position = head.seal_seq
        before = (
            session.scalar(select(AuditEvent.chain_hash).where(AuditEvent.seal_seq == position - 1))
            if position > 1
            else GENESIS
        )
        if before is None or link(self.key, before, head) != head.chain_hash:
            raise SealRefused(
                f"Scellement refusé : la dernière ligne scellée (position n° {position}) ne se "
                "vérifie pas avec la clé d'audit configurée (clé différente, ou piste "
                "altérée). Rien n'est scellé tant que ce n'est pas éclairci : lancez "
                "« sisra admin verify-audit --no-seal »."
            )
        return position, head.chain_hash or GENESIS


def _flag(row: AuditEvent, verdict: str, head: datetime | None, now: datetime) -> AuditEvent:
    """The ``audit.out_of_order`` row sealed beside ``row`` (same patient and document, so a
    search on them finds the flag too)."""
    details: dict[str, object] = {
        "seq": row.seq,
        "kind": verdict,
        "row_at": row.at.isoformat(timespec="seconds"),
        "row_action": row.action,
        "sealed_at": now.isoformat(timespec="seconds"),
    }
    if head is not None:
        details["head_at"] = head.isoformat(timespec="seconds")
    return AuditEvent(
        at=datetime.now(UTC),
        actor_label="système",
        action=OUT_OF_ORDER,
        outcome="warning",
        patient_id=row.patient_id,
        document_id=row.document_id,
        details=details,
    )


class SealerThread(Periodic):
    """Runs :meth:`Sealer.seal` every ``interval`` seconds; seals what is left at :meth:`stop`."""

    def __init__(self, sealer: Sealer, interval: float) -> None:
        super().__init__("audit-sealer", interval, self._seal, immediately=False)
        self.sealer = sealer
        self._refused: str | None = None

    def stop(self) -> None:
        super().stop()
        try:
            self.sealer.seal(wait=True)  # what the last requests wrote
        except SealRefused:
            pass  # already logged by the loop
        except Exception:
            log.exception("audit sealing failed at shutdown")

    def _seal(self) -> None:
        try:
            self.sealer.seal(wait=False)
            self._refused = None
        except SealRefused as exc:  # said once, not every second
            if exc.message != self._refused:
                log.error("%s", exc.message)
            self._refused = exc.message

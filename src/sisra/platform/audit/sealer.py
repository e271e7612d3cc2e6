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
"""

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sisra.platform.audit import checkpoints
from sisra.platform.audit.chain import GENESIS, link
from sisra.platform.audit.checkpoints import Checkpoint
from sisra.platform.audit.keys import AuditKey, load_audit_key
from sisra.platform.db import exclusive_lock
from sisra.platform.models import AuditEvent
from sisra.platform.periodic import Periodic
from sisra.settings import Settings

log = logging.getLogger(__name__)

# Any constant works; it only has to differ from other advisory locks of the database.
ADVISORY_LOCK_ID = 0x5153_4155_4449_5431  # ASCII "QSAUDIT1"


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
            rows = session.scalars(
                select(AuditEvent)
                .where(AuditEvent.seal_seq.is_(None))
                .order_by(AuditEvent.seq)
                .limit(self.batch)
            ).all()
            for row in rows:
                position += 1
                row.seal_seq = position
                row.chain_hash = prev = link(self.key, prev, row)
            session.commit()
        if not rows:
            return 0, None
        return len(rows), checkpoints.new_checkpoint(self.key, position, prev, len(rows))

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

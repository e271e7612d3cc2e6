"""Sweeping what a killed request leaves behind: blobs without a document, expired keys.

A share writes its blob, then commits the document row that points at it. A request that
fails cleans up (``on_failure``), but a worker killed between the two (OOM, deployment, power
cut) leaves a blob no row refers to. The sweep removes the blobs older than a grace period
(``blob_sweep_grace_minutes``, far longer than any share takes) that no document refers to,
the temporary files of interrupted writes, and the expired idempotency keys. It runs at
start-up and then periodically in every ``sisra serve`` worker (running it twice at once is
harmless), and on demand with ``sisra admin sweep-blobs``.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Self

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sisra.platform.db import unit_of_work
from sisra.platform.documents import idempotency
from sisra.platform.models import Document, MailPending, utcnow
from sisra.platform.periodic import Periodic, StopLoop
from sisra.platform.settings import Settings
from sisra.platform.storage import EncryptedBlobs

log = logging.getLogger("sisra.sweep")

_BATCH = 500


@dataclass(frozen=True)
class SweepReport:
    orphans_removed: int
    temporaries_removed: int
    expired_keys: int
    blobs_seen: int
    cutoff: datetime  # blobs written before this were examined


def sweep(
    factory: sessionmaker[Session],
    blobs: EncryptedBlobs,
    settings: Settings,
    now: datetime | None = None,
    since: datetime | None = None,
) -> SweepReport:
    """One pass (see the module); blobs younger than the grace period are never touched.

    With ``since`` (the previous pass's cutoff), only blobs written from then on are checked
    against the database: older ones were checked already.
    """
    now = now or utcnow()
    cutoff = now - timedelta(minutes=settings.blob_sweep_grace_minutes)
    seen = 0
    old: list[str] = []
    for info in blobs.store.iter_blobs():
        seen += 1
        if info.modified < cutoff and (since is None or info.modified >= since):
            old.append(info.key)
    removed = 0
    for i in range(0, len(old), _BATCH):
        batch = old[i : i + _BATCH]
        with unit_of_work(factory) as session:
            known = set(
                session.scalars(select(Document.blob_key).where(Document.blob_key.in_(batch)))
            )
            # a document received by MSSanté waiting for its patient has no document row yet
            known.update(
                session.scalars(select(MailPending.blob_key).where(MailPending.blob_key.in_(batch)))
            )
        for key in batch:
            if key not in known:
                blobs.delete(key)
                removed += 1
                log.warning("removed orphan blob %s (no document refers to it)", key)
    temporaries = blobs.store.remove_stale_temporaries(cutoff)
    with unit_of_work(factory) as session:
        expired = idempotency.sweep_expired(session, settings)
    return SweepReport(removed, temporaries, expired, seen, cutoff)


class PeriodicSweeper(Periodic):
    """Runs :func:`sweep` at once (all blobs), then every ``blob_sweep_interval_minutes``
    (the blobs written since the previous pass), in a thread."""

    def __init__(
        self, factory: sessionmaker[Session], blobs: EncryptedBlobs, settings: Settings
    ) -> None:
        super().__init__(
            "sweeper", settings.blob_sweep_interval_minutes * 60.0, self._sweep, join_timeout=10
        )
        self._args = (factory, blobs, settings)
        self._since: datetime | None = None

    def start(self) -> Self:
        return super().start() if self.interval > 0 else self

    def _sweep(self) -> None:
        try:
            report = sweep(*self._args, since=self._since)
        except NotImplementedError as exc:
            raise StopLoop(f"blob sweep disabled: {exc}") from exc
        # a minute of overlap: file times and the clock may disagree slightly
        self._since = report.cutoff - timedelta(minutes=1)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The application's lifespan: the sweeper runs while the app serves."""
    sweeper = PeriodicSweeper(app.state.session_factory, app.state.blobs, app.state.settings)
    sweeper.start()
    try:
        yield
    finally:
        sweeper.stop()

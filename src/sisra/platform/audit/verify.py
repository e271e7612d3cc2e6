"""``verify-audit``: recompute the keyed chain and hold it against the published checkpoints.

What it reports (in French, for the operator):

* a row whose ``chain_hash`` does not match its fields: modified, or the chain was recomputed
  without the audit key (with plain SHA-256, or with the project's code and another key);
* a row found at another position than the one it was sealed at (reordered);
* an empty position in the chain (deleted row);
* a checkpoint whose signature fails (forged or damaged line);
* a checkpoint the chain no longer matches, or one beyond the chain's end (last rows
  deleted, possibly with new rows sealed over them);
* rows out of time order (``out_of_order``, apart from the problems): a row older than the
  rows sealed before it by more than the tolerance (back-dated, e.g. inserted directly into
  the database), or dated after the checkpoint that first covers it (post-dated). The rule
  is the sealer's (:class:`~sisra.platform.audit.sealer.TimeOrder`), recomputed from the
  chain alone, with each row's sealing time bounded by the signed checkpoints;
* as warnings: rows waiting too long to be sealed, a chain no checkpoint covers.

Checkpoints are read before the rows, so a checkpoint written during the walk is not
mistaken for a truncation.
"""

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sisra.platform.audit import checkpoints
from sisra.platform.audit.chain import GENESIS, link
from sisra.platform.audit.checkpoints import Checkpoint
from sisra.platform.audit.keys import AuditKey
from sisra.platform.audit.sealer import DEFAULT_TOLERANCE, TimeOrder
from sisra.platform.models import AuditEvent

MAX_LISTED = 10  # rows listed one by one; the rest are counted
_WINDOW = 20  # how far a moved row is looked for around where it was found


@dataclass
class AuditReport:
    rows: int = 0  # sealed rows walked
    head: int = 0  # last position of the chain
    unsealed: int = 0
    checkpoints: int = 0  # checkpoints whose signature holds
    last_checkpoint: Checkpoint | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    out_of_order: list["OutOfOrder"] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class OutOfOrder:
    """A sealed row whose time does not fit its place in the chain."""

    seq: int
    seal_seq: int
    action: str
    at: datetime
    kind: str  # "backdated" or "future"
    bound: datetime  # backdated: the newest time sealed before it; future: its sealing time

    def describe(self) -> str:
        where = f"Ligne n° {self.seq} (position n° {self.seal_seq}, {self.action})"
        if self.kind == "future":
            return (
                f"{where} datée du {_utc(self.at)}, après son scellement (au plus tard le "
                f"{_utc(self.bound)}) : postdatée."
            )
        return (
            f"{where} datée du {_utc(self.at)}, alors que la piste était déjà scellée "
            f"jusqu'au {_utc(self.bound)} : antidatée (insérée directement dans la base ?)."
        )


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%d/%m/%Y %H:%M:%S UTC")


def verify(
    factory: sessionmaker[Session],
    key: AuditKey,
    checkpoint_dir: Path,
    *,
    unsealed_warn_after: timedelta = timedelta(minutes=5),
    tolerance: timedelta = DEFAULT_TOLERANCE,
    batch: int = 5000,
) -> AuditReport:
    """Walk the whole sealed chain; see the module docstring for what is reported."""
    report = AuditReport()
    by_position = _read_checkpoints(key, checkpoint_dir, report)
    sealed_by = _SealedBy(by_position)
    order = TimeOrder(tolerance)
    with factory() as session:
        bad = _walk(session, key, by_position, report, batch, order, sealed_by)
        report.problems.extend(_describe(session, key, bad))
        if len(bad) > MAX_LISTED:
            report.problems.append(f"… et {len(bad) - MAX_LISTED} autres lignes en défaut.")
        _check_end(report, by_position, checkpoint_dir)
        _check_unsealed(session, report, unsealed_warn_after)
    return report


def _read_checkpoints(
    key: AuditKey, directory: Path, report: AuditReport
) -> dict[int, list[tuple[str, Checkpoint]]]:
    by_position: dict[int, list[tuple[str, Checkpoint]]] = {}
    other_key = False
    for line in checkpoints.read(directory, key):
        if line.checkpoint is None:
            other_key = other_key or "autre clé" in (line.error or "")
            report.problems.append(
                f"Point de contrôle falsifié ou abîmé ({line.where}) : {line.error}."
            )
            continue
        cp = line.checkpoint
        by_position.setdefault(cp.seal_seq, []).append((line.where, cp))
        report.checkpoints += 1
        if report.last_checkpoint is None or cp.seal_seq >= report.last_checkpoint.seal_seq:
            report.last_checkpoint = cp
    if other_key:
        report.problems.append(
            "La clé d'audit configurée n'est peut-être pas celle qui a scellé la piste "
            "(SISRA_AUDIT_KEY ou fichier audit.key) : vérifiez-la avant de conclure."
        )
    return by_position


def _walk(
    session: Session,
    key: AuditKey,
    by_position: dict[int, list[tuple[str, Checkpoint]]],
    report: AuditReport,
    batch: int,
    order: TimeOrder,
    sealed_by: "_SealedBy",
) -> list[tuple[int, int]]:
    """Check every link; returns the (position, seq) of the rows whose link fails."""
    bad: list[tuple[int, int]] = []
    prev, expected, last = GENESIS, 1, 0
    recent: deque[str] = deque(maxlen=_WINDOW)  # stored hashes of the last rows
    damaged = False  # the row before failed: its neighbours may have been moved
    while True:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seal_seq > last)
            .order_by(AuditEvent.seal_seq)
            .limit(batch)
        ).all()
        if not rows:
            return bad
        for row in rows:
            position = int(row.seal_seq or 0)
            verified: bool | None = None  # None: cannot tell (the row before it is missing)
            if position > expected:
                report.problems.append(_gap(expected, position))
            else:
                verified = row.chain_hash == link(key, prev, row)
                if not verified and damaged:
                    # intact itself, after moved rows: its link holds to one of them
                    verified = any(link(key, p, row) == row.chain_hash for p in recent)
                if not verified:
                    bad.append((position, row.seq))
            damaged = verified is not True
            for where, cp in by_position.get(position, ()):
                if verified and cp.chain_hash != row.chain_hash:
                    report.problems.append(
                        f"La chaîne ne correspond plus au point de contrôle du {when(cp.at)} "
                        f"({where}) à la position n° {position} : lignes supprimées puis "
                        "rescellées, ou chaîne réécrite."
                    )
            cap = sealed_by.at(position)
            head = order.head
            kind = order.check(row.at, cap)
            if kind is not None:
                bound = cap if kind == "future" or head is None else head
                report.out_of_order.append(
                    OutOfOrder(row.seq, position, row.action, row.at, kind, bound)
                )
            # Go on from the stored hash, so that one damaged row does not hide the rest.
            prev = row.chain_hash or GENESIS
            recent.append(prev)
            expected = position + 1
            report.rows += 1
            report.head = position
        last = report.head
        session.expunge_all()


class _SealedBy:
    """When the row at a position was sealed at the latest: the earliest time of the signed
    checkpoints at or after it (a checkpoint is written after its batch commits); now for
    rows no checkpoint covers yet."""

    def __init__(self, by_position: dict[int, list[tuple[str, Checkpoint]]]) -> None:
        self._now = datetime.now(UTC)
        earliest = self._now
        bounds: list[tuple[int, datetime]] = []
        for position in sorted(by_position, reverse=True):
            for _, cp in by_position[position]:
                try:
                    earliest = min(earliest, datetime.fromisoformat(cp.at).astimezone(UTC))
                except ValueError:
                    continue
            bounds.append((position, earliest))
        self._bounds = bounds[::-1]  # ascending positions, non-decreasing times
        self._i = 0

    def at(self, position: int) -> datetime:
        """Positions are asked in increasing order."""
        while self._i < len(self._bounds) and self._bounds[self._i][0] < position:
            self._i += 1
        return self._bounds[self._i][1] if self._i < len(self._bounds) else self._now


def when(at: str) -> str:
    """A checkpoint's time as the operator reads it (it is stored in ISO 8601, UTC)."""
    try:
        return datetime.fromisoformat(at).astimezone(UTC).strftime("%d/%m/%Y %H:%M:%S UTC")
    except ValueError:
        return at


def _gap(expected: int, found: int) -> str:
    if found == expected + 1:
        return f"Ligne supprimée : la position n° {expected} de la chaîne est vide."
    return (
        f"Lignes supprimées : les positions n° {expected} à {found - 1} de la chaîne sont vides "
        f"({found - expected} lignes)."
    )


def _describe(session: Session, key: AuditKey, bad: list[tuple[int, int]]) -> list[str]:
    """Say for each failing row (the first few) whether it was moved or modified."""
    out = []
    for position, seq in bad[:MAX_LISTED]:
        row = session.get(AuditEvent, seq)
        moved_from = _sealed_at(session, key, row, position) if row is not None else None
        if moved_from is not None:
            out.append(
                f"Ligne n° {seq} déplacée : scellée à la position n° {moved_from}, trouvée à la "
                f"position n° {position}."
            )
        else:
            out.append(
                f"Ligne n° {seq} (position n° {position}) modifiée : son empreinte ne correspond "
                "plus à son contenu (ligne changée, ou chaîne recalculée sans la clé d'audit)."
            )
    return out


def _sealed_at(session: Session, key: AuditKey, row: AuditEvent, found: int) -> int | None:
    """The position ``row`` was really sealed at, if it is near where it was found."""
    lo, hi = max(1, found - _WINDOW), found + _WINDOW
    near = session.scalars(
        select(AuditEvent.chain_hash).where(AuditEvent.seal_seq.between(lo - 1, hi))
    ).all()
    prevs = {GENESIS, *(h for h in near if h)}
    for position in range(lo, hi + 1):
        if position != found and any(
            link(key, p, row, seal_seq=position) == row.chain_hash for p in prevs
        ):
            return position
    return None


def _check_end(
    report: AuditReport,
    by_position: dict[int, list[tuple[str, Checkpoint]]],
    directory: Path,
) -> None:
    beyond = [(p, w, cp) for p, cps in by_position.items() if p > report.head for w, cp in cps]
    if beyond:
        position, where, cp = max(beyond, key=lambda b: b[0])
        report.problems.append(
            f"Piste tronquée : le point de contrôle du {when(cp.at)} ({where}) atteste {position} "
            f"lignes scellées, la base s'arrête à la position n° {report.head}."
        )
    if report.rows and not by_position:
        report.warnings.append(
            f"Aucun point de contrôle dans {directory} : la suppression des dernières lignes "
            "ne pourrait pas être détectée (SISRA_AUDIT_CHECKPOINT_DIR est-il le bon dossier ?)."
        )
    elif by_position and report.head > max(by_position):
        report.warnings.append(
            f"Les lignes scellées après la position n° {max(by_position)} ne sont attestées par "
            f"aucun point de contrôle de {directory}."
        )


def _check_unsealed(session: Session, report: AuditReport, warn_after: timedelta) -> None:
    unsealed = AuditEvent.seal_seq.is_(None)
    report.unsealed = int(session.scalar(select(func.count()).where(unsealed)) or 0)
    cutoff = datetime.now(UTC) - warn_after
    old = int(session.scalar(select(func.count()).where(unsealed, AuditEvent.at < cutoff)) or 0)
    if old:
        minutes = int(warn_after.total_seconds() // 60)
        report.warnings.append(
            f"{old} ligne(s) d'audit attendent d'être scellées depuis plus de {minutes} min : "
            "le scellement tourne-t-il (sisra serve) ?"
        )

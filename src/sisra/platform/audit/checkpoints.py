"""Signed checkpoints of the audit chain, published outside the database.

After each sealing batch the sealer appends one JSON line to ``audit-<day>.jsonl`` in the
checkpoint directory (``SISRA_AUDIT_CHECKPOINT_DIR``): the chain's head position
(``seal_seq``), its ``chain_hash``, the number of rows the batch sealed and the time, signed
with the audit key's Ed25519 half. Files are only ever appended to (one ``write`` per line,
``O_APPEND``, fsync), so several workers may share the directory and an operator may copy it
elsewhere at any time. Someone who can write the database cannot forge a line, and a line
remembers how long the chain was: deleting its last rows shows.
"""

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sisra.platform.audit.keys import AuditKey

VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    seal_seq: int
    chain_hash: str
    count: int
    at: str  # ISO 8601, UTC
    key_id: str
    v: int = VERSION

    def signed_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class CheckpointLine:
    """A line read back: its place, and either a checkpoint whose signature holds or an error."""

    where: str  # "audit-2026-11-30.jsonl:12"
    checkpoint: Checkpoint | None
    error: str | None = None


def new_checkpoint(key: AuditKey, seal_seq: int, chain_hash: str, count: int) -> Checkpoint:
    at = datetime.now(UTC).isoformat(timespec="seconds")
    return Checkpoint(seal_seq, chain_hash, count, at, key.key_id)


def append(directory: Path, key: AuditKey, cp: Checkpoint) -> None:
    """Append ``cp``, signed, to today's file; durable when this returns."""
    if not directory.is_dir():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    line = {**asdict(cp), "sig": key.sign(cp.signed_bytes())}
    data = (json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n").encode()
    path = directory / f"audit-{cp.at[:10]}.jsonl"
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)  # one write: lines from concurrent writers never interleave
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def read(directory: Path, key: AuditKey) -> Iterator[CheckpointLine]:
    """Every line of every checkpoint file, its signature checked with the public key."""
    if not directory.is_dir():
        return
    for path in sorted(directory.glob("audit-*.jsonl")):
        with path.open(encoding="utf-8", errors="replace") as f:
            for number, text in enumerate(f, start=1):
                if text.strip():
                    yield _parse(f"{path.name}:{number}", text, key)


def _parse(where: str, text: str, key: AuditKey) -> CheckpointLine:
    try:
        raw = json.loads(text)
        sig = raw.pop("sig")
        cp = Checkpoint(
            seal_seq=int(raw["seal_seq"]),
            chain_hash=str(raw["chain_hash"]),
            count=int(raw["count"]),
            at=str(raw["at"]),
            key_id=str(raw["key_id"]),
            v=int(raw["v"]),
        )
        if set(raw) != set(asdict(cp)) or not isinstance(sig, str):
            raise ValueError("unexpected fields")
    except (ValueError, KeyError, TypeError, AttributeError):
        return CheckpointLine(where, None, "ligne illisible")
    if cp.key_id != key.key_id:
        return CheckpointLine(where, None, f"signé par une autre clé ({cp.key_id})")
    if not key.verify(cp.signed_bytes(), sig):
        return CheckpointLine(where, None, "signature invalide")
    return CheckpointLine(where, cp)

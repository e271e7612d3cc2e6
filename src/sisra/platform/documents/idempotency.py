"""Idempotent sharing: a retry after a lost answer gets the first answer, not a second document.

The client sends an ``Idempotency-Key`` header (the web share form, a hidden field generated
for each form). The first request with a key *claims* it — a row inserted before the blob is
written, so a concurrent retry waits on that row (PostgreSQL's unique index, SQLite's write
lock) instead of sharing a second time — and completes it with its answer in the same
transaction. Later requests with the key:

* same request (same fingerprint: metadata + SHA-256 of the PDF) → the stored status and body;
* different request → ``422 idempotency_key_reused``.

A share that fails creates nothing and its claim is rolled back with it: retrying it simply
runs it again. Keys are kept ``idempotency_ttl_hours`` (24 h), then swept. Every door (API v1,
the web form, FHIR) goes through :func:`sisra.platform.documents.sharing.share_once`.
"""

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, BinaryIO

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from sisra.platform.documents.schemas import ShareMetadata
from sisra.platform.errors import Conflict, Invalid
from sisra.platform.models import ShareIdempotencyKey, utcnow
from sisra.platform.settings import Settings

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, no spaces
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class Replay:
    """The first answer to the request, to send again."""

    status: int
    body: dict[str, Any]
    document_id: uuid.UUID


def parse_key(value: str | None) -> str | None:
    """The key from the header (``None`` when absent); a malformed one is refused."""
    if value is None or value == "":
        return None
    if not _KEY.match(value):
        raise Invalid(
            "L'en-tête Idempotency-Key est invalide : 1 à 255 caractères ASCII visibles "
            "(un UUID par exemple).",
            code="invalid_idempotency_key",
        )
    return value


def digest(stream: BinaryIO) -> str:
    """SHA-256 of an uploaded (spooled) file; the stream is left at its start."""
    stream.seek(0)
    h = hashlib.sha256()
    while chunk := stream.read(_CHUNK):
        h.update(chunk)
    stream.seek(0)
    return h.hexdigest()


def fingerprint(meta: ShareMetadata, content_digest: str) -> str:
    """What makes two requests "the same": their metadata and their content's digest."""
    canonical = json.dumps(meta.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{canonical}\n{content_digest}".encode()).hexdigest()


def _reused() -> Invalid:
    return Invalid(
        "Cette clé d'idempotence a déjà servi pour un autre envoi. Utilisez une nouvelle clé "
        "pour chaque nouveau document (la même seulement pour réessayer le même envoi).",
        code="idempotency_key_reused",
    )


def _in_use() -> Conflict:
    return Conflict(
        "Un envoi avec la même clé est en cours ; patientez quelques secondes puis réessayez.",
        code="idempotency_key_in_use",
    )


def _replay(row: ShareIdempotencyKey, fp: str) -> Replay:
    if row.fingerprint != fp:
        raise _reused()
    if row.status is None or row.response is None or row.document_id is None:
        # only visible inside its own transaction; defensive
        raise Conflict(
            "Un envoi avec la même clé est en cours ; patientez quelques secondes puis réessayez.",
            code="idempotency_key_in_use",
        )
    return Replay(row.status, dict(row.response), row.document_id)


def _find(session: Session, professional_id: uuid.UUID, key: str) -> ShareIdempotencyKey | None:
    return session.scalar(
        select(ShareIdempotencyKey)
        .where(ShareIdempotencyKey.professional_id == professional_id)
        .where(ShareIdempotencyKey.key == key)
        .execution_options(populate_existing=True)
    )


def claim(
    session: Session, settings: Settings, professional_id: uuid.UUID, key: str, fp: str
) -> Replay | None:
    """The first answer to replay, or ``None`` once this request holds the key."""
    row = _find(session, professional_id, key)
    if row is not None:
        if row.created_at > utcnow() - timedelta(hours=settings.idempotency_ttl_hours):
            return _replay(row, fp)
        session.delete(row)  # expired: the key is free again
        session.flush()
    # One atomic statement: a concurrent request holding the key makes this one wait (its
    # row lock / the database's write lock), then insert nothing once it has committed.
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    inserted = session.execute(
        insert(ShareIdempotencyKey)
        .values(professional_id=professional_id, key=key, fingerprint=fp, created_at=utcnow())
        .on_conflict_do_nothing()
        .returning(ShareIdempotencyKey.key)
    ).first()
    if inserted is None:  # a concurrent request with this key committed first
        row = _find(session, professional_id, key)
        if row is None:  # pragma: no cover - committed, then swept at once
            raise _in_use()
        return _replay(row, fp)
    return None


def complete(
    session: Session,
    professional_id: uuid.UUID,
    key: str,
    status: int,
    body: dict[str, Any],
    document_id: uuid.UUID,
) -> None:
    """Record this request's answer under its claimed key (same transaction as the share)."""
    row = _find(session, professional_id, key)
    assert row is not None, "complete() without claim()"
    row.status, row.response, row.document_id = status, body, document_id
    session.flush()


def sweep_expired(session: Session, settings: Settings) -> int:
    """Delete the keys older than the retention; returns how many."""
    cutoff = utcnow() - timedelta(hours=settings.idempotency_ttl_hours)
    result = session.execute(
        delete(ShareIdempotencyKey).where(ShareIdempotencyKey.created_at < cutoff)
    )
    return int(getattr(result, "rowcount", 0) or 0)

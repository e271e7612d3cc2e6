"""The share as every door calls it (API v1, the web form, FHIR): once per idempotency key.

A request with an ``Idempotency-Key`` first claims the key (:mod:`.idempotency`); if the
key already holds an answer to the same request, that answer is returned instead of sharing
a second time. Otherwise the share runs (:func:`.service.share`) and the door's answer is
kept under the key, in the share's transaction. Each door shapes its answer (``answer``) and
its response; what a request *is* (its fingerprint) is decided here.
"""

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from sisra.platform.context import RequestContext
from sisra.platform.documents import idempotency, service
from sisra.platform.documents.schemas import ShareMetadata, ShareResult
from sisra.platform.events.hub import EventHub
from sisra.platform.models import Document, Notification
from sisra.platform.settings import Settings
from sisra.platform.storage import EncryptedBlobs

CREATED = 201

Answer = Callable[[Document, list[Notification]], dict[str, Any]]


@dataclass(frozen=True)
class Made:
    """A PDF made only when it is shared for the first time (the web form's letter); a
    retry is recognised by what it is made from (``digest``), not by the PDF."""

    digest: str
    make: Callable[[], BinaryIO]


@dataclass(frozen=True)
class Shared:
    """The answer to send: a new share, or the first answer to this request again."""

    status: int
    body: dict[str, Any]
    document_id: uuid.UUID
    replayed: bool
    # the new share's rows (empty when replayed: the first request made them)
    document: Document | None = None
    notifications: list[Notification] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        """What the HTTP doors add: a replay says so."""
        return {"Idempotent-Replayed": "true"} if self.replayed else {}


def result(doc: Document, notes: list[Notification]) -> dict[str, Any]:
    """API v1's answer (``ShareResult``), also the web form's."""
    out = ShareResult(document=service.to_out(doc), notifications=[n.id for n in notes])
    return out.model_dump(mode="json")


def share_once(
    session: Session,
    settings: Settings,
    ctx: RequestContext,
    blobs: EncryptedBlobs,
    hub: EventHub,
    meta: ShareMetadata,
    pdf: BinaryIO | Made,
    key: str | None,
    *,
    answer: Answer = result,
    door: str | None = None,
) -> Shared:
    """Share ``pdf`` unless this very request (``key``) was shared already.

    ``door`` marks the fingerprint: a key used on another door (FHIR's answer is not API
    v1's) is then "reused", not replayed in the wrong shape."""
    assert ctx.actor is not None
    key = idempotency.parse_key(key)
    if key is not None:
        digest = pdf.digest if isinstance(pdf, Made) else idempotency.digest(pdf)
        if door is not None:
            digest = hashlib.sha256(f"{door}\n{digest}".encode()).hexdigest()
        fp = idempotency.fingerprint(meta, digest)
        replay = idempotency.claim(session, settings, ctx.actor.id, key, fp)
        if replay is not None:
            return Shared(replay.status, replay.body, replay.document_id, replayed=True)
    upload = pdf.make() if isinstance(pdf, Made) else pdf
    doc, notes = service.share(session, settings, ctx, blobs, hub, meta, upload)
    body = answer(doc, notes)
    if key is not None:
        idempotency.complete(session, ctx.actor.id, key, CREATED, body, doc.id)
    return Shared(CREATED, body, doc.id, replayed=False, document=doc, notifications=notes)

"""Documents received by MSSanté: filed about their patient, or waiting for their recipient.

:func:`receive` runs in one transaction per message: the sender's directory row (an external
correspondent when unknown), the PDF checked and stored encrypted (removed again if the
transaction fails), then either the document and one notification per recipient — by the same
code as a share (:mod:`sisra.platform.documents.filing`), so MonSisra exports it like any
other — or, when the identity matches
no patient or several, a :class:`MailPending` row (« identité à rapprocher ») that one of the
recipients resolves in the web pages (:func:`resolve`).
"""

import hashlib
import io
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sisra.common import doctypes
from sisra.platform.audit import service as audit
from sisra.platform.context import RequestContext
from sisra.platform.directory import correspondents
from sisra.platform.directory.service import search_text
from sisra.platform.documents import filing
from sisra.platform.errors import Conflict, Forbidden, Invalid, NotFound, SisraError
from sisra.platform.events.hub import EventHub
from sisra.platform.models import (
    Document,
    MailDelivery,
    MailPending,
    MailPendingRecipient,
    Patient,
    Professional,
    utcnow,
)
from sisra.platform.mssante import matching
from sisra.platform.mssante.inbound import Author, Received, Rejected, local_sender, not_pdf
from sisra.platform.patients import service as patients
from sisra.platform.settings import Settings
from sisra.platform.storage import EncryptedBlobs


@dataclass(frozen=True)
class Delivered:
    document_id: uuid.UUID | None  # None: every recipient had it already
    pending_id: uuid.UUID | None  # set when it waits for « identité à rapprocher »
    matched_by: str
    already: frozenset[uuid.UUID] = frozenset()  # recipients it had reached before


def delivery_key(sender: str, message_id: str, recipient_id: uuid.UUID) -> str | None:
    """The identity of one message for one recipient (no ``Message-ID``: none)."""
    if not message_id.strip():
        return None
    return hashlib.sha256(f"{sender}\n{message_id.strip()}\n{recipient_id}".encode()).hexdigest()


def _already_delivered(
    session: Session, received: Received, recipients: list[Professional]
) -> frozenset[uuid.UUID]:
    keys = {
        k: p.id
        for p in recipients
        if (k := delivery_key(received.sender, received.message_id, p.id)) is not None
    }
    if not keys:
        return frozenset()
    found = session.scalars(select(MailDelivery.key).where(MailDelivery.key.in_(keys)))
    return frozenset(keys[k] for k in found)


def _store(
    session: Session, settings: Settings, blobs: EncryptedBlobs, received: Received
) -> filing.StoredPdf:
    """The PDF checked and stored as a share's is; a refusal is an SMTP reply."""
    try:
        return filing.store(session, settings, blobs, io.BytesIO(received.pdf))
    except SisraError as exc:
        if exc.code == "storage_unavailable":  # a full disk is temporary: the relay retries
            raise Rejected(
                "storage_unavailable", "452 4.3.1 Stockage indisponible, nouvel essai plus tard"
            ) from exc
        if exc.code == "file_too_large":
            mb = settings.max_document_bytes // (1024 * 1024)
            raise Rejected(
                "too_large", f"552 5.3.4 Document trop volumineux (plus de {mb} Mo)"
            ) from exc
        raise not_pdf("le document (PDF illisible ou endommage)") from exc


def _waiting(item: MailPending) -> filing.StoredPdf:
    """The stored PDF a document waiting for its patient keeps."""
    return filing.StoredPdf(
        item.document_id, item.sha256, item.size, item.page_count, item.blob_key, item.wrapped_key
    )


def _remember(session: Session, sender: Professional, author: Author) -> None:
    """Keep on the external correspondent what the archive says of its sender and what the
    directory row does not know yet: RPPS, structure, FINESS, sector of activity
    (``healthcareFacilityTypeCode``). Re-exports and the directory then name the CHU that
    sent a letter, not a « Cabinet individuel » guessed from an empty structure. A value the
    row already holds is not overwritten; an RPPS another row holds is not copied."""
    if author.rpps and not sender.rpps:
        taken = session.scalar(select(Professional.id).where(Professional.rpps == author.rpps))
        if taken is None:
            sender.rpps = author.rpps
    if author.structure and not sender.structure:
        sender.structure = author.structure
    if author.finess and not sender.finess:
        sender.finess = author.finess
    if author.sector_code and not sender.sector_code:
        sender.sector_code, sender.sector_label = author.sector_code, author.sector_label
    if session.is_modified(sender):
        sender.search_text = f"{search_text(sender)} {sender.mssante}"[:600]
        session.flush()


def _sender(session: Session, received: Received) -> Professional:
    """The external correspondent who sent the message (named by the mail, else by the
    archive's author), with what the archive says of them kept; a local professional's own
    address coming from outside is refused."""
    first, last = received.sender_name
    author = received.author or Author()
    if not (first and last) and author.first_name and author.last_name:
        first, last = author.first_name, author.last_name
    sender = correspondents.correspondent_for(session, received.sender, first, last)
    if not sender.external:  # a local professional's own address, coming from outside
        raise local_sender()
    _remember(session, sender, author)
    return sender


def _hold(
    session: Session,
    ctx: RequestContext,
    received: Received,
    stored: filing.StoredPdf,
    sender: Professional,
    match: matching.Match,
    ids: list[uuid.UUID],
    details: dict[str, object],
) -> MailPending:
    """A message no patient matched: kept, with the identity it carries, for its recipients
    to attach to the right record (audited ``mssante.pending``)."""
    identity = received.identity
    dtype = doctypes.BY_CODE[received.type_code]
    pending = MailPending(
        document_id=stored.document_id,
        reason=match.reason,
        message_id=received.message_id,
        sender_id=sender.id,
        subject=received.subject,
        title=received.title,
        type_code=dtype.code,
        loinc=dtype.loinc,
        clinical_date=received.clinical_date,
        sha256=stored.sha256,
        size=stored.size,
        page_count=stored.pages,
        blob_key=stored.blob_key,
        wrapped_key=stored.wrapped_key,
        **(
            {
                "ins": identity.ins,
                "ins_oid": identity.ins_oid,
                "birth_name": identity.birth_name,
                "used_name": identity.used_name,
                "first_given_name": identity.first_given_name,
                "birth_date": identity.birth_date,
                "sex": identity.sex,
                "birth_place_code": identity.birth_place_code,
            }
            if identity is not None
            else {}
        ),
    )
    session.add(pending)
    session.flush()
    session.add_all(MailPendingRecipient(pending_id=pending.id, professional_id=i) for i in ids)
    session.flush()
    audit.record(
        session,
        ctx,
        "mssante.pending",
        details={**details, "pending": str(pending.id), "candidates": len(match.candidates)},
    )
    return pending


def receive(
    session: Session,
    settings: Settings,
    blobs: EncryptedBlobs,
    hub: EventHub,
    ctx: RequestContext,
    recipients: list[Professional],
    received: Received,
) -> Delivered:
    """File one received message for its (already checked, local) recipients.

    A recipient the same message reached before (the relay handing it over again) is not
    given it twice; when that is every recipient, nothing is stored."""
    already = _already_delivered(session, received, recipients)
    recipients = [p for p in recipients if p.id not in already]
    if not recipients:
        audit.record(
            session,
            ctx,
            "mssante.duplicate",
            details={"sender": received.sender, "message_id": received.message_id},
        )
        return Delivered(None, None, "duplicate", already)
    sender = _sender(session, received)
    stored = _store(session, settings, blobs, received)
    match = matching.find(session, received.identity)
    ids = [p.id for p in recipients]
    session.add_all(
        MailDelivery(key=key, document_id=stored.document_id)
        for i in ids
        if (key := delivery_key(received.sender, received.message_id, i)) is not None
    )
    details = {
        "sender": received.sender,
        "recipients": [str(i) for i in ids],
        "message_id": received.message_id,
        "sha256": stored.sha256,
        "matched_by": match.by,
        **received.details,
    }
    if match.patient is not None:
        doc, _notes = filing.file(
            session,
            hub,
            ctx,
            stored,
            patient_id=match.patient.id,
            author_id=sender.id,
            title=received.title,
            type_code=received.type_code,
            clinical_date=received.clinical_date,
            recipient_ids=ids,
            action="mssante.receive",
            details=details,
        )
        return Delivered(doc.id, None, match.by, already)
    pending = _hold(session, ctx, received, stored, sender, match, ids, details)
    return Delivered(stored.document_id, pending.id, match.by, already)


def refuse(session: Session, ctx: RequestContext, code: str, details: dict[str, object]) -> None:
    """Audit a refused message (its own transaction: the import, if any, rolled back)."""
    audit.record(
        session, ctx, "mssante.refused", outcome="refused", details={"reason": code, **details}
    )


def report_ignored(session: Session, ctx: RequestContext, details: dict[str, object]) -> None:
    """A delivery or read report that matches nothing this platform sent: noted, not bounced."""
    audit.record(
        session,
        ctx,
        "mssante.report",
        outcome="failed",
        details={"reason": "rapport sans message correspondant", "applied": False, **details},
    )


# --- « Identités à rapprocher »: the recipient's side ------------------------------------


def pending_for(session: Session, ctx: RequestContext) -> list[tuple[MailPending, Professional]]:
    """The caller's unresolved items, oldest first, with their sender."""
    assert ctx.actor is not None
    rows = session.execute(
        select(MailPending, Professional)
        .join(MailPendingRecipient, MailPendingRecipient.pending_id == MailPending.id)
        .join(Professional, Professional.id == MailPending.sender_id)
        .where(
            MailPendingRecipient.professional_id == ctx.actor.id,
            MailPending.resolved_at.is_(None),
        )
        .order_by(MailPending.created_at)
        .limit(500)
    ).all()
    audit.record(session, ctx, "mssante.pending_list", details={"count": len(rows)})
    return [(p, s) for p, s in rows]


def pending_count(session: Session, professional_id: uuid.UUID) -> int:
    """How many received documents wait for this professional to name their patient."""
    stmt = (
        select(func.count())
        .select_from(MailPendingRecipient)
        .join(MailPending, MailPending.id == MailPendingRecipient.pending_id)
        .where(
            MailPendingRecipient.professional_id == professional_id,
            MailPending.resolved_at.is_(None),
        )
    )
    return session.scalar(stmt) or 0


def recipients_of(session: Session, pending_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        session.scalars(
            select(MailPendingRecipient.professional_id).where(
                MailPendingRecipient.pending_id == pending_id
            )
        )
    )


def get_pending(session: Session, ctx: RequestContext, pending_id: uuid.UUID) -> MailPending:
    """One item, for one of its recipients only (anyone else: refused and audited)."""
    assert ctx.actor is not None
    item = session.get(MailPending, pending_id)
    if item is None:
        raise NotFound("Ce document à rapprocher est introuvable.", code="pending_not_found")
    if ctx.actor.id not in recipients_of(session, item.id):
        audit.record(
            session,
            ctx,
            "mssante.pending_read",
            outcome="refused",
            details={"pending": str(item.id)},
            keep_on_failure=True,
        )
        raise Forbidden(
            "Ce document reçu par MSSanté ne vous est pas adressé : seuls ses destinataires "
            "peuvent le rapprocher d'un patient.",
            code="pending_forbidden",
        )
    return item


def read_pending(session: Session, ctx: RequestContext, pending_id: uuid.UUID) -> MailPending:
    item = get_pending(session, ctx, pending_id)
    audit.record(session, ctx, "mssante.pending_read", details={"pending": str(item.id)})
    return item


def resolve(
    session: Session,
    ctx: RequestContext,
    hub: EventHub,
    pending_id: uuid.UUID,
    patient_id: uuid.UUID,
    *,
    created: bool = False,
) -> Document:
    """File the waiting document about ``patient_id``: it becomes a normal document and every
    recipient of the message gets their notification."""
    assert ctx.actor is not None
    item = get_pending(session, ctx, pending_id)
    if item.resolved_at is not None:
        raise Conflict(
            "Ce document a déjà été rapproché d'un patient (par vous ou un autre destinataire).",
            code="pending_resolved",
        )
    patient = patients.get(session, patient_id)
    item.patient_id = patient.id
    item.resolved_by_id = ctx.actor.id
    item.resolved_at = utcnow()
    doc, _notes = filing.file(
        session,
        hub,
        ctx,
        _waiting(item),
        patient_id=patient.id,
        author_id=item.sender_id,
        title=item.title,
        type_code=item.type_code,
        clinical_date=item.clinical_date,
        recipient_ids=recipients_of(session, item.id),
        action="mssante.resolve",
        details={"pending": str(item.id), "how": "creation" if created else "choix"},
    )
    return doc


def new_patient_from(item: MailPending) -> patients.NewPatient:
    """The identity as received, to create (the form shows it, editable)."""
    if not (item.birth_name and item.first_given_name and item.birth_date and item.sex):
        raise Invalid(
            "Les traits reçus ne suffisent pas pour créer l'identité : complétez-les.",
            code="missing_traits",
        )
    return patients.NewPatient(
        birth_name=item.birth_name,
        birth_given_names=[item.first_given_name],
        first_given_name=item.first_given_name,
        used_name=item.used_name,
        birth_date=item.birth_date,
        sex=item.sex,
        birth_place_code=item.birth_place_code,
        ins=item.ins,
        ins_oid=item.ins_oid,
    )


def resolve_new_identity(
    session: Session,
    ctx: RequestContext,
    hub: EventHub,
    pending_id: uuid.UUID,
    data: patients.NewPatient,
) -> tuple[Document, Patient]:
    """Create the identity (refused as a duplicate when it exists) and file the document."""
    get_pending(session, ctx, pending_id)  # the recipient check comes before any creation
    patient = patients.create(session, ctx, data)
    return resolve(session, ctx, hub, pending_id, patient.id, created=True), patient

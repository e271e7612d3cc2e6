"""Sharing a document: one PDF about one patient, sent to N recipients, in one transaction."""

import uuid
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from sisra.common import doctypes
from sisra.platform.audit import service as audit
from sisra.platform.context import RequestContext
from sisra.platform.directory import correspondents
from sisra.platform.documents import filing
from sisra.platform.documents.schemas import (
    DocumentDetail,
    DocumentOut,
    ShareMetadata,
    ShareReceipt,
)
from sisra.platform.errors import Forbidden, Invalid, NotFound
from sisra.platform.events.hub import EventHub
from sisra.platform.models import (
    Document,
    MssanteOutbox,
    Notification,
    Professional,
    Role,
    utcnow,
)
from sisra.platform.mssante import outbox
from sisra.platform.patients import service as patients
from sisra.platform.record import service as record
from sisra.platform.settings import Settings
from sisra.platform.storage import EncryptedBlobs


def to_out(doc: Document) -> DocumentOut:
    dtype = doctypes.get(doc.type_code)
    return DocumentOut.model_validate(
        {
            **{k: getattr(doc, k) for k in DocumentOut.model_fields if hasattr(doc, k)},
            "type_label": dtype.label if dtype else doc.type_code,
        }
    )


def get(session: Session, document_id: uuid.UUID) -> Document:
    doc = session.get(Document, document_id)
    if doc is None:
        raise NotFound("Document introuvable.", code="document_not_found")
    return doc


def _check_metadata(
    session: Session, ctx: RequestContext, meta: ShareMetadata
) -> list[Professional]:
    assert ctx.actor is not None
    if ctx.actor.is_admin:
        raise Forbidden(
            "Les administrateurs ne partagent pas de documents cliniques.",
            code="admin_no_clinical_access",
        )
    patients.require(session, meta.patient_id)
    if doctypes.get(meta.type_code) is None:
        raise Invalid(
            "Type de document inconnu.",
            code="invalid_document_type",
            extra={"allowed": [t.code for t in doctypes.DOCUMENT_TYPES]},
        )
    if meta.clinical_date > utcnow().date():
        raise Invalid("La date du document ne peut pas être dans le futur.", code="invalid_date")
    # typed MSSanté addresses: a professional of the directory, or a correspondent of another
    # operator (added to the directory on first use)
    typed = [correspondents.correspondent_for(session, a).id for a in meta.external_recipients]
    wanted = list(dict.fromkeys([*meta.recipients, *typed]))
    if ctx.actor.id in wanted:
        raise Invalid(
            "Vous ne pouvez pas vous envoyer un document à vous-même.", code="self_recipient"
        )
    found = {
        p.id: p for p in session.scalars(select(Professional).where(Professional.id.in_(wanted)))
    }
    unknown = [
        str(r)
        for r in wanted
        if r not in found or not found[r].active or found[r].role != Role.professional
    ]
    if unknown:
        raise Invalid(
            "Destinataire inconnu ou inactif dans l'annuaire : vérifiez la liste des "
            "destinataires.",
            code="unknown_recipient",
            extra={"recipients": unknown},
        )
    if meta.in_reply_to is not None:
        original = session.get(Document, meta.in_reply_to)
        if original is None:
            raise Invalid(
                "Le document auquel vous répondez est introuvable.", code="invalid_in_reply_to"
            )
        record.check_document_access(session, ctx, original, "document.reply")
        if original.patient_id != meta.patient_id:
            raise Invalid(
                "La réponse doit concerner le même patient que le document d'origine.",
                code="invalid_in_reply_to",
            )
    return [found[r] for r in wanted]


def share(
    session: Session,
    settings: Settings,
    ctx: RequestContext,
    blobs: EncryptedBlobs,
    hub: EventHub,
    meta: ShareMetadata,
    upload: BinaryIO,
) -> tuple[Document, list[Notification]]:
    """Validate, encrypt and store the PDF, then create the document and its notifications."""
    assert ctx.actor is not None
    recipients = _check_metadata(session, ctx, meta)
    external = [p for p in recipients if p.external]
    mail = None
    if external:  # leaves by mail: the sender needs an address
        sender = session.get(Professional, ctx.actor.id)
        assert sender is not None
        mail = filing.MailCopies(outbox.check_sender(settings, sender), external)
    stored = filing.store(session, settings, blobs, upload)
    return filing.file(
        session,
        hub,
        ctx,
        stored,
        patient_id=meta.patient_id,
        author_id=ctx.actor.id,
        title=meta.title.strip(),
        type_code=meta.type_code,
        clinical_date=meta.clinical_date,
        recipient_ids=[p.id for p in recipients],
        in_reply_to=meta.in_reply_to,
        restricted=meta.restricted,
        mail=mail,
        action="document.share",
        details={
            "recipients": [str(p.id) for p in recipients],
            "sha256": stored.sha256,
            "size": stored.size,
            "in_reply_to": str(meta.in_reply_to or "") or None,
            "mssante": [p.mssante for p in external] or None,
        },
    )


def detail(session: Session, ctx: RequestContext, document_id: uuid.UUID) -> DocumentDetail:
    """Metadata; the author also sees each recipient's delivery and read receipts."""
    assert ctx.actor is not None
    doc = get(session, document_id)
    record.check_document_access(session, ctx, doc, "document.read_metadata")
    out = DocumentDetail.model_validate(to_out(doc).model_dump())
    if doc.author_id == ctx.actor.id:
        rows = session.execute(
            select(Notification, Professional)
            .join(Professional, Professional.id == Notification.recipient_id)
            .where(Notification.document_id == doc.id)
            .order_by(Notification.seq, Notification.created_at)
        ).all()
        mails = outbox.for_document(session, doc.id)
        out.shares = [_receipt(n, p, mails.get(n.id)) for n, p in rows]
    audit.record(
        session, ctx, "document.read_metadata", patient_id=doc.patient_id, document_id=doc.id
    )
    return out


def _receipt(n: Notification, p: Professional, mail: MssanteOutbox | None) -> ShareReceipt:
    return ShareReceipt(
        notification_id=n.id,
        recipient_id=p.id,
        recipient_name=p.display_name,
        delivered_at=n.delivered_at,
        read_at=n.read_at,
        deleted=n.deleted_at is not None,
        mssante_address=mail.recipient_address if mail else None,
        mssante_status=mail.status.value if mail else None,
        mssante_error=mail.last_error if mail else None,
    )


def open_content(
    session: Session,
    ctx: RequestContext,
    doc: Document,
    via: str,
    *,
    known_recipient: bool = False,
) -> None:
    """Check access to the bytes and audit the download (the route streams them).
    ``known_recipient``: the caller's own notification of ``doc`` is in hand (the inbox)."""
    grounds = record.check_document_access(
        session, ctx, doc, "document.download", known_recipient=known_recipient
    )
    audit.record(
        session,
        ctx,
        "document.download",
        patient_id=doc.patient_id,
        document_id=doc.id,
        details={"via": via, "grounds": grounds.value},
    )

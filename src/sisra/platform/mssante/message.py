"""The mail of one outbox row, as the MSSanté client integration guide shapes it.

A French text body saying who sends what about whom; the PDF attached as itself (readable in
any mail client); ``IHE_XDM.ZIP`` holding the CDA R2 « structuration minimale » N1 document
(the PDF in its body) with its XDS metadata, for the recipient's practice software;
``X-MSS-CODECDA`` naming the CDA's document type; ``Disposition-Notification-To`` asking
for a read receipt (MDN); the envelope asks for DSNs (see :mod:`sender`).
"""

import io
import tempfile
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from sisra.common.xdm import ZIP_NAME, validate_archive, write_pdf_xdm
from sisra.common.xdm import item as _item
from sisra.common.xdm.archive import patient_line
from sisra.common.xdm.metadata import type_code_of
from sisra.platform.documents.content import _ascii_filename as pdf_filename
from sisra.platform.inbox.service import items_for
from sisra.platform.models import Document, MssanteOutbox, Notification, utcnow
from sisra.platform.storage import EncryptedBlobs


def document_item(session: Session, row: MssanteOutbox) -> dict[str, Any]:
    """The share as the XDM writer reads it: the recipient's inbox item (same shape as
    MonSisra receives), sent now."""
    note = session.get(Notification, row.notification_id)
    assert note is not None
    (item,) = items_for(session, [note])
    item["created_at"] = utcnow().isoformat()
    return item


def read_pdf(blobs: EncryptedBlobs, doc: Document) -> bytes:
    """The PDF's plaintext, authenticated before it is used (raises on a damaged blob)."""
    args = (doc.blob_key, doc.wrapped_key, doc.id.bytes, doc.size, 0, doc.size - 1)
    blobs.verify(*args)
    return b"".join(blobs.read(*args))


def xdm_archive(item: dict[str, Any], pdf: bytes) -> tuple[bytes, bytes]:
    """(IHE_XDM.ZIP, the CDA document inside), validated as a reader will find them."""
    with tempfile.TemporaryDirectory(prefix="sisra-mss-") as tmp:
        path = Path(tmp) / "document.pdf"
        path.write_bytes(pdf)
        out = io.BytesIO()
        cda = write_pdf_xdm(out, item, path)
    validate_archive(io.BytesIO(out.getvalue()))
    return out.getvalue(), cda


def _body(item: dict[str, Any]) -> str:
    patient = f"{_item.last_name(item)} {_item.first_name(item)}".strip()
    birth = _item.fr_date(_item.birth_date(item))
    platform = _item.section(item, "platform")
    name = _item.text(platform.get("name")) or "Sisra"
    lines = [
        "Bonjour,",
        "",
        f"{_item.sender_label(item)} vous transmet le document suivant :",
        "",
        f"  {_item.title(item)} ({_item.type_label(item)})",
        f"  Date du document : {_item.fr_date(_item.document_date(item))}",
        f"  Patient : {patient}" + (f", né(e) le {birth}" if birth else ""),
        f"  {patient_line(_item.patient_identifier(item))}",
        "",
        "Le document est joint au format PDF. L'archive IHE_XDM.ZIP contient le même document "
        "au format CDA R2 avec ses métadonnées, pour l'intégrer dans votre logiciel métier.",
        "",
        f"Message envoyé par {name} par la messagerie sécurisée de santé MSSanté.",
        "Ce message contient des données de santé à caractère personnel couvertes par le "
        "secret médical : il ne doit être communiqué qu'aux professionnels qui prennent en "
        "charge le patient.",
    ]
    return "\n".join(lines) + "\n"


def build(
    session: Session, blobs: EncryptedBlobs, row: MssanteOutbox
) -> tuple[EmailMessage, dict[str, Any]]:
    """The mail of ``row`` and the item it was built from."""
    doc = session.get(Document, row.document_id)
    assert doc is not None
    item = document_item(session, row)
    pdf = read_pdf(blobs, doc)
    archive, _cda = xdm_archive(item, pdf)
    msg = EmailMessage()
    msg["From"] = formataddr((_item.sender_label(item), row.sender_address))
    msg["To"] = row.recipient_address
    patient = f"{_item.last_name(item)} {_item.first_name(item)}".strip()
    msg["Subject"] = f"{_item.title(item)} — {patient}"
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = row.message_id
    msg["Disposition-Notification-To"] = row.sender_address
    # the CDA's code: JDV_J07, from the document's type (decision 137)
    msg["X-MSS-CODECDA"] = type_code_of(item).code
    msg.set_content(_body(item))
    msg.add_attachment(
        pdf, maintype="application", subtype="pdf", filename=pdf_filename(_item.title(item))
    )
    msg.add_attachment(archive, maintype="application", subtype="zip", filename=ZIP_NAME)
    return msg, item


def patient_of(session: Session, document_id: Any) -> Any:
    doc = session.get(Document, document_id)
    return doc.patient_id if doc is not None else None

"""MSSanté tests: the test mail space's domains, MDNs as another operator's software sends
them, and what a refused message leaves (nothing stored, an audited refusal)."""

import secrets
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import select

from sisra.platform.models import AuditEvent

PLATFORM_DOMAIN = "sisra.mssante.test"  # the platform's own MSSanté domain


EXTERNAL_DOMAIN = "chu-exemple.mssante.test"  # another operator's, read through IMAP


ELF = b"\x7fELF\x02\x01\x01\x00" + secrets.token_bytes(200)


def stored_blobs(settings: Any) -> list[Path]:
    root = settings.effective_blob_dir
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def audited_refusals(db: Any) -> list[dict[str, Any]]:
    with db() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "mssante.refused")
        ).all()
        assert all(r.outcome == "refused" for r in rows)
        return [r.details for r in rows]


def mdn_for(original: EmailMessage, reader: str) -> EmailMessage:
    report = EmailMessage()
    report["From"] = reader
    report["To"] = original["Disposition-Notification-To"]
    report["Subject"] = f"Lu : {original['Subject']}"
    report.set_content("Votre message a été affiché.\n")
    fields = EmailMessage()
    fields.set_content(
        f"Reporting-UA: messagerie.{EXTERNAL_DOMAIN}; webmail\n"
        f"Final-Recipient: rfc822;{reader}\n"
        f"Original-Message-ID: {original['Message-ID']}\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\n"
    )
    report.make_mixed()
    report.attach(report_part("message/disposition-notification", fields.get_content()))
    report.replace_header("Content-Type", "multipart/report")
    report.set_param("report-type", "disposition-notification")
    return report


def report_part(content_type: str, text: str) -> EmailMessage:
    part = EmailMessage()
    part["Content-Type"] = content_type
    part.set_payload(text)
    return part

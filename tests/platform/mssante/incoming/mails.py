"""Messages as another MSSanté operator sends them: plain mail with a PDF, IHE XDM archives."""

import io
import smtplib
import uuid
import zipfile
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from sisra.common.ins import OID_NIR
from sisra.common.xdm import write_xdm

PLATFORM_DOMAIN = "sisra.mssante.fr"
SENDER = "dr.martin@chu-exemple.mssante.fr"


def xdm_item(
    patient: dict[str, Any], title: str = "Compte rendu d'hospitalisation"
) -> dict[str, Any]:
    """A document description as the XDM writer takes it (the sender's side)."""
    return {
        "id": str(uuid.uuid4()),
        "created_at": datetime.now(UTC).isoformat(),
        "document": {
            "id": str(uuid.uuid4()),
            "title": title,
            "type_code": "cr_hospitalisation",
            "type_label": "Compte rendu d'hospitalisation",
            "loinc": "34112-3",
            "clinical_date": date.today().isoformat(),
            "in_reply_to": None,
        },
        # a qualified identity: the sender's writer carries its INS (docs/interop.md)
        "patient": {
            "id": str(uuid.uuid4()),
            "ins_oid": OID_NIR,
            "identity_status": "qualifiée",
            **patient,
        },
        "sender": {
            "name": "Jean MARTIN",
            "first_name": "Jean",
            "last_name": "Martin",
            "profession": "Médecin",
            "structure": "CHU Exemple",
            "rpps": "10003456789",
        },
        "recipient": {},
        "platform": {"name": "Opérateur MSSanté d'exemple", "url": "", "contact_email": ""},
    }


def xdm_zip(tmp: Path, patient: dict[str, Any], pdf: bytes, **item: Any) -> bytes:
    source = tmp / f"{uuid.uuid4().hex}.pdf"
    source.write_bytes(pdf)
    buf = io.BytesIO()
    write_xdm(buf, {**xdm_item(patient), **item}, source)
    return buf.getvalue()


def message(
    to: str | list[str],
    *,
    sender: str = SENDER,
    subject: str = "Compte rendu",
    attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
    body: str = "Bonjour, veuillez trouver ci-joint le compte rendu.\n",
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Dr Jean Martin <{sender}>"
    msg["To"] = ", ".join([to] if isinstance(to, str) else to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="chu-exemple.mssante.fr")
    msg.set_content(body)
    for name, ctype, data in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def with_pdf(to: str | list[str], pdf: bytes, **kw: Any) -> EmailMessage:
    return message(to, attachments=[("compte-rendu.pdf", "application/pdf", pdf)], **kw)


def with_xdm(to: str | list[str], archive: bytes, **kw: Any) -> EmailMessage:
    return message(to, attachments=[("IHE_XDM.ZIP", "application/zip", archive)], **kw)


def zip_of(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buf.getvalue()


def lmtp(
    port: int, mail_from: str, rcpts: list[str], data: bytes | EmailMessage
) -> dict[str, tuple[int, str]]:
    """Speak LMTP to the gateway as the relay does: the reply to each recipient.

    A recipient refused at RCPT gets that reply; the accepted ones get theirs after DATA,
    one each (smtplib's ``sendmail`` reads only one, so the replies are read here)."""
    # on the wire, lines end with CRLF (smtplib leaves bytes as they are)
    raw = data.as_bytes(policy=SMTP) if isinstance(data, EmailMessage) else data
    replies: dict[str, tuple[int, str]] = {}
    with smtplib.LMTP("127.0.0.1", port, timeout=60) as client:
        client.ehlo("relais.test")
        code, text = client.mail(mail_from)
        if code != 250:
            return {r: (code, text.decode()) for r in rcpts}
        accepted = []
        for rcpt in rcpts:
            code, text = client.rcpt(rcpt)
            if code == 250:
                accepted.append(rcpt)
            else:
                replies[rcpt] = (code, text.decode())
        if not accepted:
            return replies
        code, text = client.data(raw)
        replies[accepted[0]] = (code, text.decode())
        for rcpt in accepted[1:]:
            code, text = client.getreply()
            replies[rcpt] = (code, text.decode())
    return replies

"""The sender: mails the outbox through the operator's relay, with retries.

Each server process runs one :class:`SenderThread`. It wakes when a share with external
recipients commits in this process, and every ``mssante_poll_s`` otherwise (rows shared on
another node, retries coming due). A row is claimed before its attempt (see
:mod:`outbox`), the mail is built and sent outside any transaction, then the outcome is
written and audited in its own transaction.

The relay is reached with SMTP + STARTTLS, the platform's client certificate and the CAs of
``mssante_ca_file``; the envelope asks for DSNs (``RET=HDRS``, ``ENVID=<outbox id>``,
``NOTIFY=SUCCESS,FAILURE``, ``ORCPT``) so that the receipts can come back (:mod:`receipts`).
"""

import logging
import smtplib
import ssl
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from sisra.platform.audit import service as audit
from sisra.platform.auth.mailer import MailError, wire_bytes
from sisra.platform.context import RequestContext
from sisra.platform.db import unit_of_work
from sisra.platform.models import MssanteOutbox, OutboxStatus, utcnow
from sisra.platform.mssante import message, outbox
from sisra.platform.periodic import Periodic
from sisra.platform.settings import Settings
from sisra.platform.storage import EncryptedBlobs, IntegrityError

log = logging.getLogger(__name__)

GATEWAY = RequestContext(actor=None, ip=None, user_agent="passerelle MSSanté")


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: sent, or an error (permanent or worth a retry)."""

    sent: bool
    permanent: bool = False
    reason: str = ""


def tls_context(settings: Settings) -> ssl.SSLContext:
    cafile = str(settings.mssante_ca_file) if settings.mssante_ca_file else None
    context = ssl.create_default_context(cafile=cafile)
    if settings.mssante_client_cert:
        key = settings.mssante_client_key or settings.mssante_client_cert
        context.load_cert_chain(str(settings.mssante_client_cert), str(key))
    return context


def _smtp_reason(code: int, text: bytes | str) -> str:
    words = text.decode(errors="replace") if isinstance(text, bytes) else text
    return f"{code} {words}".strip()[:300]


def deliver(settings: Settings, row: MssanteOutbox, msg: bytes) -> Outcome:
    """One SMTP transaction with the relay."""
    host = settings.mssante_relay_host
    assert host is not None
    try:
        with smtplib.SMTP(
            host, settings.mssante_relay_port, timeout=settings.mssante_timeout_s
        ) as smtp:
            smtp.ehlo()
            smtp.starttls(context=tls_context(settings))
            smtp.ehlo()
            mail_options: list[str] = []
            rcpt_options: list[str] = []
            if smtp.has_extn("dsn"):
                mail_options = ["RET=HDRS", f"ENVID={row.id}"]
                rcpt_options = [
                    "NOTIFY=SUCCESS,FAILURE",
                    f"ORCPT=rfc822;{row.recipient_address}",
                ]
            smtp.sendmail(
                row.sender_address,
                [row.recipient_address],
                msg,
                mail_options=mail_options,
                rcpt_options=rcpt_options,
            )
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        return Outcome(
            False,
            permanent=code >= 500,
            reason="Le relais MSSanté a refusé le destinataire : " + _smtp_reason(code, text),
        )
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
        return Outcome(
            False,
            permanent=exc.smtp_code >= 500,
            reason="Le relais MSSanté a refusé le message : "
            + _smtp_reason(exc.smtp_code, exc.smtp_error),
        )
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        return Outcome(
            False, reason=f"Le relais MSSanté est injoignable ({exc or type(exc).__name__})."
        )
    return Outcome(True)


class OutboxSender:
    """Sends what is due; :meth:`run_once` is one pass (the thread loops over it)."""

    def __init__(
        self, settings: Settings, factory: sessionmaker[Session], blobs: EncryptedBlobs
    ) -> None:
        self.settings, self.factory, self.blobs = settings, factory, blobs

    def run_once(self) -> int:
        """Attempt every due row this sender can claim; returns how many were attempted."""
        with self.factory() as session:
            due = outbox.due_ids(session, utcnow())
        done = 0
        for row_id in due:
            with unit_of_work(self.factory) as session:
                if not outbox.claim(session, row_id, utcnow()):
                    continue  # another sender has it
            self._attempt(row_id)
            done += 1
        return done

    def _attempt(self, row_id: uuid.UUID) -> None:
        with self.factory() as session:
            row = session.get(MssanteOutbox, row_id)
            assert row is not None
            try:
                msg, _item = message.build(session, self.blobs, row)
            except (IntegrityError, OSError) as exc:
                log.error("outbox %s: the document could not be read (%s)", row_id, exc)
                outcome = Outcome(
                    False,
                    permanent=True,
                    reason="Le document est endommagé sur le serveur Sisra : il n'a pas pu "
                    "être envoyé. Prévenez l'assistance.",
                )
            else:
                session.expunge(row)
                try:
                    wire = wire_bytes(msg)  # CRLF, lines of at most 998 characters
                except MailError as exc:
                    log.error("outbox %s: the mail could not be serialised (%s)", row_id, exc)
                    outcome = Outcome(
                        False,
                        permanent=True,
                        reason="Le message n'a pas pu être mis en forme pour l'envoi : "
                        "prévenez l'assistance.",
                    )
                else:
                    outcome = deliver(self.settings, row, wire)
        self._record(row_id, outcome)

    def _record(self, row_id: uuid.UUID, outcome: Outcome) -> None:
        with unit_of_work(self.factory) as session:
            row = session.get(MssanteOutbox, row_id)
            assert row is not None
            now = utcnow()
            row.claimed_until = None
            details = {
                "address": row.recipient_address,
                "outbox": str(row.id),
                "attempt": row.attempts,
            }
            if outcome.sent:
                row.status, row.sent_at, row.last_error = OutboxStatus.sent, now, None
                action, result = "mssante.sent", "ok"
            elif outcome.permanent or row.attempts >= self.settings.mssante_max_attempts:
                row.status = OutboxStatus.failed
                row.last_error = (
                    outcome.reason
                    if outcome.permanent
                    else (
                        f"Envoi abandonné après {row.attempts} tentatives. {outcome.reason} "
                        "Renvoyez le document plus tard ou prévenez l'administrateur."
                    )[:500]
                )
                action, result = "mssante.failed", "failed"
                details["reason"] = row.last_error
            else:
                row.next_attempt_at = now + outbox.backoff(self.settings, row.attempts)
                row.last_error = (
                    f"{outcome.reason} Nouvelle tentative prévue (tentative {row.attempts})."
                )[:500]
                action, result = "mssante.retry", "failed"
                details["reason"] = row.last_error
            note_doc = row.document_id
            patient_id = message.patient_of(session, note_doc)
            audit.record(
                session,
                GATEWAY,
                action,
                patient_id=patient_id,
                document_id=note_doc,
                outcome=result,
                details=details,
            )


class SenderThread(Periodic):
    """The sender of one server process: wakes on a commit or every ``mssante_poll_s``."""

    def __init__(self, sender: OutboxSender) -> None:
        super().__init__(
            "mssante-out",
            sender.settings.mssante_poll_s,
            self._pass,
            wake=outbox.wake_event(),
        )
        self.sender = sender

    def _pass(self) -> None:
        self.sender.run_once()

"""Sending e-mail over SMTP (plain, STARTTLS or implicit TLS), for one-time codes."""

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from sisra.settings import Settings


class MailError(Exception):
    """The message could not be handed to the SMTP server."""


def send_mail(settings: Settings, to: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"] = settings.smtp_sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="sisra")
    msg.set_content(body)
    context = ssl.create_default_context()
    try:
        smtp: smtplib.SMTP
        if settings.smtp_security == "tls":
            smtp = smtplib.SMTP_SSL(
                settings.smtp_host,
                settings.smtp_port,
                timeout=settings.smtp_timeout_s,
                context=context,
            )
        else:
            smtp = smtplib.SMTP(
                settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s
            )
        with smtp:
            if settings.smtp_security == "starttls":
                smtp.starttls(context=context)
            if settings.smtp_user and settings.smtp_password:
                smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        # never include the message (it holds the code) in the error
        raise MailError(
            f"{type(exc).__name__} ({settings.smtp_host}:{settings.smtp_port})"
        ) from exc

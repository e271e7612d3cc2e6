"""Sending e-mail over SMTP (plain, STARTTLS or implicit TLS), for one-time codes.

:func:`wire_bytes` is how every mail of the platform is serialised for SMTP (one-time codes
here, MSSanté shares in :mod:`sisra.platform.mssante.sender`): lines end in CRLF and none is
longer than 998 characters (RFC 5321 §2.3.8 and §4.5.3.1.6). smtplib sends bytes as they
are, so a message serialised with the default policy (bare LF) is one endless line to a
relay that follows RFC 5321, and is refused by Postfix's ``smtpd_forbid_bare_newline``.
"""

import re
import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

from sisra.platform.settings import Settings

# RFC 5321 §4.5.3.1.6: at most 998 characters before the CRLF
MAX_LINE = 998
_BARE_LINE_END = re.compile(rb"\r(?!\n)|(?<!\r)\n")


class MailError(Exception):
    """The message could not be handed to the SMTP server."""


def wire_bytes(msg: EmailMessage) -> bytes:
    """``msg`` as it goes on the wire: CRLF line ends, headers folded, bodies encoded so that
    no line exceeds 998 characters (``email.policy.SMTP``). The generator copies some
    payloads verbatim (a ``message/*`` part given as text): a bare CR or LF left there
    becomes CRLF too. Raises :class:`MailError` if a line is still too long (an unfoldable
    header), rather than have a relay refuse or cut it."""
    data = _BARE_LINE_END.sub(b"\r\n", msg.as_bytes(policy=policy.SMTP))
    if any(len(line) > MAX_LINE for line in data.split(b"\r\n")):
        raise MailError("une ligne du message dépasse 998 caractères (RFC 5321)")
    return data


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
            smtp.sendmail(parseaddr(settings.smtp_sender)[1], [to], wire_bytes(msg))
    except (OSError, smtplib.SMTPException) as exc:
        # never include the message (it holds the code) in the error
        raise MailError(
            f"{type(exc).__name__} ({settings.smtp_host}:{settings.smtp_port})"
        ) from exc

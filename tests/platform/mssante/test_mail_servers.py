"""The test MSSanté space itself: the relay only takes certified clients, mail reaches IMAP,
DSNs come back to the sender."""

import re
import smtplib
import ssl
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from sisra.devtools.mailservers import MailServers, new_mailbox
from sisra.devtools.pki import issue_tls_cert, make_ca, save_tls_identity
from sisra.devtools.ports import free_port
from support.mssante import EXTERNAL_DOMAIN, PLATFORM_DOMAIN


def _message(sender: str, to: str, subject: str = "Essai") -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg.set_content("Bonjour,\nceci est un essai.\n")
    return msg


def test_the_relay_refuses_a_client_without_certificate(mail_servers: MailServers) -> None:
    to = new_mailbox(EXTERNAL_DOMAIN)
    msg = _message(new_mailbox(PLATFORM_DOMAIN), to)
    # no TLS at all
    with smtplib.SMTP("127.0.0.1", mail_servers.relay_port, timeout=30) as smtp:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            smtp.send_message(msg)
        assert refused.value.smtp_code == 530
    # TLS, but no client certificate
    with smtplib.SMTP("127.0.0.1", mail_servers.relay_port, timeout=30) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=str(mail_servers.ca_cert)))
        with pytest.raises(smtplib.SMTPException):
            smtp.send_message(msg)
    assert mail_servers.fetch(to) == []


def test_the_relay_refuses_a_certificate_of_another_authority(
    mail_servers: MailServers, tmp_path: Path
) -> None:
    other = make_ca("AC inconnue")
    cert, key = save_tls_identity(
        tmp_path,
        "intrus",
        lambda k: issue_tls_cert(other, k, common_name="intrus.test", server=False),
    )
    context = ssl.create_default_context(cafile=str(mail_servers.ca_cert))
    context.load_cert_chain(str(cert), str(key))
    to = new_mailbox(EXTERNAL_DOMAIN)
    with (
        pytest.raises((smtplib.SMTPException, ssl.SSLError, OSError)),
        smtplib.SMTP("127.0.0.1", mail_servers.relay_port, timeout=30) as smtp,
    ):
        smtp.starttls(context=context)
        smtp.send_message(_message(new_mailbox(PLATFORM_DOMAIN), to))
    assert mail_servers.fetch(to) == []


def test_a_certified_client_reaches_the_other_operator_with_a_dsn_back(
    mail_servers: MailServers,
) -> None:
    sender, to = new_mailbox(PLATFORM_DOMAIN), new_mailbox(EXTERNAL_DOMAIN)
    mail_servers.send(
        _message(sender, to, "Compte rendu"),
        mail_servers.relay_port,
        mail_options=["RET=HDRS", "ENVID=essai-1"],
        rcpt_options=["NOTIFY=SUCCESS,FAILURE"],
    )
    (arrived,) = mail_servers.wait_for(to, 1)
    assert arrived["Subject"] == "Compte rendu"
    assert "ceci est un essai" in arrived.get_body().get_content()  # type: ignore[union-attr]
    (report,) = mail_servers.wait_for(sender, 1)
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    status = next(p for p in report.walk() if p.get_content_type() == "message/delivery-status")
    text = status.as_string()
    assert "Original-Envelope-Id: essai-1" in text
    assert "Status: 2.0.0" in text
    # Postfix says « relayed » for LMTP to another host (Dovecot does not take DSN duties)
    assert re.search(r"^Action: (delivered|relayed)$", text, re.MULTILINE)


def test_the_entrance_refuses_to_relay_elsewhere(mail_servers: MailServers) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        mail_servers.send(_message(new_mailbox(EXTERNAL_DOMAIN), "quelquun@ailleurs.test"))


def test_mail_for_the_platform_waits_for_its_gateway(tmp_path: Path) -> None:
    """Without a gateway the platform's mail stays queued; once one listens (an LMTP server)
    and Postfix is told, the queue is delivered to it."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.lmtp import LMTP

    received: list[bytes] = []

    class Keep:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            received.append(envelope.original_content)  # type: ignore[attr-defined]
            return "250 2.0.0 reçu"

    class LmtpController(Controller):
        def factory(self) -> LMTP:
            return LMTP(self.handler)

    with MailServers(tmp_path, PLATFORM_DOMAIN, EXTERNAL_DOMAIN, None) as servers:
        servers.send(_message(new_mailbox(EXTERNAL_DOMAIN), new_mailbox(PLATFORM_DOMAIN)))
        _wait_log(servers, "status=deferred")
        gateway = LmtpController(Keep(), hostname="127.0.0.1", port=free_port())
        gateway.start()
        try:
            servers.set_gateway(("127.0.0.1", gateway.port))
            deadline = time.monotonic() + 30
            while not received and time.monotonic() < deadline:
                servers.flush()
                time.sleep(0.5)
        finally:
            gateway.stop()
    assert received and b"ceci est un essai" in received[0]
    assert (tmp_path / "postfix.log").is_file()  # the logs stay with the test


def _wait_log(servers: MailServers, needle: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        log = servers.postfix_log.read_text()
        if needle in log:
            return log
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} absent du journal de Postfix")


@pytest.mark.parametrize("taken", ["relay_port", "imap_port"])
def test_a_port_taken_before_the_start_means_other_ports(tmp_path: Path, taken: str) -> None:
    """Another socket of the machine holds a chosen port (an outgoing connection got it as
    its local port): the daemon that needed it exits without a word, and the servers start
    again on fresh ports rather than failing the run."""
    import socket

    servers = MailServers(tmp_path, PLATFORM_DOMAIN, EXTERNAL_DOMAIN, None)
    port = getattr(servers, taken)
    listener = socket.create_server(("127.0.0.1", 0))
    holder = socket.socket()
    holder.bind(("127.0.0.1", port))
    holder.connect(listener.getsockname())
    try:
        with servers:
            assert getattr(servers, taken) != port
            to = new_mailbox(EXTERNAL_DOMAIN)
            servers.send(_message(new_mailbox(PLATFORM_DOMAIN), to))
            deadline = time.monotonic() + 30
            while not servers.fetch(to) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert servers.fetch(to), "no mail through the servers started on other ports"
    finally:
        holder.close()
        listener.close()


def test_the_relay_refuses_bare_line_feeds(mail_servers: MailServers) -> None:
    """The test relay is as strict as operators' relays (``smtpd_forbid_bare_newline =
    reject``): a message whose lines end in a bare LF is refused, so a sender that puts
    one on the wire fails the suite."""
    msg = _message(new_mailbox(PLATFORM_DOMAIN), new_mailbox(EXTERNAL_DOMAIN))
    with (
        smtplib.SMTP("127.0.0.1", mail_servers.smtp_port, timeout=30) as smtp,
        pytest.raises(smtplib.SMTPDataError) as refused,
    ):
        smtp.sendmail(msg["From"], [msg["To"]], msg.as_bytes())  # default policy: LF
    assert refused.value.smtp_code == 550
    assert b"bare <LF>" in refused.value.smtp_error


def test_a_port_is_taken_for_ready_only_when_this_start_greets_on_it(
    mail_servers: MailServers,
) -> None:
    """Readiness is the daemon's own greeting, with this start's mark: not an open port,
    which another program of the machine may hold (then the daemon that could not bind it
    exits a moment later, and mail sent meanwhile meets that other program)."""
    import socket
    import threading

    from sisra.devtools.mailservers import _greets

    token = mail_servers._token
    for port in (
        mail_servers.smtp_port,
        mail_servers.relay_port,
        mail_servers.imap_port,
        mail_servers.lmtp_port,
    ):
        assert _greets(port, token), port
    other = socket.create_server(("127.0.0.1", 0))

    def answer(greeting: bytes) -> None:
        conn, _ = other.accept()
        with conn:
            conn.sendall(greeting)

    try:
        port = other.getsockname()[1]
        for greeting in (b"220 autre.test ESMTP Postfix\r\n", b""):  # another server; a reset
            helper = threading.Thread(target=answer, args=(greeting,))
            helper.start()
            assert not _greets(port, token)
            helper.join(5)
    finally:
        other.close()
    assert not _greets(free_port(), token)  # nobody there

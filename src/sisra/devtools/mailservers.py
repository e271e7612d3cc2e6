"""Real mail servers on loopback for the MSSanté gateway's tests: Postfix and Dovecot.

One Postfix instance plays the MSSanté operators' side of the trust space:

* ``smtp_port`` — the entrance of the « espace de confiance »: another operator hands mail
  over here (plain SMTP on loopback; the tests inject their messages there);
* ``relay_port`` — the relay of the platform's own operator: STARTTLS required and a client
  certificate issued by the test CA required and verified, then it relays for the platform.

Mail for ``@platform_domain`` goes by LMTP to the platform's gateway (``gateway_lmtp``; when
None it stays deferred in the queue, or goes to Dovecot with ``platform_mailbox=True``); mail
for ``@external_domain`` goes by LMTP to a Dovecot instance, readable by IMAP on
``imap_port`` with any address of the domain and :data:`PASSWORD`. Any other domain is
refused by Postfix (a failure DSN). Postfix writes the DSNs (RFC 3464) the envelopes ask for.

Both run as separate instances with their own configuration, queue, data and runtime
directories in a short temporary directory (Unix socket paths are limited, and the daemons'
unprivileged users must be able to reach them), never the system's configuration; their logs
are linked from ``base_dir`` while they run and copied there when they stop. Postfix's master
refuses to run without root, so this needs root (as in the CI containers).
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import re
import secrets
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Sequence
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from types import TracebackType
from typing import Self

from sisra.devtools.pki import (
    CA_CERT_FILE,
    TestCA,
    issue_tls_cert,
    load_or_create_ca,
    save_ca,
    save_tls_identity,
)
from sisra.devtools.ports import free_port, start_on_fresh_ports

PASSWORD = "mssante-test"  # noqa: S105 - the IMAP password of every test mailbox
POSTFIX_DAEMONS = Path("/usr/lib/postfix/sbin")
DOVECOT = "/usr/sbin/dovecot"
_QUEUE_DIRS = (
    "active",
    "bounce",
    "corrupt",
    "defer",
    "deferred",
    "flush",
    "hold",
    "incoming",
    "private",
    "saved",
    "trace",
)
_LOG_TAIL = 4000


class MailServerError(RuntimeError):
    """A server did not start; the message carries the end of its log."""


def _greets(port: int, token: str) -> bool:
    """The daemon of this instance answers on ``port``: its greeting carries ``token``. An
    open port alone is not proof: another process of the machine may hold it (a daemon that
    failed to bind exits a moment later), or the daemon may accept before it can serve."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            greeting = b""
            while b"\n" not in greeting and len(greeting) < 1024:
                chunk = s.recv(1024)
                if not chunk:
                    break
                greeting += chunk
    except OSError:
        return False
    return token.encode() in greeting


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-_LOG_TAIL:]
    except OSError:
        return "(pas de journal)"


class MailServers:
    """``with MailServers(tmp, "sisra.mssante.test", "autre.mssante.test", None) as mail:``"""

    def __init__(
        self,
        base_dir: Path,
        platform_domain: str,
        external_domain: str,
        gateway_lmtp: tuple[str, int] | None,
        *,
        platform_mailbox: bool = False,
        ca: TestCA | None = None,
    ) -> None:
        self.base_dir = Path(base_dir)
        self.platform_domain = platform_domain.lower()
        self.external_domain = external_domain.lower()
        self.gateway_lmtp = gateway_lmtp
        self.platform_mailbox = platform_mailbox
        self.hostname = "relais.operateur.test"
        self._choose_ports()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if ca is not None:
            save_ca(ca, self.base_dir / "ca")
        self._ca = ca or load_or_create_ca(self.base_dir / "ca")
        self.ca_cert = self.base_dir / "ca" / CA_CERT_FILE
        # the platform's identity at its operator's relay
        self.client_cert, self.client_key = save_tls_identity(
            self.base_dir / "tls",
            "platform",
            lambda key: issue_tls_cert(
                self._ca, key, common_name=f"mail.{self.platform_domain}", server=False
            ),
        )
        self.runtime: Path | None = None
        self._postfix: subprocess.Popen[bytes] | None = None
        self._dovecot: subprocess.Popen[bytes] | None = None

    # ------------------------------------------------------------------ paths

    def _rt(self, *parts: str) -> Path:
        assert self.runtime is not None, "servers not started"
        return self.runtime.joinpath(*parts)

    @property
    def postfix_log(self) -> Path:
        return self.base_dir / "postfix.log"

    @property
    def dovecot_log(self) -> Path:
        return self.base_dir / "dovecot.log"

    # ------------------------------------------------------------------ lifecycle

    def _choose_ports(self) -> None:
        self.smtp_port = free_port()
        self.relay_port = free_port()
        self.imap_port = free_port()
        self.lmtp_port = free_port()  # Dovecot's LMTP, where Postfix delivers

    def start(self, timeout: float = 30.0, attempts: int = 3) -> Self:
        """Dovecot, then Postfix; again on fresh ports when one was taken meanwhile."""
        return start_on_fresh_ports(
            lambda: self._start_once(timeout), self._choose_ports, MailServerError, attempts
        )

    def _start_once(self, timeout: float) -> Self:
        if os.geteuid() != 0:
            raise MailServerError("Postfix ne démarre qu'en root (son processus maître l'exige).")
        self.runtime = Path(tempfile.mkdtemp(prefix="sisra-mail-"))
        self.runtime.chmod(0o755)
        for name in ("postfix.log", "dovecot.log"):
            self._rt(name).touch()
            link = self.base_dir / name
            link.unlink(missing_ok=True)
            link.symlink_to(self._rt(name))
        try:
            self._start_dovecot(timeout)
            self._start_postfix(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for proc in (self._postfix, self._dovecot):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        self._postfix = self._dovecot = None
        if self.runtime is None:
            return
        for name in ("postfix.log", "dovecot.log"):
            link = self.base_dir / name
            link.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                shutil.copyfile(self._rt(name), link)
        shutil.rmtree(self.runtime, ignore_errors=True)
        self.runtime = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def _token(self) -> str:
        """This start's own mark, in its daemons' greetings (:func:`_greets`)."""
        return f"sisra-{self.runtime.name if self.runtime else 'mail'}"

    def _wait_ports(
        self,
        proc: subprocess.Popen[bytes],
        ports: Sequence[int],
        log: Path,
        timeout: float,
    ) -> None:
        """Wait until ``proc`` greets with this start's token on each of ``ports``."""
        deadline = time.monotonic() + timeout
        # a daemon that could not bind (another socket took its port) exits: the port may
        # still answer, but not from it; hence the greeting, not an open port
        while proc.poll() is not None or not all(_greets(p, self._token) for p in ports):
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                if proc.poll() is None:
                    proc.kill()
                raise MailServerError(
                    f"{log.stem} n'a pas démarré (ports {list(ports)}).\n{out}\n{_tail(log)}"
                )
            time.sleep(0.1)

    # ------------------------------------------------------------------ Dovecot

    def _dovecot_conf(self) -> str:
        nobody = pwd.getpwnam("nobody")
        mail = self._rt("mail")
        return f"""\
base_dir = {self._rt("dovecot-run")}
state_dir = {self._rt("dovecot-state")}
instance_name = {self._token}
login_greeting = Dovecot ready ({self._token})
protocols = imap lmtp
listen = 127.0.0.1
log_path = {self._rt("dovecot.log")}
info_log_path = {self._rt("dovecot.log")}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{mail}/%Ld/%Ln
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = {nobody.pw_uid}
last_valid_uid = {nobody.pw_uid}
first_valid_gid = {nobody.pw_gid}
last_valid_gid = {nobody.pw_gid}
postmaster_address = postmaster@{self.external_domain}
hostname = imap.{self.external_domain}
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={nobody.pw_uid} gid={nobody.pw_gid} home={mail}/%Ld/%Ln allow_all_users=yes
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp_port}
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = 0
  }}
}}
"""

    def _start_dovecot(self, timeout: float) -> None:
        nobody = pwd.getpwnam("nobody")
        for name in ("dovecot-run", "dovecot-state", "dovecot"):
            self._rt(name).mkdir(mode=0o755)
        mail = self._rt("mail")
        mail.mkdir(mode=0o700)
        os.chown(mail, nobody.pw_uid, nobody.pw_gid)
        conf = self._rt("dovecot", "dovecot.conf")
        conf.write_text(self._dovecot_conf())
        self._dovecot = subprocess.Popen(  # noqa: S603 - our own arguments
            [DOVECOT, "-F", "-c", str(conf)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ports(self._dovecot, (self.imap_port, self.lmtp_port), self.dovecot_log, timeout)

    # ------------------------------------------------------------------ Postfix

    def _platform_route(self) -> tuple[str, str]:
        """(transport for the platform's domain, defer_transports)."""
        if self.gateway_lmtp is not None:
            host, port = self.gateway_lmtp
            return f"gateway:inet:{host}:{port}", ""
        if self.platform_mailbox:
            return f"lmtp:inet:127.0.0.1:{self.lmtp_port}", ""
        # no gateway yet: accepted, then kept in the queue until one is set
        return "gateway:inet:127.0.0.1:9", "gateway"

    def _transport(self) -> str:
        platform, _deferred = self._platform_route()
        return (
            f"{self.platform_domain} {platform}\n"
            f"{self.external_domain} lmtp:inet:127.0.0.1:{self.lmtp_port}\n"
            "* error:5.1.2 domain outside the test MSSante trust space\n"
        )

    def _main_cf(self, server_cert: Path, server_key: Path) -> str:
        return f"""\
compatibility_level = 3.6
queue_directory = {self._rt("postfix-queue")}
data_directory = {self._rt("postfix-data")}
meta_directory = {self._rt("postfix")}
command_directory = /usr/sbin
daemon_directory = {POSTFIX_DAEMONS}
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = {self.hostname}
mydomain = operateur.test
myorigin = $myhostname
mydestination =
local_transport = error:5.1.1 pas de boîte aux lettres locale
alias_maps =
alias_database =
local_recipient_maps =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains = {self.platform_domain}, {self.external_domain}
transport_maps = texthash:{self._rt("postfix", "transport")}
defer_transports = {self._platform_route()[1]}
smtpd_banner = $myhostname ESMTP {self._token}
smtpd_relay_restrictions = reject_unauth_destination
maillog_file = {self._rt("postfix.log")}
maillog_file_prefixes = {self.runtime}
biff = no
smtputf8_enable = no
smtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 10s
delay_warning_time = 0
maximal_queue_lifetime = 1d
bounce_queue_lifetime = 1d
smtpd_tls_cert_file = {server_cert}
smtpd_tls_key_file = {server_key}
smtpd_tls_CAfile = {self.ca_cert}
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
# strict line ends, as operators' relays are (Postfix's SMTP smuggling defence): a line that
# ends in a bare LF is refused with 550 ("reject"; "yes" only normalizes it since Postfix
# 3.7.11), from loopback clients too (the exclusions default to $mynetworks)
smtpd_forbid_bare_newline = reject
smtpd_forbid_bare_newline_exclusions =
"""

    def _master_cf(self) -> str:
        services = [
            # the trust space's entrance: other operators hand mail over, no relaying
            f"127.0.0.1:{self.smtp_port} inet n - n - - smtpd",
            # the platform's relay: TLS, a certificate of the test CA, then relaying
            f"127.0.0.1:{self.relay_port} inet n - n - - smtpd"
            "\n  -o smtpd_tls_security_level=encrypt"
            "\n  -o smtpd_tls_ask_ccert=yes"
            "\n  -o smtpd_tls_req_ccert=yes"
            "\n  -o smtpd_client_restrictions=permit_tls_all_clientcerts,reject"
            "\n  -o smtpd_relay_restrictions=permit_tls_all_clientcerts,reject"
            # accepted, then bounced with a DSN, as mail refused by a distant operator is
            "\n  -o smtpd_reject_unlisted_recipient=no",
            "pickup unix n - n 60 1 pickup",
            "cleanup unix n - n - 0 cleanup",
            "qmgr unix n - n 300 1 qmgr",
            "tlsmgr unix - - n 1000? 1 tlsmgr",
            "rewrite unix - - n - - trivial-rewrite",
            "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce",
            "trace unix - - n - 0 bounce",
            "verify unix - - n - 1 verify",
            "flush unix n - n 1000? 0 flush",
            "proxymap unix - - n - - proxymap",
            "proxywrite unix - - n - 1 proxymap",
            "smtp unix - - n - - smtp",
            "relay unix - - n - - smtp",
            "showq unix n - n - - showq",
            "error unix - - n - - error",
            "retry unix - - n - - error",
            "discard unix - - n - - discard",
            "lmtp unix - - n - - lmtp",
            "gateway unix - - n - - lmtp",  # to the platform's gateway
            "anvil unix - - n - 1 anvil",
            "scache unix - - n - 1 scache",
            "postlog unix-dgram n - n - 1 postlogd",
        ]
        return "\n".join(services) + "\n"

    def _make_queue(self) -> None:
        """The queue tree with the owners and modes Postfix checks (postfix-files)."""
        postfix = pwd.getpwnam("postfix")
        postdrop = grp.getgrnam("postdrop").gr_gid
        queue = self._rt("postfix-queue")
        queue.mkdir(mode=0o755)
        for name in _QUEUE_DIRS:
            path = queue / name
            path.mkdir(mode=0o700)
            os.chown(path, postfix.pw_uid, -1)
        for name, mode in (("maildrop", 0o730), ("public", 0o710)):
            path = queue / name
            path.mkdir()
            path.chmod(mode)
            os.chown(path, postfix.pw_uid, postdrop)
        (queue / "pid").mkdir(mode=0o755)
        data = self._rt("postfix-data")
        data.mkdir(mode=0o700)
        os.chown(data, postfix.pw_uid, postfix.pw_gid)

    def _start_postfix(self, timeout: float) -> None:
        conf = self._rt("postfix")
        conf.mkdir(mode=0o755)
        server_cert, server_key = save_tls_identity(
            conf,
            "relay",
            lambda key: issue_tls_cert(
                self._ca,
                key,
                common_name=self.hostname,
                server=True,
                hostnames=(self.hostname, "localhost"),
                addresses=("127.0.0.1",),
            ),
        )
        (conf / "main.cf").write_text(self._main_cf(server_cert, server_key))
        (conf / "master.cf").write_text(self._master_cf())
        (conf / "transport").write_text(self._transport())
        self._make_queue()
        self._postfix = subprocess.Popen(  # noqa: S603 - our own arguments
            [str(POSTFIX_DAEMONS / "master"), "-c", str(conf), "-s"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ports(
            self._postfix, (self.smtp_port, self.relay_port), self.postfix_log, timeout
        )

    def set_gateway(self, gateway_lmtp: tuple[str, int] | None) -> None:
        """Route the platform's domain to another LMTP address (None: as at start) and
        have the running Postfix re-read its tables."""
        self.gateway_lmtp = gateway_lmtp
        conf = self._rt("postfix")
        (conf / "transport").write_text(self._transport())
        main = (conf / "main.cf").read_text().splitlines()
        deferred = f"defer_transports = {self._platform_route()[1]}"
        (conf / "main.cf").write_text(
            "\n".join(deferred if line.startswith("defer_transports") else line for line in main)
            + "\n"
        )
        assert self._postfix is not None
        self._postfix.send_signal(signal.SIGHUP)  # the master restarts its daemons

    def flush(self) -> None:
        """Ask Postfix to retry its deferred mail now (``postqueue -f``)."""
        subprocess.run(  # noqa: S603 - our own arguments
            ["/usr/sbin/postqueue", "-c", str(self._rt("postfix")), "-f"],
            check=True,
            capture_output=True,
        )

    # ------------------------------------------------------------------ clients

    def client_context(self) -> ssl.SSLContext:
        """TLS as the platform presents itself at the relay (its certificate, the test CA)."""
        context = ssl.create_default_context(cafile=str(self.ca_cert))
        context.load_cert_chain(str(self.client_cert), str(self.client_key))
        return context

    def send(
        self,
        msg: EmailMessage,
        port: int | None = None,
        *,
        mail_options: Sequence[str] = (),
        rcpt_options: Sequence[str] = (),
    ) -> None:
        """Hand ``msg`` over by SMTP: to the trust space's entrance by default, or to the
        relay (``port=relay_port``: STARTTLS with the platform's certificate)."""
        port = port or self.smtp_port
        # CRLF on the wire (the relay refuses bare LF): send_message copies message/* parts
        # given as text verbatim, so serialise and normalise here
        data = re.sub(rb"\r(?!\n)|(?<!\r)\n", b"\r\n", msg.as_bytes(policy=policy.SMTP))
        sender = getaddresses([str(msg.get("Sender") or msg.get("From") or "")])
        recipients = [
            address
            for _name, address in getaddresses(
                [str(v) for h in ("To", "Cc") for v in msg.get_all(h, [])]
            )
        ]
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            if port == self.relay_port:
                smtp.starttls(context=self.client_context())
            smtp.sendmail(
                sender[0][1] if sender else "",
                recipients,
                data,
                mail_options=mail_options,
                rcpt_options=rcpt_options,
            )

    def fetch(self, address: str) -> list[EmailMessage]:
        """Every message of ``address``'s mailbox (IMAP INBOX), oldest first."""
        with imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=30) as imap:
            imap.login(address, PASSWORD)
            imap.select("INBOX", readonly=True)
            _status, data = imap.search(None, "ALL")
            found: list[EmailMessage] = []
            for number in data[0].split():
                _status, parts = imap.fetch(number, "(BODY.PEEK[])")
                raw = next(p[1] for p in parts if isinstance(p, tuple))
                message = message_from_bytes(raw, policy=policy.default)
                assert isinstance(message, EmailMessage)
                found.append(message)
            return found

    def wait_for(self, address: str, count: int = 1, timeout: float = 30.0) -> list[EmailMessage]:
        """The mailbox's messages once it holds at least ``count`` (else TimeoutError with
        the servers' logs)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.fetch(address)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{len(found)} message(s) pour {address} au lieu de {count}.\n"
                    f"--- postfix\n{_tail(self._rt('postfix.log'))}\n"
                    f"--- dovecot\n{_tail(self._rt('dovecot.log'))}"
                )
            time.sleep(0.2)


def new_mailbox(domain: str) -> str:
    """A fresh address of ``domain`` (each test its own mailbox, the servers shared)."""
    return f"boite-{secrets.token_hex(4)}@{domain}"

"""The MSSanté gateway: an LMTP server the operator's mail relay delivers to.

``sisra mssante-gateway`` runs it as its own process (it scales apart from the web workers;
any number may run behind the relay, they share only the database and the blob store). The
relay (Postfix, on the operator's side of the MSSanté trust space) receives mail from other
operators over SMTP with TLS and hands the messages for this platform's domains over LMTP:

* connection: only from the accepted relays (``SISRA_MSSANTE_RELAYS``);
* ``MAIL FROM``: a sender of the MSSanté trust space (``SISRA_MSSANTE_TRUST_DOMAINS``), or the
  null sender for delivery and read reports; never an address of this platform's own domains
  (``SISRA_MSSANTE_DOMAINS``): the relay hands over mail from outside only, and the
  platform's professionals send through the platform itself (decision 125);
* ``RCPT TO``: an address of one of this platform's professionals, else ``550 5.1.1``;
* ``DATA``: at most ``SISRA_MSSANTE_MAX_MESSAGE_BYTES`` (``552``), then one transaction per
  message (:mod:`sisra.platform.mssante.service`) and, as LMTP wants, one reply per recipient.

A refusal is a ``5xx`` reply with the reason: the relay bounces the message to its sender.
Every refusal is audited (``mssante.refused``).
"""

import asyncio
import ipaddress
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy.orm import Session, sessionmaker

from sisra.platform.context import RequestContext
from sisra.platform.db import unit_of_work
from sisra.platform.directory import correspondents
from sisra.platform.errors import Invalid
from sisra.platform.events.hub import EventHub
from sisra.platform.models import Professional
from sisra.platform.mssante import inbound, receipts, service
from sisra.platform.mssante.inbound import Rejected
from sisra.platform.settings import Settings
from sisra.platform.storage import EncryptedBlobs

log = logging.getLogger("sisra.mssante")

USER_AGENT = "passerelle MSSanté"
TEMPORARY_FAILURE = "451 4.3.0 Erreur temporaire de la plateforme, nouvel essai plus tard"


def in_trust_space(settings: Settings, address: str) -> bool:
    """Whether ``address`` is in the MSSanté trust space: its domain is one of the trusted
    domains or a subdomain of one (every MSSanté mailbox domain is under ``mssante.fr``)."""
    domain = address.rpartition("@")[2].lower().rstrip(".")
    return any(domain == d or domain.endswith("." + d) for d in settings.mssante_trust_domains)


def is_local(settings: Settings, address: str) -> bool:
    """Whether ``address`` is in one of this platform's own MSSanté domains (or under one)."""
    domain = address.rpartition("@")[2].lower().rstrip(".")
    return any(domain == d or domain.endswith("." + d) for d in settings.mssante_domains)


def is_null(address: str) -> bool:
    """The null reverse path ``<>`` of bounces and reports (aiosmtpd hands it over as is)."""
    return address.strip() in ("", "<>")


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


@dataclass
class Outcome:
    """The LMTP replies to one DATA, one per accepted recipient, in RCPT order."""

    replies: list[str]

    def lmtp(self) -> str:
        return "\r\n".join(self.replies)


class Gateway:
    """The rules, with synchronous database work (the LMTP handler runs them in a thread)."""

    def __init__(
        self,
        settings: Settings,
        factory: sessionmaker[Session],
        blobs: EncryptedBlobs,
        hub: EventHub,
        apply_report: Callable[[Session, EmailMessage], bool] | None = None,
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.blobs = blobs
        self.hub = hub
        self.relays = [ipaddress.ip_network(r, strict=False) for r in settings.mssante_relays]
        # DSN/MDN -> the receipts of the outgoing half (the tests may hand another in)
        self.apply_report = apply_report or receipts.apply_report

    # --- envelope ---------------------------------------------------------------------

    def accepts_peer(self, host: str) -> bool:
        try:
            ip = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.relays)

    def check_sender(self, peer: str, address: str) -> str | None:
        """The refusal of ``MAIL FROM``, or ``None`` when accepted."""
        if not self.accepts_peer(peer):
            self.audit_refusal(peer, "relay_not_accepted", {"sender": address})
            return (
                "550 5.7.1 Relais non autorise : cette passerelle ne recoit que du relais "
                "MSSante de l'operateur"
            )
        if is_null(address):  # null sender: delivery and read reports only (checked at DATA)
            return None
        if not in_trust_space(self.settings, address):
            self.audit_refusal(peer, "sender_outside_trust_space", {"sender": address})
            return (
                "550 5.7.1 Expediteur refuse : seules les adresses de l'espace de confiance "
                "MSSante peuvent ecrire a cette plateforme"
            )
        if is_local(self.settings, address):  # decision 125: the relay is the outside
            self.audit_refusal(peer, "local_sender_from_outside", {"sender": address})
            return inbound.local_sender().reply
        return None

    def find_recipient(self, address: str) -> Professional | None:
        if self.settings.mssante_domains and _domain(address) not in self.settings.mssante_domains:
            return None
        try:
            with unit_of_work(self.factory) as session:
                return correspondents.local_by_address(session, address)
        except Invalid:
            return None

    def check_recipient(self, peer: str, address: str) -> str | None:
        if self.find_recipient(address) is not None:
            return None
        self.audit_refusal(peer, "unknown_recipient", {"recipient": address})
        return (
            f"550 5.1.1 <{address}> : destinataire inconnu sur cette plateforme MSSante "
            "(adresse inexistante ou compte desactive), verifiez l'adresse"
        )

    # --- the message ------------------------------------------------------------------

    def deliver(self, peer: str, mail_from: str, rcpt_tos: list[str], raw: bytes) -> Outcome:
        count = len(rcpt_tos)
        meta: dict[str, object] = {"sender": mail_from, "recipients": rcpt_tos, "size": len(raw)}
        try:
            return self._deliver(peer, mail_from, rcpt_tos, raw, meta)
        except Rejected as refusal:
            self.audit_refusal(peer, refusal.code, meta)
            return Outcome([refusal.reply] * count)
        except Exception:
            log.exception("MSSanté message from %s could not be filed", mail_from)
            return Outcome([TEMPORARY_FAILURE] * count)

    def _deliver(
        self, peer: str, mail_from: str, rcpt_tos: list[str], raw: bytes, meta: dict[str, object]
    ) -> Outcome:
        if len(raw) > self.settings.mssante_max_message_bytes:
            raise too_large(self.settings)
        msg = inbound.load(raw)
        meta["message_id"] = str(msg.get("Message-ID", ""))[:300]
        if inbound.is_report(msg):
            return self._report(peer, msg, len(rcpt_tos), meta)
        if is_null(mail_from):
            raise Rejected(
                "null_sender",
                "550 5.7.1 Expediteur vide : reserve aux avis de remise et de lecture",
            )
        sender, _name = inbound.sender_of(msg)
        meta["from"] = sender
        if not in_trust_space(self.settings, sender) or _domain(sender) != _domain(mail_from):
            raise Rejected(
                "sender_not_authenticated",
                "550 5.7.1 Expediteur non authentifie : l'adresse From doit etre une adresse "
                "MSSante du meme domaine que l'expediteur de l'enveloppe",
            )
        if is_local(self.settings, sender):
            raise inbound.local_sender()
        received = inbound.parse(msg, inbound.ArchiveLimits.of(self.settings))
        replies: list[str] = []
        with unit_of_work(self.factory) as session:
            recipients: list[Professional] = []
            owners: list[uuid.UUID | None] = []  # whose reply each line is
            for address in rcpt_tos:
                pro = correspondents.local_by_address(session, address)
                if pro is None or pro.id in {p.id for p in recipients}:
                    replies.append(f"550 5.1.1 <{address}> : destinataire inconnu")
                    owners.append(None)
                    continue
                recipients.append(pro)
                replies.append("")
                owners.append(pro.id)
            if not recipients:
                return Outcome(replies)
            delivered = service.receive(
                session, self.settings, self.blobs, self.hub, self._ctx(peer), recipients, received
            )
        state = "a rapprocher" if delivered.pending_id else "classe"
        ok = f"250 2.0.0 Document recu ({state}) {delivered.document_id}"
        again = "250 2.0.0 Message deja recu, non classe une seconde fois"
        return Outcome(
            [
                r or (again if owner in delivered.already else ok)
                for r, owner in zip(replies, owners, strict=True)
            ]
        )

    def _report(self, peer: str, msg: EmailMessage, count: int, meta: dict[str, object]) -> Outcome:
        """A DSN or MDN about a message this platform sent: its receipt, never a bounce back."""
        with unit_of_work(self.factory) as session:
            # the receipts audit what they apply; a report about nothing we sent is noted here
            applied = self.apply_report(session, msg)
            if not applied:
                service.report_ignored(session, self._ctx(peer), meta)
        return Outcome(["250 2.0.0 Avis pris en compte"] * count)

    def _ctx(self, peer: str) -> RequestContext:
        return RequestContext(actor=None, ip=peer or None, user_agent=USER_AGENT)

    def audit_refusal(self, peer: str, code: str, details: dict[str, object]) -> None:
        try:
            with unit_of_work(self.factory) as session:
                service.refuse(session, self._ctx(peer), code, details)
        except Exception:  # the refusal stands even if it could not be written down
            log.exception("could not audit a refused MSSanté message")


def too_large(settings: Settings) -> Rejected:
    mb = settings.mssante_max_message_bytes // (1024 * 1024)
    return Rejected("too_large", f"552 5.3.4 Message trop volumineux (limite {mb} Mo)")


# --- the LMTP server --------------------------------------------------------------------


# RFC 2033 §5 and RFC 3463: the enhanced status code a reply of aiosmtpd's own (« 250 OK »,
# « 503 Error: need MAIL command »…) is given when it has none
_ENHANCED = re.compile(r"^[245]\.[0-9]{1,3}\.[0-9]{1,3}( |$)")
_DEFAULT_ENHANCED = {
    "214": "2.0.0",
    "221": "2.0.0",
    "250": "2.0.0",
    "251": "2.1.5",
    "252": "2.5.0",
    "421": "4.3.0",
    "450": "4.2.0",
    "451": "4.3.0",
    "452": "4.3.1",
    "500": "5.5.2",
    "501": "5.5.4",
    "502": "5.5.1",
    "503": "5.5.1",
    "504": "5.5.4",
    "530": "5.7.0",
    "550": "5.0.0",
    "552": "5.3.4",
    "553": "5.1.3",
    "554": "5.0.0",
    "555": "5.5.4",
}
# what LHLO announces beyond aiosmtpd's own keywords (RFC 2033 §5, RFC 2920, RFC 2034)
LHLO_EXTENSIONS = ("PIPELINING", "ENHANCEDSTATUSCODES")


def with_enhanced_code(line: str) -> str:
    """``line`` (one reply line) with an RFC 3463 enhanced status code after its reply code.

    The greeting (``220``), the intermediate ``354`` (class 3 has no enhanced codes) and the
    LHLO keyword lines are sent as they are (RFC 2034 §3)."""
    code, sep, rest = line[:3], line[3:4], line[4:]
    if not code.isdigit() or code[0] not in "245" or sep not in (" ", "-", ""):
        return line
    if _ENHANCED.match(rest):
        return line
    enhanced = _DEFAULT_ENHANCED.get(code, f"{code[0]}.0.0")
    return f"{code}{sep or ' '}{enhanced} {rest}".rstrip()


class _GatewayLMTP(LMTP):
    """aiosmtpd's LMTP, where a refusal at the end of DATA is given once per recipient (an
    LMTP client reads one reply per accepted recipient; aiosmtpd sends one only), LHLO
    announces PIPELINING and ENHANCEDSTATUSCODES, and every reply after it carries an enhanced
    status code.

    Pipelining (RFC 2920, which RFC 2033 §5 makes mandatory for LMTP): aiosmtpd reads the
    commands from its stream one line at a time and answers each before reading the next, so
    commands sent in one packet are answered in order, one reply each."""

    _in_lhlo = False

    async def smtp_LHLO(self, arg: str) -> None:
        self._in_lhlo = True
        try:
            await super().smtp_LHLO(arg)
        finally:
            self._in_lhlo = False

    async def push(self, status: Any) -> None:
        text = status.decode() if isinstance(status, bytes) else str(status)
        if self._in_lhlo and text.startswith("250"):
            if text.startswith("250 "):  # the last keyword line: ours come before it
                for keyword in LHLO_EXTENSIONS:
                    await super().push(f"250-{keyword}")
            await super().push(text)
            return
        if text.startswith(("220 ", "220-")):  # the greeting (sent before LHLO)
            await super().push(text)
            return
        await self._push_reply(text)

    async def _push_reply(self, text: str) -> None:
        overflow = text.startswith(("552 Error: Too much mail data", "500 Line too long"))
        if overflow and self.envelope is not None and self.envelope.rcpt_tos:
            handler = self.event_handler
            assert isinstance(handler, LmtpHandler)
            reply = (
                too_large(handler.gateway.settings).reply
                if text.startswith("552")
                else "554 5.6.0 Message MSSante mal forme : ligne trop longue"
            )
            await asyncio.to_thread(
                handler.gateway.audit_refusal,
                self._peer_host(),
                "too_large" if text.startswith("552") else "malformed",
                {"sender": self.envelope.mail_from, "recipients": self.envelope.rcpt_tos},
            )
            for _ in self.envelope.rcpt_tos:
                await super().push(reply)
            return
        await super().push("\r\n".join(with_enhanced_code(line) for line in text.split("\r\n")))

    def _peer_host(self) -> str:
        peer = self.session.peer if self.session is not None else None
        return str(peer[0]) if isinstance(peer, tuple) else str(peer or "")


def _host(session: SmtpSession) -> str:
    peer = session.peer
    return str(peer[0]) if isinstance(peer, tuple) else str(peer or "")


class LmtpHandler:
    """aiosmtpd hooks; the database work runs in a thread, off the event loop."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def handle_MAIL(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        refusal = await asyncio.to_thread(self.gateway.check_sender, _host(session), address)
        if refusal:
            return refusal
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        refusal = await asyncio.to_thread(self.gateway.check_recipient, _host(session), address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        outcome = await asyncio.to_thread(
            self.gateway.deliver,
            _host(session),
            envelope.mail_from or "",
            list(envelope.rcpt_tos),
            bytes(raw),
        )
        return outcome.lmtp()


class LmtpGateway(Controller):
    """The LMTP server in a thread of its own (``start()`` / ``stop()``)."""

    def __init__(self, gateway: Gateway, host: str | None = None, port: int | None = None) -> None:
        settings = gateway.settings
        self.gateway = gateway
        super().__init__(
            LmtpHandler(gateway),
            hostname=host or settings.mssante_lmtp_host,
            port=port if port is not None else settings.mssante_lmtp_port,
            data_size_limit=settings.mssante_max_message_bytes,
            server_hostname="sisra-mssante",
        )

    def factory(self) -> SMTP:
        return _GatewayLMTP(
            self.handler,
            data_size_limit=self.gateway.settings.mssante_max_message_bytes,
            hostname="sisra-mssante",
            ident="Sisra MSSante gateway",
        )


def from_settings(settings: Settings) -> Gateway:
    """The gateway with its own engine, blob store and event hub (its own process)."""
    from sisra.platform.db import make_engine, make_session_factory
    from sisra.platform.events.hub import hub_for
    from sisra.platform.inbox.service import platform_summary
    from sisra.platform.storage import blobs_from_settings
    from sisra.platform.storage.keys import load_master_key

    engine = make_engine(settings.effective_database_url, settings)
    factory = make_session_factory(engine)
    # inbox items name the platform, as in the web workers (exports write it)
    factory.configure(info={"platform": platform_summary(settings)})
    master = load_master_key(
        settings.master_key.get_secret_value() if settings.master_key else None,
        settings.master_key_file,
    )
    return Gateway(settings, factory, blobs_from_settings(settings, master), hub_for(engine))


def serve_forever(settings: Settings, stop: threading.Event) -> None:
    """Run the LMTP server until ``stop`` is set (``sisra mssante-gateway``)."""
    server = LmtpGateway(from_settings(settings))
    server.start()
    log.info("MSSanté gateway listening (LMTP) on %s:%s", server.hostname, server.port)
    try:
        stop.wait()
    finally:
        server.stop()

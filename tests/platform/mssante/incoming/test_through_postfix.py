"""End to end through the real Postfix of the MSSanté space: another operator's mail for a
platform address reaches the gateway by LMTP, lands in the right inbox and in MonSisra's
folder; a refused one comes back to its sender as a bounce, in the sender's own mailbox."""

import os
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sisra.client.api import PlatformClient
from sisra.client.auth import Credentials
from sisra.client.items import InboxItem
from sisra.client.state import LocalState
from sisra.client.sync import CredentialTokens, SyncEngine
from sisra.devtools.mailservers import MailServers, new_mailbox
from sisra.platform.models import AuditEvent, Document, Professional
from sisra.platform.mssante.gateway import Gateway
from support.mssante import EXTERNAL_DOMAIN, PLATFORM_DOMAIN
from support.personas import otp_login
from support.waiting import wait_until

from .mails import message, with_xdm, xdm_zip
from .shared import GARNIER_XDM, garnier, new_patient, running_gateway


class ProbedGateway(Gateway):
    """The real gateway, which also notes the probes the tests send to learn that Postfix
    routes to it (refused, unaudited: they are not mail)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.probes: set[str] = set()

    def check_recipient(self, peer: str, address: str) -> str | None:
        if address.startswith("sonde-"):
            self.probes.add(address.lower())
            return "550 5.1.1 sonde de routage"
        return super().check_recipient(peer, address)


def _probe_until(servers: MailServers, arrived: Any) -> None:
    """Send probes to the platform's domain until ``arrived(address)``: Postfix applies a
    routing change when its daemons restart, asynchronously; mail sent before then would take
    the previous route."""
    deadline = time.monotonic() + 60
    while True:
        probe = f"sonde-{secrets.token_hex(4)}@{PLATFORM_DOMAIN}"
        msg = message(probe, sender=new_mailbox(EXTERNAL_DOMAIN), subject="sonde")
        servers.send(msg)
        until = time.monotonic() + 3
        while time.monotonic() < until:
            if arrived(probe):
                return
            time.sleep(0.1)
        assert time.monotonic() < deadline, "Postfix never took the new route"
        servers.flush()


@pytest.fixture
def routed(mail_servers: MailServers, live_server: Any, settings: Any) -> Iterator[MailServers]:
    """Postfix delivers the platform's domain to a gateway over this test's platform (and,
    afterwards, to the test mailbox again, as the other tests of the run expect)."""
    with running_gateway(
        live_server.app,
        settings,
        gateway_class=ProbedGateway,
        mssante_domains=[PLATFORM_DOMAIN],
        mssante_trust_domains=["mssante.test"],
    ) as server:
        gateway = server.gateway
        assert isinstance(gateway, ProbedGateway)
        mail_servers.set_gateway(("127.0.0.1", server.port))
        _probe_until(mail_servers, lambda probe: probe in gateway.probes)
        try:
            yield mail_servers
        finally:
            mail_servers.set_gateway(None)
            _probe_until(mail_servers, lambda probe: bool(mail_servers.fetch(probe)))
            mail_servers.flush()  # anything deferred meanwhile goes to the mailbox now


def delivered(servers: MailServers, condition: Any, seconds: float = 60.0) -> None:
    """Wait for ``condition``, asking Postfix to retry its deferred mail every few seconds:
    its reload after a routing change is asynchronous, so a message queued just before may
    have met the previous route (deferred, never lost)."""
    deadline = time.monotonic() + seconds
    next_flush = time.monotonic() + 2
    while not condition():
        assert time.monotonic() < deadline, "not delivered in time"
        if time.monotonic() > next_flush:
            servers.flush()
            next_flush = time.monotonic() + 2
        time.sleep(0.1)


def _recipient(live_server: Any, make_pro: Any, db: Any, smtp_sink: Any) -> tuple[str, Any]:
    pro = make_pro("yves.roux", first_name="Yves", last_name="Roux", log_in=False)
    address = f"yves.roux@{PLATFORM_DOMAIN}"
    with db() as session:
        session.get(Professional, pro.id).mssante = address
    tokens = otp_login(
        PlatformClient(live_server.url)._http, smtp_sink, "yves.roux", "yves.roux@demo.sisra.test"
    )
    return address, Credentials.from_tokens(live_server.url, tokens)


def _exporter(folder: Path) -> Any:
    """« PDF seul »: the PDF, written atomically under the notification's id."""

    def export(item: InboxItem, pdf: Path) -> list[Path]:
        final = folder / f"{item.id}.pdf"
        tmp = folder / f".{final.name}.part"
        with tmp.open("wb") as out:
            out.write(pdf.read_bytes())
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, final)
        return [final]

    return export


def test_a_mail_from_another_operator_reaches_monsisra_s_folder(
    routed, live_server, make_pro, db, smtp_sink, pdf, tmp_path
):
    address, creds = _recipient(live_server, make_pro, db, smtp_sink)
    garnier_id = garnier(db)
    folder = tmp_path / "export"
    folder.mkdir()
    client = PlatformClient(live_server.url)
    engine = SyncEngine(
        client,
        CredentialTokens(client, creds),
        LocalState(tmp_path / "state.db"),
        _exporter(folder),
        tmp_path / "work",
    )
    stop = threading.Event()
    statuses: list[str] = []
    runner = threading.Thread(target=engine.run, args=(stop, lambda c, _m: statuses.append(c)))
    runner.start()
    try:
        wait_until(lambda: "online" in statuses)
        data = pdf("Compte rendu opératoire de M. GARNIER")
        traits = GARNIER_XDM
        sender = new_mailbox(EXTERNAL_DOMAIN)
        routed.send(with_xdm(address, xdm_zip(tmp_path, traits, data), sender=sender))
        delivered(routed, lambda: any(p.suffix == ".pdf" for p in folder.iterdir()))
        files = [p for p in folder.iterdir() if p.suffix == ".pdf"]
        assert len(files) == 1 and files[0].read_bytes() == data
    finally:
        stop.set()
        runner.join(15)
    items = client.get_json("/api/v1/inbox", token=creds.access_token)["items"]
    # filed to M. GARNIER, whose identity is not qualified: the INS stays on the platform
    assert [i["patient"]["id"] for i in items] == [str(garnier_id)]
    assert [i["patient"]["ins"] for i in items] == [None]
    # the author is the sender's row in the directory, added as an external correspondent
    with db() as session:
        author = session.scalars(select(Professional).where(Professional.mssante == sender)).one()
        assert author.external
    assert items[0]["sender"]["id"] == str(author.id)
    # the receipt of the export went back to the platform
    assert items[0]["delivered_at"] is not None


def test_a_refused_mail_bounces_back_to_its_sender(routed, live_server, make_pro, db, pdf):
    pro = make_pro("yves.roux", log_in=False)
    address = f"yves.roux@{PLATFORM_DOMAIN}"
    with db() as session:
        session.get(Professional, pro.id).mssante = address
    sender = new_mailbox(EXTERNAL_DOMAIN)
    msg = message(
        address,
        sender=sender,
        subject="Logiciel de prescription",
        attachments=[("installeur.exe", "application/octet-stream", b"MZ" + b"\0" * 64)],
    )
    routed.send(msg)
    delivered(routed, lambda: routed.fetch(sender))
    text = routed.fetch(sender)[0].as_string()
    assert "Piece jointe refusee" in text
    assert address in text
    # nothing was filed; the refusal is audited
    with db() as session:
        assert session.scalars(select(Document)).all() == []
        reasons = [
            e.details["reason"]
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.action == "mssante.refused")
            )
        ]
        assert reasons == ["executable"]


def test_reports_come_back_through_the_gateway_as_receipts(
    mssante_relay, routed, app_client, make_pro, db, pdf
):
    """The whole loop: a share to another operator leaves by the relay; its DSN, then the
    reader's MDN, come back by Postfix to the gateway, which hands them to the receipts."""
    from support.documents import share_request
    from support.mssante import mdn_for

    author = make_pro("marc.gauthier", first_name="Marc", last_name="Gauthier")
    author_address = f"marc.gauthier@{PLATFORM_DOMAIN}"
    with db() as session:
        session.get(Professional, author.id).mssante = author_address
    patient = new_patient(
        db, birth_name="BLANC", birth_given_names=["Eva"], birth_date=date(1990, 5, 6), sex="F"
    )
    outside = new_mailbox(EXTERNAL_DOMAIN)
    shared = share_request(app_client, author, patient, [], pdf(), external_recipients=[outside])
    assert shared.status_code == 201, shared.text
    document_id = shared.json()["document"]["id"]

    def receipt() -> dict[str, Any]:
        detail = app_client.get(f"/api/v1/documents/{document_id}", headers=author.headers)
        (share,) = detail.json()["shares"]
        return dict(share)

    delivered(routed, lambda: receipt()["delivered_at"] is not None)
    assert receipt()["read_at"] is None
    (mail,) = routed.fetch(outside)
    routed.send(mdn_for(mail, outside))
    delivered(routed, lambda: receipt()["read_at"] is not None)
    assert receipt()["mssante_status"] == "read"
    with db() as session:
        # applied by the receipts, so not noted as a report without effect
        assert not session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "mssante.report", AuditEvent.outcome == "failed"
            )
        ).all()

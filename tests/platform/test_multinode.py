"""The reference topology, for real: two platform nodes behind HAProxy, one PostgreSQL, one
S3-compatible store (SeaweedFS); MonSisra's sync engine connects through the load balancer.

Shares go through either node directly and reach the engine live; the node holding the engine's
stream is killed (SIGKILL, its workers with it); the engine reconnects through the other node
and every document is exported exactly once.
"""

import os
import threading
import time
from pathlib import Path

import httpx
import pytest

from needs import need
from sisra.client.api import PlatformClient
from sisra.client.auth import Credentials
from sisra.client.state import LocalState
from sisra.client.sync import CredentialTokens, SyncEngine
from sisra.devtools.multinode import Topology
from support.documents import share_request
from support.personas import otp_login
from support.waiting import wait_until

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def region(settings, is_postgres, s3_server, tmp_path, smtp_sink):
    if not is_postgres:
        pytest.skip("several nodes need PostgreSQL")
    need("haproxy")
    # "first": every connection goes to node-a while it is up, so the engine's stream is
    # known to be on the node the test kills (roundrobin is the production choice)
    topology = Topology(
        tmp_path / "region",
        settings.database_url,
        s3_server,
        workers=2,
        balance="first",
        extra_env={
            "SISRA_SMTP_HOST": "127.0.0.1",
            "SISRA_SMTP_PORT": str(smtp_sink.port),
            "SISRA_EVENTS_KEEPALIVE_SECONDS": "1",
            "SISRA_AUDIT_SEAL_INTERVAL_S": "0.5",
        },
    )
    with topology:
        yield topology


class Exports:
    """The export folder, and every notification id the engine exported (twice would show)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ids: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, item, pdf: Path) -> list[Path]:
        final = self.folder / f"{item.document.title} {item.id}.pdf"
        tmp = self.folder / f".{final.name}.part"
        tmp.write_bytes(pdf.read_bytes())
        os.replace(tmp, final)
        with self.lock:
            self.ids.append(item.id)
        return [final]

    def files(self) -> list[Path]:
        return [p for p in self.folder.iterdir() if p.suffix == ".pdf"]


def test_two_nodes_behind_a_load_balancer_lose_nothing_when_one_dies(
    region, make_pro, make_patient, pdf, smtp_sink, tmp_path
):
    node_a, node_b = region.nodes
    lb = region.url
    recipient = make_pro("destinataire", log_in=False)
    sender = make_pro()
    patient = make_patient()
    tokens = otp_login(
        PlatformClient(lb)._http, smtp_sink, "destinataire", "destinataire@demo.sisra.test"
    )
    creds = Credentials.from_tokens(lb, tokens)
    folder = tmp_path / "export"
    folder.mkdir()
    exports = Exports(folder)
    client = PlatformClient(lb)
    engine = SyncEngine(
        client,
        CredentialTokens(client, creds),
        LocalState(tmp_path / "state.db"),
        exports,
        tmp_path / "work",
    )
    statuses: list[str] = []
    stop = threading.Event()
    runner = threading.Thread(target=engine.run, args=(stop, lambda c, _m: statuses.append(c)))
    runner.start()
    sent: dict[str, bytes] = {}

    def share_via(node, title: str) -> None:
        data = pdf(title)
        with httpx.Client(base_url=node.url, timeout=30) as http:
            r = share_request(http, sender, patient, [recipient], data, title=title)
        assert r.status_code == 201, r.text
        sent[r.json()["notifications"][0]] = data

    try:
        wait_until(lambda: "online" in statuses, 30)
        time.sleep(0.5)  # the live stream is open (through HAProxy, on node-a)
        # live, through either node: B's shares reach the stream held by A (LISTEN/NOTIFY)
        share_via(node_b, "Avant 1")
        share_via(node_a, "Avant 2")
        share_via(node_b, "Avant 3")
        wait_until(lambda: len(exports.ids) == 3, 30)
        assert "offline" not in statuses  # delivered live, no reconnection was needed

        node_a.kill()
        share_via(node_b, "Pendant")  # while the engine has lost its stream
        wait_until(lambda: len(exports.ids) == 4, 45)
        share_via(node_b, "Après 1")
        share_via(node_b, "Après 2")
        wait_until(lambda: len(exports.ids) == 6, 30)
        time.sleep(1.0)  # a duplicate export would show up now
    finally:
        stop.set()
        engine.interrupt()
        runner.join(20)

    assert sorted(exports.ids) == sorted(sent)  # each notification once, none missing
    files = exports.files()
    assert len(files) == 6
    by_id = {p.stem.rsplit(" ", 1)[1]: p.read_bytes() for p in files}
    assert by_id == sent  # the right bytes, decrypted from the shared store by either node
    assert not [p for p in folder.iterdir() if p.name.endswith(".part")]
    # the blobs are in the object store, not on the nodes' disks
    for node in region.nodes:
        assert not list((node.directory / "data").glob("blobs/**/*"))
    # and the surviving node still serves everything through the load balancer
    with httpx.Client(base_url=lb, timeout=30) as http:
        inbox = http.get(
            "/api/v1/inbox?limit=50", headers={"Authorization": f"Bearer {creds.access_token}"}
        )
    assert inbox.status_code == 200, inbox.text
    assert {i["id"] for i in inbox.json()["items"]} == set(sent)


def test_a_port_taken_before_the_start_moves_the_node_and_the_balancer(
    settings, is_postgres, s3_server, tmp_path
):
    """Between the choice of a port and the process binding it, another socket of the machine
    may take it (an outgoing connection's local port): the node, or HAProxy, starts again on
    a fresh port, and HAProxy is configured with the ports the nodes really have."""
    import socket

    if not is_postgres:
        pytest.skip("several nodes need PostgreSQL")
    need("haproxy")
    topology = Topology(tmp_path / "region", settings.database_url, s3_server, nodes=1, workers=1)
    node, balancer = topology.nodes[0], topology.balancer
    taken = {"node": node.port, "balancer": balancer.port}
    listener = socket.create_server(("127.0.0.1", 0))
    holders = []
    for port in taken.values():
        holder = socket.socket()
        holder.bind(("127.0.0.1", port))
        holder.connect(listener.getsockname())
        holders.append(holder)
    try:
        with topology as region:
            assert node.port != taken["node"] and balancer.port != taken["balancer"]
            assert httpx.get(f"{region.url}/healthz", timeout=30).status_code == 200
    finally:
        for holder in holders:
            holder.close()
        listener.close()

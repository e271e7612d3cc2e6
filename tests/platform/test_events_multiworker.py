"""Live events across processes: two platform servers on one PostgreSQL database.

Each server has its own hub and its own ``LISTEN`` connection, exactly like two workers or two
machines: a stream held by one receives the share made through the other.
"""

import time

import httpx
import pytest
from sqlalchemy import text

from sisra.platform.events.hub import WAKE, EventHub, hub_for
from sisra.platform.events.pg import PostgresEventHub
from support.events import Listener, share
from support.servers import RunningServer
from support.waiting import wait_until


@pytest.fixture
def two_servers(settings, is_postgres):
    if not is_postgres:
        pytest.skip("LISTEN/NOTIFY: PostgreSQL only")
    a, b = RunningServer(settings), RunningServer(settings)
    for server in (a, b):
        assert isinstance(server.app.state.hub, PostgresEventHub)
        wait_until(server.app.state.hub.listening.is_set)
    yield a, b
    a.stop()
    b.stop()


def test_the_hub_follows_the_database(engine, is_postgres):
    hub = hub_for(engine)
    assert isinstance(hub, PostgresEventHub) is is_postgres
    assert isinstance(hub, EventHub)


@pytest.mark.postgres_only
def test_a_stream_on_one_server_gets_a_share_made_through_another(
    two_servers, make_pro, make_patient, pdf
):
    a, b = two_servers
    author, rec, other = make_pro(), make_pro(), make_pro()
    patient = make_patient()
    on_a = Listener(a.url, rec.headers)
    other_on_a = Listener(a.url, other.headers)
    doc = share(b.url, author, patient, [rec], pdf("via B"))
    cursor, kind, data = on_a.next()
    assert kind == "notification" and data["document"]["id"] == doc and data["cursor"] == cursor
    # and the other way round, several in a row, in order, each once
    on_b = Listener(b.url, rec.headers, last_event_id=cursor)
    docs = [share(a.url, author, patient, [rec], pdf(f"via A {i}")) for i in range(3)]
    for listener in (on_a, on_b):
        got = [listener.next() for _ in range(3)]
        assert [e[2]["document"]["id"] for e in got] == docs
    time.sleep(0.5)  # a duplicate would have arrived by now
    assert on_a.events.empty() and on_b.events.empty()
    assert other_on_a.events.empty()
    for listener in (on_a, on_b, other_on_a):
        listener.close()


@pytest.mark.postgres_only
def test_a_lost_listen_connection_reconnects_and_nothing_is_lost(
    two_servers, engine, make_pro, make_patient, pdf
):
    a, b = two_servers
    hub: PostgresEventHub = a.app.state.hub
    author, rec = make_pro(), make_pro()
    patient = make_patient()
    on_a = Listener(a.url, rec.headers)
    # the database drops A's listening connection (restart, failover, network cut)...
    with engine.begin() as conn:
        killed = conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n"
            ),
            {"n": hub.application_name},
        ).all()
    assert killed == [(True,)]
    # ...and documents are shared through B meanwhile
    docs = [share(b.url, author, patient, [rec], pdf(f"pendant {i}")) for i in range(2)]
    wait_until(lambda: hub.reconnections >= 1)
    got = [on_a.next() for _ in range(2)]
    assert [e[2]["document"]["id"] for e in got] == docs
    # and it is live again
    after = share(b.url, author, patient, [rec], pdf("après"))
    assert on_a.next()[2]["document"]["id"] == after
    on_a.close()


@pytest.mark.postgres_only
def test_nothing_is_announced_for_a_rolled_back_share(two_servers, engine, make_pro):
    """The notification leaves with the commit: a transaction that rolls back wakes nobody."""
    a, _b = two_servers
    hub: PostgresEventHub = a.app.state.hub
    rec = make_pro()
    woken = []
    hub.deliver = lambda pro, event: woken.append((pro, event))  # type: ignore[method-assign]
    hub.subscribers = lambda pro: 1  # type: ignore[method-assign]
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        hub.announce(session, [(rec.id, 10**9)])
        session.rollback()
    with Session(engine) as session:
        hub.announce(session, [(rec.id, 10**9 + 1)])
        session.commit()
    wait_until(lambda: woken)
    time.sleep(0.3)
    assert woken == [(rec.id, WAKE)]


def test_health_answers_on_every_server(live_server):
    assert httpx.get(f"{live_server.url}/api/v1/health", timeout=5).json()["status"] == "ok"


@pytest.mark.parametrize("workers", ["2", "0"])
def test_serve_refuses_several_workers_on_sqlite(tmp_path, monkeypatch, workers):
    from typer.testing import CliRunner

    from sisra.cli import app

    monkeypatch.chdir(tmp_path)
    for name in ("SISRA_DATABASE_URL", "SISRA_DATABASE_URL_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SISRA_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["serve", "--workers", workers, "--no-upgrade"])
    assert result.exit_code == 1
    expected = "PostgreSQL" if workers == "2" else "au moins 1"
    assert expected in result.output
    assert not (tmp_path / "data" / "sisra.db").exists()  # refused before touching anything

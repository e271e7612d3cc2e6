"""SQLite's writers of one process take turns in the order they came (decision 204), and the
turn is given back however the transaction ends."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from sisra.platform.db import make_engine
from sisra.platform.sqlite_gate import WriterGate


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE log (who TEXT)"))
    yield engine
    engine.dispose()


def _gate(engine: Engine) -> WriterGate:
    with engine.connect() as conn:
        gate = conn.connection.dbapi_connection.gate  # type: ignore[union-attr]
    assert isinstance(gate, WriterGate)
    return gate


def _wait_for(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


def test_writers_get_their_turn_in_the_order_they_came(engine: Engine) -> None:
    gate = _gate(engine)
    first = engine.connect()
    first.begin()
    first.execute(text("INSERT INTO log VALUES ('first')"))  # holds the write lock
    assert gate.held

    def writer(name: str) -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO log VALUES (:who)"), {"who": name})

    threads = []
    for i, name in enumerate(["b", "c", "d", "e"]):
        t = threading.Thread(target=writer, args=(name,))
        t.start()
        threads.append(t)
        _wait_for(lambda n=i + 1: gate.waiting == n, f"{name} queued")
    first.commit()
    first.close()
    for t in threads:
        t.join(30)
    with engine.connect() as conn:
        order = [r[0] for r in conn.execute(text("SELECT who FROM log ORDER BY rowid"))]
    assert order == ["first", "b", "c", "d", "e"]
    assert not gate.held and gate.waiting == 0


def test_the_turn_is_given_back_by_a_rollback_an_error_and_a_lone_statement(
    engine: Engine,
) -> None:
    gate = _gate(engine)
    with engine.connect() as conn:
        conn.begin()
        conn.execute(text("INSERT INTO log VALUES ('x')"))
        assert gate.held
        conn.rollback()
    assert not gate.held

    with engine.connect() as conn, pytest.raises(OperationalError), conn.begin():
        conn.execute(text("INSERT INTO log VALUES ('y')"))
        conn.execute(text("INSERT INTO nowhere VALUES (1)"))
    assert not gate.held

    with engine.connect() as conn:  # a connection in autocommit: each write commits itself
        auto = conn.execution_options(isolation_level="AUTOCOMMIT")
        auto.execute(text("INSERT INTO log VALUES ('z')"))
        assert not gate.held
        with pytest.raises(OperationalError):  # a lone write that fails
            auto.execute(text("INSERT INTO nowhere VALUES (1)"))
        assert not gate.held
    with engine.connect() as conn:
        assert conn.execute(text("SELECT who FROM log")).scalars().all() == ["z"]


def test_reads_do_not_wait_for_a_writer(engine: Engine) -> None:
    gate = _gate(engine)
    with engine.connect() as writer:
        writer.begin()
        writer.execute(text("INSERT INTO log VALUES ('w')"))
        with engine.connect() as reader:  # WAL: a reader never waits
            assert reader.execute(text("SELECT count(*) FROM log")).scalar() == 0
        assert gate.held and gate.waiting == 0
        writer.commit()

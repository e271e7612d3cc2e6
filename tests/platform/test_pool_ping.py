"""PostgreSQL connections are pinged before use only after sitting idle (decision 189): a
connection in steady use costs no ping, and one the server closed while idle is replaced
instead of failing its request."""

import time
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text

from sisra.platform.db import IDLE_PING_S, make_engine, ping_when_idle


def _backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


@pytest.fixture
def pg_url(database_url: str, is_postgres: bool) -> str:
    if not is_postgres:
        pytest.skip("PostgreSQL only (SQLite has no server to lose)")
    return database_url


def test_a_connection_killed_while_idle_is_replaced(pg_url: str):
    engine = create_engine(pg_url, pool_size=1, max_overflow=0)
    ping_when_idle(engine, idle_s=0.2)
    killer = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        first = _backend(engine)
        with killer.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first})
        time.sleep(0.5)  # idle longer than idle_s: the next checkout pings
        second = _backend(engine)  # no error: the dead connection was replaced
        assert second != first
    finally:
        engine.dispose()
        killer.dispose()


def test_a_connection_in_steady_use_is_not_pinged(pg_url: str):
    engine = make_engine(pg_url)
    try:
        _backend(engine)
        # the ping itself is not a cursor statement: count round trips on the connection
        pings: list[int] = []
        event.listen(
            engine.pool, "checkout", lambda *_a: pings.append(1)
        )  # a checkout happens every time
        original = engine.dialect.do_ping
        called: list[int] = []

        def spy(dbapi_conn: Any) -> bool:
            called.append(1)
            return original(dbapi_conn)

        engine.dialect.do_ping = spy  # type: ignore[method-assign]
        for _ in range(5):
            _backend(engine)
        assert len(pings) == 5
        assert called == []  # used less than IDLE_PING_S ago every time
        assert IDLE_PING_S >= 1.0
    finally:
        engine.dispose()

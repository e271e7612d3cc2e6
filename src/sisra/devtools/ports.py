"""Loopback ports for the servers the tests and the demo tools start.

A port chosen with :func:`free_port` is only free when chosen: until the server binds it,
any other socket of the machine may take it (an outgoing connection gets its local port
from the same range). Servers we run in-process bind a socket first and serve on it
(:func:`listening_socket`); daemons we start (Postfix, Dovecot, SeaweedFS) are given
ports in their configuration, so their start is retried on fresh ports
(:func:`start_on_fresh_ports`) when one was taken meanwhile.
"""

import socket
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def free_port() -> int:
    """A loopback port nobody listens on at this moment."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening_socket(port: int = 0) -> socket.socket:
    """A socket bound to 127.0.0.1 (``port``, or one the kernel picks) and listening: hand
    it to the server, which then cannot lose its port to another process."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # a server stopped and started again on its port (the "platform comes back" tests)
        # must not wait for the old connections' TIME_WAIT
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def start_on_fresh_ports(
    start: Callable[[], T],
    choose_ports: Callable[[], None],
    failure: type[Exception] | tuple[type[Exception], ...],
    attempts: int = 3,
) -> T:
    """``start()``; when it raises ``failure`` (a daemon that could not bind its ports
    exits, often without a word), ``choose_ports()`` and try again, ``attempts`` times in
    all. ``start`` must clean up after its own failure."""
    for attempt in range(attempts):
        try:
            return start()
        except failure:
            if attempt == attempts - 1:
                raise
            choose_ports()
    raise AssertionError("unreachable")

"""systemd's notification protocol (``sd_notify``), without libsystemd: one datagram to the
socket systemd names in ``NOTIFY_SOCKET`` (a service of ``Type=notify``). Outside systemd it
does nothing."""

from __future__ import annotations

import os
import socket


def notify(message: str) -> bool:
    """``READY=1``, ``STATUS=…``, ``STOPPING=1``; False when not under systemd."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address or address[0] not in ("/", "@"):
        return False
    if address[0] == "@":  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8", errors="replace"))
    except OSError:
        return False
    return True

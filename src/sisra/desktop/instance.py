"""One MonSisra per user session: a second launch shows the running one and exits.

MonSisra starts with the computer; a user who does not see its window (it is in the tray)
double-clicks its icon again. A second process would only show CONNEXION again and could not
log in (the account is being synced: :mod:`sisra.client.lock`). Instead it asks the first one,
through a local socket named after this user's MonSisra folder, to bring its window forward.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtNetwork import QLocalServer, QLocalSocket

SHOW = b"show\n"
TIMEOUT_MS = 1000


def server_name(root: Path) -> str:
    """Per MonSisra folder (so per OS user, and per test): a short name, valid as a Unix
    socket in the temporary folder and as a Windows named pipe."""
    digest = hashlib.sha256(str(root.expanduser().resolve()).encode()).hexdigest()[:20]
    return f"monsisra-{digest}"


def ask_running_instance(root: Path) -> bool:
    """True when a MonSisra already runs for ``root``: it has been asked to show itself."""
    socket = QLocalSocket()
    socket.connectToServer(server_name(root))
    if not socket.waitForConnected(TIMEOUT_MS):
        return False
    socket.write(SHOW)
    socket.waitForBytesWritten(TIMEOUT_MS)
    socket.disconnectFromServer()
    return True


class InstanceServer(QObject):
    """Listens for later launches and calls ``on_show`` for each."""

    def __init__(self, root: Path, on_show: Callable[[], None]) -> None:
        super().__init__()
        self._on_show = on_show
        self.server = QLocalServer(self)
        name = server_name(root)
        # a socket file left by a MonSisra that crashed would make listen() fail
        QLocalServer.removeServer(name)
        self.listening = self.server.listen(name)
        self.server.newConnection.connect(self._connection)

    def _connection(self) -> None:
        while (socket := self.server.nextPendingConnection()) is not None:
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(socket.deleteLater)
            if socket.bytesAvailable():
                self._read(socket)

    def _read(self, socket: QLocalSocket) -> None:
        if bytes(socket.readAll().data()).startswith(SHOW.strip()):
            self._on_show()

    def close(self) -> None:
        self.server.close()

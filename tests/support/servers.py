"""The platform served for real: uvicorn in a thread, or `sisra serve` in a process."""

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from sisra.devtools.children import die_with_parent, end, wait_http
from sisra.devtools.ports import free_port, listening_socket
from sisra.platform.app import create_app
from sisra.platform.settings import Settings


@dataclass
class LiveServer:
    url: str
    app: object


class RunningServer:
    """The real app served by uvicorn on a loopback port, in a thread; ``stop()`` and a new
    ``RunningServer`` on the same port make a platform that goes down and comes back.

    ``listen``: the port to serve on, or a socket already listening (see
    ``sisra.devtools.ports``: uvicorn serves on a socket bound beforehand, so no other
    process can take the port between its choice and the bind); ``uvicorn``: options of
    ``uvicorn.Config`` over the defaults below."""

    def __init__(
        self, settings: Settings, listen: "int | socket.socket | None" = None, **uvicorn: Any
    ) -> None:
        import threading

        from uvicorn import Config, Server

        sock = listen if isinstance(listen, socket.socket) else listening_socket(listen or 0)
        self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings)
        options = {
            "log_level": "warning",
            # the standard library's event loop, not uvloop as `sisra serve` (docs/decisions.md
            # 192): this loop runs in a thread of a test process that also drives Qt, Chromium
            # and forks children; the served stack itself is tested in `sisra serve` children
            "loop": "asyncio",
            "timeout_graceful_shutdown": 1,
            # as `sisra serve`: the app alone decides whom to believe (SISRA_TRUSTED_PROXIES)
            "proxy_headers": False,
            **uvicorn,  # e.g. a test of the access log turns it on
        }
        self.server = Server(Config(self.app, **options))
        self._sock = sock
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        # started = the app's startup ran and the socket is served; never a silent fall
        # through to tests that would then fail far from the cause
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the platform did not start on {self.url}")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        if self.thread.is_alive():
            # never pull the socket and the database from under a server still running: that
            # is how a test process crashes far from the cause
            raise RuntimeError(f"the platform on {self.url} did not stop within 30 s")
        self._sock.close()
        self.app.state.engine.dispose()


def _start(open_files: int) -> None:
    import resource

    die_with_parent()
    resource.setrlimit(
        resource.RLIMIT_NOFILE, (open_files, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    )


def serve_process(
    settings: Settings, open_files: int | None = None
) -> tuple["subprocess.Popen[bytes]", str]:
    """`sisra serve` on a fresh port, answering; RuntimeError (and nothing left running)
    when it exits first, its port taken meanwhile, or does not answer. ``open_files``: the
    soft limit of open files it starts with (else this process's)."""
    port = free_port()
    env = {
        **os.environ,
        "SISRA_DATABASE_URL": settings.database_url,
        "SISRA_DATA_DIR": str(settings.data_dir),
        "SISRA_MASTER_KEY": settings.master_key.get_secret_value() if settings.master_key else "",
        "SISRA_SMTP_HOST": settings.smtp_host,
        "SISRA_SMTP_PORT": str(settings.smtp_port),
        "SISRA_MAX_DOCUMENT_BYTES": str(settings.max_document_bytes),
        "SISRA_EVENTS_KEEPALIVE_SECONDS": str(settings.events_keepalive_seconds),
        "SISRA_OTP_RESEND_COOLDOWN_S": str(settings.otp_resend_cooldown_s),
        "SISRA_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sisra.cli", "serve", "--port", str(port), "--no-upgrade"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=die_with_parent if open_files is None else lambda: _start(open_files),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/api/v1/health", 60, alive=lambda: proc.poll() is None)
    except RuntimeError as exc:
        end(proc)
        raise RuntimeError(proc.stderr.read().decode() if proc.stderr else str(exc)) from exc
    return proc, url

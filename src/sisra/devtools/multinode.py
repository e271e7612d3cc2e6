"""A region on several machines, on one computer: the reference topology of docs/deploy.md.

Two platform nodes (separate ``sisra serve`` processes with their own data directories, the
same master key and audit key) share one PostgreSQL database and one S3-compatible object
store (SeaweedFS), behind a real HAProxy that checks ``/healthz``. Used by
``tests/platform/test_multinode.py`` and by ``make multinode`` (``python -m
sisra.devtools.multinode``, which keeps it running until Ctrl-C).
"""

import base64
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from sisra.devtools.children import die_with_parent, end, wait_http
from sisra.devtools.ports import free_port, start_on_fresh_ports
from sisra.devtools.s3_server import S3Server


class Node:
    """One ``sisra serve`` process (its own session: killing it kills its workers too)."""

    def __init__(self, name: str, directory: Path, env: dict[str, str], workers: int) -> None:
        self.name = name
        self.directory = directory
        self.choose_port()
        self.workers = workers
        self.env = {**env, "SISRA_DATA_DIR": str(directory / "data")}
        self.proc: subprocess.Popen[bytes] | None = None

    def choose_port(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Self:
        self.launch()
        return self.wait_ready(timeout)

    def launch_elsewhere(self) -> None:
        """After a start that failed (its port taken meanwhile): again, on a fresh port."""
        self.stop()
        self.choose_port()
        self.launch()

    def launch(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = open(self.directory / "serve.log", "ab")  # noqa: SIM115 - kept by the process
        self.proc = subprocess.Popen(  # noqa: S603 - our own arguments
            [
                sys.executable,
                "-m",
                "sisra.cli",
                "serve",
                "--host=127.0.0.1",
                f"--port={self.port}",
                f"--workers={self.workers}",
                "--no-upgrade",
            ],
            cwd=self.directory,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def wait_ready(self, timeout: float = 60.0) -> Self:
        proc = self.proc
        assert proc is not None
        wait_http(f"{self.url}/healthz", timeout, alive=lambda: proc.poll() is None)
        return self

    def kill(self) -> None:
        """SIGKILL, as a crashed machine: the node and its workers, no clean shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def terminate(self) -> None:
        """SIGTERM (a clean shutdown), without waiting."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


HAPROXY_CONFIG = """\
global
    maxconn 512

defaults
    mode http
    timeout connect 2s
    timeout client 5m
    timeout server 5m
    # a Server-Sent Events stream stays open
    timeout tunnel 1h
    option redispatch
    retries 3

frontend sisra
    bind 127.0.0.1:{port}
    default_backend nodes

backend nodes
    balance {balance}
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2 maxconn {maxconn}
{servers}
"""


class LoadBalancer:
    """HAProxy in the foreground, its configuration written to ``directory``."""

    def __init__(
        self, directory: Path, nodes: list[Node], balance: str = "roundrobin", maxconn: int = 200
    ) -> None:
        self.directory = directory
        self.nodes, self.balance, self.maxconn = nodes, balance, maxconn
        self.choose_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def choose_port(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> str:
        """HAProxy's configuration for the nodes' ports as they are now."""
        servers = "\n".join(f"    server {n.name} 127.0.0.1:{n.port} check" for n in self.nodes)
        return HAPROXY_CONFIG.format(
            port=self.port, balance=self.balance, maxconn=self.maxconn, servers=servers
        )

    def start(self, timeout: float = 30.0) -> Self:
        """HAProxy; again on a fresh port when its own was taken meanwhile."""
        return start_on_fresh_ports(
            lambda: self._start(timeout), self._restart_elsewhere, RuntimeError
        )

    def _restart_elsewhere(self) -> None:
        self.stop()
        self.choose_port()

    def _start(self, timeout: float) -> Self:
        binary = haproxy_binary()
        if binary is None:
            raise RuntimeError("HAProxy introuvable (paquet Debian haproxy).")
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / "haproxy.cfg"
        path.write_text(self.config, encoding="utf-8")
        log = open(self.directory / "haproxy.log", "ab")  # noqa: SIM115 - kept by the process
        self.proc = subprocess.Popen(  # noqa: S603 - our own arguments
            [binary, "-db", "-f", str(path)], stdout=log, stderr=subprocess.STDOUT
        )
        proc = self.proc
        wait_http(f"{self.url}/healthz", timeout, alive=lambda: proc.poll() is None)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            end(self.proc)


def haproxy_binary() -> str | None:
    """HAProxy (Debian package ``haproxy``, installed in sbin), or None."""
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    return found


def new_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


class Topology:
    """``with Topology(...) as region:`` — ``region.url`` (the load balancer), ``region.nodes``.

    The database must be migrated beforehand (``sisra db upgrade``, once: nodes start with
    ``--no-upgrade``, as in a rolling deployment).
    """

    def __init__(
        self,
        directory: Path,
        database_url: str,
        s3: S3Server,
        *,
        nodes: int = 2,
        workers: int = 2,
        balance: str = "roundrobin",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.directory = directory
        self.master_key = new_key()
        self.audit_key = new_key()
        base = {k: v for k, v in os.environ.items() if not k.startswith("SISRA_")}
        env = {
            **base,
            "SISRA_DATABASE_URL": database_url,
            "SISRA_MASTER_KEY": self.master_key,
            "SISRA_AUDIT_KEY": self.audit_key,
            # published outside the database, in one place for the whole region
            "SISRA_AUDIT_CHECKPOINT_DIR": str(directory / "audit-checkpoints"),
            **s3.env(prefix=f"region-{secrets.token_hex(4)}"),
            **(extra_env or {}),
        }
        names = "abcdefgh"
        self.nodes = [
            Node(f"node-{names[i]}", directory / f"node-{names[i]}", env, workers)
            for i in range(nodes)
        ]
        self.balancer = LoadBalancer(directory / "haproxy", self.nodes, balance)

    @property
    def url(self) -> str:
        """The load balancer's address (known for sure once started)."""
        return self.balancer.url

    def start(self) -> Self:
        try:
            for node in self.nodes:  # side by side: start-up is mostly imports
                node.launch()
            for node in self.nodes:  # a node whose port was taken meanwhile moves
                start_on_fresh_ports(node.wait_ready, node.launch_elsewhere, RuntimeError)
            self.balancer.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.balancer.stop()
        for node in self.nodes:
            node.terminate()
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        _t: type[BaseException] | None,
        _e: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()


def main() -> None:
    """``make multinode``: start the region on ``SISRA_DATABASE_URL`` (PostgreSQL), wait."""
    from sisra.platform.migrate import upgrade

    url = os.environ.get("SISRA_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("SISRA_DATABASE_URL doit désigner une base PostgreSQL (postgresql+psycopg://…).")
    upgrade(url)
    with tempfile.TemporaryDirectory(prefix="sisra-region-") as tmp:
        root = Path(tmp)
        with S3Server(root / "s3") as s3, Topology(root, url, s3) as region:
            for node in region.nodes:
                print(f"{node.name} : {node.url} ({node.workers} processus)", flush=True)
            print(f"Stockage S3 : {s3.endpoint} ; répartiteur HAProxy : {region.url}")
            print("Ctrl-C pour tout arrêter.", flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass


if __name__ == "__main__":
    main()

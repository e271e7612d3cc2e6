"""A real OpenID Connect provider on loopback, shaped like Pro Santé Connect, for tests and demos.

The provider is the npm package ``oidc-provider`` (Node.js), run by ``oidc/server.mjs`` beside
this file. Its dependencies are installed once with ``npm ci`` from the committed lock file
into a cache folder (``.cache/oidc-provider`` at the top of a source checkout, git-ignored);
``node_modules`` is never committed. The provider prints its issuer once it listens.
"""

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

SOURCE = Path(__file__).parent / "oidc"
FILES = ("package.json", "package-lock.json", "server.mjs")
REDIRECT_PATH = "/connexion/psc/retour"


def default_cache() -> Path:
    """``.cache/oidc-provider`` in the source checkout (or the working directory)."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").exists():
            return parent / ".cache" / "oidc-provider"
    return Path.cwd() / ".cache" / "oidc-provider"


def install(cache: Path | None = None) -> Path:
    """Copy the provider's files into ``cache`` and run ``npm ci`` there when the lock changed."""
    return npm_install(SOURCE, FILES, cache or default_cache())


def npm_install(source: Path, files: tuple[str, ...], cache: Path) -> Path:
    """Copy ``files`` of ``source`` into ``cache`` and run ``npm ci`` there when the lock file
    changed since the last install (the test tools written in Node.js share this). Processes
    doing it at once (the parallel test workers) take turns: ``npm ci`` starts by deleting
    ``node_modules``, which another one may be running from."""
    import fcntl

    cache.mkdir(parents=True, exist_ok=True)
    lock = (source / "package-lock.json").read_bytes()
    installed = cache / "node_modules" / ".sisra-lock"
    with (cache / ".install-lock").open("w") as turn:
        fcntl.flock(turn, fcntl.LOCK_EX)  # released when the file closes
        for name in files:
            data = (source / name).read_bytes()
            target = cache / name
            if not target.exists() or target.read_bytes() != data:  # never under a reader
                target.write_bytes(data)
        if not installed.exists() or installed.read_bytes() != lock:
            npm = shutil.which("npm")
            if not npm:
                raise RuntimeError("npm introuvable : installez Node.js 20 ou plus récent.")
            subprocess.run(  # noqa: S603 — fixed arguments
                [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                cwd=cache,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            installed.write_bytes(lock)
    return cache


@dataclass
class TestClientRegistration:
    """A client (relying party) the provider knows."""

    client_id: str
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    signed_userinfo: bool = False

    def as_config(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uris": [f"http://127.0.0.1{REDIRECT_PATH}"],
        }
        if self.signed_userinfo:
            data["userinfo_signed_response_alg"] = "RS256"
        return data


class OidcProvider:
    """``with OidcProvider([client]) as op:`` — ``op.issuer``; stops the process on exit."""

    def __init__(
        self,
        clients: list[TestClientRegistration],
        accounts: dict[str, dict[str, str]] | None = None,
        port: int = 0,
        cache: Path | None = None,
    ) -> None:
        self.clients = {c.client_id: c for c in clients}
        self.accounts = accounts or {}
        self.port = port
        self.cache = cache
        self.issuer = ""
        self._proc: subprocess.Popen[str] | None = None

    def start(self) -> Self:
        directory = install(self.cache)
        node = shutil.which("node")
        if not node:
            raise RuntimeError("node introuvable : installez Node.js 20 ou plus récent.")
        config = {
            "port": self.port,
            "cookie_key": secrets.token_hex(16),
            "clients": [c.as_config() for c in self.clients.values()],
            "accounts": self.accounts,
        }
        env = {**os.environ, "OIDC_TEST_CONFIG": json.dumps(config)}
        # what node says goes to a file, read back if it does not start (a pipe nobody
        # reads could fill up and block it)
        with tempfile.TemporaryFile() as errors:
            self._proc = subprocess.Popen(  # noqa: S603 — fixed arguments
                [node, "--no-deprecation", "server.mjs"],
                cwd=directory,
                env=env,
                stdin=subprocess.PIPE,  # closed when this process ends: the provider ends too
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )
            assert self._proc.stdout is not None
            line = self._read_line(self._proc.stdout)
            if not line:
                code = self._proc.poll()
                self.stop()
                errors.seek(0)
                said = errors.read()[-800:].decode(errors="replace").strip()
                state = f"sorti avec le code {code}" if code is not None else "muet après 60 s"
                raise RuntimeError(
                    f"le fournisseur OpenID Connect de test n'a pas démarré ({state}) : {said}"
                )
        self.issuer = str(json.loads(line)["issuer"])
        return self

    @staticmethod
    def _read_line(stream: Any, timeout: float = 60.0) -> str:
        out: list[str] = []
        reader = threading.Thread(target=lambda: out.append(stream.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        return out[0].strip() if out else ""

    def stop(self) -> None:
        if self._proc is not None:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            self._proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()


def main() -> None:
    """``python -m sisra.devtools.oidc_provider [port]``: a provider for the demo; prints the
    settings to give the platform (whose public URL must be a loopback address)."""
    import signal
    import sys

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9090
    client = TestClientRegistration("sisra-demo")
    stops = {signal.SIGINT, signal.SIGTERM}
    with OidcProvider([client], port=port) as op:
        # blocked once node runs (it keeps its own), then taken by sigwait: a clean exit
        signal.pthread_sigmask(signal.SIG_BLOCK, stops)
        print(f"SISRA_PSC_ISSUER={op.issuer}")
        print(f"SISRA_PSC_CLIENT_ID={client.client_id}")
        print(f"SISRA_PSC_CLIENT_SECRET={client.client_secret}")
        print("# log in on its page with a demo professional's national id (8 + RPPS)", flush=True)
        signal.sigwait(stops)


if __name__ == "__main__":
    main()

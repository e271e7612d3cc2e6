"""``make package-service``: the practice server's package builds without Qt, installs with
its system account, folders and systemd unit (``systemd-analyze verify``), its ``sisra
client`` runs, the unit's own command and environment start the engine for a user added with
the installed command (ready through the notification socket, a document written), and
removing then purging leaves the practice's documents only.

Slow (PyInstaller: a few minutes on a busy machine): built once per session, and only in the
SQLite pass of ``make test``, like the desktop package.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from needs import required
from sisra import __version__
from sisra.client.api import PlatformClient
from sisra.platform.models import Professional
from support.documents import share_request

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "client"))
from support.client_cli import LOCAL
from support.daemon import PORTAL, Lines, answer_code

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "packaging" / "linux" / "build_service_deb.py"
PACKAGE = "monsisra-service"
UNIT = Path("/lib/systemd/system/monsisra.service")
KEYFILE = Path("/etc/monsisra/cles")

pytestmark = [
    pytest.mark.needs("deb"),
    # dpkg installs one package at a time, machine-wide: with test_deb.py on one worker
    pytest.mark.xdist_group("deb"),
    pytest.mark.skipif(
        not (hasattr(os, "geteuid") and os.geteuid() == 0), reason="dpkg -i needs root"
    ),
    pytest.mark.skipif(
        bool(os.environ.get("SISRA_TEST_DATABASE_URL")),
        reason="the package does not depend on the database: tested in the SQLite pass only",
    ),
    pytest.mark.timeout(1200),
]


@pytest.fixture(scope="session")
def service_deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("service-deb")
    started = time.monotonic()
    subprocess.run(
        [sys.executable, str(BUILD), "--out", str(out), "--work", str(out / "work")],
        check=True,
        capture_output=True,
    )
    print(f"\nservice .deb built in {time.monotonic() - started:.0f} s")  # shown with -s
    shutil.rmtree(out / "work")
    return out / f"{PACKAGE}_{__version__}_amd64.deb"


def _dpkg_status() -> str:
    r = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", PACKAGE], capture_output=True, text=True
    )
    return r.stdout if r.returncode == 0 else ""


@pytest.fixture
def installed(service_deb: Path) -> Iterator[Path]:
    subprocess.run(["dpkg", "-i", str(service_deb)], check=True, capture_output=True)
    yield Path("/usr/bin/sisra")
    if _dpkg_status():
        subprocess.run(["dpkg", "--purge", PACKAGE], check=False, capture_output=True)


def _as_service(*command: str, env: dict[str, str] | None = None, **kw: Any) -> Any:
    """A command as the unit's account (runuser sets its HOME, as systemd does)."""
    return subprocess.run(["runuser", "-u", "monsisra", "--", *command], env=env, **kw)


def _unit(text: str) -> dict[str, list[str]]:
    """The [Service] settings of a unit file, each with all its values."""
    values: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def test_the_service_package_metadata_and_files(service_deb: Path) -> None:
    field = lambda name: subprocess.run(  # noqa: E731
        ["dpkg-deb", "--field", str(service_deb), name], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert field("Package") == PACKAGE and field("Version") == __version__
    assert "adduser" in field("Depends") and "libxcb" not in field("Depends")
    listing = subprocess.run(
        ["dpkg-deb", "--contents", str(service_deb)], check=True, capture_output=True, text=True
    ).stdout
    for path in (
        "./opt/monsisra-service/sisra",
        "./usr/bin/sisra -> /opt/monsisra-service/sisra",
        "./lib/systemd/system/monsisra.service",
        "./etc/monsisra/monsisra.conf",
        "./usr/share/doc/monsisra-service/monsisra-service.md",
        "sisra/client/export/profiles.json",
        "sisra/common/xdm/schemas/lcm.xsd",
    ):
        assert path in listing, path
    for absent in ("PySide6", "fastapi", "sqlalchemy", "sisra/desktop", "sisra/platform"):
        assert absent not in listing, absent  # no window, no platform on a practice server


def test_install_run_the_unit_then_purge(
    installed: Path,
    platform_process: Any,
    make_pro: Any,
    make_patient: Any,
    pdf: Any,
    smtp_sink: Any,
    db: Any,
    tmp_path: Path,
) -> None:
    account = pwd.getpwnam("monsisra")
    assert account.pw_dir == "/var/lib/monsisra" and account.pw_shell.endswith("nologin")
    state = Path("/var/lib/monsisra").stat()
    assert (state.st_uid, state.st_mode & 0o777) == (account.pw_uid, 0o700)
    keys = KEYFILE.stat()
    assert (keys.st_uid, keys.st_mode & 0o777) == (account.pw_uid, 0o600)

    # the unit: valid for systemd, and the account, command and settings described above
    unit = UNIT.read_text(encoding="utf-8")
    if shutil.which("systemd-analyze"):
        verify = subprocess.run(
            ["systemd-analyze", "verify", str(UNIT)], capture_output=True, text=True
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
    elif required():  # elsewhere the settings checked below are the check
        pytest.fail("systemd-analyze manque : apt-get install systemd (SISRA_REQUIRE_SYSTEM=1)")
    service = _unit(unit)
    assert service["Type"] == ["notify"] and service["User"] == ["monsisra"]
    assert service["ExecStart"] == [f"{installed} client daemon"]
    assert f"MONSISRA_KEYFILE={KEYFILE}" in service["Environment"]

    # the installed command, as the service's account
    assert installed.resolve() == Path("/opt/monsisra-service/sisra")
    helped = subprocess.run([installed, "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "client" in helped.stdout, helped.stderr
    never = _as_service(str(installed), "client", "status", capture_output=True, text=True)
    assert never.returncode == 0, never.stderr
    assert never.stdout.strip() == "Le service MonSisra n'a jamais tourné sur cet ordinateur."

    # a user added with the installed command, into a practice folder the account may write
    url = platform_process.url
    make_pro("claire.roux", first_name="Claire", last_name="Roux", log_in=False)
    sender = make_pro("emile.adam", first_name="Émile", last_name="Adam")
    patient = make_patient("BERTHIER")
    practice = Path(tempfile.mkdtemp(prefix="cabinet-", dir="/var/tmp"))
    try:
        practice.chmod(0o755)
        os.chown(practice, account.pw_uid, account.pw_gid)
        folder = practice / "hprim"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("MONSISRA", "XDG_"))}
        add = subprocess.Popen(
            ["runuser", "-u", "monsisra", "--", str(installed), "client", "add-user",
             "--identifier", "claire.roux", "--server", url, "--profile", "pdf",
             "--days", "0", "--folder", str(folder)],
            env=clean,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        answer_code(add, smtp_sink, "claire.roux@demo.sisra.test", [PORTAL], [LOCAL])
        with KEYFILE.open("a", encoding="utf-8") as keys_file:
            keys_file.write(f"claire.roux: {LOCAL}\n")

        # the unit's command with the unit's environment and a notification socket
        notify_path = practice / "notify"
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(notify_path))
        notify_path.chmod(0o666)
        notify.settimeout(60)
        # as systemd runs it: User= and Group= (no supplementary group), HOME from the account
        env = {**clean, "NOTIFY_SOCKET": str(notify_path), "HOME": account.pw_dir}
        env.update(USER="monsisra", LOGNAME="monsisra")
        env.update(dict(v.partition("=")[::2] for v in service["Environment"]))
        daemon = subprocess.Popen(
            service["ExecStart"][0].split(),
            user=service["User"][0],
            group=service["Group"][0],
            extra_groups=[],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines = Lines(daemon)
        try:
            lines.wait_for("Connecté")
            assert notify.recv(4096).decode() == "READY=1"
            with db() as s:
                claire = s.query(Professional).filter_by(login="claire.roux").one().id
            with PlatformClient(url) as c:
                r = share_request(c._http, sender, patient, [claire], pdf("IRM"), title="IRM")
                assert r.status_code == 201, r.text
            lines.wait_for("Document enregistré")
            status = _as_service(str(installed), "client", "status", capture_output=True, text=True)
            assert "Service MonSisra : en marche" in status.stdout, status.stdout + status.stderr
            assert "Claire Roux : Connecté" in status.stdout, status.stdout
        finally:
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(30) == 0
        lines.wait_for("MonSisra est arrêté.")
        written = [p for p in folder.iterdir() if p.suffix == ".pdf"]
        assert written, list(folder.iterdir())

        # remove keeps the accounts and settings (a reinstall resumes); purge deletes them,
        # never the practice's documents
        subprocess.run(["dpkg", "-r", PACKAGE], check=True, capture_output=True)
        assert not installed.exists() and not installed.is_symlink() and not UNIT.exists()
        assert not Path("/opt/monsisra-service").exists()
        assert KEYFILE.exists() and Path("/var/lib/monsisra/.local/share").is_dir()
        subprocess.run(["dpkg", "--purge", PACKAGE], check=True, capture_output=True)
        assert _dpkg_status() == ""
        assert not Path("/etc/monsisra").exists() and not Path("/var/lib/monsisra").exists()
        assert all(p.is_file() for p in written)
    finally:
        shutil.rmtree(practice, ignore_errors=True)

"""``make package``: the .deb builds, installs, starts to the first-run wizard under X,
starts at login through /usr/bin/monsisra, and uninstalls leaving the user's files.

Slow (the PyInstaller bundle takes about two minutes here): built once per session, and only
in the SQLite pass of ``make test`` (the package does not touch the platform's database).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sisra import __version__

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "packaging" / "linux" / "build_deb.py"
# make package SERVER_URL=… CONTACT=… REGION_NAME=…: the region the package is built for
REGION = ["--server-url", "https://sisra.region-test.example", "--contact", "aide@region.example"]

pytestmark = [
    pytest.mark.needs("deb"),
    # one pytest-xdist worker builds the .deb once and installs it with dpkg, which two
    # workers must never do at once (the package is machine-wide)
    pytest.mark.xdist_group("deb"),
    pytest.mark.skipif(
        not (hasattr(os, "geteuid") and os.geteuid() == 0), reason="dpkg -i needs root"
    ),
    pytest.mark.skipif(
        bool(os.environ.get("SISRA_TEST_DATABASE_URL")),
        reason="the package does not depend on the database: tested in the SQLite pass only",
    ),
    pytest.mark.timeout(900),
]


def _installed() -> bool:
    r = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", "monsisra"], capture_output=True, text=True
    )
    return r.returncode == 0 and "installed" in r.stdout and "not-installed" not in r.stdout


@pytest.fixture(scope="session")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("deb")
    started = time.monotonic()
    subprocess.run(
        [sys.executable, str(BUILD), "--out", str(out), "--work", str(out / "work"), *REGION],
        check=True,
        capture_output=True,
    )
    print(f"\n.deb built in {time.monotonic() - started:.0f} s")  # shown with -s
    shutil.rmtree(out / "work")
    return out / f"monsisra_{__version__}_amd64.deb"


@pytest.fixture
def installed(deb: Path) -> Iterator[Path]:
    subprocess.run(["dpkg", "-i", str(deb)], check=True, capture_output=True)
    yield Path("/usr/bin/monsisra")
    if _installed():
        subprocess.run(["dpkg", "--purge", "monsisra"], check=False, capture_output=True)


def _field(deb: Path, name: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "--field", str(deb), name], check=True, capture_output=True, text=True
    ).stdout.strip()


def _home(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "MONSISRA", "QT_"))}
    env.update(HOME=str(home), LANG="fr_FR.UTF-8")
    env.pop("DISPLAY", None)
    return env


def test_the_package_metadata_and_files(deb: Path) -> None:
    assert _field(deb, "Package") == "monsisra"
    assert _field(deb, "Version") == __version__
    assert _field(deb, "Architecture") == "amd64"
    assert "libxcb-cursor0" in _field(deb, "Depends")
    assert "documents médicaux" in _field(deb, "Description")
    listing = subprocess.run(
        ["dpkg-deb", "--contents", str(deb)], check=True, capture_output=True, text=True
    ).stdout
    for path in (
        "./opt/monsisra/monsisra",
        "./usr/bin/monsisra -> /opt/monsisra/monsisra",
        "./usr/share/applications/monsisra.desktop",
        "./usr/share/icons/hicolor/scalable/apps/monsisra.svg",
        "./usr/share/icons/hicolor/48x48/apps/monsisra.png",
        "./usr/lib/cups/backend/monsisra",
        "./usr/share/ppd/monsisra/monsisra.ppd",
        "sisra/client/export/profiles.json",
        "sisra/common/xdm/schemas/lcm.xsd",
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
        "pypdfium2_raw/libpdfium.so",
    ):
        assert path in listing, path
    assert "fastapi" not in listing  # the platform stays out of the desktop package


def test_install_start_to_the_wizard_then_remove_keeps_the_users_files(
    installed: Path, tmp_path: Path
) -> None:
    assert installed.resolve() == Path("/opt/monsisra/monsisra")
    region = json.loads(Path("/opt/monsisra/_internal/region.json").read_text(encoding="utf-8"))
    assert region["server_url"] == "https://sisra.region-test.example"
    assert region["contact"] == "aide@region.example"
    menu = Path("/usr/share/applications/monsisra.desktop").read_text(encoding="utf-8")
    assert "Exec=/usr/bin/monsisra\n" in menu and "Icon=monsisra\n" in menu
    env = _home(tmp_path)
    home = Path(env["HOME"])

    # the installed program, on a real X screen: the first-run wizard is shown
    first = subprocess.run(
        ["xvfb-run", "-a", str(installed), "--startup-time"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "first-window-shown" in first.stdout and "EnrolWizard" in first.stdout, (
        first.stdout + first.stderr
    )

    # the same, left running: its window is found by its title, the process stays up
    script = (
        f"{installed} & pid=$!; "
        "for i in $(seq 60); do "
        "  w=$(xdotool search --name 'Ajouter un utilisateur' 2>/dev/null) && break; "
        "  sleep 0.5; done; "
        'sleep 2; kill -0 "$pid" && echo alive; '
        'echo "window=$w"; xdotool getwindowname $w; kill "$pid"; wait "$pid"'
    )
    run = subprocess.run(
        ["xvfb-run", "-a", "sh", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "alive" in run.stdout, run.stdout + run.stderr
    assert "Ajouter un utilisateur" in run.stdout, run.stdout + run.stderr

    # the hover preview's bounded render process is the installed program itself
    from sisra.common.pdfrender import WORKER_FLAG
    from support.documents import make_pdf

    render = subprocess.run(
        [str(installed), WORKER_FLAG, "340", "1020", "5", "512"],
        input=make_pdf("Aperçu"),
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert render.returncode == 0 and render.stdout.startswith(b"P6\n340 "), render.stderr

    # « Lancer MonSisra au démarrage » from the package starts /usr/bin/monsisra
    command = subprocess.run(
        [str(installed), "--launch-command"], env=env, capture_output=True, text=True, timeout=60
    )
    assert json.loads(command.stdout) == ["/usr/bin/monsisra"]
    # the package has its own menu entry: no per-user copy to outlive an uninstall
    assert not (home / ".local/share/applications/monsisra.desktop").exists()

    documents = home / "Documents" / "MonSisra"
    documents.mkdir(parents=True)
    (documents / "compte-rendu.pdf").write_bytes(b"%PDF-1.4 kept")
    data = [p for p in home.rglob("*") if p.is_file()]
    assert data  # the run left its files (account store, settings)

    subprocess.run(["dpkg", "-r", "monsisra"], check=True, capture_output=True)
    assert not Path("/opt/monsisra").exists()
    assert not installed.exists() and not installed.is_symlink()
    assert not Path("/usr/share/applications/monsisra.desktop").exists()
    # purge too: the user's files are the user's
    subprocess.run(["dpkg", "--purge", "monsisra"], check=True, capture_output=True)
    assert (documents / "compte-rendu.pdf").read_bytes() == b"%PDF-1.4 kept"
    assert all(p.is_file() for p in data)

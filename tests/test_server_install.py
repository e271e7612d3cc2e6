"""A server does not install Qt: ``pip install sisra`` brings the platform and the headless
engine, ``sisra[desktop]`` adds PySide6, and the window's commands say so when it is missing.

Two proofs: cheap ones in this environment (the installed metadata; the server's modules and
commands in a child whose import system refuses PySide6), and a fresh virtual environment
with ``uv pip install .`` and no extra (the lock's versions; about ten seconds here).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.metadata import requires
from pathlib import Path

import pytest

from sisra.desktop.launch import MISSING

ROOT = Path(__file__).resolve().parents[1]
# the modules a server imports: the platform, the headless engine and its service, the command
SERVER_MODULES = [
    "sisra.cli",
    "sisra.cli_entry",
    "sisra.platform.app",
    "sisra.client.cli",
    "sisra.client.daemon",
    "sisra.client.engine",
    "sisra.client.export.hprim",
    "sisra.common.pdfrender",
    "sisra.desktop.launch",
]
# a child whose imports of PySide6 (and shiboken6) fail, as on a server without the extra
NO_QT = """
import importlib.abc, sys
class NoQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6"):
            raise ImportError(f"No module named {name!r} (blocked)")
        return None
sys.meta_path.insert(0, NoQt())
"""


def _no_qt(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120"}
    env.pop("QT_QPA_PLATFORM", None)
    return subprocess.run(
        [sys.executable, "-c", NO_QT + code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=ROOT,
    )


def test_qt_is_only_in_the_desktop_extra() -> None:
    qt = [r for r in requires("sisra") or [] if r.lower().startswith("pyside6")]
    assert qt and all('extra == "desktop"' in r.replace("'", '"') for r in qt), qt


def test_the_server_modules_import_without_qt() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {SERVER_MODULES!r}: importlib.import_module(name)\n"
        "assert not [m for m in sys.modules if m.startswith('PySide6')]\n"
        "print('ok')\n"
    )
    run = _no_qt(code)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr


def test_the_commands_without_qt() -> None:
    cli = "import sys\nfrom sisra.cli import app\nsys.argv[0] = 'sisra'\napp()\n"
    serve = _no_qt(cli, "serve", "--help")
    assert serve.returncode == 0 and "--workers" in serve.stdout, serve.stderr
    client = _no_qt(cli, "client", "status")
    assert client.returncode == 0, client.stderr
    desktop = _no_qt(cli, "desktop")
    assert desktop.returncode == 1 and MISSING in desktop.stderr, desktop.stderr
    assert "Traceback" not in desktop.stderr
    # the `sisra` program starts `sisra desktop` before the command line; without Qt, the same
    program = "import sys\nfrom sisra.cli_entry import main\nsys.argv[0] = 'sisra'\nmain()\n"
    desktop = _no_qt(program, "desktop", "--startup-time")
    assert desktop.returncode == 1 and MISSING in desktop.stderr, desktop.stderr
    assert "Traceback" not in desktop.stderr
    module = _no_qt("import runpy\nrunpy.run_module('sisra.desktop', run_name='__main__')\n")
    assert module.returncode == 1 and module.stderr.strip() == MISSING, module.stderr


def _uv() -> str:
    found = shutil.which("uv") or str(Path.home() / ".local/bin/uv")
    if not Path(found).exists():
        pytest.skip("uv manque (make env l'installe)")
    return found


def test_a_fresh_install_without_extras(tmp_path: Path) -> None:
    uv = _uv()
    venv = tmp_path / "server"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    pins = subprocess.run(
        [uv, "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (tmp_path / "lock.txt").write_text(pins, encoding="utf-8")
    assert "pyside6" not in pins.lower()
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=env)
    install = subprocess.run(
        [uv, "pip", "install", "-q", "-c", str(tmp_path / "lock.txt"), str(ROOT)],
        env={**env, "VIRTUAL_ENV": str(venv)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr
    python = venv / "bin" / "python"
    imports = subprocess.run(
        [python, "-c", "import sisra.platform.app, sisra.client.daemon"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert imports.returncode == 0, imports.stderr
    qt = subprocess.run([python, "-c", "import PySide6"], capture_output=True, cwd=tmp_path)
    assert qt.returncode != 0
    serve = subprocess.run(
        [venv / "bin" / "sisra", "serve", "--help"], capture_output=True, text=True, cwd=tmp_path
    )
    assert serve.returncode == 0 and "--workers" in serve.stdout, serve.stderr
    window = subprocess.run(
        [venv / "bin" / "monsisra"], capture_output=True, text=True, cwd=tmp_path
    )
    assert window.returncode == 1 and window.stderr.strip() == MISSING, window.stderr

"""The « MonSisra » printer in the .deb: the backend wrapper (0700, running the bundle), the
PPD, and the maintainer scripts that add the queue to a real CUPS and remove it — without
running PyInstaller (the whole .deb is built and installed by test_deb.py)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from needs import need

ROOT = Path(__file__).resolve().parents[2]


def _build_deb():
    spec = importlib.util.spec_from_file_location(
        "build_deb_printer", ROOT / "packaging" / "linux" / "build_deb.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_package_carries_the_backend_the_ppd_and_scripts_that_add_and_remove_the_queue(
    tmp_path: Path,
) -> None:
    need("cups")
    from fixtures.printing import start_cups

    build = _build_deb()
    root = tmp_path / "root"
    root.mkdir()
    build.stage_printer(root)
    backend = root / "usr/lib/cups/backend/monsisra"
    assert stat.S_IMODE(backend.stat().st_mode) == 0o700  # CUPS runs it as root
    assert 'exec /opt/monsisra/monsisra --cups-backend "$@"' in backend.read_text()
    ppd = root / "usr/share/ppd/monsisra/monsisra.ppd"
    assert subprocess.run(["cupstestppd", "-q", str(ppd)], check=False).returncode == 0

    cups, base = start_cups(tmp_path / "monsisra", queue=False)
    try:
        env = {**os.environ, "CUPS_SERVER": cups.server}
        scripts = {}
        for name, text in (("postinst", build.POSTINST), ("prerm", build.PRERM)):
            text = text.replace(build.BACKEND, str(backend)).replace(build.PPD, str(ppd))
            scripts[name] = tmp_path / name
            scripts[name].write_text(text, encoding="utf-8")
        subprocess.run(["sh", str(scripts["postinst"]), "configure"], env=env, check=True)
        assert "device for MonSisra: monsisra:/" in cups.run("lpstat", "-v").stdout
        from support.waiting import wait_until

        printers = base / "cups" / "conf" / "printers.conf"
        wait_until(lambda: printers.exists() and "ErrorPolicy" in printers.read_text(), 30)
        assert "ErrorPolicy abort-job" in printers.read_text()
        assert "Shared No" in printers.read_text()
        assert "is idle" in cups.run("lpstat", "-p", "MonSisra").stdout  # enabled
        subprocess.run(["sh", str(scripts["prerm"]), "remove"], env=env, check=True)
        assert "MonSisra" not in cups.run("lpstat", "-v").stdout
        # without CUPS the scripts do nothing and succeed
        bare = {**env, "PATH": str(tmp_path / "empty")}
        (tmp_path / "empty").mkdir()
        for name, arg in (("postinst", "configure"), ("prerm", "remove")):
            subprocess.run(["/bin/sh", str(scripts[name]), arg], env=bare, check=True)
    finally:
        cups.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_the_bundles_entry_runs_the_backend_without_qt() -> None:
    entry = str(ROOT / "packaging/linux/entry.py")
    found = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, runpy; sys.modules['PySide6'] = None; "
            "sys.argv = ['x', '--cups-backend']; "
            f"runpy.run_path({entry!r}, run_name='__main__')",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith('direct monsisra:/ "MonSisra"')

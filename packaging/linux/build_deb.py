"""``make package``: MonSisra as a Debian package (amd64) with its own Python and Qt.

1. PyInstaller makes a one-folder bundle of the desktop application (``monsisra.spec``);
2. the bundle goes to ``/opt/monsisra``, with ``/usr/bin/monsisra`` (a symbolic link), the
   applications-menu entry and the icon (hicolor, SVG plus PNGs drawn by the app's own code);
3. ``dpkg-deb --build`` writes ``dist/monsisra_<version>_amd64.deb``.

The maintainer scripts refresh the menu and icon caches and, when CUPS is installed, add the
« MonSisra » printer (``/usr/lib/cups/backend/monsisra`` and its PPD; removed by ``prerm``):
removing or purging the package never touches the users' home folders (accounts, documents,
exports stay).

The region's values (``--server-url``, ``--contact``, ``--region-name``; from ``make package
SERVER_URL=… CONTACT=… REGION_NAME=…``) go into ``region.json`` inside the bundle: the
first-run wizard offers that platform address, and « À propos » shows that contact until the
platform gives its own (:mod:`sisra.client.region`).

Usage: ``python packaging/linux/build_deb.py [--out DIR] [--work DIR] [--server-url URL]
[--contact ADDRESS] [--region-name NAME]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sisra.client.region import Region, RegionError, check_region, write_region  # noqa: E402

PREFIX = "/opt/monsisra"
LAUNCHER = "/usr/bin/monsisra"
# What the bundled Qt (xcb platform plugin) loads from the system; everything else is inside.
DEPENDS = [
    "libc6 (>= 2.31)",
    "libgl1",
    "libegl1",
    "libfontconfig1",
    "libfreetype6",
    "libdbus-1-3",
    "libxkbcommon0",
    "libxkbcommon-x11-0",
    "libxcb-cursor0",
    "libxcb-icccm4",
    "libxcb-image0",
    "libxcb-keysyms1",
    "libxcb-randr0",
    "libxcb-render-util0",
    "libxcb-shape0",
    "libxcb-xinerama0",
    "libxcb-xkb1",
    "libx11-xcb1",
]
RECOMMENDS = ["xdg-utils", "fonts-dejavu-core"]
SUGGESTS = ["cups", "cups-filters"]  # the « MonSisra » printer (Imprimer vers MonSisra)
MAINTAINER = "Équipe Sisra <contact@sisra.example>"
DESCRIPTION = """\
MonSisra : documents médicaux reçus de la plateforme Sisra
 MonSisra reçoit sur le poste du professionnel de santé les documents que ses
 correspondants lui adressent par la plateforme Sisra, les déchiffre, les
 affiche et les range dans son dossier ou son logiciel métier.
 .
 Connexion par mot de passe avec code reçu par courriel ou par carte CPS
 (nécessite alors le module « cryptolib CPS »).
"""

BACKEND = "/usr/lib/cups/backend/monsisra"
PPD = "/usr/share/ppd/monsisra/monsisra.ppd"
QUEUE = "MonSisra"
# The « MonSisra » printer (decisions 184-186): created when CUPS is installed, never shared,
# a failed job dropped rather than the queue stopped; a failure here never fails the install.
ADD_QUEUE = f"""\
    if command -v lpadmin >/dev/null 2>&1 && [ -x {BACKEND} ]; then
        lpadmin -p {QUEUE} -E -v monsisra:/ -P {PPD} -D "MonSisra" \\
            -L "Envoi par la plateforme Sisra" -o printer-error-policy=abort-job \\
            -o printer-is-shared=false >/dev/null 2>&1 || true
    fi
"""
REMOVE_QUEUE = f"""\
if command -v lpadmin >/dev/null 2>&1 && lpstat -p {QUEUE} >/dev/null 2>&1; then
    lpadmin -x {QUEUE} >/dev/null 2>&1 || true
fi
"""

POSTINST = f"""\
#!/bin/sh
# Refresh the applications menu and the icon cache; add the MonSisra printer when CUPS is here.
set -e
if [ "$1" = "configure" ]; then
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q /usr/share/applications || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true
    fi
{ADD_QUEUE}fi
exit 0
"""

PRERM = f"""\
#!/bin/sh
# The MonSisra printer goes with the package (its backend is about to be removed).
set -e
if [ "$1" = "remove" ] || [ "$1" = "deconfigure" ]; then
{REMOVE_QUEUE}fi
exit 0
"""

POSTRM = """\
#!/bin/sh
# Removing (or purging) MonSisra deletes only what the package installed (/opt/monsisra, the
# launcher, the menu entry, the icon). The users' accounts, documents and settings live in
# their home folders and are left untouched on purpose, purge included.
set -e
if [ "$1" = "remove" ] || [ "$1" = "purge" ]; then
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q /usr/share/applications || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true
    fi
fi
exit 0
"""


def version() -> str:
    from sisra import __version__

    return __version__


def bundle(work: Path, spec: str = "monsisra.spec", name: str = "monsisra") -> Path:
    """The PyInstaller one-folder bundle of ``spec`` (``<work>/dist/<name>``)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level=WARN",
            "--distpath",
            str(work / "dist"),
            "--workpath",
            str(work / "build"),
            str(HERE / spec),
        ],
        check=True,
        cwd=ROOT,
    )
    return work / "dist" / name


def menu_file() -> bytes:
    from sisra.client.autostart import menu_entry

    return menu_entry([LAUNCHER]) + b"Icon=monsisra\n"


def render_pngs(icons: Path) -> None:
    """The PNG sizes of the hicolor theme, drawn by the application's own icon code."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from sisra.desktop.icons import app_pixmap

    _app = QApplication.instance() or QApplication([])
    for size in (32, 48, 128, 256):
        target = icons / f"{size}x{size}" / "apps" / "monsisra.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not app_pixmap(size).save(str(target), "PNG"):
            raise SystemExit(f"could not write {target}")


def bundle_data_dir(app: Path) -> Path:
    """The folder of a one-folder bundle where its data files live (PyInstaller's
    ``sys._MEIPASS``: ``_internal`` since PyInstaller 6, the bundle itself before)."""
    internal = app / "_internal"
    return internal if internal.is_dir() else app


def stage(app: Path, root: Path, ver: str, region: Region | None = None) -> None:
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(app, root / PREFIX.lstrip("/"), symlinks=True)
    if region is not None and region != Region():
        write_region(bundle_data_dir(root / PREFIX.lstrip("/")), region)
    (root / "usr/bin").mkdir(parents=True)
    os.symlink(f"{PREFIX}/monsisra", root / LAUNCHER.lstrip("/"))
    applications = root / "usr/share/applications"
    applications.mkdir(parents=True)
    (applications / "monsisra.desktop").write_bytes(menu_file())
    icons = root / "usr/share/icons/hicolor"
    (icons / "scalable/apps").mkdir(parents=True)
    shutil.copy(HERE / "monsisra.svg", icons / "scalable/apps/monsisra.svg")
    render_pngs(icons)
    stage_printer(root)
    size_kb = installed_size_kb(root)
    control = root / "DEBIAN"
    control.mkdir()
    (control / "control").write_text(
        f"Package: monsisra\n"
        f"Version: {ver}\n"
        f"Section: misc\n"
        f"Priority: optional\n"
        f"Architecture: amd64\n"
        f"Installed-Size: {size_kb}\n"
        f"Depends: {', '.join(DEPENDS)}\n"
        f"Recommends: {', '.join(RECOMMENDS)}\n"
        f"Suggests: {', '.join(SUGGESTS)}\n"
        f"Maintainer: {MAINTAINER}\n"
        f"Homepage: https://www.monsisra.fr\n"
        f"Description: {DESCRIPTION}",
        encoding="utf-8",
    )
    for name, text in (("postinst", POSTINST), ("prerm", PRERM), ("postrm", POSTRM)):
        (control / name).write_text(text, encoding="utf-8")
        (control / name).chmod(0o755)
    fix_dir_modes(root)


def stage_printer(root: Path) -> None:
    """The CUPS backend (a wrapper running the bundle, 0700 so CUPS starts it as root, which
    then takes the printing user's identity) and the queue's PPD."""
    from sisra.client.printing.cups_backend import WRAPPER

    backend = root / BACKEND.lstrip("/")
    backend.parent.mkdir(parents=True)
    backend.write_text(WRAPPER, encoding="utf-8")
    backend.chmod(0o700)
    ppd = root / PPD.lstrip("/")
    ppd.parent.mkdir(parents=True)
    shutil.copy(HERE / "monsisra.ppd", ppd)
    ppd.chmod(0o644)


def fix_dir_modes(root: Path) -> None:
    for path in root.rglob("*"):  # dpkg wants 0755 directories, whatever the umask
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)


def installed_size_kb(root: Path) -> int:
    return sum(p.lstat().st_size for p in root.rglob("*") if not p.is_dir()) // 1024


def build_deb(root: Path, deb: Path, started: float) -> None:
    """``dpkg-deb --build`` of the staged tree, owned by root whoever builds it."""
    deb.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "-z6", "--build", str(root), str(deb)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"{deb} ({deb.stat().st_size // 1024} Kio, {time.monotonic() - started:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "package")
    parser.add_argument("--server-url", default="", help="the platform address to offer")
    parser.add_argument("--contact", default="", help="the operator's e-mail or web address")
    parser.add_argument("--region-name", default="", help="the region's platform name")
    args = parser.parse_args(argv)
    try:  # checked before the minutes of PyInstaller
        region = check_region(args.server_url, args.contact, args.region_name)
    except RegionError as exc:
        parser.error(str(exc))
    started = time.monotonic()
    ver = version()
    app = bundle(args.work)
    root = args.work / "root"
    stage(app, root, ver, region)
    build_deb(root, args.out / f"monsisra_{ver}_amd64.deb", started)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``make package-service``: MonSisra's headless engine for a practice server, as a Debian
package (amd64), ``dist/monsisra-service_<version>_amd64.deb``.

1. PyInstaller makes a one-folder bundle of ``sisra client …`` (``service.spec``): its own
   Python, no Qt, no platform;
2. the tree: the bundle in ``/opt/monsisra-service``, ``/usr/bin/sisra`` (a symbolic link),
   the systemd unit ``/lib/systemd/system/monsisra.service``, the settings file
   ``/etc/monsisra/monsisra.conf`` (a conffile) and the setup guide in
   ``/usr/share/doc/monsisra-service/``;
3. the maintainer scripts create the system account ``monsisra`` (its home, where the
   accounts live, is ``/var/lib/monsisra``) and the empty passwords file
   ``/etc/monsisra/cles`` (0600); the service is neither enabled nor started: it has no user
   to sync until ``sisra client add-user`` has run. Removing stops it; purging deletes
   ``/etc/monsisra`` and ``/var/lib/monsisra`` (the documents already written to the practice
   software's folders stay) and keeps the system account, which still owns those files.

Usage: ``python packaging/linux/build_service_deb.py [--out DIR] [--work DIR]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from build_deb import (
    HERE,
    MAINTAINER,
    ROOT,
    build_deb,
    bundle,
    fix_dir_modes,
    installed_size_kb,
    version,
)

PACKAGE = "monsisra-service"
PREFIX = f"/opt/{PACKAGE}"
COMMAND = "/usr/bin/sisra"
UNIT = "/lib/systemd/system/monsisra.service"
CONFIG = "/etc/monsisra/monsisra.conf"
DOC = f"/usr/share/doc/{PACKAGE}/monsisra-service.md"
DEPENDS = ["libc6 (>= 2.31)", "adduser"]
DESCRIPTION = """\
MonSisra (service) : documents médicaux reçus de Sisra, sur un serveur de cabinet
 Le moteur de MonSisra sans fenêtre : « sisra client daemon » reçoit les
 documents que les correspondants des professionnels du cabinet leur adressent
 par la plateforme Sisra et les enregistre dans les dossiers du logiciel
 métier, sans session ouverte. Service systemd monsisra.service, compte
 système monsisra.
 .
 Mise en place : /usr/share/doc/monsisra-service/monsisra-service.md
"""

CONF = """\
# Réglages du service MonSisra (variables d'environnement, une par ligne « NOM=valeur »),
# lus à chaque démarrage : sudo systemctl restart monsisra
#
# Un serveur mandataire (proxy) pour joindre la plateforme Sisra :
#HTTPS_PROXY=http://proxy.cabinet.example:3128
"""

KEYFILE_HEADER = """\
# Mots de passe MonSisra des utilisateurs du service, une ligne par utilisateur :
#   identifiant: mot de passe
# Lisible par le seul compte monsisra (chmod 600) ; relu par le service quand il change.
"""

POSTINST = f"""\
#!/bin/sh
# The system account and its folders; the service is only (re)started when it was running.
set -e
if [ "$1" = "configure" ]; then
    if ! getent passwd monsisra >/dev/null; then
        adduser --system --group --home /var/lib/monsisra --no-create-home \\
            --shell /usr/sbin/nologin --gecos "MonSisra (service)" --quiet monsisra
    fi
    install -d -o monsisra -g monsisra -m 0700 /var/lib/monsisra
    install -d -o root -g monsisra -m 0750 /etc/monsisra
    if [ ! -e /etc/monsisra/cles ]; then
        umask 077
        cat > /etc/monsisra/cles <<'KEYS'
{KEYFILE_HEADER}KEYS
        chown monsisra:monsisra /etc/monsisra/cles
        chmod 600 /etc/monsisra/cles
    fi
    if command -v deb-systemd-helper >/dev/null 2>&1; then
        deb-systemd-helper update-state monsisra.service >/dev/null || true
    fi
    if [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
        if [ -n "$2" ]; then
            systemctl try-restart monsisra.service >/dev/null || true
        fi
    fi
fi
exit 0
"""

PRERM = """\
#!/bin/sh
# Stop the service before its program goes away (an upgrade restarts it in postinst).
set -e
if [ "$1" = "remove" ] && [ -d /run/systemd/system ]; then
    systemctl stop monsisra.service >/dev/null 2>&1 || true
fi
exit 0
"""

POSTRM = """\
#!/bin/sh
# Purge deletes the package's settings, passwords file and accounts (/etc/monsisra,
# /var/lib/monsisra). The documents already written to the practice software's folders are
# the practice's and stay; so does the system account monsisra, which still owns them.
set -e
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = "remove" ] && command -v deb-systemd-helper >/dev/null 2>&1; then
    deb-systemd-helper mask monsisra.service >/dev/null || true
fi
if [ "$1" = "purge" ]; then
    if command -v deb-systemd-helper >/dev/null 2>&1; then
        deb-systemd-helper purge monsisra.service >/dev/null || true
        deb-systemd-helper unmask monsisra.service >/dev/null || true
    fi
    rm -rf /etc/monsisra /var/lib/monsisra
fi
exit 0
"""


def stage(app: Path, root: Path, ver: str) -> None:
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(app, root / PREFIX.lstrip("/"), symlinks=True)
    (root / "usr/bin").mkdir(parents=True)
    os.symlink(f"{PREFIX}/sisra", root / COMMAND.lstrip("/"))
    for target, text in (
        (UNIT, (HERE / "service" / "monsisra.service").read_text(encoding="utf-8")),
        (CONFIG, CONF),
        (DOC, (ROOT / "docs" / "monsisra-service.md").read_text(encoding="utf-8")),
    ):
        path = root / target.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o644)
    control = root / "DEBIAN"
    control.mkdir()
    (control / "control").write_text(
        f"Package: {PACKAGE}\n"
        f"Version: {ver}\n"
        f"Section: net\n"
        f"Priority: optional\n"
        f"Architecture: amd64\n"
        f"Installed-Size: {installed_size_kb(root)}\n"
        f"Depends: {', '.join(DEPENDS)}\n"
        f"Maintainer: {MAINTAINER}\n"
        f"Homepage: https://www.monsisra.fr\n"
        f"Description: {DESCRIPTION}",
        encoding="utf-8",
    )
    (control / "conffiles").write_text(f"{CONFIG}\n", encoding="utf-8")
    for name, text in (("postinst", POSTINST), ("prerm", PRERM), ("postrm", POSTRM)):
        (control / name).write_text(text, encoding="utf-8")
        (control / name).chmod(0o755)
    fix_dir_modes(root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "package-service")
    args = parser.parse_args(argv)
    started = time.monotonic()
    ver = version()
    app = bundle(args.work, "service.spec", PACKAGE)
    root = args.work / "root"
    stage(app, root, ver)
    build_deb(root, args.out / f"{PACKAGE}_{ver}_amd64.deb", started)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Desktop-wide defaults: names, the launch command (the platform address offered to new
users is :func:`sisra.client.api.default_server`)."""

from __future__ import annotations

import os
import sys
from html import escape

from sisra.client.autostart import ensure_menu_entry, set_launch_at_startup

APP_NAME = "MonSisra"
ORGANIZATION = "Sisra"


def help_line(contact: str | None) -> str:
    """« Besoin d'aide ? » with the operator's contact (rich text), from the platform's
    settings or the package's region file; without one, the user is sent to the operator,
    never to an address guessed here."""
    if not contact:
        return "Besoin d'aide ? Adressez-vous à l'équipe qui gère votre plateforme Sisra."
    target = contact if contact.lower().startswith(("http://", "https://")) else f"mailto:{contact}"
    return (
        f'Besoin d\'aide ? Écrivez à <a href="{escape(target, quote=True)}">{escape(contact)}</a>'
    )


# the packaged MonSisra's launcher (packaging/linux/build_deb.py), a link to the bundle
PACKAGE_LAUNCHER = "/usr/bin/monsisra"


def desktop_command(launcher: str = PACKAGE_LAUNCHER) -> list[str]:
    """What « Lancer MonSisra au démarrage » starts: this desktop application.

    Installed from the package (a frozen bundle), the stable launcher ``/usr/bin/monsisra``
    when it leads to this very program (the bundle's path is an implementation detail), else
    the bundle's executable; from Python, ``python -m sisra.desktop``."""
    if getattr(sys, "frozen", False):
        try:
            if os.path.realpath(launcher) == os.path.realpath(sys.executable):
                return [launcher]
        except OSError:
            pass
        return [sys.executable]
    return [sys.executable, "-m", "sisra.desktop"]


def apply_autostart(enabled: bool) -> str | None:
    """Apply the launch-at-startup setting; a French message when it could not be."""
    return set_launch_at_startup(enabled, desktop_command())


def ensure_shortcut() -> None:
    """MonSisra in the applications menu of a Linux desktop (pip installs no shortcut; the
    package installs its own system-wide entry, so a frozen bundle writes none)."""
    if getattr(sys, "frozen", False):
        return
    ensure_menu_entry(desktop_command())

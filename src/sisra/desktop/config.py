"""Desktop-wide defaults: names, the launch command (the platform address offered to new
users is :func:`sisra.client.api.default_server`)."""

from __future__ import annotations

import sys

from sisra.client.autostart import ensure_menu_entry, set_launch_at_startup

APP_NAME = "MonSisra"
ORGANIZATION = "Sisra"
SUPPORT = "www.sante-ra.fr/contact"


def desktop_command() -> list[str]:
    """What « Lancer MonSisra au démarrage » starts: this desktop application."""
    return [sys.executable, "-m", "sisra.desktop"]


def apply_autostart(enabled: bool) -> str | None:
    """Apply the launch-at-startup setting; a French message when it could not be."""
    return set_launch_at_startup(enabled, desktop_command())


def ensure_shortcut() -> None:
    """MonSisra in the applications menu of a Linux desktop (pip installs no shortcut)."""
    ensure_menu_entry(desktop_command())

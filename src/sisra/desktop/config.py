"""Desktop-wide defaults: the platform address offered to new users, the launch command."""

from __future__ import annotations

import os
import sys

from sisra.client.autostart import ensure_menu_entry, set_launch_at_startup

APP_NAME = "MonSisra"
ORGANIZATION = "Sisra"
# Offered in the first-run wizard; an operator packaging MonSisra for a region sets it.
DEFAULT_SERVER = os.environ.get("SISRA_SERVER_URL", "http://127.0.0.1:8000")
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

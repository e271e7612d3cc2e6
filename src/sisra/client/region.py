"""What MonSisra knows of its region before and after the first connection.

- **The region file** (``region.json``), baked into a package by
  ``make package SERVER_URL=… CONTACT=… REGION_NAME=…`` (``packaging/linux/build_deb.py``):
  the platform address the first-run wizard offers, and the contact and name « À propos »
  shows until the platform has said its own. ``SISRA_SERVER_URL`` still overrides the
  address; without a file, the demo's address is offered.
- **The platform's own word** (``GET /api/v1/platform``): its name, contact address and
  time zone, remembered per account in ``platform.json`` each time the engine starts
  catching up, so « À propos » and the times shown need no network.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import asdict, dataclass
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sisra.client.api import PlatformClient

REGION_FILE = "region.json"
PLATFORM_FILE = "platform.json"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RegionError(ValueError):
    """A region value refused at build time (French message)."""


@dataclass(frozen=True)
class Region:
    server_url: str | None = None
    contact: str | None = None  # an e-mail address or a web address
    name: str | None = None


def check_region(server_url: str | None, contact: str | None, name: str | None) -> Region:
    """The values normalised, or :class:`RegionError` saying what is wrong."""
    url = (server_url or "").strip().rstrip("/") or None
    if url is not None and (
        not re.match(r"^https?://[^\s/]+", url, re.IGNORECASE) or any(c.isspace() for c in url)
    ):
        raise RegionError(
            f"SERVER_URL doit être l'adresse de la plateforme, commençant par https:// : « {url} »."
        )
    who = (contact or "").strip() or None
    if who is not None and not (
        _EMAIL.match(who) or re.match(r"^https?://\S+$", who, re.IGNORECASE)
    ):
        raise RegionError(
            f"CONTACT doit être une adresse e-mail ou une adresse https:// : « {who} »."
        )
    label = " ".join((name or "").split()) or None
    if label is not None and len(label) > 120:
        raise RegionError("REGION_NAME ne peut dépasser 120 caractères.")
    return Region(url, who, label)


def write_region(folder: Path, region: Region) -> Path:
    """``<folder>/region.json`` with the region's values (build time)."""
    path = folder / REGION_FILE
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(region), ensure_ascii=False, indent=2) + "\n", "utf-8")
    path.chmod(0o644)
    return path


def bundle_dir() -> Path | None:
    """Where a packaged MonSisra keeps its files (PyInstaller's folder), else None."""
    base = getattr(sys, "_MEIPASS", None)
    return Path(base) if getattr(sys, "frozen", False) and base else None


def _strings(data: Any, *names: str) -> dict[str, str | None]:
    if not isinstance(data, dict):
        return dict.fromkeys(names)
    return {n: data[n] if isinstance(data.get(n), str) and data[n].strip() else None for n in names}


def read_region(folder: Path | None = None) -> Region:
    """The region file of this installation (empty when there is none or it is unreadable:
    a broken file never stops MonSisra, the demo's defaults apply)."""
    folder = folder if folder is not None else bundle_dir()
    if folder is None:
        return Region()
    try:
        data = json.loads((folder / REGION_FILE).read_text(encoding="utf-8"))
        values = _strings(data, "server_url", "contact", "name")
        return check_region(values["server_url"], values["contact"], values["name"])
    except (OSError, ValueError):
        return Region()


@dataclass(frozen=True)
class PlatformInfo:
    name: str | None = None
    contact_email: str | None = None
    public_url: str | None = None
    timezone: str | None = None


def fetch_platform(client: PlatformClient) -> PlatformInfo | None:
    """The platform's own description, or None (down, or a platform that does not say)."""
    from sisra.client.api import ApiError

    try:
        body = client.get_json("/api/v1/platform", timeout=5)
    except (ApiError, ValueError):
        return None
    values = _strings(body, "name", "contact_email", "public_url", "timezone")
    return PlatformInfo(**values) if any(values.values()) else None


def remember_platform(account_folder: Path, client: PlatformClient) -> PlatformInfo | None:
    """Ask the platform and keep its answer in the account's ``platform.json``."""
    info = fetch_platform(client)
    if info is not None and info != known_platform(account_folder):
        path = account_folder / PLATFORM_FILE
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(asdict(info), ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            return info
    return info


def known_platform(account_folder: Path) -> PlatformInfo:
    """What the platform last said of itself (empty before the first connection)."""
    try:
        data = json.loads((account_folder / PLATFORM_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return PlatformInfo()
    return PlatformInfo(**_strings(data, "name", "contact_email", "public_url", "timezone"))


def display_zone(account_folder: Path) -> tzinfo | None:
    """The zone times are shown in for this account: the platform's, else this computer's
    (None)."""
    from sisra.common.clock import zone

    return zone(known_platform(account_folder).timezone)


def operator(account_folder: Path) -> tuple[str | None, str | None]:
    """(name, contact) of whoever runs the account's platform: what the platform said of
    itself, else what the package was built with, else nothing (never a guessed address)."""
    known, region = known_platform(account_folder), read_region()
    return known.name or region.name, known.contact_email or region.contact

"""Is a newer MonSisra offered by the platform? (``GET /api/v1/monsisra/latest``)

Asked at most once a day per account: the answer is remembered in ``update-check.json``
next to the account's state, and reused until it is a day old. Any failure (platform
down, an older platform without the endpoint, a damaged file) means « no news »: an update
check never stands in the way of receiving documents.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sisra import __version__
from sisra.client.api import ApiError, PlatformClient
from sisra.client.vault import atomic_write

CHECK_FILE = "update-check.json"
CHECK_EVERY = timedelta(days=1)
DOWNLOAD_PAGE = "/telecharger"


@dataclass(frozen=True)
class Update:
    version: str
    download_page: str


def system_key(platform: str | None = None) -> str:
    """The key of this system in the endpoint's ``files`` (``linux``, ``windows``, ``macos``)."""
    platform = platform or sys.platform
    if platform.startswith(("win32", "cygwin")):
        return "windows"
    if platform == "darwin":
        return "macos"
    return "linux"


def _key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        return ()


def newer(offered: str, current: str) -> bool:
    """``offered`` is a newer version than ``current`` (numbers compared, « 0.10 » > « 0.9 »)."""
    a, b = _key(offered), _key(current)
    return bool(a) and bool(b) and a > b


def _offered_version(body: Any, system: str) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("files"), dict):
        return None
    entry = body["files"].get(system)
    if isinstance(entry, dict) and isinstance(entry.get("version"), str):
        return str(entry["version"])
    return None


def check(
    client: PlatformClient,
    folder: Path,
    *,
    current: str = __version__,
    system: str | None = None,
    now: datetime | None = None,
) -> Update | None:
    """The newer MonSisra for this system, or None; asks the platform at most once a day."""
    now = now or datetime.now(UTC)
    system = system or system_key()
    path = folder / CHECK_FILE
    offered: str | None = None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        checked = datetime.fromisoformat(saved["checked_at"])
        fresh = saved.get("server") == client.base_url and now - checked < CHECK_EVERY
        offered = saved.get("version") if fresh else None
    except (OSError, ValueError, KeyError, TypeError):
        fresh = False
    if not fresh:
        try:
            offered = _offered_version(client.get_json("/api/v1/monsisra/latest"), system)
        except (ApiError, ValueError):
            return None  # asked again next time
        record = {"checked_at": now.isoformat(), "server": client.base_url, "version": offered}
        try:
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write(path, json.dumps(record).encode("utf-8"), mode=0o600)
        except OSError:
            pass
    if isinstance(offered, str) and newer(offered, current):
        return Update(offered, client.base_url + DOWNLOAD_PAGE)
    return None

"""The MonSisra installers an operator offers for download (« Télécharger MonSisra »).

The operator drops the files in the downloads directory (``SISRA_DOWNLOADS_DIR``, by default
``<data_dir>/downloads``); their names say the system and the version:

- Linux: ``monsisra_<version>_amd64.deb`` (what ``make package`` builds);
- Windows: ``MonSisra-<version>.msi`` (or ``.msix``, ``.exe``);
- macOS: ``MonSisra-<version>.dmg`` (or ``.pkg``).

Any other file is ignored. Only the files listed here can be downloaded: a request names a
file, and it is served only when that exact name is in the listing (no path is ever built
from the request).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

SYSTEMS: tuple[tuple[str, str], ...] = (
    ("linux", "Linux (Debian, Ubuntu)"),
    ("windows", "Windows"),
    ("macos", "macOS"),
)
_PATTERNS = {
    "linux": re.compile(r"^monsisra_(\d+(?:\.\d+){1,3})_amd64\.deb$"),
    "windows": re.compile(r"^MonSisra-(\d+(?:\.\d+){1,3})\.(?:msi|msix|exe)$", re.IGNORECASE),
    "macos": re.compile(r"^MonSisra-(\d+(?:\.\d+){1,3})\.(?:dmg|pkg)$", re.IGNORECASE),
}


@dataclass(frozen=True)
class Installer:
    system: str
    name: str
    version: str
    size: int
    sha256: str
    path: Path

    @property
    def size_text(self) -> str:
        mib = self.size / (1024 * 1024)
        return f"{mib:.1f} Mo".replace(".", ",") if mib >= 0.1 else f"{self.size} octets"


def version_key(version: str) -> tuple[int, ...]:
    """``"0.10.2"`` → ``(0, 10, 2)``: versions compare as numbers, not as text."""
    return tuple(int(part) for part in version.split("."))


# sha256 of a file, remembered while its size and modification time stay the same
_digests: dict[tuple[str, int, int], str] = {}


def _sha256(path: Path, size: int, mtime_ns: int) -> str:
    key = (str(path), size, mtime_ns)
    if key not in _digests:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(1024 * 1024):
                digest.update(chunk)
        _digests[key] = digest.hexdigest()
    return _digests[key]


def available(folder: Path) -> dict[str, Installer]:
    """The newest installer per system found in ``folder`` (systems without one absent)."""
    found: dict[str, Installer] = {}
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return found
    for entry in entries:
        try:
            # a regular file directly in the folder: no symbolic link out of it
            if not entry.is_file(follow_symlinks=False):
                continue
            stat = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        for system, pattern in _PATTERNS.items():
            match = pattern.match(entry.name)
            if match is None:
                continue
            version = match.group(1)
            current = found.get(system)
            if current is not None and version_key(current.version) >= version_key(version):
                continue
            path = Path(entry.path)
            try:
                digest = _sha256(path, stat.st_size, stat.st_mtime_ns)
            except OSError:
                continue
            found[system] = Installer(system, entry.name, version, stat.st_size, digest, path)
    return found


def find(folder: Path, name: str) -> Installer | None:
    """The installer called exactly ``name`` among those offered, else None."""
    return next((i for i in available(folder).values() if i.name == name), None)

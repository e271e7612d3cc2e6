"""Who may read the exported documents: the practice, nobody else.

Exported files are patient documents. On a shared server (the practice's server, where the
practice software runs under its own account) a world-readable file is readable by every
account of the machine. So MonSisra creates its export folders 0700 and its files 0600 by
default; when the practice software reads them under another account, the account setting
``export_group`` names that account's group: folders it creates are then 2750 (setgid, so
what is created inside keeps the group) and files 0640, of that group. A folder that already
existed (the practice software's own) keeps its owner and modes: MonSisra only writes in it.
On Windows, modes do not apply (the folder's ACLs do).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700
GROUP_FILE, GROUP_DIR = 0o640, 0o2750


class GroupError(ValueError):
    pass


def group_id(name: str) -> int:
    """The id of group ``name`` (or numeric id), or GroupError with a French message."""
    try:
        import grp
    except ImportError:  # pragma: no cover - Windows
        raise GroupError("Les groupes ne s'appliquent pas sur ce système.") from None
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        if name.isdigit():
            return int(name)
        raise GroupError(f"Le groupe « {name} » n'existe pas sur cet ordinateur.") from None


@dataclass(frozen=True)
class FileAccess:
    """The modes (and group) of what MonSisra creates in an export folder."""

    gid: int | None = None

    @classmethod
    def for_group(cls, name: str | None) -> FileAccess:
        return cls(group_id(name) if name else None)

    @property
    def file_mode(self) -> int:
        return GROUP_FILE if self.gid is not None else PRIVATE_FILE

    @property
    def dir_mode(self) -> int:
        return GROUP_DIR if self.gid is not None else PRIVATE_DIR

    def apply_to_fd(self, fd: int) -> None:
        """Set a new file's mode (whatever the umask) and group, through its descriptor."""
        if os.name != "posix":  # pragma: no cover - Windows
            return
        if self.gid is not None:
            os.fchown(fd, -1, self.gid)
        os.fchmod(fd, self.file_mode)

    def make_folder(self, folder: Path) -> None:
        """Create ``folder`` and its missing parents with this access; existing ones are left
        as they are."""
        missing = []
        current = folder
        while not current.exists():
            missing.append(current)
            if current.parent == current:
                break
            current = current.parent
        for path in reversed(missing):
            path.mkdir(mode=PRIVATE_DIR, exist_ok=True)
            if os.name == "posix":
                if self.gid is not None:
                    os.chown(path, -1, self.gid)
                os.chmod(path, self.dir_mode)


PRIVATE = FileAccess()

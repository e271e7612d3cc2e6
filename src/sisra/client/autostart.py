"""« Lancer MonSisra automatiquement au démarrage », for the current OS user.

- Linux (and other XDG desktops): ``$XDG_CONFIG_HOME/autostart/monsisra.desktop``
  (``~/.config`` by default);
- macOS: the LaunchAgent ``~/Library/LaunchAgents/fr.sisra.monsisra.plist`` (RunAtLoad),
  taken into account at the next login;
- Windows: the value ``MonSisra`` of ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``.

Every backend can :meth:`~AutostartBackend.describe` what it would write without writing
it, which is how the macOS and Windows entries are checked on other systems.
"""

from __future__ import annotations

import os
import plistlib
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sisra.client.vault import atomic_write

APP_NAME = "MonSisra"
DESKTOP_FILE = "monsisra.desktop"
LAUNCH_AGENT_LABEL = "fr.sisra.monsisra"
WINDOWS_HIVE = "HKEY_CURRENT_USER"
WINDOWS_RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"


@dataclass(frozen=True)
class FileEntry:
    """A file that starts the program at login."""

    path: Path
    content: bytes


@dataclass(frozen=True)
class RegistryEntry:
    """A registry value that starts the program at login (type REG_SZ)."""

    hive: str
    key: str
    value_name: str
    value: str


def _checked(command: Sequence[str]) -> list[str]:
    args = list(command)
    if not args or not all(isinstance(a, str) for a in args) or not args[0]:
        raise ValueError("autostart needs a command: the program, then its arguments")
    if any(c in a for a in args for c in "\n\r\0"):
        raise ValueError("autostart arguments cannot contain line breaks or NUL")
    return args


class AutostartBackend:
    """Does nothing: the fallback for a system we do not know."""

    name = "none"
    supported = False

    def describe(self, command: Sequence[str]) -> FileEntry | RegistryEntry | None:
        """What :meth:`enable` would write, without writing it."""
        _checked(command)
        return None

    def enable(self, command: Sequence[str]) -> None:
        _checked(command)

    def disable(self) -> None:
        return None

    def is_enabled(self) -> bool:
        return False


class _FileBackend(AutostartBackend):
    supported = True

    def __init__(self, path: Path) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={str(self.path)!r})"

    def describe(self, command: Sequence[str]) -> FileEntry:
        return FileEntry(self.path, self._content(_checked(command)))

    def _content(self, args: list[str]) -> bytes:
        raise NotImplementedError

    def enable(self, command: Sequence[str]) -> None:
        entry = self.describe(command)
        entry.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(entry.path, entry.content, mode=0o644)

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)


# --- Linux / XDG ---------------------------------------------------------------------------

# characters that force quoting in an Exec key (Desktop Entry Specification, "Exec key")
_EXEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def _exec_arg(arg: str) -> str:
    arg = arg.replace("%", "%%")  # % starts a field code (%f, %u…)
    if arg and not any(c in _EXEC_RESERVED for c in arg):
        return arg
    return '"' + re.sub(r'(["`$\\])', r"\\\1", arg) + '"'


def desktop_exec(command: Sequence[str]) -> str:
    """The value of ``Exec=``: quoted per the spec, then backslashes escaped once more
    since the value is itself a desktop-entry string (a literal ``\\`` becomes ``\\\\\\\\``)."""
    line = " ".join(_exec_arg(a) for a in _checked(command))
    return line.replace("\\", "\\\\")


class XdgAutostart(_FileBackend):
    name = "xdg"

    def _content(self, args: list[str]) -> bytes:
        lines = [
            "[Desktop Entry]",
            "Type=Application",
            f"Name={APP_NAME}",
            "Comment=Échange de documents médicaux avec la plateforme Sisra",
            f"Exec={desktop_exec(args)}",
            "Terminal=false",
            "X-GNOME-Autostart-enabled=true",
        ]
        return ("\n".join(lines) + "\n").encode("utf-8")

    def is_enabled(self) -> bool:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (FileNotFoundError, UnicodeDecodeError):
            return False
        keys = {}
        for line in text.splitlines():
            name, sep, value = line.partition("=")
            if sep:
                keys[name.strip()] = value.strip().lower()
        return (
            "Exec" in keys
            and keys.get("Hidden") != "true"
            and keys.get("X-GNOME-Autostart-enabled") != "false"
        )


# --- macOS ----------------------------------------------------------------------------------


class LaunchAgentAutostart(_FileBackend):
    name = "launchagent"

    def _content(self, args: list[str]) -> bytes:
        agent = {
            "Label": LAUNCH_AGENT_LABEL,
            "ProgramArguments": args,
            "RunAtLoad": True,
            "ProcessType": "Interactive",
        }
        return plistlib.dumps(agent, fmt=plistlib.FMT_XML)

    def is_enabled(self) -> bool:
        try:
            agent = plistlib.loads(self.path.read_bytes())
        except (FileNotFoundError, plistlib.InvalidFileException, ValueError):
            return False
        return (
            isinstance(agent, dict)
            and agent.get("RunAtLoad") is True
            and agent.get("Disabled") is not True
            and bool(agent.get("ProgramArguments"))
        )


# --- Windows --------------------------------------------------------------------------------


def windows_command_line(command: Sequence[str]) -> str:
    """The program always between quotes (no ``C:\\Program.exe`` ambiguity), then its
    arguments quoted the way the C runtime splits them back."""
    args = _checked(command)
    if '"' in args[0]:
        raise ValueError("a Windows program path cannot contain a double quote")
    rest = subprocess.list2cmdline(args[1:])
    return f'"{args[0]}"' + (f" {rest}" if rest else "")


class WindowsRunAutostart(AutostartBackend):
    name = "windows-run"
    supported = sys.platform == "win32"

    def __repr__(self) -> str:
        return f"WindowsRunAutostart(key={WINDOWS_HIVE}\\{WINDOWS_RUN_KEY})"

    def describe(self, command: Sequence[str]) -> RegistryEntry:
        return RegistryEntry(WINDOWS_HIVE, WINDOWS_RUN_KEY, APP_NAME, windows_command_line(command))

    def enable(self, command: Sequence[str]) -> None:
        entry = self.describe(command)
        if sys.platform != "win32":
            raise NotImplementedError("the Windows registry is only reachable on Windows")
        import winreg

        with winreg.CreateKeyEx(
            winreg.HKEY_CURRENT_USER, entry.key, 0, winreg.KEY_SET_VALUE
        ) as key:
            winreg.SetValueEx(key, entry.value_name, 0, winreg.REG_SZ, entry.value)

    def disable(self) -> None:
        if sys.platform != "win32":
            raise NotImplementedError("the Windows registry is only reachable on Windows")
        import winreg

        try:
            with winreg.OpenKey(
                winreg.HKEY_CURRENT_USER, WINDOWS_RUN_KEY, 0, winreg.KEY_SET_VALUE
            ) as key:
                winreg.DeleteValue(key, APP_NAME)
        except FileNotFoundError:
            pass

    def is_enabled(self) -> bool:
        if sys.platform != "win32":
            raise NotImplementedError("the Windows registry is only reachable on Windows")
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, WINDOWS_RUN_KEY) as key:
                value, _type = winreg.QueryValueEx(key, APP_NAME)
        except FileNotFoundError:
            return False
        return bool(value)


# --- choice -------------------------------------------------------------------------------


def _xdg(platform: str) -> bool:
    """The systems whose desktops follow the freedesktop.org (XDG) specifications."""
    return platform.startswith(("linux", "freebsd", "openbsd", "netbsd", "dragonfly", "sunos"))


def backend_for(
    platform: str | None = None,
    home: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> AutostartBackend:
    """The backend for ``platform`` (default ``sys.platform``) and the user's ``home``
    (default the real one). ``XDG_CONFIG_HOME`` is read from ``env``, which defaults to
    ``os.environ`` only when ``home`` is not given: an explicit home stays self-contained."""
    platform = platform or sys.platform
    if env is None:
        env = os.environ if home is None else {}
    home = Path(home) if home is not None else Path.home()
    if platform.startswith(("win32", "cygwin")):
        return WindowsRunAutostart()
    if platform == "darwin":
        return LaunchAgentAutostart(
            home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
        )
    if _xdg(platform):
        configured = env.get("XDG_CONFIG_HOME", "")
        # the spec ignores a relative value
        config = Path(configured) if configured and os.path.isabs(configured) else home / ".config"
        return XdgAutostart(config / "autostart" / DESKTOP_FILE)
    return AutostartBackend()


def set_launch_at_startup(enabled: bool, command: Sequence[str]) -> str | None:
    """Apply « Lancer MonSisra au démarrage » for ``command``; ``None`` when done, else a
    French message saying why this computer was left unchanged."""
    backend = backend_for()
    try:
        if enabled:
            backend.enable(command)
        else:
            backend.disable()
    except (NotImplementedError, OSError) as exc:
        return f"Le lancement au démarrage n'a pas pu être modifié : {exc}"
    return None


# --- the applications menu (Linux) ------------------------------------------------------------


def menu_entry_path(
    platform: str | None = None, home: Path | None = None, env: Mapping[str, str] | None = None
) -> Path | None:
    """Where MonSisra's entry of the applications menu lives on an XDG desktop
    (``$XDG_DATA_HOME/applications``, ``~/.local/share`` by default); None elsewhere: on
    Windows and macOS the installer makes the shortcut."""
    platform = platform or sys.platform
    if not _xdg(platform):
        return None
    if env is None:
        env = os.environ if home is None else {}
    home = Path(home) if home is not None else Path.home()
    configured = env.get("XDG_DATA_HOME", "")
    data = Path(configured) if configured and os.path.isabs(configured) else home / ".local/share"
    return data / "applications" / DESKTOP_FILE


def menu_entry(command: Sequence[str]) -> bytes:
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        f"Name={APP_NAME}",
        "GenericName=Documents médicaux reçus",
        "Comment=Échange de documents médicaux avec la plateforme Sisra",
        f"Exec={desktop_exec(command)}",
        "Terminal=false",
        "Categories=Office;MedicalSoftware;",
        "StartupNotify=false",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def ensure_menu_entry(command: Sequence[str], path: Path | None = None) -> Path | None:
    """MonSisra in the applications menu (the guide's « raccourci »), written when missing
    or when the command changed (a new Python, a moved install); the path when it exists.
    Never an error: a menu entry is a convenience, not a reason not to start."""
    path = path or menu_entry_path()
    if path is None:
        return None
    content = menu_entry(command)
    try:
        if not path.is_file() or path.read_bytes() != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, content, mode=0o644)
    except OSError:
        return None
    return path

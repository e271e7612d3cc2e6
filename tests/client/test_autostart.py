"""« Lancé automatiquement au démarrage »: real files for Linux and macOS (in a temporary
home), what would be written for Windows."""

import plistlib
import sys

import pytest

from sisra.client.autostart import (
    AutostartBackend,
    FileEntry,
    LaunchAgentAutostart,
    RegistryEntry,
    WindowsRunAutostart,
    XdgAutostart,
    backend_for,
    desktop_exec,
    ensure_menu_entry,
    menu_entry_path,
)

COMMAND = ["/opt/Mon Sisra/bin/monsisra", "--minimized"]


def test_linux_entry_is_written_read_back_and_removed(tmp_path):
    backend = backend_for("linux", home=tmp_path)
    assert isinstance(backend, XdgAutostart)
    path = tmp_path / ".config" / "autostart" / "monsisra.desktop"
    assert backend.path == path
    assert not backend.is_enabled()

    backend.enable(COMMAND)
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "[Desktop Entry]"
    assert "Type=Application" in lines
    assert "Name=MonSisra" in lines
    assert 'Exec="/opt/Mon Sisra/bin/monsisra" --minimized' in lines
    assert "X-GNOME-Autostart-enabled=true" in lines
    assert path.read_bytes() == backend.describe(COMMAND).content
    assert backend.is_enabled()

    backend.enable(["/usr/bin/monsisra"])  # enabling again replaces the entry
    assert "Exec=/usr/bin/monsisra" in path.read_text(encoding="utf-8").splitlines()

    path.write_text(
        path.read_text(encoding="utf-8").replace("enabled=true", "enabled=false"),
        encoding="utf-8",
    )
    assert not backend.is_enabled()  # switched off in the desktop's own settings

    backend.disable()
    assert not path.exists()
    assert not backend.is_enabled()
    backend.disable()  # twice is fine


def test_linux_respects_xdg_config_home(tmp_path, monkeypatch):
    explicit = backend_for("linux", home=tmp_path, env={"XDG_CONFIG_HOME": str(tmp_path / "c")})
    assert explicit.describe(COMMAND).path == tmp_path / "c" / "autostart" / "monsisra.desktop"
    relative = backend_for("linux", home=tmp_path, env={"XDG_CONFIG_HOME": "relative/dir"})
    assert relative.describe(COMMAND).path.parent == tmp_path / ".config" / "autostart"

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    from_env = backend_for("linux")
    from_env.enable(COMMAND)
    assert (tmp_path / "xdg" / "autostart" / "monsisra.desktop").is_file()
    assert from_env.is_enabled()
    from_env.disable()
    assert not (tmp_path / "xdg" / "autostart" / "monsisra.desktop").exists()


def test_desktop_exec_quoting():
    assert desktop_exec(["/usr/bin/monsisra"]) == "/usr/bin/monsisra"
    assert desktop_exec(["/a b/monsisra", "100%", 'say "hi" $HOME']) == (
        '"/a b/monsisra" 100%% "say \\\\"hi\\\\" \\\\$HOME"'
    )
    assert desktop_exec(["C:\\x"]) == '"C:\\\\\\\\x"'  # four backslashes in the file
    with pytest.raises(ValueError):
        desktop_exec([])
    with pytest.raises(ValueError):
        desktop_exec(["monsisra", "two\nlines"])


def test_macos_launch_agent_as_written(tmp_path):
    backend = backend_for("darwin", home=tmp_path)
    assert isinstance(backend, LaunchAgentAutostart)
    path = tmp_path / "Library" / "LaunchAgents" / "fr.sisra.monsisra.plist"
    entry = backend.describe(COMMAND)
    assert entry.path == path and not path.exists()

    backend.enable(COMMAND)
    with path.open("rb") as fh:
        agent = plistlib.load(fh)
    assert agent["Label"] == "fr.sisra.monsisra"
    assert agent["ProgramArguments"] == COMMAND
    assert agent["RunAtLoad"] is True
    assert path.read_bytes() == entry.content
    assert backend.is_enabled()

    backend.disable()
    assert not path.exists()
    assert not backend.is_enabled()


def test_windows_run_value_as_it_would_be_written():
    backend = backend_for("win32")
    assert isinstance(backend, WindowsRunAutostart)
    entry = backend.describe([r"C:\Program Files\MonSisra\MonSisra.exe", "--minimized"])
    assert entry == RegistryEntry(
        hive="HKEY_CURRENT_USER",
        key=r"Software\Microsoft\Windows\CurrentVersion\Run",
        value_name="MonSisra",
        value=r'"C:\Program Files\MonSisra\MonSisra.exe" --minimized',
    )
    # the program is quoted even without spaces; arguments with spaces are quoted
    assert (
        backend.describe([r"C:\MonSisra\MonSisra.exe", r"--profile=C:\Mes documents"]).value
        == r'"C:\MonSisra\MonSisra.exe" "--profile=C:\Mes documents"'
    )
    assert backend.describe([r"C:\MonSisra\MonSisra.exe"]).value == r'"C:\MonSisra\MonSisra.exe"'


@pytest.mark.skipif(sys.platform == "win32", reason="the real registry is used on Windows")
def test_windows_backend_does_not_touch_anything_elsewhere():
    backend = backend_for("win32")
    assert not backend.supported
    with pytest.raises(NotImplementedError):
        backend.enable(["C:\\MonSisra.exe"])
    with pytest.raises(NotImplementedError):
        backend.is_enabled()


def test_unknown_system_does_nothing(tmp_path):
    backend = backend_for("plan9", home=tmp_path)
    assert type(backend) is AutostartBackend
    assert not backend.supported
    assert backend.describe(COMMAND) is None
    backend.enable(COMMAND)
    assert not backend.is_enabled()
    backend.disable()
    assert list(tmp_path.iterdir()) == []


def test_file_backends_describe_files(tmp_path):
    for platform in ("linux", "darwin"):
        entry = backend_for(platform, home=tmp_path).describe(COMMAND)
        assert isinstance(entry, FileEntry)
        assert entry.path.is_relative_to(tmp_path)
    assert list(tmp_path.iterdir()) == []  # describing writes nothing


def test_the_applications_menu_entry_on_linux_only(tmp_path):
    path = menu_entry_path("linux", home=tmp_path)
    assert path == tmp_path / ".local" / "share" / "applications" / "monsisra.desktop"
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    assert menu_entry_path("linux", home=tmp_path, env=env) == (
        tmp_path / "data" / "applications" / "monsisra.desktop"
    )
    assert menu_entry_path("linux", home=tmp_path, env={"XDG_DATA_HOME": "relative"}) == path
    assert menu_entry_path("win32", home=tmp_path) is None  # the installer's job there
    assert menu_entry_path("darwin", home=tmp_path) is None

    assert ensure_menu_entry(COMMAND, path) == path
    text = path.read_text(encoding="utf-8")
    assert "Name=MonSisra\n" in text and "Categories=Office;MedicalSoftware;" in text
    assert 'Exec="/opt/Mon Sisra/bin/monsisra" --minimized' in text
    written = path.stat().st_mtime_ns
    assert ensure_menu_entry(COMMAND, path) == path
    assert path.stat().st_mtime_ns == written  # unchanged: not rewritten at every start
    moved = ["/usr/local/bin/monsisra"]
    ensure_menu_entry(moved, path)  # a new install: the entry follows it
    assert "Exec=/usr/local/bin/monsisra\n" in path.read_text(encoding="utf-8")
    blocked = tmp_path / "un fichier"
    blocked.write_text("")
    assert ensure_menu_entry(COMMAND, blocked / "applications" / "x.desktop") is None  # no error

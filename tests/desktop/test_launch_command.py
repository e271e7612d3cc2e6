"""The command « Lancer MonSisra au démarrage » writes, from Python and from the package."""

import os
import sys
from pathlib import Path

import pytest

from sisra.desktop import config


def test_from_python_it_is_the_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(sys, "frozen", raising=False)
    assert config.desktop_command() == [sys.executable, "-m", "sisra.desktop"]


def test_the_package_starts_through_its_launcher(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bundle = tmp_path / "opt" / "monsisra" / "monsisra"
    bundle.parent.mkdir(parents=True)
    bundle.write_bytes(b"")
    launcher = tmp_path / "bin" / "monsisra"
    launcher.parent.mkdir()
    os.symlink(bundle, launcher)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(bundle))
    assert config.desktop_command(str(launcher)) == [str(launcher)]
    # a launcher that leads elsewhere (another install) is not ours: the bundle itself
    other = tmp_path / "other"
    other.write_bytes(b"")
    launcher.unlink()
    os.symlink(other, launcher)
    assert config.desktop_command(str(launcher)) == [str(bundle)]
    assert config.desktop_command(str(tmp_path / "missing")) == [str(bundle)]


def test_the_package_writes_no_user_menu_entry(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    config.ensure_shortcut()
    assert not (tmp_path / "applications").exists()

"""``make package SERVER_URL=… CONTACT=… REGION_NAME=…``: the region's values baked into the
bundle (``region.json``) are what the packaged MonSisra offers — without running PyInstaller
(the real .deb is built by test_deb.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from sisra.client import region as region_mod
from sisra.client.api import DEMO_SERVER, default_server

ROOT = Path(__file__).resolve().parents[2]
URL = "https://sisra.region-test.example"


def _build_deb():
    spec = importlib.util.spec_from_file_location(
        "build_deb", ROOT / "packaging" / "linux" / "build_deb.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _frozen_at(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """This process as the packaged program whose data folder is ``folder``."""
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(folder), raising=False)


def test_the_staged_package_carries_the_region_and_the_wizard_offers_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = _build_deb()
    app = tmp_path / "dist" / "monsisra"  # a one-folder bundle as PyInstaller 6 lays it out
    (app / "_internal").mkdir(parents=True)
    (app / "monsisra").write_bytes(b"")
    values = build.check_region(URL + "/", "assistance@region-test.example", " Sisra  Test ")
    build.stage(app, tmp_path / "root", "1.2.3", values)

    data = tmp_path / "root" / "opt" / "monsisra" / "_internal"
    assert (data / "region.json").stat().st_mode & 0o777 == 0o644
    assert region_mod.read_region(data) == region_mod.Region(
        URL, "assistance@region-test.example", "Sisra Test"
    )
    monkeypatch.delenv("SISRA_SERVER_URL", raising=False)
    assert default_server() == DEMO_SERVER  # from Python: no region file
    _frozen_at(monkeypatch, data)
    assert default_server() == URL
    monkeypatch.setenv("SISRA_SERVER_URL", "https://autre.example")
    assert default_server() == "https://autre.example"  # the environment still overrides


def test_the_wizard_shows_the_packaged_address(qtbot, tmp_path, monkeypatch) -> None:
    from sisra.desktop import enrol

    # the e-CPS question to the platform is beside the point here (no network in this test)
    monkeypatch.setattr(enrol, "offer_psc_if_available", lambda *_a: None)
    region_mod.write_region(tmp_path, region_mod.Region(URL, None, None))
    monkeypatch.delenv("SISRA_SERVER_URL", raising=False)
    _frozen_at(monkeypatch, tmp_path)
    page = enrol.WelcomePage(default_server())
    qtbot.addWidget(page)
    assert page.server.text() == URL


def test_no_region_values_no_file(tmp_path: Path) -> None:
    build = _build_deb()
    app = tmp_path / "app"
    (app / "_internal").mkdir(parents=True)
    build.stage(app, tmp_path / "root", "1.2.3", build.check_region("", "", ""))
    assert not (tmp_path / "root/opt/monsisra/_internal/region.json").exists()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--server-url", "sisra.example.fr"], "SERVER_URL"),
        (["--server-url", "ftp://sisra.example.fr"], "SERVER_URL"),
        (["--contact", "pas une adresse"], "CONTACT"),
        (["--region-name", "x" * 121], "REGION_NAME"),
    ],
)
def test_bad_values_are_refused_before_building(
    args: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    build = _build_deb()
    build.bundle = lambda _work: pytest.fail("PyInstaller must not run")  # type: ignore[attr-defined]
    with pytest.raises(SystemExit) as exc:
        build.main(args)
    assert exc.value.code == 2
    assert said in capsys.readouterr().err


def test_a_broken_region_file_falls_back_to_the_demo(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "region.json").write_text("{pas du json", encoding="utf-8")
    assert region_mod.read_region(tmp_path) == region_mod.Region()
    (tmp_path / "region.json").write_text('{"server_url": "javascript:alert(1)"}', "utf-8")
    assert region_mod.read_region(tmp_path) == region_mod.Region()
    monkeypatch.delenv("SISRA_SERVER_URL", raising=False)
    _frozen_at(monkeypatch, tmp_path)
    assert default_server() == DEMO_SERVER

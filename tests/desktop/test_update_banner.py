"""DOCUMENTS REÇUS says when the platform offers a newer MonSisra (asked at most daily)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt

from sisra import __version__
from sisra.client import updates
from sisra.client.api import PlatformClient
from sisra.desktop.app import Controller
from support.desktop import LOCAL_PASSWORD, WAIT, Opened, enrol


def _bump(version: str) -> str:
    parts = [int(p) for p in version.split(".")]
    return f"{parts[0]}.{parts[1] + 1}.0"


def _login(qtbot, live_server, smtp_sink, account_store, make_pro, tmp_path):
    recipient = make_pro("dr.maj", first_name="Lina", last_name="Morel", log_in=True)
    folder = tmp_path / "docs"
    folder.mkdir()
    account = enrol(live_server, smtp_sink, account_store, recipient, folder)
    controller = Controller(account_store)
    controller.start()
    login = controller.login
    qtbot.keyClicks(login.password, LOCAL_PASSWORD)
    qtbot.mouseClick(login.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: controller.documents is not None, timeout=WAIT)
    window = controller.documents
    opened = Opened()
    window.open_url = opened.urls.append
    return controller, window, account, opened


@pytest.fixture
def downloads(settings):
    folder = settings.effective_downloads_dir
    folder.mkdir(parents=True)
    return folder


def test_a_newer_version_on_the_platform_shows_a_banner_opening_the_download_page(
    qtbot, settings, downloads, live_server, smtp_sink, account_store, make_pro, tmp_path
):
    newer = _bump(__version__)
    (downloads / f"monsisra_{newer}_amd64.deb").write_bytes(b"deb")
    controller, window, account, opened = _login(
        qtbot, live_server, smtp_sink, account_store, make_pro, tmp_path
    )
    try:
        qtbot.waitUntil(lambda: window.update_banner.isVisible(), timeout=WAIT)
        text = window.update_banner.text()
        assert f"Une nouvelle version de MonSisra ({newer}) est disponible" in text
        window.update_banner.linkActivated.emit("download")
        assert opened.urls == [f"{live_server.url}/telecharger"]
        assert (account.folder / updates.CHECK_FILE).is_file()
    finally:
        controller.close_session()


def test_same_version_no_banner(
    qtbot, settings, downloads, live_server, smtp_sink, account_store, make_pro, tmp_path
):
    (downloads / f"monsisra_{__version__}_amd64.deb").write_bytes(b"deb")
    controller, window, account, _opened = _login(
        qtbot, live_server, smtp_sink, account_store, make_pro, tmp_path
    )
    try:
        qtbot.waitUntil(lambda: (account.folder / updates.CHECK_FILE).is_file(), timeout=WAIT)
        qtbot.wait(200)
        assert not window.update_banner.isVisible()
        assert window.offered_update is None
    finally:
        controller.close_session()


def test_the_platform_is_asked_at_most_once_a_day(live_server, settings, downloads, tmp_path):
    folder = tmp_path / "account"
    now = datetime(2026, 11, 30, 8, tzinfo=UTC)
    with PlatformClient(live_server.url) as client:
        assert updates.check(client, folder, current="0.1.0", system="linux", now=now) is None
        (downloads / "monsisra_0.2.0_amd64.deb").write_bytes(b"deb")
        # the morning's answer is kept for the day
        later = now + timedelta(hours=23)
        assert updates.check(client, folder, current="0.1.0", system="linux", now=later) is None
        next_day = now + timedelta(days=1, minutes=1)
        found = updates.check(client, folder, current="0.1.0", system="linux", now=next_day)
        assert found == updates.Update("0.2.0", f"{live_server.url}/telecharger")
        # a Windows MonSisra is not told about a Linux package
        (folder / updates.CHECK_FILE).unlink()
        assert updates.check(client, folder, current="0.1.0", system="windows", now=now) is None
    saved = json.loads((folder / updates.CHECK_FILE).read_text())
    assert saved["server"] == live_server.url.rstrip("/")


def test_an_unreachable_platform_is_no_news_and_asked_again(tmp_path):
    folder = tmp_path / "account"
    with PlatformClient("http://127.0.0.1:9") as client:
        assert updates.check(client, folder, current="0.1.0", system="linux") is None
    assert not (folder / updates.CHECK_FILE).exists()


def test_versions_compare_as_numbers():
    assert updates.newer("0.10.0", "0.9.3")
    assert not updates.newer("0.9.3", "0.10.0")
    assert not updates.newer("0.1.0", "0.1.0")
    assert not updates.newer("garbage", "0.1.0")

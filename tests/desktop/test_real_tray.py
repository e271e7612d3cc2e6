"""MonSisra in a real system tray: its own X screen (Xvfb), a freedesktop tray (trayer), the
application in its own process on Qt's X11 platform, driven with real mouse and keyboard
events (xdotool), against the running platform.

The user's path: CONNEXION (password typed), a colleague shares a document → the tray icon
shows the unread badge and a notification balloon names the document (never the patient);
the window is closed → MonSisra stays in the tray; a click on the icon brings the window
back; closed again, another document arrives → a click on its notification brings the window
back; a click on its title hands the exported PDF to the system's opener (xdg-open, a
recorder here) and the sender gets « lu »; « Envoyer un document » hands it a one-time link
that opens the page; the icon's menu → « Quitter MonSisra » ends the process. Both documents
are in the folder.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest

from sisra.client.api import PlatformClient
from sisra.devtools import xdesktop
from support.desktop import LOCAL_PASSWORD, enrol
from support.documents import share_request
from support.waiting import wait_until

PROBE = Path(__file__).with_name("tray_probe.py")

pytestmark = pytest.mark.needs("xvfb")


@pytest.fixture
def x_desktop() -> Iterator[str]:
    xvfb, display = xdesktop.start_xvfb("1600x1000x24")  # the windows open at the top left
    try:
        tray = xdesktop.start_tray(display)
        try:
            yield display
        finally:
            xdesktop.stop(tray)
    finally:
        xdesktop.stop(xvfb)


class Probe:
    """The application's process and the JSON lines it prints."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log  # stderr goes to a file: a pipe nobody reads could fill and block it
        with log.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, str(PROBE)], env=env, stdout=subprocess.PIPE, stderr=err, text=True
            )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                self.lines.put(json.loads(line))

    def expect(self, event: str, timeout: float = 30) -> dict[str, Any]:
        try:
            got = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            err = self.log.read_text(errors="replace")
            raise AssertionError(f"no « {event} » from MonSisra; its stderr:\n{err}") from None
        assert got["event"] == event, got
        return got

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


def xdotool(display: str, *args: str) -> None:
    subprocess.run(["xdotool", *args], env={**os.environ, "DISPLAY": display}, check=True)


def click_at(display: str, x: int, y: int, button: int = 1) -> None:
    # (no --sync: it waits for the pointer to move, forever when it is already there; the
    # server handles the warp before the click anyway, both coming from one connection)
    xdotool(display, "mousemove", str(x), str(y), "click", str(button))


def wait_for_lines(log: Path, count: int) -> list[str]:
    wait_until(lambda: log.is_file() and len(log.read_text().splitlines()) >= count)
    return log.read_text().splitlines()


def centre(area: list[int]) -> tuple[int, int]:
    x, y, w, h = area
    return x + w // 2, y + h // 2


def test_tray_notifications_viewer_browser_and_quit_on_a_real_desktop(
    x_desktop, live_server, smtp_sink, account_store, make_pro, make_patient, pdf, tmp_path
):
    recipient = make_pro("dr.plateau", first_name="Inès", last_name="Plateau", log_in=True)
    folder = tmp_path / "Documents reçus"
    folder.mkdir()
    enrol(live_server, smtp_sink, account_store, recipient, folder)
    # the system's opener (xdg-open, which MonSisra runs on a Linux desktop for a PDF or a link):
    # here it only writes down what MonSisra handed it
    handed = tmp_path / "xdg-open.log"
    opener = tmp_path / "bin" / "xdg-open"
    opener.parent.mkdir()
    opener.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{handed}"\n')
    opener.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{opener.parent}{os.pathsep}{os.environ['PATH']}",
        "DISPLAY": x_desktop,
        "QT_QPA_PLATFORM": "xcb",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
    }  # MONSISRA_HOME and XDG_CONFIG_HOME: this test's, set by account_store
    probe = Probe(env, tmp_path / "monsisra.log")
    try:
        login = probe.expect("login")
        assert login["has_tray"] and login["visible"], login
        tray = login["tray"]
        assert tray[2] > 0 and tray[3] > 0 and tray[1] < 32  # docked in the panel at the top
        assert login["pixels"]["blue"] > 30 and login["pixels"]["red"] == 0  # icon, no badge

        # CONNEXION: the password typed on the keyboard, Entrée
        click_at(x_desktop, *login["field"])
        xdotool(x_desktop, "type", "--delay", "20", LOCAL_PASSWORD)
        xdotool(x_desktop, "key", "Return")
        probe.expect("documents")

        sender = make_pro("dr.envoie", first_name="Paul", last_name="Martin")
        patient = make_patient("DUVAL")
        with PlatformClient(live_server.url) as c:
            r = share_request(c._http, sender, patient, [recipient], pdf(), title="Échographie")
            assert r.status_code == 201, r.text
        alerted = probe.expect("alerted")
        assert alerted["title"] == "Nouveau document reçu"
        assert alerted["message"] == "Échographie — de Paul MARTIN"
        balloons = " ".join(alerted["balloons"])
        assert "Nouveau document reçu" in balloons and "Échographie" in balloons, alerted
        assert "DUVAL" not in balloons.upper()  # no patient name on a screen others may see
        assert alerted["tooltip"] == "MonSisra — 1 document non lu"

        hidden = probe.expect("hidden")
        assert hidden["visible"] is False  # closed: MonSisra keeps running in the tray
        assert hidden["pixels"]["red"] > 10, hidden  # the unread badge, in the real tray
        click_at(x_desktop, *centre(hidden["tray"]))
        probe.expect("shown")  # a click on the icon brings DOCUMENTS REÇUS back
        assert probe.expect("hidden")["visible"] is False  # closed again by the user

        # the next document arrives while the window is closed: a click on its notification
        scan = pdf("Scanner thoracique")
        with PlatformClient(live_server.url) as c:
            r = share_request(c._http, sender, patient, [recipient], scan, title="Scanner")
            assert r.status_code == 201, r.text
        balloon = probe.expect("balloon")
        assert "Scanner — de Paul MARTIN" in balloon["texts"], balloon
        click_at(x_desktop, *balloon["click"])
        shown = probe.expect("shown")  # the notification opens MonSisra

        # a click on the newest title: the PDF goes to the system's viewer, the sender is told
        click_at(x_desktop, *shown["title"])
        opened = wait_for_lines(handed, 1)[0]
        # MonSisra runs xdg-open itself (its exit status tells whether a viewer started)
        path = Path(unquote(urlsplit(opened).path)) if opened.startswith("file:") else Path(opened)
        assert path.parent == folder and path.read_bytes() == scan
        note_id = r.json()["notifications"][0]
        with httpx.Client(base_url=live_server.url, headers=recipient.headers) as api:
            wait_until(lambda: api.get(f"/api/v1/inbox/{note_id}").json()["read_at"] is not None)
        # « Envoyer un document »: a one-time link to the page, in the system's browser
        click_at(x_desktop, *shown["send"])
        link = wait_for_lines(handed, 2)[1]
        with httpx.Client(follow_redirects=True) as browser:
            page = browser.get(live_server.url + urlsplit(link).path)
        assert page.status_code == 200 and "Envoyer un document" in page.text

        click_at(x_desktop, *centre(hidden["tray"]), button=3)
        menu = probe.expect("menu")
        assert menu["actions"] == ["Ouvrir MonSisra", "Quitter MonSisra"]
        click_at(x_desktop, *menu["quit"])
        assert probe.expect("quit")["code"] == 0
        assert probe.process.wait(20) == 0
    finally:
        probe.stop()
    assert [p.suffix for p in folder.iterdir()] == [".pdf", ".pdf"]

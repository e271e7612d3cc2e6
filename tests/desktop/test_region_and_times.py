"""MonSisra for a region: « À propos » names the operator the platform's settings give, and
a document's reception time reads the same — French local time, « 17h21 » — in the web page,
MonSisra's table and ``sisra client list``, whatever this computer's own time zone."""

import os
import re
import subprocess
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from sisra.client.api import PlatformClient
from sisra.desktop.model import COL_DATE
from support.desktop import WAIT
from support.documents import share_request

CONTACT = "assistance@region-test.example"
NAME = "Sisra Test-Région"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"contact_email": CONTACT, "platform_name": NAME})


@pytest.fixture
def utc_computer(monkeypatch):
    """This computer set to UTC, an hour or two away from Europe/Paris."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_about_shows_the_operators_contact_from_the_platform(qtbot, desktop):
    _controller, window, _recipient, _folder, _account, _opened = desktop
    window.show_about()
    box = window.dialog
    text = box.informativeText()
    assert f'href="mailto:{CONTACT}"' in text and NAME in text
    assert "sante-ra" not in text.lower()


def test_the_same_time_in_the_web_page_the_table_and_the_command_line(
    qtbot,
    utc_computer,
    desktop,
    live_server,
    make_pro,
    make_patient,
    pdf,
):
    _controller, window, recipient, _folder, _account, _opened = desktop
    with PlatformClient(live_server.url) as c:
        r = share_request(c._http, make_pro(), make_patient(), [recipient], pdf("Heure"))
        assert r.status_code == 201
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT)
    created = datetime.fromisoformat(
        httpx.get(f"{live_server.url}/api/v1/inbox", headers=recipient.headers).json()["items"][0][
            "created_at"
        ]
    )
    paris = created.astimezone(ZoneInfo("Europe/Paris"))
    day, hour = paris.strftime("%d/%m/%Y"), paris.strftime("%Hh%M")
    assert created.astimezone(ZoneInfo("UTC")).strftime("%Hh%M") != hour  # a test that can fail

    # MonSisra's table
    assert window.model.index(0, COL_DATE).data() == f"{day} {hour}"

    # the web page « Documents reçus »
    with httpx.Client(base_url=live_server.url, follow_redirects=True, timeout=30) as web:
        ticket = web.post(
            "/api/v1/auth/web-ticket",
            headers=recipient.headers,
            json={"target": "/documents-recus"},
        )
        assert ticket.status_code == 200, ticket.text
        page = web.get("/web/ticket/" + ticket.json()["url"].split("/web/ticket/", 1)[1])
        assert page.status_code == 200
    assert f"{day} à {hour}" in page.text

    # `sisra client list`, on the same computer (its zone is UTC)
    listed = subprocess.run(
        [sys.executable, "-m", "sisra.cli", "client", "list"],
        env={**os.environ, "TZ": "UTC"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert re.search(rf"\b{re.escape(day)} {hour}\b", listed.stdout), listed.stdout

"""Playwright in Debian's Chromium (no browser download) against the live platform."""

import shutil
from typing import Any

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def web_as(live_server: Any, page: Any) -> Any:
    """``web_as(persona, target)`` opens ``target`` logged in, through a one-time web ticket."""

    def _open(persona: Any, target: str = "/accueil") -> Any:
        r = httpx.post(
            f"{live_server.url}/api/v1/auth/web-ticket",
            headers=persona.headers,
            json={"target": target},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        path = "/web/ticket/" + r.json()["url"].split("/web/ticket/", 1)[1]
        page.goto(live_server.url + path)
        return page

    return _open

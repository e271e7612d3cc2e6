"""The platform's web pages without a browser: a logged-in page, a form's CSRF token."""

import re
from typing import Any


def web_session(client: Any, persona: Any, target: str) -> Any:
    """``target`` opened logged in through a one-time web ticket (as MonSisra does)."""
    r = client.post("/api/v1/auth/web-ticket", headers=persona.headers, json={"target": target})
    assert r.status_code == 200, r.text
    return client.get("/web/ticket/" + r.json()["url"].split("/web/ticket/", 1)[1])


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)

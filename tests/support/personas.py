"""Professionals as the tests log them in: the shared password and the two-step login."""

import uuid
from dataclasses import dataclass
from typing import Any

PASSWORD = "Motdepasse-2026!"


@dataclass
class Persona:
    id: uuid.UUID
    login: str
    name: str
    headers: dict[str, str]


def otp_login(
    client: Any, sink: Any, login: str, email: str, password: str = PASSWORD, **device: Any
) -> dict[str, Any]:
    """The whole two-step login through the API and the real SMTP sink; returns the tokens."""
    r = client.post("/api/v1/auth/login", json={"identifier": login, "password": password})
    assert r.status_code == 200, r.text
    mail = sink.last_to(email)
    assert mail is not None and mail.code(), "no code was e-mailed"
    body = {"flow_id": r.json()["flow_id"], "code": mail.code(), **device}
    v = client.post("/api/v1/auth/otp/verify", json=body)
    assert v.status_code == 200, v.text
    tokens: dict[str, Any] = v.json()
    return tokens

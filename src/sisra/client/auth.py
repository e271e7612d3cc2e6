"""Client side of authentication: the two ways to enrol MonSisra and to renew it.

- « J'ai obtenu mes identifiants de connexion »: :func:`start_two_step` (identifier + portal
  password; the platform e-mails a code) then :func:`finish_two_step` (the code).
- « J'ai une carte de la famille CPS »: :func:`enrol_with_card` (the card signs the platform's
  challenge after the PIN).

Both return :class:`Credentials` for one device. :func:`refresh` rotates them; when the
platform asks for strong authentication again it raises :class:`StrongAuthRequired`, and
doing either enrolment with ``device_id`` renews the same device.
"""

from __future__ import annotations

import base64
import platform
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol

from sisra.client.api import ApiError, PlatformClient


class StrongAuthRequired(ApiError):
    """The device's last card or code authentication is too old: do one again."""


class Signer(Protocol):
    """What a card offers for authentication (see :class:`sisra.client.cps.CardSession`)."""

    def certificate_der(self) -> bytes: ...

    def sign(self, challenge: bytes) -> bytes: ...


@dataclass(frozen=True)
class Credentials:
    server_url: str
    professional_id: str
    device_id: str
    access_token: str
    refresh_token: str
    expires_at: datetime

    @classmethod
    def from_tokens(cls, server_url: str, body: dict[str, Any]) -> Credentials:
        return cls(
            server_url,
            str(body["professional_id"]),
            str(body["device_id"]),
            body["access_token"],
            body["refresh_token"],
            datetime.fromisoformat(str(body["expires_at"]).replace("Z", "+00:00")),
        )

    def to_dict(self) -> dict[str, str]:
        data = asdict(self)
        data["expires_at"] = self.expires_at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Credentials:
        return cls(
            data["server_url"],
            data["professional_id"],
            data["device_id"],
            data["access_token"],
            data["refresh_token"],
            datetime.fromisoformat(data["expires_at"]),
        )

    def __repr__(self) -> str:  # tokens never end up in logs
        return f"Credentials(device_id={self.device_id!r}, server_url={self.server_url!r})"


@dataclass(frozen=True)
class CodeSent:
    flow_id: str
    email_hint: str
    expires_at: datetime
    resend_after_s: int


def offered_methods(client: PlatformClient) -> frozenset[str] | None:
    """The strong authentications the platform offers (``cps``, ``code``, ``psc``), or None
    when it cannot say (down, unknown address, a platform older than the question): then
    every method stays offered, and the platform's answer to the attempt says what fails."""
    try:
        body = client.get_json("/api/v1/auth/methods", timeout=10)
    except (ApiError, ValueError):
        return None
    if not isinstance(body, dict):
        return None
    return frozenset(name for name, offered in body.items() if offered is True)


def default_device_name() -> str:
    return f"MonSisra - {platform.node() or 'poste'}"[:100]


def _code_sent(body: dict[str, Any]) -> CodeSent:
    return CodeSent(
        str(body["flow_id"]),
        str(body["email_hint"]),
        datetime.fromisoformat(str(body["expires_at"]).replace("Z", "+00:00")),
        int(body["resend_after_s"]),
    )


def start_two_step(
    client: PlatformClient, identifier: str, password: str, refresh_token: str | None = None
) -> CodeSent:
    """Step 1: identifier + portal password. The platform e-mails a 6-digit code.

    ``refresh_token``: the one this computer holds, when it logs in again (renewal): the
    platform then counts this attempt in the device's own counter, so that strangers' wrong
    passwords on the account do not keep this computer out. It logs no one in by itself."""
    body = {"identifier": identifier, "password": password}
    if refresh_token:
        body["refresh_token"] = refresh_token
    return _code_sent(client.post_json("/api/v1/auth/login", body))


def resend_code(client: PlatformClient, sent: CodeSent) -> CodeSent:
    return _code_sent(client.post_json("/api/v1/auth/otp/resend", {"flow_id": sent.flow_id}))


def finish_two_step(
    client: PlatformClient,
    sent: CodeSent,
    code: str,
    device_name: str | None = None,
    device_id: str | None = None,
) -> Credentials:
    """Step 2: the code from the e-mail → this computer enrolled (or renewed)."""
    body = {
        "flow_id": sent.flow_id,
        "code": code.strip(),
        "device_name": device_name or default_device_name(),
        "device_id": device_id,
    }
    return Credentials.from_tokens(
        client.base_url, client.post_json("/api/v1/auth/otp/verify", body)
    )


def enrol_with_card(
    client: PlatformClient,
    card: Signer,
    device_name: str | None = None,
    device_id: str | None = None,
) -> Credentials:
    """The card (already opened with its PIN) signs a fresh challenge from the platform."""
    challenge = client.post_json("/api/v1/auth/cps/challenge")
    signature = card.sign(base64.b64decode(challenge["challenge"]))
    body = {
        "challenge_id": challenge["challenge_id"],
        "certificate": base64.b64encode(card.certificate_der()).decode(),
        "chain": [],
        "signature": base64.b64encode(signature).decode(),
        "device_name": device_name or default_device_name(),
        "device_id": device_id,
    }
    return Credentials.from_tokens(
        client.base_url, client.post_json("/api/v1/auth/cps/verify", body)
    )


def refresh(client: PlatformClient, creds: Credentials) -> Credentials:
    """New tokens for the same device; :class:`StrongAuthRequired` when the policy says so."""
    try:
        body = client.post_json("/api/v1/auth/refresh", {"refresh_token": creds.refresh_token})
    except ApiError as exc:
        if exc.code == "strong_auth_required":
            raise StrongAuthRequired(exc.code, exc.message, exc.status, exc.body) from exc
        raise
    return Credentials.from_tokens(client.base_url, body)


def web_ticket(client: PlatformClient, creds: Credentials, target: str) -> str:
    """A one-time address (60 s) that opens ``target`` in the browser, already logged in."""
    body = client.post_json("/api/v1/auth/web-ticket", {"target": target}, token=creds.access_token)
    return str(body["url"])

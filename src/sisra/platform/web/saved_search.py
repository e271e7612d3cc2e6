"""Searches that survive « Back »: a POSTed search is answered by a redirect to a GET address
carrying an opaque reference (POST-redirect-GET), so going back to the list never asks to
resubmit a form, and the words (often patient traits) never appear in an address.

The reference is the search itself, encrypted (AES-256-GCM) under a key derived from the
platform's master key, bound to the browser's web session (its cookie's hash is the associated
data): copied into another session, or after logout, it opens nothing. Nothing is stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAX_REF = 2048


def derive_key(master_key: bytes) -> bytes:
    return hmac.new(master_key, b"sisra saved-search v1", hashlib.sha256).digest()


def _aad(session_cookie: str) -> bytes:
    return hashlib.sha256(b"saved-search:" + session_cookie.encode()).digest()


def seal(key: bytes, session_cookie: str, search: dict[str, Any]) -> str:
    nonce = secrets.token_bytes(12)
    data = json.dumps(search, separators=(",", ":"), ensure_ascii=False).encode()
    sealed = nonce + AESGCM(key).encrypt(nonce, data, _aad(session_cookie))
    return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()


def unseal(key: bytes, session_cookie: str, ref: str) -> dict[str, Any] | None:
    """The search, or None (altered, another session's, or not a reference at all)."""
    if not ref or len(ref) > MAX_REF:
        return None
    try:
        raw = base64.urlsafe_b64decode(ref + "=" * (-len(ref) % 4))
        data = AESGCM(key).decrypt(raw[:12], raw[12:], _aad(session_cookie))
        search = json.loads(data)
    except (ValueError, InvalidTag):
        return None
    return search if isinstance(search, dict) else None

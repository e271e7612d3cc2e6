"""Opaque bearer tokens: random, shown once to the client, stored only as SHA-256."""

import hashlib
import hmac
import secrets


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(expected: str, given: str) -> bool:
    """Constant-time comparison of two secrets a client may have typed anything into.

    ``hmac.compare_digest`` on ``str`` raises ``TypeError`` for non-ASCII text; on UTF-8
    bytes it simply answers ``False``."""
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass")
    )

"""Talking to Pro Santé Connect: discovery, key set, code exchange, ID token, userinfo.

The OpenID Connect pieces come from Authlib (PKCE S256, authorization request) and joserfc,
Authlib's JOSE library (JWKS, JWS signature, JWT claims). This module knows nothing of the
database: :mod:`psc` runs the flows.
"""

import base64
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from sisra.platform.errors import NotAuthenticated, SisraError
from sisra.platform.settings import Settings

CALLBACK_PATH = "/connexion/psc/retour"
ALGORITHMS = ["RS256", "PS256", "ES256"]
METADATA_TTL_S = 3600.0
LEEWAY_S = 60


class PscRefused(NotAuthenticated):
    """A refusal of a Pro Santé Connect login, with a stable code (``psc_<reason>``)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, code=f"psc_{reason}")
        self.reason = reason


def unavailable() -> SisraError:
    return SisraError(
        "Pro Santé Connect ne répond pas pour le moment. Réessayez dans quelques minutes, ou "
        "connectez-vous avec votre carte CPS ou un code reçu par e-mail.",
        code="psc_unavailable",
        status=503,
    )


@dataclass(frozen=True)
class Metadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str


_lock = threading.Lock()
_cache: dict[str, tuple[float, Metadata, KeySet]] = {}


def _get_json(settings: Settings, url: str) -> Any:
    try:
        response = httpx.get(url, timeout=settings.psc_timeout_s)
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise unavailable() from exc


def _load(settings: Settings) -> tuple[float, Metadata, KeySet]:
    issuer = settings.psc_issuer.rstrip("/")
    doc = _get_json(settings, f"{issuer}/.well-known/openid-configuration")
    try:
        meta = Metadata(
            str(doc["issuer"]),
            str(doc["authorization_endpoint"]),
            str(doc["token_endpoint"]),
            str(doc["userinfo_endpoint"]),
            str(doc["jwks_uri"]),
        )
    except (KeyError, TypeError) as exc:
        raise unavailable() from exc
    if meta.issuer.rstrip("/") != issuer:  # OpenID Connect Discovery 1.0, section 4.3
        raise unavailable()
    try:
        keys = KeySet.import_key_set(_get_json(settings, meta.jwks_uri))
    except (JoseError, ValueError, TypeError) as exc:
        raise unavailable() from exc
    return time.monotonic(), meta, keys


def provider(settings: Settings, *, refresh_keys: bool = False) -> tuple[Metadata, KeySet]:
    """The provider's metadata and key set, cached an hour; ``refresh_keys`` after an unknown
    key id (the provider rotated its keys)."""
    with _lock:
        cached = _cache.get(settings.psc_issuer)
        if cached is None or refresh_keys or time.monotonic() - cached[0] > METADATA_TTL_S:
            cached = _load(settings)
            _cache[settings.psc_issuer] = cached
        return cached[1], cached[2]


def callback_url(settings: Settings) -> str:
    return f"{settings.public_url.rstrip('/')}{CALLBACK_PATH}"


def s256(verifier: str) -> str:
    return str(create_s256_code_challenge(verifier))


def authorization_url(settings: Settings, state: str, nonce: str, verifier: str) -> str:
    meta, _keys = provider(settings)
    extra: dict[str, str] = {
        "nonce": nonce,
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    if settings.psc_acr_values:
        extra["acr_values"] = settings.psc_acr_values
    if settings.psc_prompt:
        extra["prompt"] = settings.psc_prompt
    return str(
        prepare_grant_uri(
            meta.authorization_endpoint,
            settings.psc_client_id,
            "code",
            redirect_uri=callback_url(settings),
            scope=settings.psc_scopes,
            state=state,
            **extra,
        )
    )


def _basic(settings: Settings) -> str:
    secret = settings.psc_client_secret.get_secret_value() if settings.psc_client_secret else ""
    pair = f"{_form(settings.psc_client_id)}:{_form(secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def _form(value: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(value)  # RFC 6749 section 2.3.1: form-encoded before Basic


def exchange(settings: Settings, code: str, verifier: str) -> dict[str, Any]:
    """The authorization code (and our PKCE verifier) → the provider's tokens."""
    meta, _keys = provider(settings)
    try:
        response = httpx.post(
            meta.token_endpoint,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": callback_url(settings),
                "code_verifier": verifier,
            },
            headers={"Authorization": _basic(settings), "Accept": "application/json"},
            timeout=settings.psc_timeout_s,
        )
    except httpx.HTTPError as exc:
        raise unavailable() from exc
    if response.status_code >= 400:
        raise PscRefused(
            "code_refused",
            "Pro Santé Connect a refusé de confirmer cette connexion (code déjà utilisé ou "
            "expiré). Recommencez la connexion.",
        )
    try:
        tokens: dict[str, Any] = response.json()
    except ValueError as exc:
        raise unavailable() from exc
    if not isinstance(tokens.get("id_token"), str) or not isinstance(
        tokens.get("access_token"), str
    ):
        raise bad_identity("tokens_missing")
    return tokens


def bad_identity(reason: str) -> PscRefused:
    return PscRefused(
        reason,
        "La réponse de Pro Santé Connect n'a pas pu être vérifiée : la connexion est refusée "
        "par sécurité. Recommencez ; si le problème persiste, contactez l'assistance.",
    )


def _decode(settings: Settings, value: str) -> dict[str, Any]:
    """Check a JWT's signature against the provider's keys (fetched again once when the key
    id is unknown), and return its claims."""
    for refresh in (False, True):
        _meta, keys = provider(settings, refresh_keys=refresh)
        try:
            return dict(jwt.decode(value, keys, algorithms=ALGORITHMS).claims)
        except (JoseError, ValueError) as exc:
            if refresh or not isinstance(exc, InvalidKeyIdError):
                raise bad_identity("signature_invalid") from exc
    raise AssertionError("unreachable")


def _claims_check(settings: Settings, claims: dict[str, Any], **options: Any) -> None:
    meta, _keys = provider(settings)
    registry = JWTClaimsRegistry(
        leeway=LEEWAY_S,
        iss={"essential": True, "value": meta.issuer},
        aud={"essential": True, "value": settings.psc_client_id},
        **options,
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise bad_identity(f"claim_{getattr(exc, 'claim', 'invalid')}") from exc
    aud = claims.get("aud")
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != settings.psc_client_id:
        raise bad_identity("claim_azp")


def id_token_claims(
    settings: Settings, id_token: str, nonce: str, started: datetime | None = None
) -> dict[str, Any]:
    """OpenID Connect Core 1.0, 3.1.3.7: signature, iss, aud (and azp), exp, iat, nonce, acr;
    and, when the provider was asked to authenticate again (``prompt=login``) for a login
    ``started`` then, an ``auth_time`` it gives must not be older."""
    claims = _decode(settings, id_token)
    _claims_check(
        settings,
        claims,
        exp={"essential": True},
        iat={"essential": True},
        sub={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    wanted = settings.psc_acr_values.split()
    if wanted and claims.get("acr") not in wanted:
        raise PscRefused(
            "acr_insufficient",
            "Pro Santé Connect n'a pas confirmé une authentification forte (carte CPS ou "
            "application e-CPS). Recommencez la connexion.",
        )
    auth_time = claims.get("auth_time")
    if (
        settings.psc_prompt == "login"
        and started is not None
        and isinstance(auth_time, int | float)
        and auth_time < started.timestamp() - LEEWAY_S
    ):
        # the provider let an earlier session stand for this login (its single sign-on):
        # perhaps the previous user of this computer
        raise PscRefused(
            "authentication_reused",
            "Pro Santé Connect n'a pas demandé votre authentification et a repris une "
            "connexion précédente, peut-être celle d'une autre personne sur cet ordinateur : "
            "la connexion est refusée par sécurité. Fermez votre navigateur puis recommencez.",
        )
    return claims


def userinfo(settings: Settings, access_token: str) -> dict[str, Any]:
    """The userinfo, as JSON or as a signed JWT (``application/jwt``)."""
    meta, _keys = provider(settings)
    try:
        response = httpx.get(
            meta.userinfo_endpoint,
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=settings.psc_timeout_s,
        )
    except httpx.HTTPError as exc:
        raise unavailable() from exc
    if response.status_code >= 400:
        raise bad_identity("userinfo_refused")
    if response.headers.get("content-type", "").split(";")[0].strip() == "application/jwt":
        claims = _decode(settings, response.text.strip())
        _claims_check(settings, claims)
        return claims
    try:
        body = response.json()
    except ValueError as exc:
        raise bad_identity("userinfo_invalid") from exc
    if not isinstance(body, dict):
        raise bad_identity("userinfo_invalid")
    return body


def national_id(id_claims: dict[str, Any], info: dict[str, Any]) -> str | None:
    """The professional's national id (``8`` + RPPS, or ``0`` + ADELI): PSC's ``SubjectNameID``
    in the userinfo, else ``preferred_username`` (userinfo, then ID token)."""
    for value in (
        info.get("SubjectNameID"),
        info.get("preferred_username"),
        id_claims.get("preferred_username"),
    ):
        if isinstance(value, str) and value.strip():
            return value.strip()[:20]
    return None

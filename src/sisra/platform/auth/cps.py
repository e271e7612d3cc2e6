"""CPS card authentication: challenge, signature, certificate chain, revocation, holder.

The card signs a single-use random challenge with its authentication key. The platform checks,
in order: the challenge (known, unused, not expired); the certificate path up to a configured
trust anchor (IGC-Santé CAs in production, a test CA in development), each link's signature,
validity dates and CA constraints; the leaf's key usage; revocation, against the issuers' CRLs
(files or URLs, cached; a missing or stale CRL refuses when ``cps_crl_required``); the
signature over the challenge; then the national id in the subject CN (``8``+RPPS or
``0``+ADELI) maps to a professional of the directory.
"""

import base64
import itertools
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sisra.platform.audit import service as audit
from sisra.platform.context import Actor, RequestContext
from sisra.platform.db import side_transaction
from sisra.platform.errors import NotAuthenticated, SisraError
from sisra.platform.models import CpsChallenge, Professional, utcnow
from sisra.platform.settings import Settings

CHALLENGE_PREFIX = b"SISRA-CPS-AUTH-V1:"
MAX_DEPTH = 6
_CN_ID = re.compile(r"^([08][0-9A-Z]{9,11})(?:/.*)?$")


class CardRefused(NotAuthenticated):
    """A refusal of the card authentication, with a stable code."""


def _load_pem_or_der_certs(path: Path) -> list[x509.Certificate]:
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


@dataclass
class CrlCache:
    """Revocation lists from files or URLs, reloaded after ``ttl_s`` or their nextUpdate."""

    sources: list[str]
    ttl_s: int
    _crls: list[x509.CertificateRevocationList] = field(default_factory=list)
    _loaded_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _fetch(self, source: str) -> bytes:
        if source.startswith(("http://", "https://")):
            response = httpx.get(source, timeout=10, follow_redirects=True)
            response.raise_for_status()
            return response.content
        return Path(source).read_bytes()

    def _stale(self, now: datetime) -> bool:
        if time.monotonic() - self._loaded_at > self.ttl_s or not self._loaded_at:
            return True
        return any(c.next_update_utc is not None and c.next_update_utc < now for c in self._crls)

    def crls(self, now: datetime) -> list[x509.CertificateRevocationList]:
        with self._lock:
            if self._stale(now):
                loaded = []
                for source in self.sources:
                    try:
                        data = self._fetch(source)
                    except (OSError, httpx.HTTPError):
                        continue  # keep going: a missing CRL is judged per issuer below
                    if b"-----BEGIN" in data:
                        loaded.append(x509.load_pem_x509_crl(data))
                    else:
                        loaded.append(x509.load_der_x509_crl(data))
                self._crls = loaded
                self._loaded_at = time.monotonic()
            return list(self._crls)


@dataclass
class TrustStore:
    anchors: list[x509.Certificate]
    intermediates: list[x509.Certificate]
    crl_cache: CrlCache
    crl_required: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> "TrustStore":
        anchors = [c for p in settings.cps_trust_anchors for c in _load_pem_or_der_certs(Path(p))]
        inter = [c for p in settings.cps_intermediates for c in _load_pem_or_der_certs(Path(p))]
        return cls(
            anchors,
            inter,
            CrlCache(list(settings.cps_crls), settings.cps_crl_cache_s),
            settings.cps_crl_required,
        )


def issue_challenge(session: Session, settings: Settings) -> tuple[CpsChallenge, bytes]:
    challenge = CHALLENGE_PREFIX + secrets.token_bytes(32)
    row = CpsChallenge(
        id=uuid.uuid4(),
        nonce=base64.b64encode(challenge).decode(),
        expires_at=utcnow() + timedelta(seconds=settings.cps_challenge_ttl_s),
    )
    session.add(row)
    session.flush()
    return row, challenge


def _refused(code: str, message: str) -> CardRefused:
    return CardRefused(message, code=code)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def build_path(
    leaf: x509.Certificate, chain: list[x509.Certificate], store: TrustStore
) -> list[x509.Certificate]:
    """[leaf, …, anchor], or raise ``certificate_untrusted``."""
    path = [leaf]
    candidates = chain + store.intermediates
    current = leaf
    for _ in range(MAX_DEPTH):
        for anchor in store.anchors:
            if _issued_by(current, anchor):
                return [*path, anchor]
        nxt = next((c for c in candidates if c not in path and _issued_by(current, c)), None)
        if nxt is None:
            break
        path.append(nxt)
        current = nxt
    raise _refused(
        "certificate_untrusted",
        "Le certificat de la carte n'est pas émis par une autorité reconnue "
        "(IGC-Santé). Utilisez votre carte CPS professionnelle.",
    )


def _crl_of(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    """The CRL was issued and signed by ``issuer``."""
    key = issuer.public_key()
    if crl.issuer != issuer.subject or not isinstance(
        key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey
    ):
        return False
    return crl.is_signature_valid(key)


def check_path(path: list[x509.Certificate], store: TrustStore, now: datetime) -> None:
    leaf = path[0]
    for i, cert in enumerate(path):
        if not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc):
            if i == 0:
                raise _refused(
                    "certificate_expired",
                    "Le certificat de votre carte CPS n'est pas (ou plus) valide à "
                    "cette date. Utilisez votre nouvelle carte ou contactez l'ANS.",
                )
            raise _refused(
                "certificate_untrusted", "Un certificat d'autorité de la chaîne n'est plus valide."
            )
        if i > 0:
            try:
                bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
            except x509.ExtensionNotFound:
                bc = None
            if bc is None or not bc.ca:
                raise _refused(
                    "certificate_untrusted", "La chaîne de certification de la carte est invalide."
                )
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        signs = usage.digital_signature
    except x509.ExtensionNotFound:
        signs = False
    if not signs:
        raise _refused(
            "certificate_usage", "Ce certificat de la carte ne sert pas à l'authentification."
        )
    crls = store.crl_cache.crls(now)
    for cert, issuer in itertools.pairwise(path):
        crl = next((c for c in crls if _crl_of(c, issuer)), None)
        fresh = crl is not None and (crl.next_update_utc is None or crl.next_update_utc >= now)
        if crl is None or not fresh:
            if store.crl_required:
                raise _refused(
                    "revocation_unknown",
                    "L'état de révocation de la carte ne peut pas être vérifié pour "
                    "le moment. Réessayez plus tard ou utilisez la connexion par "
                    "code.",
                )
            continue
        if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
            raise _refused(
                "certificate_revoked",
                "Cette carte CPS a été révoquée (perte, vol ou renouvellement). "
                "Utilisez votre nouvelle carte.",
            )


def check_signature(leaf: x509.Certificate, challenge: bytes, signature: bytes) -> None:
    key = leaf.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, challenge, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, challenge, ec.ECDSA(hashes.SHA256()))
        else:
            raise InvalidSignature
    except (InvalidSignature, ValueError) as exc:
        raise _refused(
            "bad_signature", "La signature de la carte ne correspond pas à son certificat."
        ) from exc


def national_id_of(cert: x509.Certificate) -> str | None:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        return None
    match = _CN_ID.match(str(names[0].value).strip().upper())
    return match.group(1) if match else None


def _decode(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise SisraError(
            f"{what} mal encodé (base64 attendu).", code="invalid_request", status=422
        ) from exc


def verify(
    session: Session,
    settings: Settings,
    ctx: RequestContext,
    store: TrustStore,
    challenge_id: uuid.UUID,
    certificate_b64: str,
    chain_b64: list[str],
    signature_b64: str,
) -> Professional:
    """Authenticate a card holder; refusals are audited and raise :class:`CardRefused`."""
    now = utcnow()
    details: dict[str, object] = {"challenge": str(challenge_id)}

    def refuse(exc: SisraError) -> SisraError:
        audit.record(
            session,
            ctx,
            "auth.cps",
            outcome="refused",
            details={**details, "reason": exc.code},
            keep_on_failure=True,
        )
        return exc

    # single use, even when the attempt fails: one conditional UPDATE, committed at once, spends
    # the challenge, so of parallel requests with one signature exactly one is judged
    with side_transaction(session) as side:
        claimed = side.execute(
            update(CpsChallenge)
            .where(CpsChallenge.id == challenge_id, CpsChallenge.used_at.is_(None))
            .values(used_at=now)
            .returning(CpsChallenge.nonce, CpsChallenge.expires_at)
            .execution_options(synchronize_session=False)
        ).first()
    if claimed is None:
        if session.get(CpsChallenge, challenge_id) is None:
            raise refuse(
                _refused(
                    "challenge_unknown",
                    "Défi d'authentification inconnu : recommencez la lecture de la carte.",
                )
            )
        raise refuse(
            _refused(
                "challenge_replayed",
                "Ce défi d'authentification a déjà servi : recommencez la lecture de la carte.",
            )
        )
    nonce, expires_at = claimed
    if expires_at <= now:
        raise refuse(
            _refused(
                "challenge_expired", "Le délai pour signer avec la carte est dépassé : recommencez."
            )
        )
    try:
        leaf = x509.load_der_x509_certificate(_decode(certificate_b64, "Certificat"))
        chain = [x509.load_der_x509_certificate(_decode(c, "Certificat")) for c in chain_b64]
    except ValueError as exc:
        raise refuse(
            _refused("certificate_invalid", "Le certificat transmis est illisible.")
        ) from exc
    details["serial"] = format(leaf.serial_number, "x")
    details["subject"] = leaf.subject.rfc4514_string()[:200]
    try:
        path = build_path(leaf, chain, store)
        check_path(path, store, now)
        check_signature(leaf, base64.b64decode(nonce), _decode(signature_b64, "Signature"))
    except SisraError as exc:
        raise refuse(exc) from None
    nid = national_id_of(leaf)
    pro = (
        session.scalar(select(Professional).where(Professional.national_id == nid)) if nid else None
    )
    if pro is None or not pro.active:
        raise refuse(
            _refused(
                "unknown_card_holder",
                "Votre carte est valide mais vous n'êtes pas inscrit(e) dans l'annuaire Sisra "
                f"(identifiant national {nid or 'illisible'}). "
                "Contactez votre administrateur Sisra."
                if pro is None
                else "Ce compte est désactivé.",
            )
        )
    audit.record(session, ctx.with_actor(Actor.of(pro)), "auth.cps", details=details)
    return pro

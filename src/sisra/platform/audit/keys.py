"""The audit key: one 32-byte secret kept outside the database.

It comes from ``SISRA_AUDIT_KEY`` (or ``SISRA_AUDIT_KEY_FILE``), else from ``audit.key`` in the
data directory, created 0600 on first start (the master key's pattern). Two keys are derived
from it, so that each is used for one purpose only:

* the **chain key** (HMAC-SHA256) links the sealed rows: without it nobody can recompute a
  chain that ``verify-audit`` accepts;
* the **checkpoint key** (Ed25519) signs the checkpoints published outside the database; its
  public half lets anyone holding a copy of the checkpoints check them without being able to
  forge one.

The secret is never logged nor put in a message; only its public key id is shown.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from sisra.platform.settings import Settings
from sisra.platform.storage.keys import load_key

_CHAIN_INFO = b"sisra audit chain hmac-sha256 v1"
_SIGN_INFO = b"sisra audit checkpoint ed25519 v1"


def _derive(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


@dataclass(frozen=True)
class AuditKey:
    """The keys derived from the audit secret (see the module docstring)."""

    chain_key: bytes = field(repr=False)
    signing_key: Ed25519PrivateKey = field(repr=False)
    public_key: bytes
    key_id: str

    @classmethod
    def from_secret(cls, secret: bytes) -> "AuditKey":
        signing = Ed25519PrivateKey.from_private_bytes(_derive(secret, _SIGN_INFO))
        public = signing.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return cls(
            chain_key=_derive(secret, _CHAIN_INFO),
            signing_key=signing,
            public_key=public,
            key_id=hashlib.sha256(public).hexdigest()[:16],
        )

    def mac(self, data: bytes) -> str:
        """HMAC-SHA256 of ``data`` with the chain key, hex."""
        return hmac.new(self.chain_key, data, hashlib.sha256).hexdigest()

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self.signing_key.sign(data)).decode("ascii")

    def verify(self, data: bytes, signature: str) -> bool:
        return verify_signature(self.public_key, data, signature)


def verify_signature(public_key: bytes, data: bytes, signature: str) -> bool:
    """Check an Ed25519 checkpoint signature with the public key alone."""
    try:
        raw = base64.b64decode(signature, validate=True)
        Ed25519PublicKey.from_public_bytes(public_key).verify(raw, data)
    except (InvalidSignature, ValueError):
        return False
    return True


def load_audit_key(settings: Settings, *, create: bool = True) -> AuditKey:
    """The audit key from the settings, the key file, or a new key file (first start).

    ``create=False`` (the administration commands) refuses to make a new key: sealing with a
    key other than the trail's would break the chain for good.
    """
    if not create and settings.audit_key is None and not settings.audit_key_file.exists():
        raise ValueError(
            f"Clé d'audit introuvable : ni SISRA_AUDIT_KEY, ni SISRA_AUDIT_KEY_FILE, ni fichier "
            f"{settings.audit_key_file}. Indiquez la clé de la plateforme (ou son dossier de "
            "données, SISRA_DATA_DIR) ; la plateforme crée la clé à son premier démarrage."
        )
    secret = load_key(
        settings.audit_key.get_secret_value() if settings.audit_key else None,
        settings.audit_key_file,
        setting="SISRA_AUDIT_KEY",
        label="clé d'audit",
    )
    return AuditKey.from_secret(secret)

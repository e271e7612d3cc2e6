"""SoftHSM2 tokens standing in for CPS cards in development and tests.

A :class:`SoftHSMEnv` is a private token directory with its own ``softhsm2.conf``.
SoftHSM2 reads ``SOFTHSM2_CONF`` when the module is initialised (``C_Initialize``), and
python-pkcs11 keeps one library object per module path for the whole process, so callers:

1. set ``SOFTHSM2_CONF`` to ``env.conf_path`` (``monkeypatch.setenv`` in tests);
2. call ``pkcs11.lib(SOFTHSM_MODULE).reinitialize()`` so the new configuration is read.

SoftHSM2 only discovers tokens at ``C_Initialize``: :func:`make_card` therefore
reinitialises the in-process library after creating the token, which invalidates every
PKCS#11 session the process had open on that module. :func:`remove_card` deliberately does
not, so that it behaves like a card pulled out of the reader under a running client.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pkcs11 import Attribute, CertificateType, KeyType, MechanismFlag, ObjectClass

from sisra.devtools.pki import TestCA, issue_professional_cert

_MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",  # Debian, Ubuntu
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",  # Fedora
    "/usr/local/lib/softhsm/libsofthsm2.so",  # built from source, Homebrew (Intel)
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",  # Homebrew (Apple silicon)
)


def _default_module() -> str:
    override = os.environ.get("SISRA_SOFTHSM_MODULE")
    if override:
        return override
    for candidate in _MODULE_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return _MODULE_CANDIDATES[0]


SOFTHSM_MODULE: str = _default_module()
"""Path of the SoftHSM2 PKCS#11 module (override with ``SISRA_SOFTHSM_MODULE``)."""

SOFTHSM_UTIL = os.environ.get("SISRA_SOFTHSM_UTIL", "softhsm2-util")

KEY_LABEL = "CPS authentification"
KEY_ID = b"\x01"
DEFAULT_SO_PIN = "12345678"
_MAX_LABEL = 32  # CK_TOKEN_INFO.label is 32 bytes


@dataclass
class SoftHSMEnv:
    """A private SoftHSM2 token store: ``directory/tokens`` plus its configuration file."""

    directory: Path
    conf_path: Path

    @property
    def token_dir(self) -> Path:
        return self.directory / "tokens"

    def environ(self) -> dict[str, str]:
        """A copy of ``os.environ`` pointing SoftHSM2 at this store (for subprocesses)."""
        return {**os.environ, "SOFTHSM2_CONF": str(self.conf_path)}


@dataclass
class CardInfo:
    """What :func:`make_card` put on the token."""

    label: str
    pin: str
    national_id: str
    certificate: x509.Certificate
    serial: str
    """Token serial number (as the client's ``CardSlot.serial`` reports it)."""
    slot_id: int
    reader: str
    """Slot description (the "reader" name)."""


def make_softhsm_env(directory: Path) -> SoftHSMEnv:
    """Create ``directory/tokens`` and ``directory/softhsm2.conf``."""
    directory = directory.resolve()
    (directory / "tokens").mkdir(parents=True, exist_ok=True)
    conf_path = directory / "softhsm2.conf"
    conf_path.write_text(
        f"directories.tokendir = {directory / 'tokens'}\n"
        "objectstore.backend = file\n"
        "log.level = ERROR\n",
        encoding="utf-8",
    )
    return SoftHSMEnv(directory=directory, conf_path=conf_path)


def _util(env: SoftHSMEnv, *args: str) -> str:
    result = subprocess.run(  # noqa: S603 (fixed tool, arguments passed as a list)
        [SOFTHSM_UTIL, *args],
        env=env.environ(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()
        raise RuntimeError(f"softhsm2-util {args[0]} a échoué : {output}")
    return result.stdout


def _check_active(env: SoftHSMEnv) -> None:
    """Refuse to touch the in-process module unless it reads this env's configuration."""
    current = os.environ.get("SOFTHSM2_CONF")
    if current is None or Path(current).resolve() != env.conf_path.resolve():
        raise RuntimeError(
            f"SOFTHSM2_CONF doit valoir {env.conf_path} avant d'utiliser ce magasin SoftHSM2 "
            f"(valeur actuelle : {current!r})."
        )


def _der_integer(value: int) -> bytes:
    """DER encoding of a non-negative INTEGER (for CKA_SERIAL_NUMBER)."""
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")  # leading 0 keeps it positive
    length = len(body)
    if length < 0x80:
        header = bytes([0x02, length])
    else:
        size = length.to_bytes((length.bit_length() + 7) // 8, "big")
        header = bytes([0x02, 0x80 | len(size)]) + size
    return header + body


def make_card(
    env: SoftHSMEnv,
    ca: TestCA,
    *,
    label: str,
    pin: str,
    national_id: str,
    first_name: str,
    last_name: str,
    so_pin: str = DEFAULT_SO_PIN,
    profession: str = "Médecin",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    serial: int | None = None,
    card_serial: str | None = None,
    module: str | None = None,
) -> CardInfo:
    """Initialise a token that looks like a CPS card.

    The RSA 2048 key pair is generated on the token (private key sensitive and never
    extractable); the certificate, issued by ``ca``, is stored next to it with the same
    ``CKA_ID``. ``SOFTHSM2_CONF`` must already point at ``env.conf_path``.
    """
    _check_active(env)
    if not label or len(label.encode("utf-8")) > _MAX_LABEL:
        raise ValueError(f"Libellé de carte invalide (1 à {_MAX_LABEL} octets) : {label!r}")
    module = module or SOFTHSM_MODULE
    lib = pkcs11.lib(module)
    lib.reinitialize()  # see tokens created by other processes since the last C_Initialize
    if any(True for _ in lib.get_tokens(token_label=label)):
        raise ValueError(f"Une carte SoftHSM2 porte déjà le libellé {label!r}.")

    _util(env, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so_pin)
    lib.reinitialize()
    token = lib.get_token(token_label=label)

    with token.open(rw=True, user_pin=pin) as session:
        public, _private = session.generate_keypair(
            KeyType.RSA,
            2048,
            id=KEY_ID,
            label=KEY_LABEL,
            store=True,
            capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
            public_template={Attribute.TOKEN: True, Attribute.PRIVATE: False},
            private_template={
                Attribute.TOKEN: True,
                Attribute.PRIVATE: True,
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False,
                Attribute.SIGN: True,
            },
        )
        modulus = int.from_bytes(public[Attribute.MODULUS], "big")
        exponent = int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big")
        public_key = rsa.RSAPublicNumbers(exponent, modulus).public_key()
        cert = issue_professional_cert(
            ca,
            public_key,
            national_id=national_id,
            first_name=first_name,
            last_name=last_name,
            profession=profession,
            not_before=not_before,
            not_after=not_after,
            serial=serial,
            card_serial=card_serial,
        )
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.PRIVATE: False,
                Attribute.LABEL: KEY_LABEL,
                Attribute.ID: KEY_ID,
                Attribute.SUBJECT: cert.subject.public_bytes(),
                Attribute.ISSUER: cert.issuer.public_bytes(),
                Attribute.SERIAL_NUMBER: _der_integer(cert.serial_number),
                Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER),
            }
        )

    return CardInfo(
        label=label,
        pin=pin,
        national_id=national_id,
        certificate=cert,
        serial=token.serial.decode("ascii", errors="replace").strip(),
        slot_id=token.slot.slot_id,
        reader=token.slot.slot_description,
    )


def remove_card(env: SoftHSMEnv, label: str) -> None:
    """Delete the token labelled ``label`` ("pull the card out").

    The in-process module is not reinitialised: to PKCS#11 the slot still exists, but the
    token behind it is gone, as when a card leaves the reader during a session.
    """
    _util(env, "--delete-token", "--token", label)

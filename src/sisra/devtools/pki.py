"""A throw-away test PKI shaped like the IGC-Santé one that issues CPS certificates.

Everything here is for development and tests: keys are RSA 2048, generated in memory
and (for :func:`save_ca`) written unencrypted to disk with mode 0600.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT_FILE = "ca.pem"
CA_KEY_FILE = "ca.key"

_KEY_SIZE = 2048
_PUBLIC_EXPONENT = 65537
_CA_ORGANIZATION = "IGC-Santé TEST"
_PRO_ORGANIZATION = "CPS TEST"
_SERVER_ORGANIZATION = "SISRA TEST"


@dataclass
class TestCA:
    """A certification authority: its certificate and private key."""

    __test__ = False  # not a pytest test class, despite the name

    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def name(self) -> x509.Name:
        return self.cert.subject


def _now() -> datetime:
    return datetime.now(UTC)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=_PUBLIC_EXPONENT, key_size=_KEY_SIZE)


def _ca_name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _CA_ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _authority_key_id(ca: TestCA) -> x509.AuthorityKeyIdentifier:
    """AKI pointing at the CA's SKI (or computed from its key if it has none)."""
    try:
        ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key())
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _key_usage(
    *, signature: bool = False, encipherment: bool = False, ca: bool = False
) -> x509.KeyUsage:
    """A KeyUsage: digital signature, key encipherment (TLS with RSA), or certificate and
    CRL signing (CAs); everything else off."""
    return x509.KeyUsage(
        digital_signature=signature,
        content_commitment=False,
        key_encipherment=encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


_CA_KEY_USAGE = _key_usage(ca=True)


def make_ca(common_name: str = "IGC-Santé TEST AC Racine", days: int = 3650) -> TestCA:
    """A self-signed root CA valid from one hour ago for ``days`` days."""
    key = _new_key()
    name = _ca_name(common_name)
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    return TestCA(cert=cert, key=key)


def make_intermediate(
    root: TestCA, common_name: str = "IGC-Santé TEST AC Personnes", days: int = 1825
) -> TestCA:
    """An intermediate CA signed by ``root`` (path length 0: it issues end entities only)."""
    key = _new_key()
    now = _now()
    not_after = min(now + timedelta(days=days), root.cert.not_valid_after_utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_ca_name(common_name))
        .issuer_name(root.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(_authority_key_id(root), critical=False)
        .sign(root.key, hashes.SHA256())
    )
    return TestCA(cert=cert, key=key)


def card_serial_from(serial: int) -> str:
    """The short card serial written after the national id in the CN (10 digits)."""
    return f"{serial % 10**10:010d}"


def professional_subject(
    *,
    national_id: str,
    first_name: str,
    last_name: str,
    profession: str = "Médecin",
    card_serial: str,
) -> x509.Name:
    """The CPS subject form: C=FR, O, OU=<profession>, CN=<national id>/<card serial>, GN, SN."""
    if not national_id or "/" in national_id:
        raise ValueError(f"Identifiant national invalide : {national_id!r}")
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _PRO_ORGANIZATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, profession),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{national_id}/{card_serial}"),
            x509.NameAttribute(NameOID.GIVEN_NAME, first_name),
            x509.NameAttribute(NameOID.SURNAME, last_name),
        ]
    )


def issue_professional_cert(
    ca: TestCA,
    public_key: CertificatePublicKeyTypes,
    *,
    national_id: str,
    first_name: str,
    last_name: str,
    profession: str = "Médecin",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    serial: int | None = None,
    card_serial: str | None = None,
) -> x509.Certificate:
    """An authentication certificate for a health professional, as on a CPS card.

    ``national_id`` is ``8`` + RPPS or ``0`` + ADELI; the CN is ``<national_id>/<card
    serial>`` (the card serial defaults to the last 10 digits of the certificate serial).
    Default validity: one hour ago to three years from now.
    """
    now = _now()
    serial = x509.random_serial_number() if serial is None else serial
    subject = professional_subject(
        national_id=national_id,
        first_name=first_name,
        last_name=last_name,
        profession=profession,
        card_serial=card_serial if card_serial is not None else card_serial_from(serial),
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.cert.subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before if not_before is not None else now - timedelta(hours=1))
        .not_valid_after(not_after if not_after is not None else now + timedelta(days=3 * 365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(_authority_key_id(ca), critical=False)
        .sign(ca.key, hashes.SHA256())
    )


_TLS_KEY_USAGE = _key_usage(signature=True, encipherment=True)


def issue_tls_cert(
    ca: TestCA,
    public_key: CertificatePublicKeyTypes,
    *,
    common_name: str,
    server: bool,
    hostnames: tuple[str, ...] = (),
    addresses: tuple[str, ...] = (),
    days: int = 365,
) -> x509.Certificate:
    """A TLS certificate of an application server (IGC-Santé « serveur applicatif » style):
    ``server=True`` for a server (names and IP addresses in the SAN, serverAuth), else for a
    client authenticating to a server (clientAuth), such as the platform at its MSSanté
    operator's relay."""
    now = _now()
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _SERVER_ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    names: list[x509.GeneralName] = [x509.DNSName(h) for h in hostnames]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(min(now + timedelta(days=days), ca.cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_TLS_KEY_USAGE, critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(_authority_key_id(ca), critical=False)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca.key, hashes.SHA256())


def save_tls_identity(
    directory: Path, stem: str, issue: Callable[[rsa.RSAPublicKey], x509.Certificate]
) -> tuple[Path, Path]:
    """Make a new key, have ``issue`` certify it (e.g. ``lambda k: issue_tls_cert(ca, k,
    ...)``), and write ``<stem>.pem`` (the certificate) and ``<stem>.key`` (unencrypted,
    0600) in ``directory``; return both paths."""
    key = _new_key()
    cert = issue(key.public_key())
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    _write(key_path, key_pem, 0o600)
    return cert_path, key_path


def make_crl(
    ca: TestCA, revoked_serials: list[int], next_update_days: int = 7, *, crl_number: int = 1
) -> x509.CertificateRevocationList:
    """A CRL signed by ``ca`` listing ``revoked_serials`` (revoked now)."""
    now = _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(now - timedelta(minutes=1))
        .next_update(now + timedelta(days=next_update_days))
        .add_extension(x509.CRLNumber(crl_number), critical=False)
        .add_extension(_authority_key_id(ca), critical=False)
    )
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(now - timedelta(minutes=1))
            .build()
        )
    return builder.sign(ca.key, hashes.SHA256())


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode)  # the file may have existed with other permissions


def save_ca(ca: TestCA, directory: Path) -> None:
    """Write ``ca.pem`` (certificate) and ``ca.key`` (unencrypted key, 0600) to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    _write(directory / CA_CERT_FILE, ca.cert.public_bytes(serialization.Encoding.PEM), 0o644)
    key_pem = ca.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write(directory / CA_KEY_FILE, key_pem, 0o600)


def load_ca(directory: Path) -> TestCA:
    """Read a CA written by :func:`save_ca`."""
    cert = x509.load_pem_x509_certificate((directory / CA_CERT_FILE).read_bytes())
    key = serialization.load_pem_private_key((directory / CA_KEY_FILE).read_bytes(), None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"La clé de l'AC de test n'est pas une clé RSA : {directory}")
    cert_key = cert.public_key()
    if (
        not isinstance(cert_key, rsa.RSAPublicKey)
        or key.public_key().public_numbers() != cert_key.public_numbers()
    ):
        raise ValueError(f"La clé de l'AC de test ne correspond pas à son certificat : {directory}")
    return TestCA(cert=cert, key=key)


def load_or_create_ca(directory: Path) -> TestCA:
    """The root CA kept in ``directory``, created (and saved) on first use."""
    cert_path, key_path = directory / CA_CERT_FILE, directory / CA_KEY_FILE
    if cert_path.exists() and key_path.exists():
        return load_ca(directory)
    if cert_path.exists() or key_path.exists():
        raise ValueError(
            f"AC de test incomplète dans {directory} : supprimez {CA_CERT_FILE} et {CA_KEY_FILE}."
        )
    ca = make_ca()
    save_ca(ca, directory)
    return ca

"""CPS card access through the cryptolib CPS (PKCS#11).

The card holds an authentication key pair and its X.509 certificate. The subject CN is
``<national id>[/<card serial>]`` where the national id is ``8`` + RPPS or ``0`` + ADELI.
To authenticate, the platform sends a random challenge, the card signs it with
``CKM_SHA256_RSA_PKCS`` and the client returns the certificate and the signature.

Every failure reaches callers as a :class:`CardError` carrying a stable ``code`` (for the
program) and a French ``message`` (for the professional).

This module must stay importable without the platform: stdlib, python-pkcs11 and
cryptography only.
"""

from __future__ import annotations

import hashlib
import ntpath
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import pkcs11
import pkcs11.exceptions as pke
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pkcs11 import Attribute, CertificateType, Mechanism, ObjectClass, TokenFlag
from pkcs11.types import Object, SignMixin, Token

if TYPE_CHECKING:
    from pkcs11._pkcs11 import lib as Pkcs11Lib
    from pkcs11.types import Session

MODULE_ENV = "SISRA_PKCS11_MODULE"
"""Environment variable naming the PKCS#11 module to use instead of the defaults."""

# Stable error codes (CardError.code).
CRYPTOLIB_MISSING = "cryptolib_missing"
NO_READER = "no_reader"
NO_CARD = "no_card"
WRONG_PIN = "wrong_pin"
PIN_LOCKED = "pin_locked"
CARD_REMOVED = "card_removed"
NO_CERTIFICATE = "no_certificate"
CARD_ERROR = "card_error"

CPS_PIN_TRIES = 3
"""PIN presentations a CPS card allows before it locks (the PUK then unlocks it)."""

_MSG_CRYPTOLIB = (
    "Installez la cryptolib CPS (composants ATSAM, disponibles auprès de l'Agence du "
    "numérique en santé) puis relancez MonSisra."
)
_MSG_NO_READER = (
    "Aucun lecteur de carte détecté : branchez votre lecteur de carte CPS et vérifiez "
    "qu'il est bien installé."
)
_MSG_NO_CARD = "Aucune carte CPS détectée : insérez votre carte dans le lecteur."
_MSG_PIN_LOCKED = (
    "Votre carte CPS est bloquée après trop de codes PIN erronés. Vous pouvez la "
    "débloquer avec le code de déblocage (PUK) reçu avec votre carte, par exemple depuis "
    "l'outil de gestion de la carte CPS."
)
_MSG_CARD_REMOVED = "La carte a été retirée pendant l'opération : réinsérez-la et recommencez."
_MSG_NO_CERTIFICATE = (
    "Aucun certificat d'authentification n'a été trouvé sur la carte : vérifiez qu'il "
    "s'agit bien de votre carte CPS."
)
_MSG_CARD_ERROR = (
    "La carte CPS n'a pas pu être lue. Retirez-la, réinsérez-la et recommencez ; si le "
    "problème persiste, vérifiez le lecteur et la cryptolib CPS."
)
_MSG_EMPTY_PIN = "Saisissez le code PIN de votre carte CPS."
_MSG_PIN_EXPIRED = (
    "Le code PIN de votre carte CPS doit être changé avant de pouvoir l'utiliser : "
    "changez-le avec l'outil de gestion de la carte CPS."
)
_MSG_ALREADY_OPEN = (
    "La carte CPS est déjà ouverte par une autre opération de MonSisra : terminez-la puis "
    "recommencez."
)
_MSG_SESSION_CLOSED = "La session avec la carte CPS est terminée : ouvrez-la de nouveau."
_MSG_NO_KEY = "La carte ne contient pas de clé d'authentification utilisable."
_MSG_BAD_CERTIFICATE = (
    "Le certificat de la carte ne contient pas d'identifiant de professionnel de santé "
    "lisible : cette carte ne peut pas servir à vous authentifier."
)

# Errors meaning the token went away (card pulled out, reader unplugged, card reset).
_REMOVED_ERRORS: tuple[type[pke.PKCS11Error], ...] = (
    pke.TokenNotPresent,
    pke.DeviceRemoved,
    pke.SlotIDInvalid,
    pke.SessionHandleInvalid,
    pke.SessionClosed,
    pke.TokenNotRecognised,
    # The objects found a moment ago vanished: SoftHSM2 reports a deleted token that way.
    pke.ObjectHandleInvalid,
    pke.KeyHandleInvalid,
    # Login state lost behind our back: the card was reset (removed and reinserted).
    pke.UserNotLoggedIn,
)
_PIN_REJECTED_ERRORS: tuple[type[pke.PKCS11Error], ...] = (
    pke.PinIncorrect,
    pke.PinInvalid,
    pke.PinLenRange,
)

# DER prefix of a PKCS#1 v1.5 DigestInfo for SHA-256 (RFC 8017, section 9.2, note 1).
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


class CardError(Exception):
    """A card problem: ``code`` is stable, ``message`` is French and shown to the user."""

    def __init__(self, code: str, message: str, *, tries_left: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.tries_left = tries_left
        """For ``wrong_pin``: PIN tries remaining, ``None`` when the card does not tell."""

    def __repr__(self) -> str:
        return f"CardError(code={self.code!r}, message={self.message!r})"


def wrong_pin_error(tries_left: int | None) -> CardError:
    if tries_left is None:
        message = "Code PIN incorrect. Attention : après plusieurs erreurs la carte se bloque."
    elif tries_left == 1:
        message = (
            "Code PIN incorrect. Il vous reste 1 essai : une nouvelle erreur bloquera votre carte."
        )
    else:
        message = f"Code PIN incorrect. Il vous reste {tries_left} essais."
    return CardError(WRONG_PIN, message, tries_left=tries_left)


def tries_left_from_flags(flags: int) -> int | None:
    """PIN tries left according to the PKCS#11 token flags, ``None`` if unknown.

    - ``CKF_USER_PIN_LOCKED``: 0;
    - ``CKF_USER_PIN_FINAL_TRY``: 1;
    - ``CKF_USER_PIN_COUNT_LOW``: 2. PKCS#11 only says "at least one wrong PIN since the
      last success"; we rely on CPS cards allowing :data:`CPS_PIN_TRIES` (3) tries, so with
      the last try flagged separately, "count low" means exactly 2 left;
    - no flag: unknown (no failure yet, or a token that does not report them).

    SoftHSM2 never locks a PIN: it sets ``CKF_USER_PIN_COUNT_LOW`` after a wrong PIN (and
    clears it after a success) but never ``FINAL_TRY`` nor ``LOCKED``, so a SoftHSM2 card
    always reports 2 tries left after a failure.
    """
    if flags & TokenFlag.USER_PIN_LOCKED:
        return 0
    if flags & TokenFlag.USER_PIN_FINAL_TRY:
        return 1
    if flags & TokenFlag.USER_PIN_COUNT_LOW:
        return CPS_PIN_TRIES - 1
    return None


def default_module_paths(platform: str | None = None) -> list[Path]:
    """Where the cryptolib CPS installs its PKCS#11 module, most likely first.

    ``platform`` defaults to ``sys.platform``. The ``SISRA_PKCS11_MODULE`` override is
    applied by :func:`locate_module`, not here.
    """
    platform = platform or sys.platform
    if platform.startswith("win"):
        system32 = ntpath.join(os.environ.get("SYSTEMROOT", r"C:\Windows"), "System32")
        names = ["cps3_pkcs11_w64.dll", "cps3_pkcs11_w32.dll", "cps_pkcs11_w32.dll"]
        if sys.maxsize <= 2**32:  # a 32-bit Python can only load the 32-bit modules
            names = names[1:] + names[:1]
        return [Path(ntpath.join(system32, name)) for name in names]
    if platform == "darwin":
        return [
            Path("/usr/local/lib/libcps3_pkcs11_osx.dylib"),
            Path("/Library/Frameworks/cps3_pkcs11.framework/Versions/Current/cps3_pkcs11"),
            Path("/usr/local/lib/libcps_pkcs11_osx.dylib"),
        ]
    return [
        Path("/usr/local/lib/libcps3_pkcs11_lux.so"),
        Path("/usr/lib/libcps3_pkcs11_lux.so"),
        Path("/opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so"),
    ]


def locate_module(explicit: str | None = None) -> Path:
    """The PKCS#11 module to load: ``explicit``, else ``SISRA_PKCS11_MODULE``, else the
    first default location that exists. A configured path that does not exist is an error
    (no silent fallback to the defaults)."""
    configured = explicit or os.environ.get(MODULE_ENV) or None
    if configured is not None:
        path = Path(configured).expanduser()
        if path.is_file():
            return path
        raise CardError(
            CRYPTOLIB_MISSING,
            f"La cryptolib CPS configurée est introuvable ({path}). Vérifiez le chemin "
            f"indiqué ou {_MSG_CRYPTOLIB[0].lower()}{_MSG_CRYPTOLIB[1:]}",
        )
    for path in default_module_paths():
        if path.is_file():
            return path
    raise CardError(
        CRYPTOLIB_MISSING, f"La cryptolib CPS est introuvable sur ce poste. {_MSG_CRYPTOLIB}"
    )


def _load(module: Path) -> Pkcs11Lib:
    if not Path(module).is_file():
        raise CardError(
            CRYPTOLIB_MISSING, f"La cryptolib CPS est introuvable ({module}). {_MSG_CRYPTOLIB}"
        )
    try:
        return pkcs11.lib(str(module))
    except pke.PKCS11Error as exc:  # not a PKCS#11 module, wrong architecture, ...
        raise CardError(
            CRYPTOLIB_MISSING,
            f"La cryptolib CPS ({module}) n'a pas pu être chargée : réinstallez la cryptolib "
            "CPS (composants ATSAM, disponibles auprès de l'Agence du numérique en santé) "
            "dans la version adaptée à votre système, puis relancez MonSisra.",
        ) from exc


@dataclass(frozen=True)
class CardSlot:
    """A card present in a reader."""

    slot_id: int
    reader: str
    label: str
    serial: str


def _card_slot(token: Token) -> CardSlot:
    return CardSlot(
        slot_id=token.slot.slot_id,
        reader=token.slot.slot_description,
        label=token.label,
        serial=token.serial.decode("ascii", errors="replace").strip(),
    )


def _present_tokens(lib: Pkcs11Lib) -> list[tuple[CardSlot, Token]]:
    """Initialised tokens that can be read right now, in slot order."""
    try:
        slots = lib.get_slots(token_present=True)
    except pke.PKCS11Error as exc:
        raise CardError(CARD_ERROR, _MSG_CARD_ERROR) from exc
    found: list[tuple[CardSlot, Token]] = []
    for slot in slots:
        try:
            token = slot.get_token()
        except pke.PKCS11Error:
            # Card being pulled out, unreadable card, or (SoftHSM2) a deleted token that
            # C_GetTokenInfo reports with CKR_GENERAL_ERROR: not a usable card.
            continue
        if not token.flags & TokenFlag.TOKEN_INITIALIZED:
            continue  # blank token (e.g. SoftHSM2's free slot)
        found.append((_card_slot(token), token))
    return found


def _find(lib: Pkcs11Lib, card: CardSlot) -> Token | None:
    """The token of ``card`` if it is still inserted (matched on its serial number)."""
    candidates = _present_tokens(lib)
    for current, token in candidates:
        if card.serial and current.serial == card.serial:
            return token
        if not card.serial and (current.slot_id, current.label) == (card.slot_id, card.label):
            return token
    return None


def _still_there(lib: Pkcs11Lib, card: CardSlot) -> bool:
    try:
        return _find(lib, card) is not None
    except CardError:
        return False


def _fresh_flags(lib: Pkcs11Lib, card: CardSlot) -> int | None:
    """Token flags read again from the card (python-pkcs11 caches them on Token)."""
    try:
        token = _find(lib, card)
    except CardError:
        return None
    return None if token is None else int(token.flags)


def _translate(exc: pke.PKCS11Error, lib: Pkcs11Lib, card: CardSlot) -> CardError:
    """The CardError for a PKCS#11 failure on ``card``."""
    if isinstance(exc, _REMOVED_ERRORS):
        return CardError(CARD_REMOVED, _MSG_CARD_REMOVED)
    if isinstance(exc, pke.PinLocked):
        return CardError(PIN_LOCKED, _MSG_PIN_LOCKED, tries_left=0)
    if isinstance(exc, pke.PinExpired):
        return CardError(CARD_ERROR, _MSG_PIN_EXPIRED)
    if isinstance(exc, pke.UserAlreadyLoggedIn):
        return CardError(CARD_ERROR, _MSG_ALREADY_OPEN)
    if not _still_there(lib, card):
        return CardError(CARD_REMOVED, _MSG_CARD_REMOVED)
    return CardError(CARD_ERROR, _MSG_CARD_ERROR)


def list_cards(module: Path) -> list[CardSlot]:
    """The cards currently inserted (slots holding an initialised token)."""
    return [card for card, _token in _present_tokens(_load(module))]


def _attr(obj: Object, attribute: Attribute, default: object = None) -> object:
    try:
        return obj[attribute]
    except (pke.AttributeTypeInvalid, pke.AttributeSensitive):
        return default


def _auth_score(cert: x509.Certificate, label: str) -> int:
    """How much ``cert`` looks like the authentication certificate (CPS cards also carry
    a signature certificate)."""
    score = 0
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.CLIENT_AUTH in eku:
            score += 4
    except x509.ExtensionNotFound:
        pass
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if usage.digital_signature and not usage.content_commitment:
            score += 2
    except x509.ExtensionNotFound:
        pass
    if "auth" in label.lower():
        score += 1
    return score


def _select(session: Session) -> tuple[SignMixin | None, bytes | None]:
    """The signing private key and the DER certificate sharing its CKA_ID.

    Falls back to the first certificate (and first signing key) when no pair matches.
    """
    keys: list[tuple[bytes, SignMixin]] = []
    for obj in session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}):
        if isinstance(obj, SignMixin) and _attr(obj, Attribute.SIGN, False):
            keys.append((bytes(obj[Attribute.ID]), obj))
    certs: list[tuple[bytes, bytes, x509.Certificate, str]] = []
    for obj in session.get_objects(
        {
            Attribute.CLASS: ObjectClass.CERTIFICATE,
            Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
        }
    ):
        der = bytes(obj[Attribute.VALUE])
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            continue
        label = _attr(obj, Attribute.LABEL, "")
        certs.append((bytes(obj[Attribute.ID]), der, cert, label if isinstance(label, str) else ""))

    pairs = [
        (_auth_score(cert, label), key, der)
        for cert_id, der, cert, label in certs
        for key_id, key in keys
        if key_id == cert_id
    ]
    if pairs:
        best = max(range(len(pairs)), key=lambda i: (pairs[i][0], -i))
        return pairs[best][1], pairs[best][2]
    first_key = keys[0][1] if keys else None
    first_der = certs[0][1] if certs else None
    return first_key, first_der


def _name_value(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    for attribute in name.get_attributes_for_oid(oid):
        value = attribute.value
        text = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
        if text.strip():
            return text.strip()
    return ""


class CardSession:
    """A logged-in session on a CPS card; use as a context manager (closes on exit).

    Obtained from :func:`open_card`.
    """

    def __init__(
        self,
        lib: Pkcs11Lib,
        card: CardSlot,
        session: Session,
        key: SignMixin | None,
        certificate_der: bytes | None,
        pin_for_each_signature: str | None,
    ) -> None:
        self.card = card
        self._lib = lib
        self._session = session
        self._key = key
        self._certificate_der = certificate_der
        self._certificate: x509.Certificate | None = None
        # Only kept for keys with CKA_ALWAYS_AUTHENTICATE, which need the PIN per signature.
        self._pin = pin_for_each_signature
        self._closed = False

    def __enter__(self) -> CardSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Log out and close the session; never raises (the card may already be gone)."""
        if self._closed:
            return
        self._closed = True
        self._pin = None
        with suppress(pke.PKCS11Error):
            self._session.close()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        if self._closed:
            raise CardError(CARD_ERROR, _MSG_SESSION_CLOSED)
        try:
            yield
        except pke.PKCS11Error as exc:
            raise _translate(exc, self._lib, self.card) from exc

    def certificate_der(self) -> bytes:
        """The authentication certificate, DER-encoded, as read from the card."""
        if self._closed:
            raise CardError(CARD_ERROR, _MSG_SESSION_CLOSED)
        if self._certificate_der is None:
            raise CardError(NO_CERTIFICATE, _MSG_NO_CERTIFICATE)
        return self._certificate_der

    def certificate(self) -> x509.Certificate:
        """The authentication certificate (the one sharing the signing key's CKA_ID)."""
        if self._certificate is None:
            self._certificate = x509.load_der_x509_certificate(self.certificate_der())
        return self._certificate

    def national_id(self) -> str:
        """``8`` + RPPS or ``0`` + ADELI, from the CN (the part before ``/``)."""
        common_name = _name_value(self.certificate().subject, NameOID.COMMON_NAME)
        national_id = common_name.split("/", 1)[0].strip()
        if not national_id:
            raise CardError(CARD_ERROR, _MSG_BAD_CERTIFICATE)
        return national_id

    def holder_name(self) -> str:
        """The card holder's "Given-name Surname" (the CN if the certificate lacks them)."""
        subject = self.certificate().subject
        parts = [
            _name_value(subject, NameOID.GIVEN_NAME),
            _name_value(subject, NameOID.SURNAME),
        ]
        name = " ".join(part for part in parts if part)
        return name or _name_value(subject, NameOID.COMMON_NAME)

    def sign(self, challenge: bytes) -> bytes:
        """Sign ``challenge`` with the authentication key (RSA PKCS#1 v1.5, SHA-256).

        Modules without ``CKM_SHA256_RSA_PKCS`` get the SHA-256 DigestInfo through
        ``CKM_RSA_PKCS`` instead, which yields the same signature.
        """
        if not isinstance(challenge, bytes | bytearray) or not challenge:
            raise ValueError("challenge must be non-empty bytes")
        with self._guard():
            if self._key is None:
                raise CardError(CARD_ERROR, _MSG_NO_KEY)
            data = bytes(challenge)
            try:
                return self._key.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS, pin=self._pin)
            except pke.MechanismInvalid:
                digest_info = _SHA256_DIGEST_INFO + hashlib.sha256(data).digest()
                return self._key.sign(digest_info, mechanism=Mechanism.RSA_PKCS, pin=self._pin)


def open_card(module: Path, pin: str, slot: CardSlot | None = None) -> CardSession:
    """Log in to the card in ``slot`` (the first card found if ``None``) with ``pin``.

    Raises :class:`CardError`: ``cryptolib_missing``, ``no_reader``, ``no_card``,
    ``card_removed`` (``slot`` no longer holds that card), ``wrong_pin`` (with
    ``tries_left``), ``pin_locked`` or ``card_error``.
    """
    lib = _load(module)
    present = _present_tokens(lib)
    if slot is None:
        if not present:
            try:
                any_slot = bool(lib.get_slots())
            except pke.PKCS11Error:
                any_slot = True
            if any_slot:
                raise CardError(NO_CARD, _MSG_NO_CARD)
            raise CardError(NO_READER, _MSG_NO_READER)
        card, token = present[0]
    else:
        token_or_none = _find(lib, slot)
        if token_or_none is None:
            raise CardError(CARD_REMOVED, _MSG_CARD_REMOVED)
        card, token = _card_slot(token_or_none), token_or_none

    if token.flags & TokenFlag.USER_PIN_LOCKED:
        raise CardError(PIN_LOCKED, _MSG_PIN_LOCKED, tries_left=0)
    if not pin:
        raise CardError(WRONG_PIN, _MSG_EMPTY_PIN)

    try:
        # NB: when C_Login fails python-pkcs11 does not close the session it just opened;
        # the module reclaims it at C_Finalize.
        session = token.open(user_pin=pin)
    except _PIN_REJECTED_ERRORS as exc:
        flags = _fresh_flags(lib, card)
        if flags is not None and flags & TokenFlag.USER_PIN_LOCKED:
            raise CardError(PIN_LOCKED, _MSG_PIN_LOCKED, tries_left=0) from exc
        raise wrong_pin_error(None if flags is None else tries_left_from_flags(flags)) from exc
    except pke.PKCS11Error as exc:
        raise _translate(exc, lib, card) from exc

    try:
        key, certificate_der = _select(session)
        always_authenticate = key is not None and bool(
            _attr(key, Attribute.ALWAYS_AUTHENTICATE, False)
        )
    except pke.PKCS11Error as exc:
        _close_quietly(session)
        raise _translate(exc, lib, card) from exc
    if certificate_der is None:
        _close_quietly(session)
        if not _still_there(lib, card):
            raise CardError(CARD_REMOVED, _MSG_CARD_REMOVED)
        raise CardError(NO_CERTIFICATE, _MSG_NO_CERTIFICATE)
    return CardSession(
        lib, card, session, key, certificate_der, pin if always_authenticate else None
    )


def _close_quietly(session: Session) -> None:
    with suppress(pke.PKCS11Error):
        session.close()

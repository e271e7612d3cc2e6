"""The encrypted local vault of one MonSisra account.

A vault file holds a JSON object (the device credentials and any other secret) encrypted
with a key derived from the account's LOCAL password, which never leaves the computer.

File layout (version 1)::

    <header: compact JSON on one line> b"\\n" <AES-256-GCM ciphertext + tag> <SHA-256>

- header: ``{"v":1,"kdf":"argon2id","t":…,"m":…,"p":…,"salt":b64,"nonce":b64,"check":b64}``;
  ``t``/``m``/``p`` are Argon2id's time cost, memory cost (KiB) and parallelism;
- key = Argon2id(password, salt, t, m, p) → 32 bytes, used by AES-256-GCM with the header
  bytes as associated data: no header field (costs, salt, nonce) can be altered unnoticed;
- ``check`` = HMAC-SHA256(key, label)[:16]: tells a wrong password apart from a damaged
  ciphertext (it lets nobody test passwords faster than the GCM tag already does);
- the trailing SHA-256 of everything before it is a plain checksum: an accidentally (or
  naively) altered file is reported as damaged *before* any key is derived. Someone who
  rewrites the header and recomputes the checksum still cannot make the vault open; the
  error is then ``wrong_password`` since the derived key no longer matches ``check``.

Writes are atomic (temporary file in the same folder, fsync, ``os.replace``) and the file
is 0600. Python cannot wipe memory reliably: keys are kept as long as their owner and no
longer, and never appear in a ``repr`` or a message.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 1
KDF_NAME = "argon2id"
MIN_PASSWORD_LENGTH = 8
KEY_LENGTH = 32
SALT_LENGTH = 16
NONCE_LENGTH = 12
CHECK_LENGTH = 16
_CHECK_LABEL = b"MonSisra vault v1 password check"
_DIGEST_LENGTH = 32
_TAG_LENGTH = 16
# bounds accepted when reading a header: a crafted file must not make us allocate 100 GiB
_MAX_TIME_COST = 16
_MAX_PARALLELISM = 16
_MAX_MEMORY_KIB = 1024 * 1024  # 1 GiB

WEAK_PASSWORD_MESSAGE = f"Le mot de passe doit contenir au moins {MIN_PASSWORD_LENGTH} caractères."
WRONG_PASSWORD_MESSAGE = "Mot de passe incorrect."  # noqa: S105 (a message)
CORRUPTED_MESSAGE = (
    "Le coffre-fort de ce compte est endommagé et ne peut pas être ouvert. "
    "Utilisez « Mot de passe oublié » pour le recréer."
)
MISSING_MESSAGE = "Le coffre-fort de ce compte est introuvable."
EXISTS_MESSAGE = "Un coffre-fort existe déjà à cet emplacement."
CHANGED_MESSAGE = (
    "Le coffre-fort a été modifié par ailleurs (mot de passe changé ?). "
    "Déverrouillez de nouveau le compte."
)
LOCKED_MESSAGE = "Le coffre-fort est verrouillé : déverrouillez de nouveau le compte."


class VaultError(Exception):
    """``code`` is stable (``weak_password``, ``wrong_password``, ``vault_corrupted``,
    ``vault_missing``, ``vault_exists``, ``vault_changed``, ``vault_locked``); ``message``
    is French, for the user."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


def _params_ok(t: object, m: object, p: object) -> bool:
    if type(t) is not int or type(m) is not int or type(p) is not int:  # no bool, no float
        return False
    return 1 <= t <= _MAX_TIME_COST and 1 <= p <= _MAX_PARALLELISM and 8 * p <= m <= _MAX_MEMORY_KIB


@dataclass(frozen=True)
class KdfParams:
    """Argon2id costs: ``memory_cost`` in KiB."""

    time_cost: int = 3
    memory_cost: int = 64 * 1024
    parallelism: int = 2

    def __post_init__(self) -> None:
        if not _params_ok(self.time_cost, self.memory_cost, self.parallelism):
            raise ValueError(f"paramètres Argon2id invalides : {self}")


DEFAULT_KDF = KdfParams()


def check_password_strength(password: str) -> None:
    """Raise ``weak_password`` for a password too short to protect the vault."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise VaultError("weak_password", WEAK_PASSWORD_MESSAGE)


def _password_bytes(password: str) -> bytes:
    # the same password typed on another keyboard layout may arrive composed or decomposed
    return unicodedata.normalize("NFC", password).encode("utf-8")


def _derive(password: str, salt: bytes, kdf: KdfParams) -> bytes:
    return hash_secret_raw(
        _password_bytes(password),
        salt,
        time_cost=kdf.time_cost,
        memory_cost=kdf.memory_cost,
        parallelism=kdf.parallelism,
        hash_len=KEY_LENGTH,
        type=Type.ID,
    )


def _check_value(key: bytes) -> bytes:
    return hmac.new(key, _CHECK_LABEL, hashlib.sha256).digest()[:CHECK_LENGTH]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, length: int) -> bytes:
    if not isinstance(value, str):
        raise VaultError("vault_corrupted", CORRUPTED_MESSAGE)
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise VaultError("vault_corrupted", CORRUPTED_MESSAGE) from None
    if len(data) != length:
        raise VaultError("vault_corrupted", CORRUPTED_MESSAGE)
    return data


# --- atomic private files ---------------------------------------------------------------


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; NTFS journals renames itself)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` all at once: a reader (or a crash) sees the old file or
    the new one, never a mix. The file gets ``mode`` (0600 by default)."""
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


# --- file format --------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class _Sealed:
    """A vault file taken apart (nothing secret in it, but no repr: it is opaque)."""

    header_bytes: bytes
    kdf: KdfParams
    salt: bytes
    nonce: bytes
    check: bytes
    ciphertext: bytes


def _read(path: Path) -> _Sealed:
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise VaultError("vault_missing", MISSING_MESSAGE) from None
    except IsADirectoryError:
        raise VaultError("vault_corrupted", CORRUPTED_MESSAGE) from None
    return _parse(raw)


def _parse(raw: bytes) -> _Sealed:
    corrupted = VaultError("vault_corrupted", CORRUPTED_MESSAGE)
    if len(raw) < _DIGEST_LENGTH:
        raise corrupted
    body, digest = raw[:-_DIGEST_LENGTH], raw[-_DIGEST_LENGTH:]
    if not hmac.compare_digest(hashlib.sha256(body).digest(), digest):
        raise corrupted
    header_bytes, sep, ciphertext = body.partition(b"\n")
    if not sep or len(ciphertext) < _TAG_LENGTH:
        raise corrupted
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise corrupted from None
    if not isinstance(header, dict):
        raise corrupted
    if header.get("v") != FORMAT_VERSION or header.get("kdf") != KDF_NAME:
        raise corrupted
    t, m, p = header.get("t"), header.get("m"), header.get("p")
    if not _params_ok(t, m, p):
        raise corrupted
    assert isinstance(t, int) and isinstance(m, int) and isinstance(p, int)
    return _Sealed(
        header_bytes,
        KdfParams(t, m, p),
        _unb64(header.get("salt"), SALT_LENGTH),
        _unb64(header.get("nonce"), NONCE_LENGTH),
        _unb64(header.get("check"), CHECK_LENGTH),
        ciphertext,
    )


def _seal(key: bytes, salt: bytes, kdf: KdfParams, payload: dict[str, Any]) -> bytes:
    if not isinstance(payload, dict):
        raise TypeError("the vault payload must be a dict")
    nonce = secrets.token_bytes(NONCE_LENGTH)  # fresh for every write, never reused
    header = {
        "v": FORMAT_VERSION,
        "kdf": KDF_NAME,
        "t": kdf.time_cost,
        "m": kdf.memory_cost,
        "p": kdf.parallelism,
        "salt": _b64(salt),
        "nonce": _b64(nonce),
        "check": _b64(_check_value(key)),
    }
    header_bytes = json.dumps(header, separators=(",", ":")).encode("ascii")
    plaintext = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, header_bytes)
    body = header_bytes + b"\n" + ciphertext
    return body + hashlib.sha256(body).digest()


def _key_for(sealed: _Sealed, password: str) -> bytes:
    key = _derive(password, sealed.salt, sealed.kdf)
    if not hmac.compare_digest(_check_value(key), sealed.check):
        raise VaultError("wrong_password", WRONG_PASSWORD_MESSAGE)
    return key


def _decrypt(sealed: _Sealed, key: bytes) -> dict[str, Any]:
    corrupted = VaultError("vault_corrupted", CORRUPTED_MESSAGE)
    try:
        plaintext = AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, sealed.header_bytes)
    except InvalidTag:
        raise corrupted from None
    try:
        payload = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise corrupted from None
    if not isinstance(payload, dict):
        raise corrupted
    return payload


# --- public API ---------------------------------------------------------------------------


class UnlockedVault:
    """An opened vault that keeps its derived key, so that saving again does not run
    Argon2id again (each save still uses a fresh nonce).

    A save refuses to go on if the file was re-keyed meanwhile (password changed or reset
    by another window): the cached key would silently bring the old password back.
    """

    def __init__(
        self, path: Path, key: bytes, salt: bytes, kdf: KdfParams, payload: dict[str, Any]
    ) -> None:
        self.path = Path(path)
        self.kdf = kdf
        self._key: bytes | None = key
        self._salt = salt
        self._check = _check_value(key)
        self._payload = payload

    def __repr__(self) -> str:  # neither the key nor the secrets
        state = "locked" if self._key is None else "unlocked"
        return f"UnlockedVault(path={str(self.path)!r}, {state})"

    @property
    def payload(self) -> dict[str, Any]:
        """A copy of the decrypted contents (edit it, then :meth:`save` it)."""
        return json.loads(json.dumps(self._payload))  # type: ignore[no-any-return]

    @property
    def locked(self) -> bool:
        return self._key is None

    def save(self, payload: dict[str, Any]) -> None:
        if self._key is None:
            raise VaultError("vault_locked", LOCKED_MESSAGE)
        current = _read(self.path)
        if current.salt != self._salt or current.kdf != self.kdf or current.check != self._check:
            raise VaultError("vault_changed", CHANGED_MESSAGE)
        data = _seal(self._key, self._salt, self.kdf, payload)
        atomic_write(self.path, data)
        self._payload = json.loads(json.dumps(payload))

    def reload(self) -> None:
        """Read the file again with the cached key: what another process saved meanwhile
        (``sisra client reauth`` renewing the credentials a running daemon holds). Raises
        ``vault_changed`` when the file was re-keyed: the password itself changed."""
        if self._key is None:
            raise VaultError("vault_locked", LOCKED_MESSAGE)
        current = _read(self.path)
        if current.salt != self._salt or current.kdf != self.kdf or current.check != self._check:
            raise VaultError("vault_changed", CHANGED_MESSAGE)
        self._payload = _decrypt(current, self._key)

    def change_password(self, new_password: str, kdf: KdfParams | None = None) -> None:
        """Re-key with a new password (new salt; ``kdf`` defaults to the current costs)."""
        if self._key is None:
            raise VaultError("vault_locked", LOCKED_MESSAGE)
        check_password_strength(new_password)
        kdf = kdf or self.kdf
        salt = secrets.token_bytes(SALT_LENGTH)
        key = _derive(new_password, salt, kdf)
        atomic_write(self.path, _seal(key, salt, kdf, self._payload))
        self._key, self._salt, self.kdf, self._check = key, salt, kdf, _check_value(key)

    def lock(self) -> None:
        """Forget the key and the secrets; the object can no longer save."""
        self._key = None
        self._payload = {}


class Vault:
    """One vault file; ``kdf`` sets the Argon2id costs of the files it writes (lower them
    only in tests: they are recorded in the header and read back from it)."""

    def __init__(self, path: Path, *, kdf: KdfParams = DEFAULT_KDF) -> None:
        self.path = Path(path)
        self.kdf = kdf

    def __repr__(self) -> str:
        return f"Vault(path={str(self.path)!r}, kdf={self.kdf!r})"

    def exists(self) -> bool:
        return self.path.is_file()

    def create(
        self, password: str, payload: dict[str, Any], *, overwrite: bool = False
    ) -> UnlockedVault:
        """A new vault (new salt), returned unlocked. Without ``overwrite`` an existing
        file is refused; with it the old file is replaced atomically (forgotten password)."""
        check_password_strength(password)
        if not overwrite and self.path.exists():
            raise VaultError("vault_exists", EXISTS_MESSAGE)
        salt = secrets.token_bytes(SALT_LENGTH)
        key = _derive(password, salt, self.kdf)
        payload = json.loads(json.dumps(payload))  # a private copy, JSON-checked
        atomic_write(self.path, _seal(key, salt, self.kdf, payload))
        return UnlockedVault(self.path, key, salt, self.kdf, payload)

    def unlock(self, password: str) -> UnlockedVault:
        sealed = _read(self.path)
        key = _key_for(sealed, password)
        return UnlockedVault(self.path, key, sealed.salt, sealed.kdf, _decrypt(sealed, key))

    def open(self, password: str) -> dict[str, Any]:
        return self.unlock(password).payload

    def save(self, password: str, payload: dict[str, Any]) -> None:
        """Replace the contents; the password must open the existing vault (a damaged
        payload can thus be overwritten by whoever knows the password)."""
        sealed = _read(self.path)
        key = _key_for(sealed, password)
        atomic_write(self.path, _seal(key, sealed.salt, sealed.kdf, payload))

    def change_password(self, old_password: str, new_password: str) -> None:
        """Re-key with a new salt, at this object's ``kdf`` costs."""
        check_password_strength(new_password)
        self.unlock(old_password).change_password(new_password, self.kdf)


def create_vault(
    path: Path,
    password: str,
    payload: dict[str, Any],
    *,
    kdf: KdfParams = DEFAULT_KDF,
    overwrite: bool = False,
) -> None:
    Vault(path, kdf=kdf).create(password, payload, overwrite=overwrite)


def open_vault(path: Path, password: str) -> dict[str, Any]:
    return Vault(path).open(password)


def unlock_vault(path: Path, password: str) -> UnlockedVault:
    return Vault(path).unlock(password)


def save_vault(path: Path, password: str, payload: dict[str, Any]) -> None:
    Vault(path).save(password, payload)


def change_password(
    path: Path, old_password: str, new_password: str, *, kdf: KdfParams = DEFAULT_KDF
) -> None:
    Vault(path, kdf=kdf).change_password(old_password, new_password)

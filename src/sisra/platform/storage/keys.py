"""The platform master key: it wraps the per-document data keys.

It comes from ``SISRA_MASTER_KEY`` (or ``SISRA_MASTER_KEY_FILE``) when set, otherwise from a key
file in the data directory, generated on first start. The key itself is never logged nor put in
an error message.
"""

import base64
import binascii
import contextlib
import os
import secrets
from pathlib import Path

MASTER_KEY_SIZE = 32


def _decode(text: str) -> bytes | None:
    """Decode standard or URL-safe base64 (padding optional); ``None`` when not 32 bytes."""
    cleaned = "".join(text.split()).replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        raw = base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == MASTER_KEY_SIZE else None


def encode_master_key(key: bytes) -> str:
    """The text form of a key, as accepted by :func:`load_master_key`."""
    return base64.urlsafe_b64encode(key).decode("ascii")


def load_master_key(master_key: str | None, key_file: Path) -> bytes:
    """Return the 32-byte master key (see :func:`load_key`)."""
    return load_key(master_key, key_file, setting="SISRA_MASTER_KEY", label="clé maîtresse")


def load_key(value: str | None, key_file: Path, *, setting: str, label: str) -> bytes:
    """Return a 32-byte secret key (the master key, the audit key).

    * ``value`` given (from the ``setting`` variable): it must be the base64 (standard or
      URL-safe) of 32 bytes, else :class:`ValueError`;
    * otherwise ``key_file`` is read when it exists (base64 text);
    * otherwise a random key is generated and written to ``key_file`` (mode 0600, parent
      directory created 0700). Creation is atomic and never overwrites an existing file, so
      concurrent first starts all end up with the same key.
    """
    if value is not None:
        key = _decode(value)
        if key is None:
            raise ValueError(
                f"{setting} invalide : il faut 32 octets encodés en base64 "
                '(par exemple : python -c "import base64, os; '
                'print(base64.urlsafe_b64encode(os.urandom(32)).decode())").'
            )
        return key
    key_file = Path(key_file)
    if key_file.exists():
        return _read_key_file(key_file, label)
    return _create_key_file(key_file, label)


def _read_key_file(key_file: Path, label: str) -> bytes:
    key = _decode(key_file.read_text(encoding="ascii", errors="replace"))
    if key is None:
        raise ValueError(
            f"Fichier de {label} invalide : {key_file} (attendu : 32 octets encodés en base64)."
        )
    return key


def _create_key_file(key_file: Path, label: str) -> bytes:
    parent = key_file.parent
    if not parent.is_dir():
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(parent, 0o700)
    key = secrets.token_bytes(MASTER_KEY_SIZE)
    # Written completely to a private temporary file, then hard-linked into place: the link
    # fails if the key file appeared meanwhile, and a reader never sees a half-written key.
    tmp = parent / f".{key_file.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(encode_master_key(key) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, key_file)
        except FileExistsError:
            return _read_key_file(key_file, label)  # another process won the race: use its key
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return key

"""Portal passwords: Argon2id."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2-cffi defaults: Argon2id, RFC 9106 "low memory" profile

# Verified against when the account does not exist, so timing does not reveal valid logins.
_DUMMY_HASH = _hasher.hash("sisra-dummy-password")

MIN_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def check_strength(password: str) -> str | None:
    """A French reason why the password is too weak, or None."""
    if len(password) < MIN_LENGTH:
        return f"Le mot de passe doit comporter au moins {MIN_LENGTH} caractères."
    if password.isdigit() or password.isalpha():
        return "Le mot de passe doit mêler lettres et chiffres ou symboles."
    return None

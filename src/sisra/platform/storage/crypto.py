"""Envelope encryption of documents with AES-256-GCM.

Each document gets its own random 256-bit data key (DEK), stored only *wrapped* (encrypted) by
the platform master key. The content is cut into plaintext segments of :data:`SEGMENT` bytes,
each encrypted separately (the STREAM construction), so that a byte range can be served or a
document streamed without ever decrypting, or holding, the whole file:

* segment ``i`` is ``AESGCM(dek).encrypt(nonce_i, plaintext_i, aad)``, i.e. ``len + 16`` bytes;
* ``nonce_i`` = 11-byte big-endian ``i`` || 1 byte, ``1`` for the last segment, ``0`` otherwise.
  Nonces never repeat under one key because every document has its own DEK;
* the stored blob is the concatenation of the segments. Every segment but the last holds exactly
  :data:`SEGMENT` plaintext bytes; an empty document is a single, empty, final segment.

The index in the nonce prevents reordering segments, the final flag prevents truncating the
document at a segment boundary, and the AAD (the document id) prevents swapping blobs or keys
between documents.
"""

import os
from collections.abc import Callable, Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SEGMENT = 64 * 1024
TAG_SIZE = 16
KEY_SIZE = 32
NONCE_SIZE = 12
WRAPPED_KEY_SIZE = NONCE_SIZE + KEY_SIZE + TAG_SIZE
STORED_SEGMENT = SEGMENT + TAG_SIZE
# How many segments one ``read`` call fetches when decrypting a range (bounded memory).
READ_BATCH_SEGMENTS = 16
_MAX_SEGMENTS = 1 << 88


class IntegrityError(Exception):
    """Stored data failed authentication: tampered, truncated, wrong key or wrong document."""


def _integrity_error() -> IntegrityError:
    return IntegrityError(
        "Le contenu chiffré du document est corrompu ou ne correspond pas à sa clé."
    )


def _check_key(key: bytes, what: str) -> None:
    if len(key) != KEY_SIZE:
        raise ValueError(f"{what} : 32 octets attendus, {len(key)} reçus.")


def new_data_key() -> bytes:
    """A fresh random 256-bit data key."""
    return os.urandom(KEY_SIZE)


def wrap_key(master: bytes, dek: bytes, aad: bytes) -> bytes:
    """Encrypt ``dek`` under ``master``: random 12-byte nonce || AES-GCM ciphertext and tag."""
    _check_key(master, "Clé maîtresse")
    _check_key(dek, "Clé de document")
    nonce = os.urandom(NONCE_SIZE)
    return nonce + AESGCM(master).encrypt(nonce, dek, aad)


def unwrap_key(master: bytes, wrapped: bytes, aad: bytes) -> bytes:
    """Inverse of :func:`wrap_key`; :class:`IntegrityError` on a wrong key, aad or tampering."""
    _check_key(master, "Clé maîtresse")
    if len(wrapped) != WRAPPED_KEY_SIZE:
        raise _integrity_error()
    try:
        dek = AESGCM(master).decrypt(wrapped[:NONCE_SIZE], wrapped[NONCE_SIZE:], aad)
    except InvalidTag:
        raise _integrity_error() from None
    return dek


def segment_nonce(index: int, last: bool) -> bytes:
    """The nonce of segment ``index``: 11-byte big-endian index || last-segment flag."""
    if not 0 <= index < _MAX_SEGMENTS:
        raise ValueError("Document trop volumineux.")
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def segment_count(plain_size: int) -> int:
    """Number of stored segments for a plaintext of ``plain_size`` bytes (at least one)."""
    if plain_size < 0:
        raise ValueError("Taille négative.")
    return max(1, -(-plain_size // SEGMENT))


def ciphertext_size(plain_size: int) -> int:
    """Size of the stored blob for a plaintext of ``plain_size`` bytes."""
    return plain_size + TAG_SIZE * segment_count(plain_size)


def encrypt_stream(dek: bytes, aad: bytes, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Encrypt a stream of arbitrary chunks, yielding one stored segment at a time.

    A full segment is only emitted once at least one more byte has arrived, since whether it is
    the last one is part of its nonce. Memory stays bounded by one segment plus the current
    input chunk.
    """
    _check_key(dek, "Clé de document")
    aead = AESGCM(dek)
    buf = bytearray()
    index = 0
    for chunk in chunks:
        view = memoryview(chunk).cast("B")
        while view:
            if len(buf) == SEGMENT:  # more data follows, so this segment is not the last
                yield aead.encrypt(segment_nonce(index, False), buf, aad)
                index += 1
                buf.clear()
            take = SEGMENT - len(buf)
            buf += view[:take]
            view = view[take:]
    yield aead.encrypt(segment_nonce(index, True), buf, aad)


def decrypt_range(
    dek: bytes,
    aad: bytes,
    plain_size: int,
    read: Callable[[int, int], bytes],
    start: int,
    end_inclusive: int,
) -> Iterator[bytes]:
    """Yield the plaintext bytes ``[start, end_inclusive]`` of a stored document.

    ``read(offset, length)`` returns stored bytes; only the segments covering the range are
    read, a few at a time. Every segment read is authenticated before any of its bytes is
    yielded; :class:`IntegrityError` is raised otherwise (including a stored blob too short).

    An empty range (``end_inclusive == start - 1``) yields nothing; for an empty document it
    still authenticates the single empty segment.
    """
    _check_key(dek, "Clé de document")
    if plain_size < 0 or start < 0 or end_inclusive >= plain_size or end_inclusive < start - 1:
        raise ValueError("Plage d'octets invalide.")
    count = segment_count(plain_size)
    if end_inclusive < start:
        if plain_size == 0:
            first = last = 0  # authenticate the empty final segment
        else:
            return
    else:
        first, last = start // SEGMENT, end_inclusive // SEGMENT
    aead = AESGCM(dek)
    index = first
    while index <= last:
        batch_end = min(last, index + READ_BATCH_SEGMENTS - 1)
        plain_lengths = [
            min(SEGMENT, plain_size - i * SEGMENT) for i in range(index, batch_end + 1)
        ]
        wanted = sum(plain_lengths) + TAG_SIZE * len(plain_lengths)
        data = read(index * STORED_SEGMENT, wanted)
        if len(data) != wanted:
            raise _integrity_error()
        view = memoryview(data)
        offset = 0
        for plain_length in plain_lengths:
            stored = view[offset : offset + plain_length + TAG_SIZE]
            offset += plain_length + TAG_SIZE
            try:
                plain = aead.decrypt(segment_nonce(index, index == count - 1), stored, aad)
            except InvalidTag:
                raise _integrity_error() from None
            segment_start = index * SEGMENT
            lo = max(start, segment_start) - segment_start
            hi = min(end_inclusive + 1, segment_start + plain_length) - segment_start
            if lo < hi:
                yield plain if (lo, hi) == (0, len(plain)) else plain[lo:hi]
            index += 1

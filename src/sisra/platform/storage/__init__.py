"""Encrypted storage of document contents.

:class:`EncryptedBlobs` combines a :class:`BlobStore` (raw bytes, atomic writes) with envelope
encryption (:mod:`sisra.platform.storage.crypto`): the database keeps the blob key, the wrapped
data key and the plaintext size (:class:`StoredBlob`); the store only ever sees ciphertext.
"""

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING

from sisra.platform.storage.blobstore import BlobStore, FilesystemBlobStore
from sisra.platform.storage.crypto import (
    IntegrityError,
    ciphertext_size,
    decrypt_range,
    encrypt_stream,
    new_data_key,
    unwrap_key,
    wrap_key,
)
from sisra.platform.storage.keys import load_master_key

if TYPE_CHECKING:
    from sisra.platform.settings import Settings

__all__ = [
    "BlobStore",
    "EncryptedBlobs",
    "FilesystemBlobStore",
    "IntegrityError",
    "StoredBlob",
    "blob_store_from_settings",
    "load_master_key",
]


def blob_store_from_settings(settings: "Settings") -> BlobStore:
    """The store ``blob_store`` names: the local directory, or the S3-compatible bucket."""
    if settings.blob_store == "s3":
        from sisra.platform.storage.s3 import S3BlobStore  # boto3 loads only when used

        return S3BlobStore.from_settings(settings)
    return FilesystemBlobStore(settings.effective_blob_dir)


def blobs_from_settings(settings: "Settings", master_key: bytes) -> "EncryptedBlobs":
    return EncryptedBlobs(blob_store_from_settings(settings), master_key)


@dataclass(frozen=True)
class StoredBlob:
    """What to keep (in the database) to read a blob back. ``size`` is the plaintext size."""

    key: str
    wrapped_key: bytes
    size: int


def new_blob_key() -> str:
    """A fresh random key, ``xx/yy/<28 hex>``, spreading files over 65536 directories."""
    h = uuid.uuid4().hex
    return f"{h[:2]}/{h[2:4]}/{h[4:]}"


class _Counter:
    """Passes chunks through while counting their bytes."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.total = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.total += memoryview(chunk).nbytes
            yield chunk


class EncryptedBlobs:
    """Streaming, encrypted-at-rest document storage on top of a :class:`BlobStore`."""

    def __init__(self, store: BlobStore, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("La clé maîtresse doit faire 32 octets.")
        self.store = store
        self._master_key = master_key

    def __repr__(self) -> str:  # never show the key
        return f"EncryptedBlobs(store={self.store!r})"

    def write(self, aad: bytes, chunks: Iterable[bytes]) -> StoredBlob:
        """Encrypt and store a stream; ``aad`` (the document id) binds the blob to it.

        If ``chunks`` raises, the exception propagates and nothing is stored.
        """
        key = new_blob_key()
        dek = new_data_key()
        counter = _Counter(chunks)
        written = self.store.put(key, encrypt_stream(dek, aad, counter))
        if written != ciphertext_size(counter.total):  # pragma: no cover - defensive
            self.store.delete(key)
            raise IntegrityError("Écriture du document incomplète.")
        return StoredBlob(
            key=key, wrapped_key=wrap_key(self._master_key, dek, aad), size=counter.total
        )

    def read(
        self,
        key: str,
        wrapped_key: bytes,
        aad: bytes,
        size: int,
        start: int = 0,
        end: int | None = None,
    ) -> Iterator[bytes]:
        """Stream the plaintext bytes ``[start, end]`` (``end`` inclusive, default: the last).

        The data key, the stored size and the first segment are checked before this returns, so
        a corrupted blob raises :class:`IntegrityError` (a missing one
        :class:`FileNotFoundError`, a bad range :class:`ValueError`) before any byte is sent;
        later segments are checked as the iterator advances.
        """
        if end is None:
            end = size - 1
        if size < 0 or start < 0 or end >= size or end < start - 1:
            raise ValueError("Plage d'octets invalide.")
        dek = unwrap_key(self._master_key, wrapped_key, aad)
        if self.store.size(key) != ciphertext_size(size):
            raise IntegrityError(
                "Le contenu chiffré du document est tronqué ou ne correspond pas à sa taille."
            )

        def read_stored(offset: int, length: int) -> bytes:
            return self.store.open_range(key, offset, length)

        parts = decrypt_range(dek, aad, size, read_stored, start, end)
        first = next(parts, None)
        return parts if first is None else chain((first,), parts)

    def verify(
        self,
        key: str,
        wrapped_key: bytes,
        aad: bytes,
        size: int,
        start: int = 0,
        end: int | None = None,
    ) -> None:
        """Authenticate every segment covering ``[start, end]`` without keeping any plaintext.

        Raises as :meth:`read` does (:class:`IntegrityError`, :class:`FileNotFoundError`).
        Memory stays bounded by one read batch; AES-GCM decrypts at several hundred MB/s, so a
        25 MB document is checked in a few tens of milliseconds.
        """
        for _ in self.read(key, wrapped_key, aad, size, start, end):
            pass

    def delete(self, key: str) -> None:
        """Remove a blob; does nothing if it is already gone."""
        self.store.delete(key)

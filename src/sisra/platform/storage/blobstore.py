"""Where the (already encrypted) bytes of documents live.

A :class:`BlobStore` only knows opaque keys and raw bytes: encryption is layered on top by
:class:`sisra.platform.storage.EncryptedBlobs`. The store never sees plaintext.
"""

import contextlib
import os
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600

# Path components: no empty part, no leading dot (so no ".", "..", hidden or temporary file).
_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)*")
_MAX_KEY_LENGTH = 200


def check_key(key: str) -> str:
    """``key`` when it is a valid blob key (see :class:`BlobStore`); :class:`ValueError` if not."""
    if not isinstance(key, str) or not key:
        raise ValueError("Clé de stockage vide ou invalide.")
    if key.startswith(("/", "\\")) or os.path.isabs(key) or ".." in key.split("/"):
        raise ValueError(f"Clé de stockage refusée (chemin absolu ou '..') : {key!r}")
    if len(key) > _MAX_KEY_LENGTH or not _KEY_RE.fullmatch(key):
        raise ValueError(f"Clé de stockage invalide : {key!r}")
    return key


@dataclass(frozen=True)
class BlobInfo:
    """A stored blob as listed by :meth:`BlobStore.iter_blobs`."""

    key: str
    modified: datetime  # UTC; when the blob was written


class BlobStore(ABC):
    """Abstract storage of immutable byte blobs addressed by a string key.

    Keys are relative, ``/``-separated paths such as ``ab/cd/0123abcd...``. Writes are atomic:
    a reader sees either nothing or the complete blob, never a partial one, and a failed write
    leaves nothing behind under its key.
    """

    @abstractmethod
    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store the stream ``chunks`` under ``key`` (replacing any previous blob).

        Returns the number of bytes written. If iterating ``chunks`` or writing raises, the
        exception propagates and no blob is created under ``key``.
        """

    @abstractmethod
    def open_range(self, key: str, start: int, length: int) -> bytes:
        """Return the stored bytes ``[start, start + length)``.

        Fewer bytes are returned when the blob ends before ``start + length``. Raises
        :class:`FileNotFoundError` when the blob does not exist.
        """

    @abstractmethod
    def size(self, key: str) -> int:
        """Size in bytes of the stored blob; :class:`FileNotFoundError` when missing."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether a blob is stored under ``key``."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the blob; does nothing when it does not exist."""

    def iter_blobs(self) -> Iterator[BlobInfo]:
        """Every stored blob (never a write in progress), in no particular order.

        Used to sweep the blobs a killed request left without a document. A store that
        cannot list raises :class:`NotImplementedError` (the sweep then says so).
        """
        raise NotImplementedError(f"{type(self).__name__} ne sait pas lister ses blobs.")

    def remove_stale_temporaries(self, older_than: datetime) -> int:
        """Remove the leftovers of writes interrupted before ``older_than``; how many.

        A process killed in the middle of :meth:`put` cannot clean up after itself.
        """
        return 0


class FilesystemBlobStore(BlobStore):
    """One file per blob under ``root``; directories are ``0700`` and files ``0600``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def _make_dirs(self, directory: Path) -> None:
        """Create ``directory`` and its missing parents (up to and including the root) 0700."""
        missing: list[Path] = []
        current = directory
        while not current.is_dir():
            missing.append(current)
            if current.parent == current:
                break
            current = current.parent
        for path in reversed(missing):
            try:
                os.mkdir(path, DIR_MODE)
            except FileExistsError:
                continue  # created concurrently by another writer
            os.chmod(path, DIR_MODE)  # the umask may have removed bits we need
            # the new entry in its parent must be durable too, or a crash could lose the
            # directory of a blob already acknowledged (only when a directory is created)
            _fsync_dir(path.parent)

    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        target = self._path(key)
        self._make_dirs(target.parent)
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), FILE_MODE
        )
        written = 0
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in chunks:
                    f.write(chunk)
                    written += memoryview(chunk).nbytes
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(target.parent)
        return written

    def open_range(self, key: str, start: int, length: int) -> bytes:
        if start < 0 or length < 0:
            raise ValueError("Plage de lecture invalide.")
        path = self._path(key)
        parts: list[bytes] = []
        remaining = length
        with open(path, "rb") as f:
            f.seek(start)
            while remaining > 0:
                data = f.read(remaining)
                if not data:
                    break
                parts.append(data)
                remaining -= len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(key))

    def _walk(self) -> Iterator[tuple[str, os.stat_result, str]]:
        """(name, stat, relative key) of every file under the root."""
        if not self.root.is_dir():
            return
        for directory, _dirs, files in os.walk(self.root):
            rel = os.path.relpath(directory, self.root)
            for name in files:
                path = os.path.join(directory, name)
                try:
                    st = os.stat(path, follow_symlinks=False)
                except FileNotFoundError:
                    continue  # removed meanwhile
                key = name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}"
                yield name, st, key

    def iter_blobs(self) -> Iterator[BlobInfo]:
        for name, st, key in self._walk():
            # temporary files start with a dot, so they never match a key
            if not name.startswith(".") and _KEY_RE.fullmatch(key):
                yield BlobInfo(key, datetime.fromtimestamp(st.st_mtime, UTC))

    def remove_stale_temporaries(self, older_than: datetime) -> int:
        removed = 0
        limit = older_than.timestamp()
        for name, st, key in self._walk():
            if name.startswith(".") and name.endswith(".tmp") and st.st_mtime < limit:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.root.joinpath(*key.split("/")))
                    removed += 1
        return removed


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable (best effort: not every platform can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

"""Blobs in an S3-compatible object store (several platform nodes share one bucket).

The store only ever sees ciphertext (encryption stays in :class:`EncryptedBlobs`). Writes are
streamed: a blob smaller than one part is sent with a single ``PUT``; a larger one as a
multipart upload, one part in memory at a time. Either way the object appears under its key only
once complete (S3 semantics), and a failed multipart upload is aborted, so a failed write leaves
nothing readable behind; uploads abandoned by a killed process are aborted by the sweep
(:meth:`S3BlobStore.remove_stale_temporaries`). Range reads are ranged ``GET`` requests.
"""

import contextlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from sisra.platform.storage.blobstore import BlobInfo, BlobStore, check_key

if TYPE_CHECKING:
    from sisra.platform.settings import Settings

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's minimum for every part but the last
_MISSING = {"404", "NoSuchKey", "NotFound"}


class StoreUnavailable(OSError):
    """The object store cannot be reached or refuses us (an :class:`OSError`, as a full or
    unmounted disk would be: callers already turn it into a clear error, never a 500)."""


@contextlib.contextmanager
def _unavailable(action: str) -> Iterator[None]:
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise StoreUnavailable(f"Stockage S3 indisponible ({action}) : {exc}") from exc


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3BlobStore(BlobStore):
    """One object per blob, under ``prefix`` in ``bucket``."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str = "",
        part_size: int = 8 * 1024 * 1024,
    ) -> None:
        if not bucket:
            raise ValueError("Le nom du compartiment S3 (bucket) est obligatoire.")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.part_size = max(part_size, MIN_PART_SIZE)

    @classmethod
    def from_settings(cls, settings: "Settings") -> "S3BlobStore":
        key_id = settings.s3_access_key_id
        secret = settings.s3_secret_access_key
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.s3_endpoint_url or None,
            region_name=settings.s3_region,
            aws_access_key_id=key_id.get_secret_value() if key_id else None,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": settings.s3_addressing_style},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=10,
                read_timeout=60,
                # checksums only when the operation requires them (many S3-compatible
                # servers do not know the newer default ones)
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        return cls(client, settings.s3_bucket, settings.s3_prefix, settings.s3_part_size_mb << 20)

    def __repr__(self) -> str:
        return f"S3BlobStore(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        with _unavailable("put"):
            return self._put(key, chunks)

    def _put(self, key: str, chunks: Iterable[bytes]) -> int:
        name = self._name(key)
        buffer = bytearray()
        written = 0
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            for chunk in chunks:
                buffer += chunk
                written += memoryview(chunk).nbytes
                while len(buffer) >= self.part_size:
                    if upload_id is None:
                        upload_id = self.client.create_multipart_upload(
                            Bucket=self.bucket, Key=name
                        )["UploadId"]
                    with memoryview(buffer) as view:
                        body = bytes(view[: self.part_size])  # one copy, not two
                    del buffer[: self.part_size]
                    parts.append(self._upload_part(name, upload_id, len(parts) + 1, body))
            if upload_id is None:
                self.client.put_object(Bucket=self.bucket, Key=name, Body=bytes(buffer))
                return written
            if buffer or not parts:
                parts.append(self._upload_part(name, upload_id, len(parts) + 1, bytes(buffer)))
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=name,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            if upload_id is not None:
                with contextlib.suppress(Exception):  # else the sweep aborts it later
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=name, UploadId=upload_id
                    )
            raise
        return written

    def _upload_part(self, name: str, upload_id: str, number: int, body: bytes) -> dict[str, Any]:
        done = self.client.upload_part(
            Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=body
        )
        return {"PartNumber": number, "ETag": done["ETag"]}

    def open_range(self, key: str, start: int, length: int) -> bytes:
        with _unavailable("open_range"):
            return self._open_range(key, start, length)

    def _open_range(self, key: str, start: int, length: int) -> bytes:
        if start < 0 or length < 0:
            raise ValueError("Plage de lecture invalide.")
        name = self._name(key)
        if length == 0:
            self._size(key)  # FileNotFoundError when missing
            return b""
        try:
            answer = self.client.get_object(
                Bucket=self.bucket, Key=name, Range=f"bytes={start}-{start + length - 1}"
            )
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise FileNotFoundError(key) from exc
            if _code(exc) in {"InvalidRange", "416"}:  # starts after the end
                return b""
            raise
        with answer["Body"] as body:
            data: bytes = body.read()
        return data[:length]

    def size(self, key: str) -> int:
        with _unavailable("size"):
            return self._size(key)

    def _size(self, key: str) -> int:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise FileNotFoundError(key) from exc
            raise
        return int(head["ContentLength"])

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except FileNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        with _unavailable("delete"):
            self._delete(key)

    def _delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as exc:
            if _code(exc) not in _MISSING:
                raise

    def iter_blobs(self) -> Iterator[BlobInfo]:
        with _unavailable("list"):
            yield from self._iter_blobs()

    def _iter_blobs(self) -> Iterator[BlobInfo]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for obj in page.get("Contents", ()):
                key = str(obj["Key"])[len(self.prefix) :]
                try:
                    check_key(key)
                except ValueError:
                    continue  # not ours (or a folder marker)
                yield BlobInfo(key, obj["LastModified"])

    def remove_stale_temporaries(self, older_than: datetime) -> int:
        """Abort the multipart uploads a killed process left, started before ``older_than``."""
        removed = 0
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for upload in page.get("Uploads", ()):
                if upload["Initiated"] < older_than:
                    try:
                        self.client.abort_multipart_upload(
                            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                    except ClientError as exc:
                        if _code(exc) not in {"NoSuchUpload", *_MISSING}:
                            raise
                        continue
                    removed += 1
        return removed

"""Encrypted blob storage: real files under ``tmp_path`` and a real S3-compatible server
(SeaweedFS on loopback); the store contract tests run on both, no mocks."""

import base64
import hashlib
import os
import random
import stat
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sisra.platform.storage import (
    BlobStore,
    EncryptedBlobs,
    FilesystemBlobStore,
    IntegrityError,
    StoredBlob,
    load_master_key,
)
from sisra.platform.storage.crypto import (
    SEGMENT,
    STORED_SEGMENT,
    TAG_SIZE,
    ciphertext_size,
    decrypt_range,
    encrypt_stream,
    new_data_key,
    unwrap_key,
    wrap_key,
)
from sisra.platform.storage.s3 import MIN_PART_SIZE, S3BlobStore

MB = 1024 * 1024
AAD = b"\x12" * 16
MARKER = b"SISRA-PLAINTEXT-MARKER-0123456789"
SIZES = [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 17]


def payload(size: int, seed: int = 1) -> bytes:
    data = bytearray(random.Random(seed).randbytes(size))
    if size >= len(MARKER):
        data[: len(MARKER)] = MARKER
    return bytes(data)


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def big_stream(total: int, chunk: int = 100_003, seed: int = 7) -> Iterator[bytes]:
    rng = random.Random(seed)
    sent = 0
    while sent < total:
        n = min(chunk, total - sent)
        yield rng.randbytes(n)
        sent += n


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def fs_root(tmp_path: Path) -> Path:
    return tmp_path / "blobs"


@pytest.fixture(params=["fs", "s3"])
def store(request: pytest.FixtureRequest, fs_root: Path) -> BlobStore:
    """Every store kind; each S3 test gets its own prefix in the shared bucket."""
    if request.param == "fs":
        return FilesystemBlobStore(fs_root)
    server: Any = request.getfixturevalue("s3_server")
    return S3BlobStore(server.client(), server.bucket, uuid.uuid4().hex, MIN_PART_SIZE)


@pytest.fixture
def root(store: BlobStore, fs_root: Path) -> Path:
    """The directory of the filesystem store (tests of its on-disk layout are fs-only)."""
    if not isinstance(store, FilesystemBlobStore):
        pytest.skip("on-disk layout of the filesystem store")
    return fs_root


@pytest.fixture
def blobs(store: BlobStore) -> EncryptedBlobs:
    return EncryptedBlobs(store, os.urandom(32))


def read_all(blobs: EncryptedBlobs, stored: StoredBlob, aad: bytes = AAD, **kw: int) -> bytes:
    return b"".join(blobs.read(stored.key, stored.wrapped_key, aad, stored.size, **kw))


# --- round trips and ranges -------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("chunk", [1000, SEGMENT, 3 * SEGMENT + 5])
def test_roundtrip(blobs: EncryptedBlobs, store: BlobStore, size: int, chunk: int) -> None:
    data = payload(size)
    stored = blobs.write(AAD, chunked(data, chunk))
    assert stored.size == size
    assert store.size(stored.key) == ciphertext_size(size)
    assert read_all(blobs, stored) == data


@pytest.mark.parametrize("size", [s for s in SIZES if s > 0])
def test_ranges_match_plaintext_slices(blobs: EncryptedBlobs, size: int) -> None:
    data = payload(size)
    stored = blobs.write(AAD, [data])
    last = size - 1
    ranges = {(0, 0), (last, last), (0, last), (last // 2, last)}
    if size > SEGMENT:
        ranges |= {
            (SEGMENT - 1, SEGMENT),
            (SEGMENT - 10, SEGMENT + 9),
            (SEGMENT, SEGMENT),
            (1, last - 1),
        }
    if size > 2 * SEGMENT:
        ranges |= {(SEGMENT - 3, 2 * SEGMENT + 3), (2 * SEGMENT, last)}
    for start, end in sorted(r for r in ranges if r[1] <= last):
        got = read_all(blobs, stored, start=start, end=end)
        assert got == data[start : end + 1], (start, end)
    assert read_all(blobs, stored, start=last // 2) == data[last // 2 :]


def test_empty_document(blobs: EncryptedBlobs, store: BlobStore) -> None:
    stored = blobs.write(AAD, [])
    assert stored.size == 0
    assert store.size(stored.key) == TAG_SIZE  # exactly one empty final segment
    assert read_all(blobs, stored) == b""
    with pytest.raises(ValueError):
        read_all(blobs, stored, start=0, end=0)


def test_invalid_ranges(blobs: EncryptedBlobs) -> None:
    stored = blobs.write(AAD, [b"hello"])
    for start, end in [(-1, 2), (0, 5), (4, 2)]:
        with pytest.raises(ValueError):
            read_all(blobs, stored, start=start, end=end)


def test_twenty_mb_stream_roundtrip_and_ranges(blobs: EncryptedBlobs) -> None:
    total = 20 * MB
    expected = hashlib.sha256()
    for chunk in big_stream(total):
        expected.update(chunk)
    stored = blobs.write(AAD, big_stream(total))
    assert stored.size == total
    got = hashlib.sha256()
    for part in blobs.read(stored.key, stored.wrapped_key, AAD, stored.size):
        got.update(part)
    assert got.digest() == expected.digest()

    data = b"".join(big_stream(total))
    for start, end in [
        (0, 0),
        (total - 1, total - 1),
        (5 * SEGMENT - 7, 5 * SEGMENT + 7),
        (3 * MB + 11, 7 * MB + 13),
    ]:
        assert read_all(blobs, stored, start=start, end=end) == data[start : end + 1]


def test_range_reads_only_needed_segments() -> None:
    dek = new_data_key()
    data = payload(5 * SEGMENT + 100)
    stored = b"".join(encrypt_stream(dek, AAD, [data]))
    assert len(stored) == ciphertext_size(len(data))
    reads: list[tuple[int, int]] = []

    def read(offset: int, length: int) -> bytes:
        reads.append((offset, length))
        return stored[offset : offset + length]

    start, end = 2 * SEGMENT + 5, 3 * SEGMENT + 1
    got = b"".join(decrypt_range(dek, AAD, len(data), read, start, end))
    assert got == data[start : end + 1]
    assert reads == [(2 * STORED_SEGMENT, 2 * STORED_SEGMENT)]


def test_encrypt_stream_rechunks_into_segments() -> None:
    dek = new_data_key()
    data = payload(2 * SEGMENT + 3)
    out = list(encrypt_stream(dek, AAD, chunked(data, 7777)))
    assert [len(s) for s in out] == [STORED_SEGMENT, STORED_SEGMENT, 3 + TAG_SIZE]
    assert ciphertext_size(0) == TAG_SIZE
    assert ciphertext_size(SEGMENT) == STORED_SEGMENT
    assert ciphertext_size(SEGMENT + 1) == STORED_SEGMENT + 1 + TAG_SIZE


# --- encryption at rest and integrity ----------------------------------------------------------


def test_stored_bytes_are_encrypted(blobs: EncryptedBlobs, root: Path) -> None:
    data = (MARKER + b" lorem ipsum ") * 20_000
    stored = blobs.write(AAD, chunked(data, 4096))
    raw = (root / stored.key).read_bytes()
    assert MARKER not in raw
    assert b"lorem ipsum" not in raw
    assert read_all(blobs, stored) == data


def test_same_content_encrypts_differently(blobs: EncryptedBlobs, root: Path) -> None:
    a = blobs.write(AAD, [MARKER])
    b = blobs.write(AAD, [MARKER])
    assert a.key != b.key
    assert (root / a.key).read_bytes() != (root / b.key).read_bytes()


@pytest.mark.parametrize("position", [0, SEGMENT + 5, "last"])
def test_flipped_byte_is_detected(blobs: EncryptedBlobs, root: Path, position: int | str) -> None:
    data = payload(3 * SEGMENT + 17)
    stored = blobs.write(AAD, [data])
    path = root / stored.key
    raw = bytearray(path.read_bytes())
    index = len(raw) - 1 if position == "last" else int(position)
    raw[index] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError):
        read_all(blobs, stored)


@pytest.mark.parametrize("cut", [1, TAG_SIZE + 17, STORED_SEGMENT + 1])
def test_truncation_is_detected(blobs: EncryptedBlobs, root: Path, cut: int) -> None:
    stored = blobs.write(AAD, [payload(3 * SEGMENT + 17)])
    path = root / stored.key
    raw = path.read_bytes()
    path.write_bytes(raw[:-cut])
    with pytest.raises(IntegrityError):
        read_all(blobs, stored)


def test_truncation_at_segment_boundary_detected_by_crypto_layer() -> None:
    # Even without the size check of EncryptedBlobs, a blob cut after a whole segment fails:
    # that segment was not encrypted as the final one.
    dek = new_data_key()
    data = payload(2 * SEGMENT)
    stored = b"".join(encrypt_stream(dek, AAD, [data]))
    cut = stored[:STORED_SEGMENT]
    with pytest.raises(IntegrityError):
        b"".join(decrypt_range(dek, AAD, SEGMENT, lambda o, n: cut[o : o + n], 0, SEGMENT - 1))
    with pytest.raises(IntegrityError):  # missing bytes for the announced size
        b"".join(decrypt_range(dek, AAD, len(data), lambda o, n: cut[o : o + n], 0, len(data) - 1))


def test_reordered_segments_are_detected() -> None:
    dek = new_data_key()
    data = payload(3 * SEGMENT)
    segs = list(encrypt_stream(dek, AAD, [data]))
    swapped = segs[1] + segs[0] + segs[2]
    with pytest.raises(IntegrityError):
        b"".join(
            decrypt_range(dek, AAD, len(data), lambda o, n: swapped[o : o + n], 0, len(data) - 1)
        )


def test_other_master_key_is_detected(store: BlobStore) -> None:
    stored = EncryptedBlobs(store, os.urandom(32)).write(AAD, [payload(1000)])
    other = EncryptedBlobs(store, os.urandom(32))
    with pytest.raises(IntegrityError):
        read_all(other, stored)


def test_wrong_aad_is_detected(blobs: EncryptedBlobs) -> None:
    stored = blobs.write(AAD, [payload(1000)])
    with pytest.raises(IntegrityError):
        read_all(blobs, stored, aad=b"another document")


def test_wrong_aad_on_content_is_detected() -> None:
    dek = new_data_key()
    stored = b"".join(encrypt_stream(dek, AAD, [b"x" * 100]))
    with pytest.raises(IntegrityError):
        b"".join(decrypt_range(dek, b"other", 100, lambda o, n: stored[o : o + n], 0, 99))


def test_empty_document_is_authenticated(store: BlobStore) -> None:
    stored = EncryptedBlobs(store, os.urandom(32)).write(AAD, [])
    dek = new_data_key()
    raw = b"".join(encrypt_stream(dek, AAD, []))
    with pytest.raises(IntegrityError):
        b"".join(decrypt_range(dek, b"other", 0, lambda o, n: raw[o : o + n], 0, -1))
    with pytest.raises(IntegrityError):
        read_all(EncryptedBlobs(store, os.urandom(32)), stored)


def test_wrap_unwrap() -> None:
    master, dek = os.urandom(32), new_data_key()
    wrapped = wrap_key(master, dek, AAD)
    assert len(wrapped) == 12 + 32 + 16
    assert dek not in wrapped
    assert unwrap_key(master, wrapped, AAD) == dek
    assert wrap_key(master, dek, AAD) != wrapped  # random nonce
    with pytest.raises(IntegrityError):
        unwrap_key(os.urandom(32), wrapped, AAD)
    with pytest.raises(IntegrityError):
        unwrap_key(master, wrapped, b"other")
    with pytest.raises(IntegrityError):
        unwrap_key(master, wrapped[:-1], AAD)


# --- filesystem store ---------------------------------------------------------------------------


def stored_keys(store: BlobStore) -> list[str]:
    return sorted(info.key for info in store.iter_blobs())


def test_failing_input_leaves_nothing(blobs: EncryptedBlobs, store: BlobStore) -> None:
    def failing() -> Iterator[bytes]:
        yield b"a" * (3 * SEGMENT)
        yield b"b" * 1000
        raise RuntimeError("upload interrupted")

    with pytest.raises(RuntimeError, match="upload interrupted"):
        blobs.write(AAD, failing())
    assert stored_keys(store) == []
    if isinstance(store, FilesystemBlobStore):
        assert files_under(store.root) == []


@pytest.mark.parametrize("size", [10, 2 * MIN_PART_SIZE + 3])  # one PUT; a multipart upload
def test_store_put_failure_keeps_previous_and_leaves_nothing(store: BlobStore, size: int) -> None:
    assert store.put("ab/cd/ef01", [b"old"]) == 3

    def failing() -> Iterator[bytes]:
        yield b"n" * size
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        store.put("ab/cd/ef01", failing())
    with pytest.raises(OSError, match="disk full"):
        store.put("ab/cd/other", failing())
    assert stored_keys(store) == ["ab/cd/ef01"]
    assert store.open_range("ab/cd/ef01", 0, 10) == b"old"
    assert not store.exists("ab/cd/other")
    if isinstance(store, FilesystemBlobStore):
        assert files_under(store.root) == [store.root / "ab" / "cd" / "ef01"]
    else:
        assert isinstance(store, S3BlobStore)
        uploads = store.client.list_multipart_uploads(Bucket=store.bucket, Prefix=store.prefix)
        assert uploads.get("Uploads", []) == []  # the failed multipart upload was aborted


def test_store_lists_blobs_with_their_write_time(store: BlobStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    store.put("aa/bb/one", [b"1"])
    store.put("aa/cc/two", [b"22"])
    listed = {info.key: info.modified for info in store.iter_blobs()}
    assert sorted(listed) == ["aa/bb/one", "aa/cc/two"]
    for modified in listed.values():
        assert before <= modified <= datetime.now(UTC) + timedelta(seconds=5)


def test_s3_large_blob_is_sent_in_parts_and_read_by_ranges(s3_server: Any) -> None:
    store = S3BlobStore(s3_server.client(), s3_server.bucket, uuid.uuid4().hex, MIN_PART_SIZE)
    data = payload(2 * MIN_PART_SIZE + 12345, seed=3)
    assert store.put("ab/cd/big", chunked(data, 100_003)) == len(data)
    head = store.client.head_object(Bucket=store.bucket, Key=store.prefix + "ab/cd/big")
    assert head["ETag"].strip('"').endswith("-3")  # three parts: a multipart upload
    assert store.size("ab/cd/big") == len(data)
    for start in (0, MIN_PART_SIZE - 7, 2 * MIN_PART_SIZE):
        assert store.open_range("ab/cd/big", start, 20_000) == data[start : start + 20_000]
    # the objects sit under the prefix only
    other = S3BlobStore(s3_server.client(), s3_server.bucket, uuid.uuid4().hex)
    assert list(other.iter_blobs()) == []


def test_s3_sweep_aborts_abandoned_multipart_uploads(s3_server: Any) -> None:
    store = S3BlobStore(s3_server.client(), s3_server.bucket, uuid.uuid4().hex)
    name = store.prefix + "ab/cd/killed"
    upload = store.client.create_multipart_upload(Bucket=store.bucket, Key=name)
    store.client.upload_part(
        Bucket=store.bucket, Key=name, UploadId=upload["UploadId"], PartNumber=1, Body=b"x"
    )
    assert store.remove_stale_temporaries(datetime.now(UTC) - timedelta(hours=1)) == 0
    assert store.remove_stale_temporaries(datetime.now(UTC) + timedelta(minutes=1)) == 1
    uploads = store.client.list_multipart_uploads(Bucket=store.bucket, Prefix=store.prefix)
    assert uploads.get("Uploads", []) == []
    assert not store.exists("ab/cd/killed")


def test_s3_store_from_settings(s3_server: Any, tmp_path: Path) -> None:
    from sisra.platform.settings import Settings
    from sisra.platform.storage import blob_store_from_settings

    env = s3_server.env(prefix="from-settings")
    settings = Settings(
        data_dir=tmp_path,
        blob_store="s3",
        s3_endpoint_url=env["SISRA_S3_ENDPOINT_URL"],
        s3_bucket=env["SISRA_S3_BUCKET"],
        s3_prefix=env["SISRA_S3_PREFIX"],
        s3_access_key_id=env["SISRA_S3_ACCESS_KEY_ID"],
        s3_secret_access_key=env["SISRA_S3_SECRET_ACCESS_KEY"],
        _env_file=None,  # type: ignore[call-arg]
    )
    store = blob_store_from_settings(settings)
    assert isinstance(store, S3BlobStore)
    store.put("ab/cd/x", [b"via settings"])
    assert store.open_range("ab/cd/x", 4, 8) == b"settings"
    assert "secret" not in repr(store).lower() and env["SISRA_S3_SECRET_ACCESS_KEY"] not in repr(
        store
    )
    wrong = Settings(
        **{**settings.model_dump(), "s3_secret_access_key": "not-the-secret"},
        _env_file=None,  # type: ignore[call-arg]
    )
    with pytest.raises(Exception, match=r"SignatureDoesNotMatch|AccessDenied|InvalidAccessKeyId"):
        blob_store_from_settings(wrong).put("ab/cd/y", [b"refused"])


def test_s3_secrets_from_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sisra.platform.settings import Settings

    (tmp_path / "id").write_text("AKID\n", encoding="utf-8")
    (tmp_path / "secret").write_text("s3cr3t\n", encoding="utf-8")
    monkeypatch.setenv("SISRA_S3_ACCESS_KEY_ID_FILE", str(tmp_path / "id"))
    monkeypatch.setenv("SISRA_S3_SECRET_ACCESS_KEY_FILE", str(tmp_path / "secret"))
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.s3_access_key_id is not None
    assert settings.s3_access_key_id.get_secret_value() == "AKID"
    assert settings.s3_secret_access_key is not None
    assert settings.s3_secret_access_key.get_secret_value() == "s3cr3t"
    assert "s3cr3t" not in repr(settings)


def test_store_basic_operations(store: BlobStore) -> None:
    assert isinstance(store, BlobStore)
    assert not store.exists("aa/bb/cc")
    assert store.put("aa/bb/cc", [b"hello ", b"world", b"!"]) == 12
    assert store.exists("aa/bb/cc")
    assert store.size("aa/bb/cc") == 12
    assert store.open_range("aa/bb/cc", 6, 5) == b"world"
    assert store.open_range("aa/bb/cc", 10, 100) == b"d!"
    assert store.open_range("aa/bb/cc", 50, 10) == b""
    store.delete("aa/bb/cc")
    assert not store.exists("aa/bb/cc")
    store.delete("aa/bb/cc")  # no error when missing
    with pytest.raises(FileNotFoundError):
        store.size("aa/bb/cc")
    with pytest.raises(FileNotFoundError):
        store.open_range("aa/bb/cc", 0, 1)


@pytest.mark.parametrize(
    "key",
    ["", "../x", "a/../../b", "/etc/passwd", "a/./b", "a//b", "a/.hidden", "a\\b", "a/", "x" * 300],
)
def test_store_rejects_bad_keys(store: BlobStore, key: str) -> None:
    with pytest.raises(ValueError):
        store.put(key, [b"x"])
    with pytest.raises(ValueError):
        store.open_range(key, 0, 1)
    with pytest.raises(ValueError):
        store.delete(key)


def test_permissions(blobs: EncryptedBlobs, root: Path) -> None:
    stored = blobs.write(AAD, [payload(1000)])
    parts = stored.key.split("/")
    assert len(parts) == 3 and len(parts[0]) == 2 and len(parts[1]) == 2
    assert stat.S_IMODE((root / stored.key).stat().st_mode) == 0o600
    for directory in [root, root / parts[0], root / parts[0] / parts[1]]:
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


def test_delete(blobs: EncryptedBlobs, store: BlobStore) -> None:
    stored = blobs.write(AAD, [b"x"])
    blobs.delete(stored.key)
    assert not store.exists(stored.key)
    blobs.delete(stored.key)
    with pytest.raises(FileNotFoundError):
        read_all(blobs, stored)


# --- master key ----------------------------------------------------------------------------------


def test_key_file_created_0600_and_reused(tmp_path: Path) -> None:
    key_file = tmp_path / "data" / "master.key"
    key = load_master_key(None, key_file)
    assert len(key) == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert load_master_key(None, key_file) == key
    assert [p.name for p in key_file.parent.iterdir()] == ["master.key"]  # no temp file left
    assert base64.urlsafe_b64decode(key_file.read_text().strip()) == key


def test_key_file_existing_is_read(tmp_path: Path) -> None:
    key = os.urandom(32)
    key_file = tmp_path / "master.key"
    key_file.write_text(base64.b64encode(key).decode() + "\n")
    assert load_master_key(None, key_file) == key


def test_invalid_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    key_file.write_text("not a key")
    with pytest.raises(ValueError):
        load_master_key(None, key_file)


def test_master_key_from_setting(tmp_path: Path) -> None:
    key = os.urandom(32) + b""
    key_file = tmp_path / "master.key"
    for text in [
        base64.b64encode(key).decode(),
        base64.urlsafe_b64encode(key).decode(),
        base64.urlsafe_b64encode(key).decode().rstrip("="),
    ]:
        assert load_master_key(text, key_file) == key
    assert not key_file.exists()  # an explicit key never creates the file


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "!!!!",
        base64.b64encode(b"\x01" * 16).decode(),
        base64.b64encode(b"\x01" * 33).decode(),
        "é" * 44,
    ],
)
def test_invalid_master_key_setting(tmp_path: Path, text: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        load_master_key(text, tmp_path / "master.key")
    assert "SISRA_MASTER_KEY" in str(excinfo.value)
    if text:
        assert text not in str(excinfo.value)  # the (wrong) secret is not echoed


def test_encrypted_blobs_rejects_short_master_key(store: BlobStore) -> None:
    with pytest.raises(ValueError):
        EncryptedBlobs(store, b"short")


def test_repr_hides_master_key(store: BlobStore) -> None:
    master = os.urandom(32)
    assert master.hex() not in repr(EncryptedBlobs(store, master))


# --- streaming: bounded memory -------------------------------------------------------------------


def test_twenty_mb_write_and_read_use_bounded_memory(blobs: EncryptedBlobs) -> None:
    total = 20 * MB
    tracemalloc.start()
    try:
        stored = blobs.write(AAD, big_stream(total, chunk=256 * 1024))
        write_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        digest = hashlib.sha256()
        count = 0
        for part in blobs.read(stored.key, stored.wrapped_key, AAD, stored.size):
            digest.update(part)
            count += len(part)
        read_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == total
    expected = hashlib.sha256()
    for chunk in big_stream(total, chunk=256 * 1024):
        expected.update(chunk)
    assert digest.digest() == expected.digest()
    # an S3 upload holds one part (at least 5 MB, S3's minimum) being filled and one being
    # sent (with the HTTP client's own copy): bounded by parts, below the 20 MB written
    limit = 8 * MB if isinstance(blobs.store, FilesystemBlobStore) else 7 * MIN_PART_SIZE // 2
    assert write_peak < limit, write_peak
    assert read_peak < 8 * MB, read_peak

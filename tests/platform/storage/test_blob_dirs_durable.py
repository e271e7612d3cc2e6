"""A blob acknowledged is durable with the directories it lives in: a directory the store
creates is made durable in its parent (fsync of the parent), as the blob's rename is in its
own directory."""

from pathlib import Path

import pytest

from sisra.platform.storage import blobstore
from sisra.platform.storage.blobstore import FilesystemBlobStore


def test_new_directories_are_synced_in_their_parents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[Path] = []
    real = blobstore._fsync_dir

    def spy(directory: Path) -> None:
        synced.append(Path(directory))
        real(directory)

    monkeypatch.setattr(blobstore, "_fsync_dir", spy)
    root = tmp_path / "blobs"
    store = FilesystemBlobStore(root)
    store.put("ab/cd/one", [b"x"])
    created = [root, root / "ab", root / "ab" / "cd"]
    for directory in created:
        assert directory.parent in synced, (directory, synced)
    assert synced[-1] == root / "ab" / "cd"  # then the blob's rename, as before

    synced.clear()
    store.put("ab/cd/two", [b"y"])  # nothing created: only the rename's directory
    assert synced == [root / "ab" / "cd"]

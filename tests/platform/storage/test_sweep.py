"""Blobs left by a killed request are swept; blobs with their document, and young ones, stay."""

import os
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from sisra.platform.documents.sweep import sweep
from sisra.platform.models import Document, ShareIdempotencyKey, utcnow
from sisra.platform.storage import EncryptedBlobs, FilesystemBlobStore
from support.documents import share_request as share

HOUR = 3600


@pytest.fixture
def settings(settings: Any) -> Any:
    """No background sweep in these tests: each pass is the test's own, so what it removed
    is known (the start-up pass is tested on its own, below)."""
    settings.blob_sweep_interval_minutes = 0
    return settings


def _age(path: Path, seconds: float) -> None:
    """Make ``path`` look written ``seconds`` ago (what a real wait would do)."""
    when = time.time() - seconds
    os.utime(path, (when, when))


def _path(settings: Any, key: str) -> Path:
    return Path(settings.effective_blob_dir).joinpath(*key.split("/"))


def _killed_mid_request(blobs: EncryptedBlobs, data: bytes) -> str:
    """What a worker killed between writing the blob and committing its row leaves."""
    return blobs.write(uuid.uuid4().bytes, [data]).key


def test_the_sweep_removes_orphans_only(app_client, make_pro, make_patient, pdf, settings, db):
    app = app_client.app
    blobs: EncryptedBlobs = app.state.blobs  # type: ignore[attr-defined]
    author, rec = make_pro(), make_pro()
    r = share(app_client, author, make_patient(), [rec], pdf("Gardé"))
    assert r.status_code == 201
    with db() as s:
        kept_key = s.scalar(select(Document.blob_key))
    old_orphan = _killed_mid_request(blobs, pdf("Orphelin"))
    young_orphan = _killed_mid_request(blobs, pdf("En cours"))
    _age(_path(settings, kept_key), 3 * HOUR)
    _age(_path(settings, old_orphan), 3 * HOUR)
    # a write interrupted by the kill, before its rename, and one in progress right now
    stale_tmp = _path(settings, old_orphan).parent / ".abc.0123456789abcdef.tmp"
    stale_tmp.write_bytes(b"partial")
    _age(stale_tmp, 3 * HOUR)
    fresh_tmp = _path(settings, young_orphan).parent / ".def.0123456789abcdef.tmp"
    fresh_tmp.write_bytes(b"partial")

    report = sweep(app.state.session_factory, blobs, settings)  # type: ignore[attr-defined]

    assert report.orphans_removed == 1 and report.temporaries_removed == 1
    assert not _path(settings, old_orphan).exists() and not stale_tmp.exists()
    assert _path(settings, young_orphan).exists() and fresh_tmp.exists()  # grace period
    assert _path(settings, kept_key).exists()
    content = app_client.get(
        f"/api/v1/inbox/{r.json()['notifications'][0]}/content", headers=rec.headers
    )
    assert content.status_code == 200 and content.content.startswith(b"%PDF")


def test_the_sweep_drops_expired_idempotency_keys(
    app_client, make_pro, make_patient, pdf, settings, db
):
    author, rec = make_pro(), make_pro()
    patient = make_patient()
    for key in ("old", "new"):
        r = app_client.post(
            "/api/v1/documents",
            headers={**author.headers, "Idempotency-Key": key},
            data={
                "metadata": (
                    f'{{"patient_id": "{patient}", "title": "T {key}", '
                    f'"type_code": "cr_consultation", "clinical_date": "2026-01-02", '
                    f'"recipients": ["{rec.id}"]}}'
                )
            },
            files={"file": ("a.pdf", pdf(key), "application/pdf")},
        )
        assert r.status_code == 201, r.text
    with db() as s:
        s.execute(
            update(ShareIdempotencyKey)
            .where(ShareIdempotencyKey.key == "old")
            .values(created_at=utcnow() - timedelta(hours=25))
        )
    app = app_client.app
    report = sweep(app.state.session_factory, app.state.blobs, settings)  # type: ignore[attr-defined]
    assert report.expired_keys == 1
    with db() as s:
        assert list(s.scalars(select(ShareIdempotencyKey.key))) == ["new"]
        assert s.scalar(select(func.count()).select_from(Document)) == 2


def test_the_store_lists_its_blobs_but_not_writes_in_progress(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "blobs")
    assert list(store.iter_blobs()) == []  # no directory yet
    store.put("ab/cd/0001", [b"x"])
    store.put("ab/ce/0002", [b"y"])
    (tmp_path / "blobs" / "ab" / "cd" / ".0003.ffff.tmp").write_bytes(b"partial")
    listed = sorted(b.key for b in store.iter_blobs())
    assert listed == ["ab/cd/0001", "ab/ce/0002"]


def test_sisra_admin_sweep_blobs(app_client, settings, monkeypatch) -> None:
    from sisra.cli import app as cli

    blobs: EncryptedBlobs = app_client.app.state.blobs  # type: ignore[attr-defined]
    orphan = _killed_mid_request(blobs, b"%PDF-1.7 orphan")
    young = _killed_mid_request(blobs, b"%PDF-1.7 young")
    _age(_path(settings, orphan), 2 * HOUR)
    monkeypatch.setenv("SISRA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SISRA_DATA_DIR", str(settings.data_dir))
    assert settings.master_key is not None
    monkeypatch.setenv("SISRA_MASTER_KEY", settings.master_key.get_secret_value())
    result = CliRunner().invoke(cli, ["admin", "sweep-blobs"])
    assert result.exit_code == 0, result.output
    assert "1 orphelin(s) supprimé(s)" in result.output
    assert not _path(settings, orphan).exists() and _path(settings, young).exists()
    refused = CliRunner().invoke(cli, ["admin", "sweep-blobs", "--grace-minutes", "0"])
    assert refused.exit_code == 1 and "au moins 1 minute" in refused.output


def test_an_incremental_pass_checks_only_the_blobs_written_since_the_last(
    app_client, settings
) -> None:
    app = app_client.app
    blobs: EncryptedBlobs = app.state.blobs  # type: ignore[attr-defined]
    checked_before = _killed_mid_request(blobs, b"%PDF-1.7 a")
    recent = _killed_mid_request(blobs, b"%PDF-1.7 b")
    _age(_path(settings, checked_before), 5 * HOUR)
    _age(_path(settings, recent), 2 * HOUR)
    report = sweep(
        app.state.session_factory,  # type: ignore[attr-defined]
        blobs,
        settings,
        since=utcnow() - timedelta(hours=3),
    )
    assert report.orphans_removed == 1
    assert _path(settings, checked_before).exists() and not _path(settings, recent).exists()


def test_the_platform_sweeps_when_it_starts(app_client, settings) -> None:
    from fastapi.testclient import TestClient

    from sisra.platform.app import create_app
    from support.waiting import wait_until

    blobs: EncryptedBlobs = app_client.app.state.blobs  # type: ignore[attr-defined]
    orphan = _killed_mid_request(blobs, b"%PDF-1.7 orphan")
    _age(_path(settings, orphan), 2 * HOUR)
    settings.blob_sweep_interval_minutes = 60
    app = create_app(settings)
    with TestClient(app):  # start-up: the sweeper's first pass
        wait_until(lambda: not _path(settings, orphan).exists())
    app.state.engine.dispose()

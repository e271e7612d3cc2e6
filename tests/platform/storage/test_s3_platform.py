"""The platform with its documents in an S3-compatible store (SeaweedFS on loopback): share,
download (whole and ranges), the sweep — the bucket only ever holds ciphertext."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from sisra.platform.documents.sweep import sweep
from sisra.platform.models import Document, utcnow
from sisra.platform.storage import EncryptedBlobs
from sisra.platform.storage.s3 import S3BlobStore
from support.documents import share_request


@pytest.fixture
def settings(settings: Any, s3_server: Any) -> Any:
    """The usual test settings, blobs in the S3 bucket under a prefix of this test's own."""
    env = s3_server.env(prefix=uuid.uuid4().hex)
    return settings.model_copy(
        update={
            "blob_store": "s3",
            "s3_endpoint_url": env["SISRA_S3_ENDPOINT_URL"],
            "s3_bucket": env["SISRA_S3_BUCKET"],
            "s3_prefix": env["SISRA_S3_PREFIX"],
            "s3_access_key_id": SecretStr(env["SISRA_S3_ACCESS_KEY_ID"]),
            "s3_secret_access_key": SecretStr(env["SISRA_S3_SECRET_ACCESS_KEY"]),
        }
    )


def _objects(store: S3BlobStore) -> dict[str, bytes]:
    return {
        info.key: store.client.get_object(Bucket=store.bucket, Key=store.prefix + info.key)[
            "Body"
        ].read()
        for info in store.iter_blobs()
    }


def test_share_and_download_with_documents_in_s3(app_client, make_pro, make_patient, pdf, settings):
    blobs: EncryptedBlobs = app_client.app.state.blobs
    assert isinstance(blobs.store, S3BlobStore)
    author, rec = make_pro(), make_pro()
    data = pdf("Bilan S3", pages=3, padding=300_000)
    r = share_request(app_client, author, make_patient(), [rec], data)
    assert r.status_code == 201, r.text
    url = f"/api/v1/inbox/{r.json()['notifications'][0]}/content"
    full = app_client.get(url, headers=rec.headers)
    assert full.status_code == 200 and full.content == data
    part = app_client.get(url, headers={**rec.headers, "Range": "bytes=70000-200000"})
    assert part.status_code == 206 and part.content == data[70000:200001]
    # the bucket holds one object, ciphertext only; the node's disk holds no blob
    (stored,) = _objects(blobs.store).values()
    assert b"%PDF" not in stored and data[5000:5060] not in stored
    assert not (settings.data_dir / "blobs").exists()


def test_the_sweep_removes_orphans_from_the_bucket(
    app_client, make_pro, make_patient, pdf, settings, db
):
    app = app_client.app
    blobs: EncryptedBlobs = app.state.blobs
    author, rec = make_pro(), make_pro()
    r = share_request(app_client, author, make_patient(), [rec], pdf("Gardé"))
    assert r.status_code == 201
    with db() as s:
        kept = s.scalar(select(Document.blob_key))
    orphan = blobs.write(uuid.uuid4().bytes, [pdf("Orphelin")]).key  # a request killed here
    # now: everything is younger than the grace period, nothing goes
    assert sweep(app.state.session_factory, blobs, settings).orphans_removed == 0
    later = utcnow() + timedelta(minutes=settings.blob_sweep_grace_minutes + 5)
    report = sweep(app.state.session_factory, blobs, settings, now=later)
    assert report.orphans_removed == 1 and report.blobs_seen == 2
    assert sorted(_objects(blobs.store)) == [kept]
    assert not blobs.store.exists(orphan)
    content = app_client.get(
        f"/api/v1/inbox/{r.json()['notifications'][0]}/content", headers=rec.headers
    )
    assert content.status_code == 200 and content.content.startswith(b"%PDF")


def test_an_unreachable_store_is_a_clear_error_never_a_500(
    app_client, make_pro, make_patient, pdf, settings
):
    from fastapi.testclient import TestClient

    from sisra.devtools.ports import free_port
    from sisra.platform.app import create_app

    author, rec = make_pro(), make_pro()
    patient = make_patient()
    r = share_request(app_client, author, patient, [rec], pdf("Avant la panne"))
    assert r.status_code == 201
    url = f"/api/v1/inbox/{r.json()['notifications'][0]}/content"
    # the same platform, its object store gone (nothing listens there)
    down = settings.model_copy(update={"s3_endpoint_url": f"http://127.0.0.1:{free_port()}"})
    app = create_app(down)
    with TestClient(app) as client:
        shared = share_request(client, author, patient, [rec], pdf("Pendant la panne"))
        assert shared.status_code == 507, shared.text
        assert shared.json()["code"] == "storage_unavailable"
        assert "Rien n'a été envoyé" in shared.json()["message"]
        read = client.get(url, headers=rec.headers)
        assert read.status_code == 503 and read.json()["code"] == "document_damaged"
    app.state.engine.dispose()
    # nothing was half-sent: the recipient still has one document, readable again
    items = app_client.get("/api/v1/inbox", headers=rec.headers).json()["items"]
    assert [i["document"]["title"] for i in items] == ["Compte rendu de consultation"]
    assert app_client.get(url, headers=rec.headers).status_code == 200

"""The document flow end to end through the API: share, inbox, content, receipts, delete."""

import hashlib
import json
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from sisra.platform.models import AuditEvent, Document, Notification
from support.documents import share_request as share


def blob_files(settings) -> list[Path]:
    root = Path(settings.effective_blob_dir)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_share_reaches_each_recipient_and_nobody_else(app_client, make_pro, make_patient, pdf):
    author, r1, r2, other = make_pro(), make_pro(), make_pro(), make_pro()
    patient = make_patient()
    data = pdf("Consultation de cardiologie", pages=3)
    r = share(app_client, author, patient, [r1, r2], data)
    assert r.status_code == 201, r.text
    doc = r.json()["document"]
    assert doc["sha256"] == hashlib.sha256(data).hexdigest()
    assert doc["page_count"] == 3 and doc["loinc"] == "11488-4"

    for who in (r1, r2):
        page = app_client.get("/api/v1/inbox", headers=who.headers).json()
        assert [i["document"]["id"] for i in page["items"]] == [doc["id"]]
        item = page["items"][0]
        assert item["sender"]["id"] == str(author.id)
        assert item["patient"]["id"] == str(patient)
    assert app_client.get("/api/v1/inbox", headers=other.headers).json()["items"] == []
    assert app_client.get("/api/v1/inbox", headers=author.headers).json()["items"] == []


def test_downloaded_bytes_equal_uploaded_bytes_with_etag_and_range(
    app_client, make_pro, make_patient, pdf, settings
):
    author, rec = make_pro(), make_pro()
    data = pdf("Bilan", pages=4, padding=300_000)
    assert len(data) > 200_000
    assert share(app_client, author, make_patient(), [rec], data).status_code == 201
    item = app_client.get("/api/v1/inbox", headers=rec.headers).json()["items"][0]
    url = f"/api/v1/inbox/{item['id']}/content"
    full = app_client.get(url, headers=rec.headers)
    assert full.status_code == 200
    assert full.content == data
    assert full.headers["content-type"] == "application/pdf"
    etag = full.headers["etag"]
    assert etag == f'"{hashlib.sha256(data).hexdigest()}"'
    again = app_client.get(url, headers={**rec.headers, "If-None-Match": etag})
    assert again.status_code == 304
    part = app_client.get(url, headers={**rec.headers, "Range": "bytes=100-70000"})
    assert part.status_code == 206
    assert part.content == data[100:70001]
    assert part.headers["content-range"] == f"bytes 100-70000/{len(data)}"
    tail = app_client.get(url, headers={**rec.headers, "Range": "bytes=-10"})
    assert tail.content == data[-10:]
    bad = app_client.get(url, headers={**rec.headers, "Range": f"bytes={len(data) + 5}-"})
    assert bad.status_code == 416
    # at rest, the blob does not contain the plaintext
    (stored,) = blob_files(settings)
    assert b"%PDF" not in stored.read_bytes()[:64]
    assert data[200:260] not in stored.read_bytes()


def test_receipts_are_seen_by_the_sender_only(app_client, make_pro, make_patient, pdf):
    author, rec, rec2 = make_pro(), make_pro(), make_pro()
    doc = share(app_client, author, make_patient(), [rec, rec2], pdf()).json()["document"]
    item = app_client.get("/api/v1/inbox", headers=rec.headers).json()["items"][0]
    r = app_client.post(
        f"/api/v1/inbox/{item['id']}/receipts", headers=rec.headers, json={"kind": "downloaded"}
    )
    assert r.status_code == 200 and r.json()["delivered_at"] and r.json()["read_at"] is None
    app_client.post(
        f"/api/v1/inbox/{item['id']}/receipts", headers=rec.headers, json={"kind": "read"}
    )
    detail = app_client.get(f"/api/v1/documents/{doc['id']}", headers=author.headers).json()
    by_rec = {s["recipient_id"]: s for s in detail["shares"]}
    assert by_rec[str(rec.id)]["delivered_at"] and by_rec[str(rec.id)]["read_at"]
    assert by_rec[str(rec2.id)]["delivered_at"] is None
    # a recipient sees the document but not the other recipients' receipts
    seen_by_rec = app_client.get(f"/api/v1/documents/{doc['id']}", headers=rec.headers).json()
    assert seen_by_rec["shares"] == []
    bad = app_client.post(
        f"/api/v1/inbox/{item['id']}/receipts", headers=rec.headers, json={"kind": "opened"}
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"


def test_delete_hides_the_notification_but_keeps_the_record(
    app_client, make_pro, make_patient, pdf
):
    author, rec = make_pro(), make_pro()
    patient = make_patient()
    doc = share(app_client, author, patient, [rec], pdf()).json()["document"]
    item = app_client.get("/api/v1/inbox", headers=rec.headers).json()["items"][0]
    assert app_client.delete(f"/api/v1/inbox/{item['id']}", headers=rec.headers).status_code == 204
    assert app_client.get("/api/v1/inbox", headers=rec.headers).json()["items"] == []
    gone = app_client.get(f"/api/v1/inbox/{item['id']}", headers=rec.headers)
    assert gone.status_code == 404 and gone.json()["code"] == "notification_not_found"
    record = app_client.get(f"/api/v1/patients/{patient}/documents", headers=rec.headers)
    assert record.status_code == 200
    assert [d["id"] for d in record.json()["documents"]] == [doc["id"]]
    content = app_client.get(f"/api/v1/documents/{doc['id']}/content", headers=rec.headers)
    assert content.status_code == 200 and content.content.startswith(b"%PDF")


def test_inbox_cursor_paging(app_client, make_pro, make_patient, pdf):
    author, rec = make_pro(), make_pro()
    patient = make_patient()
    for i in range(5):
        assert share(app_client, author, patient, [rec], pdf(f"doc {i}")).status_code == 201
    first = app_client.get("/api/v1/inbox?limit=2", headers=rec.headers).json()
    assert len(first["items"]) == 2 and first["has_more"]
    cursors = [i["cursor"] for i in first["items"]]
    rest = app_client.get(
        f"/api/v1/inbox?after={first['next_cursor']}&limit=10", headers=rec.headers
    ).json()
    cursors += [i["cursor"] for i in rest["items"]]
    assert cursors == sorted(cursors) and len(set(cursors)) == 5
    assert not rest["has_more"]


def _counts(db):
    with db() as s:
        return (
            s.scalar(select(func.count()).select_from(Document)),
            s.scalar(select(func.count()).select_from(Notification)),
        )


def test_bad_uploads_get_clear_errors_and_leave_nothing(
    app_client, make_pro, make_patient, pdf, db, settings
):
    author, rec = make_pro(), make_pro()
    patient = make_patient()
    cases = [
        (share(app_client, author, patient, [rec], b"Bonjour, ceci est un texte."), "not_a_pdf"),
        (share(app_client, author, patient, [rec], b"%PDF-1.7\n garbage"), "not_a_pdf"),
        (
            share(app_client, author, patient, [rec], pdf(padding=3 * 1024 * 1024)),
            "file_too_large",
        ),
        (
            share(app_client, author, patient, ["7a0d5f7e-2b8e-4a70-9a36-000000000000"], pdf()),
            "unknown_recipient",
        ),
        (
            share(app_client, author, patient, [rec], pdf(), type_code="radio"),
            "invalid_document_type",
        ),
        (share(app_client, author, patient, [author], pdf()), "self_recipient"),
        (
            share(app_client, author, "7a0d5f7e-2b8e-4a70-9a36-000000000001", [rec], pdf()),
            "patient_not_found",
        ),
        (
            share(app_client, author, patient, [rec], pdf(), clinical_date="2999-01-01"),
            "invalid_date",
        ),
    ]
    for response, code in cases:
        assert response.status_code in (404, 413, 422), response.text
        body = response.json()
        assert body["code"] == code, body
        assert len(body["message"]) > 15, body
    bad_meta = app_client.post(
        "/api/v1/documents",
        headers=author.headers,
        data={"metadata": "{not json"},
        files={"file": ("a.pdf", pdf(), "application/pdf")},
    )
    assert bad_meta.status_code == 422 and bad_meta.json()["code"] == "invalid_metadata"
    assert _counts(db) == (0, 0)
    assert blob_files(settings) == []
    # the refusals themselves are not silently dropped from the audit when they are access
    # refusals; a validation error writes nothing
    with db() as s:
        assert s.scalar(select(func.count()).where(AuditEvent.action == "document.share")) == 0


def test_reply_links_to_the_original_and_needs_access(app_client, make_pro, make_patient, pdf):
    author, rec, outsider = make_pro(), make_pro(), make_pro()
    patient = make_patient()
    original = share(app_client, author, patient, [rec], pdf()).json()["document"]
    reply = share(app_client, rec, patient, [author], pdf("Réponse"), in_reply_to=original["id"])
    assert reply.status_code == 201
    assert reply.json()["document"]["in_reply_to_id"] == original["id"]
    item = app_client.get("/api/v1/inbox", headers=author.headers).json()["items"][0]
    assert item["document"]["in_reply_to"] == original["id"]
    refused = share(app_client, outsider, patient, [author], pdf(), in_reply_to=original["id"])
    assert refused.status_code == 403 and refused.json()["code"] == "not_in_care_team"
    other_patient = make_patient("MARTIN")
    mismatch = share(app_client, rec, other_patient, [author], pdf(), in_reply_to=original["id"])
    assert mismatch.status_code == 422 and mismatch.json()["code"] == "invalid_in_reply_to"


def test_full_disk_is_reported_and_leaves_nothing(
    app_client, make_pro, make_patient, pdf, db, settings
):
    """A real full filesystem (a tiny tmpfs mounted over the blob directory)."""
    import subprocess

    import pytest

    blob_dir = Path(settings.effective_blob_dir)
    blob_dir.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(blob_dir)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        author, rec = make_pro(), make_pro()
        patient = make_patient()
        r = share(app_client, author, patient, [rec], pdf(padding=200_000))
        assert r.status_code == 507, r.text
        assert r.json()["code"] == "storage_unavailable"
        assert "Rien n'a été envoyé" in r.json()["message"]
        assert _counts(db) == (0, 0)
        assert blob_files(settings) == []
        # space comes back: the same share now works
        small = share(app_client, author, patient, [rec], pdf())
        assert small.status_code == 201
    finally:
        subprocess.run(["umount", str(blob_dir)], check=False)


def test_a_20_mb_pdf_streams_through_upload_and_download(
    live_server, make_pro, make_patient, tmp_path, settings
):
    """Memory, not time: the 20 MB body is never held whole in memory by the server.

    Client and server share this process (the server runs in a thread), and the httpx client
    streams the file from disk, so the traced peak is the server's working set."""
    import gc
    import tracemalloc

    import httpx

    from support.documents import make_pdf

    settings.max_document_bytes = 25 * 1024 * 1024
    big = tmp_path / "big.pdf"
    big.write_bytes(make_pdf("Scanner thoracique", pages=2, padding=20 * 1024 * 1024))
    size = big.stat().st_size
    assert size > 20 * 1024 * 1024
    expected = hashlib.sha256(big.read_bytes()).hexdigest()
    author, rec = make_pro(), make_pro()
    patient = make_patient()
    meta = {
        "patient_id": str(patient),
        "title": "Scanner",
        "type_code": "cr_imagerie",
        "clinical_date": date.today().isoformat(),
        "recipients": [str(rec.id)],
    }
    gc.collect()
    tracemalloc.start()
    client = httpx.Client(base_url=live_server.url, timeout=120)
    with big.open("rb") as fh:
        r = client.post(
            "/api/v1/documents",
            headers=author.headers,
            data={"metadata": json.dumps(meta)},
            files={"file": ("big.pdf", fh, "application/pdf")},
        )
    _, upload_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    assert r.status_code == 201, r.text
    assert r.json()["document"]["sha256"] == expected
    note = r.json()["notifications"][0]
    digest = hashlib.sha256()
    received = 0
    with client.stream("GET", f"/api/v1/inbox/{note}/content", headers=rec.headers) as resp:
        assert resp.status_code == 200
        for chunk in resp.iter_bytes():
            digest.update(chunk)
            received += len(chunk)
    _, download_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert received == size and digest.hexdigest() == expected
    client.close()

    assert upload_peak < size, upload_peak  # not even one whole copy
    assert download_peak < size // 2, download_peak

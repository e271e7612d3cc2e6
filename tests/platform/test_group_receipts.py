"""Receipts of one kind for several received documents in one request (decision 207): all or
nothing, one audit row each, the single receipt's refusals (its one thread-pool hop:
test_inbox_fast_lane.py)."""

from typing import Any

from sisra.platform.models import Role
from support.documents import share_request as share

GROUP = "/api/v1/inbox/receipts"


def _received(app_client, make_pro, make_patient, pdf, count: int) -> tuple[Any, Any, list[str]]:
    author, rec = make_pro(), make_pro()
    patient = make_patient()
    for n in range(count):
        assert share(app_client, author, patient, [rec], pdf(f"n{n}")).status_code == 201
    items = app_client.get("/api/v1/inbox", headers=rec.headers).json()["items"]
    return author, rec, [i["id"] for i in items]


def _delivered(app_client, rec, ids: list[str]) -> list[bool]:
    items = {
        i["id"]: i for i in app_client.get("/api/v1/inbox", headers=rec.headers).json()["items"]
    }
    return [items[i]["delivered_at"] is not None for i in ids]


def test_a_group_receipt_records_each_document_and_audits_each(
    app_client, make_pro, make_patient, pdf
):
    _author, rec, ids = _received(app_client, make_pro, make_patient, pdf, 3)
    r = app_client.post(GROUP, headers=rec.headers, json={"kind": "downloaded", "ids": ids})
    assert r.status_code == 200
    assert r.json() == {"kind": "downloaded", "ids": ids}
    assert _delivered(app_client, rec, ids) == [True, True, True]
    # 'read' implies 'downloaded', and the first time of each is kept
    before = app_client.get(f"/api/v1/inbox/{ids[0]}", headers=rec.headers).json()
    r = app_client.post(GROUP, headers=rec.headers, json={"kind": "read", "ids": ids[:2]})
    assert r.status_code == 200
    after = app_client.get(f"/api/v1/inbox/{ids[0]}", headers=rec.headers).json()
    assert after["delivered_at"] == before["delivered_at"] and after["read_at"]
    rows = app_client.get("/api/v1/audit", headers=rec.headers).json()
    actions = [row["action"] for row in rows]
    assert actions.count("inbox.receipt.downloaded") == 3
    assert actions.count("inbox.receipt.read") == 2
    documents = {row["document_id"] for row in rows if row["action"].startswith("inbox.receipt")}
    assert len(documents) == 3 and all(row["patient_id"] for row in rows if row["document_id"])


def test_a_group_with_someone_elses_document_records_nothing(
    app_client, make_pro, make_patient, pdf
):
    _author, rec, ids = _received(app_client, make_pro, make_patient, pdf, 2)
    _other_author, _other, theirs = _received(app_client, make_pro, make_patient, pdf, 1)
    r = app_client.post(
        GROUP, headers=rec.headers, json={"kind": "downloaded", "ids": [*ids, *theirs]}
    )
    assert r.status_code == 404 and r.json()["code"] == "notification_not_found"
    assert _delivered(app_client, rec, ids) == [False, False]  # all or nothing
    # the attempt on another professional's document is in the trail
    refused = [
        row
        for row in app_client.get("/api/v1/audit", headers=rec.headers).json()
        if row["outcome"] != "ok"
    ]
    assert refused, "the outsider's attempt is audited"
    # a deleted document: refused too, the others untouched
    assert app_client.delete(f"/api/v1/inbox/{ids[1]}", headers=rec.headers).status_code == 204
    r = app_client.post(GROUP, headers=rec.headers, json={"kind": "downloaded", "ids": ids})
    assert r.status_code == 404 and _delivered(app_client, rec, ids[:1]) == [False]


def test_group_receipts_keep_the_api_rules(app_client, make_pro, make_patient, pdf):
    _author, rec, ids = _received(app_client, make_pro, make_patient, pdf, 1)
    admin = make_pro(role=Role.administrator)
    body = {"kind": "downloaded", "ids": ids}
    assert app_client.post(GROUP, json=body).status_code == 401
    refused = app_client.post(GROUP, headers=admin.headers, json=body)
    assert refused.status_code == 403 and refused.json()["code"] == "professionals_only"
    for bad in (
        {"kind": "downloaded", "ids": []},
        {"kind": "downloaded", "ids": ids + ids},  # each once
        {"kind": "downloaded", "ids": ids * 101},
        {"kind": "opened", "ids": ids},
        {"kind": "downloaded", "ids": ["pas-un-identifiant"]},
        {"kind": "downloaded"},
    ):
        r = app_client.post(GROUP, headers=rec.headers, json=bad)
        assert r.status_code == 422 and r.json()["code"] == "invalid_request", bad
    assert _delivered(app_client, rec, ids) == [False]

"""The inbox's cycle requests answered below the framework (decision 195): one thread-pool hop
each (the handler and its commit together), and the framework's own answers for anything the
fast lane does not take."""

from typing import Any

import anyio.to_thread
import pytest

from support.documents import share_request as share


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every thread-pool hop of the requests (the real anyio call, counted)."""
    seen: list[str] = []
    real = anyio.to_thread.run_sync

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(func, "__qualname__", repr(func)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    return seen


def _received(app_client, make_pro, make_patient, pdf) -> tuple[Any, str]:
    author, rec = make_pro(), make_pro()
    assert share(app_client, author, make_patient(), [rec], pdf("Bilan")).status_code == 201
    note = app_client.get("/api/v1/inbox", headers=rec.headers).json()["items"][0]["id"]
    return rec, note  # the token is remembered from here on


def test_one_thread_pool_hop_per_cycle_request(app_client, make_pro, make_patient, pdf, hops):
    rec, note = _received(app_client, make_pro, make_patient, pdf)
    hops.clear()
    r = app_client.get("/api/v1/inbox", params={"after": 0, "limit": 1}, headers=rec.headers)
    assert r.status_code == 200 and [i["id"] for i in r.json()["items"]] == [note]
    assert len(hops) == 1, hops
    hops.clear()
    r = app_client.get(f"/api/v1/inbox/{note}/content", headers=rec.headers)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert len(hops) == 1, hops
    hops.clear()
    r = app_client.post(
        f"/api/v1/inbox/{note}/receipts", headers=rec.headers, json={"kind": "read"}
    )
    assert r.status_code == 200 and r.json()["read_at"] and r.json()["delivered_at"]
    assert len(hops) == 1, hops


def test_what_the_fast_lane_leaves_gets_the_framework_answer(
    app_client, make_pro, make_patient, pdf
):
    rec, note = _received(app_client, make_pro, make_patient, pdf)
    for query in ({"limit": 0}, {"after": -1}, {"limit": "x"}, {"after": 2**63}):
        r = app_client.get("/api/v1/inbox", params=query, headers=rec.headers)
        assert r.status_code == 422 and r.json()["code"] == "invalid_request", query
    # a parameter the lane does not know: the framework ignores it, as before
    r = app_client.get("/api/v1/inbox", params={"after": 0, "x": 1}, headers=rec.headers)
    assert r.status_code == 200 and len(r.json()["items"]) == 1
    r = app_client.get("/api/v1/inbox/pas-un-uuid/content", headers=rec.headers)
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    r = app_client.post(f"/api/v1/inbox/{note}/receipts", headers=rec.headers, json={"kind": "lu"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.kind"
    r = app_client.get("/api/v1/inbox/", headers=rec.headers, follow_redirects=False)
    assert r.status_code in (307, 308)


def test_the_fast_lane_authenticates_as_the_framework(app_client, make_pro, make_patient, pdf):
    _rec, note = _received(app_client, make_pro, make_patient, pdf)
    outsider = make_pro()
    for method, path in (
        ("GET", "/api/v1/inbox"),
        ("GET", f"/api/v1/inbox/{note}/content"),
        ("POST", f"/api/v1/inbox/{note}/receipts"),
    ):
        kwargs: dict[str, Any] = {"json": {"kind": "read"}} if method == "POST" else {}
        r = app_client.request(method, path, **kwargs)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", path
        assert r.json()["code"] == "not_authenticated"
        assert r.headers["x-content-type-options"] == "nosniff"  # still inside the headers
        r = app_client.request(
            method, path, headers={"Authorization": "Bearer pas-un-jeton"}, **kwargs
        )
        assert r.status_code == 401, path
        if path != "/api/v1/inbox":
            r = app_client.request(method, path, headers=outsider.headers, **kwargs)
            assert r.status_code == 404 and r.json()["code"] == "notification_not_found"


def test_a_group_receipt_takes_one_thread_pool_hop(app_client, make_pro, make_patient, pdf, hops):
    author, rec = make_pro(), make_pro()
    patient = make_patient()
    for n in range(4):
        assert share(app_client, author, patient, [rec], pdf(f"n{n}")).status_code == 201
    ids = [i["id"] for i in app_client.get("/api/v1/inbox", headers=rec.headers).json()["items"]]
    hops.clear()
    body = {"kind": "downloaded", "ids": ids}
    r = app_client.post("/api/v1/inbox/receipts", headers=rec.headers, json=body)
    assert r.status_code == 200 and r.json() == body
    assert len(hops) == 1, hops

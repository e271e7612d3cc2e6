"""A long page of the inbox reads each patient and each professional once, a short one is one
joined statement (decision 203), and either way its items are exactly the items read one at a
time."""

import threading
from typing import Any

from sqlalchemy import event

from sisra.platform.models import IdentityStatus, Patient, Professional
from support.documents import share_request as share


def _selects(engine: Any) -> list[str]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "AnyIO worker" in threading.current_thread().name and statement.startswith("SELECT"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    return seen


def test_a_page_is_its_items_one_by_one(app_client, make_pro, make_patient, pdf, db):
    rec = make_pro()
    author, other = make_pro(first_name="Paul"), make_pro()
    qualified, plain = make_patient("DURAND"), make_patient("LEROY")
    with db() as s:
        p = s.get(Patient, qualified)
        p.ins, p.ins_oid = "255017512345678", "1.2.250.1.213.1.4.8"
        p.identity_status = IdentityStatus.qualifiee
        p.birth_place_code = "75056"
        p.used_name = "MARTIN"
        # a correspondent known only by its MSSanté address
        o = s.get(Professional, other.id)
        o.first_name, o.last_name, o.mssante = "", "x@test.mssante.fr", "x@test.mssante.fr"
    # interleaved senders and patients, and a reply (in_reply_to)
    first = share(app_client, author, qualified, [rec], pdf("Un")).json()
    original = first["document"]["id"]
    shared = [
        share(app_client, other, plain, [rec], pdf("Deux")),
        share(app_client, author, qualified, [rec], pdf("Trois"), in_reply_to=original),
        share(app_client, other, plain, [rec, author], pdf("Quatre")),
        *(share(app_client, author, plain, [rec], pdf(f"Suite {i}")) for i in range(3)),
    ]
    assert all(r.status_code == 201 for r in shared), [r.text for r in shared]

    assert app_client.get("/api/v1/inbox", headers=rec.headers).status_code == 200  # token known
    seen = _selects(app_client.app.state.engine)
    page = app_client.get("/api/v1/inbox", params={"limit": 10}, headers=rec.headers).json()
    items = page["items"]
    assert len(items) == 7 and not page["has_more"]
    assert items[2]["document"]["in_reply_to"] == original
    assert items[0]["patient"]["ins"] == "255017512345678"
    assert items[1]["patient"]["ins"] is None
    assert items[1]["sender"]["name"] == "x@test.mssante.fr"
    # the first items with their people, then the page, its patients, its professionals
    assert len(seen) == 4, seen
    for item in items:
        alone = app_client.get(f"/api/v1/inbox/{item['id']}", headers=rec.headers)
        assert alone.status_code == 200
        assert alone.json() == item

    # a poll after a cursor finds a few items: one statement, the same items
    seen.clear()
    short = app_client.get(
        "/api/v1/inbox", params={"after": items[3]["cursor"], "limit": 200}, headers=rec.headers
    ).json()
    assert short["items"] == items[4:] and len(seen) == 1, seen
    seen.clear()
    assert (
        app_client.get("/api/v1/inbox", params={"limit": 2}, headers=rec.headers).json()["items"]
        == items[:2]
    )
    assert len(seen) == 1, seen


def test_an_empty_page_reads_no_people(app_client, make_pro):
    rec = make_pro()
    assert app_client.get("/api/v1/inbox", headers=rec.headers).status_code == 200  # token known
    seen = _selects(app_client.app.state.engine)
    page = app_client.get("/api/v1/inbox", headers=rec.headers).json()
    assert page == {"items": [], "next_cursor": 0, "has_more": False}
    assert len(seen) == 1, seen

"""The directory searched by exact identifier (RPPS, ADELI, MSSanté address), as MonSisra's
outbox names recipients."""

from __future__ import annotations

from typing import Any

from sisra.platform.models import Professional


def test_a_professional_is_found_by_exactly_its_rpps_or_address(
    app_client: Any, make_pro: Any, db: Any
) -> None:
    me = make_pro("cherche", last_name="Dupuis")
    claire = make_pro("claire", first_name="Claire", last_name="Martin", log_in=False)
    make_pro("claude", first_name="Claude", last_name="Martin", log_in=False)
    with db() as s:
        pro = s.get(Professional, claire.id)
        pro.mssante = "claire.martin@sante.example"
        rpps = pro.rpps

    def ids(**params: str) -> list[str]:
        r = app_client.get("/api/v1/professionals", params=params, headers=me.headers)
        assert r.status_code == 200, r.text
        return [p["id"] for p in r.json()]

    assert ids(rpps=rpps) == [str(claire.id)]
    assert ids(rpps=rpps[:-1]) == []  # exactly, never a prefix
    assert ids(mssante="Claire.Martin@SANTE.example") == [str(claire.id)]  # case ignored
    assert ids(mssante="claire.martin@sante") == []
    assert ids(adeli="123456789") == []
    assert ids(q="martin", rpps=rpps) == [str(claire.id)]  # with the words too
    assert len(ids(q="martin")) == 2
    too_long = app_client.get(
        "/api/v1/professionals", params={"rpps": "1" * 12}, headers=me.headers
    )
    assert too_long.status_code == 422

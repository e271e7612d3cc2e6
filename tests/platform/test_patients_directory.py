"""Patient identities (INS, traits, duplicates) and the directory search."""

from sqlalchemy import func, select

from sisra.common.ins import OID_NIR_TEST, with_key
from sisra.platform.models import Patient

INS = with_key("2690469123045")


def identity(**over):
    body = {
        "birth_name": "Lefèvre",
        "used_name": "Gauthier",
        "birth_given_names": ["Hélène", "Marie"],
        "birth_date": "1969-04-12",
        "sex": "F",
        "birth_place_code": "69123",
        "ins": INS,
        "ins_oid": OID_NIR_TEST,
        "identity_status": "qualifiée",
    }
    body.update(over)
    return body


def search(client, pro, **traits):
    """Patient traits go in the body of a POST, never in the URL."""
    return client.post("/api/v1/patients/search", headers=pro.headers, json=traits)


def test_traits_never_travel_in_a_url(app_client, make_pro):
    pro = make_pro()
    r = app_client.get("/api/v1/patients?q=lefevre&birth_date=1969-04-12", headers=pro.headers)
    assert r.status_code == 405  # the query-string search is gone
    schema = app_client.get("/openapi.json").json()
    for path, item in schema["paths"].items():
        for method, op in item.items():
            names = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
            if "patient" in path:
                assert not names & {"q", "birth_date", "ins"}, f"{method} {path}"


def test_create_and_search_by_name_prefix_birth_date_and_ins(app_client, make_pro):
    pro = make_pro()
    r = app_client.post("/api/v1/patients", headers=pro.headers, json=identity())
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["birth_name"] == "LEFÈVRE" and created["first_given_name"] == "Hélène"
    assert created["identity_status"] == "qualifiée"
    for query in ("lefev", "LEFÈ", "gauth"):
        found = search(app_client, pro, q=query, given="hél").json()
        assert [p["id"] for p in found] == [created["id"]], query
    by_date = search(app_client, pro, q="lef", birth_date="1969-04-12").json()
    assert len(by_date) == 1
    other_date = search(app_client, pro, q="lef", birth_date="1970-04-12").json()
    assert other_date == []
    spaced = f"{INS[:1]} {INS[1:5]} {INS[5:]}"
    by_ins = search(app_client, pro, ins=spaced)
    assert [p["id"] for p in by_ins.json()] == [created["id"]]


def test_malformed_ins_is_refused_with_its_reason(app_client, make_pro, db):
    pro = make_pro()
    bad_key = INS[:13] + ("00" if INS[13:] != "00" else "01")
    r = app_client.post("/api/v1/patients", headers=pro.headers, json=identity(ins=bad_key))
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_ins" and "clé" in r.json()["message"]
    r = search(app_client, pro, ins="12345")
    assert r.status_code == 422 and r.json()["code"] == "invalid_ins"
    with db() as s:
        assert s.scalar(select(func.count()).select_from(Patient)) == 0


def test_duplicate_identity_returns_the_candidates(app_client, make_pro, db):
    pro = make_pro()
    first = app_client.post("/api/v1/patients", headers=pro.headers, json=identity()).json()
    same_ins = app_client.post(
        "/api/v1/patients", headers=pro.headers, json=identity(birth_name="Autre")
    )
    assert same_ins.status_code == 409
    assert same_ins.json()["code"] == "identity_exists"
    assert [c["id"] for c in same_ins.json()["candidates"]] == [first["id"]]
    same_traits = app_client.post(
        "/api/v1/patients",
        headers=pro.headers,
        json=identity(ins=None, identity_status="provisoire", birth_name="LEFEVRE"),
    )
    assert same_traits.status_code == 409
    assert same_traits.json()["candidates"][0]["id"] == first["id"]
    twin = app_client.post(
        "/api/v1/patients",
        headers=pro.headers,
        json=identity(ins=None, identity_status="provisoire", birth_given_names=["Léa"]),
    )
    assert twin.status_code == 201  # a twin sister is not a duplicate
    with db() as s:
        assert s.scalar(select(func.count()).select_from(Patient)) == 2


def test_identity_traits_are_checked(app_client, make_pro):
    pro = make_pro()
    cases = [
        (identity(ins=None, identity_status="qualifiée"), "ins_required"),
        (identity(birth_date="2999-01-01"), "invalid_birth_date"),
        (identity(birth_place_code="6912"), "invalid_birth_place"),
        (identity(identity_status="certifiée"), "invalid_identity_status"),
    ]
    for body, code in cases:
        r = app_client.post("/api/v1/patients", headers=pro.headers, json=body)
        assert r.status_code == 422 and r.json()["code"] == code, r.text
    r = app_client.post("/api/v1/patients", headers=pro.headers, json=identity(sex="X"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    r = search(app_client, pro, q="a")
    assert r.json()["code"] == "search_too_broad"


def test_directory_search_ignores_accents_and_case(app_client, make_pro):
    me = make_pro()
    helene = make_pro(
        first_name="Hélène", last_name="Lefèvre", city="Saint-Étienne", specialty="Cardiologie"
    )
    make_pro(first_name="Paul", last_name="Durand", city="Grenoble", specialty="Pneumologie")
    for q in ("lefevre", "HELENE", "saint etienne", "cardio", "hélène st"[:6]):
        found = app_client.get("/api/v1/professionals", params={"q": q}, headers=me.headers)
        assert [p["id"] for p in found.json()] == [str(helene.id)], q
    both = app_client.get("/api/v1/professionals", params={"q": "logie"}, headers=me.headers)
    assert len(both.json()) == 2
    assert app_client.get("/api/v1/professionals?q=lefevre").status_code == 401


def test_directory_search_by_rpps_number_finds_that_professional_only(app_client, make_pro):
    me = make_pro()
    paul = make_pro(first_name="Paul", last_name="Martin")
    found = app_client.get("/api/v1/professionals", headers=me.headers).json()
    rpps = next(p["rpps"] for p in found if p["id"] == str(paul.id))
    by_number = app_client.get("/api/v1/professionals", params={"q": rpps}, headers=me.headers)
    assert [p["id"] for p in by_number.json()] == [str(paul.id)]
    unknown = app_client.get(
        "/api/v1/professionals", params={"q": "10999999990"}, headers=me.headers
    )
    assert unknown.json() == []

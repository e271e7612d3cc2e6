"""FHIR R4 reads and searches through the real app: CapabilityStatement, Patient, Practitioner.

Every body is validated with the FHIR models (fhir_helpers.validate), errors included."""

from typing import Any

from fhir_helpers import BASE, fhir_get, outcome, qualified_patient, validate
from sqlalchemy import select

from sisra.platform.fhir import codes
from sisra.platform.models import AuditEvent, Professional, Role

__all__ = ["qualified_patient"]  # the fixture, used by name


def test_metadata_describes_what_is_served_without_a_token(app_client):
    r = fhir_get(app_client, "metadata", {})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    cap = r.json()
    assert cap["resourceType"] == "CapabilityStatement" and cap["fhirVersion"] == "4.0.1"
    served = {res["type"]: res for res in cap["rest"][0]["resource"]}
    assert set(served) == {"Patient", "Practitioner", "DocumentReference", "Binary"}
    interactions = {k: {i["code"] for i in v["interaction"]} for k, v in served.items()}
    assert interactions["DocumentReference"] == {"read", "search-type", "create"}
    assert interactions["Binary"] == {"read"}
    params = {p["name"] for p in served["Patient"]["searchParam"]}
    assert {"identifier", "family", "given", "birthdate", "gender"} <= params
    # every advertised search route answers (with a token): nothing advertised that is not real
    assert cap["format"] == ["json"]
    for fmt in ("json", "application/fhir+json"):
        assert fhir_get(app_client, "metadata", {}, _format=fmt).status_code == 200
    outcome(fhir_get(app_client, "metadata", {}, _format="xml"), 406, "format_not_supported")
    r = app_client.get(f"{BASE}/metadata", headers={"Accept": "application/fhir+xml"})
    outcome(r, 406)


def test_without_a_token_every_resource_answers_401_with_www_authenticate(app_client):
    for path in (
        "Patient/00000000-0000-0000-0000-000000000000",
        "Patient?family=DU",
        "DocumentReference?patient=Patient/00000000-0000-0000-0000-000000000000",
        "Binary/00000000-0000-0000-0000-000000000000",
    ):
        r = app_client.get(f"{BASE}/{path}")
        body = outcome(r, 401, "not_authenticated")
        assert r.headers["www-authenticate"] == "Bearer"
        assert body["issue"][0]["code"] == "login"
        assert "Connexion requise" in body["issue"][0]["diagnostics"]
        forged = app_client.get(f"{BASE}/{path}", headers={"Authorization": "Bearer sat_x"})
        outcome(forged, 401)


def test_patient_read_carries_fr_core_identity(app_client, make_pro, qualified_patient):
    pro = make_pro()
    pid, ins = qualified_patient()
    r = fhir_get(app_client, f"Patient/{pid}", pro.headers)
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["meta"]["profile"] == [codes.PROFILE_PATIENT, codes.PROFILE_PATIENT_INS]
    [ident] = p["identifier"]
    assert ident == {
        "use": "official",
        "type": {"coding": [{"system": codes.CS_IDENTIFIER_TYPE, "code": "INS-NIR"}]},
        "system": "urn:oid:1.2.250.1.213.1.4.8",
        "value": ins,
    }
    reliability = next(e for e in p["extension"] if e["url"] == codes.EXT_IDENTITY_RELIABILITY)
    status = reliability["extension"][0]
    assert status["url"] == "identityStatus"
    assert status["valueCoding"]["system"] == codes.CS_IDENTITY_STATUS
    assert status["valueCoding"]["code"] == "QUAL"
    birth = next(e for e in p["extension"] if e["url"] == codes.EXT_BIRTH_PLACE)
    assert birth["valueAddress"]["extension"][0]["valueCoding"]["code"] == "69123"
    official = p["name"][0]
    assert official["use"] == "official" and official["family"] == "LEFEBVRE"
    assert official["given"] == ["Claire"]
    assert official["extension"][0]["valueString"] == "Claire Anne"
    assert p["gender"] == "female" and p["birthDate"].startswith("1985-03-")
    # an unknown id is the same 404 as API v1
    missing = fhir_get(app_client, "Patient/00000000-0000-0000-0000-000000000000", pro.headers)
    api = app_client.get(
        "/api/v1/patients/00000000-0000-0000-0000-000000000000", headers=pro.headers
    )
    outcome(missing, api.status_code, api.json()["code"])


def test_ins_is_exchanged_only_for_a_qualified_identity(app_client, make_pro, qualified_patient):
    pro = make_pro()
    for status, code in (("provisoire", "PROV"), ("récupérée", "RECUP"), ("validée", "VALI")):
        pid, ins = qualified_patient(birth_name=f"TEST{code}", status=status)
        p = fhir_get(app_client, f"Patient/{pid}", pro.headers).json()
        assert "identifier" not in p, status
        assert p["meta"]["profile"] == [codes.PROFILE_PATIENT]
        assert p["extension"][0]["extension"][0]["valueCoding"]["code"] == code
        found = fhir_get(app_client, "Patient", pro.headers, identifier=ins)
        assert found.json()["total"] == 0


def test_patient_search_by_ins_and_by_traits_with_paging(
    app_client, make_pro, make_patient, qualified_patient, db
):
    pro = make_pro()
    pid, ins = qualified_patient()
    by_ins = fhir_get(
        app_client, "Patient", pro.headers, identifier=f"urn:oid:1.2.250.1.213.1.4.8|{ins}"
    )
    bundle = by_ins.json()
    assert bundle["type"] == "searchset" and bundle["total"] == 1
    assert bundle["entry"][0]["resource"]["id"] == str(pid)
    assert bundle["entry"][0]["fullUrl"].endswith(f"/fhir/r4/Patient/{pid}")
    # the NIA system does not find a NIR; a bare value does
    nia = fhir_get(
        app_client, "Patient", pro.headers, identifier=f"urn:oid:1.2.250.1.213.1.4.9|{ins}"
    )
    assert nia.json()["total"] == 0
    assert fhir_get(app_client, "Patient", pro.headers, identifier=ins).json()["total"] == 1
    outcome(
        fhir_get(app_client, "Patient", pro.headers, identifier="urn:oid:1.2.250.1.213.1.4.8|123"),
        422,
        "invalid_ins",
    )

    ids = {str(make_patient("DUPONT", "Jeanne")) for _ in range(3)}
    make_patient("DUPONT", "Paul")
    first = fhir_get(app_client, "Patient", pro.headers, family="dup", given="jean", _count=2)
    page = first.json()
    assert page["total"] == 3 and len(page["entry"]) == 2
    links = {link["relation"]: link["url"] for link in page["link"]}
    assert "_offset=2" in links["next"] and "given=jean" in links["next"]
    following = app_client.get(links["next"], headers=pro.headers)
    rest = validate(following.json())
    assert len(rest["entry"]) == 1 and "next" not in {x["relation"] for x in rest["link"]}
    seen = {e["resource"]["id"] for e in page["entry"] + rest["entry"]}
    assert seen == ids
    males = fhir_get(
        app_client, "Patient", pro.headers, family="DUPONT", given="jea", gender="male"
    )
    assert males.json()["total"] == 0
    outcome(fhir_get(app_client, "Patient", pro.headers, family="D"), 400, "search_too_broad")
    outcome(fhir_get(app_client, "Patient", pro.headers, family="DUPONT"), 400, "search_too_broad")
    outcome(fhir_get(app_client, "Patient", pro.headers, birthdate="1950"), 422)
    outcome(fhir_get(app_client, "Patient", pro.headers, gender="femme", family="DU"), 422)
    outcome(fhir_get(app_client, "Patient", pro.headers, family="DU", _count=101), 422)
    # audited as API v1's search
    with db() as s:
        actions = [
            e.details.get("by")
            for e in s.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "patient.search", AuditEvent.actor_id == pro.id
                )
            )
        ]
    assert actions.count("ins") >= 3 and "traits" in actions


def test_patients_are_for_professionals_as_on_api_v1(app_client, make_pro, make_patient):
    admin = make_pro(role=Role.administrator)
    pid = make_patient()
    api = app_client.get(f"/api/v1/patients/{pid}", headers=admin.headers)
    outcome(
        fhir_get(app_client, f"Patient/{pid}", admin.headers), api.status_code, api.json()["code"]
    )


def test_practitioner_read_and_search_by_fr_core_identifiers(app_client, make_pro, db):
    pro = make_pro(specialty="Cardiologie")
    other = make_pro(first_name="Hugo")
    with db() as s:
        rpps = s.get(Professional, other.id).rpps
    r = fhir_get(app_client, f"Practitioner/{other.id}", pro.headers)
    doc = r.json()
    assert doc["meta"]["profile"] == [codes.PROFILE_PRACTITIONER]
    assert {(i["system"], i["value"]) for i in doc["identifier"]} == {
        ("urn:oid:1.2.250.1.71.4.2.1", "8" + rpps),
        ("https://rpps.esante.gouv.fr", rpps),
    }
    assert doc["name"][0]["given"] == ["Hugo"]
    for value in (
        f"urn:oid:1.2.250.1.71.4.2.1|8{rpps}",
        f"https://rpps.esante.gouv.fr|{rpps}",
        rpps,
    ):
        found = fhir_get(app_client, "Practitioner", pro.headers, identifier=value).json()
        assert found["total"] == 1 and found["entry"][0]["resource"]["id"] == str(other.id)
    none = fhir_get(app_client, "Practitioner", pro.headers, identifier="urn:oid:9.9|8" + rpps)
    assert none.json()["total"] == 0 and "entry" not in none.json()
    admin = make_pro(role=Role.administrator, log_in=False)
    outcome(fhir_get(app_client, f"Practitioner/{admin.id}", pro.headers), 404)
    outcome(fhir_get(app_client, "Practitioner", pro.headers), 422)


def _entry_ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]

"""FHIR search as client libraries use it: ``_id``, dateTimes with prefixes, ``POST
<type>/_search`` on every type, ``Prefer: handling``, ``_summary=count``, ``Patient?name=``,
Practitioner by name, and unknown ids answered 404."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fhir_helpers import (
    BASE,
    document_reference,
    fhir_get,
    outcome,
    post_document,
    qualified_patient,
    validate,
)

__all__ = ["qualified_patient"]  # the fixture, used by name

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _ids(body: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in body.get("entry", []) if e["search"]["mode"] == "match"]


def _shared(app_client: Any, make_pro: Any, make_patient: Any, pdf: Any) -> tuple[Any, Any, str]:
    author, recipient = make_pro(), make_pro()
    patient = make_patient()
    r = post_document(app_client, author, document_reference(patient, [recipient], pdf("CR")))
    assert r.status_code == 201, r.text
    return author, patient, r.json()["id"]


def test_id_on_every_type(app_client, make_pro, make_patient, pdf):
    author, patient, doc_id = _shared(app_client, make_pro, make_patient, pdf)
    for kind, rid in (
        ("Patient", str(patient)),
        ("Practitioner", str(author.id)),
        ("DocumentReference", doc_id),
    ):
        r = fhir_get(app_client, kind, author.headers, _id=rid)
        assert r.status_code == 200, r.text
        assert _ids(r.json()) == [rid]
        r = fhir_get(app_client, kind, author.headers, _id=str(uuid.uuid4()))
        assert r.status_code == 200 and r.json()["total"] == 0


def test_dates_take_prefixes_and_full_datetimes(app_client, make_pro, make_patient, pdf):
    author, patient, doc_id = _shared(app_client, make_pro, make_patient, pdf)
    now = datetime.now(UTC)
    before = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    after = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    found = {
        f"ge{before}": [doc_id],
        f"lt{before}": [],
        f"le{after}": [doc_id],
        f"gt{after}": [],
        "ge2026-01-01T00:00:00Z": [doc_id] if now.year >= 2026 else [],
    }
    for value, expected in found.items():
        r = fhir_get(
            app_client,
            "DocumentReference",
            author.headers,
            patient=f"Patient/{patient}",
            date=value,
        )
        assert r.status_code == 200, (value, r.text)
        assert _ids(r.json()) == expected, value
    r = fhir_get(
        app_client,
        "DocumentReference",
        author.headers,
        patient=f"Patient/{patient}",
        date="ge2026-13",
    )
    outcome(r, 422, "invalid_search_parameter")


def test_birthdate_takes_the_eq_prefix_and_refuses_a_range_clearly(
    app_client, make_pro, qualified_patient
):
    pro = make_pro()
    pid, _ins = qualified_patient("DUMOULIN")
    read = fhir_get(app_client, f"Patient/{pid}", pro.headers).json()
    born = read["birthDate"]
    r = fhir_get(app_client, "Patient", pro.headers, family="DUMOULIN", birthdate=f"eq{born}")
    assert _ids(r.json()) == [str(pid)]
    r = fhir_get(app_client, "Patient", pro.headers, family="DUMOULIN", birthdate="ge1980-01-01")
    body = outcome(r, 422, "invalid_search_parameter")
    assert "date de naissance exacte" in body["issue"][0]["diagnostics"]


def test_post_search_on_every_type(app_client, make_pro, make_patient, pdf):
    author, patient, doc_id = _shared(app_client, make_pro, make_patient, pdf)
    cases = (
        ("Practitioner", {"_id": str(author.id)}, str(author.id)),
        ("DocumentReference", {"patient": f"Patient/{patient}", "date": "ge2000-01-01"}, doc_id),
    )
    for kind, form, expected in cases:
        r = app_client.post(f"{BASE}/{kind}/_search", headers={**author.headers, **FORM}, data=form)
        assert r.status_code == 200, r.text
        assert _ids(validate(r.json())) == [expected]
        # a JSON body is not a form: refused, not read as an empty search
        r = app_client.post(f"{BASE}/{kind}/_search", headers=author.headers, json=form)
        outcome(r, 415)


def test_strict_handling_refuses_unknown_parameters_lenient_lists_them(
    app_client, make_pro, make_patient, pdf
):
    author, patient, doc_id = _shared(app_client, make_pro, make_patient, pdf)
    query = {"patient": f"Patient/{patient}", "status": "current", "_sort": "-date"}
    strict = {**author.headers, "Prefer": "handling=strict"}
    r = fhir_get(app_client, "DocumentReference", strict, **query)
    body = outcome(r, 400, "unknown_search_parameter")
    assert "_sort" in body["issue"][0]["diagnostics"]
    r = fhir_get(app_client, "DocumentReference", author.headers, **query)
    assert r.status_code == 200
    bundle = r.json()
    assert _ids(bundle) == [doc_id]
    [warning] = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    text = warning["issue"][0]["diagnostics"]
    assert "_sort" in text and "status" in text
    assert "status" not in bundle["link"][0]["url"]  # self: the search really done


def test_summary_count(app_client, make_pro, make_patient, pdf):
    author, patient, _doc_id = _shared(app_client, make_pro, make_patient, pdf)
    r = fhir_get(
        app_client,
        "DocumentReference",
        author.headers,
        patient=f"Patient/{patient}",
        _summary="count",
    )
    assert r.status_code == 200
    assert r.json()["total"] == 1 and "entry" not in r.json()


def test_patient_name_is_answered_with_family_and_given(app_client, make_pro):
    pro = make_pro()
    r = fhir_get(app_client, "Patient", pro.headers, name="MARTIN")
    body = outcome(r, 400, "unsupported_search_parameter")
    assert "family" in body["issue"][0]["diagnostics"]


def test_practitioner_by_name(app_client, make_pro):
    pro = make_pro(last_name="Bréchet", first_name="Anouk")
    make_pro(last_name="Brossard", first_name="Anouk")
    for query in (
        {"family": "brechet"},
        {"name": "Bréchet Anouk"},
        {"family": "BRÉ", "given": "ano"},
    ):
        r = fhir_get(app_client, "Practitioner", pro.headers, **query)
        assert r.status_code == 200, r.text
        assert _ids(r.json()) == [str(pro.id)], query


@pytest.mark.parametrize("kind", ["Binary", "DocumentReference", "Patient", "Practitioner"])
def test_an_id_that_is_not_ours_is_not_found(app_client, make_pro, kind):
    pro = make_pro()
    r = fhir_get(
        app_client, f"{kind}/not-a-uuid", {**pro.headers, "Accept": "application/fhir+json"}
    )
    outcome(r, 404)

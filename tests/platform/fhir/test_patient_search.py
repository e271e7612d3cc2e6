"""Patient search finds one patient, it does not list the region (issue 18, decision 120).

Enough traits to point at a person on every route (API v1, FHIR GET and POST ``_search``, the
web pages), a small page of answers, a limit per professional and per hour that holds under a
burst, an audit row per search without the traits themselves, and the two-letter enumeration
of the security test reaching at most a quarter of the patients.
"""

import random
import re
import string
import threading
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fhir_helpers import outcome, validate
from sqlalchemy import select

from sisra.common.ins import OID_NIR_TEST, with_key
from sisra.platform.context import SYSTEM
from sisra.platform.models import AuditEvent, Role
from sisra.platform.patients import service as patients

FHIR = "/fhir/r4"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _create(db: Any, identities: list[patients.NewPatient]) -> list[uuid.UUID]:
    """Identities created directly through the service, in one transaction (fast)."""
    with db() as session:
        return [patients.create(session, SYSTEM, data).id for data in identities]


def region(db: Any, n: int, seed: int = 18) -> list[uuid.UUID]:
    """``n`` patients with random names (every first two letters possible)."""
    rng = random.Random(seed)
    start = date(1930, 1, 1)

    def name(k: int) -> str:
        return "".join(rng.choice(string.ascii_uppercase) for _ in range(k))

    return _create(
        db,
        [
            patients.NewPatient(
                birth_name=name(rng.randint(4, 9)),
                birth_given_names=[name(rng.randint(3, 7)).capitalize()],
                birth_date=start + timedelta(days=rng.randrange(30_000)),
                sex=rng.choice("MF"),
            )
            for _ in range(n)
        ],
    )


def namesakes(db: Any, n: int) -> list[uuid.UUID]:
    """``n`` patients called MARTIN Jeanne…, born on different days."""
    return _create(
        db,
        [
            patients.NewPatient(
                birth_name="MARTIN",
                birth_given_names=[f"Jeanne{i}"],
                birth_date=date(1950, 1, 1) + timedelta(days=i),
                sex="F",
            )
            for i in range(n)
        ],
    )


def api_search(client: Any, pro: Any, **body: Any) -> Any:
    return client.post("/api/v1/patients/search", headers=pro.headers, json=body)


def fhir_search(client: Any, pro: Any, **params: Any) -> Any:
    r = client.get(f"{FHIR}/Patient", headers=pro.headers, params=params)
    validate(r.json())
    return r


def fhir_post_search(client: Any, pro: Any, **params: Any) -> Any:
    r = client.post(f"{FHIR}/Patient/_search", headers={**pro.headers, **FORM}, data=params)
    validate(r.json())
    return r


def web_session(client: Any, persona: Any, target: str) -> Any:
    """``target`` opened logged in through a one-time web ticket (as MonSisra does)."""
    r = client.post("/api/v1/auth/web-ticket", headers=persona.headers, json={"target": target})
    assert r.status_code == 200, r.text
    return client.get("/web/ticket/" + r.json()["url"].split("/web/ticket/", 1)[1])


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def searches(db: Any, actor: uuid.UUID) -> list[AuditEvent]:
    with db() as s:
        return list(
            s.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "patient.search", AuditEvent.actor_id == actor)
                .order_by(AuditEvent.seq)
            )
        )


TOO_FEW = [
    {"q": "MA"},  # a name alone lists everybody called Ma…
    {"birth_date": "1950-01-05"},  # a birthday alone lists a class of age
    {"q": "M", "birth_date": "1950-01-05"},  # one letter
    {"q": "MA", "given": "JE"},  # name and first name of two letters
    {"q": "MAR", "given": "J"},
    {"given": "Jeanne"},
    {},
]
ENOUGH = [
    ({"q": "ma", "birth_date": "1950-01-02"}, 1),
    ({"q": "mar", "given": "jea"}, 3),
]


def test_too_few_traits_are_refused_on_every_route(app_client, make_pro, db):
    pro = make_pro()
    namesakes(db, 3)
    for body in TOO_FEW:
        r = api_search(app_client, pro, **body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["code"] == "search_too_broad"
        assert "Recherche trop large" in r.json()["message"]
    for body, expected in ENOUGH:
        r = api_search(app_client, pro, **body)
        assert r.status_code == 200 and len(r.json()) == expected, (body, r.text)
    fhir_names = {"q": "family", "given": "given", "birth_date": "birthdate"}
    for body in TOO_FEW:
        params = {fhir_names[k]: v for k, v in body.items()}
        for answer in (
            fhir_search(app_client, pro, **params),
            fhir_post_search(app_client, pro, **params),
        ):
            refused = outcome(answer, 400, "search_too_broad")
            assert "Recherche trop large" in refused["issue"][0]["diagnostics"], params
    for body, expected in ENOUGH:
        params = {fhir_names[k]: v for k, v in body.items()}
        assert fhir_search(app_client, pro, **params).json()["total"] == expected
        assert fhir_post_search(app_client, pro, **params).json()["total"] == expected
    # sex narrows a search, never makes one enough
    outcome(fhir_search(app_client, pro, family="MAR", gender="female"), 400, "search_too_broad")
    # the refusals are audited, with the kinds of traits asked and never their values
    rows = searches(db, pro.id)
    refused = [e for e in rows if e.outcome == "refused"]
    assert len(refused) == 3 * len(TOO_FEW) + 1
    assert all(e.details["reason"] == "recherche trop large" for e in refused)
    assert refused[0].details["criteria"] == ["nom"]
    assert all("MA" not in str(e.details) and "1950" not in str(e.details) for e in rows)


def test_the_web_search_needs_enough_traits_too(app_client, make_pro, db):
    pro = make_pro()
    namesakes(db, 3)
    page = web_session(app_client, pro, "/envoyer")
    assert page.status_code == 200
    csrf = csrf_of(page.text)
    too_broad = app_client.post("/envoyer", data={"q": "MA", "csrf": csrf})
    assert too_broad.status_code == 400
    assert "Recherche trop large" in too_broad.text and "Jeanne0" not in too_broad.text
    found = app_client.post("/envoyer", data={"q": "mar", "given": "jea", "csrf": csrf})
    assert found.status_code == 200 and "3 patients trouvés" in found.text
    # still a CSRF-checked form
    forged = app_client.post("/envoyer", data={"q": "mar", "given": "jea", "csrf": "x"})
    assert forged.status_code == 403


def test_a_search_returns_at_most_a_small_page(app_client, make_pro, db, settings):
    pro = make_pro()
    namesakes(db, 25)
    assert settings.patient_search_max_results == 20
    found = api_search(app_client, pro, q="martin", given="jeanne")
    assert found.status_code == 200 and len(found.json()) == 20
    # FHIR: 20 at most however asked, no paging past them, and the Bundle says to narrow it
    for answer in (
        fhir_search(app_client, pro, family="martin", given="jeanne", _count=100),
        fhir_post_search(app_client, pro, family="martin", given="jeanne", _count="100"),
    ):
        bundle = answer.json()
        assert answer.status_code == 200 and bundle["total"] == 20
        matches = [e for e in bundle["entry"] if e["search"]["mode"] == "match"]
        assert len(matches) == 20
        [warning] = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
        assert "Précisez la recherche" in warning["resource"]["issue"][0]["diagnostics"]
        assert "next" not in {link["relation"] for link in bundle["link"]}
    beyond = fhir_search(app_client, pro, family="martin", given="jeanne", _offset=20)
    assert "entry" not in beyond.json() or all(
        e["search"]["mode"] == "outcome" for e in beyond.json()["entry"]
    )
    paged = fhir_search(app_client, pro, family="martin", given="jeanne", _count=15)
    links = {link["relation"]: link["url"] for link in paged.json()["link"]}
    rest = app_client.get(links["next"], headers=pro.headers).json()
    assert len([e for e in rest["entry"] if e["search"]["mode"] == "match"]) == 5
    # the web page shows the first 20 and says so
    csrf = csrf_of(web_session(app_client, pro, "/envoyer").text)
    page = app_client.post("/envoyer", data={"q": "martin", "given": "jeanne", "csrf": csrf})
    assert "20 patients trouvés" in page.text and "Plus de 20 patients correspondent" in page.text
    [first, *_] = searches(db, pro.id)
    assert first.details["results"] == 20 and first.details["truncated"] is True
    assert first.details["criteria"] == ["nom", "prénom"]


def test_the_two_letter_enumeration_reaches_at_most_a_quarter_of_the_patients(
    app_client, make_pro, db
):
    """The security test's attack: FHIR ``Patient?family=XY`` over every two-letter prefix."""
    attacker = make_pro()
    everybody = {str(i) for i in region(db, 300)}
    seen: set[str] = set()
    answers: set[int] = set()
    for first in string.ascii_uppercase:
        for second in string.ascii_uppercase:
            r = app_client.get(
                f"{FHIR}/Patient", headers=attacker.headers, params={"family": first + second}
            )
            answers.add(r.status_code)
            if r.status_code == 200:
                seen |= {
                    e["resource"]["id"]
                    for e in r.json().get("entry", [])
                    if e["search"]["mode"] == "match"
                }
    assert len(seen & everybody) <= len(everybody) // 4, (len(seen), answers)


def test_searches_are_limited_per_professional_and_per_hour(app_client, make_pro, db, settings):
    settings.patient_search_per_hour = 5
    pro, colleague = make_pro(), make_pro()
    namesakes(db, 2)
    for _ in range(3):
        assert api_search(app_client, pro, q="mar", given="jea").status_code == 200
    assert fhir_search(app_client, pro, family="mar", given="jea").status_code == 200
    assert fhir_post_search(app_client, pro, family="mar", given="jea").status_code == 200
    over = api_search(app_client, pro, q="mar", given="jea")
    assert over.status_code == 429 and over.json()["code"] == "search_rate_limited"
    assert "limite de 5 recherches de patients par heure" in over.json()["message"]
    assert 1 <= over.json()["retry_after_minutes"] <= 60
    refused = outcome(fhir_search(app_client, pro, family="mar", given="jea"), 429)
    assert "Réessayez dans" in refused["issue"][0]["diagnostics"]
    assert api_search(app_client, colleague, q="mar", given="jea").status_code == 200
    rows = searches(db, pro.id)
    assert [e.outcome for e in rows] == ["ok"] * 5 + ["refused"] * 2
    assert rows[-1].details["reason"] == "plus de 5 recherches en une heure"


def test_the_hourly_limit_holds_under_a_burst(live_server, make_pro, db, settings):
    settings.patient_search_per_hour = 5
    pro = make_pro()
    namesakes(db, 2)
    results: list[int] = []
    barrier = threading.Barrier(12)

    def fire() -> None:
        with httpx.Client(base_url=live_server.url, timeout=60, headers=pro.headers) as client:
            barrier.wait()
            r = client.post("/api/v1/patients/search", json={"q": "mar", "given": "jea"})
            results.append(r.status_code)

    threads = [threading.Thread(target=fire) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(results) == [200] * 5 + [429] * 7
    assert [e.outcome for e in searches(db, pro.id)].count("ok") == 5


def test_fhir_search_by_post_takes_a_form_body(app_client, make_pro, db):
    pro = make_pro()
    ins = with_key("2690469123045")
    with db() as session:
        patients.create(
            session,
            SYSTEM,
            patients.NewPatient(
                birth_name="LEFÈVRE",
                birth_given_names=["Hélène"],
                birth_date=date(1969, 4, 12),
                sex="F",
                ins=ins,
                ins_oid=OID_NIR_TEST,
                identity_status="qualifiée",
            ),
        )
    by_traits = fhir_post_search(app_client, pro, family="lef", birthdate="1969-04-12")
    assert by_traits.status_code == 200 and by_traits.json()["total"] == 1
    by_get = fhir_search(app_client, pro, family="lef", birthdate="1969-04-12").json()
    assert by_traits.json()["entry"] == by_get["entry"]
    by_ins = fhir_post_search(app_client, pro, identifier=ins)
    assert by_ins.json()["total"] == 1
    # a JSON body is not read as an empty search
    r = app_client.post(f"{FHIR}/Patient/_search", headers=pro.headers, json={"family": "lef"})
    outcome(r, 415, "unsupported_media_type")
    assert [e.details.get("by") for e in searches(db, pro.id)] == ["traits", "traits", "ins"]


@pytest.mark.parametrize("route", ["api", "fhir", "fhir_post"])
def test_only_logged_in_professionals_search(app_client, make_pro, route):
    admin = make_pro(role=Role.administrator)
    calls = {
        "api": lambda h: app_client.post(
            "/api/v1/patients/search", headers=h, json={"q": "mar", "given": "jea"}
        ),
        "fhir": lambda h: app_client.get(
            f"{FHIR}/Patient", headers=h, params={"family": "mar", "given": "jea"}
        ),
        "fhir_post": lambda h: app_client.post(
            f"{FHIR}/Patient/_search", headers={**h, **FORM}, data={"family": "mar"}
        ),
    }
    assert calls[route]({}).status_code == 401
    assert calls[route](admin.headers).status_code == 403

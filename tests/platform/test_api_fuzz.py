"""Property-based fuzzing of the whole API from its own OpenAPI schema (schemathesis).

Every operation of ``/openapi.json`` — new routes are picked up without touching this file —
receives generated requests, valid and invalid (NUL characters, huge integers, odd headers…),
as three personas: anonymous, a professional and an administrator, on a seeded database (a
patient, documents received and sent, audit rows). Each answer must be:

- never a server error (5xx);
- a status code the schema documents for the operation;
- a body conforming to the documented schema, with the documented content type.

Deterministic (Hypothesis ``derandomize``), so a run in CI is the same as on a laptop. At least
``sum(MIN_REQUESTS.values())`` (≥ 5,000) generated requests per database.

Left out: the professional's ``GET /api/v1/events`` (an open Server-Sent Events stream has no
end to check); its inputs are fuzzed here for the other personas and tested in test_events.py.
"""

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sisra.platform.auth import service as auth
from sisra.platform.context import SYSTEM
from sisra.platform.models import Professional, Role
from sisra.platform.settings import Settings
from support.personas import Persona

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# Generated requests each persona must have sent (the total is what CI guarantees).
MIN_REQUESTS = {"anonymous": 1750, "professional": 1750, "administrator": 1750}
assert sum(MIN_REQUESTS.values()) >= 5000
# Per operation and generation mode (valid, invalid, and valid with ids that exist).
EXAMPLES_PER_OPERATION = int(os.environ.get("SISRA_FUZZ_EXAMPLES", "40"))

# Calls that end the persona's session: the next case logs in again.
_SESSION_ENDING = ("POST /api/v1/auth/logout", "DELETE /api/v1/auth/devices/{device_id}")


@dataclass
class Target:
    """The app under test, its schema, and the persona that calls it."""

    persona: str
    client: TestClient
    login: Callable[[], dict[str, str]]
    headers: dict[str, str] = field(default_factory=dict)
    session: Any = None  # one in-process client for the whole run
    sent: int = 0

    def renew(self) -> None:
        self.headers = self.login()


def _seed(make_pro: Any, make_patient: Any, share: Any, pdf: Any, client: TestClient) -> Persona:
    """A professional with documents received and sent about a patient; returns them."""
    pro = make_pro("fuzz.pro", first_name="Inès", last_name="Roux")
    colleague = make_pro("fuzz.colleague", first_name="Hugo", last_name="Blanc")
    patient = make_patient("DUPONT", "Jeanne")
    for n in range(2):
        r = share(client, colleague, patient, [pro], pdf(f"Reçu {n}"), title=f"Reçu n°{n}")
        assert r.status_code == 201, r.text
    r = share(client, pro, patient, [colleague], pdf("Envoyé"), title="Envoyé")
    assert r.status_code == 201, r.text
    return pro


@pytest.fixture(params=list(MIN_REQUESTS))
def fuzz_target(
    request: pytest.FixtureRequest,
    app_client: TestClient,
    make_pro: Any,
    make_patient: Any,
    share: Any,
    pdf: Any,
    db: Any,
    settings: Settings,
) -> Target:
    persona: str = request.param
    pro = _seed(make_pro, make_patient, share, pdf, app_client)
    persona_id = {"professional": pro.id}.get(persona)
    if persona == "administrator":
        persona_id = make_pro("fuzz.admin", role=Role.administrator, log_in=False).id

    def login() -> dict[str, str]:
        # Straight through the service: the fuzzing's failed logins throttle the API's login.
        if persona_id is None:
            return {}
        with db() as session:
            pro = session.get(Professional, persona_id)
            pair = auth.enrol(session, settings, SYSTEM, pro, "otp", "Fuzz")
        return {"Authorization": f"Bearer {pair.access_token}"}

    target = Target(persona, app_client, login)
    target.renew()
    return target


def _known_ids(target: Target) -> dict[str, str]:
    """Path parameters that exist, so generated requests also reach past the 404."""
    c, h = target.client, target.headers
    ids: dict[str, str] = {}
    me = c.get("/api/v1/me", headers=h)
    if me.status_code == 200:
        ids["professional_id"] = me.json()["id"]
    devices = c.get("/api/v1/auth/devices", headers=h)
    if devices.status_code == 200 and devices.json():
        ids["device_id"] = devices.json()[0]["id"]
    inbox = c.get("/api/v1/inbox", headers=h)
    if inbox.status_code == 200 and inbox.json()["items"]:
        item = inbox.json()["items"][0]
        ids["notification_id"] = item["id"]
        ids["document_id"] = item["document"]["id"]
        ids["patient_id"] = item["patient"]["id"]
    return ids


# The generated cases of each (operation, plan), kept by the first persona's test in this worker
# for the two others to replay: generating is about 70 % of this test's time, and the three
# personas got the same cases anyway (Hypothesis is derandomized from the same function). Only
# a plan that ran to its end is kept; a failing one is generated again by the next persona.
_CASES: dict[tuple[str, str], list[dict[str, Any]]] = {}


def _snapshot(case: Any) -> dict[str, Any]:
    """What rebuilds ``case`` on another persona's app (its operation is bound to this one)."""
    data = copy.deepcopy(
        {
            "method": case.method,
            "path_parameters": case.path_parameters,
            "headers": dict(case.headers) if case.headers is not None else None,
            "cookies": case.cookies,
            "query": case.query,
            "media_type": case.media_type,
            "multipart_content_types": case.multipart_content_types,
            "_meta": case._meta,
        }
    )
    if not isinstance(case.body, NotSet):  # the singleton: « no body » is told by identity
        data["body"] = copy.deepcopy(case.body)
    return data


def _send(target: Target, case: Any) -> None:
    target.sent += 1
    response = case.call(headers=target.headers, session=target.session)
    case.validate_response(response, checks=CHECKS)
    label = f"{case.method.upper()} {case.path}"
    if label in _SESSION_ENDING and response.status_code < 300:
        target.renew()


def _fuzz(
    target: Target,
    operation: Any,
    plan: tuple[str, Any],
    existing: dict[str, str] | None = None,
) -> None:
    mode, strategy = plan
    key = (operation.label, mode)
    cached = _CASES.get(key)
    if cached is not None:
        for data in cached:
            data = {k: v if k == "body" else copy.deepcopy(v) for k, v in data.items()}
            if existing is not None:  # this persona's ids, not the first one's
                data["path_parameters"] = {**(data["path_parameters"] or {}), **existing}
            _send(target, operation.Case(**data))
        return
    recorded: list[dict[str, Any]] = []

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        recorded.append(_snapshot(case))
        _send(target, case)

    try:
        run()
    except Unsatisfiable:
        _CASES[key] = []  # no such request exists (an invalid one for an operation without inputs)
        raise
    _CASES[key] = recorded


def _describe(exc: BaseException) -> str:
    """The failure and, for a group, each of its causes (Hypothesis wraps them)."""
    parts = [str(exc)]
    for sub in getattr(exc, "exceptions", ()):
        parts.append(_describe(sub))
    if exc.__cause__ is not None:
        parts.append(_describe(exc.__cause__))
    return "\n".join(parts)


# Every operation of the API with 40 examples each: about 100 s for the first persona alone,
# and up to three times that when `make test` runs its four workers side by side; the others
# replay its cases (``_CASES``), so the three run on one worker.
@pytest.mark.timeout(900)
@pytest.mark.xdist_group("fuzz")
def test_api_fuzz(fuzz_target: Target) -> None:
    target = fuzz_target
    schema = schemathesis.openapi.from_asgi("/openapi.json", target.client.app)
    known = _known_ids(target)
    with asgi.get_client(target.client.app) as target.session:
        failures, operations = _fuzz_all(target, schema, known)
    assert operations >= 20, "the schema lost its operations"
    _check_run(target, failures, operations)


def _fuzz_all(target: Target, schema: Any, known: dict[str, str]) -> tuple[list[str], int]:
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if target.persona == "professional" and operation.path == "/api/v1/events":
            continue
        operations += 1
        plans = [
            (mode.value, operation.as_strategy(generation_mode=mode)) for mode in GenerationMode
        ]
        names = [p.name for p in operation.path_parameters]
        existing = {n: known[n] for n in names if n in known}
        if names and len(existing) == len(names):
            plans.append(("existing", operation.as_strategy(path_parameters=existing)))
        for mode, strategy in plans:
            try:
                _fuzz(target, operation, (mode, strategy), existing if mode == "existing" else None)
            except Unsatisfiable:
                pass  # no invalid request exists for an operation without inputs
            except Exception as exc:  # every operation is fuzzed, then all failures shown
                failures.append(f"{operation.label} [{mode}]: {_describe(exc)}")
    return failures, operations


def _check_run(target: Target, failures: list[str], operations: int) -> None:
    assert not failures, "\n\n".join(failures)
    print(f"{target.persona}: {target.sent} generated requests, {operations} operations")
    wanted = MIN_REQUESTS[target.persona]
    assert target.sent >= wanted, f"only {target.sent} generated requests (at least {wanted})"

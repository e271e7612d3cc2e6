"""The regional record's access policy, persona by persona, and break-glass."""

import pytest
from sqlalchemy import select

from sisra.platform.models import AuditEvent, Role
from support.documents import share_request


def share(client, sender, patient_id, recipients, data, restricted=False):
    r = share_request(client, sender, patient_id, recipients, data, restricted=restricted)
    assert r.status_code == 201, r.text
    return r.json()["document"]["id"]


@pytest.fixture
def world(app_client, make_pro, make_patient, pdf):
    """GP shares an open and a restricted document; the recipient shares another one with a
    colleague; a fifth professional declared a care relationship; an outsider and an
    administrator have neither document nor membership."""
    author, recipient, colleague, outsider = make_pro(), make_pro(), make_pro(), make_pro()
    member = make_pro()
    admin = make_pro("admin", role=Role.administrator)
    patient = make_patient()
    open_doc = share(app_client, author, patient, [recipient], pdf("ouvert"))
    secret_doc = share(app_client, author, patient, [recipient], pdf("secret"), restricted=True)
    team_doc = share(app_client, recipient, patient, [colleague], pdf("équipe"))
    r = app_client.post(
        f"/api/v1/patients/{patient}/care-team",
        headers=member.headers,
        json={"attestation": True, "reason": "consultation", "consent": True},
    )
    assert r.status_code == 201, r.text
    return {
        "member": member,
        "author": author,
        "recipient": recipient,
        "colleague": colleague,
        "outsider": outsider,
        "admin": admin,
        "patient": patient,
        "open": open_doc,
        "secret": secret_doc,
        "team": team_doc,
    }


EXPECTED = {
    # authoring or receiving opens that document only, never the rest of the record
    "author": {"open", "secret"},
    "recipient": {"open", "secret", "team"},
    "colleague": {"team"},
    "member": {"open", "team"},  # declared: the record, but not the restricted document
    "outsider": set(),
    "admin": set(),
}


@pytest.mark.parametrize("persona", list(EXPECTED))
def test_each_persona_sees_what_the_policy_allows(app_client, world, persona):
    who = world[persona]
    record = app_client.get(f"/api/v1/patients/{world['patient']}/documents", headers=who.headers)
    if not EXPECTED[persona]:
        assert record.status_code == 403
        assert record.json()["code"] in ("not_in_care_team", "professionals_only")
    else:
        assert record.status_code == 200
        ids = {d["id"] for d in record.json()["documents"]}
        assert ids == {world[k] for k in EXPECTED[persona]}
        assert record.json()["care_team"] is (persona == "member")
    for key in ("open", "secret", "team"):
        content = app_client.get(f"/api/v1/documents/{world[key]}/content", headers=who.headers)
        meta = app_client.get(f"/api/v1/documents/{world[key]}", headers=who.headers)
        allowed = key in EXPECTED[persona]
        assert (content.status_code == 200) is allowed, (persona, key, content.text[:200])
        assert (meta.status_code == 200) is allowed
        if not allowed:
            assert content.status_code == 403


def test_refusals_are_audited(app_client, world, db):
    app_client.get(
        f"/api/v1/patients/{world['patient']}/documents", headers=world["outsider"].headers
    )
    app_client.get(f"/api/v1/documents/{world['open']}/content", headers=world["outsider"].headers)
    with db() as s:
        refused = s.scalars(
            select(AuditEvent).where(
                AuditEvent.outcome == "refused", AuditEvent.actor_id == world["outsider"].id
            )
        ).all()
    assert {r.action for r in refused} == {"record.read", "document.download"}
    assert all(r.patient_id == world["patient"] for r in refused)


def test_break_glass_opens_the_record_with_a_reason_and_is_flagged(app_client, world, db):
    outsider, patient = world["outsider"], world["patient"]
    short = app_client.post(
        f"/api/v1/patients/{patient}/break-glass", headers=outsider.headers, json={"reason": "x"}
    )
    assert short.status_code == 422 and short.json()["code"] == "reason_required"
    reason = "Patient inconscient aux urgences, besoin des antécédents cardiaques"
    r = app_client.post(
        f"/api/v1/patients/{patient}/break-glass", headers=outsider.headers, json={"reason": reason}
    )
    assert r.status_code == 201
    record = app_client.get(f"/api/v1/patients/{patient}/documents", headers=outsider.headers)
    assert record.status_code == 200 and record.json()["break_glass"] is True
    assert {d["id"] for d in record.json()["documents"]} == {
        world["open"],
        world["secret"],
        world["team"],
    }
    with db() as s:
        flagged = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "record.break_glass")
        ).one()
    assert flagged.outcome == "emergency" and flagged.details["reason"] == reason
    # administrators cannot break the glass: they never read clinical content
    r = app_client.post(
        f"/api/v1/patients/{patient}/break-glass",
        headers=world["admin"].headers,
        json={"reason": reason},
    )
    assert r.status_code == 403

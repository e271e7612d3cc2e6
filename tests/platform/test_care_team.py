"""Explicit care team: the reported attack, declarations, administrators, audit, backfill."""

import importlib.util
import threading
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from sisra.platform.migrate import MIGRATIONS
from sisra.platform.models import AuditEvent, CareTeamHow, CareTeamMember, Role
from support.documents import share_request

DECLARE = {
    "attestation": True,
    "reason": "consultation",
    "consent": True,
    "context": "suivi de médecine générale",
}


def share(client, sender, patient_id, recipients, data, restricted=False) -> str:
    r = share_request(client, sender, patient_id, recipients, data, restricted=restricted)
    assert r.status_code == 201, r.text
    return r.json()["document"]["id"]


def record_ids(client, who, patient) -> tuple[int, set[str]]:
    r = client.get(f"/api/v1/patients/{patient}/documents", headers=who.headers)
    return r.status_code, (
        {d["id"] for d in r.json()["documents"]} if r.status_code == 200 else set()
    )


def content(client, who, doc):
    return client.get(f"/api/v1/documents/{doc}/content", headers=who.headers)


def audit_rows(db, action: str) -> list[AuditEvent]:
    with db() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.fixture
def ward(app_client, make_pro, make_patient, pdf):
    """Patient P: the GP and the cardiologist exchanged two documents; nobody declared."""
    gp, cardio = make_pro(), make_pro()
    admin = make_pro("admin", role=Role.administrator)
    patient = make_patient()
    letter = share(app_client, gp, patient, [cardio], pdf("courrier"))
    report = share(app_client, cardio, patient, [gp], pdf("compte rendu"))
    return {
        "gp": gp,
        "cardio": cardio,
        "admin": admin,
        "patient": patient,
        "docs": [letter, report],
    }


def test_the_reported_attack_is_refused(app_client, ward, make_pro, pdf, db):
    """An outsider sends a one-page PDF about P to a colleague, then reads P's record."""
    outsider, accomplice = make_pro(), make_pro()
    patient = ward["patient"]
    own = share(app_client, outsider, patient, [accomplice], pdf("une page"))
    for who in (outsider, accomplice):
        status, ids = record_ids(app_client, who, patient)
        assert status == 200 and ids == {own}
        assert content(app_client, who, own).status_code == 200
        for doc in ward["docs"]:
            refused = content(app_client, who, doc)
            assert refused.status_code == 403
            body = refused.json()
            assert body["code"] == "not_in_care_team"
            assert "Je déclare prendre en charge ce patient" in body["message"]
            assert "bris de glace" in body["message"]
            assert body["declare_url"] == f"/api/v1/patients/{patient}/care-team"
            meta = app_client.get(f"/api/v1/documents/{doc}", headers=who.headers)
            assert meta.status_code == 403
    # the record listing said they are not in the care team, and nothing was read as such
    r = app_client.get(f"/api/v1/patients/{patient}/documents", headers=outsider.headers)
    assert r.json()["care_team"] is False
    with db() as s:
        grounds = {
            e.details.get("grounds")
            for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "document.download"))
        }
        assert "care_team" not in grounds
        assert s.scalar(select(func.count()).select_from(CareTeamMember)) == 0


def test_nothing_at_all_is_a_403_with_the_hint(app_client, ward, make_pro):
    stranger = make_pro()
    r = app_client.get(f"/api/v1/patients/{ward['patient']}/documents", headers=stranger.headers)
    assert r.status_code == 403
    assert r.json()["code"] == "not_in_care_team"
    assert "déclarez-le" in r.json()["message"]


def test_a_declared_member_reads_the_record_until_an_admin_removes_them(
    app_client, ward, make_pro, db
):
    member, patient, admin = make_pro(), ward["patient"], ward["admin"]
    r = app_client.post(
        f"/api/v1/patients/{patient}/care-team", headers=member.headers, json=DECLARE
    )
    assert r.status_code == 201, r.text
    assert r.json()["how"] == "declared" and r.json()["professional_id"] == str(member.id)
    assert "J'atteste prendre en charge ce patient" in r.json()["attestation"]
    again = app_client.post(
        f"/api/v1/patients/{patient}/care-team", headers=member.headers, json=DECLARE
    )
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]
    status, ids = record_ids(app_client, member, patient)
    assert status == 200 and ids == set(ward["docs"])
    assert content(app_client, member, ward["docs"][0]).status_code == 200

    removed = app_client.delete(
        f"/api/v1/patients/{patient}/care-team/members/{member.id}",
        headers=admin.headers,
        params={"reason": "Déclaration sans prise en charge réelle"},
    )
    assert removed.status_code == 204, removed.text
    assert record_ids(app_client, member, patient)[0] == 403
    assert content(app_client, member, ward["docs"][0]).status_code == 403

    declared = audit_rows(db, "care_team.declare")
    assert [e.actor_id for e in declared] == [member.id, member.id]
    assert [e.outcome for e in declared] == ["ok", "renewed"]
    assert "suivi de médecine générale" in declared[0].details["attestation"]
    (removal,) = audit_rows(db, "care_team.remove")
    assert removal.actor_id == admin.id and removal.patient_id == patient
    assert removal.details["professional_id"] == str(member.id)
    assert removal.details["reason"] == "Déclaration sans prise en charge réelle"


def test_a_member_who_leaves_no_longer_reads_the_record(app_client, ward, make_pro, db):
    member, patient = make_pro(), ward["patient"]
    app_client.post(f"/api/v1/patients/{patient}/care-team", headers=member.headers, json=DECLARE)
    assert record_ids(app_client, member, patient)[0] == 200
    left = app_client.delete(f"/api/v1/patients/{patient}/care-team/me", headers=member.headers)
    assert left.status_code == 204
    assert record_ids(app_client, member, patient)[0] == 403
    twice = app_client.delete(f"/api/v1/patients/{patient}/care-team/me", headers=member.headers)
    assert twice.status_code == 404 and twice.json()["code"] == "not_a_member"
    (row,) = audit_rows(db, "care_team.leave")
    assert row.actor_id == member.id and row.details["how"] == "declared"
    with db() as s:
        (m,) = s.scalars(select(CareTeamMember)).all()
        assert m.ended_at is not None and m.ended_by_id == member.id


def test_restricted_documents_stay_with_author_and_recipients(app_client, ward, make_pro, pdf):
    member, patient = make_pro(), ward["patient"]
    secret = share(
        app_client, ward["gp"], patient, [ward["cardio"]], pdf("secret"), restricted=True
    )
    app_client.post(f"/api/v1/patients/{patient}/care-team", headers=member.headers, json=DECLARE)
    status, ids = record_ids(app_client, member, patient)
    assert status == 200 and secret not in ids and ids == set(ward["docs"])
    refused = content(app_client, member, secret)
    assert refused.status_code == 403 and refused.json()["code"] == "document_restricted"
    assert content(app_client, ward["cardio"], secret).status_code == 200
    # break-glass still opens everything, restricted included
    reason = "Patient inconscient aux urgences, antécédents nécessaires"
    r = app_client.post(
        f"/api/v1/patients/{patient}/break-glass", headers=member.headers, json={"reason": reason}
    )
    assert r.status_code == 201
    assert content(app_client, member, secret).status_code == 200


def test_break_glass_still_opens_the_record_of_a_non_member(app_client, ward, make_pro, db):
    stranger, patient = make_pro(), ward["patient"]
    reason = "Patient inconscient aux urgences, antécédents nécessaires"
    app_client.post(
        f"/api/v1/patients/{patient}/break-glass", headers=stranger.headers, json={"reason": reason}
    )
    r = app_client.get(f"/api/v1/patients/{patient}/documents", headers=stranger.headers)
    assert r.status_code == 200 and r.json()["break_glass"] is True
    assert r.json()["care_team"] is False
    assert {d["id"] for d in r.json()["documents"]} == set(ward["docs"])
    with db() as s:
        assert s.scalar(select(func.count()).select_from(CareTeamMember)) == 0


def test_declarations_are_checked(app_client, ward, make_pro):
    pro, patient = make_pro(), ward["patient"]
    url = f"/api/v1/patients/{patient}/care-team"
    no_box = app_client.post(url, headers=pro.headers, json={**DECLARE, "attestation": False})
    assert no_box.status_code == 422 and no_box.json()["code"] == "attestation_required"
    short = app_client.post(url, headers=pro.headers, json={**DECLARE, "context": " ab "})
    assert short.status_code == 422 and short.json()["code"] == "care_context_required"
    for_other = app_client.post(
        url, headers=pro.headers, json={**DECLARE, "professional_id": str(ward["gp"].id)}
    )
    assert for_other.status_code == 403 and for_other.json()["code"] == "declare_for_self_only"
    admin = app_client.post(url, headers=ward["admin"].headers, json=DECLARE)
    assert admin.status_code == 403
    unknown = app_client.post(
        "/api/v1/patients/00000000-0000-0000-0000-000000000000/care-team",
        headers=pro.headers,
        json=DECLARE,
    )
    assert unknown.status_code == 404
    assert record_ids(app_client, pro, patient)[0] == 403


def test_only_administrators_add_or_remove_others(app_client, ward, make_pro, db):
    pro, target, patient, admin = make_pro(), make_pro(), ward["patient"], ward["admin"]
    members = f"/api/v1/patients/{patient}/care-team/members"
    body = {"professional_id": str(target.id), "reason": "Remplaçant du médecin traitant"}
    for who in (pro, ward["gp"]):  # an outsider, and even a member with documents
        r = app_client.post(members, headers=who.headers, json=body)
        assert r.status_code == 403 and r.json()["code"] == "admin_only"
        r = app_client.delete(
            f"{members}/{ward['cardio'].id}", headers=who.headers, params={"reason": "au revoir"}
        )
        assert r.status_code == 403 and r.json()["code"] == "admin_only"
    assert record_ids(app_client, target, patient)[0] == 403
    refused = [e for e in audit_rows(db, "care_team.add") if e.outcome == "refused"]
    assert {e.actor_id for e in refused} == {pro.id, ward["gp"].id}

    no_reason = app_client.post(members, headers=admin.headers, json={**body, "reason": ""})
    assert no_reason.status_code == 422 and no_reason.json()["code"] == "reason_required"
    added = app_client.post(members, headers=admin.headers, json=body)
    assert added.status_code == 201 and added.json()["how"] == "admin"
    assert added.json()["added_by_name"] == admin.name
    assert record_ids(app_client, target, patient)[0] == 200
    (row,) = [e for e in audit_rows(db, "care_team.add") if e.outcome == "ok"]
    assert row.actor_id == admin.id and row.details["reason"] == body["reason"]
    assert row.details["professional_id"] == str(target.id)
    not_member = app_client.delete(
        f"{members}/{pro.id}", headers=admin.headers, params={"reason": "pas membre"}
    )
    assert not_member.status_code == 404


def test_the_team_is_listed_for_members_and_declarations_per_professional_for_admins(
    app_client, ward, make_pro, make_patient
):
    declarer, other_patient = make_pro(), make_patient("MARTIN")
    patient, admin = ward["patient"], ward["admin"]
    for p in (patient, other_patient):
        r = app_client.post(
            f"/api/v1/patients/{p}/care-team", headers=declarer.headers, json=DECLARE
        )
        assert r.status_code == 201
    app_client.post(
        f"/api/v1/patients/{patient}/care-team/members",
        headers=admin.headers,
        json={"professional_id": str(ward["gp"].id), "reason": "Médecin traitant déclaré"},
    )
    team = app_client.get(f"/api/v1/patients/{patient}/care-team", headers=declarer.headers)
    assert team.status_code == 200
    how = {m["professional_id"]: m["how_label"] for m in team.json()["members"]}
    assert how == {
        str(declarer.id): "déclaré par le professionnel",
        str(ward["gp"].id): "ajouté par un administrateur",
    }
    # the cardiologist has documents but is not a member: no team list for them
    assert (
        app_client.get(
            f"/api/v1/patients/{patient}/care-team", headers=ward["cardio"].headers
        ).status_code
        == 403
    )
    per_pro = app_client.get(
        "/api/v1/care-team", headers=admin.headers, params={"professional_id": str(declarer.id)}
    )
    assert per_pro.status_code == 200
    assert {m["patient_id"] for m in per_pro.json()} == {str(patient), str(other_patient)}
    assert all(m["how"] == "declared" for m in per_pro.json())
    assert app_client.get("/api/v1/care-team", headers=declarer.headers).status_code == 403


def test_simultaneous_declarations_make_one_membership(live_server, ward, make_pro, db):
    pro, patient = make_pro(), ward["patient"]
    answers: list[int] = []
    barrier = threading.Barrier(6)

    def declare() -> None:
        with httpx.Client(base_url=live_server.url, timeout=30) as c:
            barrier.wait()
            r = c.post(f"/api/v1/patients/{patient}/care-team", headers=pro.headers, json=DECLARE)
            answers.append(r.status_code)

    threads = [threading.Thread(target=declare) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers).count(201) == 1 and set(answers) <= {200, 201}, answers
    with db() as s:
        assert s.scalar(select(func.count()).select_from(CareTeamMember)) == 1


def _migration() -> Any:
    path = MIGRATIONS / "versions" / "0003_care_team.py"
    spec = importlib.util.spec_from_file_location("migration_0003", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_backfill_keeps_existing_access(app_client, ward, make_pro, pdf, engine, db):
    """Members derived from history: every author and recipient, since their first document."""
    third = make_pro()
    patient = ward["patient"]
    share(app_client, ward["gp"], patient, [third], pdf("adressage"))
    declared = make_pro()
    app_client.post(f"/api/v1/patients/{patient}/care-team", headers=declared.headers, json=DECLARE)
    backfill = _migration().backfill_from_history
    with engine.begin() as conn:
        assert backfill(conn) == 3  # gp, cardio, third; the declared one already is a member
        assert backfill(conn) == 0  # idempotent
    with db() as s:
        rows = {m.professional_id: m for m in s.scalars(select(CareTeamMember))}
    assert set(rows) == {ward["gp"].id, ward["cardio"].id, third.id, declared.id}
    assert {rows[p].how for p in (ward["gp"].id, ward["cardio"].id, third.id)} == {
        CareTeamHow.history
    }
    assert rows[ward["gp"].id].since <= rows[third.id].since
    status, ids = record_ids(app_client, third, patient)
    assert status == 200 and set(ward["docs"]) <= ids


def test_an_identity_merge_keeps_one_membership_per_professional(
    app_client, make_pro, make_patient, db
):
    from sisra.platform.context import SYSTEM
    from sisra.platform.patients import merge as merging

    both, only_removed = make_pro(), make_pro()
    keep, remove = make_patient("DOUBLON"), make_patient("DOUBLON")
    for who, patient in ((both, keep), (both, remove), (only_removed, remove)):
        r = app_client.post(
            f"/api/v1/patients/{patient}/care-team", headers=who.headers, json=DECLARE
        )
        assert r.status_code == 201
    with db() as s:
        merging.merge(s, SYSTEM, keep, remove, "Même patiente, créée deux fois")
    with db() as s:
        rows = list(s.scalars(select(CareTeamMember).where(CareTeamMember.patient_id == keep)))
    open_rows = Counter(m.professional_id for m in rows if m.ended_at is None)
    assert open_rows == {both.id: 1, only_removed.id: 1}
    assert len(rows) == 3  # the duplicate membership is ended, not deleted
    for who in (both, only_removed):
        r = app_client.get(f"/api/v1/patients/{keep}/documents", headers=who.headers)
        assert r.status_code == 200 and r.json()["care_team"] is True


def test_upgrading_an_existing_installation_keeps_its_access(tmp_path):
    """A real upgrade 0002 → head on a database that holds documents (its own SQLite file)."""
    import uuid
    from datetime import UTC, date, datetime

    import sqlalchemy as sa

    from sisra.platform.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0002")
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine, only=["professionals", "patients", "documents", "notifications"])
    t = meta.tables
    gp, cardio, stranger, patient, doc = (uuid.uuid4() for _ in range(5))
    first, later = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)

    def hexid(u: uuid.UUID) -> str:
        return u.hex  # how the Uuid type stores ids on SQLite

    with engine.begin() as conn:
        for n, pro in enumerate((gp, cardio, stranger)):
            conn.execute(
                t["professionals"]
                .insert()
                .values(
                    id=hexid(pro),
                    first_name="Camille",
                    last_name=f"Martin{n}",
                    profession="Médecin",
                    email=f"p{n}@demo.sisra.test",
                    login=f"p{n}",
                    role="professional",
                    active=True,
                    search_text=f"camille martin{n}",
                    created_at=first.replace(tzinfo=None),
                )
            )
        conn.execute(
            t["patients"]
            .insert()
            .values(
                id=hexid(patient),
                birth_name="DUPONT",
                birth_given_names=["Jeanne"],
                first_given_name="Jeanne",
                birth_date=date(1950, 1, 1),
                sex="F",
                identity_status="provisoire",
                birth_name_fold="dupont",
                first_given_name_fold="jeanne",
                created_at=first.replace(tzinfo=None),
            )
        )
        conn.execute(
            t["documents"]
            .insert()
            .values(
                id=hexid(doc),
                patient_id=hexid(patient),
                author_id=hexid(gp),
                title="Courrier",
                type_code="courrier",
                loinc="57133-1",
                clinical_date=date(2026, 1, 5),
                sha256="0" * 64,
                size=1,
                page_count=1,
                blob_key="k",
                wrapped_key=b"k",
                restricted=False,
                created_at=first.replace(tzinfo=None),
            )
        )
        conn.execute(
            t["notifications"]
            .insert()
            .values(
                id=hexid(uuid.uuid4()),
                seq=1,
                document_id=hexid(doc),
                recipient_id=hexid(cardio),
                sender_id=hexid(gp),
                created_at=later.replace(tzinfo=None),
            )
        )
    upgrade(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT professional_id, how, since, ended_at FROM care_team_members")
        ).all()
    engine.dispose()
    by_pro = {uuid.UUID(r[0]): r for r in rows}
    assert set(by_pro) == {gp, cardio}  # the stranger had no document: not a member
    assert all(r[1] == "history" and r[3] is None for r in rows)
    assert str(by_pro[gp][2]).startswith("2026-01-05")
    assert str(by_pro[cardio][2]).startswith("2026-03-01")

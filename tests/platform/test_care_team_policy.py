"""Care-team declarations are not a key to every record (decisions 117-119).

The reported attack: one request with a token reason (« ..... ») opened the whole record,
forever, with no limit and no notice; leaving hid the reader from the team. Here: a reason
from a closed list and the patient's consent, a limit per hour and day that holds under a
parallel burst (refusals audited and shown to the administrators), expiry and renewal, the
notice on the record page and in the daily digest (claimed once), and past members listed.
"""

import html
import threading
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select, update

from sisra.platform.db import make_session_factory
from sisra.platform.models import (
    AuditEvent,
    CareTeamDigest,
    CareTeamMember,
    Role,
    utcnow,
)
from sisra.platform.record.digest import send_digests

PARIS = ZoneInfo("Europe/Paris")  # the default SISRA_TIMEZONE

DECLARE = {
    "attestation": True,
    "reason": "consultation",
    "consent": True,
    "context": "suivi de médecine générale",
}


def declare(client: Any, who: Any, patient: Any, body: dict[str, Any] | None = None) -> Any:
    return client.post(
        f"/api/v1/patients/{patient}/care-team", headers=who.headers, json=body or DECLARE
    )


def record_status(client: Any, who: Any, patient: Any) -> int:
    return int(client.get(f"/api/v1/patients/{patient}/documents", headers=who.headers).status_code)


def web_get(client: Any, who: Any, target: str) -> str:
    """``target``'s HTML, logged in on the web through a one-time ticket (as MonSisra does)."""
    r = client.post("/api/v1/auth/web-ticket", headers=who.headers, json={"target": target})
    assert r.status_code == 200, r.text
    page = client.get("/web/ticket/" + r.json()["url"].split("/web/ticket/", 1)[1])
    assert page.status_code == 200, page.text
    return html.unescape(page.text)


@pytest.fixture
def team(app_client, make_pro, make_patient):
    """Patient P and their regular doctor, added to the team by an administrator."""
    gp = make_pro(first_name="Hélène", last_name="Traitant")
    admin = make_pro("admin", role=Role.administrator)
    patient = make_patient("LAMBERT", "Louise")
    added = app_client.post(
        f"/api/v1/patients/{patient}/care-team/members",
        headers=admin.headers,
        json={"professional_id": str(gp.id), "reason": "Médecin traitant déclaré"},
    )
    assert added.status_code == 201, added.text
    return {"gp": gp, "admin": admin, "patient": patient}


# --- a real reason -------------------------------------------------------------------------


def test_the_token_reason_of_the_attack_is_refused_in_french(app_client, team, make_pro, db):
    attacker, patient = make_pro(), team["patient"]
    # the exact request of the report
    old = declare(app_client, attacker, patient, {"attestation": True, "context": "....."})
    assert old.status_code == 422 and old.json()["code"] == "care_reason_required"
    assert "Choisissez le motif" in old.json()["message"]
    for token in (".....", "...............", "aaaaaaaaaaaaaaaaaaaa", "1234567890123456", "ab"):
        r = declare(app_client, attacker, patient, {**DECLARE, "reason": "autre", "context": token})
        assert r.status_code == 422, (token, r.text)
        assert r.json()["code"] == "care_context_required"
        assert "au moins 15 caractères" in r.json()["message"]
    no_consent = declare(app_client, attacker, patient, {**DECLARE, "consent": False})
    assert no_consent.status_code == 422 and no_consent.json()["code"] == "consent_required"
    unknown = declare(app_client, attacker, patient, {**DECLARE, "reason": "curiosite"})
    assert unknown.status_code == 422 and unknown.json()["code"] == "care_reason_required"
    assert record_status(app_client, attacker, patient) == 403
    # a real reason from the list, or « autre » with words, is accepted
    ok = declare(
        app_client,
        attacker,
        patient,
        {**DECLARE, "reason": "autre", "context": "bilan gériatrique à domicile"},
    )
    assert ok.status_code == 201, ok.text
    body = ok.json()
    assert body["reason"] == "autre" and body["consent"] is True
    assert "bilan gériatrique" in body["attestation"] and "consent" in body["attestation"]
    with db() as s:
        assert s.scalar(select(func.count()).select_from(CareTeamMember)) == 2


# --- limits --------------------------------------------------------------------------------


def test_a_parallel_burst_of_40_declarations_stops_at_the_limit(
    live_server, app_client, make_pro, make_patient, db, settings
):
    pro, admin = make_pro(last_name="Rafale"), make_pro("admin", role=Role.administrator)
    patients = [make_patient(f"PATIENT{i:02d}", "Anne") for i in range(40)]
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(40)
    lock = threading.Lock()

    def one(patient: Any) -> None:
        with httpx.Client(base_url=live_server.url, timeout=120) as c:
            barrier.wait()
            r = c.post(f"/api/v1/patients/{patient}/care-team", headers=pro.headers, json=DECLARE)
            with lock:
                answers.append(r)

    threads = [threading.Thread(target=one, args=(p,)) for p in patients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in answers)
    limit = settings.care_team_declarations_per_hour
    assert codes.count(201) == limit and codes.count(429) == 40 - limit, codes
    refused = next(r for r in answers if r.status_code == 429).json()
    assert refused["code"] == "care_team_rate_limited"
    assert "nombre maximal de déclarations" in refused["message"]
    with db() as s:
        assert s.scalar(select(func.count()).select_from(CareTeamMember)) == limit
        limited = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "care_team.declare", AuditEvent.outcome == "limited"
            )
        ).all()
        assert len(limited) == 40 - limit and {e.actor_id for e in limited} == {pro.id}
    # the administrators' « Équipes de soins » page shows the professional
    page = web_get(app_client, admin, "/admin/equipes-de-soins")
    alerts = page.split('id="alerts-title"', 1)[1].split("</section>", 1)[0]
    assert pro.login in alerts and "refusée(s) au-delà de la limite" in alerts


def test_the_daily_limit_counts_across_hours(app_client, make_pro, make_patient, db, settings):
    pro = make_pro()
    patients = [make_patient(f"JOUR{i:02d}", "Anne") for i in range(31)]
    for i, p in enumerate(patients[:30]):
        assert declare(app_client, pro, p).status_code == 201
        if i % 10 == 9:  # the hour's ten, moved two hours back: only the day's limit is left
            with db() as s:
                from sisra.platform.models import CareTeamDeclaration

                s.execute(
                    update(CareTeamDeclaration)
                    .where(CareTeamDeclaration.at > utcnow() - timedelta(hours=1))
                    .values(at=utcnow() - timedelta(hours=2))
                )
    over = declare(app_client, pro, patients[30])
    assert over.status_code == 429 and "30 par 24 heures" in over.json()["message"]


# --- expiry --------------------------------------------------------------------------------


def test_a_membership_past_its_end_gives_no_access_until_renewed(
    app_client, team, make_pro, db, settings
):
    member, patient = make_pro(), team["patient"]
    r = declare(app_client, member, patient)
    assert r.status_code == 201
    end = r.json()["expires_at"]
    assert end is not None and r.json()["status"] == "active"
    days = (date.fromisoformat(end[:10]) - utcnow().date()).days
    assert abs(days - settings.care_team_membership_days) <= 1
    assert record_status(app_client, member, patient) == 200
    # renewing while active: same membership, new end, audited
    with db() as s:
        s.execute(
            update(CareTeamMember)
            .where(CareTeamMember.professional_id == member.id)
            .values(expires_at=utcnow() + timedelta(days=3))
        )
    renewed = declare(app_client, member, patient)
    assert renewed.status_code == 200 and renewed.json()["id"] == r.json()["id"]
    assert renewed.json()["expires_at"][:10] == end[:10]
    # past its end: no access, listed as expired
    with db() as s:
        s.execute(
            update(CareTeamMember)
            .where(CareTeamMember.professional_id == member.id)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    assert record_status(app_client, member, patient) == 403
    listed = app_client.get(f"/api/v1/patients/{patient}/care-team", headers=team["gp"].headers)
    mine = [m for m in listed.json()["members"] if m["professional_id"] == str(member.id)]
    assert [m["status"] for m in mine] == ["expired"]
    assert "expirée" in mine[0]["status_label"]
    # declaring again opens a new membership; the expired one stays in the history
    again = declare(app_client, member, patient)
    assert again.status_code == 201 and again.json()["id"] != r.json()["id"]
    assert record_status(app_client, member, patient) == 200
    with db() as s:
        outcomes = s.scalars(
            select(AuditEvent.outcome)
            .where(AuditEvent.action == "care_team.declare", AuditEvent.actor_id == member.id)
            .order_by(AuditEvent.at)
        ).all()
        assert list(outcomes) == ["ok", "renewed", "ok"]


def test_an_administrator_addition_states_its_own_end_or_none_and_answers_201(
    app_client, team, make_pro
):
    pro, admin, patient = make_pro(), team["admin"], team["patient"]
    url = f"/api/v1/patients/{patient}/care-team/members"
    until = (utcnow().astimezone(PARIS).date() + timedelta(days=10)).isoformat()
    first = app_client.post(
        url,
        headers=admin.headers,
        json={"professional_id": str(pro.id), "reason": "Remplacement estival", "until": until},
    )
    assert first.status_code == 201, first.text
    assert first.json()["expires_at"] is not None
    # already a member: 201 with the membership, whose end is now the one stated (none)
    again = app_client.post(
        url, headers=admin.headers, json={"professional_id": str(pro.id), "reason": "Sans fin"}
    )
    assert again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"] and again.json()["expires_at"] is None
    past = app_client.post(
        url,
        headers=admin.headers,
        json={"professional_id": str(pro.id), "reason": "Date passée", "until": "2020-01-01"},
    )
    assert past.status_code == 422 and past.json()["code"] == "end_in_past"
    far = app_client.post(
        url,
        headers=admin.headers,
        json={"professional_id": str(pro.id), "reason": "Date absurde", "until": "9999-12-31"},
    )
    assert far.status_code == 422 and far.json()["code"] == "end_too_far"
    # and the API description says so
    responses = app_client.get("/openapi.json").json()["paths"][
        "/api/v1/patients/{patient_id}/care-team/members"
    ]["post"]["responses"]
    assert "201" in responses and "200" not in responses


# --- notice --------------------------------------------------------------------------------


def test_the_team_sees_new_declarations_and_past_members_stay_listed(app_client, team, make_pro):
    gp, patient = team["gp"], team["patient"]
    newcomer = make_pro(first_name="Nadia", last_name="Nouvelle")
    assert declare(app_client, newcomer, patient).status_code == 201
    page = web_get(app_client, gp, f"/patients/{patient}")
    assert "Nouvelles déclarations de prise en charge" in page
    notice = page.split('id="new-declarations-title"', 1)[1].split("</section>", 1)[0]
    assert "Nadia NOUVELLE" in notice and "consultation ou visite" in notice
    # the newcomer leaves: the team still sees that they were there
    left = app_client.delete(f"/api/v1/patients/{patient}/care-team/me", headers=newcomer.headers)
    assert left.status_code == 204
    listed = app_client.get(f"/api/v1/patients/{patient}/care-team", headers=gp.headers).json()
    gone = [m for m in listed["members"] if m["professional_id"] == str(newcomer.id)]
    assert len(gone) == 1 and gone[0]["status"] == "ended"
    today = utcnow().astimezone(PARIS).strftime("%d/%m/%Y")
    assert gone[0]["status_label"] == f"a quitté l'équipe le {today}"
    page = web_get(app_client, gp, f"/patients/{patient}")
    row = page.split("Nadia NOUVELLE")[-1].split("</tr>", 1)[0]
    assert f"a quitté l'équipe le {today}" in row


def test_the_daily_digest_tells_the_team_once(
    app_client, team, make_pro, settings, engine, smtp_sink, db
):
    gp, patient = team["gp"], team["patient"]
    newcomer = make_pro(first_name="Nadia", last_name="Nouvelle")
    bystander = make_pro()
    assert declare(app_client, newcomer, patient).status_code == 201
    day = utcnow().astimezone(PARIS).date()
    factory = make_session_factory(engine)
    before = len(smtp_sink.messages)
    # two workers (or a worker and the cron command) at once: one digest per recipient
    counts: list[int] = []
    barrier = threading.Barrier(3)

    def run() -> None:
        barrier.wait()
        counts.append(send_digests(factory, settings, day))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(counts) == [0, 0, 1], counts
    assert send_digests(factory, settings, day) == 0
    mails = smtp_sink.messages[before:]
    # the regular doctor only: not the declarant, not a professional outside the team
    assert [m.to for m in mails] == [[f"{gp.login}@demo.sisra.test"]], [m.to for m in mails]
    assert bystander.login not in str([m.to for m in mails])
    mail = mails[0]
    assert "déclaration" in mail.subject
    assert "LAMBERT Louise" in mail.body and "Nadia NOUVELLE" in mail.body
    assert "consultation ou visite" in mail.body and day.strftime("%d/%m/%Y") in mail.body
    with db() as s:
        assert s.scalar(select(func.count()).select_from(CareTeamDigest)) == 1


def test_the_digest_command_for_cron_sends_what_the_servers_did_not(
    app_client, team, make_pro, settings, smtp_sink
):
    from typer.testing import CliRunner

    from sisra.cli import app as cli

    gp, patient = team["gp"], team["patient"]
    assert declare(app_client, make_pro(last_name="Cron"), patient).status_code == 201
    day = utcnow().astimezone(PARIS).date()
    env = {
        "SISRA_DATABASE_URL": settings.database_url,
        "SISRA_DATA_DIR": str(settings.data_dir),
        "SISRA_SMTP_HOST": "127.0.0.1",
        "SISRA_SMTP_PORT": str(smtp_sink.port),
    }
    before = len(smtp_sink.messages)
    bad = CliRunner().invoke(cli, ["admin", "send-care-team-digest", "--jour", "hier"], env=env)
    assert bad.exit_code != 0 and "AAAA-MM-JJ" in bad.output
    args = ["admin", "send-care-team-digest", "--jour", day.isoformat()]
    first = CliRunner().invoke(cli, args, env=env)
    assert first.exit_code == 0, first.output
    assert "1 message(s) envoyé(s)" in first.output
    again = CliRunner().invoke(cli, args, env=env)
    assert again.exit_code == 0 and "0 message(s) envoyé(s)" in again.output
    assert [m.to for m in smtp_sink.messages[before:]] == [[f"{gp.login}@demo.sisra.test"]]

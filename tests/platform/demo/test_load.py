"""The demo region loads through the real services and seeds declared care teams."""

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from sisra.platform.context import Actor, RequestContext
from sisra.platform.demo.load import load_demo
from sisra.platform.models import (
    AuditEvent,
    CareTeamHow,
    CareTeamMember,
    Document,
    Professional,
    utcnow,
)
from sisra.platform.record import care_team
from sisra.platform.record import service as record


def test_the_demo_seeds_care_teams_so_record_pages_show_content(settings, db) -> None:
    summary = load_demo(settings, n_documents=40, n_patients=10, progress=lambda _line: None)
    assert summary.created and summary.documents == 40
    with db() as s:
        members = list(s.scalars(select(CareTeamMember)))
        assert members and all(m.how == CareTeamHow.declared for m in members)
        assert all(m.attestation and "J'atteste" in m.attestation for m in members)
        # declared on their first document, not at load time
        assert min(m.since for m in members) < utcnow() - timedelta(days=1)
        declares = s.scalars(select(AuditEvent).where(AuditEvent.action == "care_team.declare"))
        assert Counter(e.outcome for e in declares) == {"ok": len(members)}
        # dated back: the loaded history raises no alert for the administrators
        assert care_team.alerts(s) == []
        assert all(m.reason in care_team.REASONS and m.consent for m in members)
        # a member reads the whole (unrestricted) record of their patient
        m = members[0]
        pro = s.get(Professional, m.professional_id)
        assert pro is not None
        ctx = RequestContext(Actor.of(pro))
        access = record.open_record(s, ctx, m.patient_id)
        every = set(s.scalars(select(Document.id).where(Document.patient_id == m.patient_id)))
        assert access.care_team is True
        assert {d.id for d in access.documents} == every

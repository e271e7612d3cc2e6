"""The audit trail: every access recorded, hash-chained, tampering detected."""

import threading

import httpx
from sqlalchemy import delete, func, select, update
from typer.testing import CliRunner

from conftest import share_request
from sisra.cli import app as cli
from sisra.platform.audit.service import verify_chain
from sisra.platform.models import AuditEvent, Notification


def _share(client, sender, patient, recipients, data):
    return share_request(client, sender, patient, recipients, data, type_code="ordonnance")


def test_actions_are_audited_with_who_what_and_where(app_client, make_pro, make_patient, pdf, db):
    author, rec = make_pro(), make_pro()
    patient = make_patient()
    r = _share(app_client, author, patient, [rec], pdf())
    doc = r.json()["document"]["id"]
    note = r.json()["notifications"][0]
    app_client.get(f"/api/v1/inbox/{note}/content", headers=rec.headers)
    app_client.delete(f"/api/v1/inbox/{note}", headers=rec.headers)
    with db() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.document_id.is_not(None))).all()
    actions = [(r.action, r.actor_id) for r in rows]
    assert ("document.share", author.id) in actions
    assert ("document.download", rec.id) in actions
    assert ("inbox.delete", rec.id) in actions
    share_row = next(r for r in rows if r.action == "document.share")
    assert str(share_row.document_id) == doc and share_row.patient_id == patient
    assert share_row.ip == "testclient" and share_row.user_agent


def test_chain_verifies_and_catches_a_modified_row(app_client, make_pro, make_patient, pdf, db):
    author, rec = make_pro(), make_pro()
    _share(app_client, author, make_patient(), [rec], pdf())
    with db() as s:
        report = verify_chain(s)
        assert report.ok and report.rows >= 4
        target = s.scalars(select(AuditEvent).where(AuditEvent.action == "document.share")).one()
        seq = target.seq
        s.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(actor_label="Quelqu'un"))
    with db() as s:
        report = verify_chain(s)
    assert not report.ok and report.first_bad_seq == seq and report.reason == "ligne modifiée"


def test_chain_catches_deleted_rows_and_the_cli_says_so(
    app_client, make_pro, make_patient, pdf, db, settings
):
    author, rec = make_pro(), make_pro()
    _share(app_client, author, make_patient(), [rec], pdf())
    env = {"SISRA_DATABASE_URL": settings.database_url, "SISRA_DATA_DIR": str(settings.data_dir)}
    ok = CliRunner().invoke(cli, ["admin", "verify-audit"], env=env)
    assert ok.exit_code == 0 and "intègre" in ok.output
    with db() as s:
        last = s.scalar(select(func.max(AuditEvent.seq)))
        s.execute(delete(AuditEvent).where(AuditEvent.seq == last))
    bad = CliRunner().invoke(cli, ["admin", "verify-audit"], env=env)
    assert bad.exit_code == 1 and "ALTÉRÉE" in bad.output
    with db() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
        assert verify_chain(s).first_bad_seq == 2


def test_concurrent_shares_keep_one_unbroken_chain_and_ordered_cursors(
    live_server, make_pro, make_patient, pdf, db
):
    senders = [make_pro() for _ in range(4)]
    rec = make_pro()
    patient = make_patient()
    data = pdf()
    errors: list[str] = []

    def worker(sender):
        with httpx.Client(base_url=live_server.url, timeout=60) as client:
            for _ in range(5):
                r = _share(client, sender, patient, [rec], data)
                if r.status_code != 201:
                    errors.append(r.text)

    threads = [threading.Thread(target=worker, args=(s,)) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    with db() as s:
        assert verify_chain(s).ok
        seqs = s.scalars(select(Notification.seq).order_by(Notification.seq)).all()
    assert seqs == list(range(1, 21))

"""The audit trail: every access recorded, inserted without a lock, sealed into a keyed chain,
held against signed checkpoints published outside the database; tampering detected."""

import base64
import hashlib
import json
import secrets
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import delete, func, insert, select, text, update
from typer.testing import CliRunner

from sisra.cli import app as cli
from sisra.platform.audit import checkpoints
from sisra.platform.audit.chain import GENESIS, canonical
from sisra.platform.audit.keys import AuditKey, load_audit_key
from sisra.platform.audit.sealer import Sealer
from sisra.platform.audit.verify import verify
from sisra.platform.db import make_session_factory
from sisra.platform.models import AuditEvent, Notification, Role
from support.documents import share_request
from support.servers import RunningServer
from support.waiting import wait_until


@pytest.fixture
def settings(settings):
    """No background sealer here: each test seals when it chooses (one test runs the thread)."""
    settings.audit_seal_interval_s = 0
    return settings


@pytest.fixture
def sealer(settings, engine) -> Sealer:
    """A sealer on the test database with the app's audit key and checkpoint directory."""
    return Sealer.from_settings(settings, make_session_factory(engine))


def _verify(sealer: Sealer):
    return verify(sealer.factory, sealer.key, sealer.checkpoint_dir)


def _cli(settings, *args: str, **env: str):
    env = {
        "SISRA_DATABASE_URL": settings.database_url,
        "SISRA_DATA_DIR": str(settings.data_dir),
        **env,
    }
    return CliRunner().invoke(cli, ["admin", "verify-audit", *args], env=env)


def _share(client, sender, patient, recipients, data):
    return share_request(client, sender, patient, recipients, data, type_code="ordonnance")


def _activity(app_client, make_pro, make_patient, pdf, shares: int = 1):
    author, rec = make_pro(), make_pro()
    patient = make_patient()
    for _ in range(shares):
        r = _share(app_client, author, patient, [rec], pdf())
        assert r.status_code == 201, r.text
    return author, rec, patient


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


def test_rows_are_inserted_unsealed_then_sealed_in_order_with_a_signed_checkpoint(
    app_client, make_pro, make_patient, pdf, db, sealer
):
    _activity(app_client, make_pro, make_patient, pdf)
    with db() as s:
        total = s.scalar(select(func.count()).select_from(AuditEvent))
        assert s.scalar(select(func.count()).where(AuditEvent.seal_seq.is_(None))) == total
    assert sealer.seal() == total
    with db() as s:
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.seal_seq)).all()
    assert [r.seal_seq for r in rows] == list(range(1, total + 1))
    assert [r.seq for r in rows] == sorted(r.seq for r in rows)
    lines = list(checkpoints.read(sealer.checkpoint_dir, sealer.key))
    assert len(lines) == 1 and lines[0].checkpoint is not None
    assert lines[0].checkpoint.seal_seq == total
    assert lines[0].checkpoint.chain_hash == rows[-1].chain_hash
    assert _verify(sealer).ok
    # the API lists the rows with their place in the chain, unsealed ones included
    admin = make_pro("admin1", role=Role.administrator)
    listed = app_client.get("/api/v1/audit", headers=admin.headers).json()
    assert {r["seal_seq"] for r in listed} >= {1, total}
    assert any(r["seal_seq"] is None for r in listed)  # the admin's own login, not sealed yet


def test_the_cli_seals_first_and_says_intact(app_client, make_pro, make_patient, pdf, settings):
    _activity(app_client, make_pro, make_patient, pdf)
    ok = _cli(settings)
    assert ok.exit_code == 0, ok.output
    assert "Piste d'audit intègre" in ok.output
    assert "point(s) de contrôle signé(s) concordant(s) : 1 (le dernier atteste" in ok.output
    key = (settings.data_dir / "audit.key").read_text().strip()
    assert key not in ok.output
    assert (settings.data_dir / "audit.key").stat().st_mode & 0o777 == 0o600


def _plain_sha256(prev: str, row: AuditEvent) -> str:
    return hashlib.sha256(prev.encode() + b"\n" + canonical(row)).hexdigest()


def _project_function_without_the_key(prev: str, row: AuditEvent) -> str:
    from sisra.platform.audit.chain import link

    return link(AuditKey.from_secret(secrets.token_bytes(32)), prev, row)


@pytest.mark.parametrize("recompute", [_plain_sha256, _project_function_without_the_key])
def test_the_database_writer_attack_is_caught(
    app_client, make_pro, make_patient, pdf, db, sealer, settings, recompute
):
    """Rewrite a break-glass as a plain read, recompute every later hash (the head is the last
    row's hash: recomputed with them) and drop the last rows."""
    _author, _rec, patient = _activity(app_client, make_pro, make_patient, pdf)
    outsider = make_pro()
    r = app_client.post(
        f"/api/v1/patients/{patient}/break-glass",
        headers=outsider.headers,
        json={"reason": "Patient inconscient aux urgences"},
    )
    assert r.status_code == 201, r.text
    app_client.get(f"/api/v1/patients/{patient}/documents", headers=outsider.headers)
    _activity(app_client, make_pro, make_patient, pdf)
    sealer.seal()
    assert _cli(settings).exit_code == 0

    with db() as s:
        glass = s.scalars(select(AuditEvent).where(AuditEvent.action == "record.break_glass")).one()
        glass.action, glass.outcome, glass.details = "record.read", "ok", {}
        head = s.scalar(select(func.max(AuditEvent.seal_seq)))
        s.execute(delete(AuditEvent).where(AuditEvent.seal_seq > head - 3))
        s.flush()
        rows = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.seal_seq >= glass.seal_seq)
            .order_by(AuditEvent.seal_seq)
        ).all()
        prev = s.scalar(
            select(AuditEvent.chain_hash).where(AuditEvent.seal_seq == glass.seal_seq - 1)
        )
        for row in rows:
            row.chain_hash = prev = recompute(prev or GENESIS, row)
        glass_seq, glass_position = glass.seq, glass.seal_seq

    report = _verify(sealer)
    assert not report.ok
    assert any(
        f"Ligne n° {glass_seq} (position n° {glass_position}) modifiée" in p
        for p in report.problems
    )
    assert any(p.startswith("Piste tronquée") for p in report.problems)
    bad = _cli(settings)
    assert bad.exit_code == 1
    assert "ALTÉRÉE" in bad.output and "modifiée" in bad.output and "tronquée" in bad.output


def test_deleting_the_last_rows_is_caught_by_the_checkpoints(
    app_client, make_pro, make_patient, pdf, db, sealer, settings
):
    _activity(app_client, make_pro, make_patient, pdf)
    sealer.seal()
    with db() as s:
        head = s.scalar(select(func.max(AuditEvent.seal_seq)))
        s.execute(delete(AuditEvent).where(AuditEvent.seal_seq > head - 2))
    report = _verify(sealer)
    assert report.problems == [next(p for p in report.problems if p.startswith("Piste tronquée"))]
    assert f"atteste {head} lignes scellées" in report.problems[0]
    assert f"s'arrête à la position n° {head - 2}" in report.problems[0]

    # new rows sealed over the deleted ones: the chain no longer matches the checkpoint
    _activity(app_client, make_pro, make_patient, pdf)
    bad = _cli(settings)
    assert bad.exit_code == 1 and "ne correspond plus au point de contrôle" in bad.output


def test_modified_deleted_and_reordered_rows_are_each_named(
    app_client, make_pro, make_patient, pdf, db, sealer
):
    _activity(app_client, make_pro, make_patient, pdf, shares=6)
    sealer.seal()
    with db() as s:
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.seal_seq)).all()
        assert len(rows) >= 12
        changed, gone, a, b = (rows[i].seq for i in (2, 5, 8, 9))
        s.execute(
            update(AuditEvent).where(AuditEvent.seq == changed).values(actor_label="Quelqu'un")
        )
        s.execute(delete(AuditEvent).where(AuditEvent.seq == gone))
        # swap two rows' places (through a free number: seal_seq is unique)
        s.execute(update(AuditEvent).where(AuditEvent.seq == a).values(seal_seq=-1))
        s.execute(update(AuditEvent).where(AuditEvent.seq == b).values(seal_seq=9))
        s.execute(update(AuditEvent).where(AuditEvent.seq == a).values(seal_seq=10))
    problems = _verify(sealer).problems
    assert f"Ligne n° {changed} (position n° 3) modifiée" in " ".join(problems)
    assert "Ligne supprimée : la position n° 6 de la chaîne est vide." in problems
    assert (
        f"Ligne n° {b} déplacée : scellée à la position n° 10, trouvée à la position n° 9."
        in problems
    )
    assert (
        f"Ligne n° {a} déplacée : scellée à la position n° 9, trouvée à la position n° 10."
        in problems
    )
    assert len(problems) == 4, "\n".join(problems)


def test_a_forged_checkpoint_is_caught(app_client, make_pro, make_patient, pdf, sealer, settings):
    _activity(app_client, make_pro, make_patient, pdf)
    sealer.seal()
    (path,) = sealer.checkpoint_dir.glob("audit-*.jsonl")
    line = json.loads(path.read_text().splitlines()[0])
    assert path.stat().st_mode & 0o777 == 0o600
    # a copied signature on other numbers
    forged = {**line, "seal_seq": line["seal_seq"] - 1}
    # a well-formed line signed with a key the forger made up
    other = AuditKey.from_secret(secrets.token_bytes(32))
    cp = checkpoints.Checkpoint(1, "f" * 64, 1, line["at"], sealer.key.key_id)
    made_up = {**cp.__dict__, "sig": other.sign(cp.signed_bytes())}
    with path.open("a") as f:
        for entry in (forged, made_up):
            f.write(json.dumps(entry) + "\n")
        f.write("pas du JSON\n")
    report = _verify(sealer)
    assert report.checkpoints == 1
    assert report.problems == [
        f"Point de contrôle falsifié ou abîmé ({path.name}:2) : signature invalide.",
        f"Point de contrôle falsifié ou abîmé ({path.name}:3) : signature invalide.",
        f"Point de contrôle falsifié ou abîmé ({path.name}:4) : ligne illisible.",
    ]
    assert _cli(settings).exit_code == 1


def test_verify_audit_never_makes_a_key_and_seals_nothing_with_a_wrong_one(
    app_client, make_pro, make_patient, pdf, db, sealer, settings
):
    _activity(app_client, make_pro, make_patient, pdf)
    sealer.seal()
    key_file = settings.data_dir / "audit.key"
    saved = key_file.read_text()
    key_file.unlink()
    missing = _cli(settings)
    assert missing.exit_code == 1 and "Clé d'audit introuvable" in missing.output
    assert not key_file.exists()

    _activity(app_client, make_pro, make_patient, pdf)  # rows waiting to be sealed
    with db() as s:
        waiting = s.scalar(select(func.count()).where(AuditEvent.seal_seq.is_(None)))
    other = base64.b64encode(secrets.token_bytes(32)).decode()
    wrong = _cli(settings, SISRA_AUDIT_KEY=other)
    assert wrong.exit_code == 1
    assert "Scellement refusé" in wrong.output and "signé par une autre clé" in wrong.output
    assert "La clé d'audit configurée n'est peut-être pas celle" in wrong.output
    with db() as s:
        assert s.scalar(select(func.count()).where(AuditEvent.seal_seq.is_(None))) == waiting

    key_file.write_text(saved)
    right = _cli(settings)
    assert right.exit_code == 0 and "0 ligne(s) en attente" in right.output


def test_rows_committed_late_with_a_lower_number_are_sealed_next_time(
    engine, settings, sealer, is_postgres
):
    """Two writers: A inserts first, B inserts and commits, seal, then A commits, seal."""
    factory = make_session_factory(engine)

    def row(label: str, seq: int | None = None) -> AuditEvent:
        at = datetime.now(UTC)
        return AuditEvent(seq=seq, at=at, action="test.row", actor_label=label, details={})

    if is_postgres:
        a, b = factory(), factory()
        try:
            a.add(row("A"))
            a.flush()
            # B is not blocked by A's open transaction (no shared lock on the audit path)
            b.execute(text("SET LOCAL lock_timeout = '5s'"))
            b.add(row("B"))
            b.flush()
            b.commit()
            assert sealer.seal() == 1
            a.commit()
        finally:
            a.close()
            b.close()
    else:
        # SQLite has one writer at a time, so A's lower number is given by hand
        with factory() as s, s.begin():
            s.add(row("B", seq=100))
        assert sealer.seal() == 1
        with factory() as s, s.begin():
            s.add(row("A", seq=50))
    assert sealer.seal() == 1
    with factory() as s:
        sealed = s.execute(
            select(AuditEvent.actor_label, AuditEvent.seq, AuditEvent.seal_seq).order_by(
                AuditEvent.seal_seq
            )
        ).all()
    assert [label for label, _, _ in sealed] == ["B", "A"]
    assert sealed[1].seq < sealed[0].seq and sealed[1].seal_seq == 2
    report = _verify(sealer)
    assert report.ok and report.rows == 2 and report.checkpoints == 2


def test_concurrent_shares_keep_one_unbroken_chain_and_ordered_cursors(
    settings, make_pro, make_patient, pdf, db, sealer
):
    """Four senders at once while the server's sealer runs (fast) beside them."""
    running = RunningServer(settings.model_copy(update={"audit_seal_interval_s": 0.05}))
    senders = [make_pro() for _ in range(4)]
    rec = make_pro()
    patient = make_patient()
    data = pdf()
    errors: list[str] = []

    def worker(sender):
        with httpx.Client(base_url=running.url, timeout=60) as client:
            for _ in range(5):
                r = _share(client, sender, patient, [rec], data)
                if r.status_code != 201:
                    errors.append(r.text)

    try:
        threads = [threading.Thread(target=worker, args=(s,)) for s in senders]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        running.stop()
    assert errors == []
    sealer.seal()
    with db() as s:
        seqs = s.scalars(select(Notification.seq).order_by(Notification.seq)).all()
        shares = s.scalar(select(func.count()).where(AuditEvent.action == "document.share"))
        total = s.scalar(select(func.count()).select_from(AuditEvent))
    report = _verify(sealer)
    assert report.ok and report.rows == total and report.unsealed == 0
    assert report.checkpoints >= 1  # sealed by the server (its thread, or at its stop)
    assert shares == 20
    assert seqs == list(range(1, 21))


def test_the_server_seals_in_the_background(settings, make_pro, sealer):
    running = RunningServer(settings.model_copy(update={"audit_seal_interval_s": 0.1}))
    try:
        make_pro(log_in=False)  # audited: « directory.create »

        def all_sealed() -> bool:
            with sealer.factory() as s:
                return bool(
                    s.scalar(select(func.count()).where(AuditEvent.seal_seq.is_(None))) == 0
                    and s.scalar(select(func.count()).select_from(AuditEvent))
                )

        wait_until(all_sealed)
        wait_until(lambda: any(sealer.checkpoint_dir.glob("audit-*.jsonl")))
    finally:
        running.stop()
    report = _verify(sealer)
    assert report.ok and report.checkpoints >= 1


def test_rows_left_unsealed_too_long_are_reported(settings, sealer):
    with sealer.factory() as s, s.begin():
        s.add(
            AuditEvent(at=datetime.now(UTC) - timedelta(minutes=30), action="test.old", details={})
        )
    r = _cli(settings, "--no-seal")
    assert r.exit_code == 0
    assert "Attention : 1 ligne(s) d'audit attendent d'être scellées depuis plus de 5 min" in (
        r.output
    )
    assert "1 ligne(s) en attente de scellement" in r.output


def test_the_audit_key_comes_from_the_environment_or_a_private_file(settings, monkeypatch):
    key = load_audit_key(settings)
    path: Path = settings.data_dir / "audit.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_audit_key(settings).key_id == key.key_id  # the same file next time
    given = "A" * 43 + "="
    assert (
        load_audit_key(settings.model_copy(update={"audit_key": SecretStr(given)})).key_id
        != key.key_id
    )
    with pytest.raises(ValueError, match="SISRA_AUDIT_KEY invalide") as exc:
        load_audit_key(settings.model_copy(update={"audit_key": SecretStr("trop-courte")}))
    assert "trop-courte" not in str(exc.value)
    secret_file = settings.data_dir / "given.key"
    secret_file.write_text(given)
    monkeypatch.setenv("SISRA_AUDIT_KEY_FILE", str(secret_file))
    monkeypatch.setenv("SISRA_DATA_DIR", str(settings.data_dir))
    from sisra.platform.settings import Settings

    from_file = Settings(_env_file=None)  # type: ignore[call-arg]
    assert from_file.audit_key is not None and from_file.audit_key.get_secret_value() == given
    assert given not in repr(load_audit_key(from_file))


def test_audited_requests_do_not_wait_on_the_counters(live_server, make_pro, engine, is_postgres):
    """A transaction holding every counter row does not hold up an audited request."""
    if not is_postgres:
        pytest.skip("SQLite has a single writer: there is no row lock to wait on")
    pro = make_pro()
    with engine.connect() as holder:
        holder.execute(text("SELECT name FROM counters FOR UPDATE"))
        r = httpx.get(
            f"{live_server.url}/api/v1/professionals?q=Martin", headers=pro.headers, timeout=15
        )
        holder.rollback()
    assert r.status_code == 200


def test_a_checkpoint_that_could_not_be_written_is_written_later(
    app_client, make_pro, make_patient, pdf, db, sealer, settings, tmp_path
):
    _activity(app_client, make_pro, make_patient, pdf)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    r = _cli(settings, SISRA_AUDIT_CHECKPOINT_DIR=str(blocker / "checkpoints"))
    assert r.exit_code == 1 and "Impossible d'écrire le point de contrôle" in r.output

    _activity(app_client, make_pro, make_patient, pdf)
    good = sealer.checkpoint_dir
    sealer.checkpoint_dir = blocker / "checkpoints"
    with pytest.raises(OSError):
        sealer.seal()
    with db() as s:
        assert s.scalar(select(func.count()).where(AuditEvent.seal_seq.is_(None))) == 0
        head = s.scalar(select(func.max(AuditEvent.seal_seq)))
    sealer.checkpoint_dir = good
    assert sealer.seal() == 0  # nothing new, but the checkpoint left behind is written now
    (line,) = checkpoints.read(good, sealer.key)
    assert line.checkpoint is not None and line.checkpoint.seal_seq == head
    assert _verify(sealer).ok


def _insert_raw(db, **values) -> int:
    """A row written straight into the table, as a database writer would (no request)."""
    with db() as s, s.begin():
        return int(s.execute(insert(AuditEvent).values(**values)).inserted_primary_key[0])


def test_a_back_dated_break_glass_row_is_sealed_flagged_and_reported(
    app_client, make_pro, make_patient, pdf, db, settings, sealer
):
    author, _rec, patient = _activity(app_client, make_pro, make_patient, pdf)
    sealer.seal()
    now = datetime.now(UTC)
    forged = _insert_raw(
        db,
        at=now - timedelta(days=60),
        actor_id=author.id,
        actor_label="Dr Auteur",
        action="record.break_glass",
        outcome="ok",
        patient_id=patient,
        details={"reason": "Patient inconscient aux urgences, à voir"},
    )
    # a legitimate late commit: a request that took two minutes, within the tolerance
    late = _insert_raw(db, at=now - timedelta(minutes=2), action="test.slow", details={})

    r = _cli(settings)  # seals first, then verifies
    assert r.exit_code == 2, r.output
    assert "Piste d'audit intègre" in r.output  # the chain itself holds
    assert "Lignes hors de l'ordre chronologique (1, tolérance 5 min)" in r.output
    assert f"Ligne n° {forged} (position n° " in r.output
    assert "record.break_glass) datée du " in r.output and "antidatée" in r.output
    assert f"Ligne n° {late} " not in r.output
    with db() as s:
        rows = {e.seq: e for e in s.scalars(select(AuditEvent))}
    assert rows[forged].seal_seq is not None  # sealed: audit data is never dropped
    assert rows[late].seal_seq is not None
    flags = [e for e in rows.values() if e.action == "audit.out_of_order"]
    assert len(flags) == 1 and flags[0].seal_seq is not None  # the flag is in the chain
    assert flags[0].details["seq"] == forged and flags[0].details["kind"] == "backdated"
    assert flags[0].patient_id == patient
    report = _verify(sealer)
    assert report.ok and [o.seq for o in report.out_of_order] == [forged]

    # the administrator reviewing break-glass accesses sees the flag on that row
    admin = make_pro("admin.glass", role=Role.administrator)
    t = app_client.post("/api/v1/auth/web-ticket", headers=admin.headers, json={"target": "/"})
    app_client.get("/web/ticket/" + t.json()["url"].split("/web/ticket/", 1)[1])
    page = app_client.get("/admin/audit", params={"action": "bris de glace"})
    assert page.status_code == 200, page.text
    assert "Hors de l'ordre chronologique" in page.text and "Ligne antidatée" in page.text

    # once reviewed, the operator acknowledges it: listed still, exit 0
    position = rows[forged].seal_seq
    again = _cli(settings, "--reviewed-up-to", str(flags[0].seal_seq))
    assert again.exit_code == 0, again.output
    assert f"(position n° {position}, record.break_glass)" in again.output


def test_a_post_dated_row_is_flagged_and_does_not_make_later_rows_late(db, sealer):
    now = datetime.now(UTC)
    _insert_raw(db, at=now - timedelta(seconds=5), action="test.before", details={})
    sealer.seal()
    future = _insert_raw(db, at=now + timedelta(days=30), action="test.future", details={})
    sealer.seal()
    normal = _insert_raw(db, at=datetime.now(UTC), action="test.after", details={})
    sealer.seal()
    report = _verify(sealer)
    assert report.ok
    assert [(o.seq, o.kind) for o in report.out_of_order] == [(future, "future")]
    with db() as s:
        flags = s.scalars(select(AuditEvent).where(AuditEvent.action == "audit.out_of_order"))
        assert [(f.details["seq"], f.details["kind"]) for f in flags] == [(future, "future")]
    assert normal not in [o.seq for o in report.out_of_order]

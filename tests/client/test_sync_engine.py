"""The sync engine against a running platform: backfill, live export, receipts, restarts."""

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, update

from sisra.client.api import PlatformClient
from sisra.client.auth import Credentials
from sisra.client.items import InboxItem
from sisra.client.state import LocalState
from sisra.client.sync import CredentialTokens, SyncEngine, since_days
from sisra.platform.inputs import refuse_nul_parameters
from sisra.platform.models import Notification, utcnow
from support.documents import share_request
from support.export import first_platform_item
from support.personas import otp_login
from support.sync import engine_for, folder_exporter
from support.waiting import wait_until


@pytest.fixture
def account(live_server, make_pro, smtp_sink):
    """A recipient enrolled by e-mail code, its engine state and export folder."""
    pro = make_pro("destinataire", log_in=False)
    tokens = otp_login(
        PlatformClient(live_server.url)._http,
        smtp_sink,
        "destinataire",
        "destinataire@demo.sisra.test",
    )
    return pro, Credentials.from_tokens(live_server.url, tokens)


def test_backfill_exports_exactly_the_last_n_days(
    live_server, account, make_pro, make_patient, pdf, db, tmp_path
):
    pro, creds = account
    sender = make_pro()
    patient = make_patient()
    ages = [0, 1, 3, 8, 20]
    with PlatformClient(live_server.url) as c:
        for age in ages:
            r = share_request(c._http, sender, patient, [pro], pdf(f"J-{age}"), title=f"J-{age}")
            assert r.status_code == 201
            note = r.json()["notifications"][0]
            with db() as s:
                s.execute(
                    update(Notification)
                    .where(Notification.id == uuid.UUID(note))
                    .values(created_at=utcnow() - timedelta(days=age, hours=1))
                )
    folder = tmp_path / "export"
    folder.mkdir()
    engine = engine_for(live_server, creds, tmp_path, folder)
    engine.catch_up(since=since_days(5))
    report = engine.process_due()
    names = sorted(p.name.split()[0] for p in folder.iterdir())
    assert names == ["J-0", "J-1", "J-3"]
    assert report.exported == 3 and report.failed == 0
    # receipts reached the platform: the sender sees them
    with PlatformClient(live_server.url) as c:
        items = c.get_json("/api/v1/inbox?limit=50", token=creds.access_token)["items"]
    delivered = {i["document"]["title"]: i["delivered_at"] is not None for i in items}
    assert delivered == {"J-0": True, "J-1": True, "J-3": True, "J-8": False, "J-20": False}
    # a second run exports nothing twice
    engine.catch_up()
    assert engine.process_due().total == 0
    assert len(list(folder.iterdir())) == 3


def test_a_new_share_lands_in_the_folder_while_the_engine_runs(
    live_server, account, make_pro, make_patient, pdf, tmp_path
):
    pro, creds = account
    sender = make_pro()
    folder = tmp_path / "export"
    folder.mkdir()
    engine = engine_for(live_server, creds, tmp_path, folder)
    stop = threading.Event()
    statuses: list[str] = []
    runner = threading.Thread(target=engine.run, args=(stop, lambda c, _m: statuses.append(c)))
    runner.start()
    try:
        for _ in range(100):
            if "online" in statuses:
                break
            time.sleep(0.05)
        data = pdf("Compte rendu en direct")
        with PlatformClient(live_server.url) as c:
            share_request(c._http, sender, make_patient(), [pro], data, title="En direct")
        for _ in range(200):
            files = [p for p in folder.iterdir() if p.suffix == ".pdf"]
            if files:
                break
            time.sleep(0.05)
        assert len(files) == 1 and files[0].read_bytes() == data
        assert not [p for p in folder.iterdir() if p.name.endswith(".part")]
    finally:
        stop.set()
        runner.join(15)


def test_export_failure_is_kept_with_its_reason_and_retried(
    live_server, account, make_pro, make_patient, pdf, tmp_path
):
    pro, creds = account
    sender = make_pro()
    with PlatformClient(live_server.url) as c:
        share_request(c._http, sender, make_patient(), [pro], pdf(), title="Bilan")
    folder = tmp_path / "absent"
    engine = engine_for(live_server, creds, tmp_path, folder)
    engine.catch_up()
    assert engine.process_due().failed == 1
    (failure,) = engine.state.failures()
    assert failure.error_code == "folder_missing" and "n'existe pas" in failure.error_message
    assert failure.next_try > time.time()  # backoff, not a busy loop
    folder.mkdir()
    assert engine.state.retry_now() == 1  # « Réessayer »
    assert engine.process_due().exported == 1
    assert engine.state.failures() == []


def test_restart_after_an_interrupted_download_exports_once(
    live_server, account, make_pro, make_patient, pdf, tmp_path
):
    pro, creds = account
    sender = make_pro()
    data = pdf("Gros document", pages=2, padding=400_000)
    with PlatformClient(live_server.url) as c:
        share_request(c._http, sender, make_patient(), [pro], data, title="Scanner")
    folder = tmp_path / "export"
    folder.mkdir()
    first = engine_for(live_server, creds, tmp_path, folder)
    first.catch_up()
    (st,) = first.state.due()
    # what a kill mid-download leaves: a partial file in the work folder
    part = tmp_path / "work" / f"{st.id}.part"
    part.write_bytes(data[:150_000])
    first.state.close()
    second = engine_for(live_server, creds, tmp_path, folder)  # a new process, same state
    assert second.process_due().exported == 1
    (exported,) = list(folder.iterdir())
    assert exported.read_bytes() == data  # resumed with Range, verified by SHA-256
    assert not part.exists()
    third = engine_for(live_server, creds, tmp_path, folder)
    third.catch_up()
    assert third.process_due().total == 0 and len(list(folder.iterdir())) == 1


def test_server_down_is_reported_then_recovered(
    live_server, account, make_pro, make_patient, pdf, tmp_path
):
    pro, creds = account
    folder = tmp_path / "export"
    folder.mkdir()
    down = Credentials(
        "http://127.0.0.1:9",
        creds.professional_id,
        creds.device_id,
        creds.access_token,
        creds.refresh_token,
        creds.expires_at,
    )
    client = PlatformClient("http://127.0.0.1:9", timeout=2)
    engine = SyncEngine(
        client,
        CredentialTokens(client, down),
        LocalState(tmp_path / "s.db"),
        folder_exporter(folder),
        tmp_path / "work",
    )
    stop = threading.Event()
    seen: list[tuple[str, str]] = []

    def status(code, message):
        seen.append((code, message))
        stop.set()

    engine.run(stop, status)
    assert seen[0] == ("platform_unavailable", "La plateforme ne répond pas (127.0.0.1:9).")
    # the same state, the server reachable again: everything arrives
    sender = make_pro()
    with PlatformClient(live_server.url) as c:
        share_request(c._http, sender, make_patient(), [pro], pdf(), title="Après panne")
    engine.state.close()
    back = engine_for(live_server, creds, tmp_path, folder)
    back.state = LocalState(tmp_path / "s.db")
    back.catch_up()
    assert back.process_due().exported == 1


def test_strong_auth_expiry_pauses_then_resumes_without_loss(
    live_server, account, make_pro, make_patient, pdf, tmp_path, db, smtp_sink
):
    from sisra.platform.models import AccessToken, Device

    pro, creds = account
    sender = make_pro()
    with PlatformClient(live_server.url) as c:
        share_request(c._http, sender, make_patient(), [pro], pdf(), title="Pendant la pause")
    with db() as s:  # 31 days later: the access token is long gone, strong auth too old
        s.execute(update(Device).values(strong_auth_at=utcnow() - timedelta(days=31)))
        s.execute(update(AccessToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    folder = tmp_path / "export"
    folder.mkdir()
    engine = engine_for(live_server, creds, tmp_path, folder)
    seen: list[tuple[str, str]] = []
    engine.run(threading.Event(), lambda code, msg: seen.append((code, msg)))
    assert seen[-1][0] == "strong_auth_required" and "carte CPS" in seen[-1][1]
    assert list(folder.iterdir()) == []
    renewed = otp_login(
        PlatformClient(live_server.url)._http,
        smtp_sink,
        "destinataire",
        "destinataire@demo.sisra.test",
        device_id=creds.device_id,
    )
    assert renewed["device_id"] == creds.device_id
    engine.state.close()
    resumed = engine_for(
        live_server, Credentials.from_tokens(live_server.url, renewed), tmp_path, folder
    )
    resumed.catch_up()
    assert resumed.process_due().exported == 1
    assert [p.name.split()[0] for p in folder.iterdir()] == ["Pendant"]


def test_full_disk_is_reported_then_recovered_with_the_real_exporter(
    live_server, account, make_pro, make_patient, pdf, tmp_path
):
    """A real full filesystem (tmpfs) under the export folder; the « PDF seul » profile."""
    import subprocess

    from sisra.client.export import get_profile, write_export
    from sisra.client.sync import ExportError as Failure

    pro, creds = account
    folder = tmp_path / "cabinet"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        profile = get_profile("pdf")

        def export(item, path):
            from sisra.client.export import ExportError

            try:
                return write_export(profile, folder, item, path)
            except ExportError as exc:
                raise Failure(exc.code, exc.message) from exc

        sender = make_pro()
        with PlatformClient(live_server.url) as c:
            share_request(c._http, sender, make_patient(), [pro], pdf(padding=200_000))
        client = PlatformClient(live_server.url)
        engine = SyncEngine(
            client,
            CredentialTokens(client, creds),
            LocalState(tmp_path / "s.db"),
            export,
            tmp_path / "work",
        )
        engine.catch_up()
        assert engine.process_due().failed == 1
        (failure,) = engine.state.failures()
        assert failure.error_code == "disk_full" and failure.error_message
        assert [p.name for p in folder.iterdir()] == []  # nothing partial left
        subprocess.run(["mount", "-o", "remount,size=2m", str(folder)], check=True)
        engine.state.retry_now()
        assert engine.process_due().exported == 1
        assert len([p for p in folder.iterdir() if p.suffix == ".pdf"]) == 1
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_two_accounts_on_one_computer_stay_separate(
    live_server, make_pro, make_patient, pdf, smtp_sink, tmp_path
):
    sender = make_pro()
    patient = make_patient()
    engines = {}
    for login in ("cabinet.a", "cabinet.b"):
        pro = make_pro(login, log_in=False)
        tokens = otp_login(
            PlatformClient(live_server.url)._http, smtp_sink, login, f"{login}@demo.sisra.test"
        )
        folder = tmp_path / login / "export"
        folder.mkdir(parents=True)
        engines[login] = (
            pro,
            engine_for(
                live_server,
                Credentials.from_tokens(live_server.url, tokens),
                tmp_path / login,
                folder,
            ),
            folder,
        )
    with PlatformClient(live_server.url) as c:
        for login, (pro, _e, _f) in engines.items():
            share_request(c._http, sender, patient, [pro], pdf(login), title=f"Pour {login}")
    for login, (_pro, engine, folder) in engines.items():
        engine.catch_up()
        assert engine.process_due().exported == 1
        assert [p.name.split()[1] for p in folder.iterdir()] == [login]


def test_a_revoked_device_stops_the_engine_with_its_reason(
    live_server, account, tmp_path, make_pro
):
    _pro, creds = account
    with PlatformClient(live_server.url) as c:
        devices = c.get_json("/api/v1/auth/devices", token=creds.access_token)
        c.request("DELETE", f"/api/v1/auth/devices/{devices[0]['id']}", token=creds.access_token)
    folder = tmp_path / "export"
    folder.mkdir()
    engine = engine_for(live_server, creds, tmp_path, folder)
    seen: list[tuple[str, str]] = []
    engine.run(threading.Event(), lambda code, msg: seen.append((code, msg)))
    assert seen and seen[-1][0] == "session_expired" and "fermée" in seen[-1][1]


def test_a_notification_deleted_during_its_export_stays_deleted(tmp_path):
    """« Supprimer » while the engine is exporting that very document: the engine's later
    steps (exported, failed receipt) never bring it back to the list."""
    state = LocalState(tmp_path / "state.db")
    item = InboxItem.from_json(first_platform_item(id="n1", cursor=1))
    assert state.record(item)
    state.mark_deleted("n1")  # the user, from the window
    state.mark_exported("n1", [tmp_path / "a.pdf"])  # the engine, a moment later
    st = state.get("n1")
    assert st.status == "deleted" and st.files == [str(tmp_path / "a.pdf")]
    assert state.current(st) == st  # as the engine tells the window (its item reused)
    state.mark_failed("n1", "notification_not_found", "Supprimée.", 60)  # its receipt: 404
    assert state.get("n1").status == "deleted"
    assert state.current(st) == state.get("n1")
    assert state.due() == [] and [s.id for s in state.visible()] == []


@pytest.fixture
def quiet_stream(settings):
    """Keepalives a minute apart: a stream that only notices a stop at its next line would
    hang for a minute."""
    settings.events_keepalive_seconds = 60.0
    return settings


@contextmanager
def running_live(engine) -> Iterator[list[str]]:
    """``engine.run`` in its thread, online; yields the statuses it reported. Stopped as
    MonSisra stops it (stop + interrupt), and it must end at once."""
    statuses: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(target=engine.run, args=(stop, lambda c, _m: statuses.append(c)))
    thread.start()
    try:
        wait_until(lambda: "online" in statuses)
        yield statuses
    finally:
        stop.set()
        engine.interrupt()
        thread.join(10)
    assert not thread.is_alive()


def test_interrupt_ends_the_live_stream_at_once_for_retry_and_stop(
    quiet_stream, live_server, account, make_pro, make_patient, pdf, tmp_path
):
    pro, creds = account
    folder = tmp_path / "export"  # missing: the first export fails
    engine = engine_for(live_server, creds, tmp_path, folder)
    with running_live(engine) as statuses:
        with PlatformClient(live_server.url) as c:
            share_request(c._http, make_pro(), make_patient(), [pro], pdf(), title="Réessayé")
        wait_until(lambda: bool(engine.state.failures()))
        folder.mkdir()
        assert engine.state.retry_now() == 1
        engine.interrupt()  # « Réessayer »: no waiting for the next keepalive
        wait_until(lambda: [s.status for s in engine.state.all()] == ["exported"])
        assert "offline" not in statuses  # cutting our own stream is not an outage


def test_a_failed_export_is_retried_on_its_backoff_while_listening_live(
    quiet_stream, live_server, account, make_pro, make_patient, pdf, tmp_path
):
    """No « Réessayer » here: the folder comes back (a network share reconnected) and the
    engine retries by itself at the end of the first backoff (5 s), without waiting for the
    live stream to end (a minute) or for a keepalive (a minute here)."""
    pro, creds = account
    folder = tmp_path / "export"  # missing: the first export fails
    engine = engine_for(live_server, creds, tmp_path, folder)
    with running_live(engine) as statuses:
        with PlatformClient(live_server.url) as c:
            share_request(c._http, make_pro(), make_patient(), [pro], pdf(), title="Revenu")
        wait_until(lambda: bool(engine.state.failures()))
        (failure,) = engine.state.failures()
        assert failure.attempts == 1 and failure.next_try - time.time() < 6
        folder.mkdir()
        wait_until(lambda: [s.status for s in engine.state.all()] == ["exported"])
        assert [p.suffix for p in folder.iterdir()] == [".pdf"]
        assert "offline" not in statuses and "error" not in statuses


def test_a_stored_title_with_a_noncharacter_fails_alone_and_the_queue_goes_on(
    live_server, account, make_pro, make_patient, pdf, db, engine, tmp_path
):
    """A document already stored with U+FFFE in its title (written before intake refused
    noncharacters, or straight into the database) made the XDM writer raise an unexpected
    error that stopped the whole export queue at that document, forever."""
    from sisra.client.export import ExportError, get_profile, write_export
    from sisra.platform.models import Document

    pro, creds = account
    sender = make_pro()
    patient = make_patient()
    titles = ["Avant", "Poison", "Après 1", "Après 2"]
    with PlatformClient(live_server.url) as c:
        for title in titles:
            r = share_request(c._http, sender, patient, [pro], pdf(title), title=title)
            assert r.status_code == 201, r.text
            if title == "Poison":
                poison = uuid.UUID(r.json()["document"]["id"])
    # written past the platform's checks, as a database writer would (or an older version)
    event.remove(engine, "before_cursor_execute", refuse_nul_parameters)
    try:
        with db() as s:
            s.execute(update(Document).where(Document.id == poison).values(title="Bilan\ufffe"))
    finally:
        event.listen(engine, "before_cursor_execute", refuse_nul_parameters)
    folder = tmp_path / "xdm"
    folder.mkdir()
    profile = get_profile("xdm")

    def export(item, path):  # as the application's exporter (engine.exporter_for)
        try:
            return write_export(profile, folder, item, path)
        except ExportError as exc:
            raise ExportError(exc.code, exc.message) from exc

    client = PlatformClient(live_server.url)
    engine = SyncEngine(
        client,
        CredentialTokens(client, creds),
        LocalState(tmp_path / "s.db"),
        export,
        tmp_path / "w",
    )
    engine.catch_up()
    report = engine.process_due()
    assert (report.exported, report.failed) == (3, 1)
    assert len(list(folder.glob("*.ZIP"))) + len(list(folder.glob("*.zip"))) == 3
    (failure,) = engine.state.failures()
    assert failure.item.document.id == str(poison)
    assert failure.error_code == "invalid_content"
    assert "caractère que le format XDM ne peut pas porter (U+FFFE)" in failure.error_message
    assert failure.next_try > time.time()
    # retried on its backoff, but not forever: after a few tries it waits for « Réessayer »
    for _ in range(10):  # a day goes by each time
        engine.state._db.execute("UPDATE items SET next_try = next_try - 86400")
        engine.process_due()
    (failure,) = engine.state.failures()
    assert failure.attempts == 5 and failure.next_try > time.time() + 365 * 86400
    assert "ne réessaiera plus de lui-même" in failure.error_message
    assert engine.state.retry_now(failure.id) == 1  # the user's « Réessayer » still works
    assert engine.process_due().failed == 1


def test_an_unexpected_error_from_a_writer_fails_that_document_only(
    live_server, account, make_pro, make_patient, pdf, tmp_path
):
    """Any exception from a writer (here a bug raising ValueError on one document) used to
    escape the engine: the sync loop ended and no later document was exported."""
    pro, creds = account
    sender = make_pro()
    patient = make_patient()
    with PlatformClient(live_server.url) as c:
        for title in ("Avant", "Défaut", "Après"):
            share_request(c._http, sender, patient, [pro], pdf(title), title=title)
    folder = tmp_path / "export"
    folder.mkdir()
    real = folder_exporter(folder)

    def export(item, path):
        if item.document.title == "Défaut":
            raise ValueError("champ inattendu")
        return real(item, path)

    client = PlatformClient(live_server.url)
    engine = SyncEngine(
        client,
        CredentialTokens(client, creds),
        LocalState(tmp_path / "s.db"),
        export,
        tmp_path / "w",
    )
    statuses: list[tuple[str, str]] = []
    stop = threading.Event()
    runner = threading.Thread(target=engine.run, args=(stop, lambda *a: statuses.append(a)))
    runner.start()
    try:
        wait_until(lambda: len(list(folder.glob("*.pdf"))) == 2)
        wait_until(lambda: len(engine.state.failures()) == 1)
        assert runner.is_alive()  # still syncing
    finally:
        stop.set()
        engine.interrupt()
        runner.join(30)
    (failure,) = engine.state.failures()
    assert failure.item.document.title == "Défaut"
    assert failure.error_code == "export_error"
    assert (
        "Erreur inattendue" in failure.error_message and "champ inattendu" in failure.error_message
    )

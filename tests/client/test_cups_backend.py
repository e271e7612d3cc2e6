"""The monsisra CUPS backend under a real, private cupsd: what an application prints lands as
a PDF in the printing user's outbox (imprimes/), with their ownership; refusals are CUPS's."""

import os
import pwd
import shutil
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sisra.client.accounts import AccountSettings, AccountStore
from sisra.client.auth import Credentials
from sisra.client.printing import cups_backend, jobs
from sisra.client.vault import KdfParams
from support.cups import QUEUE
from support.letters import letter_pdf, referral_lines
from support.waiting import wait_until

FAST = KdfParams(time_cost=1, memory_cost=1024, parallelism=1)


def make_account(store: AccountStore, pro: str = "pro-1") -> object:
    creds = Credentials(
        server_url="http://127.0.0.1:9",
        professional_id=pro,
        device_id=f"dev-{pro}",
        access_token="at",
        refresh_token="rt",
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    ).to_dict()
    settings = AccountSettings(
        display_name=f"Dr {pro}", login=pro, professional_id=pro, server_url="http://127.0.0.1:9"
    )
    return store.create(settings, "Mot-de-passe-local-1", creds)


def printed(store: AccountStore) -> list[Path]:
    account = jobs.receiving_account(store.root)
    return [] if account is None else jobs.printed_jobs(jobs.printed_dir(account))


def job_state(cups, job: str) -> str:
    return cups.run("lpstat", "-W", "completed", "-l", "-o", QUEUE).stdout + job


def test_discovery_prints_the_device_line_and_bad_arguments_fail():
    backend = [sys.executable, "-m", "sisra.client.printing.cups_backend"]
    found = subprocess.run(backend, capture_output=True, text=True, check=True)
    assert found.stdout.startswith('direct monsisra:/ "MonSisra"')
    wrong = subprocess.run([*backend, "1", "2"], capture_output=True, text=True)
    assert wrong.returncode == cups_backend.CUPS_BACKEND_FAILED and "Usage" in wrong.stderr


def test_a_printed_letter_lands_as_a_pdf_in_the_outbox(private_cups, account_store, tmp_path):
    account = make_account(account_store)
    letter = tmp_path / "lettre.pdf"
    letter.write_bytes(letter_pdf(referral_lines()))
    done = private_cups.run("lp", "-d", QUEUE, "-t", "Lettre Dupont", str(letter), check=True)
    job = done.stdout.split()[3].rsplit("-", 1)[1]  # « request id is MonSisra-1 (1 file(s)) »
    wait_until(lambda: printed(account_store), 60)
    (path,) = printed(account_store)
    assert path.parent == account.folder / "a-envoyer" / "imprimes"
    assert path.name.startswith("imprime-") and path.name.endswith(f"-{job}.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-64:]
    # what the window reads: the text survived
    from sisra.client.letter_proposals import propose_pdf

    assert propose_pdf(data).patients[0].birth_name == "DUPONT"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_postscript_and_text_arrive_as_pdf_too(private_cups, account_store, tmp_path):
    make_account(account_store)
    text = tmp_path / "note.txt"
    text.write_text("Courrier tapé en texte brut.\nDocteur Paul MARTIN\n", encoding="utf-8")
    private_cups.run("lp", "-d", QUEUE, str(text), check=True)
    wait_until(lambda: printed(account_store), 90)
    (path,) = printed(account_store)
    assert path.read_bytes().startswith(b"%PDF-")


def test_without_any_monsisra_account_the_job_is_refused_in_french(private_cups, tmp_path):
    letter = tmp_path / "lettre.pdf"
    letter.write_bytes(letter_pdf(["Bonjour"]))
    private_cups.run("lp", "-d", QUEUE, str(letter), check=True)
    wait_until(lambda: "Aucun compte MonSisra" in private_cups.log(), 60)
    wait_until(
        lambda: (
            "aborted" in private_cups.run("lpstat", "-W", "completed", "-o").stdout
            or "Backend returned status 1" in private_cups.log()
        ),
        30,
    )
    assert "ERROR" not in private_cups.run("lpstat", "-p", QUEUE).stdout
    assert "is idle" in private_cups.run("lpstat", "-p", QUEUE).stdout  # abort-job: queue goes on


def test_the_backend_takes_the_printing_users_identity(tmp_path):
    """Run as root for user « nobody »: the file is nobody's, written by nobody (not root)."""
    from needs import need

    need("cups")
    from fixtures.printing import start_cups

    nobody = pwd.getpwnam("nobody")
    cups_home = None
    base = Path(os.environ.get("TMPDIR", "/tmp"))
    import tempfile

    shared = Path(tempfile.mkdtemp(prefix="sisra-nobody-", dir=base))
    shared.chmod(0o755)
    try:
        cups_home = shared / "monsisra"
        store = AccountStore(cups_home, kdf=FAST)
        make_account(store)
        for path in [cups_home, *cups_home.rglob("*")]:
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        cups, cups_base = start_cups(cups_home)
        try:
            letter = shared / "lettre.pdf"
            letter.write_bytes(letter_pdf(["Lettre de nobody"]))
            letter.chmod(0o644)
            cups.run("lp", "-U", "nobody", "-d", QUEUE, str(letter), check=True)
            wait_until(lambda: printed(store), 60)
            (path,) = printed(store)
            owner = path.stat()
            assert (owner.st_uid, owner.st_gid) == (nobody.pw_uid, nobody.pw_gid)
            assert path.parent.stat().st_uid == nobody.pw_uid
            # and what nobody may not write stays unwritten: a root-only home refuses the job
            os.chown(cups_home / "accounts", 0, 0)
            for entry in list((cups_home / "accounts").iterdir()):
                os.chown(entry, 0, 0)
                entry.chmod(0o700)
            cups.run("lp", "-U", "nobody", "-d", QUEUE, str(letter), check=True)
            wait_until(lambda: "illisible" in cups.log() or "impossible" in cups.log(), 60)
            assert len(printed(store)) == 1
        finally:
            cups.stop()
            shutil.rmtree(cups_base, ignore_errors=True)
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_a_job_that_is_not_a_pdf_is_refused(account_store, tmp_path):
    import io

    make_account(account_store)
    err = io.StringIO()
    status = cups_backend.main(
        ["monsisra:/", "7", pwd.getpwuid(os.getuid()).pw_name, "t", "1", ""],
        stdin=io.BytesIO(b"PJL garbage without any pdf"),
        err=err,
    )
    assert status == cups_backend.CUPS_BACKEND_FAILED
    assert err.getvalue().startswith("ERROR: Le travail reçu n'est pas un PDF")
    assert printed(account_store) == []


def test_with_two_accounts_the_job_goes_to_the_one_used_last(account_store):
    import io
    import time

    first = make_account(account_store, "pro-1")
    second = make_account(account_store, "pro-2")
    for account, age in ((first, 10), (second, 1000)):
        for path in account.folder.iterdir():
            then = time.time() - age
            os.utime(path, (then, then))
    err = io.StringIO()
    status = cups_backend.main(
        ["monsisra:/", "8", pwd.getpwuid(os.getuid()).pw_name, "t", "1", ""],
        stdin=io.BytesIO(letter_pdf(["x"])),
        err=err,
    )
    assert status == cups_backend.CUPS_BACKEND_OK, err.getvalue()
    assert err.getvalue().startswith("INFO: Document déposé pour MonSisra : imprime-")
    assert len(jobs.printed_jobs(jobs.printed_dir(first))) == 1
    assert jobs.printed_jobs(jobs.printed_dir(second)) == []

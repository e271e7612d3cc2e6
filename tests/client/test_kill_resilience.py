"""`kill -9` of the sync process at arbitrary moments: every document ends up exported exactly
once, complete, and acknowledged."""

import hashlib
import os
import random
import signal
import subprocess
import sys
import time

from sisra.client.accounts import AccountSettings, AccountStore
from sisra.client.api import PlatformClient
from sisra.client.auth import Credentials
from sisra.client.vault import KdfParams
from support.documents import share_request
from support.personas import otp_login

LOCAL_PASSWORD = "Mot-de-passe-local-1"


def test_killed_mid_sync_exports_each_document_exactly_once(
    platform_process, make_pro, make_patient, pdf, smtp_sink, tmp_path, settings
):
    pro = make_pro("tenace", log_in=False)
    tokens = otp_login(
        PlatformClient(platform_process.url)._http, smtp_sink, "tenace", "tenace@demo.sisra.test"
    )
    creds = Credentials.from_tokens(platform_process.url, tokens)
    home = tmp_path / "monsisra"
    folder = tmp_path / "export"
    folder.mkdir()
    store = AccountStore(home, kdf=KdfParams(time_cost=1, memory_cost=1024, parallelism=1))
    store.create(
        AccountSettings(
            display_name="Tenace",
            login="tenace",
            professional_id=str(pro.id),
            server_url=platform_process.url,
            software_profile_id="pdf",
            export_folder=folder,
            backfill_days=0,
            launch_at_startup=False,
        ),
        LOCAL_PASSWORD,
        creds.to_dict(),
    )
    sender = make_pro()
    patient = make_patient()
    sent = {}
    with PlatformClient(platform_process.url) as c:
        for i in range(6):
            data = pdf(f"Scanner {i}", pages=2, padding=1_800_000)
            r = share_request(c._http, sender, patient, [pro], data, title=f"Scanner {i}")
            assert r.status_code == 201
            sent[hashlib.sha256(data).hexdigest()] = data
    env = {**os.environ, "MONSISRA_HOME": str(home)}
    cmd = [sys.executable, "-m", "sisra.cli", "client", "sync", "--follow"]
    rng = random.Random(7)
    for _ in range(8):
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdin is not None
        proc.stdin.write(f"{LOCAL_PASSWORD}\n".encode())
        proc.stdin.close()
        time.sleep(rng.uniform(0.9, 2.2))  # start-up takes about a second
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    final = subprocess.run(
        [sys.executable, "-m", "sisra.cli", "client", "sync"],
        env=env,
        input=f"{LOCAL_PASSWORD}\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert final.returncode == 0, final.stderr
    files = sorted(p for p in folder.iterdir())
    assert not [p for p in files if p.name.startswith(".") or p.suffix == ".part"]
    pdfs = [p for p in files if p.suffix.lower() == ".pdf"]
    assert len(pdfs) == 6, [p.name for p in files]
    assert {hashlib.sha256(p.read_bytes()).hexdigest() for p in pdfs} == set(sent)
    with PlatformClient(platform_process.url) as c:
        fresh = store.unlock(store.list()[0].id, LOCAL_PASSWORD).credentials
        items = c.get_json("/api/v1/inbox", token=fresh["access_token"])["items"]
    assert all(i["delivered_at"] for i in items) and len(items) == 6

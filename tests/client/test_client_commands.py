"""The MonSisra commands a practice uses, as processes: enrolment by e-mail code with a
backfill, list, delete, reply, password change — against a running platform."""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import update

from sisra.client.api import PlatformClient
from sisra.platform.models import Notification, utcnow
from support.documents import share_request

LOCAL = "Local-mot-de-passe-1"


def run(env, *args, stdin=""):
    return subprocess.run(
        [sys.executable, "-m", "sisra.cli", "client", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_enrol_by_code_backfill_list_delete_reply_and_password(
    platform_process, make_pro, make_patient, pdf, smtp_sink, tmp_path, db
):
    pro = make_pro("helene.roux", first_name="Hélène", last_name="Roux", log_in=False)
    sender = make_pro()
    patient = make_patient("MARTIN")
    with PlatformClient(platform_process.url) as c:
        old = share_request(c._http, sender, patient, [pro], pdf("ancien"), title="Ancien bilan")
        new = share_request(c._http, sender, patient, [pro], pdf("récent"), title="Bilan récent")
    with db() as s:
        s.execute(
            update(Notification)
            .where(Notification.id == uuid.UUID(old.json()["notifications"][0]))
            .values(created_at=utcnow() - timedelta(days=10))
        )
    folder = tmp_path / "Documents"
    env = {**os.environ, "MONSISRA_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sisra.cli",
            "client",
            "add-user",
            "--identifier",
            "helene.roux",
            "--server",
            platform_process.url,
            "--profile",
            "hprim",
            "--folder",
            str(folder),
            "--days",
            "5",
            "--no-autostart",
        ],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdin and proc.stdout
    proc.stdin.write("Motdepasse-2026!\n")
    proc.stdin.flush()
    seen = ""
    deadline = time.monotonic() + 60
    while "usage unique" not in seen and time.monotonic() < deadline:
        seen += proc.stdout.readline()
    assert "h•" in seen  # the masked address
    code = smtp_sink.last_to("helene.roux@demo.sisra.test").code()
    proc.stdin.write(f"{code}\n{LOCAL}\n")
    proc.stdin.close()
    out = seen + proc.stdout.read()
    assert proc.wait(60) == 0, out
    assert "C'est terminé" in out and "1 document(s) enregistré(s)" in out
    exported = sorted(p.name for p in folder.iterdir())
    assert len(exported) == 2 and {p.rsplit(".", 1)[1] for p in exported} == {"pdf", "hpr"}
    assert all(name.startswith("MARTIN_") for name in exported)  # the HPRIM profile's names

    listed = run(env, "list")
    assert "Bilan récent" in listed.stdout and "enregistré" in listed.stdout
    assert "Ancien bilan" in listed.stdout and "non récupéré" in listed.stdout
    assert run(env, "failures").stdout.strip() == "Aucun échec."

    note_new = new.json()["notifications"][0]
    deleted = run(env, "delete", note_new[:8], stdin=f"{LOCAL}\n")
    assert deleted.returncode == 0, deleted.stderr
    assert "dossier régional" in deleted.stdout
    assert "Bilan récent" not in run(env, "list").stdout
    assert sorted(p.name for p in folder.iterdir()) == exported  # the files stay

    replied = run(
        env, "reply", old.json()["notifications"][0][:8], "--no-browser", stdin=f"{LOCAL}\n"
    )
    assert replied.returncode == 0, replied.stderr
    ticket_url = replied.stdout.strip().splitlines()[-1]
    path = "/web/ticket/" + ticket_url.split("/web/ticket/", 1)[1]
    r = httpx.get(platform_process.url + path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/repondre/")

    changed = run(env, "password", stdin=f"{LOCAL}\nNouveau-mdp-local-2\n")
    assert changed.returncode == 0, changed.stderr
    assert run(env, "send", "--no-browser", stdin=f"{LOCAL}\n").returncode == 1
    assert run(env, "send", "--no-browser", stdin="Nouveau-mdp-local-2\n").returncode == 0

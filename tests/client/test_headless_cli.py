"""`sisra client …` off a terminal, as a service or a script runs it: missing input said in
French, the server address from SISRA_SERVER_URL, no autostart unless asked, `list` with a
header and newest first, the daemon's line per document and its clean stop on SIGTERM."""

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta

from sqlalchemy import update

from sisra.client.api import PlatformClient
from sisra.platform.models import Notification, utcnow
from support.client_cli import CLI, LOCAL, run
from support.daemon import start_daemon
from support.documents import share_request


def test_missing_input_is_said_in_french_and_nothing_is_sent(tmp_path):
    env = {**os.environ, "MONSISRA_HOME": str(tmp_path / "home")}
    env.pop("SISRA_SERVER_URL", None)
    # port 9 answers nobody: had a request been sent, the message would be another one
    args = ("add-user", "--identifier", "helene.roux", "--server", "http://127.0.0.1:9")
    for result in (run(env, *args, stdin=""), run(env, *args, closed=True)):
        assert result.returncode == 1, result.stderr
        assert (
            "Mot de passe du portail attendu sur l'entrée standard (aucune donnée reçue)."
            in result.stderr
        )
        assert "mal formée" not in result.stderr + result.stdout
    blank = run(env, *args, stdin="\n")
    assert blank.returncode == 1
    assert "Mot de passe du portail attendu sur l'entrée standard (ligne vide reçue)." in (
        blank.stderr
    )
    # the prompt shows even though standard input is not a terminal
    assert "Mot de passe du portail" in blank.stderr.splitlines()[0]
    assert not (tmp_path / "home").exists() or not list((tmp_path / "home").rglob("vault.bin"))


def test_an_unknown_profile_is_refused_before_any_password_is_asked(tmp_path):
    env = {**os.environ, "MONSISRA_HOME": str(tmp_path / "home")}
    args = ("add-user", "--identifier", "helene.roux", "--server", "http://127.0.0.1:9")
    result = run(env, *args, "--profile", "medistori", stdin="secret\n")
    assert result.returncode == 1
    assert "Profil « medistori » inconnu" in result.stderr and "medistory" in result.stderr
    assert "Mot de passe" not in result.stdout + result.stderr  # nothing asked, nothing sent
    helped = run({**env, "COLUMNS": "300"}, "add-user", "--help").stdout
    assert "hprim (HPRIM Net" in helped and "mlm_eo" in helped  # the choices are listed


def test_admin_set_password_says_when_standard_input_is_empty(tmp_path):
    for closed in (False, True):
        command = [sys.executable, "-m", "sisra.cli", "admin", "set-password", "quelquun"]
        if closed:
            command = ["sh", "-c", " ".join(f"'{a}'" for a in command) + " <&-"]
        result = subprocess.run(
            command,
            input=None if closed else "",
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ},
        )
        assert result.returncode == 1, result.stderr
        assert "Mot de passe portail attendu sur l'entrée standard (aucune donnée reçue)." in (
            result.stderr
        )


def test_the_server_comes_from_sisra_server_url_and_an_unreachable_one_stops_clearly(tmp_path):
    env = {
        **os.environ,
        "MONSISRA_HOME": str(tmp_path / "home"),
        "SISRA_SERVER_URL": "http://127.0.0.1:9",
    }
    result = run(env, "add-user", "--identifier", "helene.roux", stdin="secret\n")
    assert result.returncode == 1
    assert "La plateforme ne répond pas (127.0.0.1:9)." in result.stderr
    assert "--server ou SISRA_SERVER_URL" in result.stderr and "relancez" in result.stderr
    assert "réessaiera" not in result.stderr  # the command has ended: nothing retries


ENROL = ("--profile", "pdf", "--days", "30", "--folder")


def _enrol(url, env, smtp_sink, folder):
    proc = subprocess.Popen(
        [*CLI, "add-user", "--identifier", "helene.roux", "--server", url, *ENROL, str(folder)],
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
    code = smtp_sink.last_to("helene.roux@demo.sisra.test").code()
    proc.stdin.write(f"{code}\n{LOCAL}\n")
    proc.stdin.close()
    out = seen + proc.stdout.read()
    assert proc.wait(60) == 0, out
    return out


def test_headless_enrolment_list_and_daemon_log(
    platform_process, make_pro, make_patient, pdf, smtp_sink, tmp_path, db
):
    pro = make_pro("helene.roux", first_name="Hélène", last_name="Roux", log_in=False)
    sender = make_pro("emile.adam", first_name="Émile", last_name="Adam", profession="Infirmier")
    patient = make_patient("BERTHIER")
    with PlatformClient(platform_process.url) as c:
        old = share_request(c._http, sender, patient, [pro], pdf("a"), title="Bilan ancien")
        share_request(c._http, sender, patient, [pro], pdf("b"), title="Bilan récent")
    with db() as s:  # the first one received three days ago
        s.execute(
            update(Notification)
            .where(Notification.id == uuid.UUID(old.json()["notifications"][0]))
            .values(created_at=utcnow() - timedelta(days=3))
        )
    folder = tmp_path / "Documents"
    env = {
        **os.environ,
        "MONSISRA_HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PYTHONUNBUFFERED": "1",
    }
    _enrol(platform_process.url, env, smtp_sink, folder)  # no --autostart/--no-autostart
    assert not (tmp_path / "config" / "autostart").exists()
    assert "Lancement au démarrage : non" in run(env, "settings").stdout

    listed = run(env, "list").stdout.splitlines()
    assert listed[0].split()[:3] == ["Réf.", "Reçu", "le"] and "État" in listed[0]
    assert "Bilan récent" in listed[1] and "Bilan ancien" in listed[2]  # newest first

    daemon = start_daemon(env, tmp_path / "cles", ["helene.roux"])
    assert daemon.stdout
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while not any("Connecté" in line for line in lines) and time.monotonic() < deadline:
            lines.append(daemon.stdout.readline())
        with PlatformClient(platform_process.url) as c:
            share_request(c._http, sender, patient, [pro], pdf("c"), title="Compte rendu IRM")
        while not any("IRM" in line for line in lines) and time.monotonic() < deadline:
            lines.append(daemon.stdout.readline())
        daemon.send_signal(signal.SIGTERM)
        rest, _ = daemon.communicate(timeout=60)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    out = "".join(lines) + rest
    logged = next(line for line in lines if "IRM" in line)
    assert logged.startswith("[Hélène Roux] Document enregistré : ")
    assert "« Compte rendu IRM » d'Émile ADAM" in logged, logged  # no « de É… »
    assert logged.rstrip().endswith(".pdf")  # the file name written
    exported = [p.name for p in folder.iterdir() if "IRM" in p.name or p.name in logged]
    assert exported and exported[0] in logged
    assert "BERTHIER" not in logged.split(" → ")[0]  # no patient name in the message itself
    assert out.count("Connecté") == 1  # not once per minute of listening
    assert daemon.returncode == 0, out

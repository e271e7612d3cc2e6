"""`sisra client daemon` over a month on a practice server: strong authentication falls due
and is renewed with `sisra client reauth` while the daemon runs, users are added and removed,
systemd hears its state (sd_notify), `sisra client status` tells it, and SIGTERM stops it in
a few seconds with a last line. None of this needs a restart."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from sisra.client.accounts import AccountStore
from sisra.client.api import PlatformClient
from sisra.platform.models import AccessToken, Device, Professional, utcnow
from support.client_cli import CLI, LOCAL, run
from support.daemon import PORTAL, Lines, answer_code, enrol, start_daemon
from support.documents import share_request


def test_the_daemon_resumes_after_reauth_follows_users_and_tells_systemd(
    platform_process: Any,
    make_pro: Any,
    make_patient: Any,
    pdf: Any,
    smtp_sink: Any,
    tmp_path: Path,
    db: Any,
) -> None:
    url = platform_process.url
    make_pro("helene.roux", first_name="Hélène", last_name="Roux", log_in=False)
    make_pro("paul.morel", first_name="Paul", last_name="Morel", log_in=False)
    sender = make_pro("emile.adam", first_name="Émile", last_name="Adam", profession="Infirmier")
    patient = make_patient("BERTHIER")
    home = tmp_path / "home"
    env = {
        **os.environ,
        "MONSISRA_HOME": str(home),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PYTHONUNBUFFERED": "1",
    }
    helene_folder, paul_folder = tmp_path / "Helene", tmp_path / "Paul"
    enrol(url, env, smtp_sink, "helene.roux", helene_folder)
    keyfile = tmp_path / "cles"

    def share(recipient_login: str, title: str) -> None:
        with db() as s:
            recipient = s.query(Professional).filter_by(login=recipient_login).one()
            recipient_id = recipient.id
        with PlatformClient(url) as c:
            r = share_request(c._http, sender, patient, [recipient_id], pdf(title), title=title)
            assert r.status_code == 201, r.text

    def exported(folder: Path, word: str) -> bool:
        return folder.is_dir() and any(word in p.name for p in folder.iterdir())

    # systemd's notification socket, as a Type=notify unit has
    notify_path = tmp_path / "notify"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.settimeout(0.2)
    messages: list[str] = []

    def notified(prefix: str, seconds: float = 30) -> str:
        """The first message so far, or to come, that starts with ``prefix``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = [m for m in messages if m.startswith(prefix)]
            if found:
                return found[0]
            try:
                messages.append(notify.recv(4096).decode())
            except TimeoutError:
                continue
        raise AssertionError(f"{prefix} never notified: {messages}")

    daemon = start_daemon({**env, "NOTIFY_SOCKET": str(notify_path)}, keyfile, ["helene.roux"])
    lines = Lines(daemon)
    try:
        lines.wait_for("Connecté")
        assert notified("READY=1") == "READY=1"
        assert notified("STATUS=1 utilisateur(s) connecté(s)")
        status = run(env, "status").stdout
        assert f"en marche (processus {daemon.pid})" in status, status
        assert "Hélène Roux : Connecté" in status, status

        # a month later: strong authentication falls due while the daemon runs (the access
        # token long gone: the next refresh is refused)
        with db() as s:
            pro = s.query(Professional).filter_by(login="helene.roux").one().id
            s.execute(
                update(Device)
                .where(Device.professional_id == pro)
                .values(strong_auth_at=utcnow() - timedelta(days=31))
            )
            s.execute(
                update(AccessToken)
                .where(AccessToken.professional_id == pro)
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
        share("helene.roux", "Bilan sanguin")
        lines.wait_for("sisra client reauth")
        status = run(env, "status").stdout
        assert "authentifiez-vous" in status and "sisra client reauth" in status, status

        # the practice's IT person renews it; the running daemon resumes by itself
        reauth = subprocess.Popen(
            [*CLI, "reauth"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        answer_code(reauth, smtp_sink, "helene.roux@demo.sisra.test", [LOCAL, PORTAL], [])
        lines.wait_for("Authentification renouvelée : la synchronisation reprend.")
        deadline = time.monotonic() + 60
        while not exported(helene_folder, "Bilan") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert exported(helene_folder, "Bilan"), lines.all  # shared while it waited

        # a colleague is added to this computer: synced without a restart
        keyfile.write_text(f"helene.roux: {LOCAL}\npaul.morel: {LOCAL}\n", encoding="utf-8")
        enrol(url, env, smtp_sink, "paul.morel", paul_folder)
        lines.wait_for("[Paul Morel] Utilisateur ajouté")
        lines.wait_for("[Paul Morel] Connecté")
        share("paul.morel", "Compte rendu IRM")
        lines.wait_for("[Paul Morel] Document enregistré")
        assert exported(paul_folder, "IRM")

        # and removed: the daemon lets go of the account
        store = AccountStore(home)
        paul = next(a for a in store.list() if a.settings.login == "paul.morel")
        store.remove(paul.id)
        lines.wait_for("[Paul Morel] Utilisateur retiré de cet ordinateur")

        started = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
        took = time.monotonic() - started
    finally:
        if daemon.poll() is None:
            daemon.kill()
        notify.close()
    lines.wait_for("MonSisra est arrêté.", seconds=5)
    assert took < 5, f"{took:.1f} s to stop"
    assert daemon.returncode == 0, "".join(lines.all)
    status = run(env, "status").stdout
    assert "Service MonSisra : arrêté (depuis le " in status, status

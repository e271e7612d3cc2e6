"""`sisra client add-user --psc` and `reauth --psc`, as processes (a practice server): the
command prints the Pro Santé Connect address, the professional logs in in a browser of the same
computer (Chromium here), the command finishes by itself."""

import os
import subprocess
import sys
from datetime import timedelta

from playwright.sync_api import Page
from sqlalchemy import select, update

from sisra.platform.models import Device, utcnow
from support.psc import national_id_of, psc_provider_login

LOCAL = "Local-mot-de-passe-1"


def _run_with_browser(args, env, stdin, page: Page, national_id: str):
    proc = subprocess.Popen(
        [sys.executable, "-m", "sisra.cli", "client", *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(stdin)
    proc.stdin.flush()
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("http"):
            page.goto(line.strip())
            psc_provider_login(page, national_id)
            break
    proc.stdin.close()
    rest = proc.stdout.read()
    assert proc.wait(60) == 0, "".join(lines) + rest
    return "".join(lines) + rest


def test_add_user_then_reauth_with_e_cps(psc_server, make_pro, db, tmp_path, page: Page):
    pro = make_pro("psc.cli", first_name="Rémi", last_name="Faure", log_in=False)
    nid = national_id_of(db, pro)
    env = {
        **os.environ,
        "MONSISRA_HOME": str(tmp_path / "monsisra"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
    }
    added = _run_with_browser(
        [
            "add-user",
            "--psc",
            "--no-browser",
            "--server",
            psc_server.url,
            "--profile",
            "pdf",
            "--folder",
            str(tmp_path / "docs"),
            "--days",
            "0",
            "--no-autostart",
        ],
        env,
        f"{LOCAL}\n{LOCAL}\n",
        page,
        nid,
    )
    assert "Connectez-vous avec e-CPS" in added and "C'est terminé" in added
    with db() as s:
        s.execute(update(Device).values(strong_auth_at=utcnow() - timedelta(days=31)))
        (device_id,) = s.scalars(select(Device.id).where(Device.professional_id == pro.id)).all()
    renewed = _run_with_browser(["reauth", "--psc", "--no-browser"], env, f"{LOCAL}\n", page, nid)
    assert "Authentification renouvelée" in renewed
    with db() as s:
        device = s.get(Device, device_id)
        assert device.strong_auth_at > utcnow() - timedelta(minutes=5)  # the same device
        assert device.auth_method == "psc"

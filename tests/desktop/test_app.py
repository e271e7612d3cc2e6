"""`sisra desktop` as a user starts it: the first window is the wizard on a new computer,
CONNEXION once someone is enrolled."""

import os
import subprocess
import sys

from sisra.client.accounts import AccountSettings

SERVER = "http://127.0.0.1:9"


def first_window(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "sisra.cli", "desktop", "--startup-time"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("first-window-shown"))
    return line.split()[-1]


def test_first_window(account_store, tmp_path):
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "MONSISRA_HOME": str(account_store.root),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
    }
    assert first_window(env) == "EnrolWizard"  # nobody on this computer yet
    creds = {
        "server_url": SERVER,
        "professional_id": "p1",
        "device_id": "d1",
        "access_token": "a",
        "refresh_token": "r",
        "expires_at": "2030-01-01T00:00:00+00:00",
    }
    account_store.create(
        AccountSettings("Dr Test", "dr.test", "p1", SERVER), "Mon-mot-de-passe-local", creds
    )
    assert first_window(env) == "LoginWindow"

"""`sisra desktop` as a user starts it: the first window is the wizard on a new computer,
CONNEXION once someone is enrolled."""

import os
import subprocess
import sys

from sisra.devtools.inbox import offline_account


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
    offline_account(account_store, "Mon-mot-de-passe-local")
    assert first_window(env) == "LoginWindow"

"""`sisra dev make-card`, `sisra client login --card` / `open-page`, `sisra admin devices`,
against a running platform that trusts the demo CA."""

import os
import re
import shutil
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from sisra.cli import app as cli
from sisra.devtools import cards
from sisra.devtools.softhsm import SOFTHSM_MODULE

pytestmark = pytest.mark.skipif(
    not Path(SOFTHSM_MODULE).exists() or shutil.which("softhsm2-util") is None,
    reason="SoftHSM2 n'est pas installé",
)


@pytest.fixture
def demo_trust(settings, monkeypatch):
    monkeypatch.setenv("SOFTHSM2_CONF", os.environ.get("SOFTHSM2_CONF", ""))  # restored after
    _ca, cert, crl = cards.demo_pki(settings.data_dir)
    settings.cps_trust_anchors = [cert]
    settings.cps_crls = [str(crl)]
    return settings


def test_make_card_then_enrol_and_open_a_page_from_the_command_line(
    demo_trust, live_server, make_pro, tmp_path, db
):
    settings = demo_trust
    make_pro("noemie.girard", first_name="Noémie", last_name="Girard", log_in=False)
    env = {
        "SISRA_DATABASE_URL": settings.database_url,
        "SISRA_DATA_DIR": str(settings.data_dir),
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
    }
    runner = CliRunner()
    made = runner.invoke(cli, ["dev", "make-card", "noemie.girard"], env=env)
    assert made.exit_code == 0, made.output
    conf = re.search(r"SOFTHSM2_CONF=(\S+)", made.output).group(1)
    assert "code PIN 1234" in made.output
    env["SOFTHSM2_CONF"] = conf
    args = ["client", "login", "--card", "--module", SOFTHSM_MODULE, "--server", live_server.url]
    wrong = runner.invoke(cli, args, input="9999\n", env=env)
    assert wrong.exit_code == 1 and "Code PIN incorrect" in wrong.output
    ok = runner.invoke(cli, args, input="1234\n", env=env)
    assert ok.exit_code == 0, ok.output
    assert "Carte de Noémie Girard lue" in ok.output
    stored = tmp_path / "xdg" / "MonSisra" / "credentials.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    page = runner.invoke(cli, ["client", "open-page", "/accueil", "--no-browser"], env=env)
    assert page.exit_code == 0, page.output
    url = page.output.strip().splitlines()[-1]
    path = url.split("/web/ticket/", 1)[1]
    with httpx.Client(base_url=live_server.url, follow_redirects=True) as browser:
        opened = browser.get(f"/web/ticket/{path}")
        assert opened.status_code == 200 and "Noémie" in opened.text
    listed = runner.invoke(cli, ["admin", "devices", "noemie.girard"], env=env)
    assert listed.exit_code == 0 and "cps" in listed.output and "actif" in listed.output
    device_id = listed.output.split()[0]
    revoked = runner.invoke(cli, ["admin", "revoke-device", device_id], env=env)
    assert revoked.exit_code == 0, revoked.output
    after = runner.invoke(cli, ["client", "open-page", "/accueil", "--no-browser"], env=env)
    assert after.exit_code == 1

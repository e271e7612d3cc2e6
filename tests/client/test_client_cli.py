"""`sisra dev make-card`, `sisra client add-user --card` / `open-page`, `sisra admin devices`,
against a running platform that trusts the demo CA."""

import os
import re

import httpx
import pytest
from typer.testing import CliRunner

from sisra.cli import app as cli
from sisra.devtools import cards
from sisra.devtools.softhsm import SOFTHSM_MODULE
from support.documents import share_request

pytestmark = pytest.mark.needs("softhsm")


@pytest.fixture
def demo_trust(settings, monkeypatch):
    monkeypatch.setenv("SOFTHSM2_CONF", os.environ.get("SOFTHSM2_CONF", ""))  # restored after
    _ca, cert, crl = cards.demo_pki(settings.data_dir)
    settings.cps_trust_anchors = [cert]
    settings.cps_crls = [str(crl)]
    return settings


def test_make_card_then_enrol_and_open_a_page_from_the_command_line(
    demo_trust, live_server, make_pro, make_patient, pdf, tmp_path, db
):
    settings = demo_trust
    noemie = make_pro("noemie.girard", first_name="Noémie", last_name="Girard", log_in=False)
    with httpx.Client(base_url=live_server.url) as c:  # received before MonSisra is installed
        share_request(c, make_pro(), make_patient(), [noemie], pdf(), title="Ancien")
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
    env["MONSISRA_HOME"] = str(tmp_path / "monsisra")
    folder = tmp_path / "Documents reçus"
    args = [
        "client",
        "add-user",
        "--card",
        "--module",
        SOFTHSM_MODULE,
        "--server",
        live_server.url,
        "--profile",
        "hprim",
        "--folder",
        str(folder),
        "--days",
        "0",
        "--no-autostart",
    ]
    wrong = runner.invoke(cli, args, input="9999\n", env=env)
    assert wrong.exit_code == 1 and "Code PIN incorrect" in wrong.output
    ok = runner.invoke(cli, args, input="1234\nMon-mot-de-passe-local\n", env=env)
    assert ok.exit_code == 0, ok.output
    assert "Carte de Noémie Girard lue" in ok.output and "C'est terminé" in ok.output
    vaults = list((tmp_path / "monsisra").rglob("vault.bin"))
    assert len(vaults) == 1 and vaults[0].stat().st_mode & 0o777 == 0o600
    assert b"sat_" not in vaults[0].read_bytes()  # tokens are encrypted at rest
    # « 0 jour » : the document received before the installation is never exported
    synced = runner.invoke(cli, ["client", "sync"], input="Mon-mot-de-passe-local\n", env=env)
    assert synced.exit_code == 0 and "0 document(s) enregistré(s)" in synced.output
    assert not folder.exists() or list(folder.iterdir()) == []
    shown = runner.invoke(cli, ["client", "settings"], env=env)
    assert "hprim" in shown.output and str(folder) in shown.output
    page = runner.invoke(
        cli,
        ["client", "open-page", "/accueil", "--no-browser"],
        input="Mon-mot-de-passe-local\n",
        env=env,
    )
    assert page.exit_code == 0, page.output
    url = page.output.strip().splitlines()[-1]
    path = url.split("/web/ticket/", 1)[1]
    with httpx.Client(base_url=live_server.url, follow_redirects=True) as browser:
        opened = browser.get(f"/web/ticket/{path}")
        assert opened.status_code == 200 and "Noémie" in opened.text
    bad = runner.invoke(
        cli, ["client", "open-page", "--no-browser"], input="pas-le-bon-mdp\n", env=env
    )
    assert bad.exit_code != 0
    listed = runner.invoke(cli, ["admin", "devices", "noemie.girard"], env=env)
    assert listed.exit_code == 0 and "cps" in listed.output and "actif" in listed.output
    device_id = listed.output.split()[0]
    revoked = runner.invoke(cli, ["admin", "revoke-device", device_id], env=env)
    assert revoked.exit_code == 0, revoked.output
    after = runner.invoke(
        cli, ["client", "open-page", "--no-browser"], input="Mon-mot-de-passe-local\n", env=env
    )
    assert after.exit_code == 1

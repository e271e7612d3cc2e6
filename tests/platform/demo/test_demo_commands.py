"""`sisra demo --port N` prints commands that work as printed: with the address it serves."""

import shlex
from pathlib import Path

from sisra.devtools.cards import DemoCard
from sisra.platform.demo.load import DemoSummary, print_logins

URL = "http://127.0.0.1:8101"


def test_the_printed_monsisra_commands_carry_the_demo_address() -> None:
    summary = DemoSummary(
        created=True,
        professionals=[
            ("admin", "Admin RÉGIONAL", "Administrateur"),
            ("elodie.lefevre", "Élodie LEFÈVRE", "Médecine générale"),
        ],
    )
    lines: list[str] = []
    print_logins(summary, echo=lines.append, url=URL)
    desktop = next(line for line in lines if "sisra desktop" in line)
    assert f"SISRA_SERVER_URL={URL} .venv/bin/sisra desktop" in desktop
    cli = shlex.split(next(line for line in lines if "client add-user" in line).split(" : ")[1])
    assert cli[cli.index("--server") + 1] == URL
    assert cli[cli.index("--identifier") + 1] == "elodie.lefevre"  # not the administrator


def test_card_instructions_follow_the_port_of_each_run(tmp_path: Path) -> None:
    card = DemoCard("elodie.lefevre", "Élodie Lefèvre", "1234", tmp_path / "softhsm2.conf")
    first = card.instructions("http://127.0.0.1:8000")
    assert first.startswith("Carte CPS de test d'Élodie Lefèvre")
    assert "SISRA_SERVER_URL=http://127.0.0.1:8000 .venv/bin/sisra desktop" in first
    assert first.rstrip().endswith("--server http://127.0.0.1:8000")
    # the saved list is rewritten at every start, for that start's --port (here 8101)
    again = card.instructions(URL)
    assert "8000" not in again
    assert f"SISRA_SERVER_URL={URL}" in again and again.rstrip().endswith(f"--server {URL}")

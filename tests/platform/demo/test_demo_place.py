"""`sisra dev mails` and `sisra dev make-card` find the demo from any folder (or say where
they looked); the mails are shown decoded with their links whole; the demo makes its missing
CPS cards at every start, and the printed commands carry the port it serves."""

import os
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from typer.testing import CliRunner

from needs import need
from sisra.cli import app
from sisra.devtools.ports import free_port
from sisra.devtools.smtp_sink import SmtpSink
from sisra.platform.demo.place import record
from sisra.platform.settings import Settings

LINK = "http://127.0.0.1:8123/premiere-connexion?jeton=" + "AbCdEf0123456789-_" * 6 + "&suite=%2Fa"


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A user with no demo yet (own state folder), in a folder unrelated to the demo's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    for name in ("SISRA_DATA_DIR", "SISRA_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    other = tmp_path / "ailleurs"
    other.mkdir()
    monkeypatch.chdir(other)
    yield other


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_mails_are_found_from_any_folder_decoded_with_their_links(
    tmp_path: Path, elsewhere: Path
) -> None:
    data = tmp_path / "depot" / "var"
    record(data, 8123, 2599)
    sink = SmtpSink(port=free_port(), directory=data / "mails").start()
    try:
        msg = EmailMessage()
        msg["From"], msg["To"] = "sisra@demo.sisra.test", "lea.morel@demo.sisra.test"
        msg["Subject"] = "Votre première connexion à Sisra"
        # quoted-printable wraps the long link over several lines and encodes « = » and accents
        msg.set_content(
            f"Bonjour Léa,\n\nPour choisir votre mot de passe : {LINK}.\n", cte="quoted-printable"
        )
        with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
            smtp.send_message(msg)
    finally:
        sink.stop()
    raw = next((data / "mails").glob("*.eml")).read_bytes()
    assert LINK.encode() not in raw  # the file really is encoded

    code, out = _run("dev", "mails")
    assert code == 0, out
    assert "lea.morel@demo.sisra.test" in out and "Votre première connexion à Sisra" in out
    assert f"lien : {LINK}\n" in out


def test_mails_without_a_demo_say_where_they_looked(elsewhere: Path) -> None:
    code, out = _run("dev", "mails")
    assert code == 1
    assert "Aucune démonstration trouvée" in out
    assert str(elsewhere / "var") in out.replace("\n", "")
    assert "SISRA_DATA_DIR" in out


def test_an_explicit_data_dir_is_the_only_place_looked_at(
    tmp_path: Path, elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record(tmp_path / "demo-var", 8123, 2599)
    monkeypatch.setenv("SISRA_DATA_DIR", str(tmp_path / "vide"))
    code, out = _run("dev", "mails")
    assert code == 1 and str(tmp_path / "vide") in out.replace("\n", "")
    assert "demo-var" not in out


def test_softhsm_installed_after_a_first_demo_gives_cards_at_the_next_start(
    settings: Settings, elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need("softhsm")
    monkeypatch.setenv("SOFTHSM2_CONF", os.environ.get("SOFTHSM2_CONF", ""))  # restored after
    monkeypatch.setenv("SISRA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SISRA_DATABASE_URL", settings.database_url)
    assert settings.master_key is not None
    monkeypatch.setenv("SISRA_MASTER_KEY", settings.master_key.get_secret_value())
    demo = ("demo", "--no-serve", "--port", "8123", "--documents", "12", "--patients", "4")
    notes = settings.data_dir / "softhsm" / "cartes.txt"

    path = os.environ["PATH"]
    monkeypatch.setenv("PATH", str(elsewhere))  # SoftHSM2 not installed yet
    code, out = _run(*demo)
    assert code == 0, out
    assert "installez SoftHSM2" in out and not notes.exists()

    monkeypatch.setenv("PATH", path)  # installed: the next start makes the cards
    code, out = _run(*demo)
    assert code == 0, out
    assert "Création de" in out and "cartes CPS de test" in out
    cards = notes.read_text(encoding="utf-8")
    assert "--server http://127.0.0.1:8123" in cards and ":8000" not in cards
    holders = cards.count("Carte CPS de test")
    assert holders > 5
    conf = next(line for line in cards.splitlines() if "SOFTHSM2_CONF=" in line)
    assert Path(conf.split("SOFTHSM2_CONF=")[1].split()[0]).exists()

    code, out = _run(*demo)  # a third start makes nothing again
    assert code == 0 and "Création de" not in out, out
    assert notes.read_text(encoding="utf-8").count("Carte CPS de test") == holders

    # make-card from another folder: the demo found through its record, with its port
    monkeypatch.delenv("SISRA_DATA_DIR")
    login = cards.split("(", 1)[1].split(")", 1)[0]
    code, out = _run("dev", "make-card", login, "--softhsm-dir", str(elsewhere / "carte"))
    assert code == 0, out
    assert "--server http://127.0.0.1:8123" in out and ":8000" not in out

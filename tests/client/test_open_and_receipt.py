"""« Lu » means opened: the opener's exit status decides, in the library and in
``sisra client open`` (a fake ``xdg-open`` first in PATH plays the system's opener)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from sisra.client import opener
from sisra.client.accounts import AccountSettings
from sisra.client.api import PlatformClient
from sisra.client.auth import Credentials
from sisra.client.engine import open_engine
from support.documents import share_request
from support.personas import otp_login

LOCAL = "Mon-mot-de-passe-local"


def fake_opener(folder: Path, name: str, body: str) -> tuple[str, Path]:
    """A directory holding only an executable ``name`` (and a log of what it was given)."""
    bin_dir = folder / f"bin-{name}-{abs(hash(body))}"
    bin_dir.mkdir()
    log = bin_dir / "handed.log"
    script = bin_dir / name
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{log}"\n{body}\n')
    script.chmod(0o755)
    return str(bin_dir), log


@pytest.fixture
def path_to(monkeypatch: pytest.MonkeyPatch):
    def use(*dirs: str) -> None:
        monkeypatch.setenv("PATH", os.pathsep.join(dirs))  # nothing else: no real opener

    return use


def test_a_failing_opener_is_a_french_failure(tmp_path: Path, path_to: Any) -> None:
    failing, log = fake_opener(tmp_path, "xdg-open", "exit 3")
    path_to(failing)
    with pytest.raises(opener.OpenFailed) as caught:
        opener.open_file(tmp_path / "bilan.pdf")
    assert "aucune visionneuse PDF" in caught.value.message
    assert log.read_text().strip() == str(tmp_path / "bilan.pdf")
    with pytest.raises(opener.OpenFailed, match="aucun navigateur web"):
        opener.open_url("https://sisra.example.fr/web/ticket/x")


def test_a_working_opener_and_the_gio_fallback(tmp_path: Path, path_to: Any) -> None:
    working, log = fake_opener(tmp_path, "xdg-open", "exit 0")
    path_to(working)
    opener.open_file(tmp_path / "bilan.pdf")
    assert log.read_text().strip() == str(tmp_path / "bilan.pdf")
    # no xdg-open: gio open is asked (its first argument is « open »)
    gio, gio_log = fake_opener(tmp_path, "gio", 'printf "%s\\n" "$2" >> "$0.args"; exit 0')
    path_to(gio)
    opener.open_file(tmp_path / "autre.pdf")
    assert gio_log.read_text().strip() == "open"
    assert Path(f"{gio}/gio.args").read_text().strip() == str(tmp_path / "autre.pdf")
    # nothing at all
    empty = tmp_path / "empty"
    empty.mkdir()
    path_to(str(empty))
    with pytest.raises(opener.OpenFailed, match="aucune visionneuse PDF"):
        opener.open_file(tmp_path / "bilan.pdf")


def test_an_application_in_the_foreground_counts_as_started(
    tmp_path: Path, path_to: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """xdg-open's generic mode runs the viewer itself and returns when it is closed."""
    monkeypatch.setattr(opener, "START_WAIT_S", 0.3)
    viewer, log = fake_opener(tmp_path, "xdg-open", "exec /bin/sleep 30")
    path_to(viewer)
    opener.open_file(tmp_path / "bilan.pdf")  # returns: the viewer is running
    assert log.read_text().strip() == str(tmp_path / "bilan.pdf")
    for process in opener._running:
        process.kill()
        process.wait()


def _enrolled(live_server: Any, smtp_sink: Any, account_store: Any, persona: Any, folder: Path):
    with PlatformClient(live_server.url) as client:
        tokens = otp_login(
            client._http, smtp_sink, persona.login, f"{persona.login}@demo.sisra.test"
        )
    return account_store.create(
        AccountSettings(
            display_name=persona.name,
            login=persona.login,
            professional_id=str(persona.id),
            server_url=live_server.url,
            software_profile_id="hprim",
            export_folder=folder,
            backfill_days=0,
            launch_at_startup=False,
        ),
        LOCAL,
        Credentials.from_tokens(live_server.url, tokens).to_dict(),
    )


def test_client_open_sends_lu_only_once_a_viewer_started(
    live_server, smtp_sink, account_store, make_pro, make_patient, pdf, tmp_path
):
    recipient = make_pro("dr.ouvre", first_name="Lise", last_name="Morel")
    folder = tmp_path / "HPRIM"
    folder.mkdir()
    account = _enrolled(live_server, smtp_sink, account_store, recipient, folder)
    patient = make_patient(birth_name="LŒUILLET", given="Zoé")
    with PlatformClient(live_server.url) as c:
        note = share_request(c._http, make_pro(), patient, [recipient], pdf(), title="Bilan")
    note_id = note.json()["notifications"][0]
    # plain-ASCII names, chosen by the user for a profile that keeps accents by default
    env = {**os.environ, "PATH": os.path.dirname(sys.executable)}
    chosen = subprocess.run(
        [sys.executable, "-m", "sisra.cli", "client", "settings", "--noms-ascii"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert chosen.returncode == 0, chosen.stderr
    assert "Noms de fichiers : sans accents" in chosen.stdout
    running = open_engine(account_store.unlock(account.id, LOCAL))  # with the new settings
    running.engine.catch_up()
    assert running.engine.process_due().exported == 1
    running.close()
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 2 and all(n.startswith("LOEUILLET_Zoe") and n.isascii() for n in names)

    def read_at() -> object:
        r = httpx.get(f"{live_server.url}/api/v1/inbox/{note_id}", headers=recipient.headers)
        return r.json()["read_at"]

    def client_open(path: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "PATH": os.pathsep.join([path, os.path.dirname(sys.executable)]),
        }
        return subprocess.run(
            [sys.executable, "-m", "sisra.cli", "client", "open", note_id[:8]],
            env=env,
            input=f"{LOCAL}\n",
            capture_output=True,
            text=True,
            timeout=120,
        )

    failing, failing_log = fake_opener(tmp_path, "xdg-open", "exit 3")
    failed = client_open(failing)
    assert failed.returncode == 1
    assert "aucune visionneuse PDF" in failed.stderr and "non lu" in failed.stderr
    assert failing_log.read_text().strip().endswith(".pdf")  # the PDF, not the .hpr
    assert read_at() is None

    working, working_log = fake_opener(tmp_path, "xdg-open", "exit 0")
    opened = client_open(working)
    assert opened.returncode == 0, opened.stderr
    assert "« lu » envoyé" in opened.stdout
    assert working_log.read_text().strip().endswith(".pdf")
    assert read_at() is not None


def test_client_open_of_an_xdm_export_opens_the_pdf_inside(
    live_server, smtp_sink, account_store, make_pro, make_patient, pdf, tmp_path
):
    recipient = make_pro("dr.xdm", first_name="Paul", last_name="Rey")
    folder = tmp_path / "XDM"
    folder.mkdir()
    account = _enrolled(live_server, smtp_sink, account_store, recipient, folder)
    account_store.update_settings(account.id, software_profile_id="xdm")
    data = pdf("Scanner")
    with PlatformClient(live_server.url) as c:
        note = share_request(c._http, make_pro(), make_patient(), [recipient], data)
    note_id = note.json()["notifications"][0]
    running = open_engine(account_store.unlock(account.id, LOCAL))
    running.engine.catch_up()
    assert running.engine.process_due().exported == 1
    running.close()
    assert [p.suffix for p in folder.iterdir()] == [".zip"]

    working, log = fake_opener(tmp_path, "xdg-open", "exit 0")
    env = {**os.environ, "PATH": os.pathsep.join([working, os.path.dirname(sys.executable)])}
    opened = subprocess.run(
        [sys.executable, "-m", "sisra.cli", "client", "open", note_id[:8],
         "--sans-accuse-lecture"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    handed = Path(log.read_text().strip())
    assert handed.suffix == ".pdf" and handed.parent.name == "cache"
    assert handed.read_bytes() == data
    r = httpx.get(f"{live_server.url}/api/v1/inbox/{note_id}", headers=recipient.headers)
    assert r.json()["read_at"] is None  # --sans-accuse-lecture

"""`sisra client settings --outbox` and the daemon sending what the practice software drops,
with one line in its journal per letter."""

from __future__ import annotations

import os
import signal
from datetime import date
from pathlib import Path
from typing import Any

from sisra.client.accounts import AccountStore
from sisra.client.outbox import pending
from support.client_cli import LOCAL, run
from support.daemon import Lines, enrol, start_daemon
from support.outbox import hprim, mode, new_patient, rpps_of


def test_the_daemon_sends_from_the_outbox_set_with_the_command_line(
    platform_process: Any, make_pro: Any, pdf: Any, smtp_sink: Any, tmp_path: Path, db: Any
) -> None:
    url = platform_process.url
    make_pro("helene.roux", first_name="Hélène", last_name="Roux", log_in=False)
    paul = make_pro("paul.morel", first_name="Paul", last_name="Morel", log_in=False)
    new_patient(db, "BERTHIER", "Louise", date(1948, 7, 2))
    home = tmp_path / "home"
    env = {
        **os.environ,
        "MONSISRA_HOME": str(home),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PYTHONUNBUFFERED": "1",
    }
    received = tmp_path / "Recus"
    enrol(url, env, smtp_sink, "helene.roux", received)

    # refused: a relative path, the export folder itself
    relative = run(env, "settings", "--outbox", "envoi")
    assert relative.returncode != 0 and "chemin complet" in relative.stderr + relative.stdout
    same = run(env, "settings", "--outbox", str(received))
    assert same.returncode != 0
    assert "ne peut pas être le répertoire d'enregistrement" in same.stderr + same.stdout

    outbox = tmp_path / "Logiciel" / "Envoi"
    shown = run(env, "settings", "--outbox", str(outbox))
    assert shown.returncode == 0, shown.stderr
    assert f"Dossier d'envoi : {outbox}" in shown.stdout
    assert outbox.is_dir() and mode(outbox) == 0o700 and mode(outbox.parent) == 0o700
    [account] = AccountStore(home).list()
    assert account.settings.outbox == outbox

    # a one-shot synchronisation sends what is complete too
    rpps = rpps_of(db, paul.id)
    (outbox / "avant.pdf").write_bytes(pdf("Avant le service"))
    (outbox / "avant.hpr").write_bytes(hprim("BERTHIER", "Louise", date(1948, 7, 2), rpps))
    once = run(env, "sync", stdin=f"{LOCAL}\n")
    assert once.returncode == 0, once.stderr
    assert "Courrier envoyé : « avant.hpr, avant.pdf » à Paul MOREL" in once.stdout
    assert "Dossier d'envoi : 1 courrier(s) envoyé(s), 0 mis de côté, 0 en attente." in once.stdout

    daemon = start_daemon(env, tmp_path / "cles", ["helene.roux"])
    lines = Lines(daemon)
    try:
        lines.wait_for("Connecté")
        (outbox / "courrier.pdf").write_bytes(pdf("Courrier pour Paul"))
        (outbox / "courrier.hpr").write_bytes(
            hprim("BERTHIER", "Louise", date(1948, 7, 2), rpps, title="Avis de cardiologie")
        )
        sent = lines.wait_for("Courrier envoyé")
        assert sent.startswith("[Hélène Roux] Courrier envoyé : « courrier.hpr, courrier.pdf »")
        assert "Paul MOREL" in sent
        (outbox / "inconnu.pdf").write_bytes(pdf("Inconnu"))
        (outbox / "inconnu.hpr").write_bytes(hprim("NUL", "Personne", date(1950, 1, 1), rpps))
        aside = lines.wait_for("Courrier mis de côté")
        assert "« inconnu.hpr, inconnu.pdf » — aucun patient (identité non reprise ici)" in aside
        assert "NUL" not in aside and "01/01/1950" not in aside  # no patient in the journal
        note = (outbox / "a-completer" / "inconnu.txt").read_text(encoding="utf-8")
        assert "aucun patient NUL Personne, né(e) le 01/01/1950" in note
        assert (outbox / "a-completer" / "inconnu.txt").is_file()
        assert (outbox / "envoyes" / f"{date.today():%Y-%m}" / "courrier.pdf").is_file()
        # printed to MonSisra while no window is open: set aside for « À envoyer »
        (outbox / "imprimes").mkdir()
        job = outbox / "imprimes" / "imprime-20261207-101500-9.pdf"
        job.write_bytes(pdf("Lettre imprimée"))
        printed = lines.wait_for("Document imprimé mis de côté")
        assert printed.startswith("[Hélène Roux] Document imprimé mis de côté : « imprime-")
        assert not job.exists()
        assert [p.path.name for p in pending(outbox)] == ["inconnu.pdf", job.name]
        note = (outbox / "a-completer" / f"{job.stem}.txt").read_text(encoding="utf-8")
        assert "document imprimé vers MonSisra : choisissez le patient" in note
        # the recipient's MonSisra would receive it: it is in Paul's inbox
        with db() as s:
            from sisra.platform.models import Notification

            assert s.query(Notification).filter_by(recipient_id=paul.id).count() == 2
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)
    lines.wait_for("MonSisra est arrêté.")

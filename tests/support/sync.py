"""The sync engine in tests: a plain « PDF seul » exporter and an engine for one account."""

import os
from pathlib import Path

from sisra.client.api import PlatformClient
from sisra.client.errors import ExportError
from sisra.client.items import InboxItem
from sisra.client.state import LocalState
from sisra.client.sync import CredentialTokens, SyncEngine


def folder_exporter(folder: Path):
    """The simplest profile: « PDF seul », named after the notification, written atomically."""

    def export(item: InboxItem, pdf: Path) -> list[Path]:
        if not folder.is_dir():
            raise ExportError("folder_missing", "Le répertoire d'enregistrement n'existe pas.")
        final = folder / f"{item.document.title} {item.id[:8]}.pdf"
        tmp = folder / f".{final.name}.part"
        with tmp.open("wb") as out, pdf.open("rb") as src:
            out.write(src.read())
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, final)
        return [final]

    return export


def engine_for(live_server, creds, tmp_path, folder):
    client = PlatformClient(live_server.url)
    state = LocalState(tmp_path / "state.db")
    return SyncEngine(
        client, CredentialTokens(client, creds), state, folder_exporter(folder), tmp_path / "work"
    )

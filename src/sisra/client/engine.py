"""One account's running parts: its unlocked vault, platform client, state and sync engine."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sisra.client.accounts import Account, UnlockedAccount
from sisra.client.api import PlatformClient
from sisra.client.auth import Credentials
from sisra.client.errors import ExportError
from sisra.client.items import InboxItem
from sisra.client.region import remember_platform
from sisra.client.state import ItemState, LocalState
from sisra.client.sync import CredentialTokens, Exporter, SyncEngine

if TYPE_CHECKING:
    from sisra.client.outbox import OutboxWatcher, PassReport

DEFAULT_PROFILE = "pdf"


def default_export_folder() -> Path:
    return Path.home() / "Documents" / "MonSisra"


def exporter_for(account: Account) -> Exporter:
    """The account's practice software profile and folder, as the engine's exporter."""
    from sisra.client.export import FolderExporter, get_profile
    from sisra.client.export.permissions import FileAccess, GroupError

    profile = get_profile(account.settings.software_profile_id or DEFAULT_PROFILE)
    try:
        access = FileAccess.for_group(account.settings.export_group)
    except GroupError as exc:  # the group was removed since: say so at each export
        message = f"{exc} Corrigez le réglage « groupe du logiciel métier »."

        def refuse(_item: InboxItem, _pdf: Path) -> list[Path]:
            raise ExportError("export_group", message)

        return refuse
    folder = Path(account.settings.export_folder or default_export_folder())
    return FolderExporter(profile, folder, account.settings.ascii_names, access)


class AccountSyncEngine(SyncEngine):
    """The sync engine, and beside its loop the pass over the account's outbox folder
    (:mod:`sisra.client.outbox`) every few seconds, in a thread of its own: the live event
    stream blocks the loop for up to a minute, a letter waits only seconds."""

    outbox: OutboxWatcher | None = None

    def run(
        self, stop: threading.Event, on_status: Callable[[str, str], None] | None = None
    ) -> None:
        if self.outbox is None:
            super().run(stop, on_status)
            return
        halt = threading.Event()
        thread = threading.Thread(
            target=self.outbox.run, args=(halt,), name="monsisra-outbox", daemon=True
        )
        thread.start()
        try:
            super().run(stop, on_status)
        finally:
            halt.set()
            thread.join(10)

    def outbox_pass(self, settle_s: float = 1.0) -> PassReport | None:
        """One pass for a one-shot synchronisation: two scans ``settle_s`` apart, so that
        complete files are sent and files still being written are left."""
        import time

        if self.outbox is None:
            return None
        self.outbox.scan_once()
        time.sleep(settle_s)
        return self.outbox.scan_once()


def outbox_for(
    account: Account,
    client: PlatformClient,
    tokens: CredentialTokens,
    say: Callable[[str], None],
    headless: bool = False,
) -> OutboxWatcher | None:
    """The account's outbox watcher, None when the account sends from no folder. Headless
    (the background service, no window to open « Envoyer ce document »), it also sets
    printed jobs aside for « À envoyer », from the default outbox when none is set."""
    from sisra.client.export.permissions import PRIVATE, FileAccess, GroupError
    from sisra.client.outbox import OutboxWatcher, Platform
    from sisra.client.printing.jobs import outbox_dir

    folder = account.settings.outbox
    if folder is None and not headless:
        return None
    try:
        access = FileAccess.for_group(account.settings.export_group)
    except GroupError:
        access = PRIVATE  # the exports say what to correct; the outbox stays private
    return OutboxWatcher(
        outbox_dir(account),
        Platform(client, tokens),
        say,
        access=access,
        letters=folder is not None,
        printed=headless,
    )


@dataclass
class AccountEngine:
    unlocked: UnlockedAccount
    client: PlatformClient
    tokens: CredentialTokens
    state: LocalState
    engine: AccountSyncEngine

    def close(self) -> None:
        self.state.close()
        self.client.close()


def open_engine(
    unlocked: UnlockedAccount,
    on_change: Callable[[str, ItemState | None], None] | None = None,
    exporter: Exporter | None = None,
    tokens: CredentialTokens | None = None,
    outbox_log: Callable[[str], None] | None = None,
    headless: bool = False,
) -> AccountEngine:
    """The account's engine. Pass ``tokens`` when other threads call the platform for the
    same account: one shared token source refreshes under one lock, so a rotated refresh
    token is never used twice (the platform would revoke the device). ``outbox_log`` gets
    one French line per letter sent or set aside from the account's outbox. ``headless``:
    the background service, no window — printed jobs are set aside for « À envoyer »
    (MonSisra's own engine leaves them: its window opens « Envoyer ce document »)."""
    account = unlocked.account
    client = PlatformClient(account.settings.server_url)
    if tokens is None:
        tokens = CredentialTokens(
            client,
            Credentials.from_dict(unlocked.credentials),
            on_change=lambda c: unlocked.save_credentials(c.to_dict()),
        )
    state = LocalState(account.state_path)
    engine = AccountSyncEngine(
        client,
        tokens,
        state,
        exporter or exporter_for(account),
        account.folder / "work",
        on_change,
        on_connect=lambda: remember_platform(account.folder, client),
    )
    engine.outbox = outbox_for(account, client, tokens, outbox_log or _log_outbox, headless)
    return AccountEngine(unlocked, client, tokens, state, engine)


def _log_outbox(line: str) -> None:
    import logging

    logging.getLogger("sisra.client.outbox").info("%s", line)

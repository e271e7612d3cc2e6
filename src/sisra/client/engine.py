"""One account's running parts: its unlocked vault, platform client, state and sync engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sisra.client.accounts import Account, UnlockedAccount
from sisra.client.api import PlatformClient
from sisra.client.auth import Credentials
from sisra.client.region import remember_platform
from sisra.client.state import ItemState, LocalState
from sisra.client.sync import CredentialTokens, Exporter, ExportFailure, SyncEngine

DEFAULT_PROFILE = "pdf"


def default_export_folder() -> Path:
    return Path.home() / "Documents" / "MonSisra"


def exporter_for(account: Account) -> Exporter:
    """The account's practice software profile and folder, as the engine's exporter."""
    from sisra.client.export import ExportError, get_profile, write_export
    from sisra.client.export.permissions import FileAccess, GroupError

    profile = get_profile(account.settings.software_profile_id or DEFAULT_PROFILE)
    try:
        access = FileAccess.for_group(account.settings.export_group)
    except GroupError as exc:  # the group was removed since: say so at each export
        message = f"{exc} Corrigez le réglage « groupe du logiciel métier »."

        def refuse(_item: dict[str, Any], _pdf: Path) -> list[Path]:
            raise ExportFailure("export_group", message)

        return refuse
    folder = Path(account.settings.export_folder or default_export_folder())
    ascii_names = account.settings.ascii_names

    def export(item: dict[str, Any], pdf: Path) -> list[Path]:
        # the INS OID, the recipient and the structure ids come with the item
        try:
            return list(
                write_export(profile, folder, item, pdf, ascii_names=ascii_names, access=access)
            )
        except ExportError as exc:
            raise ExportFailure(exc.code, exc.message) from exc

    return export


@dataclass
class AccountEngine:
    unlocked: UnlockedAccount
    client: PlatformClient
    tokens: CredentialTokens
    state: LocalState
    engine: SyncEngine

    def close(self) -> None:
        self.state.close()
        self.client.close()


def open_engine(
    unlocked: UnlockedAccount,
    on_change: Callable[[str, ItemState | None], None] | None = None,
    exporter: Exporter | None = None,
    tokens: CredentialTokens | None = None,
) -> AccountEngine:
    """The account's engine. Pass ``tokens`` when other threads call the platform for the
    same account: one shared token source refreshes under one lock, so a rotated refresh
    token is never used twice (the platform would revoke the device)."""
    account = unlocked.account
    client = PlatformClient(account.settings.server_url)
    if tokens is None:
        tokens = CredentialTokens(
            client,
            Credentials.from_dict(unlocked.credentials),
            on_change=lambda c: unlocked.save_credentials(c.to_dict()),
        )
    state = LocalState(account.state_path)
    engine = SyncEngine(
        client,
        tokens,
        state,
        exporter or exporter_for(account),
        account.folder / "work",
        on_change,
        on_connect=lambda: remember_platform(account.folder, client),
    )
    return AccountEngine(unlocked, client, tokens, state, engine)

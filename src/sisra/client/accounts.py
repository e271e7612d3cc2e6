"""The MonSisra accounts of one OS user: several professionals may share a computer session.

Each account has a LOCAL password (it never leaves the computer) that opens the account's
encrypted vault. Layout under the root folder (``MONSISRA_HOME``, else the user's data
folder)::

    <root>/accounts/<account_id>/account.json   settings, not secret
    <root>/accounts/<account_id>/vault.bin      the device credentials and other secrets
    <root>/accounts/<account_id>/state.db       the sync engine's local state (not ours)

Folders are 0700 and files 0600 (created under umask 077, then set explicitly).
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import json
import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sisra.client.auth import Credentials
from sisra.client.vault import (
    DEFAULT_KDF,
    KdfParams,
    UnlockedVault,
    Vault,
    VaultError,
    atomic_write,
    check_password_strength,
)

log = logging.getLogger(__name__)

HOME_ENV = "MONSISRA_HOME"
APP_NAME, APP_AUTHOR = "MonSisra", "Sisra"
ACCOUNT_FILE, VAULT_FILE, STATE_FILE = "account.json", "vault.bin", "state.db"
ACCOUNT_FORMAT = 1
CREDENTIALS_KEY = "credentials"
_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_MAX_BACKFILL_DAYS = 3650


class AccountError(Exception):
    """``code`` is stable, ``message`` is French, for the user. Codes: ``account_exists``,
    ``account_not_found``, ``account_corrupted``, ``invalid_setting``,
    ``invalid_credentials``, ``credentials_mismatch``, ``weak_password``,
    ``wrong_password``, ``vault_corrupted``, ``vault_missing``, ``vault_changed``,
    ``account_busy``, ``account_in_use`` (another process syncs it: :mod:`sisra.client.lock`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


@contextlib.contextmanager
def _vault_errors() -> Iterator[None]:
    try:
        yield
    except VaultError as exc:
        raise AccountError(exc.code, exc.message) from None


@contextlib.contextmanager
def _private_umask() -> Iterator[None]:
    """umask 077 while we create folders and files. The umask is process-wide: keep the
    window short (another thread creating a file meanwhile would only get it more private)."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def default_root() -> Path:
    configured = os.environ.get(HOME_ENV)
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, APP_AUTHOR))


def _same_server(a: str, b: str) -> bool:
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


@dataclass(frozen=True)
class AccountSettings:
    """What account.json holds besides the id and the creation date (nothing secret)."""

    display_name: str
    login: str
    professional_id: str
    server_url: str
    software_profile_id: str | None = None  # the practice software MonSisra feeds
    export_folder: Path | None = None
    backfill_days: int = 30  # how far back the first synchronisation goes
    launch_at_startup: bool = True
    notifications: bool = True
    # plain-ASCII file names (no accent, ligature nor « Œ »): None follows the profile
    ascii_names: bool | None = None
    # the DOCUMENTS REÇUS columns as the user left them (Qt header state, base64)
    table_columns: str | None = None
    # the practice software's group when it reads the exports under another account (a
    # practice server): files 0640 and created folders 2750 of that group, else 0600/0700
    export_group: str | None = None
    # the folder the practice software drops letters into, for MonSisra to send them
    # (sisra.client.outbox); None: nothing is sent from a folder
    outbox: Path | None = None

    def validated(self) -> AccountSettings:
        """A normalised copy, or ``invalid_setting``."""

        def bad(message: str) -> AccountError:
            return AccountError("invalid_setting", message)

        for name in ("display_name", "login", "professional_id", "server_url"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise bad(f"Le champ « {name} » est obligatoire.")
        if not self.server_url.strip().lower().startswith(("https://", "http://")):
            raise bad("L'adresse de la plateforme doit commencer par https://.")
        if self.software_profile_id is not None and not isinstance(self.software_profile_id, str):
            raise bad("Le profil du logiciel métier est invalide.")
        if type(self.backfill_days) is not int or not (
            0 <= self.backfill_days <= _MAX_BACKFILL_DAYS
        ):
            raise bad(
                f"La période de récupération doit être comprise entre 0 et "
                f"{_MAX_BACKFILL_DAYS} jours."
            )
        for name in ("launch_at_startup", "notifications"):
            if not isinstance(getattr(self, name), bool):
                raise bad(f"Le réglage « {name} » doit valoir oui ou non.")
        if self.export_group is not None and (
            not isinstance(self.export_group, str) or not self.export_group.strip()
        ):
            raise bad("Le groupe du logiciel métier est invalide.")
        if self.ascii_names is not None and not isinstance(self.ascii_names, bool):
            raise bad("Le réglage « ascii_names » doit valoir oui, non ou rien.")
        export = self.export_folder
        if export is not None and not isinstance(export, Path):
            if not isinstance(export, str):
                raise bad("Le dossier d'export est invalide.")
            export = Path(export) if export.strip() else None
        outbox = self.outbox
        if outbox is not None and not isinstance(outbox, Path):
            if not isinstance(outbox, str):
                raise bad("Le dossier d'envoi est invalide.")
            outbox = Path(outbox) if outbox.strip() else None
        if outbox is not None:
            if not outbox.is_absolute():
                raise bad("Le dossier d'envoi doit être un chemin complet (absolu).")
            if export is not None and _same_folder(outbox, export):
                raise bad(
                    "Le dossier d'envoi ne peut pas être le répertoire d'enregistrement des "
                    "documents reçus : choisissez un autre dossier."
                )
        columns = self.table_columns if isinstance(self.table_columns, str) else None
        return dataclasses.replace(
            self,
            outbox=outbox,
            table_columns=columns,  # a layout that cannot be read is forgotten, not an error
            display_name=self.display_name.strip(),
            login=self.login.strip(),
            professional_id=self.professional_id.strip(),
            server_url=self.server_url.strip().rstrip("/"),
            export_folder=export,
        )

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["export_folder"] = str(self.export_folder) if self.export_folder else None
        data["outbox"] = str(self.outbox) if self.outbox else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AccountSettings:
        names = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in data.items() if k in names}  # newer versions may add keys
        return cls(**known).validated()


@dataclass(frozen=True)
class Account:
    id: str
    settings: AccountSettings
    created_at: datetime
    folder: Path

    @property
    def display_name(self) -> str:
        return self.settings.display_name

    @property
    def settings_path(self) -> Path:
        return self.folder / ACCOUNT_FILE

    @property
    def vault_path(self) -> Path:
        return self.folder / VAULT_FILE

    @property
    def state_path(self) -> Path:
        """Where the sync engine keeps its local state (this module never touches it)."""
        return self.folder / STATE_FILE


class UnlockedAccount:
    """An account whose vault is open: its credentials, and saves without Argon2 again."""

    def __init__(self, account: Account, vault: UnlockedVault) -> None:
        self.account = account
        self._vault = vault

    def __repr__(self) -> str:  # no secret
        return f"UnlockedAccount(id={self.account.id!r}, name={self.account.display_name!r})"

    @property
    def credentials(self) -> dict[str, Any]:
        """A copy of the device credentials (:meth:`Credentials.from_dict` reads it)."""
        value = self._vault.payload.get(CREDENTIALS_KEY)
        return value if isinstance(value, dict) else {}

    def reload(self) -> None:
        """What another process saved in the vault meanwhile (``AccountError`` when the
        password itself changed)."""
        with _vault_errors():
            self._vault.reload()

    def save_credentials(self, credentials: dict[str, Any]) -> None:
        """After a token refresh: the same professional on the same platform only."""
        _check_credentials(self.account.settings, credentials)
        self._save(CREDENTIALS_KEY, dict(credentials))

    def get_secret(self, name: str, default: Any = None) -> Any:
        return self._vault.payload.get(name, default)

    def set_secret(self, name: str, value: Any) -> None:
        """Another secret kept in the vault (JSON-serialisable); saved at once."""
        if name == CREDENTIALS_KEY:
            raise AccountError("invalid_setting", "Utilisez save_credentials().")
        self._save(name, value)

    def lock(self) -> None:
        self._vault.lock()

    def _save(self, name: str, value: Any) -> None:
        payload = self._vault.payload
        payload[name] = value
        with _vault_errors():
            self._vault.save(payload)


def _check_profile(profile_id: str | None) -> None:
    """A new or changed practice software profile must be one MonSisra knows (an account read
    from disk keeps its own, should a later version drop it)."""
    from sisra.client.export.profiles import get_profile

    if profile_id is None:
        return
    try:
        get_profile(profile_id)
    except ValueError as exc:
        raise AccountError("invalid_setting", str(exc)) from None


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.expanduser().resolve() == b.expanduser().resolve()
    except (OSError, RuntimeError):
        return a == b


def _check_outbox(settings: AccountSettings) -> None:
    """A new or changed outbox must exist or be creatable (MonSisra creates it, 0700 or of
    the practice software's group); an account read from disk keeps its own, should the
    folder be unreachable for a while (a network share)."""
    if settings.outbox is None:
        return
    from sisra.client.export.permissions import FileAccess, GroupError

    try:
        FileAccess.for_group(settings.export_group).make_folder(settings.outbox)
    except (OSError, GroupError) as exc:
        raise AccountError(
            "invalid_setting",
            f"Le dossier d'envoi {settings.outbox} ne peut pas être créé "
            f"({getattr(exc, 'strerror', None) or exc}).",
        ) from None
    if not settings.outbox.is_dir():
        raise AccountError(
            "invalid_setting", f"Le dossier d'envoi {settings.outbox} n'est pas un dossier."
        )


def _check_credentials(settings: AccountSettings, credentials: dict[str, Any]) -> None:
    """The credentials must be readable and belong to this account's professional and
    platform: a forgotten-password reset with someone else's login must not hand over
    this account's documents."""
    try:
        creds = Credentials.from_dict(credentials)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise AccountError(
            "invalid_credentials", "Les identifiants de connexion reçus sont incomplets."
        ) from None
    if creds.professional_id != settings.professional_id or not _same_server(
        creds.server_url, settings.server_url
    ):
        raise AccountError(
            "credentials_mismatch",
            "Ces identifiants appartiennent à un autre professionnel ou à une autre "
            "plateforme que ce compte.",
        )


class AccountStore:
    """All the accounts under one root folder."""

    def __init__(self, root: Path | None = None, *, kdf: KdfParams = DEFAULT_KDF) -> None:
        self.root = Path(root) if root is not None else default_root()
        self.kdf = kdf

    def __repr__(self) -> str:
        return f"AccountStore(root={str(self.root)!r})"

    @property
    def accounts_dir(self) -> Path:
        return self.root / "accounts"

    # --- reading ------------------------------------------------------------------------

    def list(self) -> builtins.list[Account]:
        """Every readable account, sorted by display name (damaged ones are logged)."""
        if not self.accounts_dir.is_dir():
            return []
        accounts = []
        for entry in self.accounts_dir.iterdir():
            if not _ID_RE.match(entry.name) or not entry.is_dir():
                continue  # temporary folders of a creation or removal in progress
            try:
                accounts.append(self._load(entry.name))
            except AccountError as exc:
                log.warning("compte %s ignoré : %s", entry.name, exc.code)
        return sorted(accounts, key=lambda a: (a.display_name.casefold(), a.id))

    def get(self, account_id: str) -> Account:
        return self._load(account_id)

    def _folder(self, account_id: str) -> Path:
        if not isinstance(account_id, str) or not _ID_RE.match(account_id):
            raise AccountError("account_not_found", "Ce compte n'existe pas.")
        return self.accounts_dir / account_id

    def _load(self, account_id: str) -> Account:
        folder = self._folder(account_id)
        path = folder / ACCOUNT_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise AccountError("account_not_found", "Ce compte n'existe pas.") from None
        except (OSError, UnicodeDecodeError, ValueError):
            raise _corrupted() from None
        if not isinstance(data, dict) or data.get("id") != account_id:
            raise _corrupted()
        try:
            settings = AccountSettings.from_json(data)
            created_at = datetime.fromisoformat(str(data["created_at"]))
        except (AccountError, KeyError, TypeError, ValueError):
            raise _corrupted() from None
        return Account(account_id, settings, created_at, folder)

    # --- writing ------------------------------------------------------------------------

    def _ensure_accounts_dir(self) -> None:
        with _private_umask():
            if not self.root.exists():
                self.root.mkdir(parents=True, mode=0o700)
                os.chmod(self.root, 0o700)
            self.accounts_dir.mkdir(exist_ok=True, mode=0o700)
        os.chmod(self.accounts_dir, 0o700)

    def _write_settings(self, account: Account) -> None:
        data = {
            "format": ACCOUNT_FORMAT,
            "id": account.id,
            **account.settings.to_json(),
            "created_at": account.created_at.isoformat(timespec="seconds"),
        }
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        with _private_umask():
            atomic_write(account.settings_path, text.encode("utf-8"))

    def _refuse_duplicate(self, settings: AccountSettings, except_id: str | None = None) -> None:
        for other in self.list():
            if (
                other.id != except_id
                and other.settings.professional_id == settings.professional_id
                and _same_server(other.settings.server_url, settings.server_url)
            ):
                raise AccountError(
                    "account_exists",
                    f"Un compte existe déjà pour ce professionnel sur cette plateforme "
                    f"(« {other.display_name} »).",
                )

    def create(
        self, settings: AccountSettings, password: str, credentials: dict[str, Any]
    ) -> Account:
        """A new account: settings in account.json, ``credentials`` in a new vault."""
        settings = settings.validated()
        _check_profile(settings.software_profile_id)
        _check_outbox(settings)
        with _vault_errors():
            check_password_strength(password)
        _check_credentials(settings, credentials)
        self._refuse_duplicate(settings)
        self._ensure_accounts_dir()
        account_id = uuid.uuid4().hex
        staging = self.accounts_dir / f".creating-{account_id}"
        with _private_umask():
            staging.mkdir(mode=0o700)
        os.chmod(staging, 0o700)
        try:
            draft = Account(account_id, settings, datetime.now(UTC), staging)
            self._write_settings(draft)
            with _private_umask(), _vault_errors():
                Vault(draft.vault_path, kdf=self.kdf).create(
                    password, {CREDENTIALS_KEY: dict(credentials)}
                )
            # the account appears all at once, or not at all
            os.replace(staging, self.accounts_dir / account_id)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return self.get(account_id)

    def unlock(self, account_id: str, password: str) -> UnlockedAccount:
        account = self.get(account_id)
        with _vault_errors():
            vault = Vault(account.vault_path, kdf=self.kdf).unlock(password)
        return UnlockedAccount(account, vault)

    def update_settings(self, account_id: str, **changes: Any) -> Account:
        """Change some settings (names of :class:`AccountSettings` fields)."""
        account = self.get(account_id)
        names = {f.name for f in dataclasses.fields(AccountSettings)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise AccountError("invalid_setting", f"Réglage inconnu : {', '.join(unknown)}.")
        settings = dataclasses.replace(account.settings, **changes).validated()
        if "software_profile_id" in changes:
            _check_profile(settings.software_profile_id)
        if "outbox" in changes:
            _check_outbox(settings)
        if settings.professional_id != account.settings.professional_id:
            raise AccountError(
                "invalid_setting",
                "Le professionnel d'un compte ne peut pas changer : créez un autre compte.",
            )
        self._refuse_duplicate(settings, except_id=account_id)
        updated = dataclasses.replace(account, settings=settings)
        self._write_settings(updated)
        return updated

    def change_password(self, account_id: str, old_password: str, new_password: str) -> None:
        account = self.get(account_id)
        with _private_umask(), _vault_errors():
            Vault(account.vault_path, kdf=self.kdf).change_password(old_password, new_password)

    def reset_password(
        self, account_id: str, new_password: str, credentials: dict[str, Any]
    ) -> UnlockedAccount:
        """Forgotten password: after a NEW strong authentication (card or e-mail code) the
        caller brings fresh credentials for the same professional. A new vault replaces the
        old one atomically; account.json and state.db are left as they are, so nothing is
        downloaded twice. Other secrets of the old vault are lost (nobody can read them)."""
        account = self.get(account_id)
        with _vault_errors():
            check_password_strength(new_password)
        _check_credentials(account.settings, credentials)
        vault = Vault(account.vault_path, kdf=self.kdf)
        with _private_umask(), _vault_errors():
            unlocked = vault.create(
                new_password, {CREDENTIALS_KEY: dict(credentials)}, overwrite=True
            )
        return UnlockedAccount(account, unlocked)

    def remove(self, account_id: str) -> None:
        """Delete the account folder: settings, vault and local state."""
        folder = self._folder(account_id)
        if not folder.is_dir():
            raise AccountError("account_not_found", "Ce compte n'existe pas.")
        # out of list() at once, even if the deletion below is interrupted
        trash = self.accounts_dir / f".removing-{account_id}-{uuid.uuid4().hex[:8]}"
        try:
            os.replace(folder, trash)
        except OSError:  # Windows: a file of the account is still open (sync running)
            raise AccountError(
                "account_busy", "Ce compte est en cours d'utilisation : fermez-le puis réessayez."
            ) from None
        shutil.rmtree(trash, ignore_errors=True)


def _corrupted() -> AccountError:
    return AccountError(
        "account_corrupted", "Les réglages de ce compte sont illisibles (account.json)."
    )

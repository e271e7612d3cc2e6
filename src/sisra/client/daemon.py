"""`sisra client daemon`: MonSisra's engine for every user of a computer, run as a service.

A practice server runs for months. Strong authentication is asked every 30 days, accounts are
added and removed, a platform account is disabled then enabled again: none of this may need a
restart. The supervisor here keeps one engine thread per account and, every few seconds:

- starts an engine for an account added since (its local password from the key file, read
  again when it changes);
- stops the engine of an account removed from the computer;
- restarts an engine that stopped because a person had to act (strong authentication due,
  session refused) as soon as the account's vault holds new credentials (``sisra client
  reauth`` saved them), and otherwise tries again every :data:`RETRY_REFUSED_S` (an account
  disabled then enabled again is then told « session expirée »: the disabling ended its
  devices, one ``reauth`` resumes it);
- writes each account's state to ``service-status.json`` (``sisra client status`` reads it)
  and to systemd (``sd_notify`` STATUS line), and says when it stops.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sisra.client import sdnotify
from sisra.client.accounts import Account, AccountError, AccountStore, UnlockedAccount
from sisra.client.errors import PLATFORM, advice
from sisra.client.lock import SyncLock, hold_sync
from sisra.client.vault import atomic_write
from sisra.common.french import de

if TYPE_CHECKING:
    from sisra.client.engine import AccountEngine
    from sisra.client.state import ItemState

STATUS_FILE = "service-status.json"
POLL_S = 2.0
RETRY_REFUSED_S = 600.0  # a refused session: try again every 10 minutes
RETRY_CRASHED_S = 30.0
STOP_WITHIN_S = 4.0
# the states of an engine at work; any other state an engine stops on (strong authentication
# due, a session the platform refuses) waits for a person, or for new credentials
WORKING = frozenset(
    {"starting", "online", "syncing", "offline", PLATFORM, "error", "crashed", "stopped"}
)
REAUTH_HINT = " Lancez « sisra client reauth » : la synchronisation reprendra d'elle-même."

Echo = Callable[[str], None]
AskPassword = Callable[[Account], str | None]
DocumentLog = Callable[[str], Callable[[str, "ItemState | None"], None]]


def read_keyfile(path: Path) -> dict[str, str]:
    """``login: password`` lines; refused unless only its owner can read it."""
    if path.stat().st_mode & 0o077:
        raise AccountError(
            "keyfile_mode", f"{path} doit être lisible par son seul propriétaire (chmod 600)."
        )
    secrets: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            login, _, password = line.partition(":")
            secrets[login.strip()] = password.strip()
    return secrets


def status_path(store: AccountStore) -> Path:
    return store.root / STATUS_FILE


def read_status(store: AccountStore) -> dict[str, Any] | None:
    """What the running (or last) daemon wrote; None when no daemon ever ran here."""
    try:
        data = json.loads(status_path(store).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def daemon_alive(status: dict[str, Any]) -> bool:
    pid = status.get("pid")
    if not isinstance(pid, int) or status.get("stopped_at"):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Slot:
    """One account under the daemon: its lock, its open vault and its engine thread."""

    account: Account
    lock: SyncLock
    unlocked: UnlockedAccount
    vault_stamp: tuple[int, int] | None
    running: AccountEngine | None = None
    thread: threading.Thread | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    code: str = "starting"
    message: str = "Démarrage"
    hint: str = ""
    since: str = field(default_factory=_now)
    retry_at: float = 0.0

    @property
    def prefix(self) -> str:
        return f"[{self.account.display_name}] "


class Daemon:
    def __init__(
        self,
        store: AccountStore,
        echo: Echo,
        document_log: DocumentLog,
        *,
        keyfile: Path | None = None,
        ask_password: AskPassword | None = None,
        poll_s: float = POLL_S,
    ) -> None:
        self.store = store
        self.echo = echo
        self.document_log = document_log
        self.keyfile = keyfile
        self.ask_password = ask_password
        self.poll_s = poll_s
        self.slots: dict[str, Slot] = {}
        self._secrets: dict[str, str] = {}
        self._keyfile_stamp: tuple[int, int] | None = None
        # accounts that could not be opened, and the key file stamp when that was said
        self._waiting: dict[str, tuple[tuple[int, int] | None, str]] = {}
        self._lock = threading.Lock()
        self._last_notified = ""

    # --- the loop -----------------------------------------------------------------------

    def start(self) -> int:
        """Open every account that can be; the number of engines started."""
        self._read_keyfile()
        self._reconcile(first=True)
        return len(self.slots)

    def run(self, stop: threading.Event) -> None:
        sdnotify.notify("READY=1")
        self._publish()
        try:
            while not stop.wait(self.poll_s):
                self._read_keyfile()
                self._reconcile(first=False)
                for slot in list(self.slots.values()):
                    self._supervise(slot)
                self._publish()
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        sdnotify.notify("STOPPING=1")
        self.echo("MonSisra s'arrête : fin des synchronisations en cours…")
        for slot in self.slots.values():
            slot.stop.set()
            if slot.running is not None:
                slot.running.engine.interrupt()
        deadline = time.monotonic() + STOP_WITHIN_S
        for slot in list(self.slots.values()):
            self._end(slot, max(0.1, deadline - time.monotonic()))
            slot.code, slot.message, slot.since = "stopped", "Arrêté", _now()
        self._publish(stopped=True)
        self.echo("MonSisra est arrêté.")

    # --- accounts added and removed -----------------------------------------------------

    def _read_keyfile(self) -> None:
        if self.keyfile is None:
            return
        stamp = _stamp(self.keyfile)
        if stamp == self._keyfile_stamp:
            return
        self._keyfile_stamp = stamp
        try:
            self._secrets = read_keyfile(self.keyfile)
        except AccountError as exc:
            self.echo(exc.message)
        except OSError as exc:
            self.echo(f"Fichier de clés illisible ({self.keyfile}) : {exc.strerror}.")

    def _reconcile(self, first: bool) -> None:
        accounts = {acc.id: acc for acc in self.store.list()}
        for account_id in list(self.slots):
            if account_id not in accounts:
                slot = self.slots.pop(account_id)
                slot.stop.set()
                if slot.running is not None:
                    slot.running.engine.interrupt()
                self._end(slot, STOP_WITHIN_S)
                slot.lock.release()
                self.echo(f"{slot.prefix}Utilisateur retiré de cet ordinateur : arrêt.")
        for account_id in list(self._waiting):
            if account_id not in accounts:
                del self._waiting[account_id]
        for account_id, account in accounts.items():
            if account_id not in self.slots:
                self._open(account, first)

    def _say_once(self, account: Account, message: str) -> None:
        """A reason an account is not synced, said once until the key file changes."""
        said = self._waiting.get(account.id)
        if said == (self._keyfile_stamp, message):
            return
        self._waiting[account.id] = (self._keyfile_stamp, message)
        self.echo(f"{account.display_name} : {message}")

    def _open(self, account: Account, first: bool) -> None:
        password = self._secrets.get(account.settings.login)
        if password is None and first and self.ask_password is not None:
            password = self.ask_password(account)
        if password is None:
            self._say_once(
                account,
                f"mot de passe MonSisra absent du fichier de clés ({self.keyfile}) : "
                f"ajoutez la ligne « {account.settings.login}: … ».",
            )
            return
        try:
            lock = hold_sync(account)
        except AccountError as exc:
            self._say_once(account, exc.message)
            return
        try:
            unlocked = self.store.unlock(account.id, password)
        except AccountError as exc:
            lock.release()
            self._say_once(account, exc.message)
            return
        self._waiting.pop(account.id, None)
        slot = Slot(account, lock, unlocked, _stamp(account.vault_path))
        self.slots[account.id] = slot
        if not first:
            self.echo(f"{slot.prefix}Utilisateur ajouté : synchronisation.")
        self._launch(slot)

    # --- one account's engine ---------------------------------------------------------------

    def _launch(self, slot: Slot) -> None:
        from sisra.client.engine import open_engine

        if slot.running is not None:
            slot.running.close()
        slot.stop = threading.Event()
        prefix = slot.prefix
        slot.running = open_engine(
            slot.unlocked,
            self.document_log(prefix),
            outbox_log=lambda line: self.echo(f"{prefix}{line}"),
            headless=True,  # no window here: printed jobs go to « À envoyer »
        )

        def status(code: str, message: str) -> None:
            self._status(slot, code, message)

        slot.thread = threading.Thread(
            target=self._run_engine, args=(slot, status), name=f"sync-{slot.account.id}"
        )
        slot.thread.daemon = True
        slot.thread.start()

    def _run_engine(self, slot: Slot, status: Callable[[str, str], None]) -> None:
        assert slot.running is not None
        try:
            slot.running.engine.run(slot.stop, status)
        except Exception as exc:
            status("crashed", f"Erreur inattendue ({type(exc).__name__}) ; nouvel essai.")

    def _status(self, slot: Slot, code: str, message: str) -> None:
        # what to do, for each cause (sisra.client.errors: the same table as the window's)
        if todo := advice(code, "service"):
            hint = f" {todo}"
        elif code not in WORKING:
            hint = REAUTH_HINT
        elif code == "error":
            hint = " Nouvel essai automatique."
        else:
            hint = ""
        with self._lock:
            if (slot.code, slot.message) == (code, message):
                return  # « Connecté » once, not after each minute of listening
            slot.code, slot.message, slot.since, slot.hint = code, message, _now(), hint
        self.echo(f"{slot.prefix}{message}{hint}")
        self._publish()

    def _supervise(self, slot: Slot) -> None:
        if slot.thread is None or slot.thread.is_alive() or slot.stop.is_set():
            return
        stamp = _stamp(slot.account.vault_path)
        renewed = False
        if stamp != slot.vault_stamp:
            slot.vault_stamp = stamp
            before = slot.unlocked.credentials
            try:
                slot.unlocked.reload()
            except AccountError as exc:
                # the local password changed: open it again from the key file
                self._say_once(slot.account, exc.message)
                self.slots.pop(slot.account.id)
                slot.lock.release()
                if slot.running is not None:
                    slot.running.close()
                return
            renewed = slot.unlocked.credentials != before
        now = time.monotonic()
        if not renewed:
            if not slot.retry_at:
                wait = RETRY_REFUSED_S if slot.code not in WORKING else RETRY_CRASHED_S
                slot.retry_at = now + wait
            if now < slot.retry_at:
                return
        slot.retry_at = 0.0
        if renewed:
            self.echo(f"{slot.prefix}Authentification renouvelée : la synchronisation reprend.")
        self._launch(slot)

    def _end(self, slot: Slot, seconds: float) -> None:
        if slot.thread is not None:
            slot.thread.join(seconds)
        if slot.running is not None and (slot.thread is None or not slot.thread.is_alive()):
            slot.running.close()

    # --- what the service says ----------------------------------------------------------

    def _publish(self, stopped: bool = False) -> None:
        accounts = {
            slot.account.id: {
                "name": slot.account.display_name,
                "login": slot.account.settings.login,
                "code": slot.code,
                "message": slot.message,
                "hint": slot.hint.strip(),
                "since": slot.since,
            }
            for slot in self.slots.values()
        }
        for account_id, (_said_at, message) in self._waiting.items():
            accounts[account_id] = {
                "name": account_id,
                "login": "",
                "code": "not_opened",
                "message": message,
                "since": _now(),
            }
        data: dict[str, Any] = {"pid": os.getpid(), "updated_at": _now(), "accounts": accounts}
        if stopped:
            data["stopped_at"] = _now()
        with contextlib.suppress(OSError):  # the journal still has every line
            atomic_write(status_path(self.store), json.dumps(data, ensure_ascii=False).encode())
        line = summary(data)
        if line != self._last_notified:
            self._last_notified = line
            sdnotify.notify(f"STATUS={line}")


def summary(status: dict[str, Any]) -> str:
    """One line for systemd's status: « 2 connecté(s) ; Hélène Roux : authentification… »"""
    accounts = list(status.get("accounts", {}).values())
    ok = sum(1 for a in accounts if a.get("code") in ("online", "syncing"))
    others = [
        f"{a.get('name')} : {a.get('message')}"
        for a in accounts
        if a.get("code") not in ("online", "syncing")
    ]
    parts = [f"{ok} utilisateur(s) connecté(s)", *others]
    return " ; ".join(parts)


def describe(status: dict[str, Any] | None) -> list[str]:
    """``sisra client status``: the service, then one line per account."""
    if status is None:
        return ["Le service MonSisra n'a jamais tourné sur cet ordinateur."]
    alive = daemon_alive(status)
    if alive:
        lines = [f"Service MonSisra : en marche (processus {status['pid']})."]
    else:
        when = _since(status.get("stopped_at") or status.get("updated_at"))
        lines = [f"Service MonSisra : arrêté ({when})."]
    for account in status.get("accounts", {}).values():
        name, message = account.get("name"), account.get("message")
        lines.append(f"  {name} : {message} ({_since(account.get('since'))})")
        if account.get("hint") and alive:
            lines.append(f"    {account['hint']}")
    return lines


def _since(iso: object) -> str:
    """« depuis le 06/12/2026 à 17h21 », in this computer's time zone (people read it)."""
    try:
        when = datetime.fromisoformat(str(iso)).astimezone()
    except ValueError:
        return "depuis un moment inconnu"
    return f"depuis le {when:%d/%m/%Y} à {when:%H}h{when:%M}"


def ask_password_on_terminal(secret: Callable[[str], str]) -> AskPassword:
    def ask(account: Account) -> str | None:
        return secret(f"Mot de passe MonSisra {de(account.display_name)} : ")

    return ask

"""One logged-in user of the desktop: the sync engine in its thread, as Qt signals.

The engine (:mod:`sisra.client.sync`) runs in a Python thread of its own and reports through
callbacks; they are re-emitted here as signals of an object living on the UI thread, so Qt
queues them to the windows. The UI reads the local state through a connection of its own
(SQLite WAL: readers never wait for the engine) and sends every network call through
:func:`sisra.desktop.tasks.run_task`.
"""

from __future__ import annotations

import shutil
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QObject, Signal

from sisra.client import auth
from sisra.client.accounts import Account, UnlockedAccount
from sisra.client.api import ApiError, PlatformClient
from sisra.client.engine import AccountEngine, open_engine
from sisra.client.items import InboxItem
from sisra.client.lock import hold_sync
from sisra.client.state import ItemState, LocalState, StoredItem
from sisra.client.sync import CredentialTokens, SyncEngine

T = TypeVar("T")

CONNECTING = ("connecting", "Connexion au serveur Sisra…")


class AccountSession(QObject):
    """The running parts of one unlocked account while its DOCUMENTS REÇUS window is open."""

    item_changed = Signal(str, object)  # kind (new | exported | failed | deleted | read), item
    status_changed = Signal(str, str)  # code (online | offline | strong_auth_required…), message

    def __init__(self, unlocked: UnlockedAccount, parent: QObject | None = None) -> None:
        """Raises ``AccountError("account_in_use")`` when another process syncs the account."""
        super().__init__(parent)
        self.unlocked = unlocked
        self.account = unlocked.account
        # held until the session is closed and its engine thread has ended
        self._lock = hold_sync(self.account)
        self._release_guard = threading.Lock()
        self._closed = False
        self._engine_running = False  # the current engine thread has not ended yet
        self.status: tuple[str, str] = CONNECTING
        self.status_log: deque[tuple[str, str]] = deque(maxlen=100)  # recent, for support
        self.state = LocalState(self.account.state_path)  # the UI's own connection
        self._open_client()
        self._running: AccountEngine | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.status_changed.connect(self._remember_status)

    def _open_client(self) -> None:
        # one token source for the sync thread and the UI's calls (see open_engine)
        self.client = PlatformClient(self.account.settings.server_url)
        self.tokens = CredentialTokens(
            self.client,
            auth.Credentials.from_dict(self.unlocked.credentials),
            on_change=lambda c: self.unlocked.save_credentials(c.to_dict()),
        )
        self._fetcher = SyncEngine(self.client, self.tokens, self.state, _no_export, self.cache_dir)

    # the engine thread ------------------------------------------------------------------------
    def start(self) -> None:
        """Start syncing (again): catch up, export, then follow live documents."""
        self.stop()
        self._stop = threading.Event()
        running = open_engine(self.unlocked, on_change=self.item_changed.emit, tokens=self.tokens)
        self._running = running
        self.status_changed.emit(*CONNECTING)
        with self._release_guard:
            self._thread = threading.Thread(
                target=self._run, args=(running, self._stop), name="monsisra-sync", daemon=True
            )
            self._engine_running = True
        self._thread.start()

    def _run(self, running: AccountEngine, stop: threading.Event) -> None:
        try:
            running.engine.run(stop, self._on_status)
        except Exception as exc:  # never silently: the window shows it and offers to retry
            self._on_status("error", f"La synchronisation s'est arrêtée : {exc}")
        finally:
            # the thread that used the engine closes it: the UI never waits for the network
            running.close()
            with self._release_guard:
                if self._thread is threading.current_thread():
                    self._engine_running = False
                    if self._closed:
                        self._lock.release()  # the last engine of a closed session ended

    def _on_status(self, code: str, message: str) -> None:
        if not self._stop.is_set():
            self.status_changed.emit(code, message)

    def _remember_status(self, code: str, message: str) -> None:
        self.status = (code, message)
        self.status_log.append(self.status)

    def stop(self) -> None:
        """Stop syncing without waiting: the thread ends at its next step (state is saved
        after each step, so nothing is lost or done twice)."""
        self._stop.set()
        if self._running is not None:
            self._running.engine.interrupt()
        self._running = None

    def wake(self) -> None:
        """Retry now what is due (after « Réessayer » or a settings change)."""
        if self._running is not None:
            self._running.engine.interrupt()

    def is_syncing(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def close(self) -> None:
        """Déconnexion: stop, forget cached copies, lock the vault."""
        self.stop()
        self.state.close()
        self.client.close()
        shutil.rmtree(self.cache_dir, ignore_errors=True)
        self.unlocked.lock()
        with self._release_guard:
            self._closed = True
            if self._engine_running:
                self._lock.closing()  # the engine thread releases it as it ends
            else:
                self._lock.release()

    # reads (UI thread, local database) --------------------------------------------------
    def items(self, paths: Sequence[str]) -> tuple[list[StoredItem], set[str]]:
        """Every listed document as stored, followed by the JSON array of the values at
        ``paths`` in its item (the table types only the one acted on:
        :meth:`LocalState.visible_fields`), and the ids opened on this computer."""
        return self.state.visible_fields(paths), self.state.read_ids()

    def failures(self) -> list[ItemState]:
        return self.state.failures()

    # calls for worker threads ----------------------------------------------------------
    def call(self, fn: Callable[[PlatformClient, str], T]) -> T:
        """An API call with the account's token, refreshed (and saved) once if expired.
        Blocking: run it with ``run_task``."""
        return self.tokens.call(lambda token: fn(self.client, token))

    def web_url(self, target: str) -> str:
        """A one-time address opening ``target`` in the browser, already logged in."""
        return self.call(
            lambda client, token: str(
                client.post_json("/api/v1/auth/web-ticket", {"target": target}, token=token)["url"]
            )
        )

    @property
    def cache_dir(self) -> Path:
        return self.account.folder / "cache"

    def pdf_path(self, st: ItemState) -> Path:
        """The PDF to open or preview: the exported copy when it is still there, else a
        verified download into the account's cache (for documents older than the backfill
        or not exported yet)."""
        for name in st.files:
            path = Path(name)
            if path.suffix.lower() == ".pdf" and path.is_file():
                return path
        self.cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self._fetcher.fetch(st.item, self.cache_dir / f"{st.id}.pdf")

    def mark_read(self, st: ItemState) -> None:
        """Opened: remembered here, and the « lu » receipt goes to the sender."""
        self.state.mark_read(st.id)
        if st.item.read_at is None:
            self.call(
                lambda client, token: client.post_json(
                    f"/api/v1/inbox/{st.id}/receipts", {"kind": "read"}, token=token
                )
            )

    def delete(self, st: ItemState) -> None:
        """« Supprimer »: gone from the list here and on the platform; the document stays in
        the patient's regional record, and files already exported stay where they are."""
        try:
            self.call(
                lambda client, token: client.request(
                    "DELETE", f"/api/v1/inbox/{st.id}", token=token
                )
            )
        except ApiError as exc:
            if exc.code != "notification_not_found":  # already deleted elsewhere: fine
                raise
        self.state.mark_deleted(st.id)

    def retry_failures(self) -> int:
        count = self.state.retry_now()
        self.wake()
        return count

    def renew(self, credentials: auth.Credentials) -> None:
        """After a strong re-authentication: save the new tokens and sync again."""
        self.unlocked.save_credentials(credentials.to_dict())
        self.tokens.credentials = credentials
        self.start()

    def device_id(self) -> str | None:
        return auth.Credentials.from_dict(self.unlocked.credentials).device_id

    def refresh_token(self) -> str | None:
        """The refresh token this computer holds: at a renewal login it shows the platform a
        known device, whose attempts strangers' failures on the account do not slow."""
        return auth.Credentials.from_dict(self.unlocked.credentials).refresh_token

    def use_account(self, account: Account) -> None:
        """The account's settings were saved: sync again with the new folder, software or
        server."""
        self.stop()
        self.account = self.unlocked.account = account
        self.client.close()
        self._open_client()
        self.start()


def _no_export(_item: InboxItem, _pdf: Path) -> list[Path]:
    raise AssertionError("the fetcher never exports")

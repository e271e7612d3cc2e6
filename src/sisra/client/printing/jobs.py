"""Where a printed letter lands, and where a sent one goes.

The account's outbox is ``AccountSettings.outbox`` when set, else ``<account folder>/a-envoyer``
(where printed jobs wait even when no outbox is watched; :func:`outbox_dir` is the one place
this package reads the setting). A printed job lands in ``<outbox>/imprimes/`` — a sub-folder
the outbox's automatic sender leaves alone, since a printed letter has no header naming its
patient and recipients: only the « Envoyer ce document » window sends it, once the doctor
confirms. A sent file moves to ``<outbox>/envoyes/AAAA-MM/``.

With several MonSisra accounts under one system user, a printed job goes to the account used
last on this computer (its local state written most recently; decision 185).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from sisra.client.accounts import APP_NAME, Account, AccountStore

DEFAULT_OUTBOX = "a-envoyer"
PRINTED = "imprimes"
PREFIX = "imprime-"


def outbox_dir(account: Account) -> Path:
    """The account's outbox folder (the setting, else ``<account folder>/a-envoyer``)."""
    configured = account.settings.outbox
    return Path(configured) if configured else account.folder / DEFAULT_OUTBOX


def printed_dir(account: Account) -> Path:
    return outbox_dir(account) / PRINTED


def job_file_name(job_id: str, when: datetime) -> str:
    """``imprime-AAAAMMJJ-HHMMSS-<job>.pdf`` (the job id made safe for a file name)."""
    job = "".join(c for c in job_id if c.isalnum() or c in "-_")[:40] or "0"
    return f"{PREFIX}{when.strftime('%Y%m%d-%H%M%S')}-{job}.pdf"


def root_for_home(home: Path) -> Path:
    """A system user's MonSisra folder from their home folder, as
    :func:`sisra.client.accounts.default_root` finds it in their own session on Linux
    (``MONSISRA_HOME`` aside): the XDG data folder's default, ``~/.local/share/MonSisra``."""
    return home / ".local" / "share" / APP_NAME


def _last_used(account: Account) -> float:
    times = []
    for path in (account.state_path, account.vault_path, account.settings_path):
        try:
            times.append(path.stat().st_mtime)
        except OSError:
            continue
    return max(times, default=0.0)


def receiving_account(root: Path) -> Account | None:
    """The account a printed job goes to: the one used last (None without any account)."""
    accounts = AccountStore(root).list()
    if not accounts:
        return None
    return max(accounts, key=lambda a: (_last_used(a), a.id))


def printed_jobs(folder: Path) -> list[Path]:
    """The printed PDFs waiting in ``folder``, oldest first (temporary files left out)."""
    try:
        entries = [
            p
            for p in folder.iterdir()
            if p.name.startswith(PREFIX) and p.suffix == ".pdf" and p.is_file()
        ]
    except OSError:
        return []
    return sorted(entries, key=lambda p: (p.name, os.fspath(p)))

"""The sync engine's local state for one account: a small SQLite database (WAL).

It records every inbox item seen (by notification id), where it stands (pending, exported,
failed), what files it became, whether the `downloaded` receipt went out, and the inbox cursor.
Everything is committed before the next step, so a kill at any moment resumes without loss
and without exporting anything twice.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sisra.client.items import InboxItem

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    cursor INTEGER NOT NULL,
    item TEXT NOT NULL,              -- the platform's JSON as received (InboxItem.to_json)
    status TEXT NOT NULL,            -- pending | exported | failed | skipped | deleted
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0,
    error_code TEXT,
    error_message TEXT,
    files TEXT,
    receipt_sent INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_items_status ON items (status, next_try);
-- documents opened on this computer (the platform's read_at may be older than the list)
CREATE TABLE IF NOT EXISTS reads (id TEXT PRIMARY KEY, read_at REAL NOT NULL);
"""

# an ``items`` row as stored, its columns in SCHEMA's order: id, cursor, item (JSON), status…
StoredItem = tuple[Any, ...]


@dataclass(frozen=True)
class ItemState:
    id: str
    cursor: int
    item: InboxItem
    status: str
    attempts: int
    next_try: float
    error_code: str | None
    error_message: str | None
    files: list[str]
    receipt_sent: bool


class LocalState:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        new = not path.exists()
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        if new:
            os.chmod(path, 0o600)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Many changes in one transaction (imports, tests): one fsync instead of many."""
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # cursor -----------------------------------------------------------------------------
    @property
    def cursor(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key='cursor'").fetchone()
        return int(row[0]) if row else 0

    def set_cursor(self, value: int) -> None:
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES('cursor', ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value "
            "WHERE CAST(meta.value AS INTEGER) < CAST(excluded.value AS INTEGER)",
            (str(value),),
        )

    # items ------------------------------------------------------------------------------
    def record(self, item: InboxItem) -> bool:
        """Remember a new inbox item as pending; False when it was already known."""
        cur = self._db.execute(
            "INSERT OR IGNORE INTO items(id, cursor, item, status, updated_at) "
            "VALUES(?, ?, ?, 'pending', ?)",
            (item.id, item.cursor, item.json_text, time.time()),
        )
        return cur.rowcount == 1

    def get(self, item_id: str) -> ItemState | None:
        row = self._db.execute("SELECT * FROM items WHERE id=?", (item_id,)).fetchone()
        return stored_state(row) if row else None

    def current(self, st: ItemState) -> ItemState | None:
        """``st`` as stored now, its item reused: the platform's JSON is written once (by
        :meth:`record`) and never changed, so it is not parsed again (a backlog's exported
        documents, told one by one to the window)."""
        row = self._db.execute("SELECT * FROM items WHERE id=?", (st.id,)).fetchone()
        return stored_state(row, st.item) if row else None

    def due(self, now: float | None = None) -> list[ItemState]:
        """Items to (re)try now, oldest first: pending ones and failures past their backoff."""
        now = time.time() if now is None else now
        rows = self._db.execute(
            "SELECT * FROM items WHERE (status IN ('pending', 'failed') AND next_try <= ?) "
            "OR (status = 'exported' AND receipt_sent = 0) ORDER BY cursor",
            (now,),
        ).fetchall()
        return [stored_state(r) for r in rows]

    def next_retry_at(self) -> float | None:
        """When the earliest failed item is due again (epoch seconds), None without failures."""
        row = self._db.execute("SELECT MIN(next_try) FROM items WHERE status='failed'").fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def failures(self) -> list[ItemState]:
        rows = self._db.execute(
            "SELECT * FROM items WHERE status='failed' ORDER BY cursor"
        ).fetchall()
        return [stored_state(r) for r in rows]

    def all(self) -> list[ItemState]:
        return [stored_state(r) for r in self._db.execute("SELECT * FROM items ORDER BY cursor")]

    # A notification deleted by the user while the engine was working on it stays deleted:
    # the engine's later steps record what happened but never bring it back to the list.

    def mark_exported(self, item_id: str, files: list[Path]) -> None:
        self._db.execute(
            "UPDATE items SET status=CASE status WHEN 'deleted' THEN 'deleted' ELSE 'exported' "
            "END, files=?, error_code=NULL, error_message=NULL, updated_at=? WHERE id=?",
            (json.dumps([str(f) for f in files]), time.time(), item_id),
        )

    def mark_receipt_sent(self, item_id: str) -> None:
        self._db.execute(
            "UPDATE items SET receipt_sent=1, updated_at=? WHERE id=?", (time.time(), item_id)
        )

    def mark_receipts_sent(self, item_ids: list[str]) -> None:
        """Several documents' receipts answered, in one statement (one commit)."""
        for start in range(0, len(item_ids), 500):  # below SQLite's limit of parameters
            chunk = item_ids[start : start + 500]
            self._db.execute(
                f"UPDATE items SET receipt_sent=1, updated_at=? "  # noqa: S608 (placeholders)
                f"WHERE id IN ({','.join('?' * len(chunk))})",
                (time.time(), *chunk),
            )

    def mark_failed(self, item_id: str, code: str, message: str, retry_in: float) -> None:
        self._db.execute(
            "UPDATE items SET status='failed', attempts=attempts+1, next_try=?, error_code=?, "
            "error_message=?, updated_at=? WHERE id=? AND status != 'deleted'",
            (time.time() + retry_in, code, message, time.time(), item_id),
        )

    def mark_deleted(self, item_id: str) -> None:
        """« Supprimer »: hidden from the list; exported files stay where they are."""
        self._db.execute(
            "UPDATE items SET status='deleted', updated_at=? WHERE id=?", (time.time(), item_id)
        )

    def mark_read(self, item_id: str) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO reads(id, read_at) VALUES(?, ?)", (item_id, time.time())
        )

    def read_ids(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT id FROM reads")}

    def visible(self) -> list[ItemState]:
        """What « Documents reçus » lists: everything but the deleted notifications."""
        rows = self._db.execute("SELECT * FROM items WHERE status != 'deleted' ORDER BY cursor")
        return [stored_state(r) for r in rows]

    def visible_fields(self, paths: Sequence[str]) -> list[StoredItem]:
        """:meth:`visible`'s rows as stored, not typed, each followed by one more column: the
        JSON array of the values at ``paths`` in its item (JSON paths: ``$.patient.birth_name``;
        null where absent). MonSisra's table reads a few fields of thousands of items: SQLite
        reads them, without the items being parsed whole in Python (a third longer), and the
        :class:`ItemState` of the one a user acts on is made then (:func:`stored_state`). In
        no particular order (sorting the stored rows took SQLite as long as reading them)."""
        select = "SELECT * FROM items WHERE status != 'deleted'"  # unordered: the table sorts
        if len(paths) > 1:  # one path: json_extract gives the value itself, not an array
            marks = ", ".join("?" * len(paths))
            try:
                return self._db.execute(
                    select.replace("*", f"*, json_extract(item, {marks})", 1), tuple(paths)
                ).fetchall()
            except sqlite3.OperationalError:  # an SQLite without JSON, or a text it refuses
                pass
        keys = [path.removeprefix("$.").split(".") for path in paths]
        found = []
        for row in self._db.execute(select).fetchall():
            item = json.loads(row[2])
            found.append((*row, json.dumps([_at(item, k) for k in keys])))
        return found

    def find(self, prefix: str) -> list[ItemState]:
        rows = self._db.execute(
            "SELECT * FROM items WHERE id LIKE ? ORDER BY cursor", (prefix.replace("%", "") + "%",)
        ).fetchall()
        return [stored_state(r) for r in rows]

    def skip(self, item_id: str) -> None:
        """Known but older than the enrolment backfill: never fetched."""
        self._db.execute(
            "UPDATE items SET status='skipped', updated_at=? WHERE id=?", (time.time(), item_id)
        )

    def retry_now(self, item_id: str | None = None) -> int:
        """« Réessayer »: failures become due at once (one, or all)."""
        if item_id:
            cur = self._db.execute(
                "UPDATE items SET next_try=0 WHERE id=? AND status='failed'", (item_id,)
            )
        else:
            cur = self._db.execute("UPDATE items SET next_try=0 WHERE status='failed'")
        return cur.rowcount


def _at(data: Any, keys: list[str]) -> Any:
    """The value at ``keys`` within ``data`` as SQLite's json_extract finds it (None if none)."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def stored_state(row: StoredItem, item: InboxItem | None = None) -> ItemState:
    """The typed state of an ``items`` row as stored (``SELECT *``, columns after ignored);
    ``item``: its platform JSON already parsed (it never changes once recorded)."""
    (id_, cursor, text, status, attempts, next_try, code, message, files, receipt) = row[:10]
    return ItemState(
        id_,
        int(cursor),
        item if item is not None else InboxItem.from_text(text),
        status,
        int(attempts),
        float(next_try),
        code,
        message,
        json.loads(files) if files else [],
        bool(receipt),
    )

"""The desk's database: one SQLite file for what a team looks back on (the audit trail, the history of each
account's figures, the notifications sent).

SQLite in WAL mode with ``synchronous=FULL``: a row whose ``INSERT`` returned is on disk, also when the process is
killed with SIGKILL the next instant or the machine loses power, and readers (the admin page) never block the
writer. The file and its WAL are private to the user (0600). Each module that keeps rows here declares its own
tables with :meth:`Database.declare`; the connection is shared by the threads of one process behind a lock.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ibkr.state import default_state_dir


def default_database_path() -> Path:
    """``<state dir>/desk.sqlite3`` (``~/.local/state/ibkr-desk/desk.sqlite3``)."""
    return default_state_dir() / "desk.sqlite3"


class Database:
    """One SQLite file, opened once per process (``Database.at(path)`` hands every caller the same one)."""

    _open: dict[Path, Database] = {}
    _open_lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.path.exists():  # created private before SQLite opens it (its WAL and shm take its mode)
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._declared: set[str] = set()

    @classmethod
    def at(cls, path: Path | None = None) -> Database:
        """The process's one :class:`Database` for ``path`` (default :func:`default_database_path`)."""
        key = Path(path or default_database_path()).resolve()
        with cls._open_lock:
            if key not in cls._open:
                cls._open[key] = cls(key)
            return cls._open[key]

    def declare(self, name: str, ddl: str) -> None:
        """Create a module's tables, indexes and triggers (``CREATE ... IF NOT EXISTS`` statements), once."""
        with self._lock:
            if name in self._declared:
                return
            self._conn.executescript(ddl)
            self._declared.add(name)

    def write(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one statement in its own transaction, committed (and synced) before it returns; the row id."""
        with self._lock:
            cursor = self._conn.execute("BEGIN IMMEDIATE")
            try:
                cursor = self._conn.execute(sql, params)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            return int(cursor.lastrowid or 0)

    def write_many(self, sql: str, rows: Iterable[Sequence[Any] | dict[str, Any]]) -> None:
        """Run one statement for each of ``rows`` in one transaction."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(sql, rows)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def read(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._open_lock, self._lock:
            self._conn.close()
            self._open.pop(self.path.resolve(), None)

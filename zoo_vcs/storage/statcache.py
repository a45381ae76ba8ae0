"""Stat cache: remembers the SHA1 of workspace files keyed by path, inode, size and mtime.

``status`` and ``checkout`` consult it so that unchanged files are never re-hashed;
``verify`` ignores it. Stored in SQLite (WAL) so concurrent zoo-vcs processes can
share it safely. Like git's index, an entry is not recorded while the file's mtime is
too recent to be trusted ("racy" timestamps): a write in the same clock tick after
hashing would otherwise go unnoticed.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

log = logging.getLogger(__name__)

#: Files modified this recently are hashed but not remembered (mtime granularity guard).
RACY_SECONDS = 2.0

_Key = tuple[int, int, int]


def stat_key(st: os.stat_result) -> _Key:
    """The part of a stat result that must match for a cached hash to be trusted."""
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class StatCache:
    """Path -> (inode, size, mtime_ns, sha1), loaded in one query, written in one transaction.

    Parameters
    ----------
    db_path
        SQLite file; its folder is created when needed. Failures to open or write it
        only cost speed, never correctness, so they are logged and ignored.
    """

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.db_path = Path(db_path)
        self._entries: dict[str, tuple[int, int, int, str]] | None = None
        self._dirty: dict[str, tuple[int, int, int, str]] = {}

    def _connect(self) -> sqlite3.Connection:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.db_path, timeout=30)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute(
            "CREATE TABLE IF NOT EXISTS stat (path TEXT PRIMARY KEY, ino INTEGER, "
            "size INTEGER, mtime_ns INTEGER, sha1 TEXT)"
        )
        return con

    def _load(self) -> dict[str, tuple[int, int, int, str]]:
        if self._entries is None:
            self._entries = {}
            if self.db_path.exists():
                try:
                    con = sqlite3.connect(self.db_path, timeout=30)
                    try:
                        rows = con.execute("SELECT path, ino, size, mtime_ns, sha1 FROM stat")
                        self._entries = {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}
                    finally:
                        con.close()
                except sqlite3.Error as exc:
                    log.warning("stat cache %s unreadable (%s); hashing files again",
                                self.db_path, exc)
        return self._entries

    def get(self, path: str, st: os.stat_result) -> str | None:
        """The remembered SHA1 of ``path`` if its stat still matches, else None."""
        entry = self._load().get(path)
        if entry is None or entry[:3] != stat_key(st):
            return None
        return entry[3]

    def put(self, path: str, st: os.stat_result, sha1: str) -> None:
        """Remember that ``path`` with stat ``st`` hashes to ``sha1`` (unless racy)."""
        if time.time() - st.st_mtime < RACY_SECONDS:
            return
        value = (*stat_key(st), sha1)
        entries = self._load()
        if entries.get(path) != value:
            entries[path] = value
            self._dirty[path] = value

    def save(self) -> None:
        """Write pending changes in one transaction."""
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, {}
        try:
            con = self._connect()
            try:
                with con:
                    con.executemany("INSERT OR REPLACE INTO stat VALUES (?, ?, ?, ?, ?)",
                                    [(p, *v) for p, v in dirty.items()])
            finally:
                con.close()
        except (sqlite3.Error, OSError) as exc:
            log.warning("could not update stat cache %s: %s", self.db_path, exc)

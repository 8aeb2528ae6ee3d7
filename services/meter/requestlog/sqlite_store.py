"""The request log in an embedded SQLite file (WAL): the default, so `make run` needs nothing new.

sqlite3 is blocking, so every call runs on one dedicated thread that owns the connection (SQLite
connections are not shared across threads); the event loop only awaits it. WAL lets the explorer
read while a batch is being written, and `synchronous=NORMAL` makes a batch commit one fsync-free
append (a crash may lose the last batches, never corrupt the file: the log is best effort by design).
"""
from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from services.meter.requestlog.agent_health import agent_rows_sql
from services.meter.requestlog.entry import COLUMNS, RequestFilter, create_table_sql, select_sql


class SQLiteRequestLog:
    backend = "sqlite"

    def __init__(self, path: Path) -> None:
        self._path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="request-log")
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self._path, timeout=5)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            for stmt in create_table_sql("INTEGER"):
                conn.execute(stmt)
            conn.commit()
            self._conn = conn
        return self._conn

    async def _run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def open(self) -> None:
        await self._run(self._db)

    def _write(self, rows: list[tuple]) -> None:
        db = self._db()
        marks = ", ".join("?" for _ in COLUMNS)
        with db:
            db.executemany(f"INSERT OR IGNORE INTO request_log ({', '.join(COLUMNS)}) VALUES ({marks})", rows)

    async def write(self, rows: list[tuple]) -> None:
        await self._run(self._write, rows)

    def _query(self, f: RequestFilter) -> list[tuple]:
        sql, params = select_sql(f, "?")
        return self._db().execute(sql, params).fetchall()

    async def query(self, f: RequestFilter) -> list[tuple]:
        return await self._run(self._query, f)

    def _get(self, request_id: str) -> tuple | None:
        return self._db().execute(f"SELECT {', '.join(COLUMNS)} FROM request_log WHERE request_id = ?",
                                  (request_id,)).fetchone()

    async def get(self, request_id: str) -> tuple | None:
        return await self._run(self._get, request_id)

    def _agent_rows(self, since_ms: int, limit: int, workspace: str) -> list[tuple]:
        params = [since_ms, *([workspace] if workspace else []), limit]
        return self._db().execute(agent_rows_sql("?", workspace), params).fetchall()

    async def agent_rows(self, since_ms: int, limit: int, workspace: str = "") -> list[tuple]:
        return await self._run(self._agent_rows, since_ms, limit, workspace)

    def _sweep(self, older_than_ms: int, max_rows: int) -> tuple[int, int]:
        db = self._db()
        with db:
            deleted = db.execute("DELETE FROM request_log WHERE started_at_ms < ?", (older_than_ms,)).rowcount
            rows = db.execute("SELECT COUNT(*) FROM request_log").fetchone()[0]
            if rows > max_rows:
                deleted += db.execute(
                    "DELETE FROM request_log WHERE request_id IN (SELECT request_id FROM request_log "
                    "ORDER BY started_at_ms ASC, request_id ASC LIMIT ?)", (rows - max_rows,)).rowcount
                rows = max_rows
        return deleted, rows

    async def sweep(self, older_than_ms: int, max_rows: int) -> tuple[int, int]:
        """Deletes rows past retention, then the oldest beyond the cap: (deleted, rows left)."""
        return await self._run(self._sweep, older_than_ms, max_rows)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def aclose(self) -> None:
        await self._run(self._close)
        self._pool.shutdown(wait=True)

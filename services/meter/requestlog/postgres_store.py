"""The request log in PostgreSQL (psycopg 3): what several meter replicas share.

One connection, used under a lock (the meter writes batches and serves an occasional explorer
query: no pool needed). A broken connection is dropped and reopened on the next call, so a database
that went away and came back needs no meter restart; until then calls raise and the writer reports
the store unhealthy (it never blocks a request).
"""
from __future__ import annotations

import asyncio

import psycopg

from services.meter.requestlog.agent_health import agent_rows_sql
from services.meter.requestlog.entry import COLUMNS, RequestFilter, create_table_sql, select_sql


class PostgresRequestLog:
    backend = "postgresql"

    def __init__(self, url: str, connect_timeout: float = 5.0) -> None:
        self._url = url
        self._timeout = connect_timeout
        self._conn: psycopg.AsyncConnection | None = None
        self._lock = asyncio.Lock()

    async def _db(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True,
                                                         connect_timeout=max(1, int(self._timeout)))
            for stmt in create_table_sql("BIGINT"):
                await conn.execute(stmt)
            self._conn = conn
        return self._conn

    async def _call(self, fn):
        async with self._lock:
            conn = await self._db()
            try:
                return await fn(conn)
            except psycopg.OperationalError:
                await conn.close()
                self._conn = None
                raise

    async def open(self) -> None:
        await self._call(lambda conn: asyncio.sleep(0))

    async def write(self, rows: list[tuple]) -> None:
        """COPY into a session-local staging table, then one INSERT ... ON CONFLICT: several times faster
        than a multi-row INSERT, and a re-delivered request id is still skipped, never duplicated."""
        cols = ", ".join(COLUMNS)

        async def run(conn):
            async with conn.transaction():
                await conn.execute("CREATE TEMP TABLE IF NOT EXISTS request_log_in "
                                   "(LIKE request_log INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
                async with conn.cursor() as cur:
                    async with cur.copy(f"COPY request_log_in ({cols}) FROM STDIN") as copy:
                        for row in rows:
                            await copy.write_row(row)
                    await cur.execute(f"INSERT INTO request_log ({cols}) SELECT {cols} FROM request_log_in "
                                      "ON CONFLICT (request_id) DO NOTHING")
        await self._call(run)

    async def query(self, f: RequestFilter) -> list[tuple]:
        sql, params = select_sql(f, "%s")

        async def run(conn):
            cur = await conn.execute(sql, params)
            return await cur.fetchall()
        return await self._call(run)

    async def get(self, request_id: str) -> tuple | None:
        async def run(conn):
            cur = await conn.execute(f"SELECT {', '.join(COLUMNS)} FROM request_log WHERE request_id = %s",
                                     (request_id,))
            return await cur.fetchone()
        return await self._call(run)

    async def agent_rows(self, since_ms: int, limit: int, workspace: str = "") -> list[tuple]:
        params = [since_ms, *([workspace] if workspace else []), limit]

        async def run(conn):
            return await (await conn.execute(agent_rows_sql("%s", workspace), params)).fetchall()
        return await self._call(run)

    async def sweep(self, older_than_ms: int, max_rows: int) -> tuple[int, int]:
        async def run(conn):
            async with conn.transaction():
                cur = await conn.execute("DELETE FROM request_log WHERE started_at_ms < %s", (older_than_ms,))
                deleted = cur.rowcount
                rows = (await (await conn.execute("SELECT COUNT(*) FROM request_log")).fetchone())[0]
                if rows > max_rows:
                    cur = await conn.execute(
                        "DELETE FROM request_log WHERE request_id IN (SELECT request_id FROM request_log "
                        "ORDER BY started_at_ms ASC, request_id ASC LIMIT %s)", (rows - max_rows,))
                    deleted += cur.rowcount
                    rows = max_rows
                return deleted, rows
        return await self._call(run)

    async def aclose(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

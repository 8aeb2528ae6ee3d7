"""A small server that speaks the request explorer contract (GET /api/v1/requests, /api/v1/requests/{id},
per REQUESTS_API.md), for the CLI's tests while the real one is built elsewhere.

Pages are capped at `max_page` records whatever `limit` asks, so a client must follow `next_cursor`;
`since` is inclusive; the cursor is the offset, opaque to clients."""
from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from aiohttp import web

START = datetime(2026, 12, 2, 6, 0, 0, tzinfo=timezone.utc)


def record(n: int, **over) -> dict:
    at = START + timedelta(milliseconds=250 * n)
    return {"request_id": f"req_{n:04d}", "client_request_id": None, "key_id": "key_a", "workspace": "acme",
            "agent_id": None, "session_id": None, "model_requested": "fake-echo", "model": "fake-echo",
            "deployment": "fake", "status": "ok", "http_status": 200, "prompt_tokens": 10 + n,
            "completion_tokens": 5, "cached_tokens": 0, "estimated": False, "cost_usd": f"0.{n:06d}",
            "cost_known": True, "latency_ms": 12, "ttft_ms": 3, "trace_id": None,
            "started_at": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
            "attempts": [{"deployment": "fake", "model": "fake-echo", "kind": "first", "outcome": "ok",
                          "cause": None, "latency_ms": 12}], **over}


def _when(value: str) -> datetime:
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, timezone.utc)
    return datetime.fromisoformat(value)


def _error(status: int, message: str, code: str, param: str | None = None) -> web.Response:
    return web.json_response({"error": {"message": message, "type": "invalid_request_error", "param": param,
                                        "code": code}}, status=status)


@dataclass
class FakeRequestsApi:
    api_key: str
    records: list[dict] = field(default_factory=list)
    """Oldest first; served newest first."""
    max_page: int = 3
    queries: list[dict] = field(default_factory=list)
    port: int = 0
    runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> "FakeRequestsApi":
        app = web.Application()
        app.router.add_get("/api/v1/requests", self._list)
        app.router.add_get("/api/v1/requests/{request_id}", self._get)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    def _denied(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "Invalid API key.", "invalid_api_key")
        return None

    async def _list(self, request: web.Request) -> web.Response:
        if denied := self._denied(request):
            return denied
        q = dict(request.query)
        self.queries.append(q)
        limit = int(q.get("limit", 50))
        if not 1 <= limit <= 500:
            return _error(400, "`limit` must be from 1 to 500.", "invalid_value", "limit")
        rows = list(reversed(self.records))
        if "model" in q:  # as the real API: the model answered or the one asked for (an alias)
            rows = [r for r in rows if q["model"] in (r.get("model"), r.get("model_requested"))]
        for name in ("status", "key_id", "agent_id", "workspace", "client_request_id"):
            if name in q:
                rows = [r for r in rows if r.get(name) == q[name]]
        if "since" in q:
            rows = [r for r in rows if _when(r["started_at"]) >= _when(q["since"])]
        offset = int(q.get("cursor", 0))
        page = rows[offset:offset + min(limit, self.max_page)]
        more = offset + len(page) < len(rows)
        return web.json_response({"object": "list", "data": page,
                                  "next_cursor": str(offset + len(page)) if more else None})

    async def _get(self, request: web.Request) -> web.Response:
        if denied := self._denied(request):
            return denied
        for r in self.records:
            if r["request_id"] == request.match_info["request_id"]:
                return web.json_response(r)
        return _error(404, "No such request.", "request_not_found", "request_id")


class ThreadedRequestsApi:
    def __init__(self, api_key: str) -> None:
        self.server = FakeRequestsApi(api_key)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> FakeRequestsApi:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)
        return self.server

    def add(self, *records: dict) -> None:
        """Appends on the server's own loop, so a request being served never sees half a change."""
        async def append() -> None:
            self.server.records.extend(records)
        asyncio.run_coroutine_threadsafe(append(), self._loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

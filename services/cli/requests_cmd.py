"""`tokenyard requests [--follow]`: the request log (GET /api/v1/requests, REQUESTS_API contract).

Without `--follow`, one page, newest first. With it, the newest page oldest-first, then a poll every
`--interval` seconds (`since`, following `next_cursor` within a poll so a burst larger than a page is
not cut short); see `RequestTail` for why it looks back and how it never prints a record twice."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Annotated, Optional
from urllib.parse import quote

import typer

from services.cli.api import CliError, GatewayApi
from services.cli.deps import Deps, JsonFlag

COLUMNS = ("started_at", "request_id", "model", "deployment", "status", "http", "prompt", "completion",
           "cost_usd", "latency_ms", "key_id")
_PAGE = 500


def row(r: dict) -> list:
    return [r.get("started_at"), r.get("request_id"), r.get("model") or r.get("model_requested"),
            r.get("deployment"), r.get("status"), r.get("http_status"), r.get("prompt_tokens"),
            r.get("completion_tokens"), r.get("cost_usd") if r.get("cost_known", True) else "unknown",
            r.get("latency_ms"), r.get("key_id")]


def line(r: dict) -> str:
    cells = ["-" if v is None or v == "" else str(v) for v in row(r)]
    # request_id: the real API's `req_` + 32 hex digits; every other column at least as wide as its name
    widths = (24, 36, 18, 14, 11, 4, 7, 10, 11, 10, 0)
    return "  ".join(c.ljust(w) if w else c for c, w in zip(cells, widths)).rstrip()


def list_page(api: GatewayApi, params: dict) -> dict:
    try:
        return api.json("GET", "/api/v1/requests", params=params)
    except CliError as exc:
        if str(exc).startswith("404 "):  # a plain 404 on the collection: a gateway from before the request log
            raise CliError(f"the gateway at {api.cfg.url} has no request log (GET /api/v1/requests answered 404)"
                           ) from None
        raise


_NEVER = datetime.min.replace(tzinfo=timezone.utc)


def instant(r: dict) -> datetime:
    """`started_at` as a time, so fractions of different lengths still compare right."""
    try:
        return datetime.fromisoformat(r.get("started_at") or "")
    except ValueError:
        return _NEVER


def iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_since(value: str | None) -> datetime:
    """`--since` as the contract takes it (ISO-8601 UTC or Unix ms), or never."""
    if not value:
        return _NEVER
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, timezone.utc)
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise CliError(f"--since must be ISO-8601 (2026-12-01T00:00:00Z) or Unix milliseconds, not {value!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


class RequestTail:
    """Polls for records not printed yet; `sleep` is injected so tests need no real waiting.

    A record is logged when its request ends, but listed by when it started: a long stream that began
    before the newest record printed shows up later with an older `started_at`. So each poll looks
    `lookback` seconds behind the newest record and skips the ids it has printed (remembered for that
    window only, so memory stays bounded); a poll reads at most `max_pages` pages."""

    def __init__(self, api: GatewayApi, filters: dict[str, str], sleep: Callable[[float], None],
                 interval: float, lookback: float = 60.0, max_pages: int = 20) -> None:
        self._api, self._filters, self._sleep, self._interval = api, filters, sleep, interval
        self._lookback = timedelta(seconds=lookback)
        self._max_pages = max_pages
        self._floor = parse_since(filters.get("since"))
        self._newest = _NEVER
        self._seen: dict[str, datetime] = {}

    def _page(self, params: dict) -> dict:
        return list_page(self._api, {**self._filters, **params})

    def _see(self, records: list[dict]) -> list[dict]:
        """Records not yet printed, oldest first."""
        fresh = [r for r in sorted(reversed(records), key=instant) if r.get("request_id") not in self._seen]
        for r in fresh:
            self._seen[r.get("request_id")] = instant(r)
            self._newest = max(self._newest, instant(r))
        horizon = self._horizon()
        self._seen = {rid: at for rid, at in self._seen.items() if at >= horizon}
        return fresh

    def _horizon(self) -> datetime:
        return max(self._floor, self._newest - self._lookback) if self._newest > _NEVER + self._lookback \
            else self._floor

    def first(self, limit: int) -> list[dict]:
        """The newest `limit` records. When there were more, the older ones were left out on purpose, so
        looking back never reaches behind the oldest record shown."""
        records = self._page({"limit": limit})["data"]
        if len(records) >= limit:
            self._floor = max(self._floor, min(instant(r) for r in records))
        return self._see(records)

    def poll(self) -> list[dict]:
        horizon = self._horizon()
        params: dict = {"limit": _PAGE, **({"since": iso(horizon)} if horizon > _NEVER else {})}
        records: list[dict] = []
        for _ in range(self._max_pages):
            page = self._page(params)
            records += page["data"]
            if not page.get("next_cursor") or not page["data"]:
                break
            params = {**params, "cursor": page["next_cursor"]}
        return self._see(records)

    def follow(self, limit: int) -> Iterator[dict]:
        yield from self.first(limit)
        while True:
            self._sleep(self._interval)
            yield from self.poll()


def register(app: typer.Typer, deps: Deps) -> None:
    @app.command("requests")
    def requests(follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new requests.")] = False,
                 limit: Annotated[int, typer.Option(min=1, max=500, help="How many to show first.")] = 20,
                 model: Annotated[Optional[str], typer.Option(help="Only this model.")] = None,
                 status: Annotated[Optional[str], typer.Option(help="ok, error, cancelled or interrupted.")] = None,
                 key_id: Annotated[Optional[str], typer.Option(help="Only this key.")] = None,
                 agent_id: Annotated[Optional[str], typer.Option(help="Only this agent.")] = None,
                 workspace: Annotated[Optional[str], typer.Option(help="Only this workspace.")] = None,
                 client_request_id: Annotated[Optional[str], typer.Option(
                     help="Only the request its client sent with this x-request-id.")] = None,
                 since: Annotated[Optional[str], typer.Option(help="ISO-8601 UTC or Unix ms.")] = None,
                 id_: Annotated[Optional[str], typer.Option("--id", help="Show one request, with its attempts.")] = None,
                 interval: Annotated[float, typer.Option(min=0.05, help="Seconds between polls (--follow).")] = 1.0,
                 lookback: Annotated[float, typer.Option(min=0, help="Seconds behind the newest record each poll "
                                                                    "looks, for long requests logged late.")] = 60.0,
                 json_: JsonFlag = False) -> None:
        """The request log, newest first; `--follow` tails it live (Ctrl-C stops)."""
        api = deps.api()
        if id_:
            return _show(deps, api.json("GET", f"/api/v1/requests/{quote(id_, safe='')}"), json_)
        filters = {k: v for k, v in {"model": model, "status": status, "key_id": key_id, "agent_id": agent_id,
                                     "workspace": workspace, "client_request_id": client_request_id,
                                     "since": since}.items() if v}
        if not follow:
            page = list_page(api, {**filters, "limit": limit})
            if json_:
                return deps.out.json(page)
            return deps.out.table(COLUMNS, [row(r) for r in page["data"]])
        if not json_:
            deps.out.line(line({"started_at": "started_at", "request_id": "request_id", "model": "model",
                                "deployment": "deployment", "status": "status", "http_status": "http",
                                "prompt_tokens": "prompt", "completion_tokens": "completion", "cost_usd": "cost_usd",
                                "latency_ms": "latency_ms", "key_id": "key_id"}))
        for record in RequestTail(api, filters, deps.sleep, interval, lookback).follow(limit):
            deps.out.json_line(record) if json_ else deps.out.line(line(record))
            deps.out.stdout.flush()


def _show(deps: Deps, record: dict, json_: bool) -> None:
    if json_:
        return deps.out.json(record)
    deps.out.table(COLUMNS, [row(record)])
    deps.out.table(("kind", "deployment", "model", "outcome", "cause", "latency_ms"),
                   [[a.get("kind"), a.get("deployment"), a.get("model"), a.get("outcome"), a.get("cause"),
                     a.get("latency_ms")] for a in record.get("attempts", [])], title="attempts")

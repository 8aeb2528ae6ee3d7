"""`tokenyard keys create|list|revoke`: virtual keys over /api/v1/keys (master key)."""
from __future__ import annotations

import time
from urllib.parse import quote
from typing import Annotated, Optional

import typer

from services.cli.deps import Deps, JsonFlag

_COLUMNS = ("key_id", "name", "workspace", "agent_id", "tier", "models", "rpm", "tpm", "budget", "expires", "hint")


def _budget(r: dict) -> str:
    micros = r.get("budget_micros") or 0
    return f"${micros // 1_000_000}.{micros % 1_000_000:06d}/{r.get('budget_period', 'month')}" if micros else ""


def _expires(r: dict) -> str:
    at = r.get("expires_at") or 0
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(at)) + "Z" if at else "never"


def _row(r: dict) -> list:
    return [r.get("key_id"), r.get("name"), r.get("workspace"), r.get("agent_id"), r.get("tier"), r.get("models"),
            r.get("rpm") or "", r.get("tpm") or "", _budget(r), _expires(r), r.get("hint")]


def register(app: typer.Typer, deps: Deps) -> None:
    keys = typer.Typer(no_args_is_help=True, help="Virtual keys: create (shown once), list, revoke.")
    app.add_typer(keys, name="keys")

    @keys.command("create")
    def create(workspace: Annotated[str, typer.Option(help="Workspace the key belongs to.")],
               name: Annotated[str, typer.Option(help="A label for people.")] = "",
               model: Annotated[Optional[list[str]], typer.Option(help="Allowed model (repeat); none: all.")] = None,
               agent_id: Annotated[Optional[str], typer.Option(help="Scope the key to one agent.")] = None,
               rpm: Annotated[Optional[int], typer.Option(help="Requests per minute.")] = None,
               tpm: Annotated[Optional[int], typer.Option(help="Tokens per minute.")] = None,
               budget_usd: Annotated[Optional[float], typer.Option(help="Budget in USD per period.")] = None,
               budget_period: Annotated[Optional[str], typer.Option(help="day, week or month.")] = None,
               tier: Annotated[Optional[str], typer.Option(help="economy, standard or premium.")] = None,
               expires_in: Annotated[Optional[int], typer.Option(help="Seconds until the key expires.")] = None,
               json_: JsonFlag = False) -> None:
        """Create a key; its token is printed once and cannot be read back."""
        body = {"workspace": workspace, "name": name, "models": model, "agent_id": agent_id, "rpm": rpm, "tpm": tpm,
                "budget_usd": budget_usd, "budget_period": budget_period, "tier": tier,
                "expires_in_seconds": expires_in}
        created = deps.api().json("POST", "/api/v1/keys", json={k: v for k, v in body.items() if v not in (None, "")})
        if json_:
            return deps.out.json(created)
        deps.out.table(_COLUMNS, [_row(created)])
        deps.out.line(f"key: {created['key']}")
        deps.out.note("This is the only time the key is shown: store it now.")

    @keys.command("list")
    def list_(workspace: Annotated[Optional[str], typer.Option(help="Only this workspace.")] = None,
              json_: JsonFlag = False) -> None:
        """List keys (never their tokens)."""
        data = deps.api().json("GET", "/api/v1/keys", params={"workspace": workspace} if workspace else None)["data"]
        if json_:
            return deps.out.json(data)
        deps.out.table(_COLUMNS, [_row(r) for r in sorted(data, key=lambda r: r.get("created_at", 0))])

    @keys.command("revoke")
    def revoke(key_id: Annotated[str, typer.Argument(help="The key's id (key_...).")], json_: JsonFlag = False) -> None:
        """Revoke a key; calls with it fail at once."""
        done = deps.api().json("DELETE", f"/api/v1/keys/{quote(key_id, safe='')}")
        if json_:
            return deps.out.json(done)
        deps.out.line(f"revoked {done['id']}")

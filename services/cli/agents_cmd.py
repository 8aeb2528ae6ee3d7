"""`tokenyard agents list|start|stop|logs`: the runtime's agents over /api/v1/agents (master key)."""
from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import quote

import typer

from services.cli.api import CliError
from services.cli.deps import Deps, JsonFlag

_KINDS = {"AGENT_KIND_PROCESS": "process", "AGENT_KIND_REMOTE": "remote", "AGENT_KIND_UNSPECIFIED": "model"}


def _path(agent_id: str, action: str = "") -> str:
    return f"/api/v1/agents/{quote(agent_id, safe='')}" + (f"/{action}" if action else "")


def _health_line(h: dict) -> str:
    parts = [h.get("agentId", ""), h.get("status", "")]
    if h.get("pid"):
        parts.append(f"pid {h['pid']}")
    if "lastExitCode" in h:
        parts.append(f"exit {h['lastExitCode']}")
    return "  ".join(str(p) for p in parts)


def register(app: typer.Typer, deps: Deps) -> None:
    agents = typer.Typer(no_args_is_help=True, help="Agents: list, start, stop, logs.")
    app.add_typer(agents, name="agents")

    @agents.command("list")
    def list_(json_: JsonFlag = False) -> None:
        """Every agent, with the state of its process when it has one."""
        api = deps.api()
        data = api.json("GET", "/api/v1/agents")["data"]
        running = {h["agentId"]: h for h in api.json("GET", "/api/v1/agents/running")["data"]}
        if json_:
            return deps.out.json([{**a, "health": running.get(a["id"])} for a in data])
        deps.out.table(("id", "name", "kind", "model", "workspace", "status", "pid", "restarts"), [
            [a["id"], a.get("name"), _KINDS.get(a.get("kind", ""), a.get("kind", "").lower()),
             a.get("model") or a.get("tier"), a.get("workspace"),
             running.get(a["id"], {}).get("status", "stopped" if a.get("process") else ""),
             running.get(a["id"], {}).get("pid"), running.get(a["id"], {}).get("restarts")]
            for a in data])

    @agents.command("start")
    def start(agent_id: str, json_: JsonFlag = False) -> None:
        """Start an agent's process (supervised by the runtime)."""
        health = deps.api().json("POST", _path(agent_id, "start"))
        deps.out.json(health) if json_ else deps.out.line(_health_line(health))

    @agents.command("stop")
    def stop(agent_id: str, json_: JsonFlag = False) -> None:
        """Stop an agent's process (SIGTERM, then SIGKILL after its grace period)."""
        health = deps.api().json("POST", _path(agent_id, "stop"))
        deps.out.json(health) if json_ else deps.out.line(_health_line(health))

    @agents.command("logs")
    def logs(agent_id: str,
             tail: Annotated[int, typer.Option(help="Lines from the end to start with.")] = 100,
             follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
             json_: JsonFlag = False) -> None:
        """An agent's output lines; `--follow` keeps the stream open until Ctrl-C."""
        params = {"tail": tail, "follow": str(follow).lower()}
        for event, data in deps.api().events("GET", _path(agent_id, "logs"), params=params):
            payload = json.loads(data) if data else {}
            if event == "error":
                raise CliError(payload.get("error", {}).get("message", "the log stream broke off"))
            if event == "end":
                return
            if "line" in payload:
                deps.out.json_line(payload) if json_ else deps.out.line(payload["line"])

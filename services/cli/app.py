"""The `tokenyard` command: wiring (`build_app`) and the entry point (`main`), plus `health` and `chat`.

Every failure ends as one line on stderr, `tokenyard: ...`, and a non-zero exit: 1 for a refused or
failed call, 2 for a mistyped command line, 130 for Ctrl-C."""
from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Optional

import typer

from services.cli import agents_cmd, keys_cmd, requests_cmd, usage_cmd
from services.cli.api import CliConfig, CliError, GatewayApi
from services.cli.deps import Deps, JsonFlag


def _health(deps: Deps, json_: bool) -> None:
    api = deps.api()
    readiness = _readiness(api)
    upstreams = api.json("GET", "/api/v1/health/upstreams")
    if json_:
        return deps.out.json({"gateway": readiness, **upstreams})
    checks = ", ".join(f"{k} {v}" for k, v in readiness.get("checks", {}).items())
    deps.out.line(f"gateway {api.cfg.url}: {readiness.get('status')}" + (f" ({checks})" if checks else "")
                  + ("; router on local state (Redis unreachable)" if upstreams.get("degraded") else ""))
    deps.out.table(("deployment", "provider", "status", "breaker", "failures", "calls", "success", "latency_ms",
                    "ttft_ms", "inflight"), [
        [d["name"], d["provider"], d["status"], d["breaker"]["state"], d["breaker"]["consecutive_failures"],
         d["window"]["calls"], f"{d['window']['success_rate']:.0%}" if d["window"]["calls"] else "",
         d["avg_latency_ms"] or "", d["avg_ttft_ms"] or "", d["inflight"]] for d in upstreams["data"]])


def _readiness(api: GatewayApi) -> dict:
    """/readyz answers 503 with a body when the gateway is up but not ready: that is a result, not an error."""
    try:
        return api.json("GET", "/readyz")
    except CliError as exc:
        if str(exc).startswith("503"):
            return {"status": "not_ready", "detail": str(exc)}
        raise


def _chat(deps: Deps, model: str, prompt: str, system: Optional[str], max_tokens: Optional[int], json_: bool) -> None:
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    body = {"model": model, "messages": messages, "stream": True, "stream_options": {"include_usage": True},
            **({"max_tokens": max_tokens} if max_tokens else {})}
    text, usage, finish, served = [], None, None, model
    for event, data in deps.api().events("POST", "/v1/chat/completions", json=body):
        if data.strip() == "[DONE]":
            break
        chunk = json.loads(data)
        if event == "error" or "error" in chunk:
            if not json_ and text:
                deps.out.stdout.write("\n")
            err = chunk.get("error") or {}
            raise CliError(f"the answer broke off: {err.get('message', 'stream error')}"
                           + (f" ({err['code']})" if err.get("code") else ""))
        served = chunk.get("model") or served
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or []:
            piece = (choice.get("delta") or {}).get("content") or ""
            finish = choice.get("finish_reason") or finish
            text.append(piece)
            if piece and not json_:
                deps.out.stdout.write(piece)
                deps.out.stdout.flush()
    if json_:
        return deps.out.json({"model": served, "content": "".join(text), "finish_reason": finish, "usage": usage})
    deps.out.stdout.write("\n")
    if usage:
        deps.out.note(f"[{served}: {usage.get('prompt_tokens')} prompt + {usage.get('completion_tokens')} completion "
                      f"tokens]")


def build_app(deps: Deps) -> typer.Typer:
    app = typer.Typer(name="tokenyard", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                      help="Tokenyard from the command line. Reads TOKENYARD_URL (default http://127.0.0.1:8080) "
                           "and TOKENYARD_API_KEY.")
    keys_cmd.register(app, deps)
    usage_cmd.register(app, deps)
    requests_cmd.register(app, deps)
    agents_cmd.register(app, deps)

    @app.command("health")
    def health(json_: JsonFlag = False) -> None:
        """The gateway's readiness and every deployment's status and breaker."""
        _health(deps, json_)

    @app.command("chat")
    def chat(model: Annotated[str, typer.Argument(help="A model name, e.g. gpt-4o-mini or tier/economy.")],
             prompt: Annotated[str, typer.Argument(help="What to ask.")],
             system: Annotated[Optional[str], typer.Option(help="A system prompt.")] = None,
             max_tokens: Annotated[Optional[int], typer.Option(min=1)] = None,
             json_: JsonFlag = False) -> None:
        """Ask MODEL, printing the answer as it streams."""
        _chat(deps, model, prompt, system, max_tokens, json_)

    return app


def main(argv: list[str] | None = None) -> None:
    env = dict(os.environ)
    api: list[GatewayApi] = []

    def make_api() -> GatewayApi:
        if not api:
            api.append(GatewayApi(CliConfig.from_env(env)))
        return api[0]

    app = build_app(Deps(api=make_api))
    try:
        code = app(args=argv, prog_name="tokenyard", standalone_mode=False)
    except CliError as exc:
        print(f"tokenyard: {exc}", file=sys.stderr)
        sys.exit(1)
    except typer.TyperException as exc:  # a mistyped command line
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        print(f"tokenyard: {message} (see tokenyard --help)", file=sys.stderr)
        sys.exit(getattr(exc, "exit_code", 2) or 2)
    except (KeyboardInterrupt, typer.Abort):
        print("", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    sys.exit(code if isinstance(code, int) else 0)

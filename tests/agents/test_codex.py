"""Codex CLI (`@openai/codex`), `codex exec`, with a custom model provider speaking the Responses API
(`wire_api = "responses"`) at the mesh, its key from an environment variable, and its update check,
analytics, feedback, OpenTelemetry export and plugin syncing off."""
from __future__ import annotations

import pytest

from tests.agents.conftest import MASTER_KEY, access_lines, client_bin, log_mark, run_traced

pytestmark = pytest.mark.agents

CONFIG = """\
model_provider = "tokenyard"
check_for_update_on_startup = false

[model_providers.tokenyard]
name = "Tokenyard"
base_url = "http://127.0.0.1:{port}/v1"
env_key = "TOKENYARD_API_KEY"
wire_api = "responses"

[analytics]
enabled = false

[feedback]
enabled = false

[otel]
exporter = "none"

# Off: the curated-plugin sync at startup (git/HTTPS to github.com).
[features]
plugins = false
"""


@pytest.fixture
def codex(agents_mesh, tmp_path):
    home, codex_home, work = tmp_path / "home", tmp_path / "codex", tmp_path / "work"
    for d in (home, codex_home, work):
        d.mkdir()
    (codex_home / "config.toml").write_text(CONFIG.format(port=agents_mesh.http_port))
    env = {"HOME": str(home), "CODEX_HOME": str(codex_home), "TOKENYARD_API_KEY": MASTER_KEY}

    def run(*args: str):
        return run_traced([str(client_bin("codex")), "exec", "--skip-git-repo-check", *args], env, work, timeout=150)

    return run


def test_codex_exec_default_model_completes(codex, agents_mesh):
    mark = log_mark(agents_mesh)
    run = codex("hello from codex")
    assert run.proc.returncode == 0, run.proc.stderr + run.proc.stdout
    assert "hello from codex" in run.proc.stdout
    assert run.remote == []
    seen = access_lines(agents_mesh, mark)
    assert ("POST", "/v1/responses", 200) in {(r["method"], r["route"], r["status"]) for r in seen}
    assert all(r["status"] < 400 for r in seen), seen
    print("codex exec access log:", [(r["method"], r["path"], r["status"]) for r in seen])


def test_codex_exec_tool_round_trip(codex, agents_mesh):
    mark = log_mark(agents_mesh)
    # Only a shell that ran the command prints 42: the prompt holds the arithmetic, not its result.
    run = codex("-m", "fake-tool-call", 'Use exec_command with {"cmd": "echo codex-round-trip-$((6*7))"}')
    assert run.proc.returncode == 0, run.proc.stderr + run.proc.stdout
    assert "codex-round-trip-42" in run.proc.stdout.split("The tool returned:", 1)[1]
    assert run.remote == []
    turns = [r for r in access_lines(agents_mesh, mark) if r["route"] == "/v1/responses" and r["status"] == 200]
    assert len(turns) >= 2
    print("codex tool access log:", [(r["method"], r["path"], r["status"]) for r in access_lines(agents_mesh, mark)])

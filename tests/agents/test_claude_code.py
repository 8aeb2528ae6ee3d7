"""Claude Code (`@anthropic-ai/claude-code`), headless `claude -p`, with only ANTHROPIC_BASE_URL and the
key set (plus the documented switches for telemetry, error reporting, updates and plugin syncing)."""
from __future__ import annotations

import pytest

from tests.agents.conftest import MASTER_KEY, access_lines, client_bin, log_mark, run_traced

pytestmark = pytest.mark.agents

QUIET = {"DISABLE_TELEMETRY": "1", "DISABLE_ERROR_REPORTING": "1", "DISABLE_AUTOUPDATER": "1",
         "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL": "1",
         "DISABLE_GROWTHBOOK": "1"}


@pytest.fixture
def claude(agents_mesh, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    env = {"HOME": str(home), "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{agents_mesh.http_port}",
           "ANTHROPIC_API_KEY": MASTER_KEY, **QUIET}

    def run(*args: str):
        return run_traced([str(client_bin("claude")), "-p", *args], env, work, timeout=150)

    run.work = work
    return run


def test_claude_code_default_model_completes(claude, agents_mesh):
    mark = log_mark(agents_mesh)
    run = claude("say hello to tokenyard")
    assert run.proc.returncode == 0, run.proc.stderr + run.proc.stdout
    assert "hello to tokenyard" in run.proc.stdout
    assert run.remote == []
    seen = access_lines(agents_mesh, mark)
    assert {(r["method"], r["route"], r["status"]) for r in seen} >= {("POST", "/v1/messages", 200)}
    assert all(r["status"] < 400 for r in seen), seen
    print("claude -p access log:", [(r["method"], r["path"], r["status"]) for r in seen])


def test_claude_code_context_counts_tokens(claude, agents_mesh):
    mark = log_mark(agents_mesh)
    run = claude("/context")
    assert run.proc.returncode == 0, run.proc.stderr + run.proc.stdout
    assert run.remote == []
    counts = [r for r in access_lines(agents_mesh, mark) if r["route"] == "/v1/messages/count_tokens"]
    assert counts and all(r["status"] == 200 for r in counts)
    print("claude /context access log:", [(r["method"], r["path"], r["status"]) for r in access_lines(agents_mesh, mark)])


def test_claude_code_tool_round_trip(claude, agents_mesh):
    (claude.work / "note.txt").write_text("tokenyard-round-trip-42\n")
    path = claude.work / "note.txt"
    mark = log_mark(agents_mesh)
    run = claude("--model", "fake-tool-call", f'Use Read with {{"file_path": "{path}"}}')
    assert run.proc.returncode == 0, run.proc.stderr + run.proc.stdout
    # The file's content is not in the prompt (its path is): only the Read tool can have brought it.
    assert "tokenyard-round-trip-42" in run.proc.stdout.split("The tool returned:", 1)[1]
    assert run.remote == []
    seen = access_lines(agents_mesh, mark)
    turns = [r for r in seen if r["route"] == "/v1/messages" and r["status"] == 200]
    assert len(turns) >= 2  # the call, then the answer after the tool ran
    print("claude tool access log:", [(r["method"], r["path"], r["status"]) for r in seen])

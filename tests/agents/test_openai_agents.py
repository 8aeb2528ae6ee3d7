"""The OpenAI Agents SDK (`openai-agents`, pinned in pyproject) with its default Responses model: a run,
a streamed run and a function tool, each a separate traced process (agents_sdk_client.py)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.agents.conftest import MASTER_KEY, access_lines, log_mark, run_traced

pytestmark = pytest.mark.agents

CLIENT = Path(__file__).with_name("agents_sdk_client.py")


@pytest.fixture
def agents_app(agents_mesh, tmp_path):
    env = {"HOME": str(tmp_path), "OPENAI_BASE_URL": f"http://127.0.0.1:{agents_mesh.http_port}/v1",
           "OPENAI_API_KEY": MASTER_KEY, "OPENAI_AGENTS_DISABLE_TRACING": "1"}

    def run(mode: str) -> dict:
        done = run_traced([sys.executable, str(CLIENT), mode], env, tmp_path, timeout=60)
        assert done.proc.returncode == 0, done.proc.stderr
        assert done.remote == []
        return json.loads(done.proc.stdout.strip().splitlines()[-1])

    return run


def test_agents_sdk_run_with_default_model(agents_app, agents_mesh):
    mark = log_mark(agents_mesh)
    assert agents_app("run")["output"] == "agents sdk says hi"
    seen = access_lines(agents_mesh, mark)
    assert [(r["method"], r["path"], r["status"]) for r in seen] == [("POST", "/v1/responses", 200)]


def test_agents_sdk_streamed_run(agents_app):
    out = agents_app("stream")
    assert out["output"] == "streamed agents hello"
    assert "raw_response_event" in out["event_types"]


def test_agents_sdk_function_tool(agents_app, agents_mesh):
    mark = log_mark(agents_mesh)
    out = agents_app("tool")
    assert out["items"][:2] == ["tool_call_item", "tool_call_output_item"]
    assert out["output"] == "The tool returned: code-of-tokenyard-is-63"
    seen = access_lines(agents_mesh, mark)
    assert [(r["path"], r["status"]) for r in seen] == [("/v1/responses", 200), ("/v1/responses", 200)]

"""The `tokenyard` console script against the real mesh: keys, usage, agents, health, chat and the request
log, each as a person would run it (a subprocess with TOKENYARD_URL and TOKENYARD_API_KEY), tables and
--json both."""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import openai
import pytest

from tests.e2e.conftest import MASTER_KEY, usage_record

TOKENYARD = str(Path(sys.executable).parent / "tokenyard")
AGENT_SCRIPT = str(Path(__file__).resolve().parents[1] / "fakes" / "agent_process.py")


@pytest.fixture(scope="module")
def url(mesh) -> str:
    return f"http://127.0.0.1:{mesh.http_port}"


def run(url: str, *args: str, key: str = MASTER_KEY) -> subprocess.CompletedProcess:
    env = {**os.environ, "TOKENYARD_URL": url, "TOKENYARD_API_KEY": key, "COLUMNS": "250"}
    return subprocess.run([TOKENYARD, *args], env=env, capture_output=True, text=True, timeout=60)


def ok(url: str, *args: str, key: str = MASTER_KEY) -> str:
    out = run(url, *args, key=key)
    assert out.returncode == 0, out.stderr
    return out.stdout


def until(fn, timeout: float = 15.0):
    """Polls fn until it returns something truthy: usage lands in the meter after the answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := fn():
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_keys_create_list_revoke_and_a_revoked_key_is_refused(url):
    created = json.loads(ok(url, "keys", "create", "--workspace", "cli-ws", "--name", "ci", "--model", "fake-echo",
                            "--rpm", "600", "--budget-usd", "2.5", "--json"))
    token, key_id = created["key"], created["key_id"]
    assert token.startswith("ty-") and key_id.startswith("key_")
    table = ok(url, "keys", "list", "--workspace", "cli-ws")
    assert key_id in table and "$2.500000/month" in table and token not in table
    assert key_id in [k["key_id"] for k in json.loads(ok(url, "keys", "list", "--json"))]
    assert "hello from ci" in ok(url, "chat", "fake-echo", "hello from ci", key=token)

    assert ok(url, "keys", "revoke", key_id).strip() == f"revoked {key_id}"
    refused = run(url, "chat", "fake-echo", "hi", key=token)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.startswith("tokenyard: 401 ") and refused.stderr.count("\n") == 1
    again = run(url, "keys", "revoke", key_id, "--json")
    assert (again.returncode, again.stderr) == (1, "tokenyard: 404 No such key. (key_not_found)\n")


def test_keys_create_prints_the_token_once_with_a_warning_on_stderr(url):
    out = run(url, "keys", "create", "--workspace", "cli-ws2")
    assert out.returncode == 0 and "key: ty-" in out.stdout and "only time" in out.stderr


def test_chat_streams_the_answer_and_a_broken_stream_ends_in_one_error_line(url):
    assert ok(url, "chat", "fake-echo", "stream these words") == "stream these words\n"
    answer = json.loads(ok(url, "chat", "fake-echo", "as json", "--json"))
    assert (answer["content"], answer["finish_reason"]) == ("as json", "stop")
    assert answer["usage"]["completion_tokens"] == 2
    broken = run(url, "chat", "fake-cut-after-3", "one two three four five")
    assert broken.returncode == 1
    assert broken.stdout.split() == ["one", "two", "three"]
    assert broken.stderr.startswith("tokenyard: the answer broke off: ") and broken.stderr.count("\n") == 1


def test_usage_by_model_key_and_agent_as_table_csv_and_json(url):
    created = json.loads(ok(url, "keys", "create", "--workspace", "usage-ws", "--json"))
    ok(url, "chat", "fake-echo", "count me in", key=created["key"])

    def by_key():
        rows = json.loads(ok(url, "usage", "--by", "key", "--period", "month", "--json"))["data"]
        return next((r for r in rows if r["name"] == created["key_id"]), None)

    mine = until(by_key)
    assert mine["requests"] == 1 and mine["completion_tokens"] == 3
    csv = ok(url, "usage", "--by", "model", "--csv").splitlines()
    assert csv[0] == "model,requests,prompt_tokens,completion_tokens,total_tokens,cost_usd,errors"
    assert any(line.startswith("fake-echo,") for line in csv[1:])
    table = ok(url, "usage", "--by", "model", "--period", "week")
    assert "fake-echo" in table and "total" in table and "usage this week" in table
    assert "data" in json.loads(ok(url, "usage", "--by", "agent", "--json"))


def test_health_shows_each_deployment_and_its_breaker(url):
    table = ok(url, "health")
    assert table.splitlines()[0] == f"gateway {url}: ready (router ok, redis ok, meter ok, runtime ok)"
    assert "upstream-a" in table and "closed" in table
    data = json.loads(ok(url, "health", "--json"))
    assert data["gateway"]["status"] == "ready" and {"fake", "upstream-a"} <= {d["name"] for d in data["data"]}


def test_agents_list_start_logs_stop(url):
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=30)
    created = api.post("/api/v1/agents", json={"id": "cli-agent", "name": "CLI agent", "model": "fake-echo",
                                               "process": {"command": sys.executable, "args": [AGENT_SCRIPT, "serve"],
                                                           "restart": {"mode": "RESTART_MODE_NEVER"}}})
    assert created.status_code == 201, created.text
    try:
        started = ok(url, "agents", "start", "cli-agent")
        assert started.startswith("cli-agent  running  pid ")
        listed = json.loads(ok(url, "agents", "list", "--json"))
        assert next(a for a in listed if a["id"] == "cli-agent")["health"]["status"] == "running"
        assert "running" in next(line for line in ok(url, "agents", "list").splitlines() if "cli-agent" in line)
        logs = until(lambda: [line for line in ok(url, "agents", "logs", "cli-agent").splitlines()
                              if line.startswith("agent cli-agent up")])
        assert "key_prefix=ty-" in logs[0]
        assert json.loads(ok(url, "agents", "logs", "cli-agent", "--json").splitlines()[0])["line"] == logs[0]
        stopped = json.loads(ok(url, "agents", "stop", "cli-agent", "--json"))
        assert (stopped["status"], stopped["lastExitCode"]) == ("stopped", 0)
    finally:
        api.post("/api/v1/agents/cli-agent/stop")
        api.delete("/api/v1/agents/cli-agent")
        api.close()
    missing = run(url, "agents", "start", "no-such-agent")
    assert missing.returncode == 1 and missing.stderr.startswith("tokenyard: 404 ")


@pytest.mark.parametrize("args", [["keys", "list"], ["usage"], ["health"], ["agents", "list"],
                                  ["chat", "fake-echo", "hi"]])
def test_every_command_speaks_json(url, args):
    json.loads(ok(url, *args, "--json"))


def test_errors_are_one_line_and_a_non_zero_exit(url):
    wrong = run(url, "keys", "list", key="ty-not-a-real-key-0123456789")
    assert wrong.returncode == 1 and wrong.stderr.startswith("tokenyard: 401 ") and wrong.stderr.count("\n") == 1
    from services.common.redis_server import free_port

    down = run(f"http://127.0.0.1:{free_port()}", "health")
    assert down.returncode == 1 and "cannot reach the gateway" in down.stderr and down.stderr.count("\n") == 1
    no_key = run(url, "health", key="")
    assert no_key.returncode == 1 and no_key.stderr == \
        "tokenyard: TOKENYARD_API_KEY is not set (export the gateway's master key or a virtual key)\n"
    usage = run(url, "usage", "--by", "planet")
    assert usage.returncode == 2 and usage.stderr.startswith("tokenyard: ") and usage.stderr.count("\n") == 1



def sdk(url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=30)


def sdk_chat(client: openai.OpenAI, label: str, text: str = "one two three") -> tuple[str, openai.types.CompletionUsage]:
    """One chat through the openai SDK with `label` as its x-request-id: the server's id and the usage it answered."""
    raw = client.chat.completions.with_raw_response.create(
        model="fake-echo", messages=[{"role": "user", "content": text}], extra_headers={"x-request-id": label})
    return raw.headers["x-tokenyard-request-id"], raw.parse().usage


def table_rows(stdout: str) -> dict[str, list[str]]:
    """A rich table's body rows by request_id (the second column)."""
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in stdout.splitlines() if line.startswith("│")]
    return {r[1]: r for r in rows if len(r) > 1}


def test_requests_lists_what_the_sdk_sent_filters_shows_one_and_a_key_sees_only_its_workspace(url):
    tag = uuid.uuid4().hex[:8]
    a = json.loads(ok(url, "keys", "create", "--workspace", f"req-a-{tag}", "--json"))
    b = json.loads(ok(url, "keys", "create", "--workspace", f"req-b-{tag}", "--json"))
    with sdk(url, a["key"]) as own, sdk(url, b["key"]) as other:
        rid, usage = sdk_chat(own, f"first-{tag}", "four words in here")
        with pytest.raises(openai.BadRequestError):
            own.chat.completions.create(model="fake-error-400", messages=[{"role": "user", "content": "hi"}],
                                        extra_headers={"x-request-id": f"bad-{tag}"})
        rid_b, _ = sdk_chat(other, f"other-{tag}")
    listed = until(lambda: (d := json.loads(ok(url, "requests", "--key-id", a["key_id"], "--json"))["data"])
                   and len(d) == 2 and d)
    bad, good = listed  # newest first
    assert good["request_id"] == rid and good["client_request_id"] == f"first-{tag}"
    assert (good["model"], good["status"], good["http_status"]) == ("fake-echo", "ok", 200)
    assert (good["prompt_tokens"], good["completion_tokens"]) == (usage.prompt_tokens, usage.completion_tokens) != (0, 0)
    assert (bad["status"], bad["http_status"], bad["client_request_id"]) == ("error", 400, f"bad-{tag}")

    table = table_rows(ok(url, "requests", "--key-id", a["key_id"]))
    assert set(table) == {rid, bad["request_id"]}
    assert table[rid][2:8] == ["fake-echo", "fake", "ok", "200", str(usage.prompt_tokens),
                               str(usage.completion_tokens)]

    errors = json.loads(ok(url, "requests", "--key-id", a["key_id"], "--status", "error", "--json"))["data"]
    assert [r["request_id"] for r in errors] == [bad["request_id"]]
    labelled = json.loads(ok(url, "requests", "--client-request-id", f"first-{tag}", "--json"))["data"]
    assert [r["request_id"] for r in labelled] == [rid]

    one = ok(url, "requests", "--id", rid)
    assert table_rows(one)[rid][2] == "fake-echo" and "attempts" in one
    attempt = next(line for line in one.splitlines() if line.startswith("│ first"))
    assert [c.strip() for c in attempt.split("│")[1:5]] == ["first", "fake", "fake-echo", "ok"]
    shown = json.loads(ok(url, "requests", "--id", rid, "--json"))
    assert [(x["kind"], x["deployment"], x["outcome"]) for x in shown["attempts"]] == [("first", "fake", "ok")]

    mine = json.loads(ok(url, "requests", "--limit", "500", "--json", key=a["key"]))["data"]
    assert {r["request_id"] for r in mine} == {rid, bad["request_id"]}
    assert {r["workspace"] for r in mine} == {f"req-a-{tag}"}
    assert json.loads(ok(url, "requests", "--workspace", f"req-b-{tag}", "--json", key=a["key"]))["data"] == []
    hidden = run(url, "requests", "--id", rid_b, key=a["key"])
    assert hidden.returncode == 1 and hidden.stderr.startswith("tokenyard: 404 ") and hidden.stderr.count("\n") == 1
    assert json.loads(ok(url, "requests", "--id", rid_b, "--json"))["workspace"] == f"req-b-{tag}"


def test_requests_follow_prints_a_request_made_after_it_started(mesh, url):
    tag = uuid.uuid4().hex[:8]
    key = json.loads(ok(url, "keys", "create", "--workspace", f"tail-{tag}", "--json"))
    with sdk(url, key["key"]) as client:
        before, _ = sdk_chat(client, f"before-{tag}")
        usage_record(mesh, before)  # logged, so the first page has it
        env = {**os.environ, "TOKENYARD_URL": url, "TOKENYARD_API_KEY": MASTER_KEY}
        proc = subprocess.Popen([TOKENYARD, "requests", "--follow", "--key-id", key["key_id"], "--interval", "0.1",
                                 "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
        try:
            assert json.loads(lines.get(timeout=20))["request_id"] == before  # its first page is in
            after, usage = sdk_chat(client, f"after-{tag}", "made while following")
            record = json.loads(lines.get(timeout=20))
            assert (record["request_id"], record["status"]) == (after, "ok")
            assert record["completion_tokens"] == usage.completion_tokens
            assert proc.poll() is None  # still following
        finally:
            proc.terminate()
            proc.wait(10)

"""`tokenyard requests` against a fake server that speaks the request explorer contract (REQUESTS_API.md):
one page, filters, one record with its attempts, errors, and `--follow` picking up new records across
pages without repeating any."""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.fakes.requests_api import ThreadedRequestsApi, record

KEY = "ty-cli-test-key-0123456789"
TOKENYARD = str(Path(sys.executable).parent / "tokenyard")


@pytest.fixture
def api():
    runner = ThreadedRequestsApi(KEY)
    server = runner.start()
    runner.add(*(record(n) for n in range(1, 6)), record(6, model="fake-slow", status="error", http_status=502))
    yield runner, server
    runner.stop()


def env(url: str, key: str = KEY) -> dict:
    return {**os.environ, "TOKENYARD_URL": url, "TOKENYARD_API_KEY": key, "COLUMNS": "200"}


def run(url: str, *args: str, key: str = KEY) -> subprocess.CompletedProcess:
    return subprocess.run([TOKENYARD, *args], env=env(url, key), capture_output=True, text=True, timeout=30)


def test_one_page_newest_first_as_a_table_and_as_json(api):
    _, server = api
    out = run(server.url, "requests", "--limit", "2")
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if "req_" in line]
    assert [line.split("│")[2].strip() for line in lines] == ["req_0006", "req_0005"]
    page = json.loads(run(server.url, "requests", "--limit", "2", "--json").stdout)
    assert [r["request_id"] for r in page["data"]] == ["req_0006", "req_0005"] and page["next_cursor"] == "2"


def test_filters_reach_the_server_as_the_contract_names_them(api):
    _, server = api
    out = run(server.url, "requests", "--model", "fake-slow", "--status", "error", "--key-id", "key_a", "--json")
    assert [r["request_id"] for r in json.loads(out.stdout)["data"]] == ["req_0006"]
    assert server.queries[-1] == {"model": "fake-slow", "status": "error", "key_id": "key_a", "limit": "20"}


def test_client_request_id_finds_the_request_its_client_labelled(api):
    runner, server = api
    runner.add(record(7, client_request_id="job-42-step-3"))
    out = run(server.url, "requests", "--client-request-id", "job-42-step-3", "--json")
    assert out.returncode == 0, out.stderr
    assert [r["request_id"] for r in json.loads(out.stdout)["data"]] == ["req_0007"]
    assert server.queries[-1] == {"client_request_id": "job-42-step-3", "limit": "20"}


def test_one_request_shows_its_attempts_and_an_unknown_one_is_one_line_and_exit_1(api):
    _, server = api
    out = run(server.url, "requests", "--id", "req_0003")
    assert out.returncode == 0 and "req_0003" in out.stdout and "attempts" in out.stdout and "first" in out.stdout
    missing = run(server.url, "requests", "--id", "req_nope")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr == "tokenyard: 404 No such request. (request_not_found)\n"
    denied = run(server.url, "requests", key="ty-wrong-key-0123456789")
    assert denied.returncode == 1 and denied.stderr == "tokenyard: 401 Invalid API key. (invalid_api_key)\n"


def test_follow_prints_the_latest_oldest_first_then_each_new_record_once_across_pages(api):
    runner, server = api
    proc = subprocess.Popen([TOKENYARD, "requests", "--follow", "--limit", "3", "--interval", "0.05", "--json"],
                            env=env(server.url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    try:
        def ids(n: int) -> list[str]:
            return [json.loads(lines.get(timeout=15))["request_id"] for _ in range(n)]

        assert ids(3) == ["req_0004", "req_0005", "req_0006"]
        runner.add(*(record(n) for n in range(7, 14)))  # 7 new: more than a page (3) of the fake
        assert ids(7) == [f"req_{n:04d}" for n in range(7, 14)]
        runner.add(record(14))
        assert ids(1) == ["req_0014"]
        # A long request that started before the newest one printed is logged when it ends: still shown.
        runner.add(record(12, request_id="req_long"))
        assert ids(1) == ["req_long"]
        assert any(q.get("cursor") for q in server.queries)  # it did follow next_cursor within a poll
        assert all(q.get("since") for q in server.queries[1:])
        assert lines.empty()
    finally:
        proc.terminate()
        proc.wait(10)


def test_follow_as_a_table_keeps_the_real_api_ids_under_their_headers(api):
    """The real API's ids are `req_` and 32 hex digits (36 characters): every column still starts under its name."""
    runner, server = api
    real_id = "req_" + "0123456789abcdef" * 2
    runner.add(record(7, request_id=real_id, key_id="key_0123456789abcdef", model="fake-error-400"))
    proc = subprocess.Popen([TOKENYARD, "requests", "--follow", "--limit", "1", "--interval", "0.05"],
                            env=env(server.url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        header, row = proc.stdout.readline(), proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(10)
    assert real_id in row
    for name, value in (("model", "fake-error-400"), ("status", "ok"), ("key_id", "key_0123456789abcdef")):
        assert row.index(value) == header.index(name), (header, row)


def test_a_server_without_the_request_log_is_named_in_one_line():
    from tests.fakes.fallback_server import ThreadedFallback

    runner = ThreadedFallback()  # an HTTP server with other routes only: GET /api/v1/requests is a plain 404
    server = runner.start()
    try:
        url = f"http://127.0.0.1:{server.port}"
        out = run(url, "requests")
        assert out.returncode == 1
        assert out.stderr == f"tokenyard: the gateway at {url} has no request log (GET /api/v1/requests answered 404)\n"
    finally:
        runner.stop()

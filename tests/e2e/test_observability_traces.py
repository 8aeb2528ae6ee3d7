"""One streamed request through the whole mesh, traced: every service exports to a real OTLP receiver.

The test checks what an operator sees in Jaeger: one trace (the client's), the tree edge -> router ->
upstream attempt -> upstream HTTP call (whose request carried `traceparent`), the meter's span, the GenAI
attributes on the model span, and the edge's log line naming the same trace without any secret.
"""
from __future__ import annotations

import json
import secrets
import uuid

import pytest
from openai import OpenAI

from services.launcher.mesh import Mesh
from tests.e2e.conftest import usage_record
from tests.fakes.openai_upstream import ThreadedUpstream
from tests.fakes.otlp_receiver import OTLPReceiver, ReceivedSpan

MASTER_KEY = "ty-test-" + secrets.token_hex(16)
UPSTREAM_KEY = "sk-upstream-trace-" + secrets.token_hex(8)
SERVER, CLIENT = 2, 3  # OTLP span kinds


@pytest.fixture(scope="module")
def traced(tmp_path_factory, redis_server):
    receiver = OTLPReceiver().start()
    upstream_runner = ThreadedUpstream(api_key=UPSTREAM_KEY)
    upstream = upstream_runner.start()
    root = tmp_path_factory.mktemp("traced")
    cfg = root / "tokenyard.yaml"
    cfg.write_text(f"""
deployments:
  - name: traced-upstream
    provider: openai
    base_url: {upstream.base_url}
    api_key: {UPSTREAM_KEY}
    models: ["up-*"]
  - name: llama-box
    provider: openai
    vendor: llamacpp
    base_url: {upstream.base_url}
    api_key: {UPSTREAM_KEY}
    models: [{{name: slow-llama, upstream: up-slow-60}}]
""")
    mesh = Mesh(env={"TOKENYARD_MASTER_KEY": MASTER_KEY, "TOKENYARD_CONFIG": str(cfg), "REDIS_URL": redis_server.url,
                     "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"},
                data_dir=root / "data", log_dir=root / "logs")
    mesh.start()
    yield mesh, receiver, upstream
    mesh.stop()
    upstream_runner.stop()
    receiver.stop()


def _one(spans: list[ReceivedSpan], **match) -> ReceivedSpan:
    found = [s for s in spans if all(getattr(s, k) == v for k, v in match.items())]
    assert len(found) == 1, f"expected one span matching {match}, got {[(s.service, s.name) for s in found]}"
    return found[0]


def test_one_streamed_request_is_one_trace_across_the_mesh(traced):
    mesh, receiver, upstream = traced
    trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
    rid = f"req-trace-{uuid.uuid4().hex}"
    with OpenAI(base_url=f"http://127.0.0.1:{mesh.http_port}/v1", api_key=MASTER_KEY, max_retries=0) as client:
        stream = client.chat.completions.create(
            model="up-trace", messages=[{"role": "user", "content": "hello"}], stream=True,
            extra_headers={"traceparent": f"00-{trace_id}-{client_span}-01", "x-request-id": rid})
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "w0 w1 w2 w3 w4 "

    def complete(spans):
        # Every span the assertions below need: services export in separate batches, so the edge's client
        # span can arrive well before its server span (which ends last).
        mine = [s for s in spans if s.trace_id == trace_id]
        return (any(s.service == "tokenyard-edge" and s.kind == SERVER for s in mine)
                and any(s.service == "tokenyard-edge" and s.kind == CLIENT for s in mine)
                and any(s.service == "tokenyard-router" and s.kind == SERVER for s in mine)
                and any(s.name == "POST" for s in mine) and any(s.name == "chat up-trace" for s in mine)
                and any(s.name.startswith("tokenyard.meter") and s.kind == SERVER for s in mine))

    spans = [s for s in receiver.wait_for(complete) if s.trace_id == trace_id]
    assert complete(spans), [(s.service, s.name) for s in spans]

    edge = _one(spans, service="tokenyard-edge", kind=SERVER)
    assert edge.parent_id == client_span  # the client's traceparent was continued, not replaced
    assert edge.attributes["http.route"] == "/v1/chat/completions"
    # The client's id is a label on the trace; the request's identity is the server's own id.
    assert edge.attributes["tokenyard.client_request_id"] == rid
    assert edge.attributes["tokenyard.request_id"].startswith("req_")
    edge_call = _one(spans, service="tokenyard-edge", kind=CLIENT, name="tokenyard.router.v1.RouterService/Chat")
    assert edge_call.parent_id == edge.span_id
    router = _one(spans, service="tokenyard-router", kind=SERVER, name="tokenyard.router.v1.RouterService/Chat")
    assert router.parent_id == edge_call.span_id
    attempt = _one(spans, service="tokenyard-router", name="chat up-trace")
    assert attempt.parent_id == router.span_id
    http = _one(spans, service="tokenyard-router", name="POST")
    assert http.parent_id == attempt.span_id
    assert http.attributes["http.response.status_code"] == 200

    a = attempt.attributes
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == "openai_compatible"  # a server on 127.0.0.1 is not OpenAI
    assert a["gen_ai.request.model"] == "up-trace"
    assert a["gen_ai.response.model"] == "trace"  # what the upstream reported
    assert a["gen_ai.usage.input_tokens"] == 7 and a["gen_ai.usage.output_tokens"] == 5
    assert a["gen_ai.response.finish_reasons"] == ["stop"]
    assert a["gen_ai.server.time_to_first_token"] > 0
    assert a["tokenyard.deployment"] == "traced-upstream"
    assert a["tokenyard.attempt"] == 1 and a["tokenyard.attempt.kind"] == "first"
    assert a["tokenyard.attempt.outcome"] == "ok" and a["tokenyard.breaker.state"] in ("closed", "half_open")

    meter = [s for s in spans if s.service == "tokenyard-meter" and s.kind == SERVER]
    assert [s.name for s in meter] == ["tokenyard.meter.v1.MeterService/RecordUsage"]

    # The upstream received the HTTP span's context, so its own spans would join this trace.
    seen = [r for r in upstream.requests if r.model == "up-trace"]
    assert len(seen) == 1
    assert seen[0].headers["traceparent"] == f"00-{trace_id}-{http.span_id}-01"
    assert UPSTREAM_KEY not in json.dumps(edge.attributes | http.attributes | a)

    # The edge's one line for this request names the trace and its span, and no secret is in any log.
    lines = [json.loads(line) for line in (mesh.log_dir / "edge.log").read_text().splitlines() if line.startswith("{")]
    request_line = next(line for line in lines if line.get("event") == "request" and line.get("client_request_id") == rid)
    assert request_line["trace_id"] == trace_id and request_line["span_id"] == edge.span_id
    assert request_line["deployment"] == "traced-upstream" and request_line["status"] == "ok"
    assert request_line["completion_tokens"] == 5 and request_line["key_id"]
    for name in ("edge", "router", "meter", "runtime"):
        text = (mesh.log_dir / f"{name}.log").read_text()
        assert MASTER_KEY not in text and UPSTREAM_KEY not in text
    # The request log names the same trace, so the console can link a request to it.
    assert usage_record(mesh, rid)["trace_id"] == trace_id


def test_the_upstream_http_span_lasts_until_the_body_ends_and_names_the_real_vendor(traced):
    """Issue 17 item 6: the HTTP span ended at the response headers (7 ms of a 1.5 s stream), and
    `gen_ai.provider.name` said `openai` for a llama.cpp server."""
    mesh, receiver, _ = traced
    rid = "req-span-" + uuid.uuid4().hex[:8]
    with OpenAI(base_url=f"http://127.0.0.1:{mesh.http_port}/v1", api_key=MASTER_KEY, max_retries=0) as client:
        text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
            model="slow-llama", messages=[{"role": "user", "content": "hi"}], stream=True,
            extra_headers={"x-request-id": rid}) if c.choices)
    assert text  # five tokens, 60 ms apart: the body takes about 300 ms after the headers

    def ready(spans):
        attempt = [s for s in spans if s.name == "chat up-slow-60"]
        return attempt and any(s.name == "POST" and s.parent_id == attempt[-1].span_id for s in spans)

    spans = receiver.wait_for(ready)
    attempt = [s for s in spans if s.name == "chat up-slow-60"][-1]
    http = next(s for s in spans if s.name == "POST" and s.parent_id == attempt.span_id)
    assert attempt.attributes["gen_ai.provider.name"] == "llamacpp"
    assert http.seconds >= 0.25, f"the HTTP span ended after {http.seconds * 1000:.0f} ms"


def test_a_successful_agent_chat_has_no_error_span(traced):
    """Issue 17 item 6: the runtime and the edge cancelled calls that had already delivered their final
    message, so every successful agent chat showed CANCELLED (error) spans."""
    import httpx

    mesh, receiver, _ = traced
    api = f"http://127.0.0.1:{mesh.http_port}/api/v1"
    admin = {"Authorization": f"Bearer {MASTER_KEY}"}
    created = httpx.post(f"{api}/agents", headers=admin, json={"id": "traced-agent", "model": "up-agent"}, timeout=10)
    assert created.status_code == 201, created.text
    trace_id = secrets.token_hex(16)
    for stream in (False, True):
        resp = httpx.post(f"{api}/agents/traced-agent/chat", timeout=20, json={
            "messages": [{"role": "user", "content": "hello"}], "stream": stream},
            headers={**admin, "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})
        assert resp.status_code == 200, resp.text

    def complete(spans):
        mine = [s for s in spans if s.trace_id == trace_id]
        # Every span that could carry the error: both sides of the runtime's and the router's calls.
        return all(sum(1 for s in mine if s.service == service and s.kind == kind and s.name.endswith(name)) == 2
                   for service, kind, name in (("tokenyard-edge", SERVER, ""), ("tokenyard-edge", CLIENT, "AgentChat"),
                                               ("tokenyard-runtime", SERVER, "AgentChat"),
                                               ("tokenyard-runtime", CLIENT, "RouterService/Chat"),
                                               ("tokenyard-router", SERVER, "RouterService/Chat")))

    spans = [s for s in receiver.wait_for(complete) if s.trace_id == trace_id]
    assert complete(spans), [(s.service, s.name) for s in spans]
    errors = [(s.service, s.name, s.status_code) for s in spans if s.status_code == 2]
    assert errors == []

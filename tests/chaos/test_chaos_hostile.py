"""Hostile input: property-based bodies against the edge (hypothesis), oversized and malformed
requests, raw malformed protobuf sent straight to every gRPC method, path traversal in drive file
names, and one tenant's key against another tenant's resources. Nothing may answer 500, hang, or leak.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import grpc
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.chaos.support import auth, edge_url, probe
from tokenyard.meter.v1 import meter_pb2
from tokenyard.router.v1 import router_pb2
from tokenyard.runtime.v1 import runtime_pb2

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=4), max_leaves=20)
CHAT_KEYS = st.sampled_from(["model", "messages", "stream", "max_tokens", "temperature", "tools", "n", "stop",
                             "response_format", "stream_options", "logit_bias", "tool_choice", "seed"])
PATHS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/messages")


def _ok(resp: httpx.Response) -> None:
    assert resp.status_code < 500 or resp.status_code in (502, 503, 504), (resp.status_code, resp.text[:300])
    assert "Traceback" not in resp.text


def test_property_bodies_never_500(chaos_mesh, results):
    counted = {"n": 0}
    with httpx.Client(base_url=edge_url(chaos_mesh), headers=auth(), timeout=15) as c:

        @given(path=st.sampled_from(PATHS), body=st.dictionaries(CHAT_KEYS, JSON, max_size=6),
               model=st.sampled_from(["fake-echo", "mb-ok", "nope", ""]))
        @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(path, body, model):
            if "model" not in body:
                body["model"] = model
            counted["n"] += 1
            _ok(c.post(path, json=body))

        run()
    results.record("hostile", "hypothesis: random JSON bodies on 4 endpoints", counted["n"], "no 500, no hang")


def test_oversized_and_malformed_requests(chaos_mesh, results):
    rss0 = probe(chaos_mesh, "edge").rss
    cases = {
        "body 20 MB (limit 8 MB)": dict(content=b'{"model": "fake-echo", "x": "' + b"a" * 20_000_000 + b'"}'),
        "nested JSON 100k deep": dict(content=b"[" * 100_000 + b"]" * 100_000),
        "invalid UTF-8": dict(content=b'{"model": "fake-echo", "messages": [{"role": "user", "content": "\xff\xfe"}]}'),
        "10,000 messages": dict(json={"model": "fake-echo", "messages": [{"role": "user", "content": "x"}] * 10_000}),
        "header of 100 kB": dict(json={"model": "fake-echo", "messages": []}, headers={"X-Big": "a" * 100_000}),
        "200 headers": dict(json={"model": "fake-echo", "messages": []},
                            headers={f"X-H{i}": "v" for i in range(200)}),
    }
    seen = {}
    with httpx.Client(base_url=edge_url(chaos_mesh), headers=auth(), timeout=15) as c:
        for name, kwargs in cases.items():
            try:
                resp = c.post("/v1/chat/completions", **kwargs)
                _ok(resp)
                assert 400 <= resp.status_code < 500 or resp.status_code == 431, (name, resp.status_code)
                seen[name] = resp.status_code
            except httpx.RemoteProtocolError:
                seen[name] = "connection closed"  # a header block over the limit: the edge hangs up
    growth = probe(chaos_mesh, "edge").rss - rss0
    assert seen["body 20 MB (limit 8 MB)"] == 413
    assert growth < 64 * 2**20, f"edge RSS grew {growth / 2**20:.0f} MB"
    for name, status in seen.items():
        results.record("hostile", name, 1, f"HTTP {status}" if isinstance(status, int) else status)


def test_encodings_nul_names_and_huge_embeddings_inputs_get_clear_4xx(chaos_mesh, results):
    """Issue 16, item 8: each of these answered 500 before."""
    chat = b'{"model": "fake-echo", "messages": [{"role": "user", "content": "hi"}]}'
    cases = {
        "Content-Encoding gzip on a plain body": ("/v1/chat/completions", chat, {"Content-Encoding": "gzip"}),
        "Content-Encoding deflate on a plain body": ("/v1/chat/completions", chat, {"Content-Encoding": "deflate"}),
        "NUL byte in the model name": ("/v1/chat/completions",
                                       b'{"model": "fake\\u0000", "messages": [{"role": "user", "content": "x"}]}', {}),
        "5 MB embeddings input": ("/v1/embeddings",
                                  b'{"model": "fake-embed", "input": "' + b"word " * 1_000_000 + b'"}', {}),
    }
    with httpx.Client(base_url=edge_url(chaos_mesh), headers={**auth(), "Content-Type": "application/json"},
                      timeout=30) as c:
        for name, (path, body, headers) in cases.items():
            resp = c.post(path, content=body, headers=headers)
            _ok(resp)
            assert 400 <= resp.status_code < 500 and resp.json()["error"]["message"], (name, resp.status_code)
            results.record("hostile", name, 1, f"HTTP {resp.status_code}")


def _methods():
    for module, service in ((router_pb2, "RouterService"), (meter_pb2, "MeterService"),
                            (runtime_pb2, "RuntimeService")):
        desc = module.DESCRIPTOR.services_by_name[service]
        for m in desc.methods:
            if not m.client_streaming and not m.server_streaming:
                yield service, m
            elif not m.client_streaming:
                yield service, m


GARBAGE = (b"\xff\xff\xff\xff\xff", b"\x0a\xff\xff\xff\xff\x0f", b"\x08" + b"\x80" * 11, b"\x12\x05ab",
           b"\x1a\xff\xff\xff\xff\x07" + b"x" * 10)


def test_malformed_protobuf_straight_to_every_grpc_method(chaos_mesh, results):
    """Raw bytes through a generic channel (identity serializers): truncated fields, varints too long,
    length prefixes past the end. Each call ends with a status within its deadline; the service lives."""
    ports = {"RouterService": chaos_mesh.router_port, "MeterService": chaos_mesh.meter_port,
             "RuntimeService": chaos_mesh.runtime_port}
    codes: dict[str, int] = {}
    calls = 0
    for service, method in _methods():
        package = method.containing_service.full_name
        with grpc.insecure_channel(f"127.0.0.1:{ports[service]}") as ch:
            path = f"/{package}/{method.name}"
            call = (ch.unary_stream if method.server_streaming else ch.unary_unary)(
                path, request_serializer=None, response_deserializer=None)
            for raw in GARBAGE:
                calls += 1
                try:
                    out = call(raw, timeout=10, metadata=(("authorization", "Bearer " + chaos_mesh.env[
                        "TOKENYARD_MASTER_KEY"]),))
                    if method.server_streaming:
                        list(out)
                    code = "OK"
                except grpc.RpcError as exc:
                    code = exc.code().name
                    assert exc.code() != grpc.StatusCode.DEADLINE_EXCEEDED, (path, raw)
                    # grpc.aio answers an undecodable request UNKNOWN (its deserializer raises before any
                    # servicer code runs); anything else UNKNOWN would be our own unhandled error.
                    assert code != "UNKNOWN" or "Error parsing message" in (exc.details() or ""), exc.details()
                    assert "Traceback" not in (exc.details() or ""), (path, exc.details())
                codes[code] = codes.get(code, 0) + 1
    for service, port in ports.items():
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            grpc.channel_ready_future(ch).result(timeout=5)
    assert set(codes) <= {"OK", "INTERNAL", "INVALID_ARGUMENT", "NOT_FOUND", "UNAUTHENTICATED",
                          "PERMISSION_DENIED", "FAILED_PRECONDITION", "UNIMPLEMENTED", "UNKNOWN"}, codes
    results.record("hostile", "malformed protobuf to every gRPC method", calls,
                   ", ".join(f"{n}x {c}" for c, n in sorted(codes.items())) + "; every service still serving")


TRAVERSAL = ("../escape.txt", "..%2f..%2fescape.txt", "/etc/passwd", "a/../../escape.txt", "..\\..\\escape.txt",
             "nul\x00byte.txt", "." , "..", "x" * 5000)


def test_drive_file_names_cannot_escape_the_agents_folder(chaos_mesh, results):
    drive = Path(chaos_mesh.service_env()["DRIVE_STORAGE_PATH"])
    seen: dict[int, int] = {}
    with httpx.Client(base_url=edge_url(chaos_mesh), headers=auth(), timeout=15) as c:
        assert c.post("/api/v1/agents", json={"id": "walker", "model": "fake-echo"}).status_code in (201, 409)
        for name in TRAVERSAL:
            for kwargs in ({"params": {"name": name}, "files": {"file": ("f", b"payload")}},
                           {"files": {"file": (name, b"payload")}}):
                resp = c.post("/api/v1/agents/walker/files", **kwargs)
                _ok(resp)
                seen[resp.status_code] = seen.get(resp.status_code, 0) + 1
            got = c.get(f"/api/v1/agents/walker/files/{quote(name, safe='')}")
            _ok(got)
    outside = [p for p in drive.parent.rglob("*escape*")] + [p for p in drive.rglob("passwd")]
    assert all(str(p.resolve()).startswith(str((drive / "walker").resolve())) for p in outside), outside
    results.record("hostile", "path traversal in drive file names", len(TRAVERSAL) * 3,
                   ", ".join(f"{n}x HTTP {s}" for s, n in sorted(seen.items())) + "; nothing written outside the agent's folder")


def test_one_tenants_key_cannot_reach_another_tenants_resources(chaos_mesh, results):
    with httpx.Client(base_url=edge_url(chaos_mesh), headers=auth(), timeout=15) as master:
        keys = {ws: master.post("/api/v1/keys", json={"workspace": ws, "name": ws}).json()["key"]
                for ws in ("tenant-a", "tenant-b")}
    a = httpx.Client(base_url=edge_url(chaos_mesh), headers=auth(keys["tenant-a"]), timeout=15)
    b = httpx.Client(base_url=edge_url(chaos_mesh), headers=auth(keys["tenant-b"]), timeout=15)
    with a, b, httpx.Client(base_url=edge_url(chaos_mesh), headers=auth(), timeout=15) as master:
        made = master.post("/api/v1/agents", json={"id": "a-secret", "model": "fake-echo", "workspace": "tenant-a"})
        assert made.status_code == 201, made.text
        sid = a.post("/api/v1/agents/a-secret/chat", json={"message": "secret plans"}).json().get("session_id")
        a.post("/api/v1/agents/a-secret/files", files={"file": ("plans.txt", b"secret")})
        probes = [("GET", "/api/v1/agents/a-secret"), ("PUT", "/api/v1/agents/a-secret"),
                  ("DELETE", "/api/v1/agents/a-secret"), ("POST", "/api/v1/agents/a-secret/chat"),
                  ("POST", "/api/v1/agents/a-secret/start"), ("GET", "/api/v1/agents/a-secret/health"),
                  ("GET", "/api/v1/agents/a-secret/files"), ("GET", "/api/v1/agents/a-secret/files/plans.txt"),
                  ("DELETE", "/api/v1/agents/a-secret/files/plans.txt"), ("GET", "/api/v1/agents/a-secret/usage"),
                  ("GET", f"/api/v1/sessions/{sid}"), ("GET", f"/api/v1/sessions/{sid}/export"),
                  ("DELETE", f"/api/v1/sessions/{sid}"), ("GET", "/api/v1/usage?workspace=tenant-a"),
                  ("GET", "/api/v1/keys"), ("POST", "/api/v1/keys"), ("GET", "/api/v1/agents/a-secret/llm-config")]
        seen: dict[int, int] = {}
        for method, path in probes:
            body = {"name": "hijacked"} if method == "PUT" else {"message": "hi", "workspace": "tenant-b"}
            resp = b.request(method, path, json=body)
            _ok(resp)
            scoped = resp.status_code == 200 and "/usage" in path and resp.json().get("workspace") == "tenant-b"
            assert resp.status_code in (403, 404) or scoped, (method, path, resp.status_code, resp.text[:200])
            assert "secret plans" not in resp.text
            seen[resp.status_code] = seen.get(resp.status_code, 0) + 1
        listed = b.get("/api/v1/agents").json().get("data", [])
        assert all(x["id"] != "a-secret" for x in listed)
        assert master.get("/api/v1/agents/a-secret").status_code == 200, "B removed A's agent"
    results.record("hostile", "tenant B's key against tenant A's agents, sessions, files, usage, keys",
                   len(probes) + 1, ", ".join(f"{n}x HTTP {s}" for s, n in sorted(seen.items())) + "; listings hide A")


def _out_of_range_calls():
    """Well-formed protobuf with values no client should send: each must get a deliberate answer."""
    from tokenyard.common.v1 import common_pb2
    from tokenyard.meter.v1 import meter_pb2_grpc
    from tokenyard.router.v1 import router_pb2_grpc
    from tokenyard.runtime.v1 import runtime_pb2_grpc

    msg = router_pb2.Message(role="user", content="hi")
    chat = [
        router_pb2.ChatRequest(model="fake-echo", messages=[msg], max_tokens=-5),
        router_pb2.ChatRequest(model="fake-echo", messages=[msg], n=2**31 - 1, top_logprobs=-1),
        router_pb2.ChatRequest(model="fake-echo", messages=[msg], temperature=1e308, top_p=-3.0),
        router_pb2.ChatRequest(model="x" * 100_000, messages=[msg]),
        router_pb2.ChatRequest(model="fake-echo", messages=[router_pb2.Message(role="", content="")]),
        router_pb2.ChatRequest(model="fake-echo", messages=[msg], extra_json="{not json", tool_choice_json="[["),
    ]
    usage = common_pb2.Usage(prompt_tokens=-10, completion_tokens=-(2**62), total_tokens=-1)
    records = [meter_pb2.UsageRecord(request_id="oor-neg", model="m", usage=usage, started_at_ms=-1),
               meter_pb2.UsageRecord(request_id="oor-far", model="m", started_at_ms=2**62)]
    admits = [meter_pb2.AdmitRequest(request_id="oor-a", model="m", prompt_tokens=-1, max_tokens=2**62,
                                     caller=common_pb2.Caller(key_id="k", workspace="w")),
              meter_pb2.AdmitRequest(request_id="oor-b", model="tier/nope", caller=common_pb2.Caller(tier="x" * 10_000))]
    return [
        *[("router", router_pb2_grpc.RouterServiceStub, "Chat", r, True) for r in chat],
        *[("meter", meter_pb2_grpc.MeterServiceStub, "RecordUsage", meter_pb2.RecordUsageRequest(records=[r]), False)
          for r in records],
        *[("meter", meter_pb2_grpc.MeterServiceStub, "Admit", a, False) for a in admits],
        ("meter", meter_pb2_grpc.MeterServiceStub, "GetUsage", meter_pb2.GetUsageRequest(period=99), False),
        ("runtime", runtime_pb2_grpc.RuntimeServiceStub, "CreateAgent",
         runtime_pb2.CreateAgentRequest(agent=runtime_pb2.Agent(id="../../x", name="y" * 100_000)), False),
    ]


def test_out_of_range_fields_straight_to_the_grpc_services(chaos_mesh, results):
    ports = {"router": chaos_mesh.router_port, "meter": chaos_mesh.meter_port, "runtime": chaos_mesh.runtime_port}
    codes: dict[str, int] = {}
    cases = _out_of_range_calls()
    for service, stub_cls, method, request, streaming in cases:
        with grpc.insecure_channel(f"127.0.0.1:{ports[service]}") as ch:
            rpc = getattr(stub_cls(ch), method)
            try:
                out = rpc(request, timeout=10, metadata=(("authorization", "Bearer " + chaos_mesh.env[
                    "TOKENYARD_MASTER_KEY"]),))
                if streaming:
                    list(out)
                code = "OK"
            except grpc.RpcError as exc:
                code = exc.code().name
                assert code not in ("UNKNOWN", "INTERNAL", "DEADLINE_EXCEEDED"), (method, request, exc.details())
                assert "Traceback" not in (exc.details() or "")
            codes[code] = codes.get(code, 0) + 1
    for port in ports.values():
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            grpc.channel_ready_future(ch).result(timeout=5)
    results.record("hostile", "out-of-range fields to the gRPC services", len(cases),
                   ", ".join(f"{n}x {c}" for c, n in sorted(codes.items())) + "; every service still serving")

"""The native body the edge attaches for Responses-speaking upstreams: the gateway's state resolved
(whole conversation as input, no previous_response_id, store false), everything else as sent."""
from __future__ import annotations

import orjson

from services.edge.dialects.openai_responses import OpenAIResponses, parse_body
from tokenyard.common.v1 import common_pb2


def test_native_body_carries_the_whole_conversation_and_the_client_fields():
    raw = orjson.dumps({"model": "m", "input": "second", "previous_response_id": "resp_1", "store": True,
                        "stream": True, "tools": [{"type": "web_search"}], "include": ["reasoning.encrypted_content"],
                        "metadata": {"a": "b"}, "text": {"verbosity": "low"}})
    history = [{"role": "user", "content": "first"},
               {"id": "msg_ours", "type": "message", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": "one", "annotations": []}]}]
    dialect = OpenAIResponses(parse_body(raw), history)
    parsed = dialect.parse(raw, "req_1", common_pb2.Caller())
    native = orjson.loads(parsed.request.native.body_json)
    assert parsed.request.native.dialect == "openai.responses"
    assert native == {"model": "m", "store": False, "tools": [{"type": "web_search"}],
                      "include": ["reasoning.encrypted_content"], "metadata": {"a": "b"}, "text": {"verbosity": "low"},
                      "input": [{"role": "user", "content": "first"},
                                {"type": "message", "role": "assistant", "status": "completed",
                                 "content": [{"type": "output_text", "text": "one", "annotations": []}]},
                                {"type": "message", "role": "user",
                                 "content": [{"type": "input_text", "text": "second"}]}]}
    assert parsed.headers["x-tokenyard-warning"].endswith("web_search")

"""OpenAI Responses inbound (`POST /v1/responses`): one instance per request, so it can carry the
conversation it continues (`previous_response_id`) in and the finished `response` out for storing.

Parsing and the request translation are in responses_request.py, the events in responses_events.py;
the relay (admission, limits, metering, tracing) is the same ChatRelay every chat dialect uses.
"""
from __future__ import annotations

import orjson
from pydantic import ValidationError

from services.common.ids import new_id
from services.edge.dialects.base import Invalid, Parsed, estimate_tokens
from services.edge.dialects.openai_chat import openai_error
from services.edge.dialects.responses_events import ResponseBuilder
from services.edge.dialects.responses_request import ResponsesRequest, ToolBook, to_chat_request
from services.edge.translate import describe
from tokenyard.common.v1 import common_pb2

NATIVE_DIALECT = "openai.responses"
from tokenyard.router.v1 import router_pb2


def parse_body(raw: bytes) -> ResponsesRequest:
    try:
        return ResponsesRequest.model_validate_json(raw)
    except ValidationError as exc:
        message, param, code = describe(exc)
        raise Invalid(message, param, code) from None


class OpenAIResponses:
    name = "openai.responses"
    error = staticmethod(openai_error)

    def __init__(self, body: ResponsesRequest, history: list[dict], new_id=new_id, max_messages: int = 2048) -> None:
        self.request_body = body
        self._max_messages = max_messages
        self.history = history
        """Items of the conversation this request continues (previous inputs and outputs)."""
        self.book = ToolBook()
        self.builder: ResponseBuilder | None = None
        self._new_id = new_id
        self.response_id = new_id("resp_", 32)

    def parse(self, raw: bytes, request_id: str, caller: common_pb2.Caller) -> Parsed:
        req, self.book = to_chat_request(self.request_body, self.history, request_id, caller)
        if len(req.messages) > self._max_messages:
            raise Invalid(f"Too many input items: at most {self._max_messages} messages.", "input", "too_many_messages")
        req.native.dialect, req.native.body_json = NATIVE_DIALECT, orjson.dumps(self.native_body()).decode()
        parsed = Parsed(req, self.request_body.stream, True, estimate_tokens(req))
        if self.book.dropped:
            # Native upstreams (the OpenAI API) run them; a chat upstream answers without them.
            parsed.headers["x-tokenyard-warning"] = ("hosted tools reach only upstreams that speak the Responses "
                                                     "API; others answer without: "
                                                     + ", ".join(sorted(set(self.book.dropped))))
        return parsed

    def native_body(self) -> dict:
        """The client's body for an upstream that speaks Responses itself, with the gateway's part done:
        the whole conversation as `input` (ids of items this gateway made dropped: the upstream never
        saw them), no `previous_response_id`, and `store: false` (the gateway stores)."""
        body = self.request_body.model_dump(exclude_unset=True)
        history = [{k: v for k, v in item.items() if k != "id"} for item in self.history]
        body["input"] = history + self.input_items()
        body["store"] = False
        for name in ("previous_response_id", "stream"):
            body.pop(name, None)
        return body

    def input_items(self) -> list[dict]:
        """This request's input as items (a string input becomes one user message)."""
        given = self.request_body.input
        if isinstance(given, str):
            return [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": given}]}]
        return list(given or [])

    def _skeleton(self, model: str) -> dict:
        b = self.request_body
        fmt = (b.text or {}).get("format") or {"type": "text"}
        return {"id": self.response_id, "object": "response", "model": model, "error": None,
                "incomplete_details": None, "instructions": b.instructions, "max_output_tokens": b.max_output_tokens,
                "metadata": b.metadata or {}, "parallel_tool_calls": b.parallel_tool_calls is not False,
                "previous_response_id": b.previous_response_id, "reasoning": b.reasoning,
                "store": b.store is not False, "temperature": b.temperature, "top_p": b.top_p,
                "text": {**(b.text or {}), "format": fmt}, "tool_choice": b.tool_choice or "auto",
                "tools": b.tools or [], "truncation": "disabled", "user": b.user,
                "prompt_cache_key": b.prompt_cache_key, "service_tier": b.service_tier or "default"}

    def writer(self, parsed: Parsed, first: router_pb2.ChatResponse) -> ResponseBuilder:
        self.builder = ResponseBuilder(self._skeleton(parsed.request.model), self.book,
                                       lambda prefix: self._new_id(prefix, 24))
        return self.builder

    def body(self, parsed, first, messages, final) -> dict:
        builder = self.writer(parsed, first)
        for msg in messages:
            builder.chunk(msg)
        builder.finish(final)
        return builder.response

    @property
    def result(self) -> dict | None:
        """The finished response (completed or incomplete), or None when it failed or never started."""
        r = self.builder.response if self.builder is not None else None
        return r if r is not None and r["status"] in ("completed", "incomplete") else None

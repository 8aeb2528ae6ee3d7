"""OpenAI Responses -> OpenAI Responses: the passthrough translator.

A request that came in on the edge's `/v1/responses` carries its own body (`ChatRequest.native`,
dialect `openai.responses`), already resolved by the gateway: `input` holds the whole conversation
(the gateway answers `previous_response_id` itself) and `store` is false (the gateway stores). To an
upstream that speaks the Responses API (the OpenAI API itself) it goes as it came, so what chat cannot
express survives: hosted tools (web_search, file_search, code_interpreter...), reasoning items and
`include`, `text.verbosity`, `reasoning.summary`, `truncation`. Only the model name, `stream` and a
budget-capped `max_output_tokens` are the router's.

The upstream's events come back as chat chunks (the router's one internal format): output text,
function calls (custom tool calls as one `{"input": ...}` argument, which the edge unwraps), usage and
the finish reason. What the chat-shaped stream cannot carry (hosted tool call items, reasoning items)
is not returned; its effect (the answer that used it) is.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import orjson

from services.router.config import Deployment
from services.router.providers.base import UpstreamError
from tokenyard.router.v1 import router_pb2

NATIVE_DIALECT = "openai.responses"
_RESPONSES_HOSTS = frozenset({"api.openai.com"})


def speaks_responses(dep: Deployment) -> bool:
    """True for the OpenAI API itself; OpenAI-compatible servers (vLLM, Ollama...) get chat."""
    return (urlsplit(dep.base_url).hostname or "") in _RESPONSES_HOSTS


def native_body(req: router_pb2.ChatRequest, upstream_model: str) -> dict | None:
    if req.native.dialect != NATIVE_DIALECT or not req.native.body_json:
        return None
    body = orjson.loads(req.native.body_json)
    if not isinstance(body, dict):
        return None
    body["model"], body["stream"] = upstream_model, True
    if req.HasField("max_completion_tokens") and (not isinstance(body.get("max_output_tokens"), int)
                                                  or req.max_completion_tokens < body["max_output_tokens"]):
        body["max_output_tokens"] = req.max_completion_tokens  # the budget cap the edge applied
    return body


class ResponsesEvents:
    """One stream's state: which output item is which tool call, what the finish reason will be."""

    def __init__(self, created: int) -> None:
        self.base = {"id": "", "object": "chat.completion.chunk", "created": created, "model": ""}
        self._calls: dict[str, int] = {}
        self._custom: set[str] = set()
        self.done = False

    def _chunk(self, delta: dict, finish: str | None = None) -> dict:
        return {**self.base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    def _call(self, index: int, call_id: str = "", name: str = "", arguments: str = "") -> dict:
        call: dict = {"index": index, "function": {"arguments": arguments}}
        if call_id:
            call.update(id=call_id, type="function")
            call["function"]["name"] = name
        return self._chunk({"tool_calls": [call]})

    def event(self, ev: dict) -> list[dict]:
        kind = ev.get("type", "")
        if kind == "response.created":
            resp = ev.get("response") or {}
            self.base["id"], self.base["model"] = resp.get("id", ""), resp.get("model", "")
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "response.output_text.delta":
            return [self._chunk({"content": ev.get("delta", "")})]
        if kind == "response.refusal.delta":
            return [self._chunk({"refusal": ev.get("delta", "")})]
        if kind == "response.output_item.added":
            item = ev.get("item") or {}
            if item.get("type") == "function_call":
                index = self._calls[item.get("id", "")] = len(self._calls)
                return [self._call(index, item.get("call_id", ""), item.get("name", ""), item.get("arguments") or "")]
            if item.get("type") == "custom_tool_call":
                self._calls[item.get("id", "")] = len(self._calls)
                self._custom.add(item.get("id", ""))
            return []
        if kind == "response.function_call_arguments.delta" and ev.get("item_id") in self._calls:
            return [self._call(self._calls[ev["item_id"]], arguments=ev.get("delta", ""))]
        if kind == "response.output_item.done":
            item = ev.get("item") or {}
            if item.get("id") in self._custom:  # its whole input at once, as the one argument
                args = orjson.dumps({"input": item.get("input", "")}).decode()
                return [self._call(self._calls[item["id"]], item.get("call_id", ""), item.get("name", ""), args)]
            return []
        if kind in ("response.completed", "response.incomplete"):
            return self._end(ev.get("response") or {}, kind == "response.incomplete")
        if kind in ("response.failed", "error"):
            err = (ev.get("response") or {}).get("error") or ev
            raise UpstreamError(502, f"upstream stream error: {err.get('message') or 'unknown'}", kind="stream_error")
        return []  # in_progress, content parts, .done events, reasoning and hosted tool progress

    def _end(self, resp: dict, incomplete: bool) -> list[dict]:
        self.done = True
        reason = ((resp.get("incomplete_details") or {}).get("reason") if incomplete else None)
        finish = "tool_calls" if self._calls else {"max_output_tokens": "length",
                                                   "content_filter": "content_filter"}.get(reason or "", "stop")
        u = resp.get("usage") or {}
        prompt, completion = int(u.get("input_tokens") or 0), int(u.get("output_tokens") or 0)
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                 "prompt_tokens_details": {"cached_tokens": int((u.get("input_tokens_details") or {})
                                                                .get("cached_tokens") or 0)}}
        return [self._chunk({}, finish), {**self.base, "choices": [], "usage": usage}]

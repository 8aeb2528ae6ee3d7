"""OpenAI Responses request (`POST /v1/responses`) -> the router's chat-shaped ChatRequest.

The translator of the Responses -> chat pair (its events back are in responses_events.py). Input items
become chat messages (function calls merge into the assistant turn before them, outputs become tool
messages), `instructions` the first system message, function tools stay function tools, `namespace`
tools are flattened (the namespace comes back on the call), `custom` (free-form) tools become function
tools with one string argument `input`, and hosted tools a chat upstream cannot run are dropped with a
warning, or refused when the request cannot work without them. Fields the gateway answers itself
(`store`, `metadata`, `previous_response_id`, `include`) never reach a chat upstream. (An upstream
that speaks Responses itself gets the client's body instead: services/router/providers/
responses_passthrough.py.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from services.edge.dialects.base import Invalid
from services.edge.schemas import TokenCount
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2

HOSTED_TOOLS = frozenset({"web_search", "web_search_preview", "web_search_preview_2025_03_11", "web_search_2025_08_26",
                          "file_search", "code_interpreter", "image_generation", "computer_use_preview", "computer_use",
                          "computer", "mcp", "local_shell", "shell", "apply_patch", "tool_search"})
# Items that record what a hosted tool or the upstream's own state did: nothing for a chat upstream to read.
_SKIPPED_ITEMS = frozenset({"reasoning", "web_search_call", "file_search_call", "code_interpreter_call",
                            "image_generation_call", "computer_call", "computer_call_output", "mcp_list_tools",
                            "mcp_call", "mcp_approval_request", "mcp_approval_response", "local_shell_call",
                            "local_shell_call_output", "compaction", "tool_search_call", "tool_search_output"})
_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
_CUSTOM_PARAMS = {"type": "object", "properties": {"input": {"type": "string", "description": "The tool's raw input."}},
                  "required": ["input"], "additionalProperties": False}


class ResponsesRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: Annotated[str, Field(min_length=1, max_length=256)]
    input: StrictStr | list[dict[str, Any]] | None = None
    instructions: StrictStr | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: StrictStr | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    max_output_tokens: TokenCount | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    top_logprobs: Annotated[int, Field(ge=0, le=20)] | None = None
    text: dict[str, Any] | None = None
    metadata: dict[StrictStr, StrictStr] | None = None
    store: bool | None = None
    include: list[StrictStr] | None = None
    reasoning: dict[str, Any] | None = None
    prompt_cache_key: StrictStr | None = None
    previous_response_id: StrictStr | None = None
    stream: bool = False
    user: StrictStr | None = None
    safety_identifier: StrictStr | None = None
    service_tier: StrictStr | None = None
    background: bool | None = None


@dataclass
class ToolBook:
    """What the flattening did, so calls come back as the client named them."""

    namespaces: dict[str, str] = field(default_factory=dict)
    """chat function name -> (namespace, original name) joined as 'ns\\x00name'."""
    custom: set[str] = field(default_factory=set)
    """chat function names that stand for `custom` tools (their call is a custom_tool_call)."""
    dropped: list[str] = field(default_factory=list)
    """Hosted tool types left out (the warning header names them)."""

    def original(self, chat_name: str) -> tuple[str, str | None]:
        ns = self.namespaces.get(chat_name)
        return (ns.split("\x00", 1)[1], ns.split("\x00", 1)[0]) if ns else (chat_name, None)


def _text_of_parts(parts: Any, where: str) -> str:
    if isinstance(parts, str):
        return parts
    if not isinstance(parts, list):
        raise Invalid(f"Invalid value for '{where}': expected a string or a list of content parts.", where)
    return "".join(p.get("text", "") for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str))


def _part(p: Any, where: str) -> router_pb2.ContentPart:
    if not isinstance(p, dict):
        raise Invalid(f"Invalid value for '{where}': expected an object.", where)
    kind = p.get("type")
    if kind in ("input_text", "output_text", "text", "refusal", "summary_text"):
        return router_pb2.ContentPart(type="text", text=str(p.get("text") or p.get("refusal") or ""))
    if kind == "input_image":
        if not p.get("image_url"):
            raise Invalid("Images by `file_id` are not supported; send `image_url` (a URL or data URL).",
                          f"{where}.file_id", "unsupported_value")
        return router_pb2.ContentPart(type="image_url", image_url=str(p["image_url"]),
                                      image_detail=str(p.get("detail") or "") if p.get("detail") != "auto" else "")
    if kind == "input_file":
        if not p.get("file_data"):
            raise Invalid("Files are supported inline only: send `file_data`.", f"{where}.file_data", "unsupported_value")
        file = {"file_data": p["file_data"], **({"filename": p["filename"]} if p.get("filename") else {})}
        return router_pb2.ContentPart(type="file", extra_json=orjson.dumps({"type": "file", "file": file}).decode())
    if kind == "input_audio":
        return router_pb2.ContentPart(type="input_audio", extra_json=orjson.dumps(
            {"type": "input_audio", "input_audio": p.get("input_audio") or {}}).decode())
    raise Invalid(f"Unsupported content part type `{kind}`.", f"{where}.type", "unsupported_value")


class _Conversation:
    """Builds chat messages from items in order, merging calls into the assistant turn they belong to."""

    def __init__(self, book: ToolBook) -> None:
        self.messages: list[router_pb2.Message] = []
        self.extra_tools: list[dict] = []
        self._book = book

    def _assistant(self) -> router_pb2.Message:
        last = self.messages[-1] if self.messages else None
        if last is None or last.role != "assistant":
            last = router_pb2.Message(role="assistant", content_null=True)
            self.messages.append(last)
        return last

    def add(self, item: Any, where: str) -> None:
        if not isinstance(item, dict):
            raise Invalid(f"Invalid value for '{where}': expected an object.", where)
        kind = item.get("type") or ("message" if "role" in item else None)
        if kind == "message":
            self._message(item, where)
        elif kind in ("function_call", "custom_tool_call"):
            if not isinstance(item.get("call_id"), str) or not isinstance(item.get("name"), str):
                raise Invalid(f"Missing required parameter: '{where}.call_id'.", f"{where}.call_id",
                              "missing_required_parameter")
            args = item.get("arguments") if kind == "function_call" else orjson.dumps({"input": item.get("input", "")}).decode()
            msg = self._assistant()
            msg.tool_calls.add(id=item["call_id"], type="function", name=item["name"], arguments=str(args or ""))
        elif kind in ("function_call_output", "custom_tool_call_output"):
            if not isinstance(item.get("call_id"), str):
                raise Invalid(f"Missing required parameter: '{where}.call_id'.", f"{where}.call_id",
                              "missing_required_parameter")
            self.messages.append(router_pb2.Message(role="tool", tool_call_id=item["call_id"],
                                                    content=_text_of_parts(item.get("output", ""), f"{where}.output")))
        elif kind == "additional_tools":  # Codex declares its tools as an input item
            if not isinstance(item.get("tools"), list):
                raise Invalid(f"Invalid value for '{where}.tools': expected a list.", f"{where}.tools")
            self.extra_tools.extend(item["tools"])
        elif kind in _SKIPPED_ITEMS:
            return
        elif kind == "item_reference":
            raise Invalid("Item references are not supported; send the items themselves or use "
                          "`previous_response_id`.", f"{where}.type", "unsupported_value")
        else:
            raise Invalid(f"Unsupported input item type `{kind}`.", f"{where}.type", "unsupported_value")

    def _message(self, item: dict, where: str) -> None:
        role = _ROLES.get(item.get("role"))  # type: ignore[arg-type]
        if role is None:
            raise Invalid(f"Invalid value for '{where}.role': expected one of user, assistant, system, developer.",
                          f"{where}.role")
        content = item.get("content")
        if isinstance(content, str):
            msg = router_pb2.Message(role=role, content=content)
        elif isinstance(content, list):
            parts = [_part(p, f"{where}.content[{j}]") for j, p in enumerate(content)]
            if role != "user" or all(p.type == "text" for p in parts):
                msg = router_pb2.Message(role=role, content="".join(p.text for p in parts))
            else:
                msg = router_pb2.Message(role=role, parts=parts)
        else:
            raise Invalid(f"Missing required parameter: '{where}.content'.", f"{where}.content",
                          "missing_required_parameter")
        self.messages.append(msg)


def _tools(tools: list[Any], book: ToolBook, where: str) -> list[router_pb2.Tool]:
    out: dict[str, router_pb2.Tool] = {}

    def add(t: Any, path: str, namespace: str | None) -> None:
        if not isinstance(t, dict):
            raise Invalid(f"Invalid value for '{path}': expected an object.", path)
        kind = t.get("type")
        if kind == "namespace":
            for j, inner in enumerate(t.get("tools") or ()):
                add(inner, f"{path}.tools[{j}]", str(t.get("name") or ""))
            return
        if kind in HOSTED_TOOLS:
            book.dropped.append(kind)
            return
        if kind not in ("function", "custom") or not isinstance(t.get("name"), str) or not t["name"]:
            raise Invalid(f"Unsupported tool type `{kind}`." if kind not in ("function", "custom")
                          else f"Missing required parameter: '{path}.name'.", f"{path}.type", "unsupported_value")
        name = t["name"]
        ident = f"{namespace}\x00{name}" if namespace else None
        if name in out and book.namespaces.get(name) != ident:  # one name in two namespaces: keep both apart
            name = f"{namespace}__{name}" if namespace else name
        if ident:
            book.namespaces[name] = ident
        params = t.get("parameters") if kind == "function" else _CUSTOM_PARAMS
        tool = router_pb2.Tool(type="function", name=name, description=str(t.get("description") or ""),
                               parameters_json=orjson.dumps(params or {"type": "object", "properties": {}}).decode())
        if kind == "custom":
            book.custom.add(name)
        elif isinstance(t.get("strict"), bool):
            tool.strict = t["strict"]
        out[name] = tool

    for i, t in enumerate(tools):
        add(t, f"{where}[{i}]", None)
    return list(out.values())


def _tool_choice(choice: str | dict | None, tools: list[router_pb2.Tool], book: ToolBook) -> str:
    if choice is None:
        return ""
    if isinstance(choice, str):
        if choice not in ("auto", "none", "required"):
            raise Invalid("Invalid value for 'tool_choice': expected auto, none or required.", "tool_choice")
        if choice == "required" and not tools and book.dropped:
            raise Invalid(f"`tool_choice: required` needs a tool, and the gateway cannot run hosted tools "
                          f"({', '.join(sorted(set(book.dropped)))}).", "tool_choice", "unsupported_value")
        return "" if choice == "auto" else orjson.dumps(choice).decode()
    kind = choice.get("type")
    if kind in ("function", "custom"):
        return orjson.dumps({"type": "function", "function": {"name": str(choice.get("name", ""))}}).decode()
    if kind == "allowed_tools":
        return orjson.dumps("required" if choice.get("mode") == "required" else "auto").decode()
    raise Invalid(f"`tool_choice` forces the hosted tool `{kind}`, which the gateway cannot run.", "tool_choice",
                  "unsupported_value")


def _response_format(text: dict | None) -> str:
    fmt = (text or {}).get("format")
    if not isinstance(fmt, dict) or fmt.get("type") in (None, "text"):
        return ""
    if fmt["type"] == "json_object":
        return orjson.dumps({"type": "json_object"}).decode()
    if fmt["type"] == "json_schema":
        if not isinstance(fmt.get("schema"), dict):
            raise Invalid("Missing required parameter: 'text.format.schema'.", "text.format.schema",
                          "missing_required_parameter")
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if fmt.get(k) is not None}
        schema.setdefault("name", "response")
        return orjson.dumps({"type": "json_schema", "json_schema": schema}).decode()
    raise Invalid(f"Unsupported text format `{fmt['type']}`.", "text.format.type", "unsupported_value")


def to_chat_request(body: ResponsesRequest, history: list[dict], request_id: str,
                    caller: common_pb2.Caller) -> tuple[router_pb2.ChatRequest, ToolBook]:
    """`history`: the items of the conversation before this request (previous_response_id), in order."""
    if body.background:
        raise Invalid("Background responses are not supported.", "background", "unsupported_value")
    for name in ("conversation", "prompt"):
        if (body.model_extra or {}).get(name) is not None:
            raise Invalid(f"`{name}` is not supported; send the input items themselves.", name, "unsupported_value")
    book = ToolBook()
    conv = _Conversation(book)
    if body.instructions:
        conv.messages.append(router_pb2.Message(role="system", content=body.instructions))
    for i, item in enumerate(history):
        conv.add(item, f"previous_response_id[{i}]")
    items = [{"role": "user", "content": body.input}] if isinstance(body.input, str) else (body.input or [])
    for i, item in enumerate(items):
        conv.add(item, f"input[{i}]")
    if not any(m.role != "system" for m in conv.messages):
        raise Invalid("Missing required parameter: 'input'.", "input", "missing_required_parameter")
    tools = _tools(conv.extra_tools, book, "input.tools") + _tools(body.tools or [], book, "tools")
    req = router_pb2.ChatRequest(request_id=request_id, model=body.model, caller=caller, messages=conv.messages,
                                 tools=tools, tool_choice_json=_tool_choice(body.tool_choice, tools, book),
                                 response_format_json=_response_format(body.text),
                                 user=body.user or "")
    for ours, theirs in (("temperature", "temperature"), ("top_p", "top_p"), ("max_completion_tokens", "max_output_tokens"),
                         ("parallel_tool_calls", "parallel_tool_calls")):
        if getattr(body, theirs) is not None:
            setattr(req, ours, getattr(body, theirs))
    if body.top_logprobs:
        req.logprobs, req.top_logprobs = True, body.top_logprobs
    extra: dict[str, Any] = {}
    if body.reasoning and isinstance(body.reasoning.get("effort"), str):
        extra["reasoning_effort"] = body.reasoning["effort"]
    for name in ("prompt_cache_key", "safety_identifier", "service_tier"):
        if getattr(body, name):
            extra[name] = getattr(body, name)
    if extra:
        req.extra_json = orjson.dumps(extra).decode()
    return req, book

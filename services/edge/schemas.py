"""Request schemas for the OpenAI-compatible endpoints (pydantic, validated straight from bytes).

Fields a schema does not name are kept (`extra="allow"`) and forwarded to the upstream: a client
using a newer OpenAI parameter must not see it silently dropped.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

_OPEN = ConfigDict(extra="allow")
# Integers the wire (protobuf int64, JSON) can carry; anything larger is a client error, not a crash.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
TokenCount = Annotated[int, Field(ge=1, le=10**9)]


class ImageURL(BaseModel):
    model_config = _OPEN
    url: StrictStr
    detail: StrictStr | None = None


class ContentPart(BaseModel):
    model_config = _OPEN
    type: StrictStr
    text: StrictStr | None = None
    image_url: ImageURL | None = None


class FunctionCall(BaseModel):
    model_config = _OPEN
    name: StrictStr
    arguments: StrictStr


class ToolCall(BaseModel):
    model_config = _OPEN
    id: StrictStr
    type: StrictStr = "function"
    function: FunctionCall


class ChatMessage(BaseModel):
    model_config = _OPEN
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: StrictStr | list[ContentPart] | None = None
    name: StrictStr | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: StrictStr | None = None


class FunctionDef(BaseModel):
    model_config = _OPEN
    name: Annotated[str, Field(min_length=1, max_length=128)]
    description: StrictStr | None = None
    parameters: dict[str, Any] | None = None
    strict: StrictBool | None = None


class Tool(BaseModel):
    model_config = _OPEN
    type: StrictStr = "function"
    function: FunctionDef


class StreamOptions(BaseModel):
    model_config = _OPEN
    include_usage: StrictBool = False


class ChatCompletionRequest(BaseModel):
    model_config = _OPEN
    model: Annotated[str, Field(min_length=1, max_length=256)]
    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    tools: list[Tool] | None = None
    tool_choice: StrictStr | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    max_tokens: TokenCount | None = None
    max_completion_tokens: TokenCount | None = None
    stop: StrictStr | list[StrictStr] | None = None
    seed: Int64 | None = None
    presence_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    logit_bias: dict[str, float] | None = None
    logprobs: StrictBool | None = None
    top_logprobs: Annotated[int, Field(ge=0, le=20)] | None = None
    user: StrictStr | None = None
    metadata: dict[str, StrictStr] | None = None
    n: Annotated[int, Field(ge=1, le=16)] | None = None
    parallel_tool_calls: StrictBool | None = None

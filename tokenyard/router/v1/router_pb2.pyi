from tokenyard.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ContentPart(_message.Message):
    __slots__ = ("type", "text", "image_url", "image_detail", "extra_json")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    IMAGE_DETAIL_FIELD_NUMBER: _ClassVar[int]
    EXTRA_JSON_FIELD_NUMBER: _ClassVar[int]
    type: str
    text: str
    image_url: str
    image_detail: str
    extra_json: str
    def __init__(self, type: _Optional[str] = ..., text: _Optional[str] = ..., image_url: _Optional[str] = ..., image_detail: _Optional[str] = ..., extra_json: _Optional[str] = ...) -> None: ...

class ToolCall(_message.Message):
    __slots__ = ("id", "type", "name", "arguments")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: str
    name: str
    arguments: str
    def __init__(self, id: _Optional[str] = ..., type: _Optional[str] = ..., name: _Optional[str] = ..., arguments: _Optional[str] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("role", "content", "parts", "content_null", "name", "tool_calls", "tool_call_id", "extra_json")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_NULL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALL_ID_FIELD_NUMBER: _ClassVar[int]
    EXTRA_JSON_FIELD_NUMBER: _ClassVar[int]
    role: str
    content: str
    parts: _containers.RepeatedCompositeFieldContainer[ContentPart]
    content_null: bool
    name: str
    tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCall]
    tool_call_id: str
    extra_json: str
    def __init__(self, role: _Optional[str] = ..., content: _Optional[str] = ..., parts: _Optional[_Iterable[_Union[ContentPart, _Mapping]]] = ..., content_null: _Optional[bool] = ..., name: _Optional[str] = ..., tool_calls: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ..., tool_call_id: _Optional[str] = ..., extra_json: _Optional[str] = ...) -> None: ...

class Tool(_message.Message):
    __slots__ = ("type", "name", "description", "parameters_json", "strict", "extra_json")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_JSON_FIELD_NUMBER: _ClassVar[int]
    STRICT_FIELD_NUMBER: _ClassVar[int]
    EXTRA_JSON_FIELD_NUMBER: _ClassVar[int]
    type: str
    name: str
    description: str
    parameters_json: str
    strict: bool
    extra_json: str
    def __init__(self, type: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., parameters_json: _Optional[str] = ..., strict: _Optional[bool] = ..., extra_json: _Optional[str] = ...) -> None: ...

class ChatRequest(_message.Message):
    __slots__ = ("request_id", "model", "messages", "tools", "tool_choice_json", "response_format_json", "temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "user", "metadata", "n", "parallel_tool_calls", "extra_json", "caller", "byok", "client_request_id", "fallback_follows", "agent_attempt", "attempt_of", "started_at_ms", "native", "legacy_completion")
    class LogitBiasEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CHOICE_JSON_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_JSON_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_PENALTY_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_PENALTY_FIELD_NUMBER: _ClassVar[int]
    LOGIT_BIAS_FIELD_NUMBER: _ClassVar[int]
    LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    TOP_LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    PARALLEL_TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    EXTRA_JSON_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    BYOK_FIELD_NUMBER: _ClassVar[int]
    CLIENT_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FOLLOWS_FIELD_NUMBER: _ClassVar[int]
    AGENT_ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_OF_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    NATIVE_FIELD_NUMBER: _ClassVar[int]
    LEGACY_COMPLETION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    model: str
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    tools: _containers.RepeatedCompositeFieldContainer[Tool]
    tool_choice_json: str
    response_format_json: str
    temperature: float
    top_p: float
    max_tokens: int
    max_completion_tokens: int
    stop: _containers.RepeatedScalarFieldContainer[str]
    seed: int
    presence_penalty: float
    frequency_penalty: float
    logit_bias: _containers.ScalarMap[str, float]
    logprobs: bool
    top_logprobs: int
    user: str
    metadata: _containers.ScalarMap[str, str]
    n: int
    parallel_tool_calls: bool
    extra_json: str
    caller: _common_pb2.Caller
    byok: _common_pb2.ProviderCredential
    client_request_id: str
    fallback_follows: bool
    agent_attempt: int
    attempt_of: str
    started_at_ms: int
    native: NativeRequestBody
    legacy_completion: bool
    def __init__(self, request_id: _Optional[str] = ..., model: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., tools: _Optional[_Iterable[_Union[Tool, _Mapping]]] = ..., tool_choice_json: _Optional[str] = ..., response_format_json: _Optional[str] = ..., temperature: _Optional[float] = ..., top_p: _Optional[float] = ..., max_tokens: _Optional[int] = ..., max_completion_tokens: _Optional[int] = ..., stop: _Optional[_Iterable[str]] = ..., seed: _Optional[int] = ..., presence_penalty: _Optional[float] = ..., frequency_penalty: _Optional[float] = ..., logit_bias: _Optional[_Mapping[str, float]] = ..., logprobs: _Optional[bool] = ..., top_logprobs: _Optional[int] = ..., user: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., n: _Optional[int] = ..., parallel_tool_calls: _Optional[bool] = ..., extra_json: _Optional[str] = ..., caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., byok: _Optional[_Union[_common_pb2.ProviderCredential, _Mapping]] = ..., client_request_id: _Optional[str] = ..., fallback_follows: _Optional[bool] = ..., agent_attempt: _Optional[int] = ..., attempt_of: _Optional[str] = ..., started_at_ms: _Optional[int] = ..., native: _Optional[_Union[NativeRequestBody, _Mapping]] = ..., legacy_completion: _Optional[bool] = ...) -> None: ...

class NativeRequestBody(_message.Message):
    __slots__ = ("dialect", "body_json", "headers")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DIALECT_FIELD_NUMBER: _ClassVar[int]
    BODY_JSON_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    dialect: str
    body_json: str
    headers: _containers.ScalarMap[str, str]
    def __init__(self, dialect: _Optional[str] = ..., body_json: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ToolCallDelta(_message.Message):
    __slots__ = ("index", "id", "type", "name", "arguments")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    index: int
    id: str
    type: str
    name: str
    arguments: str
    def __init__(self, index: _Optional[int] = ..., id: _Optional[str] = ..., type: _Optional[str] = ..., name: _Optional[str] = ..., arguments: _Optional[str] = ...) -> None: ...

class ChoiceDelta(_message.Message):
    __slots__ = ("index", "role", "content", "tool_calls", "finish_reason", "refusal", "logprobs_json", "reasoning", "reasoning_signature", "redacted_reasoning")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    LOGPROBS_JSON_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    REASONING_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    REDACTED_REASONING_FIELD_NUMBER: _ClassVar[int]
    index: int
    role: str
    content: str
    tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCallDelta]
    finish_reason: str
    refusal: str
    logprobs_json: str
    reasoning: str
    reasoning_signature: str
    redacted_reasoning: str
    def __init__(self, index: _Optional[int] = ..., role: _Optional[str] = ..., content: _Optional[str] = ..., tool_calls: _Optional[_Iterable[_Union[ToolCallDelta, _Mapping]]] = ..., finish_reason: _Optional[str] = ..., refusal: _Optional[str] = ..., logprobs_json: _Optional[str] = ..., reasoning: _Optional[str] = ..., reasoning_signature: _Optional[str] = ..., redacted_reasoning: _Optional[str] = ...) -> None: ...

class ChatFinal(_message.Message):
    __slots__ = ("usage", "deployment", "attempts", "error", "system_fingerprint", "cost_micros", "tried_deployments", "fallbacks", "hedges", "escalation", "cost_unknown")
    USAGE_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    COST_MICROS_FIELD_NUMBER: _ClassVar[int]
    TRIED_DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    FALLBACKS_FIELD_NUMBER: _ClassVar[int]
    HEDGES_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_FIELD_NUMBER: _ClassVar[int]
    COST_UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    usage: _common_pb2.Usage
    deployment: str
    attempts: int
    error: ChatError
    system_fingerprint: str
    cost_micros: int
    tried_deployments: _containers.RepeatedScalarFieldContainer[str]
    fallbacks: int
    hedges: int
    escalation: EscalationSummary
    cost_unknown: bool
    def __init__(self, usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ..., deployment: _Optional[str] = ..., attempts: _Optional[int] = ..., error: _Optional[_Union[ChatError, _Mapping]] = ..., system_fingerprint: _Optional[str] = ..., cost_micros: _Optional[int] = ..., tried_deployments: _Optional[_Iterable[str]] = ..., fallbacks: _Optional[int] = ..., hedges: _Optional[int] = ..., escalation: _Optional[_Union[EscalationSummary, _Mapping]] = ..., cost_unknown: _Optional[bool] = ...) -> None: ...

class ChatError(_message.Message):
    __slots__ = ("type", "code", "message")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    type: str
    code: str
    message: str
    def __init__(self, type: _Optional[str] = ..., code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ChatResponse(_message.Message):
    __slots__ = ("id", "model", "created", "deltas", "final")
    ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    DELTAS_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    id: str
    model: str
    created: int
    deltas: _containers.RepeatedCompositeFieldContainer[ChoiceDelta]
    final: ChatFinal
    def __init__(self, id: _Optional[str] = ..., model: _Optional[str] = ..., created: _Optional[int] = ..., deltas: _Optional[_Iterable[_Union[ChoiceDelta, _Mapping]]] = ..., final: _Optional[_Union[ChatFinal, _Mapping]] = ...) -> None: ...

class CountChatTokensRequest(_message.Message):
    __slots__ = ("chat",)
    CHAT_FIELD_NUMBER: _ClassVar[int]
    chat: ChatRequest
    def __init__(self, chat: _Optional[_Union[ChatRequest, _Mapping]] = ...) -> None: ...

class CountChatTokensResponse(_message.Message):
    __slots__ = ("input_tokens", "exact", "deployment")
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    EXACT_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    input_tokens: int
    exact: bool
    deployment: str
    def __init__(self, input_tokens: _Optional[int] = ..., exact: _Optional[bool] = ..., deployment: _Optional[str] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("id", "owned_by", "tokenizers", "max_hedges")
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNED_BY_FIELD_NUMBER: _ClassVar[int]
    TOKENIZERS_FIELD_NUMBER: _ClassVar[int]
    MAX_HEDGES_FIELD_NUMBER: _ClassVar[int]
    id: str
    owned_by: str
    tokenizers: _containers.RepeatedScalarFieldContainer[str]
    max_hedges: int
    def __init__(self, id: _Optional[str] = ..., owned_by: _Optional[str] = ..., tokenizers: _Optional[_Iterable[str]] = ..., max_hedges: _Optional[int] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models", "patterns")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    PATTERNS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    patterns: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ..., patterns: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ...) -> None: ...

class EmbedInput(_message.Message):
    __slots__ = ("text", "tokens")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    text: str
    tokens: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, text: _Optional[str] = ..., tokens: _Optional[_Iterable[int]] = ...) -> None: ...

class EmbedRequest(_message.Message):
    __slots__ = ("request_id", "model", "inputs", "encoding_format", "dimensions", "user", "caller", "byok", "extra_json", "client_request_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FORMAT_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    BYOK_FIELD_NUMBER: _ClassVar[int]
    EXTRA_JSON_FIELD_NUMBER: _ClassVar[int]
    CLIENT_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    model: str
    inputs: _containers.RepeatedCompositeFieldContainer[EmbedInput]
    encoding_format: str
    dimensions: int
    user: str
    caller: _common_pb2.Caller
    byok: _common_pb2.ProviderCredential
    extra_json: str
    client_request_id: str
    def __init__(self, request_id: _Optional[str] = ..., model: _Optional[str] = ..., inputs: _Optional[_Iterable[_Union[EmbedInput, _Mapping]]] = ..., encoding_format: _Optional[str] = ..., dimensions: _Optional[int] = ..., user: _Optional[str] = ..., caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., byok: _Optional[_Union[_common_pb2.ProviderCredential, _Mapping]] = ..., extra_json: _Optional[str] = ..., client_request_id: _Optional[str] = ...) -> None: ...

class Embedding(_message.Message):
    __slots__ = ("index", "values")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    index: int
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, index: _Optional[int] = ..., values: _Optional[_Iterable[float]] = ...) -> None: ...

class EmbedResponse(_message.Message):
    __slots__ = ("model", "data", "usage", "deployment", "attempts", "tried_deployments", "fallbacks", "cost_micros", "cost_unknown")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    TRIED_DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    FALLBACKS_FIELD_NUMBER: _ClassVar[int]
    COST_MICROS_FIELD_NUMBER: _ClassVar[int]
    COST_UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    model: str
    data: _containers.RepeatedCompositeFieldContainer[Embedding]
    usage: _common_pb2.Usage
    deployment: str
    attempts: int
    tried_deployments: _containers.RepeatedScalarFieldContainer[str]
    fallbacks: int
    cost_micros: int
    cost_unknown: bool
    def __init__(self, model: _Optional[str] = ..., data: _Optional[_Iterable[_Union[Embedding, _Mapping]]] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ..., deployment: _Optional[str] = ..., attempts: _Optional[int] = ..., tried_deployments: _Optional[_Iterable[str]] = ..., fallbacks: _Optional[int] = ..., cost_micros: _Optional[int] = ..., cost_unknown: _Optional[bool] = ...) -> None: ...

class GetHealthRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeploymentHealth(_message.Message):
    __slots__ = ("name", "provider", "vendor", "source", "status", "breaker_state", "consecutive_failures", "window_calls", "window_failures", "success_rate", "errors_by_kind", "avg_latency_ms", "avg_ttft_ms", "inflight", "open_until_ms", "models", "region", "tier")
    class ErrorsByKindEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BREAKER_STATE_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    WINDOW_CALLS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FAILURES_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    ERRORS_BY_KIND_FIELD_NUMBER: _ClassVar[int]
    AVG_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    AVG_TTFT_MS_FIELD_NUMBER: _ClassVar[int]
    INFLIGHT_FIELD_NUMBER: _ClassVar[int]
    OPEN_UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    name: str
    provider: str
    vendor: str
    source: str
    status: str
    breaker_state: str
    consecutive_failures: int
    window_calls: int
    window_failures: int
    success_rate: float
    errors_by_kind: _containers.ScalarMap[str, int]
    avg_latency_ms: float
    avg_ttft_ms: float
    inflight: int
    open_until_ms: int
    models: _containers.RepeatedScalarFieldContainer[str]
    region: str
    tier: str
    def __init__(self, name: _Optional[str] = ..., provider: _Optional[str] = ..., vendor: _Optional[str] = ..., source: _Optional[str] = ..., status: _Optional[str] = ..., breaker_state: _Optional[str] = ..., consecutive_failures: _Optional[int] = ..., window_calls: _Optional[int] = ..., window_failures: _Optional[int] = ..., success_rate: _Optional[float] = ..., errors_by_kind: _Optional[_Mapping[str, int]] = ..., avg_latency_ms: _Optional[float] = ..., avg_ttft_ms: _Optional[float] = ..., inflight: _Optional[int] = ..., open_until_ms: _Optional[int] = ..., models: _Optional[_Iterable[str]] = ..., region: _Optional[str] = ..., tier: _Optional[str] = ...) -> None: ...

class GetHealthResponse(_message.Message):
    __slots__ = ("degraded", "state_store", "deployments")
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    STATE_STORE_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    degraded: bool
    state_store: str
    deployments: _containers.RepeatedCompositeFieldContainer[DeploymentHealth]
    def __init__(self, degraded: _Optional[bool] = ..., state_store: _Optional[str] = ..., deployments: _Optional[_Iterable[_Union[DeploymentHealth, _Mapping]]] = ...) -> None: ...

class RegisterUpstreamRequest(_message.Message):
    __slots__ = ("node_id", "base_url", "provider", "models", "capacity", "weight", "ttl_seconds", "region", "tier")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    base_url: str
    provider: str
    models: _containers.RepeatedScalarFieldContainer[str]
    capacity: int
    weight: float
    ttl_seconds: int
    region: str
    tier: str
    def __init__(self, node_id: _Optional[str] = ..., base_url: _Optional[str] = ..., provider: _Optional[str] = ..., models: _Optional[_Iterable[str]] = ..., capacity: _Optional[int] = ..., weight: _Optional[float] = ..., ttl_seconds: _Optional[int] = ..., region: _Optional[str] = ..., tier: _Optional[str] = ...) -> None: ...

class RegisterUpstreamResponse(_message.Message):
    __slots__ = ("deployment", "ttl_seconds")
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    deployment: str
    ttl_seconds: int
    def __init__(self, deployment: _Optional[str] = ..., ttl_seconds: _Optional[int] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("node_id", "ttl_seconds")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    ttl_seconds: int
    def __init__(self, node_id: _Optional[str] = ..., ttl_seconds: _Optional[int] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("known",)
    KNOWN_FIELD_NUMBER: _ClassVar[int]
    known: bool
    def __init__(self, known: _Optional[bool] = ...) -> None: ...

class DeregisterUpstreamRequest(_message.Message):
    __slots__ = ("node_id",)
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    def __init__(self, node_id: _Optional[str] = ...) -> None: ...

class DeregisterUpstreamResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: bool
    def __init__(self, removed: _Optional[bool] = ...) -> None: ...

class Verdict(_message.Message):
    __slots__ = ("name", "passed", "penalty", "detail")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    PENALTY_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    name: str
    passed: bool
    penalty: float
    detail: str
    def __init__(self, name: _Optional[str] = ..., passed: _Optional[bool] = ..., penalty: _Optional[float] = ..., detail: _Optional[str] = ...) -> None: ...

class EscalationSummary(_message.Message):
    __slots__ = ("status", "confidence", "tier", "task_type", "tiers_tried", "review_id", "top_tier_cost_micros", "cost_saved_micros", "verdicts")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    TIERS_TRIED_FIELD_NUMBER: _ClassVar[int]
    REVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    TOP_TIER_COST_MICROS_FIELD_NUMBER: _ClassVar[int]
    COST_SAVED_MICROS_FIELD_NUMBER: _ClassVar[int]
    VERDICTS_FIELD_NUMBER: _ClassVar[int]
    status: str
    confidence: float
    tier: str
    task_type: str
    tiers_tried: _containers.RepeatedScalarFieldContainer[str]
    review_id: str
    top_tier_cost_micros: int
    cost_saved_micros: int
    verdicts: _containers.RepeatedCompositeFieldContainer[Verdict]
    def __init__(self, status: _Optional[str] = ..., confidence: _Optional[float] = ..., tier: _Optional[str] = ..., task_type: _Optional[str] = ..., tiers_tried: _Optional[_Iterable[str]] = ..., review_id: _Optional[str] = ..., top_tier_cost_micros: _Optional[int] = ..., cost_saved_micros: _Optional[int] = ..., verdicts: _Optional[_Iterable[_Union[Verdict, _Mapping]]] = ...) -> None: ...

class TierAttempt(_message.Message):
    __slots__ = ("tier", "model", "deployment", "confidence", "verdicts", "usage", "cost_micros", "latency_ms", "error")
    TIER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    VERDICTS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    COST_MICROS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    tier: str
    model: str
    deployment: str
    confidence: float
    verdicts: _containers.RepeatedCompositeFieldContainer[Verdict]
    usage: _common_pb2.Usage
    cost_micros: int
    latency_ms: int
    error: str
    def __init__(self, tier: _Optional[str] = ..., model: _Optional[str] = ..., deployment: _Optional[str] = ..., confidence: _Optional[float] = ..., verdicts: _Optional[_Iterable[_Union[Verdict, _Mapping]]] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ..., cost_micros: _Optional[int] = ..., latency_ms: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class CompleteRequest(_message.Message):
    __slots__ = ("request_id", "caller", "caller_name", "task_type", "input", "language", "system", "response_format_json", "tools", "max_tokens", "max_tier", "temperature")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    CALLER_NAME_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_JSON_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_TIER_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    caller: _common_pb2.Caller
    caller_name: str
    task_type: str
    input: str
    language: str
    system: str
    response_format_json: str
    tools: _containers.RepeatedCompositeFieldContainer[Tool]
    max_tokens: int
    max_tier: str
    temperature: float
    def __init__(self, request_id: _Optional[str] = ..., caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., caller_name: _Optional[str] = ..., task_type: _Optional[str] = ..., input: _Optional[str] = ..., language: _Optional[str] = ..., system: _Optional[str] = ..., response_format_json: _Optional[str] = ..., tools: _Optional[_Iterable[_Union[Tool, _Mapping]]] = ..., max_tokens: _Optional[int] = ..., max_tier: _Optional[str] = ..., temperature: _Optional[float] = ...) -> None: ...

class CompleteResponse(_message.Message):
    __slots__ = ("id", "status", "confidence", "model", "tier", "task_type", "latency_ms", "usage", "output", "tool_calls", "finish_reason", "verdicts", "attempts", "cost_micros", "top_tier_cost_micros", "cost_saved_micros", "review_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    VERDICTS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    COST_MICROS_FIELD_NUMBER: _ClassVar[int]
    TOP_TIER_COST_MICROS_FIELD_NUMBER: _ClassVar[int]
    COST_SAVED_MICROS_FIELD_NUMBER: _ClassVar[int]
    REVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: str
    confidence: float
    model: str
    tier: str
    task_type: str
    latency_ms: int
    usage: _common_pb2.Usage
    output: str
    tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCall]
    finish_reason: str
    verdicts: _containers.RepeatedCompositeFieldContainer[Verdict]
    attempts: _containers.RepeatedCompositeFieldContainer[TierAttempt]
    cost_micros: int
    top_tier_cost_micros: int
    cost_saved_micros: int
    review_id: str
    def __init__(self, id: _Optional[str] = ..., status: _Optional[str] = ..., confidence: _Optional[float] = ..., model: _Optional[str] = ..., tier: _Optional[str] = ..., task_type: _Optional[str] = ..., latency_ms: _Optional[int] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ..., output: _Optional[str] = ..., tool_calls: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ..., finish_reason: _Optional[str] = ..., verdicts: _Optional[_Iterable[_Union[Verdict, _Mapping]]] = ..., attempts: _Optional[_Iterable[_Union[TierAttempt, _Mapping]]] = ..., cost_micros: _Optional[int] = ..., top_tier_cost_micros: _Optional[int] = ..., cost_saved_micros: _Optional[int] = ..., review_id: _Optional[str] = ...) -> None: ...

class ClassifyRequest(_message.Message):
    __slots__ = ("request_id", "caller", "caller_name", "task_type", "input", "labels", "language", "max_tier")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    CALLER_NAME_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    MAX_TIER_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    caller: _common_pb2.Caller
    caller_name: str
    task_type: str
    input: str
    labels: _containers.RepeatedScalarFieldContainer[str]
    language: str
    max_tier: str
    def __init__(self, request_id: _Optional[str] = ..., caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., caller_name: _Optional[str] = ..., task_type: _Optional[str] = ..., input: _Optional[str] = ..., labels: _Optional[_Iterable[str]] = ..., language: _Optional[str] = ..., max_tier: _Optional[str] = ...) -> None: ...

class ClassifyResponse(_message.Message):
    __slots__ = ("result", "label")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    result: CompleteResponse
    label: str
    def __init__(self, result: _Optional[_Union[CompleteResponse, _Mapping]] = ..., label: _Optional[str] = ...) -> None: ...

class Review(_message.Message):
    __slots__ = ("id", "request_id", "task_type", "caller", "key_id", "tier", "model", "confidence", "state", "input", "output", "correction", "verdicts", "created_ms", "resolved_ms", "reviewer", "note")
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_FIELD_NUMBER: _ClassVar[int]
    VERDICTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_MS_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_MS_FIELD_NUMBER: _ClassVar[int]
    REVIEWER_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    id: str
    request_id: str
    task_type: str
    caller: str
    key_id: str
    tier: str
    model: str
    confidence: float
    state: str
    input: str
    output: str
    correction: str
    verdicts: _containers.RepeatedCompositeFieldContainer[Verdict]
    created_ms: int
    resolved_ms: int
    reviewer: str
    note: str
    def __init__(self, id: _Optional[str] = ..., request_id: _Optional[str] = ..., task_type: _Optional[str] = ..., caller: _Optional[str] = ..., key_id: _Optional[str] = ..., tier: _Optional[str] = ..., model: _Optional[str] = ..., confidence: _Optional[float] = ..., state: _Optional[str] = ..., input: _Optional[str] = ..., output: _Optional[str] = ..., correction: _Optional[str] = ..., verdicts: _Optional[_Iterable[_Union[Verdict, _Mapping]]] = ..., created_ms: _Optional[int] = ..., resolved_ms: _Optional[int] = ..., reviewer: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class ListReviewsRequest(_message.Message):
    __slots__ = ("state", "task_type", "limit")
    STATE_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    state: str
    task_type: str
    limit: int
    def __init__(self, state: _Optional[str] = ..., task_type: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListReviewsResponse(_message.Message):
    __slots__ = ("reviews", "pending")
    REVIEWS_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    reviews: _containers.RepeatedCompositeFieldContainer[Review]
    pending: int
    def __init__(self, reviews: _Optional[_Iterable[_Union[Review, _Mapping]]] = ..., pending: _Optional[int] = ...) -> None: ...

class ResolveReviewRequest(_message.Message):
    __slots__ = ("id", "action", "correction", "reviewer", "note")
    ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_FIELD_NUMBER: _ClassVar[int]
    REVIEWER_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    id: str
    action: str
    correction: str
    reviewer: str
    note: str
    def __init__(self, id: _Optional[str] = ..., action: _Optional[str] = ..., correction: _Optional[str] = ..., reviewer: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class ResolveReviewResponse(_message.Message):
    __slots__ = ("review",)
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    review: Review
    def __init__(self, review: _Optional[_Union[Review, _Mapping]] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("id", "at_ms", "kind", "request_id", "caller", "key_id", "task_type", "tier", "status", "confidence", "review_id", "detail_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    REVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    DETAIL_JSON_FIELD_NUMBER: _ClassVar[int]
    id: str
    at_ms: int
    kind: str
    request_id: str
    caller: str
    key_id: str
    task_type: str
    tier: str
    status: str
    confidence: float
    review_id: str
    detail_json: str
    def __init__(self, id: _Optional[str] = ..., at_ms: _Optional[int] = ..., kind: _Optional[str] = ..., request_id: _Optional[str] = ..., caller: _Optional[str] = ..., key_id: _Optional[str] = ..., task_type: _Optional[str] = ..., tier: _Optional[str] = ..., status: _Optional[str] = ..., confidence: _Optional[float] = ..., review_id: _Optional[str] = ..., detail_json: _Optional[str] = ...) -> None: ...

class QueryAuditRequest(_message.Message):
    __slots__ = ("since_ms", "until_ms", "caller", "limit")
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    since_ms: int
    until_ms: int
    caller: str
    limit: int
    def __init__(self, since_ms: _Optional[int] = ..., until_ms: _Optional[int] = ..., caller: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class QueryAuditResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ...) -> None: ...

class LearningChange(_message.Message):
    __slots__ = ("id", "cycle", "task_type", "field", "old_value", "new_value", "reason", "at_ms", "reverts", "reverted")
    ID_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    OLD_VALUE_FIELD_NUMBER: _ClassVar[int]
    NEW_VALUE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    REVERTS_FIELD_NUMBER: _ClassVar[int]
    REVERTED_FIELD_NUMBER: _ClassVar[int]
    id: str
    cycle: str
    task_type: str
    field: str
    old_value: float
    new_value: float
    reason: str
    at_ms: int
    reverts: str
    reverted: bool
    def __init__(self, id: _Optional[str] = ..., cycle: _Optional[str] = ..., task_type: _Optional[str] = ..., field: _Optional[str] = ..., old_value: _Optional[float] = ..., new_value: _Optional[float] = ..., reason: _Optional[str] = ..., at_ms: _Optional[int] = ..., reverts: _Optional[str] = ..., reverted: _Optional[bool] = ...) -> None: ...

class RunLearningCycleRequest(_message.Message):
    __slots__ = ("cycle",)
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    cycle: str
    def __init__(self, cycle: _Optional[str] = ...) -> None: ...

class RunLearningCycleResponse(_message.Message):
    __slots__ = ("changes", "cycles")
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    CYCLES_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[LearningChange]
    cycles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, changes: _Optional[_Iterable[_Union[LearningChange, _Mapping]]] = ..., cycles: _Optional[_Iterable[str]] = ...) -> None: ...

class ListLearningChangesRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class ListLearningChangesResponse(_message.Message):
    __slots__ = ("changes", "state_json", "next_run_ms")
    class NextRunMsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    STATE_JSON_FIELD_NUMBER: _ClassVar[int]
    NEXT_RUN_MS_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[LearningChange]
    state_json: str
    next_run_ms: _containers.ScalarMap[str, int]
    def __init__(self, changes: _Optional[_Iterable[_Union[LearningChange, _Mapping]]] = ..., state_json: _Optional[str] = ..., next_run_ms: _Optional[_Mapping[str, int]] = ...) -> None: ...

class RevertLearningChangeRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class RevertLearningChangeResponse(_message.Message):
    __slots__ = ("change",)
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    change: LearningChange
    def __init__(self, change: _Optional[_Union[LearningChange, _Mapping]] = ...) -> None: ...

class GetEscalationMetricsRequest(_message.Message):
    __slots__ = ("task_type",)
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    task_type: str
    def __init__(self, task_type: _Optional[str] = ...) -> None: ...

class TierMetrics(_message.Message):
    __slots__ = ("task_type", "tier", "answered", "escalated", "escalation_rate", "served")
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_FIELD_NUMBER: _ClassVar[int]
    ESCALATED_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_RATE_FIELD_NUMBER: _ClassVar[int]
    SERVED_FIELD_NUMBER: _ClassVar[int]
    task_type: str
    tier: str
    answered: int
    escalated: int
    escalation_rate: float
    served: int
    def __init__(self, task_type: _Optional[str] = ..., tier: _Optional[str] = ..., answered: _Optional[int] = ..., escalated: _Optional[int] = ..., escalation_rate: _Optional[float] = ..., served: _Optional[int] = ...) -> None: ...

class GetEscalationMetricsResponse(_message.Message):
    __slots__ = ("tiers", "confidence_histogram_json", "review_queue_depth", "requests", "cost_micros", "top_tier_cost_micros", "cost_saved_micros")
    class ConfidenceHistogramJsonEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TIERS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_HISTOGRAM_JSON_FIELD_NUMBER: _ClassVar[int]
    REVIEW_QUEUE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    COST_MICROS_FIELD_NUMBER: _ClassVar[int]
    TOP_TIER_COST_MICROS_FIELD_NUMBER: _ClassVar[int]
    COST_SAVED_MICROS_FIELD_NUMBER: _ClassVar[int]
    tiers: _containers.RepeatedCompositeFieldContainer[TierMetrics]
    confidence_histogram_json: _containers.ScalarMap[str, str]
    review_queue_depth: int
    requests: int
    cost_micros: int
    top_tier_cost_micros: int
    cost_saved_micros: int
    def __init__(self, tiers: _Optional[_Iterable[_Union[TierMetrics, _Mapping]]] = ..., confidence_histogram_json: _Optional[_Mapping[str, str]] = ..., review_queue_depth: _Optional[int] = ..., requests: _Optional[int] = ..., cost_micros: _Optional[int] = ..., top_tier_cost_micros: _Optional[int] = ..., cost_saved_micros: _Optional[int] = ...) -> None: ...

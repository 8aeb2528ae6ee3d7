from google.protobuf import struct_pb2 as _struct_pb2
from tokenyard.common.v1 import common_pb2 as _common_pb2
from tokenyard.router.v1 import router_pb2 as _router_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AgentKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGENT_KIND_UNSPECIFIED: _ClassVar[AgentKind]
    AGENT_KIND_PROCESS: _ClassVar[AgentKind]
    AGENT_KIND_REMOTE: _ClassVar[AgentKind]

class RestartMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESTART_MODE_UNSPECIFIED: _ClassVar[RestartMode]
    RESTART_MODE_NEVER: _ClassVar[RestartMode]
    RESTART_MODE_ON_FAILURE: _ClassVar[RestartMode]
    RESTART_MODE_ALWAYS: _ClassVar[RestartMode]
AGENT_KIND_UNSPECIFIED: AgentKind
AGENT_KIND_PROCESS: AgentKind
AGENT_KIND_REMOTE: AgentKind
RESTART_MODE_UNSPECIFIED: RestartMode
RESTART_MODE_NEVER: RestartMode
RESTART_MODE_ON_FAILURE: RestartMode
RESTART_MODE_ALWAYS: RestartMode

class RestartPolicy(_message.Message):
    __slots__ = ("mode", "max_restarts", "backoff_initial_seconds", "backoff_multiplier", "backoff_max_seconds")
    MODE_FIELD_NUMBER: _ClassVar[int]
    MAX_RESTARTS_FIELD_NUMBER: _ClassVar[int]
    BACKOFF_INITIAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    BACKOFF_MULTIPLIER_FIELD_NUMBER: _ClassVar[int]
    BACKOFF_MAX_SECONDS_FIELD_NUMBER: _ClassVar[int]
    mode: RestartMode
    max_restarts: int
    backoff_initial_seconds: float
    backoff_multiplier: float
    backoff_max_seconds: float
    def __init__(self, mode: _Optional[_Union[RestartMode, str]] = ..., max_restarts: _Optional[int] = ..., backoff_initial_seconds: _Optional[float] = ..., backoff_multiplier: _Optional[float] = ..., backoff_max_seconds: _Optional[float] = ...) -> None: ...

class ProcessSpec(_message.Message):
    __slots__ = ("command", "args", "env", "working_dir", "restart", "stop_grace_seconds")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    WORKING_DIR_FIELD_NUMBER: _ClassVar[int]
    RESTART_FIELD_NUMBER: _ClassVar[int]
    STOP_GRACE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    command: str
    args: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.ScalarMap[str, str]
    working_dir: str
    restart: RestartPolicy
    stop_grace_seconds: float
    def __init__(self, command: _Optional[str] = ..., args: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., working_dir: _Optional[str] = ..., restart: _Optional[_Union[RestartPolicy, _Mapping]] = ..., stop_grace_seconds: _Optional[float] = ...) -> None: ...

class RemoteSpec(_message.Message):
    __slots__ = ("host", "port", "protocol", "path", "auth_token", "has_auth_token", "timeout_seconds", "max_retries", "model")
    HOST_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    AUTH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    HAS_AUTH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_RETRIES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    host: str
    port: int
    protocol: str
    path: str
    auth_token: str
    has_auth_token: bool
    timeout_seconds: float
    max_retries: int
    model: str
    def __init__(self, host: _Optional[str] = ..., port: _Optional[int] = ..., protocol: _Optional[str] = ..., path: _Optional[str] = ..., auth_token: _Optional[str] = ..., has_auth_token: _Optional[bool] = ..., timeout_seconds: _Optional[float] = ..., max_retries: _Optional[int] = ..., model: _Optional[str] = ...) -> None: ...

class LlmConfig(_message.Message):
    __slots__ = ("provider", "model", "base_url", "api_key", "has_key", "encryption_key_id")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    HAS_KEY_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTION_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    provider: str
    model: str
    base_url: str
    api_key: str
    has_key: bool
    encryption_key_id: str
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., base_url: _Optional[str] = ..., api_key: _Optional[str] = ..., has_key: _Optional[bool] = ..., encryption_key_id: _Optional[str] = ...) -> None: ...

class Agent(_message.Message):
    __slots__ = ("id", "name", "description", "system_prompt", "model", "tier", "tools", "fallback_agents", "kind", "process", "remote", "llm", "workspace", "created_at_ms", "updated_at_ms")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_PROMPT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_AGENTS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PROCESS_FIELD_NUMBER: _ClassVar[int]
    REMOTE_FIELD_NUMBER: _ClassVar[int]
    LLM_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    system_prompt: str
    model: str
    tier: str
    tools: _struct_pb2.ListValue
    fallback_agents: _containers.RepeatedScalarFieldContainer[str]
    kind: AgentKind
    process: ProcessSpec
    remote: RemoteSpec
    llm: LlmConfig
    workspace: str
    created_at_ms: int
    updated_at_ms: int
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., system_prompt: _Optional[str] = ..., model: _Optional[str] = ..., tier: _Optional[str] = ..., tools: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., fallback_agents: _Optional[_Iterable[str]] = ..., kind: _Optional[_Union[AgentKind, str]] = ..., process: _Optional[_Union[ProcessSpec, _Mapping]] = ..., remote: _Optional[_Union[RemoteSpec, _Mapping]] = ..., llm: _Optional[_Union[LlmConfig, _Mapping]] = ..., workspace: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., updated_at_ms: _Optional[int] = ...) -> None: ...

class CreateAgentRequest(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: Agent
    def __init__(self, agent: _Optional[_Union[Agent, _Mapping]] = ...) -> None: ...

class CreateAgentResponse(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: Agent
    def __init__(self, agent: _Optional[_Union[Agent, _Mapping]] = ...) -> None: ...

class GetAgentRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetAgentResponse(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: Agent
    def __init__(self, agent: _Optional[_Union[Agent, _Mapping]] = ...) -> None: ...

class ListAgentsRequest(_message.Message):
    __slots__ = ("workspace",)
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    workspace: str
    def __init__(self, workspace: _Optional[str] = ...) -> None: ...

class ListAgentsResponse(_message.Message):
    __slots__ = ("agents",)
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    agents: _containers.RepeatedCompositeFieldContainer[Agent]
    def __init__(self, agents: _Optional[_Iterable[_Union[Agent, _Mapping]]] = ...) -> None: ...

class UpdateAgentRequest(_message.Message):
    __slots__ = ("agent", "update_mask")
    AGENT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    agent: Agent
    update_mask: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, agent: _Optional[_Union[Agent, _Mapping]] = ..., update_mask: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateAgentResponse(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: Agent
    def __init__(self, agent: _Optional[_Union[Agent, _Mapping]] = ...) -> None: ...

class DeleteAgentRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteAgentResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: bool
    def __init__(self, deleted: _Optional[bool] = ...) -> None: ...

class SetLlmConfigRequest(_message.Message):
    __slots__ = ("agent_id", "llm", "keep_key")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    LLM_FIELD_NUMBER: _ClassVar[int]
    KEEP_KEY_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    llm: LlmConfig
    keep_key: bool
    def __init__(self, agent_id: _Optional[str] = ..., llm: _Optional[_Union[LlmConfig, _Mapping]] = ..., keep_key: _Optional[bool] = ...) -> None: ...

class SetLlmConfigResponse(_message.Message):
    __slots__ = ("llm",)
    LLM_FIELD_NUMBER: _ClassVar[int]
    llm: LlmConfig
    def __init__(self, llm: _Optional[_Union[LlmConfig, _Mapping]] = ...) -> None: ...

class GetLlmConfigRequest(_message.Message):
    __slots__ = ("agent_id",)
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    def __init__(self, agent_id: _Optional[str] = ...) -> None: ...

class GetLlmConfigResponse(_message.Message):
    __slots__ = ("llm",)
    LLM_FIELD_NUMBER: _ClassVar[int]
    llm: LlmConfig
    def __init__(self, llm: _Optional[_Union[LlmConfig, _Mapping]] = ...) -> None: ...

class TestLlmConfigRequest(_message.Message):
    __slots__ = ("agent_id", "request_id")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    request_id: str
    def __init__(self, agent_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class TestLlmConfigResponse(_message.Message):
    __slots__ = ("ok", "model", "latency_ms", "error", "deployment")
    OK_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    model: str
    latency_ms: int
    error: str
    deployment: str
    def __init__(self, ok: _Optional[bool] = ..., model: _Optional[str] = ..., latency_ms: _Optional[int] = ..., error: _Optional[str] = ..., deployment: _Optional[str] = ...) -> None: ...

class AgentHealth(_message.Message):
    __slots__ = ("agent_id", "status", "pid", "uptime_seconds", "restarts", "last_exit_code", "started_at_ms", "restart_delays", "adopted")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RESTARTS_FIELD_NUMBER: _ClassVar[int]
    LAST_EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    RESTART_DELAYS_FIELD_NUMBER: _ClassVar[int]
    ADOPTED_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    status: str
    pid: int
    uptime_seconds: float
    restarts: int
    last_exit_code: int
    started_at_ms: int
    restart_delays: _containers.RepeatedScalarFieldContainer[float]
    adopted: bool
    def __init__(self, agent_id: _Optional[str] = ..., status: _Optional[str] = ..., pid: _Optional[int] = ..., uptime_seconds: _Optional[float] = ..., restarts: _Optional[int] = ..., last_exit_code: _Optional[int] = ..., started_at_ms: _Optional[int] = ..., restart_delays: _Optional[_Iterable[float]] = ..., adopted: _Optional[bool] = ...) -> None: ...

class StartAgentRequest(_message.Message):
    __slots__ = ("agent_id",)
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    def __init__(self, agent_id: _Optional[str] = ...) -> None: ...

class StartAgentResponse(_message.Message):
    __slots__ = ("health",)
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    health: AgentHealth
    def __init__(self, health: _Optional[_Union[AgentHealth, _Mapping]] = ...) -> None: ...

class StopAgentRequest(_message.Message):
    __slots__ = ("agent_id",)
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    def __init__(self, agent_id: _Optional[str] = ...) -> None: ...

class StopAgentResponse(_message.Message):
    __slots__ = ("health",)
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    health: AgentHealth
    def __init__(self, health: _Optional[_Union[AgentHealth, _Mapping]] = ...) -> None: ...

class GetAgentHealthRequest(_message.Message):
    __slots__ = ("agent_id",)
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    def __init__(self, agent_id: _Optional[str] = ...) -> None: ...

class GetAgentHealthResponse(_message.Message):
    __slots__ = ("health",)
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    health: AgentHealth
    def __init__(self, health: _Optional[_Union[AgentHealth, _Mapping]] = ...) -> None: ...

class ListRunningAgentsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListRunningAgentsResponse(_message.Message):
    __slots__ = ("agents",)
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    agents: _containers.RepeatedCompositeFieldContainer[AgentHealth]
    def __init__(self, agents: _Optional[_Iterable[_Union[AgentHealth, _Mapping]]] = ...) -> None: ...

class StreamAgentLogsRequest(_message.Message):
    __slots__ = ("agent_id", "tail_lines", "follow")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TAIL_LINES_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    tail_lines: int
    follow: bool
    def __init__(self, agent_id: _Optional[str] = ..., tail_lines: _Optional[int] = ..., follow: _Optional[bool] = ...) -> None: ...

class StreamAgentLogsResponse(_message.Message):
    __slots__ = ("lines",)
    LINES_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, lines: _Optional[_Iterable[str]] = ...) -> None: ...

class SessionMessage(_message.Message):
    __slots__ = ("role", "content", "agent_id", "timestamp_ms", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    role: str
    content: str
    agent_id: str
    timestamp_ms: int
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, role: _Optional[str] = ..., content: _Optional[str] = ..., agent_id: _Optional[str] = ..., timestamp_ms: _Optional[int] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ("id", "agent_id", "user", "metadata", "created_at_ms", "updated_at_ms", "messages", "message_count", "workspace")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    id: str
    agent_id: str
    user: str
    metadata: _containers.ScalarMap[str, str]
    created_at_ms: int
    updated_at_ms: int
    messages: _containers.RepeatedCompositeFieldContainer[SessionMessage]
    message_count: int
    workspace: str
    def __init__(self, id: _Optional[str] = ..., agent_id: _Optional[str] = ..., user: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., created_at_ms: _Optional[int] = ..., updated_at_ms: _Optional[int] = ..., messages: _Optional[_Iterable[_Union[SessionMessage, _Mapping]]] = ..., message_count: _Optional[int] = ..., workspace: _Optional[str] = ...) -> None: ...

class CreateSessionRequest(_message.Message):
    __slots__ = ("agent_id", "user", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    user: str
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, agent_id: _Optional[str] = ..., user: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CreateSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class GetSessionRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class ListSessionsRequest(_message.Message):
    __slots__ = ("agent_id", "limit", "offset")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    limit: int
    offset: int
    def __init__(self, agent_id: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class ListSessionsResponse(_message.Message):
    __slots__ = ("sessions",)
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[Session]
    def __init__(self, sessions: _Optional[_Iterable[_Union[Session, _Mapping]]] = ...) -> None: ...

class DeleteSessionRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteSessionResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: bool
    def __init__(self, deleted: _Optional[bool] = ...) -> None: ...

class ExportSessionRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ExportSessionResponse(_message.Message):
    __slots__ = ("json",)
    JSON_FIELD_NUMBER: _ClassVar[int]
    json: str
    def __init__(self, json: _Optional[str] = ...) -> None: ...

class ImportSessionRequest(_message.Message):
    __slots__ = ("json", "overwrite")
    JSON_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    json: str
    overwrite: bool
    def __init__(self, json: _Optional[str] = ..., overwrite: _Optional[bool] = ...) -> None: ...

class ImportSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class CleanupSessionsRequest(_message.Message):
    __slots__ = ("older_than_seconds",)
    OLDER_THAN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    older_than_seconds: int
    def __init__(self, older_than_seconds: _Optional[int] = ...) -> None: ...

class CleanupSessionsResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: int
    def __init__(self, deleted: _Optional[int] = ...) -> None: ...

class AgentChatRequest(_message.Message):
    __slots__ = ("agent_id", "session_id", "new_session", "messages", "request_id", "caller", "temperature", "max_tokens", "user", "client_request_id")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NEW_SESSION_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    CLIENT_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    session_id: str
    new_session: bool
    messages: _containers.RepeatedCompositeFieldContainer[_router_pb2.Message]
    request_id: str
    caller: _common_pb2.Caller
    temperature: float
    max_tokens: int
    user: str
    client_request_id: str
    def __init__(self, agent_id: _Optional[str] = ..., session_id: _Optional[str] = ..., new_session: _Optional[bool] = ..., messages: _Optional[_Iterable[_Union[_router_pb2.Message, _Mapping]]] = ..., request_id: _Optional[str] = ..., caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., temperature: _Optional[float] = ..., max_tokens: _Optional[int] = ..., user: _Optional[str] = ..., client_request_id: _Optional[str] = ...) -> None: ...

class RemoteHealth(_message.Message):
    __slots__ = ("agent_id", "status", "success_rate", "consecutive_failures", "calls", "last_failure_at_ms")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    LAST_FAILURE_AT_MS_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    status: str
    success_rate: float
    consecutive_failures: int
    calls: int
    last_failure_at_ms: int
    def __init__(self, agent_id: _Optional[str] = ..., status: _Optional[str] = ..., success_rate: _Optional[float] = ..., consecutive_failures: _Optional[int] = ..., calls: _Optional[int] = ..., last_failure_at_ms: _Optional[int] = ...) -> None: ...

class GetRemoteHealthRequest(_message.Message):
    __slots__ = ("agent_id",)
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    def __init__(self, agent_id: _Optional[str] = ...) -> None: ...

class GetRemoteHealthResponse(_message.Message):
    __slots__ = ("health",)
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    health: RemoteHealth
    def __init__(self, health: _Optional[_Union[RemoteHealth, _Mapping]] = ...) -> None: ...

class FileInfo(_message.Message):
    __slots__ = ("agent_id", "name", "size", "content_type", "sha256", "created_at_ms")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    name: str
    size: int
    content_type: str
    sha256: str
    created_at_ms: int
    def __init__(self, agent_id: _Optional[str] = ..., name: _Optional[str] = ..., size: _Optional[int] = ..., content_type: _Optional[str] = ..., sha256: _Optional[str] = ..., created_at_ms: _Optional[int] = ...) -> None: ...

class UploadFileRequest(_message.Message):
    __slots__ = ("meta", "chunk")
    META_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    meta: FileInfo
    chunk: bytes
    def __init__(self, meta: _Optional[_Union[FileInfo, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class UploadFileResponse(_message.Message):
    __slots__ = ("file",)
    FILE_FIELD_NUMBER: _ClassVar[int]
    file: FileInfo
    def __init__(self, file: _Optional[_Union[FileInfo, _Mapping]] = ...) -> None: ...

class ListFilesRequest(_message.Message):
    __slots__ = ("agent_id", "page_size", "page_token")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    page_size: int
    page_token: str
    def __init__(self, agent_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListFilesResponse(_message.Message):
    __slots__ = ("files", "next_page_token")
    FILES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[FileInfo]
    next_page_token: str
    def __init__(self, files: _Optional[_Iterable[_Union[FileInfo, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DownloadFileRequest(_message.Message):
    __slots__ = ("agent_id", "name")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    name: str
    def __init__(self, agent_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class DownloadFileResponse(_message.Message):
    __slots__ = ("meta", "chunk")
    META_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    meta: FileInfo
    chunk: bytes
    def __init__(self, meta: _Optional[_Union[FileInfo, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class DeleteFileRequest(_message.Message):
    __slots__ = ("agent_id", "name")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    name: str
    def __init__(self, agent_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class DeleteFileResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: bool
    def __init__(self, deleted: _Optional[bool] = ...) -> None: ...

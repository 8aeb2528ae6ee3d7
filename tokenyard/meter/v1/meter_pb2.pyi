from tokenyard.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Period(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PERIOD_UNSPECIFIED: _ClassVar[Period]
    PERIOD_DAY: _ClassVar[Period]
    PERIOD_WEEK: _ClassVar[Period]
    PERIOD_MONTH: _ClassVar[Period]

class SubjectKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUBJECT_KIND_UNSPECIFIED: _ClassVar[SubjectKind]
    SUBJECT_KIND_KEY: _ClassVar[SubjectKind]
    SUBJECT_KIND_AGENT: _ClassVar[SubjectKind]
    SUBJECT_KIND_WORKSPACE: _ClassVar[SubjectKind]

class OveragePolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OVERAGE_POLICY_UNSPECIFIED: _ClassVar[OveragePolicy]
    OVERAGE_POLICY_LOG: _ClassVar[OveragePolicy]
    OVERAGE_POLICY_DEGRADE: _ClassVar[OveragePolicy]
    OVERAGE_POLICY_BLOCK: _ClassVar[OveragePolicy]

class AgentHealthStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGENT_HEALTH_STATUS_UNSPECIFIED: _ClassVar[AgentHealthStatus]
    AGENT_HEALTH_STATUS_HEALTHY: _ClassVar[AgentHealthStatus]
    AGENT_HEALTH_STATUS_DEGRADED: _ClassVar[AgentHealthStatus]
    AGENT_HEALTH_STATUS_UNHEALTHY: _ClassVar[AgentHealthStatus]
PERIOD_UNSPECIFIED: Period
PERIOD_DAY: Period
PERIOD_WEEK: Period
PERIOD_MONTH: Period
SUBJECT_KIND_UNSPECIFIED: SubjectKind
SUBJECT_KIND_KEY: SubjectKind
SUBJECT_KIND_AGENT: SubjectKind
SUBJECT_KIND_WORKSPACE: SubjectKind
OVERAGE_POLICY_UNSPECIFIED: OveragePolicy
OVERAGE_POLICY_LOG: OveragePolicy
OVERAGE_POLICY_DEGRADE: OveragePolicy
OVERAGE_POLICY_BLOCK: OveragePolicy
AGENT_HEALTH_STATUS_UNSPECIFIED: AgentHealthStatus
AGENT_HEALTH_STATUS_HEALTHY: AgentHealthStatus
AGENT_HEALTH_STATUS_DEGRADED: AgentHealthStatus
AGENT_HEALTH_STATUS_UNHEALTHY: AgentHealthStatus

class UsageRecord(_message.Message):
    __slots__ = ("request_id", "caller", "model", "deployment", "usage", "latency_ms", "ttft_ms", "status", "started_at_ms", "client_request_id", "attempt_of", "attempts", "hedges", "cost_micros", "cost_known", "attempt_log", "model_requested", "trace_id", "http_status")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    TTFT_MS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_OF_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    HEDGES_FIELD_NUMBER: _ClassVar[int]
    COST_MICROS_FIELD_NUMBER: _ClassVar[int]
    COST_KNOWN_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_LOG_FIELD_NUMBER: _ClassVar[int]
    MODEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    HTTP_STATUS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    caller: _common_pb2.Caller
    model: str
    deployment: str
    usage: _common_pb2.Usage
    latency_ms: int
    ttft_ms: int
    status: str
    started_at_ms: int
    client_request_id: str
    attempt_of: str
    attempts: int
    hedges: int
    cost_micros: int
    cost_known: bool
    attempt_log: _containers.RepeatedCompositeFieldContainer[RequestAttempt]
    model_requested: str
    trace_id: str
    http_status: int
    def __init__(self, request_id: _Optional[str] = ..., caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., model: _Optional[str] = ..., deployment: _Optional[str] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ..., latency_ms: _Optional[int] = ..., ttft_ms: _Optional[int] = ..., status: _Optional[str] = ..., started_at_ms: _Optional[int] = ..., client_request_id: _Optional[str] = ..., attempt_of: _Optional[str] = ..., attempts: _Optional[int] = ..., hedges: _Optional[int] = ..., cost_micros: _Optional[int] = ..., cost_known: _Optional[bool] = ..., attempt_log: _Optional[_Iterable[_Union[RequestAttempt, _Mapping]]] = ..., model_requested: _Optional[str] = ..., trace_id: _Optional[str] = ..., http_status: _Optional[int] = ...) -> None: ...

class RequestAttempt(_message.Message):
    __slots__ = ("deployment", "model", "kind", "outcome", "cause", "latency_ms")
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    deployment: str
    model: str
    kind: str
    outcome: str
    cause: str
    latency_ms: int
    def __init__(self, deployment: _Optional[str] = ..., model: _Optional[str] = ..., kind: _Optional[str] = ..., outcome: _Optional[str] = ..., cause: _Optional[str] = ..., latency_ms: _Optional[int] = ...) -> None: ...

class RecordUsageRequest(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[UsageRecord]
    def __init__(self, records: _Optional[_Iterable[_Union[UsageRecord, _Mapping]]] = ...) -> None: ...

class RecordUsageResponse(_message.Message):
    __slots__ = ("recorded", "duplicates")
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    recorded: int
    duplicates: int
    def __init__(self, recorded: _Optional[int] = ..., duplicates: _Optional[int] = ...) -> None: ...

class UsageTotals(_message.Message):
    __slots__ = ("requests", "prompt_tokens", "completion_tokens", "total_tokens", "errors", "cached_tokens", "cost_micros", "attempts", "hedges", "unknown_cost_requests", "estimated_tokens")
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    CACHED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_MICROS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    HEDGES_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_COST_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    errors: int
    cached_tokens: int
    cost_micros: int
    attempts: int
    hedges: int
    unknown_cost_requests: int
    estimated_tokens: int
    def __init__(self, requests: _Optional[int] = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., total_tokens: _Optional[int] = ..., errors: _Optional[int] = ..., cached_tokens: _Optional[int] = ..., cost_micros: _Optional[int] = ..., attempts: _Optional[int] = ..., hedges: _Optional[int] = ..., unknown_cost_requests: _Optional[int] = ..., estimated_tokens: _Optional[int] = ...) -> None: ...

class ModelUsage(_message.Message):
    __slots__ = ("model", "totals")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    model: str
    totals: UsageTotals
    def __init__(self, model: _Optional[str] = ..., totals: _Optional[_Union[UsageTotals, _Mapping]] = ...) -> None: ...

class DateUsage(_message.Message):
    __slots__ = ("date", "totals", "by_model")
    DATE_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    BY_MODEL_FIELD_NUMBER: _ClassVar[int]
    date: str
    totals: UsageTotals
    by_model: _containers.RepeatedCompositeFieldContainer[ModelUsage]
    def __init__(self, date: _Optional[str] = ..., totals: _Optional[_Union[UsageTotals, _Mapping]] = ..., by_model: _Optional[_Iterable[_Union[ModelUsage, _Mapping]]] = ...) -> None: ...

class SubjectUsage(_message.Message):
    __slots__ = ("id", "totals")
    ID_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    id: str
    totals: UsageTotals
    def __init__(self, id: _Optional[str] = ..., totals: _Optional[_Union[UsageTotals, _Mapping]] = ...) -> None: ...

class GetUsageRequest(_message.Message):
    __slots__ = ("period", "key_id", "at_ms", "workspace", "agent_id", "user", "session_id")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    period: Period
    key_id: str
    at_ms: int
    workspace: str
    agent_id: str
    user: str
    session_id: str
    def __init__(self, period: _Optional[_Union[Period, str]] = ..., key_id: _Optional[str] = ..., at_ms: _Optional[int] = ..., workspace: _Optional[str] = ..., agent_id: _Optional[str] = ..., user: _Optional[str] = ..., session_id: _Optional[str] = ...) -> None: ...

class GetUsageResponse(_message.Message):
    __slots__ = ("period", "start_date", "end_date", "totals", "by_model", "by_date")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    BY_MODEL_FIELD_NUMBER: _ClassVar[int]
    BY_DATE_FIELD_NUMBER: _ClassVar[int]
    period: Period
    start_date: str
    end_date: str
    totals: UsageTotals
    by_model: _containers.RepeatedCompositeFieldContainer[ModelUsage]
    by_date: _containers.RepeatedCompositeFieldContainer[DateUsage]
    def __init__(self, period: _Optional[_Union[Period, str]] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., totals: _Optional[_Union[UsageTotals, _Mapping]] = ..., by_model: _Optional[_Iterable[_Union[ModelUsage, _Mapping]]] = ..., by_date: _Optional[_Iterable[_Union[DateUsage, _Mapping]]] = ...) -> None: ...

class GetUsageSummaryRequest(_message.Message):
    __slots__ = ("period", "at_ms", "workspace", "breakdown_limit", "breakdown_offset")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    BREAKDOWN_LIMIT_FIELD_NUMBER: _ClassVar[int]
    BREAKDOWN_OFFSET_FIELD_NUMBER: _ClassVar[int]
    period: Period
    at_ms: int
    workspace: str
    breakdown_limit: int
    breakdown_offset: int
    def __init__(self, period: _Optional[_Union[Period, str]] = ..., at_ms: _Optional[int] = ..., workspace: _Optional[str] = ..., breakdown_limit: _Optional[int] = ..., breakdown_offset: _Optional[int] = ...) -> None: ...

class GetUsageSummaryResponse(_message.Message):
    __slots__ = ("period", "start_date", "end_date", "totals", "by_model", "by_date", "by_workspace", "by_key", "by_agent", "by_user", "by_session", "by_deployment", "breakdown_sizes")
    class BreakdownSizesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    BY_MODEL_FIELD_NUMBER: _ClassVar[int]
    BY_DATE_FIELD_NUMBER: _ClassVar[int]
    BY_WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    BY_KEY_FIELD_NUMBER: _ClassVar[int]
    BY_AGENT_FIELD_NUMBER: _ClassVar[int]
    BY_USER_FIELD_NUMBER: _ClassVar[int]
    BY_SESSION_FIELD_NUMBER: _ClassVar[int]
    BY_DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    BREAKDOWN_SIZES_FIELD_NUMBER: _ClassVar[int]
    period: Period
    start_date: str
    end_date: str
    totals: UsageTotals
    by_model: _containers.RepeatedCompositeFieldContainer[ModelUsage]
    by_date: _containers.RepeatedCompositeFieldContainer[DateUsage]
    by_workspace: _containers.RepeatedCompositeFieldContainer[SubjectUsage]
    by_key: _containers.RepeatedCompositeFieldContainer[SubjectUsage]
    by_agent: _containers.RepeatedCompositeFieldContainer[SubjectUsage]
    by_user: _containers.RepeatedCompositeFieldContainer[SubjectUsage]
    by_session: _containers.RepeatedCompositeFieldContainer[SubjectUsage]
    by_deployment: _containers.RepeatedCompositeFieldContainer[SubjectUsage]
    breakdown_sizes: _containers.ScalarMap[str, int]
    def __init__(self, period: _Optional[_Union[Period, str]] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., totals: _Optional[_Union[UsageTotals, _Mapping]] = ..., by_model: _Optional[_Iterable[_Union[ModelUsage, _Mapping]]] = ..., by_date: _Optional[_Iterable[_Union[DateUsage, _Mapping]]] = ..., by_workspace: _Optional[_Iterable[_Union[SubjectUsage, _Mapping]]] = ..., by_key: _Optional[_Iterable[_Union[SubjectUsage, _Mapping]]] = ..., by_agent: _Optional[_Iterable[_Union[SubjectUsage, _Mapping]]] = ..., by_user: _Optional[_Iterable[_Union[SubjectUsage, _Mapping]]] = ..., by_session: _Optional[_Iterable[_Union[SubjectUsage, _Mapping]]] = ..., by_deployment: _Optional[_Iterable[_Union[SubjectUsage, _Mapping]]] = ..., breakdown_sizes: _Optional[_Mapping[str, int]] = ...) -> None: ...

class AdmitRequest(_message.Message):
    __slots__ = ("caller", "request_id", "model", "prompt_tokens", "max_tokens", "at_ms", "budgets", "fallback_agent_ids", "candidate_models")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    BUDGETS_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_AGENT_IDS_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_MODELS_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    request_id: str
    model: str
    prompt_tokens: int
    max_tokens: int
    at_ms: int
    budgets: _containers.RepeatedCompositeFieldContainer[Budget]
    fallback_agent_ids: _containers.RepeatedScalarFieldContainer[str]
    candidate_models: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., request_id: _Optional[str] = ..., model: _Optional[str] = ..., prompt_tokens: _Optional[int] = ..., max_tokens: _Optional[int] = ..., at_ms: _Optional[int] = ..., budgets: _Optional[_Iterable[_Union[Budget, _Mapping]]] = ..., fallback_agent_ids: _Optional[_Iterable[str]] = ..., candidate_models: _Optional[_Iterable[str]] = ...) -> None: ...

class AdmitResponse(_message.Message):
    __slots__ = ("model", "tier", "served_tier", "degraded", "over_quota", "reserved_micros", "completion_token_allowance", "remaining_micros", "budget")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    SERVED_TIER_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    OVER_QUOTA_FIELD_NUMBER: _ClassVar[int]
    RESERVED_MICROS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKEN_ALLOWANCE_FIELD_NUMBER: _ClassVar[int]
    REMAINING_MICROS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    model: str
    tier: str
    served_tier: str
    degraded: bool
    over_quota: bool
    reserved_micros: int
    completion_token_allowance: int
    remaining_micros: int
    budget: str
    def __init__(self, model: _Optional[str] = ..., tier: _Optional[str] = ..., served_tier: _Optional[str] = ..., degraded: _Optional[bool] = ..., over_quota: _Optional[bool] = ..., reserved_micros: _Optional[int] = ..., completion_token_allowance: _Optional[int] = ..., remaining_micros: _Optional[int] = ..., budget: _Optional[str] = ...) -> None: ...

class ReleaseRequest(_message.Message):
    __slots__ = ("request_id", "workspace", "key_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    workspace: str
    key_id: str
    def __init__(self, request_id: _Optional[str] = ..., workspace: _Optional[str] = ..., key_id: _Optional[str] = ...) -> None: ...

class ReleaseResponse(_message.Message):
    __slots__ = ("released_micros",)
    RELEASED_MICROS_FIELD_NUMBER: _ClassVar[int]
    released_micros: int
    def __init__(self, released_micros: _Optional[int] = ...) -> None: ...

class Budget(_message.Message):
    __slots__ = ("kind", "id", "workspace", "period", "limit_micros", "spent_micros", "reserved_micros")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    LIMIT_MICROS_FIELD_NUMBER: _ClassVar[int]
    SPENT_MICROS_FIELD_NUMBER: _ClassVar[int]
    RESERVED_MICROS_FIELD_NUMBER: _ClassVar[int]
    kind: SubjectKind
    id: str
    workspace: str
    period: Period
    limit_micros: int
    spent_micros: int
    reserved_micros: int
    def __init__(self, kind: _Optional[_Union[SubjectKind, str]] = ..., id: _Optional[str] = ..., workspace: _Optional[str] = ..., period: _Optional[_Union[Period, str]] = ..., limit_micros: _Optional[int] = ..., spent_micros: _Optional[int] = ..., reserved_micros: _Optional[int] = ...) -> None: ...

class SetBudgetRequest(_message.Message):
    __slots__ = ("budget", "remove")
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    budget: Budget
    remove: bool
    def __init__(self, budget: _Optional[_Union[Budget, _Mapping]] = ..., remove: _Optional[bool] = ...) -> None: ...

class SetBudgetResponse(_message.Message):
    __slots__ = ("budget",)
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    budget: Budget
    def __init__(self, budget: _Optional[_Union[Budget, _Mapping]] = ...) -> None: ...

class ListBudgetsRequest(_message.Message):
    __slots__ = ("workspace", "at_ms")
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    workspace: str
    at_ms: int
    def __init__(self, workspace: _Optional[str] = ..., at_ms: _Optional[int] = ...) -> None: ...

class ListBudgetsResponse(_message.Message):
    __slots__ = ("budgets",)
    BUDGETS_FIELD_NUMBER: _ClassVar[int]
    budgets: _containers.RepeatedCompositeFieldContainer[Budget]
    def __init__(self, budgets: _Optional[_Iterable[_Union[Budget, _Mapping]]] = ...) -> None: ...

class TierInfo(_message.Message):
    __slots__ = ("name", "model", "monthly_tokens", "price_micros", "overage_policy", "degrade_to")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_TOKENS_FIELD_NUMBER: _ClassVar[int]
    PRICE_MICROS_FIELD_NUMBER: _ClassVar[int]
    OVERAGE_POLICY_FIELD_NUMBER: _ClassVar[int]
    DEGRADE_TO_FIELD_NUMBER: _ClassVar[int]
    name: str
    model: str
    monthly_tokens: int
    price_micros: int
    overage_policy: OveragePolicy
    degrade_to: str
    def __init__(self, name: _Optional[str] = ..., model: _Optional[str] = ..., monthly_tokens: _Optional[int] = ..., price_micros: _Optional[int] = ..., overage_policy: _Optional[_Union[OveragePolicy, str]] = ..., degrade_to: _Optional[str] = ...) -> None: ...

class TierSubjectUsage(_message.Message):
    __slots__ = ("tier", "subject", "workspace", "tokens_used", "tokens_over", "overage_cost_micros")
    TIER_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    TOKENS_USED_FIELD_NUMBER: _ClassVar[int]
    TOKENS_OVER_FIELD_NUMBER: _ClassVar[int]
    OVERAGE_COST_MICROS_FIELD_NUMBER: _ClassVar[int]
    tier: str
    subject: str
    workspace: str
    tokens_used: int
    tokens_over: int
    overage_cost_micros: int
    def __init__(self, tier: _Optional[str] = ..., subject: _Optional[str] = ..., workspace: _Optional[str] = ..., tokens_used: _Optional[int] = ..., tokens_over: _Optional[int] = ..., overage_cost_micros: _Optional[int] = ...) -> None: ...

class OverageRecord(_message.Message):
    __slots__ = ("request_id", "tier", "subject", "workspace", "tokens_over", "cost_micros", "at_ms")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    TOKENS_OVER_FIELD_NUMBER: _ClassVar[int]
    COST_MICROS_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    tier: str
    subject: str
    workspace: str
    tokens_over: int
    cost_micros: int
    at_ms: int
    def __init__(self, request_id: _Optional[str] = ..., tier: _Optional[str] = ..., subject: _Optional[str] = ..., workspace: _Optional[str] = ..., tokens_over: _Optional[int] = ..., cost_micros: _Optional[int] = ..., at_ms: _Optional[int] = ...) -> None: ...

class GetTiersRequest(_message.Message):
    __slots__ = ("workspace", "at_ms")
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    workspace: str
    at_ms: int
    def __init__(self, workspace: _Optional[str] = ..., at_ms: _Optional[int] = ...) -> None: ...

class GetTiersResponse(_message.Message):
    __slots__ = ("month", "tiers", "subjects", "overages")
    MONTH_FIELD_NUMBER: _ClassVar[int]
    TIERS_FIELD_NUMBER: _ClassVar[int]
    SUBJECTS_FIELD_NUMBER: _ClassVar[int]
    OVERAGES_FIELD_NUMBER: _ClassVar[int]
    month: str
    tiers: _containers.RepeatedCompositeFieldContainer[TierInfo]
    subjects: _containers.RepeatedCompositeFieldContainer[TierSubjectUsage]
    overages: _containers.RepeatedCompositeFieldContainer[OverageRecord]
    def __init__(self, month: _Optional[str] = ..., tiers: _Optional[_Iterable[_Union[TierInfo, _Mapping]]] = ..., subjects: _Optional[_Iterable[_Union[TierSubjectUsage, _Mapping]]] = ..., overages: _Optional[_Iterable[_Union[OverageRecord, _Mapping]]] = ...) -> None: ...

class RequestLogEntry(_message.Message):
    __slots__ = ("request_id", "client_request_id", "key_id", "workspace", "agent_id", "session_id", "model_requested", "model", "deployment", "status", "http_status", "prompt_tokens", "completion_tokens", "cached_tokens", "estimated", "cost_micros", "cost_known", "latency_ms", "ttft_ms", "trace_id", "started_at_ms", "attempts")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HTTP_STATUS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_FIELD_NUMBER: _ClassVar[int]
    COST_MICROS_FIELD_NUMBER: _ClassVar[int]
    COST_KNOWN_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    TTFT_MS_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    client_request_id: str
    key_id: str
    workspace: str
    agent_id: str
    session_id: str
    model_requested: str
    model: str
    deployment: str
    status: str
    http_status: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    estimated: bool
    cost_micros: int
    cost_known: bool
    latency_ms: int
    ttft_ms: int
    trace_id: str
    started_at_ms: int
    attempts: _containers.RepeatedCompositeFieldContainer[RequestAttempt]
    def __init__(self, request_id: _Optional[str] = ..., client_request_id: _Optional[str] = ..., key_id: _Optional[str] = ..., workspace: _Optional[str] = ..., agent_id: _Optional[str] = ..., session_id: _Optional[str] = ..., model_requested: _Optional[str] = ..., model: _Optional[str] = ..., deployment: _Optional[str] = ..., status: _Optional[str] = ..., http_status: _Optional[int] = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., cached_tokens: _Optional[int] = ..., estimated: _Optional[bool] = ..., cost_micros: _Optional[int] = ..., cost_known: _Optional[bool] = ..., latency_ms: _Optional[int] = ..., ttft_ms: _Optional[int] = ..., trace_id: _Optional[str] = ..., started_at_ms: _Optional[int] = ..., attempts: _Optional[_Iterable[_Union[RequestAttempt, _Mapping]]] = ...) -> None: ...

class ListRequestLogRequest(_message.Message):
    __slots__ = ("limit", "cursor", "key_id", "workspace", "agent_id", "model", "deployment", "status", "has_fallback", "min_cost_micros", "since_ms", "until_ms", "client_request_id")
    class Fallback(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        FALLBACK_UNSPECIFIED: _ClassVar[ListRequestLogRequest.Fallback]
        FALLBACK_ONLY: _ClassVar[ListRequestLogRequest.Fallback]
        FALLBACK_NONE: _ClassVar[ListRequestLogRequest.Fallback]
    FALLBACK_UNSPECIFIED: ListRequestLogRequest.Fallback
    FALLBACK_ONLY: ListRequestLogRequest.Fallback
    FALLBACK_NONE: ListRequestLogRequest.Fallback
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HAS_FALLBACK_FIELD_NUMBER: _ClassVar[int]
    MIN_COST_MICROS_FIELD_NUMBER: _ClassVar[int]
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    limit: int
    cursor: str
    key_id: str
    workspace: str
    agent_id: str
    model: str
    deployment: str
    status: str
    has_fallback: ListRequestLogRequest.Fallback
    min_cost_micros: int
    since_ms: int
    until_ms: int
    client_request_id: str
    def __init__(self, limit: _Optional[int] = ..., cursor: _Optional[str] = ..., key_id: _Optional[str] = ..., workspace: _Optional[str] = ..., agent_id: _Optional[str] = ..., model: _Optional[str] = ..., deployment: _Optional[str] = ..., status: _Optional[str] = ..., has_fallback: _Optional[_Union[ListRequestLogRequest.Fallback, str]] = ..., min_cost_micros: _Optional[int] = ..., since_ms: _Optional[int] = ..., until_ms: _Optional[int] = ..., client_request_id: _Optional[str] = ...) -> None: ...

class ListRequestLogResponse(_message.Message):
    __slots__ = ("entries", "next_cursor")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[RequestLogEntry]
    next_cursor: str
    def __init__(self, entries: _Optional[_Iterable[_Union[RequestLogEntry, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class GetRequestLogRequest(_message.Message):
    __slots__ = ("request_id", "workspace")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    workspace: str
    def __init__(self, request_id: _Optional[str] = ..., workspace: _Optional[str] = ...) -> None: ...

class GetRequestLogResponse(_message.Message):
    __slots__ = ("entry",)
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    entry: RequestLogEntry
    def __init__(self, entry: _Optional[_Union[RequestLogEntry, _Mapping]] = ...) -> None: ...

class GetRequestLogStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetRequestLogStatusResponse(_message.Message):
    __slots__ = ("backend", "healthy", "last_error", "pending", "written", "dropped", "rows", "max_rows", "retention_days")
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    WRITTEN_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    MAX_ROWS_FIELD_NUMBER: _ClassVar[int]
    RETENTION_DAYS_FIELD_NUMBER: _ClassVar[int]
    backend: str
    healthy: bool
    last_error: str
    pending: int
    written: int
    dropped: int
    rows: int
    max_rows: int
    retention_days: int
    def __init__(self, backend: _Optional[str] = ..., healthy: _Optional[bool] = ..., last_error: _Optional[str] = ..., pending: _Optional[int] = ..., written: _Optional[int] = ..., dropped: _Optional[int] = ..., rows: _Optional[int] = ..., max_rows: _Optional[int] = ..., retention_days: _Optional[int] = ...) -> None: ...

class AgentRequestHealth(_message.Message):
    __slots__ = ("agent_id", "status", "requests", "success_rate", "consecutive_failures", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "errors_by_type", "last_request_ms")
    class ErrorsByTypeEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P50_MS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P95_MS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P99_MS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_BY_TYPE_FIELD_NUMBER: _ClassVar[int]
    LAST_REQUEST_MS_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    status: AgentHealthStatus
    requests: int
    success_rate: float
    consecutive_failures: int
    latency_p50_ms: int
    latency_p95_ms: int
    latency_p99_ms: int
    errors_by_type: _containers.ScalarMap[str, int]
    last_request_ms: int
    def __init__(self, agent_id: _Optional[str] = ..., status: _Optional[_Union[AgentHealthStatus, str]] = ..., requests: _Optional[int] = ..., success_rate: _Optional[float] = ..., consecutive_failures: _Optional[int] = ..., latency_p50_ms: _Optional[int] = ..., latency_p95_ms: _Optional[int] = ..., latency_p99_ms: _Optional[int] = ..., errors_by_type: _Optional[_Mapping[str, int]] = ..., last_request_ms: _Optional[int] = ...) -> None: ...

class GetAgentRequestHealthRequest(_message.Message):
    __slots__ = ("agent_id", "workspace")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    workspace: str
    def __init__(self, agent_id: _Optional[str] = ..., workspace: _Optional[str] = ...) -> None: ...

class GetAgentRequestHealthResponse(_message.Message):
    __slots__ = ("window_seconds", "agents", "healthy", "degraded", "unhealthy", "success_rate")
    WINDOW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    UNHEALTHY_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    window_seconds: int
    agents: _containers.RepeatedCompositeFieldContainer[AgentRequestHealth]
    healthy: int
    degraded: int
    unhealthy: int
    success_rate: float
    def __init__(self, window_seconds: _Optional[int] = ..., agents: _Optional[_Iterable[_Union[AgentRequestHealth, _Mapping]]] = ..., healthy: _Optional[int] = ..., degraded: _Optional[int] = ..., unhealthy: _Optional[int] = ..., success_rate: _Optional[float] = ...) -> None: ...

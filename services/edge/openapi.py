"""The OpenAPI 3.1 document of the edge's HTTP surface, served at /openapi.json.

Request schemas come from the same pydantic models that validate requests, so the document cannot
drift from what the edge accepts; a fuzz test (tests/e2e/test_openapi_fuzz.py) drives the live edge
from it. Each endpoint is one `Operation` row in `OPERATIONS`; add a row when you add a route.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from services.edge.agent_limits_api import AgentLimitsBody
from services.edge.dialects.anthropic_messages import CountTokensRequest, MessagesRequest
from services.edge.dialects.responses_request import ResponsesRequest
from services.edge.dialects.openai_completions import CompletionRequest
from services.edge.embeddings_api import EmbeddingRequest
from services.edge.budgets_api import BudgetPut
from services.edge.keys_api import KeyCreate, KeyUpdate
from services.edge.reviews_api import LearningRun, ReviewAction
from services.edge.tasks_api import ClassifyTask, CompletionTask
from services.edge.schemas import ChatCompletionRequest

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["message", "type"],
    "properties": {"message": {"type": "string"}, "type": {"type": "string"},
                   "param": {"type": ["string", "null"]}, "code": {"type": ["string", "null"]}}}}}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    body: type[BaseModel] | None = None
    query: dict[str, dict] = field(default_factory=dict)
    """Query parameter name -> JSON schema."""
    public: bool = False
    streams: bool = False
    response: dict | None = None
    """JSON schema of the 200 answer, when the document spells it out."""


_NSTR = {"type": ["string", "null"]}
_INT = {"type": "integer"}
ATTEMPT = {"type": "object", "properties": {
    "deployment": {"type": "string"}, "model": {"type": "string"},
    "kind": {"type": "string", "enum": ["first", "retry", "fallback", "hedge"]},
    "outcome": {"type": "string", "enum": ["ok", "error", "cancelled", "lost"]}, "cause": _NSTR, "latency_ms": _INT}}
RECORD = {"type": "object", "properties": {
    "request_id": {"type": "string"}, "client_request_id": _NSTR, "key_id": {"type": "string"}, "workspace": _NSTR,
    "agent_id": _NSTR, "session_id": _NSTR, "model_requested": {"type": "string"}, "model": {"type": "string"},
    "deployment": _NSTR, "status": {"type": "string", "enum": ["ok", "error", "cancelled", "interrupted"]},
    "http_status": _INT, "prompt_tokens": _INT, "completion_tokens": _INT, "cached_tokens": _INT,
    "estimated": {"type": "boolean"}, "cost_usd": {**_NSTR, "description": "decimal dollars, null when unknown"},
    "cost_known": {"type": "boolean"}, "latency_ms": _INT, "ttft_ms": _INT, "trace_id": _NSTR,
    "started_at": {"type": "string", "format": "date-time"}, "attempts": {"type": "array", "items": ATTEMPT}}}
RECORD_LIST = {"type": "object", "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": RECORD},
                                                "next_cursor": _NSTR}}
_PERIOD = {"type": "string", "enum": ["day", "week", "month"]}
_COUNT = {"type": "integer", "minimum": 0}
_FORMAT = {"type": "string", "enum": ["json", "csv"]}
_STR = {"type": "string", "maxLength": 256}
OPERATIONS: list[Operation] = [
    Operation("post", "/v1/chat/completions", "Chat completion (SSE when stream=true)", ChatCompletionRequest, streams=True),
    Operation("post", "/v1/completions", "Legacy text completion, served by chat upstreams", CompletionRequest, streams=True),
    Operation("post", "/v1/messages", "Anthropic-compatible Messages API", MessagesRequest, streams=True),
    Operation("post", "/v1/messages/count_tokens", "Input tokens of a Messages request (nothing runs or is billed)",
              CountTokensRequest),
    Operation("post", "/v1/responses", "OpenAI Responses API (SSE when stream=true)", ResponsesRequest, streams=True),
    Operation("get", "/v1/responses/{response_id}", "A stored response (this key's workspace)"),
    Operation("delete", "/v1/responses/{response_id}", "Delete a stored response"),
    Operation("get", "/v1/responses/{response_id}/input_items", "The input items of a stored response"),
    Operation("post", "/v1/embeddings", "Embeddings", EmbeddingRequest),
    Operation("get", "/v1/models", "Models this key may use"),
    Operation("get", "/v1/models/{model}", "One model"),
    Operation("post", "/api/v1/keys", "Create a virtual key (master key); the token is shown once", KeyCreate),
    Operation("get", "/api/v1/keys", "List virtual keys (master key)", query={"workspace": {"type": "string"}}),
    Operation("get", "/api/v1/keys/{key_id}", "One virtual key (master key)"),
    Operation("patch", "/api/v1/keys/{key_id}", "Update a virtual key (master key)", KeyUpdate),
    Operation("delete", "/api/v1/keys/{key_id}", "Revoke a virtual key (master key)"),
    Operation("put", "/api/v1/budgets/{kind}/{id}", "Set (a number; 0 allows nothing) or remove (null) the budget of a "
              "key, agent or workspace (master key)", BudgetPut),
    Operation("get", "/api/v1/budgets", "Budgets with spent and reserved in their current period (master key)",
              query={"workspace": {"type": "string"}}),
    Operation("get", "/api/v1/usage", "Usage totals with by-model and by-date breakdowns (json or csv)",
              query={"period": _PERIOD, "format": _FORMAT, "workspace": _STR, "key_id": _STR, "agent_id": _STR,
                     "user": _STR, "session_id": _STR}),
    Operation("get", "/api/v1/usage/summary", "Usage across workspaces, keys, agents, users, sessions and "
              "deployments; each breakdown a page (dearest first), `by` + `cursor` page through one",
              query={"period": _PERIOD, "format": _FORMAT, "workspace": _STR,
                     "limit": {"type": "integer", "minimum": 1, "maximum": 500}, "cursor": _STR,
                     "by": {"type": "string", "enum": ["workspace", "key", "agent", "user", "session", "deployment"]}}),
    Operation("get", "/api/v1/usage/tiers", "Managed tiers, their quotas and overage", query={"workspace": _STR}),
    Operation("get", "/api/v1/agents/{agent_id}/usage", "One agent's usage",
              query={"period": _PERIOD, "format": _FORMAT, "workspace": _STR}),
    Operation("get", "/api/v1/agents/{agent_id}/limits", "An agent's RPM/TPM limits (master key)"),
    Operation("put", "/api/v1/agents/{agent_id}/limits", "Set an agent's RPM/TPM limits, shared by its keys (master key)",
              AgentLimitsBody),
    Operation("get", "/api/v1/health/upstreams", "Breaker state and health of every deployment (master key)"),
    Operation("get", "/api/v1/requests", "Request log, newest first: filters, cursor pages, csv/jsonl export of "
              "every match (a virtual key sees its own workspace only)",
              query={"limit": {"type": "integer", "minimum": 1, "maximum": 500}, "cursor": _STR, "key_id": _STR,
                     "workspace": _STR, "agent_id": _STR, "model": _STR, "deployment": _STR,
                     "status": {"type": "string", "enum": ["ok", "error", "cancelled", "interrupted"]},
                     "has_fallback": {"type": "string", "enum": ["true", "false"]},
                     "min_cost_usd": {"type": "string", "pattern": "^[0-9]{1,9}(\\.[0-9]{1,6})?$"},
                     "since": _STR, "until": _STR, "client_request_id": _STR,
                     "format": {"type": "string", "enum": ["json", "csv", "jsonl"]}}, response=RECORD_LIST),
    Operation("get", "/api/v1/requests/{request_id}", "One request with its attempt timeline (404 when unknown or "
              "in another workspace)", response=RECORD),
    Operation("get", "/api/v1/health/request-log", "The request log store: backend, health, queue, drops (master key)"),
    Operation("post", "/v1/completion", "Task completion, cheapest tier first, escalated on low confidence",
              CompletionTask),
    Operation("post", "/v1/classify", "Pick one label from a set, cheapest tier first", ClassifyTask),
    Operation("get", "/api/v1/reviews", "Review queue of low-confidence answers (master key)",
              query={"state": {"type": "string", "enum": ["pending", "approved", "rejected", "corrected", "all"]},
                     "task_type": _STR, "limit": _COUNT}),
    Operation("post", "/api/v1/reviews/{review_id}", "Approve, reject or correct a queued answer (master key)",
              ReviewAction),
    Operation("get", "/api/v1/escalation/audit", "Gate decisions and reviews by time and caller (master key)",
              query={"since": _COUNT, "until": _COUNT, "caller": _STR, "limit": _COUNT}),
    Operation("post", "/api/v1/escalation/learning", "Run learning cycles now (master key)", LearningRun),
    Operation("get", "/api/v1/escalation/learning", "Learning changes, tuned state, next runs (master key)",
              query={"limit": _COUNT}),
    Operation("post", "/api/v1/escalation/learning/{change_id}/revert", "Undo one learning change (master key)"),
    Operation("get", "/api/v1/escalation/metrics", "Escalation rates, confidence, queue depth, cost saved",
              query={"task_type": _STR}),
    # Agent runtime (services/edge/agents_api.py, agent_chat_api.py, agent_drive_api.py, sessions_api.py);
    # bodies are the runtime protos in proto3 JSON.
    Operation("post", "/api/v1/agents", "Create an agent (master key); llm.apiKey is write-only"),
    Operation("get", "/api/v1/agents", "List agents (master key)", query={"workspace": _STR}),
    Operation("get", "/api/v1/agents/running", "Supervised agent processes that are running (master key)"),
    Operation("get", "/api/v1/agents/health", "Agent health from recent requests: summary, and per agent status, "
              "success rate, consecutive failures, latency percentiles, failures by type",
              query={"agent_id": _STR, "workspace": _STR}),
    Operation("get", "/api/v1/agents/{agent_id}", "Get an agent (master key)"),
    Operation("patch", "/api/v1/agents/{agent_id}", "Change the given fields of an agent (master key)"),
    Operation("put", "/api/v1/agents/{agent_id}", "Replace an agent (master key)"),
    Operation("delete", "/api/v1/agents/{agent_id}", "Delete an agent, stopping its process (master key)"),
    Operation("get", "/api/v1/agents/{agent_id}/llm-config", "The agent's LLM config; says hasKey, never the key"),
    Operation("put", "/api/v1/agents/{agent_id}/llm-config", "Set the agent's LLM config and BYOK key (master key)"),
    Operation("post", "/api/v1/agents/{agent_id}/llm-test", "Send one tiny request with the agent's model and key"),
    Operation("post", "/api/v1/agents/{agent_id}/start", "Start the agent's process (master key)"),
    Operation("post", "/api/v1/agents/{agent_id}/stop", "Stop the agent's process: SIGTERM, then SIGKILL"),
    Operation("get", "/api/v1/agents/{agent_id}/health", "Status, pid, uptime, restarts, last exit code"),
    Operation("get", "/api/v1/agents/{agent_id}/remote-health", "A remote agent's success rate and health"),
    Operation("get", "/api/v1/agents/{agent_id}/logs", "The agent's output as SSE (follow=true keeps streaming)",
              query={"tail": {"type": "integer", "minimum": 0, "maximum": 10000},
                     "follow": {"type": "string", "enum": ["true", "false"]}}, streams=True),
    Operation("post", "/api/v1/agents/{agent_id}/chat", "Chat with an agent and its fallbacks, in a session",
              streams=True),
    Operation("post", "/api/v1/agents/{agent_id}/files", "Upload a file to the agent's drive (multipart `file`)",
              query={"name": _STR}),
    Operation("get", "/api/v1/agents/{agent_id}/files", "List the agent's files",
              query={"limit": {"type": "integer", "minimum": 1, "maximum": 1000}, "after": _STR}),
    Operation("get", "/api/v1/agents/{agent_id}/files/{name}", "Download a file (streamed)"),
    Operation("delete", "/api/v1/agents/{agent_id}/files/{name}", "Delete a file"),
    Operation("post", "/api/v1/sessions", "Create a session (master key)"),
    Operation("get", "/api/v1/sessions", "List sessions, newest first",
              query={"agent_id": _STR, "limit": {"type": "integer", "minimum": 1, "maximum": 500},
                     "offset": _COUNT}),
    Operation("post", "/api/v1/sessions/cleanup", "Delete sessions idle longer than older_than_seconds or the TTL"),
    Operation("post", "/api/v1/sessions/import", "Import a session export (overwrite=true replaces)",
              query={"overwrite": {"type": "string", "enum": ["true", "false"]}}),
    Operation("get", "/api/v1/sessions/{session_id}", "A session with its message history"),
    Operation("delete", "/api/v1/sessions/{session_id}", "Delete a session"),
    Operation("get", "/api/v1/sessions/{session_id}/export", "Export a session as portable JSON"),
    Operation("get", "/", "Service banner (no key needed; clients probe the base URL)", public=True),
    Operation("get", "/ui", "The web console (redirects to /ui/)", public=True),
    Operation("get", "/ui/", "The web console: sign in with a key (kept in sessionStorage, never in a URL)",
              public=True),
    Operation("get", "/ui/{asset}", "The console's static files (HTML, CSS, JS, the vendored uPlot)", public=True),
    Operation("get", "/healthz", "Liveness", public=True),
    Operation("get", "/readyz", "Readiness: router and Redis reachable", public=True),
]


def build(operations: list[Operation] = OPERATIONS) -> dict:
    schemas: dict = {"Error": ERROR}
    paths: dict = {}
    for op in operations:
        entry: dict = {"summary": op.summary, "operationId": f"{op.method}_{op.path.strip('/').replace('/', '_')}",
                       "responses": {"200": {"description": "OK", "content": _ok_content(op)},
                                     "default": {"description": "Error in the OpenAI shape",
                                                 "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}
        params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                  for n in _path_params(op.path)]
        params += [{"name": n, "in": "query", "required": False, "schema": s} for n, s in op.query.items()]
        if params:
            entry["parameters"] = params
        if op.body is not None:
            schema = op.body.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[op.body.__name__] = schema
            entry["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{op.body.__name__}"}}}}
        if not op.public:
            entry["security"] = [{"bearer": []}]
        paths.setdefault(op.path, {})[op.method] = entry
    return {"openapi": "3.1.0",
            "info": {"title": "Tokenyard", "version": "1", "description": "OpenAI-compatible LLM gateway"},
            "paths": paths,
            "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}}


def _ok_content(op: Operation) -> dict:
    content: dict = {"application/json": {"schema": op.response or {"type": "object"}}}
    if "format" in op.query:
        content["text/csv"] = {"schema": {"type": "string"}}
        if "jsonl" in op.query["format"].get("enum", ()):
            content["application/x-ndjson"] = {"schema": {"type": "string"}}
    if op.streams:
        content["text/event-stream"] = {"schema": {"type": "string"}}
    return content


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]

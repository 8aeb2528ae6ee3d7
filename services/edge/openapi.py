"""The OpenAPI 3.1 document of the edge's HTTP surface, served at /openapi.json.

Request schemas come from the same pydantic models that validate requests, so the document cannot
drift from what the edge accepts; a fuzz test (tests/e2e/test_openapi_fuzz.py) drives the live edge
from it. Each endpoint is one `Operation` row in `OPERATIONS`; add a row when you add a route.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from services.edge.agent_limits_api import AgentLimitsBody
from services.edge.dialects.anthropic_messages import MessagesRequest
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


_PERIOD = {"type": "string", "enum": ["day", "week", "month"]}
_COUNT = {"type": "integer", "minimum": 0}
_FORMAT = {"type": "string", "enum": ["json", "csv"]}
_STR = {"type": "string", "maxLength": 256}
OPERATIONS: list[Operation] = [
    Operation("post", "/v1/chat/completions", "Chat completion (SSE when stream=true)", ChatCompletionRequest, streams=True),
    Operation("post", "/v1/completions", "Legacy text completion, served by chat upstreams", CompletionRequest, streams=True),
    Operation("post", "/v1/messages", "Anthropic-compatible Messages API", MessagesRequest, streams=True),
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
    Operation("get", "/api/v1/usage/summary", "Usage across workspaces, keys, agents, users and sessions",
              query={"period": _PERIOD, "format": _FORMAT, "workspace": _STR}),
    Operation("get", "/api/v1/usage/tiers", "Managed tiers, their quotas and overage", query={"workspace": _STR}),
    Operation("get", "/api/v1/agents/{agent_id}/usage", "One agent's usage",
              query={"period": _PERIOD, "format": _FORMAT, "workspace": _STR}),
    Operation("get", "/api/v1/agents/{agent_id}/limits", "An agent's RPM/TPM limits (master key)"),
    Operation("put", "/api/v1/agents/{agent_id}/limits", "Set an agent's RPM/TPM limits, shared by its keys (master key)",
              AgentLimitsBody),
    Operation("get", "/api/v1/health/upstreams", "Breaker state and health of every deployment (master key)"),
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
    content: dict = {"application/json": {"schema": {"type": "object"}}}
    if "format" in op.query:
        content["text/csv"] = {"schema": {"type": "string"}}
    if op.streams:
        content["text/event-stream"] = {"schema": {"type": "string"}}
    return content


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]

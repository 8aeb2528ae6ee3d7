"""Builds the edge's aiohttp application: routes, middleware, one gRPC channel per peer, one Redis pool."""
from __future__ import annotations

import time

import orjson
from aiohttp import web

from services.common import redis_conn
from services.common.channels import open_channel
from services.common.keystore import KeyStore
from services.common.metrics import Metrics, metrics_handler
from services.common.tracing import Tracing
from services.edge.access_log import make_access_log
from services.edge.admission import Admission
from services.edge.agent_chat_api import AgentChatHandler
from services.edge.agent_model import AgentModel
from services.edge.agent_health_api import AgentHealthHandler
from services.edge.auth import Authenticator
from services.edge.budgets_api import BudgetsHandler
from services.edge import agents_api, openapi
from services.edge import reviews_api, tasks_api
from services.edge.cached_router import ResponseCache
from services.edge.config import EdgeConfig
from services.edge.response_cache import AnswerStore
from services.edge.console_ui import ConsoleUI
from services.edge.dialects.openai_chat import OpenAIChat
from services.edge.dialects.openai_completions import OpenAICompletions
from services.edge.embeddings_api import EmbeddingsHandler
from services.edge.health_api import UpstreamHealthHandler
from services.edge.keys_api import KeysHandler
from services.edge.middleware import make_middleware, require_master
from services.edge.messages_api import MessagesHandler
from services.edge.models_api import ModelsHandler
from services.edge.observe import Readiness, make_observer
from services.edge.limits import AgentLimitStore, Limits
from services.edge.ratelimit import RateLimiter
from services.edge.agent_limits_api import AgentLimitsHandler
from services.edge.relay import ChatRelay
from services.edge.responses_api import ResponsesHandler
from services.edge.responses_store import ResponseStore
from services.edge.requests_api import RequestsHandler
from services.edge.tokenizer_book import TokenizerBook
from services.edge.usage_api import UsageHandler
from services.edge.stream_usage_guard import StreamUsageGuard
from tokenyard.meter.v1 import meter_pb2_grpc
from tokenyard.router.v1 import router_pb2_grpc
from tokenyard.runtime.v1 import runtime_pb2_grpc

CHANNELS = web.AppKey("channels", list)
REDIS = web.AppKey("redis", object)
READINESS = web.AppKey("readiness", Readiness)


def _openapi_handler():
    body = orjson.dumps(openapi.build())

    async def handler(_request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    return handler


async def _root(_request: web.Request) -> web.Response:
    return web.json_response({"service": "tokenyard", "api": "/v1", "docs": "/openapi.json"})


def _master_only(handler):
    async def guarded(request: web.Request) -> web.StreamResponse:
        return require_master(request) or await handler(request)

    return guarded


def create_app(cfg: EdgeConfig, tracing: Tracing | None = None, metrics: Metrics | None = None) -> web.Application:
    """`tracing`/`metrics`: the process's (server.py builds them from the environment); off/fresh by default."""
    tracing = tracing or Tracing()
    metrics = metrics or Metrics()
    if cfg.model_labels is not None:
        metrics.model_label = cfg.model_labels
    # Channels are long-lived, one per peer per process; gRPC reconnects them on its own.
    # Tracing off: no span wrapper (no interceptors: an intercepted grpc.aio call costs measurably more).
    router_channel = open_channel(cfg.router_addr, cfg.security, tracing)
    meter_channel = open_channel(cfg.meter_addr, cfg.security, tracing)
    runtime_channel = open_channel(cfg.runtime_addr, cfg.security, tracing)
    redis = redis_conn.connect(cfg.redis_url)
    keys = KeyStore(redis)
    router = router_pb2_grpc.RouterServiceStub(router_channel)
    meter = meter_pb2_grpc.MeterServiceStub(meter_channel)
    agent_limits = AgentLimitStore(redis)
    limits = Limits(RateLimiter(redis), agent_limits)  # Redis's clock, not this replica's
    runtime = runtime_pb2_grpc.RuntimeServiceStub(runtime_channel)
    agent_model = AgentModel(runtime, cfg.request_timeout)
    tokenizers = TokenizerBook(router)
    cache = ResponseCache(cfg.cache, AnswerStore(redis, cfg.cache.max_entry_bytes, cfg.cache.max_workspace_bytes,
                                                 lambda: int(time.time() * 1000)), meter)
    relay = ChatRelay(cfg, router, limits, Admission(meter, redis), agent_model, metrics, tokenizers,
                      usage_guard=StreamUsageGuard(meter), cache=cache)
    chat, completions = OpenAIChat(cfg.max_messages), OpenAICompletions()
    embeddings = EmbeddingsHandler(router, relay)
    models = ModelsHandler(router)
    usage = UsageHandler(meter_pb2_grpc.MeterServiceStub(meter_channel))
    keys_api = KeysHandler(keys)

    app = web.Application(client_max_size=cfg.max_body_bytes,
                          middlewares=[make_access_log(), make_observer(tracing, metrics),
                                       make_middleware(Authenticator(cfg.master_key, keys), cfg.body_timeout)])
    app[CHANNELS] = [router_channel, meter_channel, runtime_channel]
    app[REDIS] = redis

    # OpenAI-compatible surface
    app.router.add_post("/v1/chat/completions", relay.handler(chat))
    app.router.add_post("/v1/completions", relay.handler(completions))
    messages_api = MessagesHandler(relay, router, cfg.request_timeout)
    app.router.add_post("/v1/messages", messages_api.create)
    app.router.add_post("/v1/messages/count_tokens", messages_api.count_tokens)
    responses = ResponsesHandler(relay, ResponseStore(redis, cfg.responses_ttl, 4 * cfg.max_body_bytes),
                                 cfg.max_messages)
    app.router.add_post("/v1/responses", responses.create)
    app.router.add_get("/v1/responses/{response_id}", responses.retrieve)
    app.router.add_delete("/v1/responses/{response_id}", responses.delete)
    app.router.add_get("/v1/responses/{response_id}/input_items", responses.input_items)
    app.router.add_post("/v1/embeddings", embeddings.handle)
    app.router.add_get("/v1/models", models.list)
    app.router.add_get("/v1/models/{model:.+}", models.retrieve)
    # Admin API
    app.router.add_post("/api/v1/keys", keys_api.create)
    app.router.add_get("/api/v1/keys", keys_api.list)
    app.router.add_get("/api/v1/keys/{key_id}", keys_api.get)
    app.router.add_patch("/api/v1/keys/{key_id}", keys_api.update)
    app.router.add_delete("/api/v1/keys/{key_id}", keys_api.revoke)
    app.router.add_get("/api/v1/usage", usage.get)
    app.router.add_get("/api/v1/usage/summary", usage.summary)
    app.router.add_get("/api/v1/usage/tiers", usage.tiers)
    app.router.add_get("/api/v1/agents/{agent_id}/usage", usage.agent)
    agent_limits_api = AgentLimitsHandler(agent_limits)
    app.router.add_get("/api/v1/agents/{agent_id}/limits", agent_limits_api.get)
    app.router.add_put("/api/v1/agents/{agent_id}/limits", agent_limits_api.put)
    # Before agents_api's /api/v1/agents/{agent_id}, which would otherwise take "health" for an agent id.
    app.router.add_get("/api/v1/agents/health", AgentHealthHandler(meter).get)
    agents_api.register(app, runtime, cfg.request_timeout, cfg.drive_max_file_size,
                        AgentChatHandler(runtime, cfg.request_timeout, relay, agent_model))
    budgets = BudgetsHandler(meter)
    app.router.add_get("/api/v1/budgets", budgets.list)
    app.router.add_put("/api/v1/budgets/{kind}/{id}", budgets.put)
    app.cleanup_ctx.append(tokenizers.context)
    app.router.add_get("/api/v1/health/upstreams", UpstreamHealthHandler(router).get)
    requests_api = RequestsHandler(meter)
    app.router.add_get("/api/v1/requests", requests_api.list)
    app.router.add_get("/api/v1/requests/{request_id}", requests_api.get)
    app.router.add_get("/api/v1/health/request-log", requests_api.store_status)
    # Cost-first tier escalation (issue 9): task API, review queue, audit log, learning cycles, metrics.
    escalation = router_pb2_grpc.EscalationServiceStub(router_channel)
    tasks_api.register(app, escalation, relay, Admission(meter, redis), cfg.request_timeout)
    reviews_api.register(app, escalation, cfg.request_timeout)
    readiness = app[READINESS] = Readiness(router_channel, redis,
                                           optional={"meter": meter_channel, "runtime": runtime_channel})
    app.router.add_get("/", _root)  # and HEAD: clients (Claude Code) probe the base URL before they start
    app.router.add_get("/healthz", readiness.healthz)
    app.router.add_get("/readyz", readiness.readyz)
    app.router.add_get("/metrics", _master_only(metrics_handler(metrics)))
    app.router.add_get("/openapi.json", _openapi_handler())
    ConsoleUI(trace_url=cfg.trace_ui_url).register(app)

    async def warm_redis(app: web.Application) -> None:
        await redis_conn.warm(app[REDIS])

    async def close_peers(app: web.Application) -> None:
        for channel in app[CHANNELS]:
            await channel.close()
        await app[REDIS].aclose()

    app.on_startup.append(warm_redis)
    app.on_cleanup.append(close_peers)
    return app

"""The flow every chat-like endpoint shares, whatever its client dialect:

authenticate (middleware) -> parse/validate -> (agent: plan its chain) -> bound the prompt's tokens ->
model allowed? -> rate limits -> budgets (meter Admit) -> router (or runtime, for an agent) stream ->
SSE or assembled body -> correct the token charge with actual usage -> one log line.

The first router message is awaited before any HTTP byte goes out, so a failure before the first
token gets a real HTTP status; after that, failures become the dialect's error event, never a clean
end. A client that leaves cancels the RPC (aiohttp handler cancellation), which cancels the upstream.
"""
from __future__ import annotations

import asyncio
import time

import grpc
import orjson
import structlog
from aiohttp import web

from services.common.metrics import Metrics
from services.edge.config import EdgeConfig
from services.edge.dialects.base import Dialect, Invalid, Parsed
from services.edge.errors import from_rpc_error
from services.common.prompt_tokens import PromptTokenBound
from services.edge.admission import Admission, AgentPlan, caller_for
from services.edge.agent_model import PREFIX, AgentModel, is_agent_model
from services.edge.auth import Principal
from services.edge.cached_router import ResponseCache
from services.edge.completions_format import routing_headers
from services.edge.middleware import CLIENT_REQUEST_ID, PRINCIPAL, REQUEST_ID, id_headers
from services.edge.limits import Limits
from services.edge.stream_usage_guard import StreamUsageGuard
from services.edge.tokenizer_book import TokenizerBook
from tokenyard.router.v1 import router_pb2, router_pb2_grpc

log = structlog.get_logger()

SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _err(message: str, type_: str, code: str, param: str | None = None) -> dict:
    return {"message": message, "type": type_, "param": param, "code": code}


def _max_tokens(req) -> int:
    if req.HasField("max_completion_tokens"):
        return req.max_completion_tokens
    return req.max_tokens if req.HasField("max_tokens") else 0


def _as_sent(req: router_pb2.ChatRequest, plan: AgentPlan | None) -> router_pb2.ChatRequest:
    """The prompt as the upstream will see it: an agent's system prompt, session history and tools included."""
    if plan is None or not (plan.preamble or plan.tools_json):
        return req
    out = router_pb2.ChatRequest(messages=[*plan.preamble, *req.messages], tools=req.tools)
    if plan.tools_json:
        out.tools.add(type="function", parameters_json=plan.tools_json)
    return out


class ChatRelay:
    def __init__(self, cfg: EdgeConfig, router: router_pb2_grpc.RouterServiceStub, limits: Limits,
                 admission: Admission, agents: AgentModel, metrics: Metrics | None = None,
                 tokenizers: TokenizerBook | None = None, bound: PromptTokenBound | None = None,
                 usage_guard: StreamUsageGuard | None = None, clock=time.time,
                 cache: ResponseCache | None = None) -> None:
        self._cfg = cfg
        self._clock = clock
        self._cache = cache
        self._tokenizers = tokenizers or TokenizerBook(router)
        self._bound = bound or PromptTokenBound()
        self._agents = agents
        self._metrics = metrics or Metrics()
        self._router = router
        self._limits = limits
        self._admission = admission
        self._background: set[asyncio.Task] = set()
        self._usage_guard = usage_guard
        """Records the usage of a stream whose router died mid-answer (services/edge/stream_usage_guard.py)."""

    def handler(self, dialect: Dialect):
        """The aiohttp handler serving `dialect` on this relay."""
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self.handle(request, dialect)
        return handle

    async def handle(self, request: web.Request, dialect: Dialect) -> web.StreamResponse:
        t0 = time.monotonic()
        rid, principal = request[REQUEST_ID], request[PRINCIPAL]
        headers = id_headers(request)
        try:
            parsed = dialect.parse(await request.read(), rid, principal.caller)
        except Invalid as exc:
            return dialect.error(exc.status, _err(exc.message, "invalid_request_error", exc.code, exc.param), headers)
        headers.update(parsed.headers)
        req = parsed.request
        req.client_request_id = request[CLIENT_REQUEST_ID]
        req.started_at_ms = int(self._clock() * 1000)
        router = self._router if self._cache is None else \
            self._cache.bind(request.headers, principal, req, self._router, headers)  # cached_router.py
        if isinstance(router, tuple):
            return dialect.error(*router, headers)
        plan = None
        if is_agent_model(req.model):
            plan = await self._agents.plan(principal, req.model[len(PREFIX):], req.metadata.get("session_id", ""))
            if isinstance(plan, tuple):
                return dialect.error(plan[0], plan[1], {**headers, **plan[2]})
        admitted = await self.admit_request(principal, parsed, plan, headers)
        if isinstance(admitted, tuple):
            return dialect.error(*admitted)
        budget_capped = admitted is not None and self.apply_admission(parsed, admitted, headers, plan is None)
        unary = False
        if plan is not None:
            call = self._agents.open(parsed, plan)
        elif parsed.stream:
            call = router.Chat(req, timeout=self._cfg.request_timeout)
            if self._usage_guard is not None:
                call = self._usage_guard.watch(call, parsed, req.caller)
        else:
            # The whole answer in one message: no stream to read message by message.
            call, unary = router.Complete(req, timeout=self._cfg.request_timeout), True
        status, final = "error", None
        try:
            try:
                first = await (call if unary else call.read())
            except grpc.aio.AioRpcError as err:
                code, body, extra = from_rpc_error(err)
                status = err.code().name
                self.release(principal, parsed, admitted, plan)
                return dialect.error(code, body["error"], {**headers, **extra})
            self._metrics.ttft.labels(req.model).observe(time.monotonic() - t0)
            if first is grpc.aio.EOF:
                return dialect.error(502, _err("The upstream returned no answer.", "upstream_error", "empty_stream"),
                                     headers)
            if parsed.stream:
                resp, final = await self._stream(request, dialect, parsed, call, first, headers, budget_capped)
            else:
                resp, final = await self._assemble(dialect, parsed, None if unary else call, first, headers)
            status = "ok" if final is not None and not final.error.code else "error"
            return resp
        finally:
            if final is None and not call.done():
                # The client left or the stream broke: stop the router (and with it the upstream call).
                # After the final message the call ends by itself; cancelling it then would race its OK.
                call.cancel()
                status = "cancelled" if status == "error" else status
            if final is not None and final.deployment.startswith("remote:"):
                self.release(principal, parsed, admitted, plan)  # a remote agent: no router record settles it
            self.settle(principal, parsed.estimated_tokens, final.usage.total_tokens if final is not None else 0,
                        plan.agent_id if plan is not None else "")
            self._log(request, principal.caller.key_id, parsed, final, status, t0)
            self._count(req.model, final)

    async def admit_request(self, principal: Principal, parsed: Parsed, plan: AgentPlan | None, headers: dict):
        """Every chat-like path's admission, agent calls included: model access, rate limits (key and
        agent) and budgets (key, agents, workspace), before the first upstream byte. Sets the prompt's
        token bound first: it is what TPM is charged and the budget reserved from. Returns the meter's
        AdmitResponse (None when no budget check applies) or (status, error, headers) when refused."""
        req = parsed.request
        if (plan is not None or principal.record is not None or principal.caller.agent_id
                or self._admission.needed(principal, req.model)):
            # Only what a limit or a budget will charge is counted: the master key's plain calls skip it.
            parsed.estimated_tokens = await self._bound_tokens(req, plan)
        refused = await self.admit(principal, req.model, parsed.estimated_tokens, headers,
                                   plan.agent_id if plan is not None else "")
        if refused is not None:
            return (*refused, headers)
        return await self.admit_budget(principal, parsed, plan, headers)

    async def _bound_tokens(self, req: router_pb2.ChatRequest, plan: AgentPlan | None) -> int:
        models = plan.models if plan is not None else (req.model,)
        await self._tokenizers.ensure_loaded()
        families = {f for m in models for f in self._tokenizers.families(m)}
        prompt = self._bound.bound(_as_sent(req, plan), families)
        # A losing hedge is billed for the prompt it read: reserve the prompt once per possible hedge too.
        prompt *= 1 + max((self._tokenizers.hedges(m) for m in models), default=0)
        return prompt + _max_tokens(req)

    async def admit_budget(self, principal: Principal, parsed: Parsed, plan: AgentPlan | None, headers: dict):
        """The budget half of admission (the meter's Admit), for a request whose tokens are already bounded."""
        req = parsed.request
        if plan is None and not self._admission.needed(principal, req.model):
            return None
        if plan is not None and not plan.models:
            return None  # only remote agents: nothing of ours to meter
        admitted = await self._admission.admit(principal, parsed, plan)
        if isinstance(admitted, tuple):
            status_code, error, extra = admitted
            return status_code, error, {**headers, **extra}
        return admitted

    def release(self, principal: Principal, parsed: Parsed, admitted, plan: AgentPlan | None) -> None:
        if admitted is not None and admitted.reserved_micros:
            caller = caller_for(principal, plan)
            self._admission.release(parsed.request.request_id, caller.workspace, caller.key_id)

    async def admit(self, principal: Principal, model: str, tokens: int, headers: dict,
                    agent_id: str = "") -> tuple[int, dict] | None:
        """(status, error) when the caller may not make this call now; adds the rate-limit headers."""
        if not principal.may_use(model):
            return 404, _err(f"The model `{model}` does not exist or you do not have access to it.",
                             "invalid_request_error", "model_not_found", "model")
        refused = await self._limits.admit(principal, tokens, headers, agent_id)
        return None if refused is None else (429, refused)

    def settle(self, principal: Principal, estimated: int, actual: int, agent_id: str = "") -> None:
        """Corrects the token charge to the actual usage, off the response path."""
        if actual != estimated and (principal.record is not None or principal.caller.agent_id or agent_id):
            self._spawn(self._limits.settle(principal, estimated, actual, agent_id))

    @staticmethod
    def apply_admission(parsed: Parsed, admitted, headers: dict, route: bool = True) -> bool:
        """Routes to the model the meter chose (not for agents, which pick their own); caps output at
        what the budget affords. True when capped."""
        req = parsed.request
        if admitted.model and route:
            req.model = admitted.model
        if admitted.served_tier:
            headers["x-tokenyard-tier"] = admitted.served_tier
        if admitted.degraded:
            headers["x-tokenyard-degraded"] = "true"
        if admitted.remaining_micros >= 0:
            headers["x-tokenyard-budget-remaining-usd"] = f"{admitted.remaining_micros / 1_000_000:.6f}"
        allowance = admitted.completion_token_allowance
        if not allowance:
            return False
        field = "max_completion_tokens" if req.HasField("max_completion_tokens") else "max_tokens"
        asked = getattr(req, field) if req.HasField(field) else 0
        if asked and asked <= allowance:
            return False
        # The upstream stops at what the budget affords; that stop is then reported as a budget stop.
        setattr(req, field, allowance)
        return True

    async def _stream(self, request, dialect, parsed: Parsed, call, first, headers: dict, budget_capped: bool):
        resp = web.StreamResponse(headers={**SSE_HEADERS, **headers})
        await resp.prepare(request)
        writer = dialect.writer(parsed, first)
        msg = first
        budget_hit = False
        while True:
            if msg is grpc.aio.EOF:
                error = _err("The stream ended unexpectedly; the answer is incomplete.", "upstream_error",
                             "stream_interrupted")
                await resp.write(writer.fail(_broken_final(error), error))
                return resp, None
            if msg.HasField("final"):
                final = msg.final
                if budget_hit and not final.error.code:
                    final.error.CopyFrom(router_pb2.ChatError(
                        type="insufficient_quota", code="budget_exceeded",
                        message="The budget ran out during this answer; it is incomplete."))
                if final.error.code:
                    await resp.write(writer.fail(final, _err(final.error.message, final.error.type, final.error.code)))
                else:
                    await resp.write(writer.finish(final, parsed.include_usage))
                return resp, final
            if msg.deltas:
                if budget_capped:
                    for d in msg.deltas:
                        if d.finish_reason == "length":  # stopped by the budget cap, not by the client's limit
                            d.finish_reason, budget_hit = "", True
                await resp.write(writer.chunk(msg))
            try:
                msg = await call.read()
            except grpc.aio.AioRpcError as err:
                # The router went away mid-stream (or the call failed): the same ending as an upstream
                # that broke mid-stream, a finish_reason "error" chunk, then the error event.
                error = from_rpc_error(err)[1]["error"]
                await resp.write(writer.fail(_broken_final(error), error))
                return resp, None

    async def _assemble(self, dialect, parsed: Parsed, call, first, headers: dict):
        """The non-streaming answer: `first` is the whole answer from Complete (`call` None), or the first
        message of an agent's stream, read to its final message here."""
        messages, msg = [first], first
        while not msg.HasField("final"):
            if call is None:  # Complete's answer always carries `final`; without one it is incomplete
                msg = grpc.aio.EOF
                break
            try:
                msg = await call.read()
            except grpc.aio.AioRpcError as err:
                code, body, extra = from_rpc_error(err)
                return dialect.error(code, body["error"], {**headers, **extra}), None
            if msg is grpc.aio.EOF:
                break
            messages.append(msg)
        if msg is grpc.aio.EOF:
            return dialect.error(502, _err("The upstream answer ended unexpectedly.", "upstream_error",
                                           "stream_interrupted"), headers), None
        final = msg.final
        headers = {**headers, **routing_headers(final)}
        if final.error.code:
            return dialect.error(502, _err(final.error.message, final.error.type, final.error.code), headers), final
        body = dialect.body(parsed, first, messages, final)
        return web.json_response(body, headers=headers, dumps=_dumps), final

    def _count(self, model: str, final: router_pb2.ChatFinal | None) -> None:
        if final is None:
            return
        self._metrics.model_usage(model, final.usage.prompt_tokens, final.usage.completion_tokens, final.cost_micros)
        if final.error.code:
            self._metrics.stream_errors.labels(model, final.error.code).inc()

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @staticmethod
    def _log(request: web.Request, key_id: str, parsed: Parsed, final: router_pb2.ChatFinal | None, status: str,
             t0: float) -> None:
        usage = final.usage if final is not None else None
        log.info("request", request_id=request[REQUEST_ID], client_request_id=request[CLIENT_REQUEST_ID],
                 key_id=key_id, model=parsed.request.model, stream=parsed.stream,
                 deployment=final.deployment if final is not None else "", status=status,
                 prompt_tokens=usage.prompt_tokens if usage else 0,
                 completion_tokens=usage.completion_tokens if usage else 0,
                 cost_micros=final.cost_micros if final is not None else 0,
                 latency_ms=round((time.monotonic() - t0) * 1000, 2))


def _broken_final(error: dict) -> router_pb2.ChatFinal:
    """The final message a stream that lost its router never got: its error, and no usage (the router,
    if it comes back, or its spool, meters what was streamed)."""
    return router_pb2.ChatFinal(error=router_pb2.ChatError(
        type=error.get("type") or "upstream_error", code=error.get("code") or "stream_interrupted",
        message=error.get("message") or "The answer is incomplete."))


def _dumps(obj) -> str:
    return orjson.dumps(obj).decode()

"""The flow every chat-like endpoint shares, whatever its client dialect:

authenticate (middleware) -> parse/validate -> model allowed? -> rate limits -> router stream ->
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
from services.edge.admission import Admission
from services.edge.agent_model import AgentModel, is_agent_model
from services.edge.auth import Principal
from services.edge.completions_format import routing_headers
from services.edge.middleware import PRINCIPAL, REQUEST_ID
from services.edge.limits import Limits
from tokenyard.router.v1 import router_pb2, router_pb2_grpc

log = structlog.get_logger()

SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _err(message: str, type_: str, code: str, param: str | None = None) -> dict:
    return {"message": message, "type": type_, "param": param, "code": code}


class ChatRelay:
    def __init__(self, cfg: EdgeConfig, router: router_pb2_grpc.RouterServiceStub, limits: Limits,
                 admission: Admission, agents: AgentModel, metrics: Metrics | None = None) -> None:
        self._cfg = cfg
        self._agents = agents
        self._metrics = metrics or Metrics()
        self._router = router
        self._limits = limits
        self._admission = admission
        self._background: set[asyncio.Task] = set()

    def handler(self, dialect: Dialect):
        """The aiohttp handler serving `dialect` on this relay."""
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self.handle(request, dialect)
        return handle

    async def handle(self, request: web.Request, dialect: Dialect) -> web.StreamResponse:
        t0 = time.monotonic()
        rid, principal = request[REQUEST_ID], request[PRINCIPAL]
        headers = {"x-request-id": rid}
        try:
            parsed = dialect.parse(await request.read(), rid, principal.caller)
        except Invalid as exc:
            return dialect.error(exc.status, _err(exc.message, "invalid_request_error", exc.code, exc.param), headers)
        refused = await self.admit(principal, parsed.request.model, parsed.estimated_tokens, headers)
        if refused is not None:
            return dialect.error(*refused, headers)
        admitted = None
        # Agent calls are metered (the router records them) but not reserved ahead: the agent picks the model.
        if self._admission.needed(principal, parsed.request.model) and not is_agent_model(parsed.request.model):
            admitted = await self._admission.admit(principal, parsed)
            if isinstance(admitted, tuple):
                status_code, error, extra = admitted
                return dialect.error(status_code, error, {**headers, **extra})
            budget_capped = self._apply_admission(parsed, admitted, headers)
        else:
            budget_capped = False
        unary = False
        if is_agent_model(parsed.request.model):
            call = await self._agents.open(principal, parsed)
            if isinstance(call, tuple):
                return dialect.error(call[0], call[1], {**headers, **call[2]})
        elif parsed.stream:
            call = self._router.Chat(parsed.request, timeout=self._cfg.request_timeout)
        else:
            # The whole answer in one message: no stream to read message by message.
            call, unary = self._router.Complete(parsed.request, timeout=self._cfg.request_timeout), True
        status, final = "error", None
        try:
            try:
                first = await (call if unary else call.read())
            except grpc.aio.AioRpcError as err:
                code, body, extra = from_rpc_error(err)
                status = err.code().name
                if admitted is not None and admitted.reserved_micros:
                    self._admission.release(parsed.request.request_id, principal.caller.workspace)
                return dialect.error(code, body["error"], {**headers, **extra})
            self._metrics.ttft.labels(parsed.request.model).observe(time.monotonic() - t0)
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
            self.settle(principal, parsed.estimated_tokens, final.usage.total_tokens if final is not None else 0)
            self._log(rid, principal.caller.key_id, parsed, final, status, t0)
            self._count(parsed.request.model, final)

    async def admit(self, principal: Principal, model: str, tokens: int, headers: dict) -> tuple[int, dict] | None:
        """(status, error) when the caller may not make this call now; adds the rate-limit headers."""
        if not principal.may_use(model):
            return 404, _err(f"The model `{model}` does not exist or you do not have access to it.",
                             "invalid_request_error", "model_not_found", "model")
        refused = await self._limits.admit(principal, tokens, headers)
        return None if refused is None else (429, refused)

    def settle(self, principal: Principal, estimated: int, actual: int) -> None:
        """Corrects the token charge to the actual usage, off the response path."""
        if actual != estimated and (principal.record is not None or principal.caller.agent_id):
            self._spawn(self._limits.settle(principal, estimated, actual))

    @staticmethod
    def _apply_admission(parsed: Parsed, admitted, headers: dict) -> bool:
        """Routes to the model the meter chose; caps output at what the budget affords. True when capped."""
        req = parsed.request
        if admitted.model:
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
    def _log(rid: str, key_id: str, parsed: Parsed, final: router_pb2.ChatFinal | None, status: str, t0: float) -> None:
        usage = final.usage if final is not None else None
        log.info("request", request_id=rid, key_id=key_id, model=parsed.request.model, stream=parsed.stream,
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

"""Runs one embeddings request with the same selection, retries, fallbacks and breakers as chat
(an attempt is the whole call), and records its usage to the meter."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from services.common.errors import invalid
from services.common.outbound import OutboundPolicy
from services.router.request_limits import RequestLimits, check_model_name
from services.router.errors import to_gateway_error
from services.router.dispatcher import Dispatcher, Lease, Trace
from services.router.metering import Metering
from services.router.providers.base import UpstreamError
from services.router.registry import Target
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2

log = structlog.get_logger()
MAX_INPUTS = 2048
DEFAULT_DEADLINE = 120.0


class _EmbedAttempts:
    def __init__(self, runner: "EmbedRunner", req: router_pb2.EmbedRequest, trace: Trace) -> None:
        self._runner, self._req, self._trace = runner, req, trace

    async def call(self, target: Target, deadline: float) -> dict:
        provider = self._runner.provider_for(target)
        try:
            async with asyncio.timeout(max(0.001, deadline - self._runner.monotonic())):
                return await provider.embed(self._req, target.upstream_model, api_key=target.api_key)
        except TimeoutError:
            raise UpstreamError(0, "the embeddings call timed out", kind="timeout") from None

    async def discard(self, result: dict) -> None:
        return None

    def hedge_lost(self, lease: Lease) -> None:
        return None  # embeddings are not hedged (the group policy's hedge applies to chat streams only)


class EmbedRunner:
    def __init__(self, provider_for: Callable[[Target], object], dispatcher: Dispatcher, metering: Metering,
                 monotonic: Callable[[], float] = time.monotonic, outbound: OutboundPolicy | None = None,
                 limits: RequestLimits | None = None) -> None:
        self.provider_for = provider_for
        self._limits = limits or RequestLimits()
        self._outbound = outbound or OutboundPolicy()
        self._dispatcher = dispatcher
        self._metering = metering
        self.monotonic = monotonic

    async def run(self, req: router_pb2.EmbedRequest, timeout: float | None = None) -> router_pb2.EmbedResponse:
        _validate(req)
        check_model_name(req.model)
        self._limits.check_embedding_inputs(i.text for i in req.inputs)
        if req.byok.base_url:
            await self._outbound.check_url(req.byok.base_url, "llm.base_url")
        t0 = self.monotonic()
        deadline = t0 + (timeout if timeout is not None else DEFAULT_DEADLINE)
        record, trace = self._metering.start(req), Trace(request_id=req.request_id, operation="embeddings")
        try:
            byok = req.byok if req.HasField("byok") and req.byok.provider else None
            lease, body = await self._dispatcher.run(req.model, byok, deadline, _EmbedAttempts(self, req, trace), trace)
            record.deployment, record.model = lease.target.name, lease.model
            record.upstream = lease.target.upstream_model
            try:
                resp = _to_response(body, len(req.inputs))
            except (KeyError, TypeError, ValueError) as exc:
                err = UpstreamError(502, f"malformed embeddings response: {type(exc).__name__}")
                log.warning("upstream_attempt_failed", request_id=req.request_id, deployment=lease.target.name,
                            operation="embeddings", status=502, kind=err.kind, cause="retry", error=err.message)
                self._dispatcher.finish(lease, err)
                raise to_gateway_error(err) from None
            self._dispatcher.finish(lease)
            record.status, record.usage = "ok", resp.usage
            resp.deployment, resp.attempts, resp.fallbacks = lease.target.name, trace.attempts, trace.fallbacks
            resp.tried_deployments.extend(trace.tried)
            resp.cost_micros, known = self._metering.cost(lease.target.name, resp.usage, lease.model, record.upstream)
            resp.cost_unknown = not known
            await self._metering.commit(req, record, trace)
            return resp
        finally:
            if record.usage is None:
                record.usage = common_pb2.Usage()
            self._metering.embed(req, record, trace)


def _validate(req: router_pb2.EmbedRequest) -> None:
    if not req.model:
        raise invalid("`model` is required.", "model")
    if not req.inputs:
        raise invalid("`input` must not be empty.", "input")
    if len(req.inputs) > MAX_INPUTS:
        raise invalid(f"`input` may hold at most {MAX_INPUTS} items.", "input")
    for i, item in enumerate(req.inputs):
        if not item.text and not item.tokens:
            raise invalid(f"`input[{i}]` is empty.", "input")
    if req.encoding_format not in ("", "float", "base64"):
        raise invalid("`encoding_format` must be `float` or `base64`.", "encoding_format")
    if req.HasField("dimensions") and req.dimensions <= 0:
        raise invalid("`dimensions` must be a positive integer.", "dimensions")


def _to_response(body: dict, n_inputs: int) -> router_pb2.EmbedResponse:
    resp = router_pb2.EmbedResponse(model=str(body.get("model", "")))
    for item in sorted(body["data"], key=lambda d: d.get("index", 0)):
        values = item["embedding"]
        if isinstance(values, str):
            raise ValueError("base64 embedding from an upstream asked for floats")
        resp.data.add(index=int(item.get("index", 0)), values=values)
    if len(resp.data) != n_inputs:
        raise ValueError("embedding count differs from input count")
    u = body.get("usage") or {}
    prompt = int(u.get("prompt_tokens") or 0)
    resp.usage.CopyFrom(common_pb2.Usage(prompt_tokens=prompt, total_tokens=int(u.get("total_tokens") or prompt)))
    return resp

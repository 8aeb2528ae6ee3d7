"""The router's side of metering: one usage record per request (and one per losing hedge), the
token usage of a stream (as reported, or counted when the upstream reports none), and its cost.

A losing hedge is billed by its upstream for the prompt it read, so it gets its own record under
`<request_id>-hedge<n>` with `attempt_of` naming the request: the meter bills its tokens but counts
the client's request once. Likewise an agent's call that fails before its first token while another
agent of the chain follows (`fallback_follows`) is an attempt of the request, `<request_id>-agent<n>`,
and leaves the request's budget reservation to the agent that answers.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from services.common.pricing import PriceBook
from services.router import attempt_log
from services.router.coalesce import StreamState
from services.router.dispatcher import Lease, Trace
from services.router.tokens import TokenCounter
from services.router.usage_reporter import UsageReporter
from tokenyard.common.v1 import common_pb2
from tokenyard.meter.v1 import meter_pb2
from tokenyard.router.v1 import router_pb2


STARTED_AT_TOLERANCE_MS = 300_000
"""How far a caller's `started_at_ms` may be from the router's clock (edges' clocks drift a little; a
caller must not file usage under a closed period)."""


_TEMPLATE_PER_MESSAGE = 3
"""Chat-template tokens around each message (turn markers and role), a guess: hence still `estimated`."""
_TEMPLATE_PRIMER = 3


def _max_tokens(req) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        if req.HasField(name) and getattr(req, name) > 0:
            return int(getattr(req, name))
    return None


class Record:
    """Book-keeping of one request for its usage record."""

    __slots__ = ("model", "deployment", "upstream", "status", "ttft", "usage", "started_ms", "t0", "committed",
                 "http_status")

    def __init__(self, model: str, started_ms: int, t0: float) -> None:
        self.model, self.deployment, self.upstream, self.status = model, "", "", "error"
        self.ttft: float | None = None
        self.usage: common_pb2.Usage | None = None
        self.started_ms, self.t0 = started_ms, t0
        self.http_status = 0
        self.committed = False
        """Journaled before the answer's end went out (`commit`); `finish` then has nothing left to do."""


class Metering:
    def __init__(self, reporter: UsageReporter, counter: TokenCounter, prices: PriceBook | None = None,
                 clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._reporter = reporter
        self._counter = counter
        self._prices = prices or PriceBook()
        self._clock = clock
        self._monotonic = monotonic

    def start(self, req) -> Record:
        return Record(req.model, self.started_ms(req), self._monotonic())

    def started_ms(self, req) -> int:
        """The edge's acceptance time when it is plausible, else now: the edge files its own record of a
        broken stream under the same time, so both land on one UTC day (one request id, applied once)."""
        now = int(self._clock() * 1000)
        given = getattr(req, "started_at_ms", 0)
        return given if given and abs(given - now) <= STARTED_AT_TOLERANCE_MS else now

    def cost(self, deployment: str, usage: common_pb2.Usage | None, model: str = "",
             upstream: str = "") -> tuple[int, bool]:
        """(micro-dollars, known): an unpriced model costs "unknown", never a silent 0."""
        if usage is None or not model:
            return 0, True
        return self._prices.quote(model, deployment, usage, upstream)

    def usage(self, req: router_pb2.ChatRequest, state: StreamState) -> common_pb2.Usage:
        u = state.usage
        if u:
            prompt_details = u.get("prompt_tokens_details") or {}
            cached = prompt_details.get("cached_tokens") or 0
            prompt, completion = int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0)
            return common_pb2.Usage(prompt_tokens=prompt, completion_tokens=completion,
                                    total_tokens=int(u.get("total_tokens") or prompt + completion),
                                    cached_tokens=int(cached),
                                    cache_write_tokens=int(prompt_details.get("cache_write_tokens") or 0))
        prompt, completion = self._counter.prompt_tokens(req), self._counter.count("".join(state.text))
        limit = _max_tokens(req)
        if limit is not None:
            completion = min(completion, limit)  # the upstream stopped there; another tokenizer's count must not bill more
        return common_pb2.Usage(prompt_tokens=prompt, completion_tokens=completion,
                                total_tokens=prompt + completion, estimated=True)

    async def usage_counted(self, req: router_pb2.ChatRequest, state: StreamState, count) -> common_pb2.Usage:
        """Like `usage`, for a stream without reported usage whose server can count tokens itself
        (`count(text)`: tokens or None): the text sent and received, by the model's own tokenizer."""
        if state.usage:
            return self.usage(req, state)
        prompt_text = "\n".join([m.content for m in req.messages] + [p.text for m in req.messages for p in m.parts])
        prompt, completion = await asyncio.gather(count(prompt_text), count("".join(state.text)))
        if prompt is None or completion is None:
            return self.usage(req, state)
        prompt += _TEMPLATE_PER_MESSAGE * len(req.messages) + _TEMPLATE_PRIMER
        limit = _max_tokens(req)
        completion = min(completion, limit) if limit is not None else completion
        return common_pb2.Usage(prompt_tokens=prompt, completion_tokens=completion,
                                total_tokens=prompt + completion, estimated=True)

    async def commit(self, req, record: Record, trace: Trace | None = None) -> None:
        """The record, on disk, before the client sees the end of its answer (a router killed after it
        has answered loses nothing; the journal re-sends it at the next start)."""
        record.committed = True
        await self._reporter.commit(self._request_record(req, record, trace))

    def finish(self, req, record: Record, trace: Trace) -> None:
        if not record.committed:
            self._reporter.submit(self._request_record(req, record, trace))

    def _request_record(self, req, record: Record, trace: Trace | None) -> meter_pb2.UsageRecord:
        ttft = record.ttft if isinstance(req, router_pb2.ChatRequest) else None
        out = self._usage_record(req.request_id, req, record.deployment, record.usage, record.status, record, ttft)
        if trace is not None:
            out.attempts, out.hedges = trace.attempts, trace.hedges
            out.attempt_log.extend(attempt_log.attempts(trace, self._monotonic, record.status))
        out.model_requested, out.http_status = req.model, record.http_status
        out.trace_id = attempt_log.current_trace_id()
        if getattr(req, "fallback_follows", False) and record.ttft is None and record.status != "cancelled":
            # Another agent answers instead: this call is an attempt of the request, not the request.
            out.request_id, out.attempt_of = f"{req.request_id}-agent{req.agent_attempt}", req.request_id
            out.attempts = out.hedges = 0
        elif getattr(req, "attempt_of", ""):
            out.attempt_of, out.attempts, out.hedges = req.attempt_of, 0, 0
        return out

    def hedge_lost(self, req, lease: Lease, trace: Trace) -> None:
        """The upstream read the prompt before it was cancelled: bill an estimate of it."""
        prompt = self._counter.prompt_tokens(req) if isinstance(req, router_pb2.ChatRequest) else 0
        usage = common_pb2.Usage(prompt_tokens=prompt, total_tokens=prompt, estimated=True)
        record = Record(lease.model or req.model, self.started_ms(req), lease.started)
        record.upstream = lease.target.upstream_model
        out = self._usage_record(f"{req.request_id}-hedge{trace.hedges}", req, lease.target.name, usage,
                                 "hedge_lost", record, lease.ttft)
        out.attempt_of = req.request_id
        self._reporter.submit(out)

    def embed(self, req: router_pb2.EmbedRequest, record: Record, trace: Trace | None = None) -> None:
        if not record.committed:
            self._reporter.submit(self._request_record(req, record, trace))

    def _usage_record(self, request_id: str, req, deployment: str, usage, status: str, record: Record,
                      ttft: float | None) -> meter_pb2.UsageRecord:
        cost, known = self.cost(deployment, usage, record.model, record.upstream)
        return meter_pb2.UsageRecord(
            cost_micros=cost, cost_known=known,
            request_id=request_id, caller=req.caller, model=record.model, deployment=deployment,
            usage=usage or common_pb2.Usage(), latency_ms=int((self._monotonic() - record.t0) * 1000),
            ttft_ms=int(ttft * 1000) if ttft is not None else 0, status=status, started_at_ms=record.started_ms,
            client_request_id=req.client_request_id)

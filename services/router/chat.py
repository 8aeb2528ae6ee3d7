"""Runs one chat request: pick a deployment, stream from it, fail over before the first token,
end with usage, and hand the usage record to the reporter whatever happened.

The mid-stream contract (DESIGN.md): until the first token reaches the client, a failed attempt
moves to the next deployment invisibly; after it, the stream is never continued by another model
and ends with an error in the final message, carrying the usage so far.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import structlog

from services.common.errors import invalid, not_found
from services.router.coalesce import StreamState, has_output, to_response
from services.router.errors import is_retryable, to_gateway_error
from services.router.providers.base import Provider, UpstreamError
from services.router.registry import Registry, Target
from services.router.tokens import TokenCounter
from services.router.usage_reporter import UsageReporter
from tokenyard.common.v1 import common_pb2
from tokenyard.meter.v1 import meter_pb2
from tokenyard.router.v1 import router_pb2

log = structlog.get_logger()


class _Outcome:
    """Book-keeping of one request for its usage record."""

    __slots__ = ("deployment", "attempts", "status", "ttft", "usage")

    def __init__(self) -> None:
        self.deployment, self.attempts, self.status = "", 0, "error"
        self.ttft: float | None = None
        self.usage: common_pb2.Usage | None = None


class ChatRunner:
    def __init__(self, registry: Registry, providers: dict[str, Provider], reporter: UsageReporter,
                 counter: TokenCounter, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._registry = registry
        self._providers = providers
        self._reporter = reporter
        self._counter = counter
        self._clock = clock
        self._monotonic = monotonic

    async def run(self, req: router_pb2.ChatRequest) -> AsyncIterator[router_pb2.ChatResponse]:
        if not req.model:
            raise invalid("`model` is required.", "model")
        if not req.messages:
            raise invalid("`messages` must contain at least one message.", "messages")
        targets = self._registry.targets(req.model)
        if not targets:
            raise not_found(f"The model `{req.model}` does not exist or you do not have access to it.", param="model")
        started_ms, t0 = int(self._clock() * 1000), self._monotonic()
        state, outcome = StreamState(), _Outcome()
        try:
            async for msg in self._attempts(req, targets, state, outcome, t0):
                yield msg
        except (asyncio.CancelledError, GeneratorExit):
            outcome.status = "cancelled"
            raise
        finally:
            if outcome.usage is None:
                # Nothing reached the client before the end: no tokens to bill. Cut mid-stream: what was streamed.
                outcome.usage = self._usage(req, state) if outcome.ttft is not None else common_pb2.Usage()
            self._reporter.submit(self._record(req, outcome, started_ms, t0))

    async def _attempts(self, req, targets: list[Target], state: StreamState, outcome: _Outcome,
                        t0: float) -> AsyncIterator[router_pb2.ChatResponse]:
        last_error: UpstreamError | None = None
        for target in targets:
            outcome.attempts += 1
            outcome.deployment = target.deployment.name
            stream = self._providers[target.deployment.name].stream(req, target.upstream_model)
            try:
                held = await self._until_first_output(stream, target)
            except UpstreamError as err:
                await stream.aclose()
                log.warning("upstream_attempt_failed", request_id=req.request_id, deployment=target.deployment.name,
                            status=err.status, kind=err.kind, error=err.message)
                last_error = err
                if not is_retryable(err):
                    break
                continue
            outcome.ttft = self._monotonic() - t0
            try:
                async for msg in self._relay(held, stream, state):
                    yield msg
            except UpstreamError as err:
                # After the first token: never hand the rest to another model. End with the error.
                log.warning("upstream_stream_interrupted", request_id=req.request_id,
                            deployment=target.deployment.name, kind=err.kind, error=err.message)
                outcome.status = "interrupted"
                outcome.usage = self._usage(req, state)
                yield self._final(outcome, state, router_pb2.ChatError(
                    type="upstream_error", code="stream_interrupted",
                    message="The upstream stream broke after it had started; the answer is incomplete."))
                return
            finally:
                await stream.aclose()
            outcome.status = "ok"
            outcome.usage = self._usage(req, state)
            yield self._final(outcome, state, None)
            return
        assert last_error is not None
        raise to_gateway_error(last_error)

    async def _until_first_output(self, stream: AsyncIterator[list[dict]], target: Target) -> list[list[dict]]:
        """Reads (and holds back) batches until one carries output; bounded by the first-token timeout."""
        held: list[list[dict]] = []
        try:
            async with asyncio.timeout(target.deployment.timeouts.first_token):
                async for batch in stream:
                    held.append(batch)
                    if has_output(batch):
                        return held
        except TimeoutError:
            raise UpstreamError(0, "no first token within the deployment's first_token timeout", kind="timeout") from None
        raise UpstreamError(0, "the upstream ended the stream without any output", kind="stream_broken")

    @staticmethod
    async def _relay(held: list[list[dict]], stream: AsyncIterator[list[dict]],
                     state: StreamState) -> AsyncIterator[router_pb2.ChatResponse]:
        merged = [chunk for batch in held for chunk in batch]
        msg = to_response(merged, state)
        if msg is not None:
            yield msg
        async for batch in stream:
            msg = to_response(batch, state)
            if msg is not None:
                yield msg

    def _usage(self, req: router_pb2.ChatRequest, state: StreamState) -> common_pb2.Usage:
        u = state.usage
        if u:
            cached = ((u.get("prompt_tokens_details") or {}).get("cached_tokens")) or 0
            prompt, completion = int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0)
            return common_pb2.Usage(prompt_tokens=prompt, completion_tokens=completion,
                                    total_tokens=int(u.get("total_tokens") or prompt + completion),
                                    cached_tokens=int(cached))
        prompt, completion = self._counter.prompt_tokens(req), self._counter.count("".join(state.text))
        return common_pb2.Usage(prompt_tokens=prompt, completion_tokens=completion,
                                total_tokens=prompt + completion, estimated=True)

    @staticmethod
    def _final(outcome: _Outcome, state: StreamState, error: router_pb2.ChatError | None) -> router_pb2.ChatResponse:
        final = router_pb2.ChatFinal(usage=outcome.usage, deployment=outcome.deployment, attempts=outcome.attempts,
                                     system_fingerprint=state.system_fingerprint)
        if error is not None:
            final.error.CopyFrom(error)
        return router_pb2.ChatResponse(final=final)

    def _record(self, req: router_pb2.ChatRequest, outcome: _Outcome, started_ms: int, t0: float) -> meter_pb2.UsageRecord:
        now = self._monotonic()
        return meter_pb2.UsageRecord(
            request_id=req.request_id, caller=req.caller, model=req.model, deployment=outcome.deployment,
            usage=outcome.usage, latency_ms=int((now - t0) * 1000),
            ttft_ms=int(outcome.ttft * 1000) if outcome.ttft is not None else 0,
            status=outcome.status, started_at_ms=started_ms)

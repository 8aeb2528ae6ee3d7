"""Runs one chat request: the dispatcher finds an upstream that produces a first token (retries,
fallbacks, hedges, breakers), then the stream is relayed, and the usage record goes to the meter
whatever happened.

The mid-stream contract (DESIGN.md): until the first token reaches the client, a failed attempt
moves on invisibly; after it, the stream is never continued by another model and ends with an error
in the final message, carrying the usage so far.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import structlog

from services.common.errors import GatewayError, invalid
from services.common.logs import redact_text
from services.router.coalesce import StreamState, has_output, to_response
from services.router.dispatcher import Dispatcher, Lease, Trace
from services.router.metering import Metering
from services.router.providers.base import UpstreamError
from services.router.registry import Target
from services.router.request_limits import RequestLimits, check_model_name
from services.common.outbound import OutboundPolicy
from services.router.upstreams import UpstreamBook
from tokenyard.common.v1 import common_pb2
from tokenyard.router.v1 import router_pb2

log = structlog.get_logger()
DEFAULT_DEADLINE = 600.0


class _Opened:
    """An attempt that produced output: the batches read so far (held back) and the rest of the stream."""

    __slots__ = ("stream", "held")

    def __init__(self, stream: AsyncIterator[list[dict]], held: list[list[dict]]) -> None:
        self.stream, self.held = stream, held


class _ChatAttempts:
    """What one chat attempt is, for the dispatcher: open the stream, read up to the first output."""

    def __init__(self, runner: "ChatRunner", req: router_pb2.ChatRequest, trace: Trace, whole: bool) -> None:
        self._runner, self._req, self._trace, self._whole = runner, req, trace, whole

    async def call(self, target: Target, deadline: float) -> _Opened:
        stream = self._runner.book_provider(target).stream(self._req, target.upstream_model, api_key=target.api_key,
                                                           whole=self._whole)
        budget = min(target.deployment.timeouts.first_token, deadline - self._runner.monotonic())
        try:
            return _Opened(stream, await _until_first_output(stream, budget))
        except BaseException:
            await stream.aclose()
            raise

    async def discard(self, result: _Opened) -> None:
        await result.stream.aclose()

    def hedge_lost(self, lease: Lease) -> None:
        self._runner.metering.hedge_lost(self._req, lease, self._trace)


async def _until_first_output(stream: AsyncIterator[list[dict]], timeout: float) -> list[list[dict]]:
    """Reads (and holds back) batches until one carries output; bounded by the first-token timeout."""
    held: list[list[dict]] = []
    try:
        async with asyncio.timeout(max(0.001, timeout)):
            async for batch in stream:
                held.append(batch)
                if has_output(batch):
                    return held
    except TimeoutError:
        raise UpstreamError(0, "no first token within the first_token timeout", kind="timeout") from None
    raise UpstreamError(0, "the upstream ended the stream without any output", kind="stream_broken")


class ChatRunner:
    def __init__(self, book: UpstreamBook, dispatcher: Dispatcher, metering: Metering,
                 monotonic: Callable[[], float] = time.monotonic, limits: RequestLimits | None = None,
                 outbound: OutboundPolicy | None = None) -> None:
        self._book = book
        self._outbound = outbound or OutboundPolicy()
        self._limits = limits or RequestLimits()
        self._dispatcher = dispatcher
        self.metering = metering
        self.monotonic = monotonic

    def book_provider(self, target: Target):
        if target.deployment.name.startswith("byok:"):
            return self._book.byok_provider(target.deployment)
        try:
            return self._book.provider(target.deployment.name)
        except KeyError:  # a registered node that expired while this request held its target
            raise UpstreamError(0, "the upstream node left the registry", kind="connection") from None

    async def run(self, req: router_pb2.ChatRequest, timeout: float | None = None,
                  whole: bool = False) -> AsyncIterator[router_pb2.ChatResponse]:
        """`whole`: the client asked for one answer (Complete), so upstreams may be asked for one too."""
        if not req.model:
            raise invalid("`model` is required.", "model")
        if not req.messages:
            raise invalid("`messages` must contain at least one message.", "messages")
        check_model_name(req.model)
        self._limits.check_prompt(req.model, req.ByteSize())
        if req.byok.base_url:
            await self._outbound.check_url(req.byok.base_url, "llm.base_url")
        t0 = self.monotonic()
        deadline = t0 + (timeout if timeout is not None else DEFAULT_DEADLINE)
        record = self.metering.start(req)
        state, trace = StreamState(), Trace(request_id=req.request_id)
        try:
            byok = req.byok if req.HasField("byok") and req.byok.provider else None
            lease, opened = await self._dispatcher.run(req.model, byok, deadline, _ChatAttempts(self, req, trace, whole), trace)
            record.deployment, record.ttft, record.model = lease.target.name, lease.ttft, lease.model
            record.upstream = lease.target.upstream_model
            async for msg in self._relay(req, lease, opened, state, trace, record):
                yield msg
        except (asyncio.CancelledError, GeneratorExit):
            record.status = "cancelled"
            raise
        except GatewayError as err:
            record.http_status = err.http_status
            raise
        finally:
            if record.usage is None:
                # Nothing reached the client before the end: no tokens to bill. Cut mid-stream: what was streamed.
                record.usage = self.metering.usage(req, state) if record.ttft is not None else common_pb2.Usage()
            self.metering.finish(req, record, trace)

    async def _relay(self, req, lease: Lease, opened: _Opened, state: StreamState, trace: Trace,
                     record) -> AsyncIterator[router_pb2.ChatResponse]:
        error, complete = None, False
        try:
            msg = to_response([chunk for batch in opened.held for chunk in batch], state)
            if msg is not None:
                yield msg
            async for batch in opened.stream:
                msg = to_response(batch, state)
                if msg is not None:
                    yield msg
            complete = True
        except Exception as exc:
            # After the first token: never hand the rest to another model. End with the error. An
            # unexpected exception (an adapter bug) ends the stream the same way rather than as a bare 500.
            if not isinstance(exc, UpstreamError):
                log.exception("upstream_stream_crashed", request_id=req.request_id, deployment=lease.target.name)
            err = exc if isinstance(exc, UpstreamError) else UpstreamError(0, type(exc).__name__, kind="adapter_error")
            err.message = redact_text(err.message, lease.target.api_key or "", lease.target.deployment.api_key)
            error = err
            log.warning("upstream_stream_interrupted", request_id=req.request_id, deployment=lease.target.name,
                        kind=err.kind, error=err.message)
        finally:
            await opened.stream.aclose()
            record.usage = self.metering.usage(req, state)
            if complete and record.usage.estimated:  # not while a client that left is being cleaned up
                record.usage = await self._counted_by_server(req, lease, state, record.usage)
            self._dispatcher.observer.completed(lease, record.usage, state)
            self._dispatcher.finish(lease, error)
        record.status = "ok" if error is None else "interrupted"
        await self.metering.commit(req, record, trace)
        yield self._final(record, state, trace, None if error is None else router_pb2.ChatError(
            type="upstream_error", code="stream_interrupted",
            message="The upstream stream broke after it had started; the answer is incomplete."))

    async def _counted_by_server(self, req, lease: Lease, state: StreamState, usage):
        """A stream that reported no usage, from a self-hosted server: counted by its own tokenizer
        (bounded: server_tokens gives up after 2 s and the router's own estimate stands)."""
        count = getattr(self.book_provider(lease.target), "count_tokens", None)
        if count is None:
            return usage
        return await self.metering.usage_counted(req, state, lambda text: count(text, lease.target.upstream_model))

    def _final(self, record, state: StreamState, trace: Trace, error) -> router_pb2.ChatResponse:
        cost, known = self.metering.cost(record.deployment, record.usage, record.model, record.upstream)
        final = router_pb2.ChatFinal(
            usage=record.usage, deployment=record.deployment, attempts=trace.attempts,
            system_fingerprint=state.system_fingerprint, tried_deployments=trace.tried, fallbacks=trace.fallbacks,
            hedges=trace.hedges, cost_micros=cost, cost_unknown=not known)
        if error is not None:
            final.error.CopyFrom(error)
        return router_pb2.ChatResponse(final=final)

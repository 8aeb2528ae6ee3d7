"""Gets one request an upstream that answers: walks the plan's model groups (fallback chain), orders
each group's deployments (balancer), lets the shared breakers admit one, retries with full-jitter
backoff (Retry-After honoured, never past the deadline), hedges a slow first token, and waits for a
cooling deployment up to a bound before answering 503 with Retry-After.

It is generic over what an attempt is (`Attempts`): for chat, "open the stream and read until the
first output"; for embeddings, the whole call. The caller finishes the winning lease when it is done.
"""
from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from services.common.errors import not_found
from services.common.logs import redact_text
from services.router.backoff import HedgeBudget, retry_delay
from services.router.balancer import Balancer
from services.router.breaker import BreakerStore
from services.router.cooldown import Cooldowns
from services.router.errors import (AUTH, CONTENT_POLICY, CONTEXT_LENGTH, FATAL, RATE_LIMITED, VERDICTS, breaker_kind,
                                    classify, counts_against_breaker, no_deployment_available, to_gateway_error)
from services.router.observe import AttemptObserver
from services.router.plan import Group, Planner
from services.router.policy import RoutingPolicy
from services.router.providers.base import UpstreamError
from services.router.registry import Target
from services.router.stats import LocalStats
from tokenyard.common.v1 import common_pb2

log = structlog.get_logger()


@dataclass
class Lease:
    """One admitted upstream call."""

    target: Target
    started: float
    model: str = ""
    """The model group it serves (differs from the request's model after a fallback)."""
    hedge: bool = False
    ttft: float | None = None
    released: bool = False
    kind: str = "first"
    """first / retry / fallback / hedge, for traces and metrics."""
    outcome: str = ""
    span: Any = None
    cause: str = ""
    """Why it failed (the upstream error's kind), for the request log's attempt timeline."""
    ended: float | None = None
    probe: bool = False
    """Admitted as its breaker's half-open probe: its success puts the deployment back in rotation."""


@dataclass
class Trace:
    """What routing did for one request: reported in the final message and the usage record."""

    request_id: str = ""
    tried: list[str] = field(default_factory=list)
    attempts: int = 0
    fallbacks: int = 0
    hedges: int = 0
    operation: str = "chat"
    """The GenAI operation (`chat`, `embeddings`) its attempt spans are named after."""
    leases: list[Lease] = field(default_factory=list)
    """Every attempt in the order it started (the request log's attempt timeline)."""


class Attempts(Protocol):
    async def call(self, target: Target, deadline: float) -> Any:
        """One attempt up to its first output; raises UpstreamError."""

    async def discard(self, result: Any) -> None:
        """Releases a result that lost a hedge race (e.g. closes its stream)."""

    def hedge_lost(self, lease: Lease) -> None:
        """A losing hedge attempt ended (cancelled or discarded): meter it."""


class Dispatcher:
    def __init__(self, planner: Planner, policy: RoutingPolicy, breakers: BreakerStore, stats: LocalStats,
                 balancer: Balancer, budget: HedgeBudget, rng: random.Random | None = None,
                 monotonic: Callable[[], float] = time.monotonic, clock: Callable[[], float] = time.time,
                 sleep=asyncio.sleep, observer: AttemptObserver | None = None) -> None:
        self._planner, self._policy, self._breakers = planner, policy, breakers
        self.observer = observer or AttemptObserver()
        self._stats, self._balancer, self._budget = stats, balancer, budget
        self._rng = rng or random.Random()
        self._monotonic, self._clock, self._sleep = monotonic, clock, sleep
        self.cooldowns = Cooldowns(clock)

    async def run(self, model: str, byok: common_pb2.ProviderCredential | None, deadline: float,
                  fns: Attempts, trace: Trace) -> tuple[Lease, Any]:
        groups = self._planner.plan(model, byok)
        if not groups:
            raise not_found(f"The model `{model}` does not exist or you do not have access to it.", param="model")
        wait_until = min(deadline, self._monotonic() + self._policy.cooldown_wait)
        while True:
            found, reopen, last_error = await self._walk(groups, byok, deadline, fns, trace)
            if found is not None:
                return found
            if last_error is not None:
                raise to_gateway_error(*last_error)
            # Nothing admitted anywhere: every deployment is cooling down. Wait for the first to reopen.
            delay = (reopen - self._clock()) if reopen is not None else None
            if delay is None or self._monotonic() + delay > wait_until:
                raise no_deployment_available(delay)
            await self._sleep(max(0.01, delay))

    async def _walk(self, groups: list[Group], byok, deadline: float, fns: Attempts, trace: Trace):
        queue, reopen, last_error = list(groups), None, None
        while queue:
            group = queue.pop(0)
            failed: set[str] = set()  # target keys that failed in this request
            not_before: dict[str, float] = {}
            counted = False
            for n in range(max(1, self._policy.retry.attempts)):
                lease, group_reopen = await self._admit(group, failed, trace, own=not_before)
                if lease is None:
                    reopen = group_reopen if reopen is None or (group_reopen or reopen) < reopen else reopen
                    break
                if group.fallback and not counted:
                    trace.fallbacks, counted = trace.fallbacks + 1, True
                try:
                    return await self._attempt(group, lease, fns, trace, deadline, failed), None, None
                except UpstreamError as err:
                    vendor = lease.target.deployment.vendor
                    last_error, cls = (err, vendor), classify(err, vendor)
                    log.warning("upstream_attempt_failed", request_id=trace.request_id, deployment=lease.target.name,
                                vendor=vendor, operation=trace.operation, status=err.status, kind=err.kind,
                                upstream_code=err.code, cause=cls, error=err.message, attempt=trace.attempts)
                    if cls == FATAL:
                        raise to_gateway_error(err, vendor) from None
                    if cls in (CONTEXT_LENGTH, CONTENT_POLICY):
                        names = (group.policy.context_window_fallbacks if cls == CONTEXT_LENGTH
                                 else group.policy.content_policy_fallbacks)
                        queue = [g for g in self._planner.groups(names, byok)]
                        if not queue:
                            raise to_gateway_error(err, vendor) from None
                        break
                    if err.retry_after is not None:
                        not_before[lease.target.key] = self._monotonic() + err.retry_after
                    if cls == AUTH or n + 1 >= self._policy.retry.attempts:
                        continue
                    if not await self._backoff(n, group, failed, not_before, deadline):
                        break
        return None, reopen, last_error

    async def _backoff(self, n: int, group: Group, failed: set[str], not_before: dict[str, float],
                       deadline: float) -> bool:
        """Sleeps before retry n+1; False when the deadline does not allow it (move on instead)."""
        now = self._monotonic()
        fresh = [t for t in group.targets if t.key not in failed]
        # Retry-After binds the deployment that sent it: it only matters when no other one is left.
        floor = None if fresh else min((not_before.get(t.key, now) - now for t in group.targets), default=None)
        delay = retry_delay(n, self._policy.retry, self._rng, floor if floor and floor > 0 else None, deadline - now)
        if delay is None:
            return False
        await self._sleep(delay)
        return True

    async def _admit(self, group: Group, failed: set[str], trace: Trace, hedge: bool = False,
                     own: dict[str, float] | None = None) -> tuple[Lease | None, float | None]:
        cands = [t for t in group.targets if t.key not in failed]
        if not cands:
            if hedge:
                return None, None
            cands = list(group.targets)
        # A deployment cooling after a 429 takes no new calls; this request's own retry of it already
        # waited out its Retry-After (the backoff's floor), so that one may go.
        cooling = [t.key for t in cands if t.key not in (own or ()) and self.cooldowns.cooling(t.key)]
        if cooling:
            cands = [t for t in cands if t.key not in cooling]
            if not cands:
                return None, self.cooldowns.earliest(cooling)
        ordered = self._balancer.order(cands, group.policy.strategy, *self._breaker_hints(cands))
        key, reopen = await self._breakers.acquire([t.key for t in ordered])
        if key is None:
            return None, reopen
        target = next(t for t in ordered if t.key == key)
        self._stats.started(key)
        if not hedge:
            self._budget.earn()
        trace.attempts += 1
        trace.tried.append(target.name)
        state = self._breakers.seen.get(key, ("closed",))[0]
        lease = Lease(target, self._monotonic(), group.model, hedge=hedge, probe=state == "half_open")
        trace.leases.append(lease)
        self.observer.started(lease, group, trace, state)
        return lease, None

    def _breaker_hints(self, cands: list[Target]) -> tuple[set[str], set[str]]:
        """(open and still cooling: go last, due for their half-open probe: go first).

        A deployment whose cooldown has passed must get its probe even while siblings are healthy: put
        last, the breaker would always admit a healthy sibling first and the recovered deployment would
        never be tried again (0 of 348 requests in 95 s after recovery). The probe is one request, and
        the breaker (in Redis) bounds probes fleet-wide, so leading with it costs one call per cooldown."""
        now_ms = self._clock() * 1000
        open_hint, due = set(), set()
        for t in cands:
            st, until = self._breakers.seen.get(t.key, ("closed", 0.0))
            if st == "open":
                (due if until <= now_ms else open_hint).add(t.key)
            elif st == "half_open":
                open_hint.add(t.key)  # its probe is out: the breaker admits no second one
        return open_hint, due

    async def _attempt(self, group: Group, lease: Lease, fns: Attempts, trace: Trace, deadline: float,
                       failed: set[str]) -> tuple[Lease, Any]:
        """(winning lease, its result): the first attempt to produce output, hedged when it is slow."""
        hp = group.policy.hedge
        if not (hp.enabled and trace.hedges < hp.max and len(group.targets) > 1):
            # No hedge can start: the attempt runs in this task, without a task and a wait per request.
            result = await self._call(fns, lease, deadline, failed)
            lease.hedge = False
            return lease, result
        tasks = {asyncio.ensure_future(self._call(fns, lease, deadline, failed)): lease}
        try:
            delay = (self._stats.p95_ttft(lease.target.key) if hp.p95 else None) or hp.delay
            done, _ = await asyncio.wait(tasks, timeout=delay) if delay > 0 else (set(), set())
            if not done and self._budget.try_spend():
                second, _ = await self._admit(group, failed | {lease.target.key}, trace, hedge=True)
                if second is not None:
                    trace.hedges += 1
                    log.info("hedge_started", request_id=trace.request_id, deployment=second.target.name,
                             slow=lease.target.name, after_s=round(delay, 3))
                    tasks[asyncio.ensure_future(self._call(fns, second, deadline, failed))] = second
            return await self._first_success(tasks, fns)
        finally:
            for t in tasks:
                if not t.done():
                    t.cancel()

    async def _first_success(self, tasks: dict[asyncio.Future, Lease], fns: Attempts) -> tuple[Lease, Any]:
        pending, last = dict(tasks), None
        while pending:
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            winner = None
            for t in done:
                lease = pending.pop(t)
                if t.exception() is not None:
                    last = t.exception()
                elif winner is None:
                    winner = (lease, t.result())
                    lease.hedge = False  # whichever wins is the request's answer, even if it was the hedge
                else:
                    await fns.discard(t.result())
                    self._lost(lease, fns)
            if winner is not None:
                for t in pending:
                    t.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                for lease in pending.values():
                    self._lost(lease, fns)
                return winner
        if isinstance(last, UpstreamError):
            raise last
        raise last if last is not None else RuntimeError("no attempt ran")

    def _lost(self, lease: Lease, fns: Attempts) -> None:
        lease.hedge = True
        self._release(lease)
        self._ended(lease, "hedge_lost")
        fns.hedge_lost(lease)

    async def _call(self, fns: Attempts, lease: Lease, deadline: float, failed: set[str]) -> Any:
        name = lease.target.key
        try:
            try:
                with self.observer.current(lease):
                    result = await fns.call(lease.target, deadline)
            except (UpstreamError, asyncio.CancelledError):
                raise
            except Exception as exc:
                # A bug or an input an adapter cannot handle: without this the lease's in-flight count
                # leaked for good (with `max_concurrency`, eventually a blocked deployment) and the
                # client got a bare 500. It is a failed attempt like any other; the cause goes to the log.
                log.exception("upstream_attempt_crashed", deployment=lease.target.name)
                raise UpstreamError(0, f"the upstream adapter failed ({type(exc).__name__})",
                                    kind="adapter_error") from None
        except asyncio.CancelledError:
            self._release(lease)
            self._ended(lease, "cancelled")
            raise
        except UpstreamError as err:
            # An upstream's error text may quote the key it was sent (the deployment's or the customer's):
            # it goes to logs, traces and, for a 400, the client's message; none may carry the key.
            err.message = redact_text(err.message, lease.target.api_key or "", lease.target.deployment.api_key)
            failed.add(name)
            self._release(lease)
            self._ended(lease, "error", err)
            cls = classify(err, lease.target.deployment.vendor)
            if cls == RATE_LIMITED:
                self.cooldowns.cool(name, err.retry_after)  # alive but full: no breaker change for anyone
            elif counts_against_breaker(cls, byok=lease.target.api_key is not None):
                self._stats.observe_failure(name)
                self._breakers.record(name, False, breaker_kind(err), force_open=cls == AUTH)
            elif cls in VERDICTS or cls == AUTH:
                # The upstream is alive and answered; the request (or a customer's own key) was the problem.
                self._breakers.record(name, True)
            raise
        lease.ttft = self._monotonic() - lease.started
        self._stats.observe_ttft(name, lease.ttft)
        self.observer.first_token(lease)
        return result

    def _ended(self, lease: Lease, outcome: str, error: UpstreamError | None = None) -> None:
        if lease.ended is None:
            lease.ended = self._monotonic()
            lease.cause = (error.kind or str(error.status or "error")) if error is not None else ""
        self.observer.ended(lease, outcome, error)

    def _release(self, lease: Lease) -> None:
        if not lease.released:
            lease.released = True
            self._stats.finished(lease.target.key)

    def finish(self, lease: Lease, error: UpstreamError | None = None) -> None:
        """The winning attempt ended: count it for health and balancing (a mid-stream break is a failure)."""
        name = lease.target.key
        self._release(lease)
        self._ended(lease, "ok" if error is None else "interrupted", error)
        if error is None:
            if lease.probe:
                self._stats.forgive(name)  # the breaker kept it out for its failures; now it competes afresh
            self._breakers.record(name, True, latency=self._monotonic() - lease.started, ttft=lease.ttft)
        else:
            self._stats.observe_failure(name)
            self._breakers.record(name, False, breaker_kind(error))


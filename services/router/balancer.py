"""Orders a model group's deployments for one attempt: power of two choices (default), weighted
random, or priority (config order). The breaker then admits the first one it allows, so the order
is a preference, not a promise.
"""
from __future__ import annotations

import random

from services.router.registry import Target
from services.router.stats import LocalStats


class Balancer:
    def __init__(self, stats: LocalStats, rng: random.Random | None = None) -> None:
        self._stats = stats
        self._rng = rng or random.Random()

    def order(self, targets: list[Target], strategy: str, open_hint: set[str] = frozenset(),
              due: set[str] = frozenset()) -> list[Target]:
        """Preference order; deployments at their concurrency cap or known open go last, and those whose
        breaker is due its half-open probe go first (else a healthy sibling would always win)."""
        if len(targets) <= 1:
            return list(targets)
        if strategy == "priority":
            ordered = list(targets)
        elif strategy == "weighted":
            ordered = self._weighted(targets)
        else:
            ordered = self._p2c(targets)
        return sorted(ordered, key=lambda t: self._rank(t, open_hint, due))  # stable: keeps preference

    def _rank(self, t: Target, open_hint: set[str], due: set[str]) -> int:
        cap = t.deployment.max_concurrency
        if cap and self._stats.get(t.key).inflight >= cap:
            return 2
        if t.key in open_hint:
            return 2
        return 0 if t.key in due else 1

    def _p2c(self, targets: list[Target]) -> list[Target]:
        """Two random candidates, the lower score first; the rest by score as fallbacks within the group."""
        a, b = self._rng.sample(range(len(targets)), 2)
        score = {i: self._stats.score(t.key, t.deployment.weight) for i, t in enumerate(targets)}
        first, second = (a, b) if score[a] <= score[b] else (b, a)
        rest = sorted((i for i in range(len(targets)) if i not in (a, b)), key=score.__getitem__)
        return [targets[i] for i in (first, second, *rest)]

    def _weighted(self, targets: list[Target]) -> list[Target]:
        """A weighted random permutation (Efraimidis-Spirakis keys)."""
        keyed = [(self._rng.random() ** (1.0 / t.deployment.weight), t) for t in targets]
        keyed.sort(key=lambda kv: kv[0], reverse=True)
        return [t for _, t in keyed]

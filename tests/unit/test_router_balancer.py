"""Power of two choices over the router's local load and latency signals."""
from __future__ import annotations

import random

from services.router.balancer import Balancer
from services.router.config_parse import parse_deployment
from services.router.registry import Target
from services.router.stats import LocalStats


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def target(name: str) -> Target:
    dep = parse_deployment("d", {"name": name, "provider": "openai", "base_url": "http://127.0.0.1:9/v1",
                                 "models": ["m"]}, {})
    return Target(dep, "m")


def first_choices(balancer: Balancer, targets: list[Target], n: int = 200) -> dict[str, int]:
    counts = {t.name: 0 for t in targets}
    for _ in range(n):
        counts[balancer.order(targets, "p2c")[0].name] += 1
    return counts


def test_a_deployment_whose_first_call_is_still_out_gets_no_more_until_it_answers():
    stats = LocalStats(Clock())
    known, new = target("known"), target("new")
    stats.observe_ttft(known.key, 0.020)
    for _ in range(3):  # the known deployment is busy, the new one has one call out and no latency yet
        stats.started(known.key)
    stats.started(new.key)
    balancer = Balancer(stats, random.Random(1))
    assert first_choices(balancer, [known, new]) == {"known": 200, "new": 0}
    stats.finished(new.key)  # idle again: an unmeasured deployment is worth a first try
    assert first_choices(balancer, [known, new]) == {"known": 0, "new": 200}


def test_once_measured_the_faster_deployment_takes_the_load_until_its_queue_costs_more():
    clock = Clock()
    stats = LocalStats(clock)
    fast, slow = target("fast"), target("slow")
    stats.observe_ttft(fast.key, 0.005)
    stats.observe_ttft(slow.key, 0.120)
    balancer = Balancer(stats, random.Random(2))
    assert first_choices(balancer, [fast, slow]) == {"fast": 200, "slow": 0}
    for _ in range(30):  # 31 waiting behind 6 ms cost more than one behind 121 ms
        stats.started(fast.key)
    assert first_choices(balancer, [fast, slow]) == {"fast": 0, "slow": 200}


def test_a_latency_spike_counts_at_once_and_fades_with_time():
    clock = Clock()
    stats = LocalStats(clock)
    name = target("d").key
    stats.observe_ttft(name, 0.010)
    stats.observe_ttft(name, 0.200)
    assert stats.get(name).ewma == 200.0
    clock.now += 30.0  # three decay constants later, a fast answer has pulled most of the spike out
    stats.observe_ttft(name, 0.010)
    assert 10.0 < stats.get(name).ewma < 20.0

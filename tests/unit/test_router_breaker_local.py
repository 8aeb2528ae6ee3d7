"""The local breaker (used while Redis is down) follows the same rules as the Lua scripts."""
from __future__ import annotations

from services.router.breaker_local import LocalBreakers
from services.router.policy import BreakerPolicy

P = BreakerPolicy(consecutive=3, ratio=0.5, min_calls=4, window=60, cooldown=10, max_cooldown=40, probes=1)


def test_opens_after_n_consecutive_failures_then_half_open_probe_closes():
    b, t = LocalBreakers(P), 1_000_000.0
    for i in range(3):
        assert b.acquire(["a"], t, 60_000) == ("a", None)
        b.record("a", False, "http_5xx", -1, -1, t)
    assert b.cell("a").st == "open"
    assert b.acquire(["a"], t + 1000, 60_000) == (None, t + 10_000)
    assert b.acquire(["a"], t + 10_000, 60_000) == ("a", None)     # cooldown over: one probe
    assert b.cell("a").st == "half_open"
    assert b.acquire(["a"], t + 10_001, 60_000)[0] is None         # only one probe at a time
    b.record("a", True, "", 5, 2, t + 10_002)
    assert b.cell("a").st == "closed" and b.cell("a").cf == 0


def test_a_failed_probe_doubles_the_cooldown_up_to_the_cap():
    b, t = LocalBreakers(P), 0.0
    for _ in range(3):
        b.record("a", False, "timeout", -1, -1, t)
    cooldowns = []
    for _ in range(4):
        t = b.cell("a").until
        assert b.acquire(["a"], t, 10**9)[0] == "a"
        b.record("a", False, "timeout", -1, -1, t)
        cooldowns.append(b.cell("a").cd)
    assert cooldowns == [20_000, 40_000, 40_000, 40_000]


def test_failure_ratio_over_the_window_opens_without_consecutive_failures():
    b, t = LocalBreakers(P), 0.0
    for ok in (True, False, True, False, True, False):
        b.record("a", ok, "http_5xx", -1, -1, t)
        t += 10
    assert b.cell("a").st == "open" and b.cell("a").cf == 1


def test_an_auth_failure_opens_at_once_for_the_longest_cooldown():
    b = LocalBreakers(P)
    b.record("a", False, "auth", -1, -1, 0.0, force_open=True)
    assert b.cell("a").st == "open" and b.cell("a").until == 40_000


def test_acquire_prefers_the_first_admissible_in_order():
    b = LocalBreakers(P)
    for _ in range(3):
        b.record("a", False, "x", -1, -1, 0.0)
    assert b.acquire(["a", "b"], 1.0, 60_000) == ("b", None)


def test_successes_fold_per_deployment_and_a_failure_ends_the_run():
    from services.router.breaker import _fold_successes

    rows = [("a", 1, True, "", 10.0, 5.0, False), ("b", 2, True, "", 30.0, -1, False),
            ("a", 3, True, "", 20.0, -1, False), ("a", 4, False, "timeout", -1, -1, False),
            ("a", 5, True, "", 40.0, 8.0, False)]
    assert _fold_successes(rows) == [("a", 3, True, "", 15.0, 5.0, False, 2), ("b", 2, True, "", 30.0, -1, False, 1),
                                     ("a", 4, False, "timeout", -1, -1, False, 1),
                                     ("a", 5, True, "", 40.0, 8.0, False, 1)]

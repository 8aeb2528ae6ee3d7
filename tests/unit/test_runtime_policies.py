"""Restart backoff and remote-agent health classification: the numbers users configure and read."""
from __future__ import annotations

from services.runtime.remote_health import classify
from services.runtime.supervisor import backoff, should_restart
from tokenyard.runtime.v1 import runtime_pb2 as pb


def test_backoff_grows_by_the_multiplier_and_stops_at_the_maximum():
    policy = pb.RestartPolicy(backoff_initial_seconds=0.5, backoff_multiplier=3, backoff_max_seconds=10)
    assert [backoff(policy, n) for n in range(5)] == [0.5, 1.5, 4.5, 10, 10]
    assert [backoff(pb.RestartPolicy(), n) for n in range(3)] == [1.0, 2.0, 4.0]


def test_restart_modes():
    assert should_restart(pb.RestartPolicy(), 1) and not should_restart(pb.RestartPolicy(), 0)
    assert not should_restart(pb.RestartPolicy(mode=pb.RESTART_MODE_NEVER), 1)
    assert should_restart(pb.RestartPolicy(mode=pb.RESTART_MODE_ALWAYS), 0)
    assert should_restart(pb.RestartPolicy(mode=pb.RESTART_MODE_ON_FAILURE), None)  # exit code unknown (adopted)


def test_remote_health_levels():
    assert classify(1.0, 0, 0) == "unknown"
    assert classify(1.0, 0, 10) == "healthy"
    assert classify(0.99, 0, 100) == "degraded"
    assert classify(0.5, 2, 10) == "degraded"
    assert classify(0.49, 0, 10) == "unhealthy"
    assert classify(0.9, 3, 30) == "unhealthy"  # three failures in a row, whatever the rate

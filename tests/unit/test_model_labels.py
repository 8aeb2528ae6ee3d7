"""Metric labels for model names: configured exact names only, everything else `other`."""
from __future__ import annotations

from services.common.metrics import Metrics
from services.common.model_labels import OTHER, ModelLabels


def test_labels_come_from_the_config_and_families_are_other():
    labels = ModelLabels.from_config({
        "deployments": [{"models": ["fake-echo", "fake-*", {"name": "claude-sonnet", "upstream": "x"}]}],
        "routing": {"groups": {"gpt-4o": {"aliases": ["gpt4o"]}}}, "tiers": {"economy": {}},
        "tiers_escalation": {"tiers": [{"name": "fast", "model": "fake-fast"}]}})
    assert [labels(m) for m in ("fake-echo", "claude-sonnet", "gpt4o", "tier/economy", "fake-fast")] == [
        "fake-echo", "claude-sonnet", "gpt4o", "tier/economy", "fake-fast"]
    assert labels("fake-1234") == OTHER and labels("fake-*") == OTHER and labels("x\x00y") == OTHER


def test_unconfigured_metrics_still_bound_their_model_labels():
    m = Metrics()
    for i in range(1000):
        m.model_usage(f"m{i}", 1, 1, 0)
        m.ttft.labels(f"m{i}").observe(0.1)
    models = {s.labels["model"] for f in m.registry.collect() for s in f.samples if "model" in s.labels}
    assert len(models) == 257 and OTHER in models

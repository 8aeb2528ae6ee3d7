"""The shipped config answers the model ids agents send when given no model flag (issue 15, part 4):
Claude Code's default (and its `[1m]` form), Codex's and the OpenAI Agents SDK's, with no provider key
set, so each finds a deployment instead of a 404."""
from __future__ import annotations

from pathlib import Path

import pytest

from services.common import config_file
from services.router.config import load_deployments
from services.router.policy import parse_routing
from services.router.registry import Registry

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "tokenyard.yaml"


@pytest.fixture(scope="module")
def registry() -> Registry:
    raw = config_file.load(SHIPPED)
    return Registry(load_deployments(SHIPPED, {}, raw), parse_routing(raw.get("routing")).aliases())


@pytest.mark.parametrize("model", ["claude-opus-4-8", "claude-opus-4-8[1m]", "claude-sonnet-4-5-20250929",
                                   "claude-sonnet-4-5-20250929[1m]", "claude-haiku-4-5-20251001",
                                   "gpt-6.2-sol", "gpt-5.6-luna", "gpt-5-codex"])
def test_agent_default_model_ids_reach_a_deployment_with_no_keys(registry, model):
    targets = registry.targets(model)
    assert [t.deployment.name for t in targets] == ["fake"]
    assert targets[0].upstream_model == "fake-echo"


def test_agent_model_ids_are_listed(registry):
    listed = {name for name, _ in registry.models()}
    assert {"claude-opus-4-8", "claude-opus-4-8[1m]", "gpt-6.2-sol"} <= listed

"""Config the services would once have silently ignored: unknown fields, references that point nowhere,
deployments switched off by an unset variable. Each stops the start (or says so) naming the field."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from structlog.testing import capture_logs

from services.common.env import ConfigError
from services.router.config import RouterConfig

ROOT = Path(__file__).resolve().parents[2]
BASE = {
    "deployments": [
        {"name": "fake", "provider": "fake", "models": ["fake-echo", "fake-*"], "price": {"input": 0, "output": 0}},
        {"name": "oai", "provider": "openai", "vendor": "openai", "base_url": "https://api.openai.com/v1",
         "api_key_env": "TY_TEST_OPENAI_KEY", "api_key_required": True, "models": ["gpt-4o"]},
        {"name": "local", "provider": "openai", "base_url_env": "TY_TEST_LOCAL_URL", "models": ["llama"],
         "price": {"input": 0, "output": 0}},
    ],
}


def load(tmp_path, monkeypatch, doc: dict, env: dict | None = None) -> RouterConfig:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc))
    monkeypatch.setenv("TOKENYARD_CONFIG", str(path))
    monkeypatch.setenv("TOKENYARD_MASTER_KEY", "k" * 32)
    for var in ("TY_TEST_OPENAI_KEY", "TY_TEST_LOCAL_URL"):
        monkeypatch.delenv(var, raising=False)
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)
    return RouterConfig.from_env()


def with_(**sections) -> dict:
    return {**BASE, **sections}


@pytest.mark.parametrize("doc, error", [
    (with_(deployments=[{**BASE["deployments"][0], "wieght": 2}]), "deployments[0].wieght: unknown field"),
    (with_(deployments=[{**BASE["deployments"][0], "timeouts": {"frist_token": 1}}]),
     "deployments[0].timeouts.frist_token: unknown field"),
    (with_(deployments=[{**BASE["deployments"][0], "price": {"input": 1, "ouput": 1}}]),
     "deployments[0].price.ouput: unknown field"),
    (with_(deployments=[BASE["deployments"][0], {**BASE["deployments"][1], "base_url": "api.openai.com"}]),
     "deployments[1].base_url: must start with http:// or https://"),
    (with_(routing={"retry": {"atempts": 2}}), "routing.retry.atempts: unknown field"),
    (with_(routing={"groups": {"gpt-4o": {"fallback": ["llama"]}}}), "routing.groups.gpt-4o.fallback: unknown field"),
    (with_(routing={"groups": {"gpt-4o": {"hedge": {"dealy": 1}}}}), "routing.groups.gpt-4o.hedge.dealy: unknown field"),
    (with_(routing={"hedgebudget": 0.2}), "routing.hedgebudget: unknown field"),
    (with_(pricing={"model": {}}), "pricing.model: unknown field"),
    (with_(pricing={"models": {"gpt-4o": {"input": 1, "output": 1, "cache_read": 1}}}),
     "pricing.models.gpt-4o.cache_read: unknown field"),
    (with_(tiers={"gold": {"model": "gpt-4o", "monthly_tokens": 5, "overage": "log"}}), "tiers.gold.overage: unknown field"),
    (with_(tiers_escalation={"tiers": [{"name": "a", "model": "fake-a"}], "learnig": {}}),
     "tiers_escalation.learnig: unknown field"),
    (with_(tiers_escalation={"tiers": [{"name": "a", "model": "fake-a"}], "learning": {"min_sample": 3}}),
     "tiers_escalation.learning.min_sample: unknown field"),
])
def test_unknown_fields_are_errors_naming_the_field_path(tmp_path, monkeypatch, doc, error):
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, monkeypatch, doc)
    assert error in str(exc.value)


@pytest.mark.parametrize("doc, error", [
    (with_(routing={"groups": {"gpt-4o": {"fallbacks": ["claude-sonet"]}}}),
     "routing.groups.gpt-4o.fallbacks[0]: 'claude-sonet' is no model group"),
    (with_(routing={"groups": {"gpt-4o": {"context_window_fallbacks": ["nope"]}}}),
     "routing.groups.gpt-4o.context_window_fallbacks[0]: 'nope' is no model group"),
    (with_(routing={"groups": {"gpt-5": {"strategy": "p2c"}}}), "routing.groups.gpt-5: no deployment serves 'gpt-5'"),
    (with_(routing={"provider_default_models": {"openai": "gpt-4o-mini"}}),
     "routing.provider_default_models.openai: no deployment serves 'gpt-4o-mini'"),
    (with_(tiers={"gold": {"model": "gpt-4o-mini", "monthly_tokens": 5}}),
     "tiers.gold.model: no deployment serves 'gpt-4o-mini'"),
    (with_(tiers_escalation={"tiers": [{"name": "a", "model": "claude-x"}]}),
     "tiers_escalation.tiers[0].model: no deployment serves 'claude-x'"),
    (with_(pricing={"deployments": {"azure": {"*": {"input": 0, "output": 0}}}}),
     "pricing.deployments.azure: no deployment is named 'azure'"),
])
def test_references_that_point_nowhere_are_errors(tmp_path, monkeypatch, doc, error):
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, monkeypatch, doc)
    assert error in str(exc.value)


def test_references_to_switched_off_deployments_and_aliases_are_fine(tmp_path, monkeypatch):
    doc = with_(routing={"groups": {"gpt-4o": {"aliases": ["g4"], "fallbacks": ["llama"]},
                                    "fake-echo": {"fallbacks": ["g4", "fake-anything"]},
                                    "smart": {"fallbacks": ["gpt-4o"]}}},  # a virtual group: fallbacks only
                tiers={"gold": {"model": "gpt-4o", "monthly_tokens": 5}})
    cfg = load(tmp_path, monkeypatch, doc)  # oai and local are off: their models still count
    assert [d.name for d in cfg.deployments] == ["fake"]


def test_a_deployment_switched_off_by_an_unset_variable_says_so_naming_it(tmp_path, monkeypatch):
    with capture_logs() as logs:
        cfg = load(tmp_path, monkeypatch, BASE, {"TY_TEST_LOCAL_URL": "http://127.0.0.1:9/v1"})
    assert [d.name for d in cfg.deployments] == ["fake", "local"]
    off = [e for e in logs if e["event"] == "deployment_off"]
    assert [(e["deployment"], e["variable"]) for e in off] == [("oai", "TY_TEST_OPENAI_KEY")]
    assert "TY_TEST_OPENAI_KEY is unset" in off[0]["reason"]


def test_vendor_is_exposed_as_written_and_never_guessed(tmp_path, monkeypatch):
    cfg = load(tmp_path, monkeypatch, BASE, {"TY_TEST_OPENAI_KEY": "sk-x", "TY_TEST_LOCAL_URL": "http://h/v1"})
    by_name = {d.name: d for d in cfg.deployments}
    assert by_name["oai"].declared_vendor == "openai"
    assert by_name["local"].declared_vendor == "" and by_name["fake"].declared_vendor == ""


def test_a_deployment_price_is_read(tmp_path, monkeypatch):
    deps = [{**BASE["deployments"][0], "price": {"input": 2, "output": 4}}]
    cfg = load(tmp_path, monkeypatch, with_(deployments=deps))
    assert cfg.prices.worst_case_micros("fake-echo", 1_000_000, 1_000_000) == 6_000_000


@pytest.mark.parametrize("path", ["config/tokenyard.yaml", "deploy/k8s/configmap.yaml"])
def test_shipped_configs_load(tmp_path, monkeypatch, path):
    text = (ROOT / path).read_text()
    doc = yaml.safe_load(text)
    if "data" in doc:
        doc = yaml.safe_load(doc["data"]["tokenyard.yaml"])
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "MINIMAX_API_KEY", "OLLAMA_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    cfg = load(tmp_path, monkeypatch, doc)
    assert [d.name for d in cfg.deployments] == ["fake"]
    assert cfg.prices.unpriced() == []

"""The deployments file is validated at start with errors that name the field."""
from __future__ import annotations

import pytest
import structlog.testing

from services.common.env import ConfigError
from services.router.config import load_deployments


def _load(tmp_path, text: str, env=None):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return load_deployments(path, env or {})


@pytest.mark.parametrize("text,field", [
    ("deployments: []", "deployments"),
    ("deployments: [{provider: fake, models: [a]}]", "deployments[0].name"),
    ("deployments: [{name: a, provider: nope, models: [a]}]", "deployments[0].provider"),
    ("deployments: [{name: a, provider: openai, models: [a]}]", "deployments[0].base_url"),
    ("deployments: [{name: a, provider: openai, base_url: 'ftp://x', models: [a]}]", "deployments[0].base_url"),
    ("deployments: [{name: a, provider: fake, models: []}]", "deployments[0].models"),
    ("deployments: [{name: a, provider: fake, models: [a], timeouts: {total: -1}}]", "deployments[0].timeouts.total"),
    ("deployments: [{name: a, provider: fake, models: [a]}, {name: a, provider: fake, models: [b]}]", "deployments[1].name"),
])
def test_errors_name_the_field(tmp_path, text, field):
    with pytest.raises(ConfigError) as exc:
        _load(tmp_path, text)
    assert field in str(exc.value)


def test_a_required_key_keeps_its_deployment_off_until_set_and_says_so(tmp_path):
    text = """deployments:
  - {name: f, provider: fake, models: [a]}
  - {name: o, provider: openai, base_url: 'https://api.openai.com/v1', api_key_env: OPENAI_API_KEY,
     api_key_required: true, models: [gpt-4o]}
"""
    with structlog.testing.capture_logs() as logs:
        assert [d.name for d in _load(tmp_path, text)] == ["f"]
    assert any(e["event"] == "deployment_off" and e["deployment"] == "o" and e["variable"] == "OPENAI_API_KEY"
               for e in logs)
    deps = _load(tmp_path, text, {"OPENAI_API_KEY": "sk-x"})
    assert [d.name for d in deps] == ["f", "o"] and deps[1].api_key == "sk-x"
    assert "sk-x" not in repr(deps[1])


def test_an_optional_key_env_never_switches_its_deployment_off(tmp_path):
    """The README's add-a-server example: `api_key_env: VLLM_API_KEY  # optional` (issue 17, item 8)."""
    text = """deployments:
  - {name: vllm, provider: openai, base_url: 'http://127.0.0.1:8000/v1', api_key_env: VLLM_API_KEY,
     models: [llama]}
"""
    with structlog.testing.capture_logs() as logs:
        deps = _load(tmp_path, text)
    assert [(d.name, d.api_key) for d in deps] == [("vllm", "")]
    assert any(e["event"] == "deployment_without_key" and e["unset"] == "VLLM_API_KEY" for e in logs)
    assert _load(tmp_path, text, {"VLLM_API_KEY": "k"})[0].api_key == "k"


def test_default_config_loads():
    from services.common.config_file import DEFAULT_PATH

    deps = load_deployments(DEFAULT_PATH, {})
    assert any(d.provider == "fake" for d in deps)

"""The `request_limits:` section: defaults, per-model prompt limits, errors that name the field."""
from __future__ import annotations

import pytest

from services.common.env import ConfigError
from services.common.errors import GatewayError
from services.router.request_limits import RequestLimits


def test_per_model_prompt_limit_overrides_the_default_and_answers_413_naming_messages():
    limits = RequestLimits.from_config({"max_prompt_bytes": 1000, "models": {"fake-echo": 10}})
    limits.check_prompt("gpt-4o", 1000)
    with pytest.raises(GatewayError) as err:
        limits.check_prompt("fake-echo", 11)
    assert (err.value.http_status, err.value.param, err.value.code) == (413, "messages", "prompt_too_large")


@pytest.mark.parametrize("raw, field", [({"max_answer_bytes": 0}, "max_answer_bytes"), ({"bogus": 1}, "bogus"),
                                        ({"models": {"m": -1}}, "models.m")])
def test_bad_limits_name_the_field(raw, field):
    with pytest.raises(ConfigError, match=f"request_limits.{field}"):
        RequestLimits.from_config(raw)

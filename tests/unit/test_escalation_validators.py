"""Validators, the confidence score and the gates: each verdict explains what it saw."""
from __future__ import annotations

import pytest

from services.common.env import ConfigError
from services.router.escalation.config import EscalationConfig, Gate
from services.router.escalation.language import LanguageDetector
from services.router.escalation.validators import Answer, Expectations, Validators, extract_label, score
from services.router.escalation.config import DEFAULT_PENALTIES

SCHEMA = {"type": "json_schema", "json_schema": {"name": "x", "schema": {
    "type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}}}
TOOL = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


async def _check(answer: Answer, exp: Expectations | None = None) -> dict[str, bool]:
    verdicts = await Validators(LanguageDetector()).check(answer, exp or Expectations())
    return {v.name: v.passed for v in verdicts}


async def test_plain_answer_passes_the_basic_checks():
    assert await _check(Answer("Paris is the capital of France.", finish_reason="stop")) == {
        "non_empty": True, "finish_reason": True, "no_refusal": True}


@pytest.mark.parametrize("answer,failed", [
    (Answer("", finish_reason="stop"), "non_empty"),
    (Answer("cut off mid", finish_reason="length"), "finish_reason"),
    (Answer("I'm sorry, but I can't help with that.", finish_reason="stop"), "no_refusal"),
    (Answer("", refusal="policy", finish_reason="stop"), "no_refusal"),
])
async def test_each_basic_failure_is_named(answer, failed):
    assert (await _check(answer))[failed] is False


async def test_json_and_schema_are_checked_only_when_asked():
    exp = Expectations(response_format=SCHEMA)
    assert (await _check(Answer('{"n": 3}', finish_reason="stop"), exp))["schema"] is True
    assert (await _check(Answer('```json\n{"n": 3}\n```', finish_reason="stop"), exp))["json"] is True
    assert (await _check(Answer('{"n": "three"}', finish_reason="stop"), exp))["schema"] is False
    assert (await _check(Answer('{"n": ', finish_reason="stop"), exp))["json"] is False
    assert "json" not in await _check(Answer("not json", finish_reason="stop"))


async def test_a_hostile_schema_is_a_failed_check_not_an_error():
    exp = Expectations(response_format={"type": "json_schema", "json_schema": {"schema": {"type": 5}}})
    assert (await _check(Answer('{"n": 1}', finish_reason="stop"), exp))["schema"] is False


async def test_tool_arguments_must_parse_and_match_the_tool_schema():
    exp = Expectations(tools={"weather": TOOL})
    ok = Answer(tool_calls=[("weather", '{"city": "Oslo"}')], finish_reason="tool_calls")
    assert (await _check(ok, exp))["tool_args"] is True
    for calls in ([("weather", '{"town": 1}')], [("weather", '{"city": ')], [("launch", "{}")]):
        assert (await _check(Answer(tool_calls=calls, finish_reason="tool_calls"), exp))["tool_args"] is False


async def test_language_is_checked_on_long_enough_answers_only():
    exp = Expectations(language="fr")
    english = Answer("The weather today is sunny and warm across the whole country.", finish_reason="stop")
    french = Answer("Il fait beau et chaud aujourd'hui dans tout le pays, comme prévu.", finish_reason="stop")
    assert (await _check(english, exp))["language"] is False
    assert (await _check(french, exp))["language"] is True
    assert "language" not in await _check(Answer("Oui.", finish_reason="stop"), exp)


def test_score_subtracts_penalties_and_gates_follow_the_thresholds():
    from services.router.escalation.validators import Verdict

    verdicts = [Verdict("non_empty", True), Verdict("language", False), Verdict("finish_reason", False)]
    assert score(verdicts, DEFAULT_PENALTIES) == 1.0 and verdicts[1].penalty == 4.0
    assert score([Verdict("non_empty", False)], DEFAULT_PENALTIES) == 0.0
    gate = Gate()
    assert [gate.status(s) for s in (0, 3.9, 4, 6.9, 7, 10)] == [
        "pending_review", "pending_review", "warning", "warning", "approved", "approved"]


def test_labels_come_from_json_or_bare_text():
    labels = ("ham", "spam")
    assert extract_label('{"label": "spam"}', labels) == "spam"
    assert extract_label(" Ham. ", labels) == "ham"
    assert extract_label("maybe", labels) is None


def test_config_defaults_and_errors_name_the_field():
    cfg = EscalationConfig.from_config(None)
    assert [t.name for t in cfg.tiers] == ["fast", "medium", "large", "external"] and cfg.top.name == "external"
    assert cfg.task("unknown").name == "default"
    with pytest.raises(ConfigError, match=r"tiers_escalation.task_types.x.tiers"):
        EscalationConfig.from_config({"tiers": [{"name": "a", "model": "m"}], "task_types": {"x": {"tiers": ["b"]}}})
    with pytest.raises(ConfigError, match=r"tiers_escalation.tiers\[1\].name: duplicate"):
        EscalationConfig.from_config({"tiers": [{"name": "a", "model": "m"}, {"name": "a", "model": "n"}]})
    with pytest.raises(ConfigError, match=r"gate.escalate_below"):
        EscalationConfig.from_config({"task_types": {"default": {"gate": {"escalate_below": 11}}}})

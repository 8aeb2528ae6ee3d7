"""UTC period boundaries: day, ISO week (Monday first), month, month and year rollover; tier config."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.common.env import ConfigError
from services.meter.periods import day_of, month_of, period_range
from services.meter.tiers import TierBook


def ms(*args) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def test_day_is_utc_not_local():
    assert day_of(ms(2026, 3, 31, 23, 59, 59, 999000)) == date(2026, 3, 31)
    assert day_of(ms(2026, 4, 1, 0, 0, 0)) == date(2026, 4, 1)


def test_week_runs_monday_to_sunday_across_a_month_end():
    # 2026-04-01 is a Wednesday.
    assert period_range("week", date(2026, 4, 1)) == (date(2026, 3, 30), date(2026, 4, 5))
    assert period_range("week", date(2026, 4, 5)) == (date(2026, 3, 30), date(2026, 4, 5))
    assert period_range("week", date(2026, 4, 6)) == (date(2026, 4, 6), date(2026, 4, 12))


@pytest.mark.parametrize("at, expected", [
    (date(2026, 1, 31), (date(2026, 1, 1), date(2026, 1, 31))),
    (date(2026, 2, 1), (date(2026, 2, 1), date(2026, 2, 28))),
    (date(2028, 2, 29), (date(2028, 2, 1), date(2028, 2, 29))),    # leap year
    (date(2026, 12, 31), (date(2026, 12, 1), date(2026, 12, 31))),
    (date(2027, 1, 1), (date(2027, 1, 1), date(2027, 1, 31))),      # year rollover
])
def test_month_boundaries(at, expected):
    assert period_range("month", at) == expected


def test_month_key_rolls_over_at_utc_midnight():
    assert month_of(day_of(ms(2026, 4, 30, 23, 59, 59))) == "2026-04"
    assert month_of(day_of(ms(2026, 5, 1, 0, 0, 0))) == "2026-05"


def test_unknown_period_is_refused():
    with pytest.raises(ValueError):
        period_range("year", date(2026, 1, 1))


def test_default_tiers_are_the_issues_and_ordered_cheapest_first():
    book = TierBook.from_config(None)
    assert [(t.name, t.model, t.monthly_tokens, t.price_micros) for t in book.tiers] == [
        ("economy", "MiniMax-M2.5", 2_000_000, 5_000_000),
        ("standard", "gpt-4o-mini", 5_000_000, 10_000_000),
        ("premium", "gpt-4o", 10_000_000, 20_000_000)]
    assert book.cheaper(book.get("premium")).name == "standard"
    assert book.cheaper(book.get("economy")) is None
    assert book.requested("tier/standard", "") == "standard"
    assert book.requested("", "economy") == "economy"
    assert book.requested("gpt-4o", "economy") is None


@pytest.mark.parametrize("raw, field", [
    ({"t": {"monthly_tokens": 5, "price_usd": 1}}, "tiers.t.model"),
    ({"t": {"model": "m", "monthly_tokens": 0}}, "tiers.t.monthly_tokens"),
    ({"t": {"model": "m", "monthly_tokens": 5, "overage_policy": "ignore"}}, "tiers.t.overage_policy"),
    ({"t": {"model": "m", "monthly_tokens": 5, "price": 3}}, "tiers.t.price"),
])
def test_bad_tiers_name_the_field(raw, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        TierBook.from_config(raw)

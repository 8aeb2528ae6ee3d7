"""Calendar periods in UTC: the day, ISO week (Monday first) or month containing a moment."""
from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta


def day_of(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, UTC).date()


def period_range(period: str, at: date) -> tuple[date, date]:
    """First and last day (inclusive) of the period containing `at`."""
    if period == "day":
        return at, at
    if period == "week":
        start = at - timedelta(days=at.weekday())
        return start, start + timedelta(days=6)
    if period == "month":
        last = calendar.monthrange(at.year, at.month)[1]
        return at.replace(day=1), at.replace(day=last)
    raise ValueError(f"unknown period {period!r}")


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def month_of(day: date) -> str:
    """YYYY-MM of a date (the key of a monthly quota)."""
    return f"{day.year:04d}-{day.month:02d}"

"""The date and money functions have exact, documented semantics."""

from __future__ import annotations

import datetime as dt

import pytest

from engine import functions as f

UTC = dt.timezone.utc


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.mark.parametrize("start, end, days", [
    ("2026-03-01T10:00:00Z", "2026-03-31T09:00:00Z", 30),
    ("2026-03-01T23:59:00Z", "2026-03-02T00:01:00Z", 1),
    # 23:30 at UTC-5 is already the next day in UTC.
    ("2026-03-01T23:30:00-05:00", "2026-03-31T12:00:00Z", 29),
    ("2026-03-31T10:00:00Z", "2026-03-01T10:00:00Z", -30),
])
def test_days_between_counts_utc_calendar_days(start, end, days):
    assert f.days_between(at(start), at(end)) == days


def test_hours_between_is_exact():
    assert f.hours_between(at("2026-03-01T00:00:00Z"), at("2026-03-01T12:00:00Z")) == 12
    assert f.hours_between(at("2026-03-01T00:00:00Z"), at("2026-03-01T12:01:00Z")) > 12
    assert f.hours_between(at("2026-03-01T00:00:00+01:00"), at("2026-03-01T00:00:00Z")) == 1


@pytest.mark.parametrize("start, months, end", [
    (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
    (dt.date(2024, 2, 29), 12, dt.date(2025, 2, 28)),
    (dt.date(2026, 1, 15), 12, dt.date(2027, 1, 15)),
    (dt.date(2026, 11, 30), 3, dt.date(2027, 2, 28)),
    (dt.date(2026, 3, 31), -1, dt.date(2026, 2, 28)),
])
def test_add_months_clamps_to_the_end_of_the_month(start, months, end):
    assert f.add_months(start, months) == end


def test_add_months_takes_the_utc_date_of_a_datetime():
    assert f.add_months(at("2026-01-31T23:30:00-05:00"), 1) == dt.date(2026, 3, 1)


@pytest.mark.parametrize("amount, rounded", [(2.345, 2.35), (2.344, 2.34), (24.7893, 24.79), (0.005, 0.01), (10, 10.0)])
def test_round_money_is_half_up(amount, rounded):
    assert f.round_money(amount) == rounded


def test_null_arguments_are_errors_not_zero():
    with pytest.raises(f.FunctionError, match="argument 1 of `days_between` must be a date or datetime, not null"):
        f.days_between(None, at("2026-03-01T00:00:00Z"))


def test_date_literal_and_max():
    assert f.date("2026-07-31") == dt.date(2026, 7, 31)
    with pytest.raises(f.FunctionError):
        f.date("2026-02-30")
    assert f.latest(dt.date(2026, 1, 1), dt.date(2026, 5, 1)) == dt.date(2026, 5, 1)
    with pytest.raises(f.FunctionError, match="cannot compare"):
        f.latest(dt.date(2026, 1, 1), 3)

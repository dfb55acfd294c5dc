"""Calendar terms (engine/symbolic_calendar.py) against Python's calendar: a date's parts, and dates
moved by days and months, proved for every day the facts may hold and tried at month ends and leap years."""

from __future__ import annotations

import datetime as dt

import pytest
import z3

from engine import functions
from engine import symbolic_calendar as calendar

LO, HI = calendar.day_number(calendar.DATE_LO), calendar.day_number(calendar.DATE_HI)
EDGES = [dt.date(1901, 1, 1), dt.date(1901, 2, 28), dt.date(1903, 12, 31), dt.date(1904, 2, 28), dt.date(1904, 2, 29),
         dt.date(1904, 3, 1), dt.date(1999, 12, 31), dt.date(2000, 2, 29), dt.date(2000, 3, 1), dt.date(2024, 1, 31),
         dt.date(2024, 2, 29), dt.date(2025, 2, 28), dt.date(2026, 7, 31), dt.date(2096, 2, 29), dt.date(2099, 11, 30),
         dt.date(2099, 12, 31)]


def _day():
    """A day variable with the range of a fact's (as `SymbolicPolicy` gives it), and its definitions."""
    definitions = calendar.Definitions()
    definitions.ranges["x"] = (LO, HI)
    return z3.Int("x"), definitions


def _solver(x, definitions, *more):
    s = z3.Solver()
    s.set("rlimit", 20_000_000)
    s.add(x >= LO, x <= HI, *definitions, *more)
    return s


def _valid(civil: calendar.Civil):
    return z3.And(civil.month >= 1, civil.month <= 12, civil.day >= 1, civil.day <= civil.days_in_month())


def _date(model, civil: calendar.Civil) -> dt.date:
    value = lambda t: model.eval(t, model_completion=True).as_long()  # noqa: E731
    return dt.date(value(civil.year.value), value(civil.month), value(civil.day))


def test_the_bounds_are_where_every_fourth_year_is_a_leap_year():
    assert (calendar.DATE_LO, calendar.DATE_HI) == (dt.date(1901, 1, 1), dt.date(2099, 12, 31))
    assert all((year % 4 == 0) == (dt.date(year, 3, 1) - dt.date(year, 2, 28)).days - 1 for year in range(1901, 2100))


def test_a_facts_day_has_parts_that_hold_for_every_day_of_the_range():
    x, definitions = _day()
    civil = calendar.split(x, definitions)
    assert len(definitions) == 1  # the day of its four-year cycle, the one thing searched for
    s = _solver(x, definitions)
    assert s.check(z3.Not(z3.And(_valid(civil), civil.number() == x))) == z3.unsat  # proved, not sampled


@pytest.mark.parametrize("day", EDGES, ids=str)
def test_a_facts_day_has_pythons_year_month_and_day(day):
    x, definitions = _day()
    civil = calendar.split(x, definitions)
    s = _solver(x, definitions, x == calendar.day_number(day))
    assert s.check() == z3.sat
    assert _date(s.model(), civil) == day
    # What `fix` computes in Python instead of searching gives the same parts.
    pinned = calendar.pin(definitions.civil[0][1], calendar.day_number(day))
    assert _solver(x, definitions, x == calendar.day_number(day), *pinned).check() == z3.sat


@pytest.mark.parametrize("days", [-28, -15, -1, 1, 14, 15, 28])
def test_a_date_days_away_has_its_parts_moved_for_every_day(days):
    x, definitions = _day()
    moved = calendar.split(x + days, definitions)
    assert len(definitions) == 1  # moved from the day's parts by a formula: nothing more to search for
    s = _solver(x, definitions)
    assert s.check(z3.Not(z3.And(_valid(moved), moved.number() == x + days))) == z3.unsat


@pytest.mark.parametrize("days", [-28, -1, 1, 14, 28])
@pytest.mark.parametrize("day", EDGES, ids=str)
def test_a_date_days_away_at_month_ends_and_leap_days(day, days):
    x, definitions = _day()
    moved = calendar.split(x + days, definitions)
    s = _solver(x, definitions, x == calendar.day_number(day))
    assert s.check() == z3.sat
    assert _date(s.model(), moved) == day + dt.timedelta(days=days)


@pytest.mark.parametrize("months", [1, 3, 12, 24, -1, -13, 25, 60, 120])
@pytest.mark.parametrize("day", EDGES, ids=str)
def test_add_months_at_month_ends_and_leap_days(day, months):
    x, definitions = _day()
    number, year = calendar.add_months(x + 14, z3.IntVal(months), definitions)  # months after a moved date
    s = _solver(x, definitions, x == calendar.day_number(day))
    assert s.check() == z3.sat
    expected = functions.add_months(day + dt.timedelta(days=14), months)
    assert s.model().eval(number).as_long() == calendar.day_number(expected)
    assert s.model().eval(year).as_long() == expected.year


@pytest.mark.parametrize("months", [1, 12, 24])
def test_add_months_holds_for_every_day(months):
    x, definitions = _day()
    number, _ = calendar.add_months(x, z3.IntVal(months), definitions)
    s = _solver(x, definitions)
    # A month is 28 to 31 days, a year 365 or 366 (29 February to 28 February: 365).
    least, most = {1: (28, 31), 12: (365, 366), 24: (730, 731)}[months]
    assert s.check(z3.Or(number - x < least, number - x > most)) == z3.unsat
    # And the day of the month is kept, unless the month is shorter.
    start, end = calendar.split(x, definitions), calendar.split(number, definitions)
    assert s.check(z3.And(start.day <= 28, end.day != start.day)) == z3.unsat


@pytest.mark.parametrize("months", [-25, -1, 0, 7, 13])
@pytest.mark.parametrize("day", [dt.date(2024, 2, 29), dt.date(2025, 1, 31), dt.date(2099, 12, 31)], ids=str)
def test_add_months_by_a_count_the_solver_chooses(day, months):
    x, definitions = _day()
    count = z3.Int("count")
    number, _ = calendar.add_months(x, count, definitions)
    s = _solver(x, definitions, x == calendar.day_number(day), count == months)
    assert s.check() == z3.sat
    assert s.model().eval(number).as_long() == calendar.day_number(functions.add_months(day, months))


@pytest.mark.parametrize("day", [dt.date(1600, 2, 29), dt.date(1700, 3, 1), dt.date(2100, 2, 28), dt.date(2400, 2, 29), dt.date(9999, 12, 31)], ids=str)
def test_a_date_outside_the_range_is_split_exactly_too(day):
    # A term with no range (an add_months far ahead, a date from its parts): parts defined by a definition.
    n, definitions = z3.Int("n"), calendar.Definitions()
    civil = calendar.split(n, definitions)
    s = z3.Solver()
    s.add(*definitions, n == calendar.day_number(day))
    assert s.check() == z3.sat
    assert _date(s.model(), civil) == day


def test_bounds_of_terms():
    definitions = calendar.Definitions()
    definitions.ranges.update({"a": (0, 10), "b": (-3, 4)})
    a, b, c = z3.Ints("a b c")
    assert calendar.bounds(a + 2 * b - 1, definitions) == (-7, 17)
    assert calendar.bounds(z3.If(c > 0, a, b), definitions) == (-3, 10)
    assert calendar.bounds(-a * b, definitions) == (-40, 30)
    assert calendar.bounds((a + 7) / 3, definitions) == (2, 5)
    assert calendar.bounds(a + c, definitions) is None  # `c` has no range
    assert calendar.bounds(a / c, definitions) is None

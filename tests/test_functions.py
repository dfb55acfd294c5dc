"""The date and money functions have exact, documented semantics, and each is declared once with the
signature the type checker enforces and the description the README shows."""

from __future__ import annotations

import ast
import datetime as dt
import importlib
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from conftest import tiny_clause
from engine import functions as f
from engine import functions
from engine.kinds import ANY, DATE, DATETIME, MONEY, NULL, NUMBER, TEXT
from engine.typecheck import TypeChecker

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


# -- the registry: each function declared once, with the signature the type checker enforces ------------------

README = Path(__file__).resolve().parent.parent / "README.md"


def test_a_function_declared_without_a_signature_fails_at_import(tmp_path, monkeypatch):
    (tmp_path / "unsigned_functions.py").write_text(
        "from engine.functions import declare\n\n"
        "@declare('twice', None, 'twice a number')\n"
        "def twice(value):\n"
        "    return 2 * value\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(f.DeclarationError, match="^function `twice` has no signature$"):
        importlib.import_module("unsigned_functions")
    assert "twice" not in f.REGISTRY and "twice" not in f.FUNCTIONS


@pytest.mark.parametrize("signature, description, words", [
    (f.takes(NUMBER, NUMBER, gives=NUMBER), "twice a number", "does not match the parameters of `twice`"),
    (f.takes(ANY, gives=NUMBER), "twice a number", "is not a type of the type checker"),
    (f.takes(NUMBER | NULL, gives=NUMBER), "twice a number", "is not a type of the type checker"),
    (f.takes_one_or_more(NUMBER), "twice a number", "does not match the parameters of `twice`"),
    (f.takes(NUMBER, gives=NUMBER), "", "needs a one-line description"),
    (f.takes(NUMBER, gives=NUMBER), "twice\na number", "needs a one-line description"),
], ids=["arity", "any", "null", "one-or-more", "no-description", "two-lines"])
def test_a_declaration_must_describe_the_function_truthfully(signature, description, words):
    def twice(value):
        return 2 * value

    with pytest.raises(f.DeclarationError, match=words):
        f.declare("twice", signature, description)(twice)
    assert "twice" not in f.REGISTRY


def test_a_function_cannot_be_declared_twice():
    with pytest.raises(f.DeclarationError, match="^function `abs` is declared twice$"):
        f.declare("abs", f.takes(NUMBER, gives=NUMBER), "again")(lambda value: value)
    assert f.FUNCTIONS["abs"] is f.absolute


def _check(expression: str, functions=f.REGISTRY, **names) -> tuple:
    """The type of `expression` and the problems the type checker finds, with `names` typed as given."""
    checker = TypeChecker(lambda name: names.get(name, ANY), functions)
    problems: list = []
    kinds = checker.infer(ast.parse(expression, mode="eval").body, problems)
    return kinds, [p.message for p in problems]


def test_a_new_function_is_checked_by_its_signature():
    def twice(value):
        return 2 * value

    functions = {**f.REGISTRY, "twice": f.Function("twice", twice, f.takes(NUMBER, gives=NUMBER), "twice a number")}
    assert _check("twice(price)", functions, price=NUMBER) == (NUMBER, [])
    assert _check("twice(ordered)", functions, ordered=DATE)[1] == ["argument 1 of `twice` must be a number, not a date"]
    assert _check("twice(1, 2)", functions)[1] == ["`twice` takes 1 argument(s), not 2"]
    assert _check("twice(1) == 'x'", functions)[1] == ["a number is never equal to text, so this is always the same"]


ORDERED = NUMBER | MONEY | DATE | DATETIME


@pytest.mark.parametrize("expression, kinds, problems", [
    ("max(a, b)", DATE, []),
    ("min(price, shipping)", NUMBER, []),
    ("max(a, unknown)", DATE, []),
    ("max(unknown)", ORDERED, []),
    ("max(a, price)", ORDERED, ["`max` cannot compare a date with a number"]),
    ("min(a, at)", ORDERED, ["`min` cannot compare a date with a datetime"]),
    ("max(price, 'x')", NUMBER, ["argument 2 of `max` must be a date or a datetime or an amount of money or a number, "
                                 "not text"]),
    ("max()", ORDERED, ["`max` needs at least one argument"]),
    ("max(fee, refund)", MONEY, []),
    ("max(fee, 0)", MONEY, []),
    ("min(0.5, fee, -1)", MONEY, []),
    ("max(0, 1)", NUMBER, []),
    ("max(fee, price)", ORDERED, ["`max` cannot compare an amount of money with a number"]),
], ids=["dates", "numbers-and-null", "unknown-argument", "only-unknown", "date-and-number", "date-and-datetime",
        "text", "none", "amounts", "amount-and-written-number", "written-numbers-and-amount", "written-numbers",
        "amount-and-number"])
def test_max_and_min_take_one_kind_and_give_it(expression, kinds, problems):
    names = dict(a=DATE, b=DATE, at=DATETIME, price=NUMBER, shipping=NUMBER | NULL, fee=MONEY, refund=MONEY | NULL)
    assert _check(expression, **names) == (kinds, problems)


def _readme_row(function: f.Function) -> str:
    def words(kinds) -> str:
        return " or ".join(sorted(kinds))

    def types(signature: f.Signature) -> str:
        if signature.one_or_more:
            return f"{words(signature.arguments[0])}, one or more, all alike → the same"
        return f"{', '.join(words(k) for k in signature.arguments)} → {words(signature.result)}"

    usages = ", ".join(f"`{usage}`" for usage in function.usages())
    return f"| {usages} | {'; '.join(types(s) for s in function.signatures)} | {function.description} |"


def test_the_readme_function_table_is_the_registry():
    expected = ["| function | takes → gives | meaning |", "|---|---|---|", *map(_readme_row, f.REGISTRY.values())]
    text = README.read_text(encoding="utf-8")
    actual = text[text.index("| function |"):].split("\n\n")[0].splitlines()
    assert actual == expected, "README.md's function table should read:\n" + "\n".join(expected)


@settings(max_examples=3000, deadline=None, derandomize=True)
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**30, 10**30),
                 st.decimals(min_value=-10**6, max_value=10**6, places=3, allow_nan=False).map(float),
                 st.integers(-10**8, 10**8).map(lambda n: n / 1000)))
def test_round_money_by_text_is_round_money_by_decimal(number):
    # The fast route rounds the digits of the number's repr; the decimal module is the definition.
    # Ties (x.xx5), negatives, whole numbers, exponents, huge and non-finite values included.
    def outcome(function):
        try:
            return "value", repr(function(number))
        except ArithmeticError as exc:
            return "error", type(exc).__name__, str(exc)

    assert outcome(functions.round_money) == outcome(functions.decimal_round_money)


def test_round_rounds_the_binary_value_ties_to_even_and_keeps_whole_numbers_whole():
    assert f.round_to(2.675, 2) == 2.67  # 2.675 is 2.67499... in binary: not a tie
    assert f.round_to(0.125, 2) == 0.12 and f.round_to(0.375, 2) == 0.38  # exact ties: to even
    assert f.round_to(1 - 40 / 365, 2) == 0.89
    assert f.round_to(5, 2) == 5 and type(f.round_to(5, 2)) is int
    assert f.round_to(1234.5, -2) == 1200.0


@pytest.mark.parametrize("args, message", [
    (("x", 2), "argument 1 of `round` must be a number, not text"),
    ((1.5, 2.0), "argument 2 of `round` must be a whole number, not a number"),
    ((1.5, True), "argument 2 of `round` must be a whole number, not a boolean"),
    ((1.5, 10**9), "argument 2 of `round` must be between -30 and 30, not 1000000000"),
])
def test_round_refuses_what_it_cannot_round(args, message):
    with pytest.raises(f.FunctionError) as caught:
        f.round_to(*args)
    assert str(caught.value) == message


# -- calendar functions -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("day, parts", [
    (dt.date(2026, 3, 1), (2026, 3, 1, 7)),  # a Sunday: ISO weekday 7
    (dt.date(2026, 3, 2), (2026, 3, 2, 1)),  # a Monday: 1
    (dt.date(2024, 2, 29), (2024, 2, 29, 4)),  # a leap day, a Thursday
    (dt.date(2026, 12, 31), (2026, 12, 31, 4)),
    (dt.date(1, 1, 1), (1, 1, 1, 1)),
], ids=["sunday", "monday", "leap-day", "year-end", "first-day"])
def test_year_month_day_and_iso_weekday(day, parts):
    assert (f.year(day), f.month(day), f.day(day), f.weekday(day)) == parts
    assert all(type(part) is int for part in parts)


@pytest.mark.parametrize("function", [f.year, f.month, f.day, f.weekday], ids=lambda fn: fn.__name__)
def test_calendar_functions_refuse_a_datetime_with_the_way_out(function):
    with pytest.raises(f.FunctionError) as caught:
        function(at("2026-03-01T23:30:00-05:00"))
    assert str(caught.value) == (f"argument 1 of `{function.__name__}` must be a date, not a datetime: take its date "
                                 "with `utc_date` or `local_date` first")
    with pytest.raises(f.FunctionError, match=f"^argument 1 of `{function.__name__}` must be a date, not null$"):
        function(None)


def test_a_datetimes_calendar_day_depends_on_the_time_zone_it_is_read_in():
    late = at("2026-03-01T23:30:00-05:00")  # 04:30 the next day in UTC
    assert f.weekday(f.local_date(late)) == 7 and f.weekday(f.utc_date(late)) == 1
    assert f.day(f.local_date(late)) == 1 and f.day(f.utc_date(late)) == 2


@pytest.mark.parametrize("parts, expected", [
    ((2026, 7, 31), dt.date(2026, 7, 31)),
    ((2024, 2, 29), dt.date(2024, 2, 29)),
    ((2026 + 1, 1, 31), dt.date(2027, 1, 31)),
])
def test_date_from_year_month_and_day(parts, expected):
    assert f.date(*parts) == expected


@pytest.mark.parametrize("parts, message", [
    ((2026, 2, 30), "`date(2026, 2, 30)` is not a real date: day is out of range for month"),
    ((2025, 2, 29), "`date(2025, 2, 29)` is not a real date: day is out of range for month"),
    ((2026, 13, 1), "`date(2026, 13, 1)` is not a real date: month must be in 1..12"),
    ((0, 1, 1), "`date(0, 1, 1)` is not a real date: year 0 is out of range"),
    ((2026, 2.5, 1), "argument 2 of `date` must be a whole number, not a number"),
    ((2026, 2, None), "argument 3 of `date` must be a whole number, not null"),
    ((2026, True, 1), "argument 2 of `date` must be a whole number, not a boolean"),
], ids=["february-30", "not-a-leap-year", "month-13", "year-0", "fraction", "null", "boolean"])
def test_a_date_that_does_not_exist_is_an_evaluation_error(parts, message):
    with pytest.raises(f.FunctionError) as caught:
        f.date(*parts)
    assert str(caught.value) == message


def test_an_invalid_date_in_a_policy_is_an_evaluation_error_not_a_crash(tiny_policy):
    policy, problems = tiny_policy(
        "m: {type: int, description: A month number.}",
        "due: {type: date, nullable: true, default: null, description: The due date.}",
        tiny_clause("c1", "True", "{due: {expression: 'date(2026, m, 30)'}}"))
    assert problems == []
    decision = engine.decide(policy, engine.case_from_facts(policy, {"m": 2}))
    assert decision.outputs["due"].status == "error"
    assert [e.message for e in decision.errors] == [
        "while evaluating clause `c1`: computing `due`: `date(2026, 2, 30)` is not a real date: day is out of range "
        "for month",
        "while deciding output `due`: computing `due`: `date(2026, 2, 30)` is not a real date: day is out of range for month"]
    assert engine.decide(policy, engine.case_from_facts(policy, {"m": 4})).outputs["due"].value == dt.date(2026, 4, 30)


@pytest.mark.parametrize("expression, kinds, problems", [
    ("date('2026-07-31')", DATE, []),
    ("date(2026, 7, 31)", DATE, []),
    ("date(year(ordered) + 1, 1, 31)", DATE, []),
    ("weekday(ordered) == 7", frozenset({"bool"}), []),
    ("date(2026, 7)", DATE, ["`date` takes 1 or 3 argument(s), not 2"]),
    ("date(ordered)", DATE, ["argument 1 of `date` must be text, not a date"]),
    ("year(at)", NUMBER, ["argument 1 of `year` must be a date, not a datetime"]),
    ("month(local_date(at))", NUMBER, []),
], ids=["text", "parts", "computed", "weekday", "two-parts", "date-of-a-date", "year-of-a-datetime", "via-local-date"])
def test_calendar_signatures(expression, kinds, problems):
    assert _check(expression, ordered=DATE, at=DATETIME) == (kinds, problems)


# -- money ---------------------------------------------------------------------------------------------------------

D = Decimal


@pytest.mark.parametrize("expression, kinds, problems", [
    ("round_money(fee)", MONEY, []),
    ("round_money(rate)", NUMBER, []),
    ("round_money(unknown)", MONEY | NUMBER, []),
    ("round_money('x')", MONEY | NUMBER, ["argument 1 of `round_money` must be an amount of money or a number, not text"]),
    ("prorate(fee, 183, 366)", MONEY, []),
    ("prorate(12.35, 183, 366)", NUMBER, []),
    ("prorate(fee, fee, 366)", MONEY | NUMBER, ["argument 2 of `prorate` must be a number, not an amount of money"]),
    ("abs(fee - 10)", MONEY, []),
    ("fee * rate / 2", MONEY, []),
    ("fee / fee", NUMBER, []),
    ("-fee", MONEY, []),
    ("fee + fee - 3.05", MONEY, []),
], ids=["round-amount", "round-number", "round-unknown", "round-text", "prorate-amount", "prorate-number",
        "prorate-amount-part", "abs", "scaled", "ratio", "negative", "sum"])
def test_money_signatures(expression, kinds, problems):
    assert _check(expression, fee=MONEY, rate=NUMBER, label=TEXT) == (kinds, problems)


def test_money_functions_keep_amounts_exact():
    assert f.round_money(D("2.345")) == D("2.35") and str(f.round_money(D("2.345"))) == "2.35"
    assert str(f.round_money(D("-2.345"))) == "-2.35"  # half away from zero
    assert str(f.round_money(D("10"))) == "10.00"
    assert str(f.prorate(D("12.35"), 183, 366)) == "6.18"  # 6.175 exactly: half-up
    assert str(f.prorate(D("-12.35"), 183, 366)) == "-6.18"
    assert str(f.prorate(D("10.00"), 0, 3)) == "0.00"
    assert f.prorate(12.35, 183, 366) == 6.18 and type(f.prorate(12.35, 183, 366)) is float  # numbers stay numbers
    assert f.absolute(D("-3.05")) == D("3.05")
    assert f.latest(D("5.00"), 0) == D("5.00") and type(f.earliest(D("5.00"), 0)) is Decimal  # 0 read as an amount
    assert f.earliest(D("1.05"), 1.05, 2) == D("1.05")


def test_a_function_with_several_signatures_is_declared_once():
    date = f.REGISTRY["date"]
    assert date.usages() == ("date(text)", "date(year, month, day)")
    assert [len(s.arguments) for s in date.signatures] == [1, 3]
    # Each number of arguments a signature takes must be one the implementation takes.
    with pytest.raises(f.DeclarationError, match="does not match the parameters of `<lambda>`"):
        f.Function("pair", lambda a, b=None: a, (f.takes(NUMBER, gives=NUMBER), f.takes(NUMBER, NUMBER, NUMBER,
                                                                                        gives=NUMBER)), "a pair")
    with pytest.raises(f.DeclarationError, match="names 2 argument"):
        f.Function("one", lambda a: a, f.takes(NUMBER, gives=NUMBER, names=("a", "b")), "one")


def test_an_amount_beyond_what_verdict_computes_with_is_an_evaluation_error_not_a_crash():
    from engine.expressions import FAILURES, OPERATORS, describe_failure

    amount = D("999999999999.99")
    with pytest.raises(FAILURES) as caught:
        for _ in range(10):  # 10^12 times 10^12, ten times over: beyond 10^100
            amount = OPERATORS[ast.Mult](amount, 1e12)
    assert describe_failure(caught.value) == "an amount of money beyond what Verdict computes with"
    with pytest.raises(FAILURES) as caught:
        f.prorate(D("999999999999.99"), 1e100, 1)
    assert describe_failure(caught.value) == "an amount of money beyond what Verdict computes with"

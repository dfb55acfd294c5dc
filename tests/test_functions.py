"""The date and money functions have exact, documented semantics, and each is declared once with the
signature the type checker enforces and the description the README shows."""

from __future__ import annotations

import ast
import datetime as dt
import importlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import functions as f
from engine import functions
from engine.kinds import ANY, DATE, DATETIME, NULL, NUMBER
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


@pytest.mark.parametrize("expression, kinds, problems", [
    ("max(a, b)", DATE, []),
    ("min(price, shipping)", NUMBER, []),
    ("max(a, unknown)", DATE, []),
    ("max(unknown)", NUMBER | DATE | DATETIME, []),
    ("max(a, price)", NUMBER | DATE | DATETIME, ["`max` cannot compare a date with a number"]),
    ("min(a, at)", NUMBER | DATE | DATETIME, ["`min` cannot compare a date with a datetime"]),
    ("max(price, 'x')", NUMBER, ["argument 2 of `max` must be a date or a datetime or a number, not text"]),
    ("max()", NUMBER | DATE | DATETIME, ["`max` needs at least one argument"]),
], ids=["dates", "numbers-and-null", "unknown-argument", "only-unknown", "date-and-number", "date-and-datetime",
        "text", "none"])
def test_max_and_min_take_one_kind_and_give_it(expression, kinds, problems):
    assert _check(expression, a=DATE, b=DATE, at=DATETIME, price=NUMBER, shipping=NUMBER | NULL) == (kinds, problems)


def _readme_row(function: f.Function) -> str:
    def words(kinds) -> str:
        return " or ".join(sorted(kinds))

    signature = function.signature
    if signature.one_or_more:
        types = f"{words(signature.arguments[0])}, one or more, all alike → the same"
    else:
        types = f"{', '.join(words(k) for k in signature.arguments)} → {words(signature.result)}"
    return f"| `{function.usage()}` | {types} | {function.description} |"


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

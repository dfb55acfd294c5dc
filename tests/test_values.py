"""Declared types: what the type checker knows of each, which engine values fit it, how a file writes one."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from engine.kinds import ANY, BOOL, DATE, DATETIME, LIST, MONEY, NULL, NUMBER, TEXT
from engine.values import VALUE_TYPES, fits, read_value, show_value, static_type, to_json_value

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
UTC = dt.timezone.utc
NAIVE = dt.datetime(2026, 3, 1, 10, 0)
AWARE = dt.datetime(2026, 3, 1, 10, 0, tzinfo=UTC)

# Every declared type against one value of each kind: which ones fit.
SAMPLES = {"true": True, "7": 7, "2.5": 2.5, "text": "eligible", "date": dt.date(2026, 3, 1), "aware datetime": AWARE,
           "naive datetime": NAIVE, "list": ("full_refund",), "list of numbers": (1, 2), "amount": Decimal("5.00"),
           "whole amount": Decimal("5"), "amount with a fraction of a cent": Decimal("29.995")}
FITTING = {
    "bool": {"true"},
    "int": {"7"},
    "number": {"7", "2.5"},
    "money": {"amount", "whole amount"},  # an amount in whole cents, never a plain number
    "string": {"text"},
    "enum": {"text"},
    "date": {"date"},
    "datetime": {"aware datetime"},
    "list": {"list"},
}


@pytest.mark.parametrize("declared", sorted(FITTING))
def test_which_values_fit_each_type(declared):
    assert {name for name, value in SAMPLES.items() if fits(declared, False, value)} == FITTING[declared]


@pytest.mark.parametrize("declared", sorted(FITTING))
def test_null_fits_only_a_nullable_declaration(declared):
    assert fits(declared, True, None) and not fits(declared, False, None)


def test_choices_limit_enums_and_lists():
    assert fits("enum", False, "eligible", ("eligible", "not_eligible"))
    assert not fits("enum", False, "eligble", ("eligible", "not_eligible"))
    assert fits("list", False, ("repair", "replacement"), ("repair", "replacement"))
    assert not fits("list", False, ("repair", "refund"), ("repair", "replacement"))
    assert fits("list", False, (), ("repair",))
    assert fits("enum", False, "anything", None)  # no choices given: the type alone


@pytest.mark.parametrize("declared, static", [
    ("bool", BOOL), ("int", NUMBER), ("number", NUMBER), ("money", MONEY), ("string", TEXT), ("enum", TEXT), ("date", DATE),
    ("datetime", DATETIME), ("list", LIST), ("no such type", ANY),
])
def test_the_type_checker_sees_each_declared_type(declared, static):
    assert static_type(declared, False) == static
    assert static_type(declared, True) == static | NULL


def test_every_type_a_policy_may_declare_has_an_entry():
    declared = set()

    def collect(node):
        if isinstance(node, dict):
            if "bool" in node.get("enum", ()):  # the list of types a fact or an output may declare
                declared.update(node["enum"])
            for child in node.values():
                collect(child)
        elif isinstance(node, list):
            for child in node:
                collect(child)

    for name in ("policy", "variant"):
        collect(json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8")))
    assert declared == set(VALUE_TYPES)


@pytest.mark.parametrize("declared, raw, value", [
    ("bool", False, False),
    ("int", 3, 3),
    ("number", 59.99, 59.99),
    ("string", "x", "x"),
    ("enum", "eligible", "eligible"),
    ("date", "2024-02-29", dt.date(2024, 2, 29)),
    ("datetime", "2026-03-01T10:00:00+01:00", dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))),
    ("list", ["repair", "replacement"], ("repair", "replacement")),
    ("list", [], ()),
    ("money", 59.99, Decimal("59.99")),
    ("money", "59.99", Decimal("59.99")),
    ("money", 10, Decimal("10.00")),
    ("money", -3.05, Decimal("-3.05")),
    ("money", 0.1, Decimal("0.10")),
    ("money", "-0", Decimal("0.00")),
])
def test_a_written_value_becomes_an_engine_value(declared, raw, value):
    assert read_value("out", declared, raw, ("eligible", "repair", "replacement")) == (value, None)


@pytest.mark.parametrize("declared, raw, problem", [
    ("bool", "yes", ("`out` is true or false, not `yes`", "")),
    ("int", 2.5, ("`out` is a whole number, not `2.5`", "")),
    ("number", True, ("`out` is a number, not `true`", "")),
    ("string", 5, ("`out` is text, not `5`", "")),
    ("enum", "eligble", ("`eligble` is not a value of `out`", "did you mean `eligible`?")),
    ("enum", 5, ("`5` is not a value of `out`", "values: eligible, repair")),
    ("date", "1 March", ("`out` is a date (YYYY-MM-DD), not `1 March`", "")),
    ("date", "2026-02-30", ("`2026-02-30` is not a real date", "")),
    ("datetime", "2026-03-01T10:00:00", ("`out` is an ISO 8601 datetime, not `2026-03-01T10:00:00`", "")),
    ("list", "repair", ("`out` is a list, not `repair`", "write `[repair]`")),
    ("list", ["repair", "refund"], ("`refund` is not a value of `out`", "values: eligible, repair")),
    ("money", 2.675, ("`2.675` has more than two decimals: an amount of money is a whole number of cents", "")),
    ("money", "$5", ("`out` is an amount of money (a number with at most two decimals), not `$5`", "")),
    ("money", "5,00", ("`out` is an amount of money (a number with at most two decimals), not `5,00`", "")),
    ("money", True, ("`out` is an amount of money (a number with at most two decimals), not `true`", "")),
    ("money", float("inf"), ("`Infinity` is not a finite amount", "")),
    ("money", 1e13, ("`10000000000000.00` is beyond the limit of 1e+12", "")),
])
def test_a_written_value_of_the_wrong_type_says_why(declared, raw, problem):
    assert read_value("out", declared, raw, ("eligible", "repair")) == (None, problem)


@pytest.mark.parametrize("value, shown", [
    (None, "null"),
    (True, "true"),
    (False, "false"),
    (0, "0"),
    (59.99, "59.99"),
    (-2.5e-07, "-2.5e-07"),
    (10.0, "10.0"),
    ("non_quality", "non_quality"),
    ("", ""),
    (dt.date(2026, 3, 1), "2026-03-01"),
    (AWARE, "2026-03-01T10:00:00Z"),
    (dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))), "2026-03-01T10:00:00+01:00"),
    (("repair", "replacement"), "[repair, replacement]"),
    (["a"], "[a]"),
    ((), "[]"),
    ([True, None, 1.5, dt.date(2026, 3, 1)], "[true, null, 1.5, 2026-03-01]"),
    ({"kind": "return", "units": [1, 2]}, "{kind: return, units: [1, 2]}"),
    (Decimal("5"), "5.00"),
    (Decimal("59.990"), "59.99"),
    (Decimal("-0.00"), "0.00"),
    (Decimal("29.9950"), "29.995"),
    (Decimal("1E+6"), "1000000.00"),
    ([Decimal("0.1"), 0.1], "[0.10, 0.1]"),
])
def test_show_value_writes_every_kind_of_value_one_way(value, shown):
    assert show_value(value) == shown


def test_show_value_stays_importable_from_render():
    from engine import render, report

    assert render.show_value is show_value and report.show_value is show_value


@pytest.mark.parametrize("amount, canonical", [
    (Decimal("5"), "5.00"), (Decimal("5.000"), "5.00"), (Decimal("-0"), "0.00"), (Decimal("29.9950"), "29.995"),
    (Decimal("1E+2"), "100.00"),
])
def test_equal_amounts_have_one_json_form(amount, canonical):
    # The conflict check and the reference compare values by `repr(to_json_value(v))`: 5.0 and 5.00 agree.
    assert str(to_json_value(amount)) == canonical and to_json_value(amount) == amount

"""A number in a parameter's quote that differs from its value is a warning naming both; a correct
policy gives none."""

from __future__ import annotations

from fractions import Fraction

import pytest
from click.testing import CliRunner
from conftest import REPO

import cli
import engine
from engine import quotenumbers


def warnings_of(folder):
    policy_set, problems = engine.load_policy_set(folder)
    assert policy_set is not None, [p.one_line() for p in problems]  # a warning never makes a policy invalid
    return [p for p in problems if p.code == "quote_number"]


def test_a_value_that_its_quote_contradicts(policy_copy):
    policy_copy.replace("    value: 30\n    unit: days\n    description: Length of the money-back",
                        "    value: 45\n    unit: days\n    description: Length of the money-back")
    [warning] = warnings_of(policy_copy.folder)
    line = policy_copy.line_of("value: 45")
    assert (warning.location.line, warning.location.column, warning.severity, warning.subject) == (line, 12, "warning", "money_back_days")
    assert warning.message == 'parameter `money_back_days` is 45 days but its quote says "within 30 days"'
    assert warning.help == "if the quote is right, write `value: 30`; if the value is right, quote the text that gives 45"


def test_the_same_number_in_another_unit(policy_copy):
    policy_copy.replace("    value: 12\n    unit: hours", "    value: 12\n    unit: days")
    [warning] = warnings_of(policy_copy.folder)
    assert warning.message == 'parameter `cancellation_window_hours` is 12 days but its quote says "within 12 hours"'
    assert warning.help == "the quote counts in hours: write `unit: hours`, or `value: 0.5`"


def test_numbers_written_as_words_in_a_variant(policy_copy):
    # The EU's guarantee quotes "within two years": 24 months agrees, 25 does not.
    variant = policy_copy.folder / "variants" / "eu.yaml"
    text = variant.read_text(encoding="utf-8")
    variant.write_text(text.replace("  legal_guarantee_months:\n    value: 24\n", "  legal_guarantee_months:\n    value: 25\n"), encoding="utf-8")
    [warning] = warnings_of(policy_copy.folder)
    assert warning.location.file.endswith("variants/eu.yaml")
    assert warning.location.line == variant.read_text(encoding="utf-8").splitlines().index("    value: 25") + 1
    assert warning.message == 'parameter `legal_guarantee_months` is 25 months but its quote says "within two years"'
    assert warning.help == "if the quote is right, write `value: 24`; if the value is right, quote the text that gives 25"


def test_validate_prints_the_warning_and_still_passes(policy_copy):
    policy_copy.replace("    value: 10\n    unit: units", "    value: 20\n    unit: units")
    result = CliRunner().invoke(cli.cli, ["validate", str(policy_copy.file)])
    assert result.exit_code == 0
    assert ('warning: bulk_order_units: parameter `bulk_order_units` is 20 units but its quote says "more than 10 units"; '
            "if the quote is right, write `value: 10`; if the value is right, quote the text that gives 20") in result.stderr


@pytest.mark.parametrize("folder", ["policies/aqara-returns", "examples/impact/draft-thresholds", "bench/core_return",
                                    "tests/data/engine-0.1/policies/aqara-returns"])
def test_no_false_alarm_on_the_shipped_policies(folder):
    assert warnings_of(REPO / folder) == []


AGREE = [
    (30, "days", "within 30 days of purchase"),
    (14, "days", "two weeks"),
    (24, "months", "becomes apparent within two years of that time"),
    (12, "months", "within a year"),
    (36, "hours", "within 1.5 days"),
    (30, "days", "a thirty-day money-back guarantee"),
    (21, "days", "twenty-one days"),
    (14, "days", "Art. 9(1): 14 days, or 30 days under reg. 30"),  # one of several numbers is enough
    (2.0, "USD", "fines are $2.00/day, at most $20"),
    (0.5, "", "a 50% restocking fee"),
    (1000, "units", "1,000 units"),
    (30, "days", "within a month"),  # months and days do not convert exactly: not judged
    (2, "days", "1-2 business days"),  # nor business days and calendar days
    (45, "days", "from 2027-01-01 the window is 45 days"),
    (7, "", "Directive (EU) 2019/771, Art. 10(2a)"),  # references only: nothing to compare
    (3, "months", "one of the items"),
    ("text", "", "within 30 days"),
    (True, "", "within 30 days"),
]


@pytest.mark.parametrize("value, unit, quote", AGREE, ids=[q for _, _, q in AGREE])
def test_quotes_that_do_not_contradict_their_value(value, unit, quote):
    assert quotenumbers.disagreement(value, unit, [quote]) == []


DISAGREE = [
    (45, "days", "within 30 days of purchase", ["within 30 days"]),
    (12, "days", "within 12 hours of placing your order", ["within 12 hours"]),
    (25, "months", "within two years", ["within two years"]),
    (20, "days", "14 days, or 30 days under reg. 30", ["14 days", "or 30 days"]),
    (15, "units", "more than 10 units", ["more than 10 units"]),
    (3.0, "USD", "fines are $2.00/day", ["are $2.00"]),
    (40, "days", "a thirty-day guarantee", ["a thirty-day"]),
]


@pytest.mark.parametrize("value, unit, quote, excerpts", DISAGREE, ids=[q for _, _, q, _ in DISAGREE])
def test_quotes_that_contradict_their_value(value, unit, quote, excerpts):
    assert [m.excerpt for m in quotenumbers.disagreement(value, unit, [quote])] == excerpts


def test_mentions_keep_their_unit():
    [mention] = quotenumbers.mentions("the seller's liability is extended once by 12 months")
    assert (mention.value, mention.dimension, mention.unit, mention.excerpt) == (Fraction(12), "months", "months", "by 12 months")

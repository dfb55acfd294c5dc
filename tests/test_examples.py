"""The example policies under examples/: they validate, their YAML tests pass, and they show what they
claim (exact money, the calendar functions), against the same policy written with binary numbers."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal

import pytest
from click.testing import CliRunner

import cli
import engine
from conftest import REPO
from engine import testing

LIBRARY = REPO / "examples" / "library-fines"
FIVE_DOLLARS = {"borrowed_on": "2026-03-02", "returned_on": "2026-03-20", "fines_charged": 1.05, "fees_charged": 7.00,
                "payments_made": 3.05}


def run(*args: str):
    return CliRunner().invoke(cli.cli, ["--no-cache", *args])


def test_the_library_policy_validates_and_its_tests_pass_with_every_clause_made_true():
    assert run("validate", str(LIBRARY)).exit_code == 0
    result = run("test", str(LIBRARY), "--coverage", "--min-coverage", "100")
    assert result.exit_code == 0, result.output
    assert "16 passed, 0 failed" in result.output


def test_one_dollar_five_plus_seven_minus_three_five_is_five_dollars_in_the_decision():
    policy = engine.require_policy(LIBRARY)
    decision = engine.decide(policy, engine.case_from_facts(policy, FIVE_DOLLARS))
    assert decision.outputs["balance"].value == Decimal("5.00")
    assert decision.outputs["may_borrow"].value is True and decision.outputs["may_borrow"].status == "default"
    document = engine.decision_to_json(decision)
    assert '"balance": 5.00,' in document and '"fines_charged": 1.05,' in document and '"fees_charged": 7.00,' in document
    assert json.loads(document)["outputs"]["balance"] == 5


def test_with_binary_numbers_the_same_policy_refuses_at_exactly_five_dollars(tmp_path):
    # What issue 9 found: as `number`, 1.05 + 7.00 - 3.05 is 5.000000000000001, so "more than $5.00"
    # blocks borrowing. The YAML test that says otherwise then fails: it can fail.
    copy = tmp_path / "library-fines"
    shutil.copytree(LIBRARY, copy)
    policy_file = copy / "policy.yaml"
    text = policy_file.read_text(encoding="utf-8")
    assert text.count("    type: money\n") == 8  # three facts, three parameters, two outputs
    policy_file.write_text(text.replace("    type: money\n    unit: USD\n", "    unit: USD\n").replace("type: money", "type: number"),
                           encoding="utf-8")
    tests_file = copy / "tests" / "fines.yaml"  # a number fact takes no text: "0.10" becomes 0.10
    tests_file.write_text(tests_file.read_text(encoding="utf-8").replace('"0.10"', "0.10").replace('"0.20"', "0.20"),
                          encoding="utf-8")
    binary = engine.require_policy(copy)
    decision = engine.decide(binary, engine.case_from_facts(binary, FIVE_DOLLARS))
    assert decision.outputs["balance"].value == 5.000000000000001
    assert decision.outputs["may_borrow"].value is False
    loaded, problems = testing.load_test_file(copy / "tests" / "fines.yaml", {})
    assert problems == []
    [five] = [case for case in loaded.cases if case.name.startswith("$1.05 + $7.00 - $3.05")]
    assert testing.run_test(loaded.policy, five).differences == (
        "may_borrow: expected true, got false (decided by borrowing-blocked)",
        "may_borrow decided by: expected [], got [borrowing-blocked]")


def _holiday_due(borrowed: dt.date) -> dt.date:
    """The holiday loan, written by hand: borrowed 15 November to 31 December, due 31 January after."""
    if (borrowed.month, borrowed.day) >= (11, 15):
        return dt.date(borrowed.year + 1, 1, 31)
    return borrowed + dt.timedelta(days=21)


@pytest.mark.parametrize("year", [2026, 2027, 2028])
def test_the_holiday_loan_is_one_clause_for_every_day_of_every_year(year):
    policy = engine.require_policy(LIBRARY)
    holiday = [c for c in policy.clauses if c.id == "holiday-loan"]
    assert len(holiday) == 1 and {"month", "day", "year", "date"} <= holiday[0].condition.functions | next(
        v.expression.functions for name, v in holiday[0].sets if name == "due_on")
    day = dt.date(year, 1, 1)
    while day.year == year:
        facts = {**FIVE_DOLLARS, "borrowed_on": day.isoformat(), "returned_on": day.isoformat()}
        decision = engine.decide(policy, engine.case_from_facts(policy, facts), trace=False)
        assert decision.outputs["due_on"].value == _holiday_due(day), day
        day += dt.timedelta(days=1)

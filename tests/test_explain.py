"""Why and why not (`verdict eval --explain`): the nearest clauses that would grant more, and counterfactuals."""

from __future__ import annotations

import json

from click.testing import CliRunner

import cli
from conftest import REPO
from engine.explain import explain

EXAMPLE = str(REPO / "examples" / "cases" / "return-day-10.yaml")
DAY_34 = ["--fact", "request_at=2026-04-04T09:00:00Z"]


def test_day_34_names_the_money_back_clause_its_quote_the_34_against_30_and_a_counterfactual():
    result = CliRunner().invoke(cli.cli, ["eval", EXAMPLE, *DAY_34, "--explain", "--trace", "none"])
    assert result.exit_code == 0
    text = result.output[result.output.index("WHY NOT BETTER"):]
    assert "money-back-guarantee would give eligible" in text
    assert "“Undamaged products can be returned for a full refund" in text
    assert "requires `days_since_purchase <= money_back_days`, which does not hold: days_since_purchase =\n      34; money_back_days = 30" in text
    assert "request_at were 2026-03-31T09:00:00Z (not 2026-04-04T09:00:00Z): eligibility = eligible, by\n      money-back-guarantee" in text


def test_json_carries_the_same():
    document = json.loads(CliRunner().invoke(cli.cli, ["eval", EXAMPLE, *DAY_34, "--explain", "--format", "json"]).output)
    [eligibility] = document["explanation"]
    assert eligibility["output"] == "eligibility" and eligibility["value"] == "not_eligible" and not eligibility["best_outcome"]
    [money_back] = [w for w in eligibility["why_not"] if w["clause"] == "money-back-guarantee"]
    assert money_back["failed_conditions"] == [{"condition": "days_since_purchase <= money_back_days", "result": "false",
                                                "values": {"days_since_purchase": 34, "money_back_days": 30}}]
    assert money_back["quotes"][0].startswith("Undamaged products can be returned for a full refund")
    assert {"changes": [{"fact": "request_at", "from": "2026-04-04T09:00:00Z", "to": "2026-03-31T09:00:00Z"}],
            "value": "eligible", "decided_by": ["money-back-guarantee"]} in eligibility["counterfactuals"]


def test_missing_packaging_names_the_fact_that_would_flip_it(aqara, decide):
    decision = decide(original_packaging_included=False)
    assert decision.outputs["eligibility"].value == "discretionary"
    [item] = explain(aqara, decision)
    assert ((("original_packaging_included", False, True),), "eligible") in [(c.changes, c.value) for c in item.counterfactuals]
    [why] = [w for w in item.why_not if w.clause.id == "money-back-guarantee"]
    assert why.overridden_by == "non-quality-incomplete-may-reject"


def test_the_best_outcome_needs_no_explanation(aqara, decide):
    [item] = explain(aqara, decide())
    assert item.best and item.why_not == () and item.counterfactuals == ()


def test_explain_works_with_trace_none():
    result = CliRunner().invoke(cli.cli, ["eval", EXAMPLE, *DAY_34, "--explain", "--trace", "none", "--format", "json"])
    document = json.loads(result.output)
    assert document["trace"] is None and document["explanation"][0]["counterfactuals"]


def test_explain_json_follows_the_decision_schema_and_carries_the_why():
    schema = json.loads((REPO / "schemas" / "decision.schema.json").read_text(encoding="utf-8"))
    import jsonschema

    document = json.loads(CliRunner().invoke(cli.cli, ["eval", EXAMPLE, "--explain", "--format", "json"]).output)
    jsonschema.Draft202012Validator(schema).validate(document)
    [item] = document["explanation"]
    assert item["best_outcome"] and item["why"][0]["clause"] == "money-back-guarantee"
    assert item["why"][0]["values"]["days_since_purchase"] == 10


def test_counterfactuals_keep_the_dates_in_order_and_go_through_selection():
    document = json.loads(CliRunner().invoke(cli.cli, ["eval", EXAMPLE, *DAY_34, "--explain", "--format", "json"]).output)
    changed = [c["changes"][0]["fact"] for c in document["explanation"][0]["counterfactuals"]]
    assert "order_placed_at" not in changed  # moving the order after the shipping date is no case
    assert "request_at" in changed


def test_unranked_and_undetermined_outcomes_are_said_so():
    runner = CliRunner()
    retailer = runner.invoke(cli.cli, ["eval", EXAMPLE, "--fact", "sales_channel=other_retailer", "--explain", "--trace", "none"]).output
    assert "eligibility = refer_to_retailer: the policy's `preference` does not rank it" in retailer
    open_case = runner.invoke(cli.cli, ["eval", EXAMPLE, *DAY_34, "--fact", "reason_category=quality", "--fact", "replaceable=true",
                                        "--explain", "--trace", "none"]).output
    assert "WHY NOT BETTER" in open_case

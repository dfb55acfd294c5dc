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


# -- why not lists only clauses for the same kind of case ----------------------------------------


def test_a_refused_return_is_not_explained_by_cancellation_clauses(aqara):
    from engine.explain import kind_facts

    assert kind_facts(aqara) == ("request", "sales_channel")
    result = CliRunner().invoke(cli.cli, ["eval", EXAMPLE, *DAY_34, "--explain", "--trace", "none"])
    text = result.output[result.output.index("WHY NOT BETTER"):]
    assert text.splitlines()[1:3] == [
        "  eligibility = not_eligible",
        "    (only clauses for the same kind of case, and no change to it: request = return; sales_channel =",
    ]
    assert "cancel" not in text and "modify" not in text
    document = json.loads(CliRunner().invoke(cli.cli, ["eval", EXAMPLE, *DAY_34, "--explain", "--format", "json"]).output)
    [eligibility] = document["explanation"]
    assert [w["clause"] for w in eligibility["why_not"]] == ["money-back-guarantee", "quality-warranty-service"]
    assert eligibility["same_kind_of_case"] == {"request": "return", "sales_channel": "aqara_online_store"}
    assert all(change["fact"] not in ("request", "sales_channel")
               for c in eligibility["counterfactuals"] for change in c["changes"])


def test_the_same_for_a_variant_whose_clauses_open_with_another_test():
    # The EU's cancellation clauses open with `consumer and request == ...`: their condition, not only
    # their first test, contradicts a return.
    de = str(REPO / "examples" / "cases" / "eu-withdrawal-de.yaml")
    late = ["--fact", "request_at=2026-04-30T09:00:00Z"]
    document = json.loads(CliRunner().invoke(cli.cli, ["eval", de, *late, "--explain", "--format", "json"]).output)
    [eligibility] = document["explanation"]
    assert eligibility["value"] == "not_eligible" and eligibility["why_not"]
    assert not any("cancel" in w["clause"] or "modify" in w["clause"] for w in eligibility["why_not"])
    assert "eu-withdrawal" in [w["clause"] for w in eligibility["why_not"]]


RENEW_LATE = {"request": "renew", "item_kind": "book", "days_late": 3, "renewals": 2, "first_fine": True}


def test_on_a_small_policy_a_late_renewal_is_not_explained_by_the_waiver(tmp_path):
    import engine
    from engine.explain import could_apply, kind_facts
    from small_policies import write_library

    policy = engine.require_policy(write_library(tmp_path / "library"))
    assert kind_facts(policy) == ("request",)  # item_kind is read only inside a derived value: a circumstance
    decision = engine.decide(policy, engine.case_from_facts(policy, RENEW_LATE, "renew-late"))
    [item] = explain(policy, decision)
    assert item.kind == (("request", "renew"),)
    assert [w.clause.id for w in item.why_not] == ["renewal"]
    assert [(c.changes, c.value) for c in item.counterfactuals] == [
        ((("days_late", 3, 0), ("renewals", 2, 1)), "granted")]
    # Without the rule, the nearest miss would be the waiver: it fails only on what was asked.
    [anything] = explain(policy, decision, kinds=())
    assert [w.clause.id for w in anything.why_not] == ["first-fine-waived"]
    assert [f.condition for f in anything.why_not[0].failed] == ["request == 'waive_fine'"]
    # The test is three-valued and looks through derived values.
    waiver = policy.clause("first-fine-waived").condition.tree
    assert could_apply(policy, waiver, {"request": "renew"}) is False
    assert could_apply(policy, waiver, {"request": "waive_fine"}) is None
    assert could_apply(policy, waiver, {}) is None


def test_a_case_that_does_not_give_its_kind_keeps_every_clause(tmp_path):
    import engine
    from small_policies import write_library

    policy = engine.require_policy(write_library(tmp_path / "library"))
    facts = {**{k: v for k, v in RENEW_LATE.items() if k != "request"}, "days_late": 8}  # refused, whatever was asked
    [item] = explain(policy, engine.decide(policy, engine.case_from_facts(policy, facts, "no-request")))
    assert item.status == "decided" and item.kind == ()
    assert [w.clause.id for w in item.why_not] == ["first-fine-waived"]
    assert "same_kind_of_case" not in item.to_dict()

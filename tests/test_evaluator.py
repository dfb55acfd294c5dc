"""Evaluation semantics: unknown facts, overrides, collected lists, defaults and the trace events."""

from __future__ import annotations

from decimal import Decimal

import pytest

import engine
from conftest import BASE_FACTS
from engine import evaluator
from engine.trace import Op


def events(decision, op):
    return [e for e in decision.events if e.op is op]


def effect_of(decision, clause_id):
    return next(e for e in events(decision, Op.EFFECT) if e.subject == clause_id)


def test_a_missing_fact_makes_eligibility_undetermined(decide):
    decision = decide(request_at="2026-04-10T09:30:00Z", without=("reason_category",))
    assert decision.outputs["eligibility"].value == "undetermined"
    assert decision.outputs["eligibility"].status == "undetermined"
    assert decision.missing_facts == ("reason_category",)


def test_a_missing_fact_whose_every_value_agrees_does_not_block_the_decision(decide):
    # On day 10 both reasons give `eligible`; only who pays the return shipping depends on the reason.
    decision = decide(without=("reason_category",))
    eligibility = decision.outputs["eligibility"]
    assert (eligibility.value, eligibility.status, eligibility.regardless_of) == ("eligible", "decided", ("reason_category",))
    assert eligibility.clauses == ("money-back-guarantee", "quality-return-in-window", "quality-warranty-service")
    assert decision.outputs["return_shipping_paid_by"].status == "undetermined"
    assert decision.missing_facts == ("reason_category",)


def test_values_of_infinite_facts_are_not_enumerated(aqara):
    # shipped_at is a datetime: enumeration cannot try its values, so without the solver it stays open.
    facts = {**BASE_FACTS, "request": "cancel_order", "request_at": "2026-03-01T15:00:00Z"}
    del facts["shipped_at"]
    case = engine.case_from_facts(aqara, facts, "test")
    alone = evaluator.evaluate(aqara, case.facts, "test", settle=False)
    assert alone.outputs["eligibility"].status == "undetermined"
    assert alone.missing_facts == ("shipped_at",)
    # The solver knows the policy's constraint that a parcel ships after its order: five hours after the
    # order it cannot have shipped more than 30 days before the request, so the cancellation stands.
    settled = engine.decide(aqara, case)
    eligibility = settled.outputs["eligibility"]
    assert (eligibility.status, eligibility.settled_by) == ("decided", "solver")
    assert settled.missing_facts == ()


def test_a_missing_fact_that_does_not_matter_leaves_the_decision_whole(decide):
    decision = decide(request="cancel_order", request_at="2026-03-01T15:00:00Z",
                      without=("reason_category", "product_price", "courier_refusal"))
    assert decision.outputs["eligibility"].value == "eligible"
    assert decision.missing_facts == ()


def test_several_missing_facts_are_all_listed(decide):
    decision = decide(without=("request_at", "reason_category"))
    assert decision.outputs["eligibility"].value == "undetermined"
    assert set(decision.missing_facts) == {"request_at", "reason_category"}


def test_missing_facts_only_for_the_outputs_they_leave_open(decide):
    # Without product_price the refund amount is open, but eligibility is decided.
    decision = decide(without=("product_price",))
    assert decision.outputs["eligibility"].value == "eligible"
    assert decision.outputs["refund_amount"].status == "undetermined"
    assert decision.outputs["refund_amount"].value is None
    assert decision.missing_facts == ("product_price",)


def test_override_sets_the_overridden_clause_aside(decide):
    decision = decide(units_of_product=11)
    assert decision.outputs["eligibility"].value == "discretionary"
    assert decision.outputs["eligibility"].clauses == ("bulk-or-corporate-may-refuse",)
    effect = effect_of(decision, "money-back-guarantee")
    assert (effect.effect, effect.by) == ("overridden", "bulk-or-corporate-may-refuse")


def test_overriding_is_not_transitive(decide):
    # quality-return-in-window overrides quality-partial-refund, which overrides no-refund-after-30-days;
    # on day 10 with an unreplaceable unit, the money-back refund is the one that decides.
    decision = decide(reason_category="quality", replaceable=False)
    assert decision.outputs["refund_amount"].value == Decimal("59.99")  # an amount of money, exact
    assert effect_of(decision, "quality-partial-refund").by == "quality-return-in-window"


def test_an_unknown_overrider_makes_the_outcome_undecided(decide):
    decision = decide(without=("units_of_product",))
    assert decision.outputs["eligibility"].status == "undetermined"
    assert decision.missing_facts == ("units_of_product",)
    effect = effect_of(decision, "money-back-guarantee")
    assert effect.effect == "undecided" and effect.by == "bulk-or-corporate-may-refuse"
    assert effect.missing == ("units_of_product",)


def test_list_outputs_collect_every_applicable_clause_in_order(decide):
    decision = decide()
    assert decision.outputs["return_requirements"].value == ("all_accessories", "promotional_gifts", "original_packaging")
    assert decision.outputs["return_requirements"].clauses == ("non-quality-accessories-and-gifts", "non-quality-original-packaging")


def test_default_when_no_clause_sets_an_output(decide):
    result = decide().outputs["warranty_ends_on"]
    assert (result.value, result.status, result.clauses) == (None, "default", ())


def test_clauses_may_read_decided_outputs(decide):
    decision = decide()
    clause = next(e for e in events(decision, Op.CLAUSE) if e.subject == "procedure-contact-support")
    assert [(r.name, r.kind, r.value) for r in clause.reads] == [("request", "fact", "return"), ("eligibility", "output", "eligible")]


def test_every_clause_has_one_clause_event_and_one_effect(decide, aqara):
    decision = decide()
    ids = [c.id for c in aqara.clauses]
    assert sorted(e.subject for e in events(decision, Op.CLAUSE)) == sorted(ids)
    assert [e.subject for e in events(decision, Op.EFFECT)] == ids
    assert [e.subject for e in events(decision, Op.OUTPUT)] == list(aqara.outputs)


def test_clause_events_record_every_value_read(decide):
    decision = decide(request_at="2026-04-04T09:00:00Z")
    clause = next(e for e in events(decision, Op.CLAUSE) if e.subject == "no-refund-after-30-days")
    assert clause.result == "true"
    assert [(r.name, r.kind, r.value) for r in clause.reads] == [
        ("money_back_request", "derived", True), ("days_since_purchase", "derived", 34), ("money_back_days", "parameter", 30)]
    derived = next(e for e in events(decision, Op.DERIVED) if e.subject == "days_since_purchase")
    assert [r.name for r in derived.reads] == ["order_placed_at", "request_at"]


def test_an_unknown_read_names_the_missing_fact(decide):
    decision = decide(without=("sales_channel",))
    clause = next(e for e in events(decision, Op.CLAUSE) if e.subject == "retailer-referral")
    assert clause.result == "unknown" and clause.missing == ("sales_channel",)
    assert clause.reads[0].missing == ("sales_channel",)
    assert decision.outputs["eligibility"].value == "undetermined"
    assert decision.missing_facts == ("sales_channel",)


def test_false_and_unknown_is_false_in_a_clause(decide):
    # cancel-within-12h: request is unknown, but 239 hours is over the 12-hour window: false.
    decision = decide(without=("request",))
    clause = next(e for e in events(decision, Op.CLAUSE) if e.subject == "cancel-within-12h")
    assert clause.result == "false"


def test_trace_off_gives_the_same_outputs(aqara, decide):
    traced = decide()
    case = engine.case_from_facts(aqara, dict(traced.facts))
    untraced = engine.decide(aqara, case, trace=False)
    assert untraced.events == ()
    assert {k: v.value for k, v in untraced.outputs.items()} == {k: v.value for k, v in traced.outputs.items()}


def test_a_failing_clause_is_an_error_not_a_silent_skip(policy_copy):
    # Types are right, but the whole of the proration is zero at run time.
    policy_copy.replace("prorate(product_price, warranty_days_left, warranty_days_total)",
                        "prorate(product_price, warranty_days_left, warranty_days_total - warranty_days_total)")
    policy = engine.load(policy_copy.folder).base
    from conftest import BASE_FACTS

    facts = {**BASE_FACTS, "request": "warranty_claim", "reason_category": "quality", "replaceable": False,
             "request_at": "2026-06-01T10:00:00Z"}
    decision = engine.decide(policy, engine.case_from_facts(policy, facts))
    # The failure spreads to what depends on it, each step named: the derived value, the clause, the
    # output, the clause that reads that output, and the output it sets.
    assert [e.subject for e in decision.errors] == [
        "usage_partial_refund", "quality-partial-refund", "refund_amount", "procedure-refund-after-inspection", "next_steps"]
    assert "argument 3 of `prorate` (the whole) must not be zero" in decision.errors[0].message
    assert decision.outputs["refund_amount"].status == "error"
    assert decision.outputs["refund_amount"].value is None
    assert decision.outputs["eligibility"].value == "eligible"


@pytest.mark.parametrize("field", ["request_at", "order_placed_at"])
def test_decisions_are_deterministic(decide, field):
    first, second = decide(without=(field,)), decide(without=(field,))
    assert first == second


def test_a_fact_default_is_used_and_marked_in_the_trace(tiny_policy):
    from conftest import tiny_clause

    policy, problems = tiny_policy(
        "consumer: {type: bool, default: true, description: Buys as a consumer.}\n"
        "n: {type: int, description: A count.}",
        "out: {type: enum, values: [yes, no], default: no, description: The outcome.}",
        tiny_clause("c1", "consumer and n > 1", "{out: 'yes'}"))
    assert problems == []
    decision = engine.decide(policy, engine.case_from_facts(policy, {"n": 2}))
    assert decision.outputs["out"].value == "yes" and decision.missing_facts == ()
    [clause] = events(decision, Op.CLAUSE)
    assert clause.reads[0].name == "consumer" and clause.reads[0].from_default
    document = engine.decision_to_dict(decision)
    assert document["trace"]["clauses"][0]["reads"][0] == {"name": "consumer", "kind": "fact", "value": True, "from_default": True}


def test_a_default_of_the_wrong_type_is_refused(tiny_policy):
    from conftest import tiny_clause

    policy, problems = tiny_policy(
        "consumer: {type: bool, default: 'yes', description: Buys as a consumer.}",
        "out: {type: enum, values: [a], default: a, description: The outcome.}",
        tiny_clause("c1", "consumer", "{out: a}"))
    assert [p.code for p in problems] == ["fact_default"]
    assert "expected true or false" in problems[0].message

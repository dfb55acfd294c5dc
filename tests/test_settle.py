"""Exact answers for missing facts (engine/settle.py): an output is decided when every completion of
the case (the facts it lacks, free within their domains and the policy's constraints) decides it alike;
`missing_facts` is a minimal set in declaration order; the solver's budget is deterministic."""

from __future__ import annotations

import hashlib
import json
import random
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from conftest import REPO
from engine import settle
import reference

SOURCE = "The warranty lasts a year.\n"


def write_policy(folder: Path) -> Path:
    """A year's warranty from the order; a replacement unit's ends 90 days after its replacement if
    that is later. A replacement comes after the order and before the claim (constraints)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "source.txt").write_text(SOURCE, encoding="utf-8")
    sha = hashlib.sha256(SOURCE.encode()).hexdigest()
    (folder / "policy.yaml").write_text(textwrap.dedent(f"""\
        policy: {{id: warranty, version: 0.0.1, effective_from: '2026-01-01', title: Warranty, source: {{file: source.txt, sha256: {sha}}}}}
        facts:
          ordered_on: {{type: date, description: When the order was placed.}}
          claimed_on: {{type: date, description: When the claim was made.}}
          is_replacement: {{type: bool, description: Whether the unit is a replacement.}}
          replaced_on: {{type: date, description: When the replacement was provided.}}
          colour: {{type: enum, values: [red, blue], description: The colour of the unit.}}
          a: {{type: int, description: One count.}}
          b: {{type: int, description: Another count (always the first one).}}
        derived:
          warranty_end:
            expression: "max(add_days(ordered_on, 365), add_days(replaced_on, 90)) if is_replacement else add_days(ordered_on, 365)"
            description: The last day of the warranty.
        constraints:
          replaced_after_order:
            expression: "not is_replacement or replaced_on >= ordered_on"
            message: a replacement comes after the order
          replaced_before_claim:
            expression: "not is_replacement or replaced_on <= claimed_on"
            message: a replacement comes before the claim about it
          same_counts:
            expression: "a == b"
            message: the two counts agree
        outputs:
          covered: {{type: bool, default: false, description: Whether the claim is under warranty.}}
          ends_on: {{type: date, nullable: true, description: The last day of the warranty.}}
          big: {{type: bool, default: false, description: Whether the count is big.}}
        clauses:
        - id: in-warranty
          title: A claim inside the warranty is covered
          source: {{section: s, quote: The warranty lasts a year.}}
          when: "claimed_on <= warranty_end"
          then: {{covered: true, ends_on: {{expression: warranty_end}}}}
        - id: big-count
          title: A count above ten is big
          source: {{section: s, quote: The warranty lasts a year.}}
          when: "b > 10"
          then: {{big: true}}
        """), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def policy_set(tmp_path_factory):
    return engine.load(write_policy(tmp_path_factory.mktemp("settle") / "warranty"))


def decide(policy_set, **facts):
    return engine.evaluate(policy_set, {"colour": "red", "a": 1, "b": 1, **facts}, trace=True)


def test_a_claim_inside_the_original_warranty_is_covered_whatever_the_replacement(policy_set):
    # Day 100: a replacement (after the order, before the claim) can only end later than the year.
    decision = decide(policy_set, ordered_on="2026-03-01", claimed_on="2026-06-09")
    covered = decision.outputs["covered"]
    assert (covered.value, covered.status, covered.settled_by) == (True, "decided", "solver")
    assert covered.clauses == ("in-warranty",)
    assert covered.regardless_of == ("is_replacement", "replaced_on")
    # So does the end date: a replacement's 90 days end before the year does.
    ends_on = decision.outputs["ends_on"]
    assert (str(ends_on.value), ends_on.status, ends_on.settled_by) == ("2027-03-01", "decided", "solver")
    assert decision.missing_facts == () and decision.relevant_facts == ()
    assert decision.regardless_of == ("is_replacement", "replaced_on")
    assert decision.solver.status == "complete" and decision.solver.name == "z3"
    document = json.loads(engine.decision_to_json(decision))
    assert document["decided_by"]["covered"]["settled_by"] == "solver"
    assert document["solver"] == {"name": "z3", "version": decision.solver.version, "rlimit": settle.SETTLE_RLIMIT,
                                  "status": "complete", "queries": decision.solver.queries}
    assert [o["settled_by"] for o in document["trace"]["outputs"] if o["name"] == "covered"] == ["solver"]
    schema = json.loads((REPO / "schemas" / "decision.schema.json").read_text())
    jsonschema.validate(document, schema)


def test_a_claim_after_the_year_stays_open_and_names_the_replacement(policy_set):
    decision = decide(policy_set, ordered_on="2026-03-01", claimed_on="2027-04-05")
    covered = decision.outputs["covered"]
    assert (covered.status, covered.missing) == ("undetermined", ("is_replacement", "replaced_on"))
    assert decision.missing_facts == ("is_replacement", "replaced_on")
    # Once told it is no replacement, it is decided; told it is one, the date still matters.
    assert decide(policy_set, ordered_on="2026-03-01", claimed_on="2027-04-05", is_replacement=False).outputs["covered"].value is False
    told = decide(policy_set, ordered_on="2026-03-01", claimed_on="2027-04-05", is_replacement=True)
    assert told.outputs["covered"].missing == ("replaced_on",)
    # Two completions that decide it differently, each replayed through the engine.
    policy = policy_set.base
    facts = engine.case_from_facts(policy_set, {"colour": "red", "a": 1, "b": 1, "ordered_on": "2026-03-01",
                                                "claimed_on": "2027-04-05"}).facts
    first, second = settle.open_pair(policy, facts, "covered")
    values = {engine.evaluate(policy_set, completion).outputs["covered"].value for completion in (first, second)}
    assert values == {True, False}


def test_a_fact_no_output_reads_is_listed_regardless(policy_set):
    decision = engine.evaluate(policy_set, {"ordered_on": "2026-03-01", "claimed_on": "2026-03-02", "a": 1, "b": 1,
                                            "is_replacement": False})
    assert decision.missing_facts == () and decision.solver is None  # decided without the solver: colour is read by nothing


def test_facts_tied_by_a_constraint_ask_for_one_of_them(policy_set):
    # `big` reads b, and a == b: giving a (first in declaration order) settles it as well as b would.
    decision = engine.evaluate(policy_set, {"ordered_on": "2026-03-01", "claimed_on": "2026-03-02", "colour": "red",
                                            "is_replacement": False})
    big = decision.outputs["big"]
    assert (big.status, big.missing) == ("undetermined", ("a",))
    assert decision.missing_facts == ("a",)
    assert decision.relevant_facts == ("a", "b")  # each jointly with the other, through the constraint
    assert decision.regardless_of == ("replaced_on",)  # no replacement: its date changes nothing
    assert engine.evaluate(policy_set, {"ordered_on": "2026-03-01", "claimed_on": "2026-03-02", "colour": "red",
                                        "is_replacement": False, "a": 20}).outputs["big"].value is True


def test_facts_that_no_completion_can_reconcile_are_refused(policy_set):
    # Each constraint alone may hold (replaced_on is missing), but not both: after the order, before the claim.
    with pytest.raises(engine.CaseError) as caught:
        decide(policy_set, ordered_on="2026-03-10", claimed_on="2026-03-01", is_replacement=True)
    [problem] = caught.value.diagnostics
    assert problem.code == "constraints_contradicted"
    assert "`replaced_after_order`, `replaced_before_claim`" in problem.message
    assert "claimed_on = 2026-03-01" in problem.message and "ordered_on = 2026-03-10" in problem.message


def test_a_budget_too_small_keeps_the_evaluators_answer_marked_as_such(policy_set):
    policy = policy_set.base
    facts = engine.case_from_facts(policy_set, {"colour": "red", "a": 1, "b": 1, "ordered_on": "2026-03-01",
                                                "claimed_on": "2026-06-09"}).facts
    open_outputs = engine.evaluate(policy_set, facts, trace=False)  # with the default budget: settled
    assert open_outputs.outputs["covered"].status == "decided"
    from engine.evaluator import _Run
    from engine.plan import program_for

    before = _Run(program_for(policy), dict(facts), recording=False).decide()
    result = settle.settle(policy, facts, before, rlimit=1)
    assert result.solver.status == "budget_exhausted"
    assert result.outputs["covered"].status == "undetermined" and result.outputs["covered"].settled_by == "fallback"
    assert result.missing_facts and all(r.missing for r in result.outputs.values() if r.status == "undetermined")


def test_the_candidates_of_a_case_without_a_country_share_one_budget(monkeypatch):
    # A case that gives no fact may be decided by the base and by each variant and version: they are
    # settled in turn on the decision's one budget, and once it is spent the rest are not even encoded.
    built = []
    original = settle._Query.__init__

    def counting(self, policy, *args, **kwargs):
        built.append(policy.identity.chain_label())
        original(self, policy, *args, **kwargs)

    monkeypatch.setattr(settle._Query, "__init__", counting)
    aqara = engine.load("aqara-returns")
    decision = engine.evaluate(aqara, {}, trace=False)
    candidates = engine.selection.select(aqara, {}, None, None).pool
    assert len(candidates) == 5
    assert decision.solver.status == "budget_exhausted"
    assert 1 <= len(built) < len(candidates)
    assert built == [p.identity.chain_label() for p in candidates[:len(built)]]  # in the selection's order
    assert decision.missing_facts[:2] == ("request", "sales_channel")


def test_a_date_past_the_solvers_bounds_keeps_the_evaluators_answer(policy_set):
    # The terms hold dates from 1901 to 2099; the engine decides later ones, and the solver steps aside.
    decision = decide(policy_set, ordered_on="2150-03-01", claimed_on="2151-04-05")
    assert decision.solver.status == "not_encodable" and decision.solver.queries == 0
    covered = decision.outputs["covered"]
    assert (covered.status, covered.settled_by, covered.missing) == ("undetermined", "fallback", ("is_replacement", "replaced_on"))
    assert settle.open_pair(policy_set.base, engine.case_from_facts(policy_set, {"colour": "red", "a": 1, "b": 1,
                            "ordered_on": "2150-03-01", "claimed_on": "2151-04-05"}).facts, "covered") is None


def test_the_same_case_gets_the_same_bytes_whatever_was_decided_before(policy_set):
    case = {"colour": "red", "a": 1, "b": 1, "ordered_on": "2026-03-01", "claimed_on": "2027-04-05"}
    first = engine.decision_to_json(engine.evaluate(policy_set, case))
    engine.evaluate(policy_set, {**case, "claimed_on": "2026-06-09"})
    engine.evaluate(policy_set, {**case, "is_replacement": True})
    assert engine.decision_to_json(engine.evaluate(policy_set, case)) == first


# -- the bundled policy: the solver's answers against the engine on sampled completions ----------------------

sys.path.insert(0, str(REPO / "bench"))
from aqara import generate_facts  # noqa: E402  (the benchmark's seeded case generator)

AQARA = engine.load("aqara-returns")
#: Facts a partial case lacks in the samples: dates, amounts and few-valued facts alike.
DROPPABLE = ("request_at", "shipped_at", "delivered_at", "units_of_product", "reason_category", "product_damaged",
             "all_accessories_included", "product_price", "replaceable", "is_replacement_unit", "replaced_at",
             "courier_refusal", "tracking_number_issued")


def _decide_complete(facts: dict):
    try:
        return engine.evaluate(AQARA, facts, trace=False)
    except engine.CaseError:  # a completion the constraints rule out
        return None


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.lists(st.sampled_from(DROPPABLE), min_size=1, max_size=2, unique=True))
def test_what_the_solver_settles_every_sampled_completion_decides_alike(seed, dropped):
    rng = random.Random(seed)
    raw = generate_facts(rng)
    raw["country_of_purchase"] = raw["product_location_country"] = "US"  # the base policy (fast to solve)
    partial = {k: v for k, v in raw.items() if k not in dropped}
    decision = engine.evaluate(AQARA, partial, trace=False)
    assert bool(decision.missing_facts) == any(r.status == "undetermined" for r in decision.outputs.values())
    if decision.solver is None:
        return
    # Completions: the dropped facts from other generated cases (and the original values).
    completions = [raw] + [{**partial, **{k: generate_facts(random.Random(seed + i))[k] for k in dropped}}
                           for i in range(1, 9)]
    policy = decision.made_by
    checked = [engine.case_from_facts(AQARA, c).facts for c in completions if _decide_complete(c) is not None]
    agreed = reference.agreed_outputs(policy, checked)  # the oracle: by brute force over the samples
    facts = engine.case_from_facts(AQARA, partial).facts
    for name, result in decision.outputs.items():
        if result.settled_by != "solver":
            continue
        if result.status in ("decided", "default"):
            assert agreed[name] == (True, reference._canonical(result.value)), (name, dropped)
        elif result.status == "undetermined":
            assert result.missing and set(result.missing) <= set(dropped)
            pair = settle.open_pair(policy, facts, name)
            assert pair is not None, name
            both = reference.agreed_outputs(policy, [engine.case_from_facts(AQARA, c).facts for c in pair])
            assert both[name][0] is False, (name, pair)  # two completions that decide it differently


"""The evaluation plan against the reference interpreter (tests/reference.py), on generated cases.

The plan has two paths (generated code for cases whose read facts are all known, three-valued
closures for the others), an index that skips clauses, memoised output resolution and a trace
recorded compactly and expanded later. The reference has none of that. Every comparison is strict:
outputs with their status, deciding clauses, missing facts and `regardless_of`; the decision's
missing facts and errors; every trace event (by `repr`, so 1, 1.0 and True differ); and the
rendered full-trace JSON.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import sys

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import engine
import reference
import strategies
from conftest import AQARA, REPO
from engine.evaluator import evaluate
from engine.plan import program_for
from engine.plan.record import FastRecord, GeneralRecord

sys.path.insert(0, str(REPO / "bench"))
from bench import generate_facts  # noqa: E402  (the benchmark's seeded case generator)

POLICY_SET = engine.require_policy_set(AQARA)
# A failing example is shrunk, then reported alone, without the slow explain phase.
QUICK_FAILURES = dict(phases=[Phase.explicit, Phase.generate, Phase.shrink], report_multiple_bugs=False)
FACT_NAMES = sorted(POLICY_SET.facts)


def outcome(decision: engine.Decision) -> tuple:
    """Everything a decision says, in a form where 1, 1.0 and True differ."""
    outputs = {name: (repr(r.value), r.status, r.clauses, r.missing, r.regardless_of) for name, r in decision.outputs.items()}
    return outputs, decision.missing_facts, [e.to_dict() for e in decision.errors]


def assert_same(policy: engine.Policy, facts: dict) -> engine.Decision:
    # The evaluator's own semantics, without the solver (tests/test_settle.py checks what it adds).
    mine = evaluate(policy, facts, "case", trace=True, engine_version="test", settle=False)
    expected = reference.evaluate(policy, facts, "case", trace=True, engine_version="test")
    assert outcome(mine) == outcome(expected)
    assert [repr(e) for e in mine.events] == [repr(e) for e in expected.events]
    assert engine.decision_to_json(mine) == engine.decision_to_json(expected)
    untraced = evaluate(policy, facts, "case", trace=False, engine_version="test", settle=False)
    assert outcome(untraced) == outcome(expected)
    assert untraced.trace is None and untraced.events == ()
    return mine


aqara_facts = st.builds(
    lambda seed, dropped, null_shipping: _facts(seed, dropped, null_shipping),
    st.integers(0, 2**32 - 1),
    st.sets(st.sampled_from(FACT_NAMES), max_size=5),
    st.booleans(),
)


def _facts(seed: int, dropped: set[str], null_shipping: bool) -> dict:
    raw = generate_facts(random.Random(seed))
    if null_shipping:
        raw["shipped_at"] = raw["delivered_at"] = None
    for name in dropped:
        raw.pop(name, None)
    return engine.case_from_facts(POLICY_SET, raw).facts


@settings(max_examples=120, deadline=None, derandomize=True, database=None, **QUICK_FAILURES,
          suppress_health_check=[HealthCheck.too_slow])
@given(aqara_facts)
def test_the_plan_decides_the_aqara_policy_as_the_reference_does(facts):
    # Under the base policy and every variant and version whose facts the case fits.
    for policy in POLICY_SET.compiled:
        if all(name in policy.facts for name in facts):
            assert_same(policy, facts)


@settings(max_examples=150, deadline=None, derandomize=True, database=None, **QUICK_FAILURES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(strategies.policies_with_cases(cases_per_policy=4))
def test_the_plan_decides_random_small_policies_as_the_reference_does(drawn):
    # Small generated policies of every kind of fact, derived value, output and clause, with
    # overrides, output reads, facts left out, nulls, and clauses that fail at run time.
    generated, cases = drawn
    policy = strategies.load(generated)
    for raw in cases:
        assert_same(policy, engine.case_from_facts(policy, raw).facts)


@settings(max_examples=80, deadline=None, derandomize=True, database=None, **QUICK_FAILURES,
          suppress_health_check=[HealthCheck.too_slow])
@given(strategies.aqara_cases())
def test_the_plan_decides_aqara_cases_at_every_boundary_as_the_reference_does(raw):
    facts = engine.case_from_facts(POLICY_SET, raw).facts
    for policy in POLICY_SET.compiled:
        if all(name in policy.facts for name in facts):
            assert_same(policy, facts)


def test_both_paths_and_the_index_are_exercised():
    # The generated cases above would prove little if one path never ran: count them.
    rng = random.Random(5)
    kinds = {FastRecord: 0, GeneralRecord: 0}
    for _ in range(300):
        facts = _facts(rng.randrange(2**32), set(rng.sample(FACT_NAMES, rng.randint(0, 3))), rng.random() < 0.1)
        kinds[type(evaluate(POLICY_SET.base, facts, trace=True).trace)] += 1
    assert kinds[FastRecord] > 50 and kinds[GeneralRecord] > 50, kinds
    assert any(index is not None for index in program_for(POLICY_SET.base).plan.indexes)


@pytest.mark.parametrize("request_kind", ["return", "warranty_claim", "cancel_order", "modify_order"])
def test_clauses_the_index_rules_out_are_traced_as_if_evaluated(request_kind):
    facts = _facts(11, set(), False)
    facts["request"] = request_kind
    decision = assert_same(POLICY_SET.base, facts)
    assert isinstance(decision.trace, FastRecord)
    # Some clause was skipped by the index, yet its opening part is in the trace, false.
    skipped = {e.subject for e in decision.events if e.op is engine.trace.Op.PART and e.position == 0
               and e.reads and e.reads[0].name == "request" and e.result == "false"}
    assert skipped


def test_the_general_path_alone_gives_what_the_fast_path_gives():
    # Force every case onto the general path: on cases the fast path decides, both must agree.
    program = program_for(POLICY_SET.base)
    rng = random.Random(9)
    cases = [_facts(rng.randrange(2**32), set(), False) for _ in range(200)]
    fast = [evaluate(POLICY_SET.base, facts, trace=True) for facts in cases]
    original = dict(program._functions)

    def refuse(*args):
        raise RuntimeError("forced onto the general path")

    program._functions.update({False: refuse, True: refuse})
    try:
        general = [evaluate(POLICY_SET.base, facts, trace=True) for facts in cases]
    finally:
        program._functions.clear()
        program._functions.update(original)
    assert all(isinstance(d.trace, GeneralRecord) for d in general)
    assert sum(isinstance(d.trace, FastRecord) for d in fast) > 150
    for a, b in zip(fast, general):
        assert outcome(a) == outcome(b)
        assert [repr(e) for e in a.events] == [repr(e) for e in b.events]


def test_complete_cases_are_decided_by_the_generated_code_itself():
    # The evaluator falls back to the general path on any exception, which would hide a broken fast
    # path behind correct (slow) decisions: call the generated functions directly.
    for policy in (POLICY_SET.base, engine.require_policy(REPO / "bench" / "core_return")):
        program = program_for(policy)
        rng = random.Random(3)
        decided = 0
        for _ in range(200):
            raw = generate_facts(rng) if policy is POLICY_SET.base else _core_return_facts(rng)
            facts = engine.case_from_facts(policy, raw).facts
            expected = reference.evaluate(policy, facts)
            if expected.errors or expected.missing_facts:
                continue
            untraced = program.fast(facts)
            traced, _, _ = program.traced(facts)
            assert outcome_of(untraced) == outcome_of(traced) == outcome_of(expected.outputs)
            decided += 1
        assert decided > 150


def outcome_of(outputs: dict) -> dict:
    return {name: (repr(r.value), r.status, r.clauses, r.missing, r.regardless_of) for name, r in outputs.items()}


def _core_return_facts(rng: random.Random) -> dict:
    from core_return import cases as core_return_cases

    return core_return_cases.generate(1, rng.randrange(2**32))[0]


@pytest.mark.parametrize("family", ["thresholds", "mixed"])
def test_large_policies_decide_as_the_reference_does(tmp_path, family):
    # Over 60 clauses the fast path collects the clauses that held in a list, and over six buckets
    # each bucket is a function of its own: the scaling benchmark's policies take those paths.
    import scaling_policies

    generated = getattr(scaling_policies, family)(120, 1)
    policy = engine.require_policy(generated.write(tmp_path))
    program = program_for(policy)
    assert len(policy.clauses) > 60 and any(index is not None and len(index.buckets) > 6 for index in program.plan.indexes)
    rng = random.Random(4)
    fast = 0
    for number in range(80):
        raw = generated.case(rng)
        if number % 4 == 0:  # some facts left out: the general path
            raw.pop(rng.choice(sorted(raw)))
        facts = engine.case_from_facts(policy, raw).facts
        decision = assert_same(policy, facts)
        fast += isinstance(decision.trace, FastRecord)
    assert fast > 40


def test_a_clause_set_aside_still_sets_aside_what_it_overrides(tiny_policy):
    # `ww` overrides `c1`, `c1` overrides `dd`, `ww` does not override `dd`. When all three hold,
    # `c1` contributes nothing but still sets `dd` aside (overriding is by application). The fast
    # path may skip a clause set aside only when that cannot matter: here it must run `c1`.
    from conftest import tiny_clause

    policy, problems = tiny_policy(
        "a: {type: bool, description: Fact a.}\nb: {type: bool, description: Fact b.}\nc: {type: bool, description: Fact c.}",
        "out: {type: enum, values: [x, y, z], default: x, description: Output one.}\n"
        "other: {type: enum, values: [p, q], default: q, description: Output two.}",
        tiny_clause("ww", "a", "{out: y}") + "  overrides: [c1]\n"
        + tiny_clause("c1", "b", "{out: z}") + "  overrides: [dd]\n"
        + tiny_clause("dd", "c", "{other: p}"))
    assert problems == []
    for a, b, c in [(x, y, z) for x in (False, True) for y in (False, True) for z in (False, True)]:
        decision = assert_same(policy, {"a": a, "b": b, "c": c})
        assert isinstance(decision.trace, FastRecord)
        expected_other = "p" if c and not b else "q"
        assert decision.outputs["other"].value == expected_other, (a, b, c)
        untraced = evaluate(policy, {"a": a, "b": b, "c": c}, trace=False)
        assert untraced.outputs["other"].value == expected_other, (a, b, c)


LIBRARY = engine.require_policy(REPO / "examples" / "library-fines")
_amounts = st.one_of(st.sampled_from(("1.05", "7.00", "3.05", "0", "5.00", "0.01")), st.integers(0, 2000).map(lambda c: c / 100))
library_facts = st.builds(
    lambda borrowed, days, fines, fees, paid, dropped: {
        name: value for name, value in {"borrowed_on": borrowed.isoformat(),
                                        "returned_on": (borrowed + dt.timedelta(days=days)).isoformat(),
                                        "fines_charged": fines, "fees_charged": fees, "payments_made": paid}.items()
        if name not in dropped},
    st.dates(dt.date(2026, 10, 1), dt.date(2028, 3, 31)), st.integers(0, 90), _amounts, _amounts, _amounts,
    st.sets(st.sampled_from(("borrowed_on", "returned_on", "payments_made")), max_size=1))


@settings(max_examples=200, deadline=None, derandomize=True, database=None, **QUICK_FAILURES,
          suppress_health_check=[HealthCheck.too_slow])
@given(library_facts)
def test_money_and_the_calendar_decide_as_the_reference_does_in_the_generated_code_too(raw):
    # The library example (amounts, the holiday loan's `date(year(d) + 1, 1, 31)`, Sundays), across
    # holiday seasons and leap days: the plan against the reference, and the generated code itself
    # (the evaluator would hide a failing fast path behind the general path).
    facts = engine.case_from_facts(LIBRARY, raw).facts
    assert_same(LIBRARY, facts)
    expected = reference.evaluate(LIBRARY, facts)
    if not expected.errors and not expected.missing_facts:
        program = program_for(LIBRARY)
        assert outcome_of(program.fast(facts)) == outcome_of(program.traced(facts)[0]) == outcome_of(expected.outputs)


OVERRIDDEN_BY_A_PRUNED_CLAUSE = """\
policy: {id: pruned, version: 0.0.1, effective_from: '2024-01-01', title: Pruned,
         source: {file: source.txt, sha256: SHA}}
facts:
  amount: {type: number, description: A number.}
outputs:
  status: {type: enum, values: ['yes', 'no'], default: 'no', description: The status.}
clauses:
- {id: low, title: Low, source: {section: Rules, quote: Low applies.}, when: amount <= 10, then: {status: 'yes'}}
- {id: middle, title: Middle, source: {section: Rules, quote: Middle applies.}, when: amount <= 30,
   then: {status: 'yes'}, overrides: all}
- {id: high, title: High, source: {section: Rules, quote: High applies.}, when: amount > 30, then: {status: 'yes'}}
"""


def test_a_bucket_without_the_overriding_clause_decides_on_the_fast_path(tmp_path):
    # `middle` overrides every clause, so the untraced fast path skips `high` when `middle` holds. The
    # index leaves `middle` out of the bucket of amounts over 30: `high` read a flag no one had set there
    # (UnboundLocalError), and every such case left the fast path for the general one.

    source = b"Low applies.\nMiddle applies.\nHigh applies.\n"
    (tmp_path / "source.txt").write_bytes(source)
    (tmp_path / "policy.yaml").write_text(OVERRIDDEN_BY_A_PRUNED_CLAUSE.replace("SHA", hashlib.sha256(source).hexdigest()),
                                          encoding="utf-8")
    policy, problems = engine.load_policy(tmp_path)
    assert problems == []
    program = program_for(policy)
    assert "b == 2" in program.generated(False)[0]  # the index has a bucket for amounts over 30
    for amount, clauses in ((5, ("middle",)), (20, ("middle",)), (31, ("high",)), (31.5, ("high",))):
        outputs = program.fast({"amount": amount})  # raises to leave the fast path
        traced, _, _ = program.traced({"amount": amount})
        assert outputs["status"].value == traced["status"].value == "yes"
        assert traced["status"].clauses == clauses
        assert_same(policy, engine.case_from_facts(policy, {"amount": amount}).facts)

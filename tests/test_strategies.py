"""The strategies of `tests/strategies.py` make what they claim, and today's engine decides their cases.

They feed the differential tests of the evaluator rewrite. A generator that quietly stopped making
some kind of policy or case would let those tests pass without testing it, so each claim is
checked here. Every run sees the same examples (`derandomize=True`, no example database), and no
deadline makes a slow machine's run flaky.

Claims that something occurs draw examples until all of it has been seen, up to a cap, rather
than a fixed number: Hypothesis's examples are far from independent (most are mutations of
earlier ones), so a fixed sample of 200 can miss a choice of one in six entirely, and any edit
to a test would then move the sample.
"""

from __future__ import annotations

import ast
import collections
import datetime as dt
import hashlib

from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

import engine
from conftest import AQARA_VERSION
from engine import constraints
from strategies import (AQARA, AQARA_COUNTRIES, AQARA_REQUESTS, AQARA_VARIANT_FACTS, FACT_TYPES, MAX_CLAUSES,
                        MAX_DERIVED, MAX_FACTS, MAX_OUTPUTS, OUTPUT_TYPES, GeneratedPolicy, aqara_cases, cases, load,
                        load_with_problems, policies, policies_with_cases, policy_marks)


def sample(examples: int):
    # too_slow: generating a policy draws a few hundred choices, which a loaded 2-core machine may
    # find slow; the sample is fixed anyway. On a failure, one minimal example and no `explain`
    # phase: shrinking a policy takes long enough, shrinking several and explaining them minutes.
    return settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow], report_multiple_bugs=False,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])


def covering(strategy, observe, wanted: set[str], cap: int) -> set[str]:
    """Draw examples until `observe` (which returns what an example shows, and may assert) has
    shown everything in `wanted`, or `cap` examples were drawn; returns what was seen.

    Each cap is about twice the most examples any of five random seeds needed when the test was
    written; it costs time only when a claim fails."""
    seen: set[str] = set()

    def done(example) -> bool:
        seen.update(observe(example))
        return wanted <= seen

    try:  # generate only: the example that completes the set needs no shrinking
        find(strategy, done, settings=settings(max_examples=cap, derandomize=True, database=None, deadline=None,
                                               phases=[Phase.generate], suppress_health_check=[HealthCheck.too_slow]))
    except NoSuchExample:
        pass
    return seen


_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%"}


def policy_features(policy: engine.Policy) -> set[str]:
    """What a loaded policy exercises, read from the compiled policy rather than from the generator's
    own plan, so that a generator that says one thing and writes another is caught."""
    seen = set()
    for fact in policy.facts.values():
        seen.add(f"fact {fact.type}")
        seen |= {"nullable fact"} if fact.nullable else set()
        seen |= {"fact with a default"} if fact.has_default else set()
        seen |= {"int fact with bounds"} if fact.type == "int" and fact.minimum is not None else set()
    for parameter in policy.parameters.values():
        value = parameter.value
        seen.add("parameter " + ("date text" if isinstance(value, str) and value[:2] == "20" else type(value).__name__))
    booleans = set()
    for name, derived in policy.derived.items():
        seen.add("derived value")
        if derived.expression.names & set(policy.derived):
            seen.add("derived value read by another")
        tree = derived.expression.tree
        if isinstance(tree, (ast.Compare, ast.BoolOp)) or (isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.Not)):
            booleans.add(name)
    for output in policy.outputs.values():
        seen.add(f"output {output.type}")
        seen |= {"enum output with an undetermined value"} if output.undetermined else set()
        seen |= {f"nullable {output.type} output"} if output.nullable else set()
    trees = [d.expression.tree for d in policy.derived.values()]
    for clause in policy.clauses:
        trees.append(clause.condition.tree)
        seen |= {"overrides [ids]"} if clause.overrides else set()
        seen |= {"overrides: all"} if clause.overrides_all else set()
        seen |= {"condition reads an output"} if clause.condition.names & set(policy.outputs) else set()
        seen |= {"condition reads a boolean derived value"} if clause.condition.names & booleans else set()
        seen |= {"clause that always applies"} if clause.condition.text == "True" else set()
        for name, value in clause.sets:
            if value.expression is not None:
                seen.add(f"{policy.outputs[name].type} output computed")
                trees.append(value.expression.tree)
                seen |= {"value reads an output"} if value.expression.names & set(policy.outputs) else set()
    if _exclusive_pair(policy):
        seen.add("clauses exclusive without overrides")
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp):
                seen.add(f"operator {_OPERATORS[type(node.op)]}")
            elif isinstance(node, ast.Call):
                seen.add(f"function {node.func.id}")
                seen |= {"date from its parts"} if node.func.id == "date" and len(node.args) == 3 else set()
            elif isinstance(node, ast.Constant) and getattr(node, "amount", None) is not None:
                seen.add("a number written as an amount")
            elif isinstance(node, ast.Compare):
                seen |= {"chained comparison"} if len(node.ops) > 1 else set()
                seen |= {f"comparison {type(op).__name__}" for op in node.ops}
                if any(isinstance(o, ast.Constant) and o.value is None for o in [node.left, *node.comparators]):
                    seen.add("null test")
            elif isinstance(node, (ast.BoolOp, ast.UnaryOp)):
                seen.add(type(node.op).__name__.lower())
            elif isinstance(node, ast.IfExp):
                seen.add("x if c else y")
    return seen


def _exclusive_pair(policy: engine.Policy) -> bool:
    """Two clauses that set one output to different values with no precedence between them: valid
    only because the validator proved them exclusive."""
    for output in policy.outputs.values():
        if output.collects:
            continue
        writers = [c for c in policy.clauses if c.value_for(output.name) is not None]
        for i, first in enumerate(writers):
            for second in writers[i + 1:]:
                if (first.value_for(output.name).describe() != second.value_for(output.name).describe()
                        and first.id not in policy.overridden_by[second.id] and second.id not in policy.overridden_by[first.id]):
                    return True
    return False


REQUIRED_FEATURES = (
    {f"fact {kind}" for kind in FACT_TYPES} | {f"output {kind}" for kind in OUTPUT_TYPES}
    | {"nullable fact", "fact with a default", "int fact with bounds",
       "parameter int", "parameter float", "parameter str", "parameter date text", "parameter Decimal",
       "derived value", "derived value read by another", "condition reads a boolean derived value",
       "enum output with an undetermined value", "nullable number output", "number output computed",
       "nullable money output", "money output computed", "a number written as an amount", "date from its parts",
       "overrides [ids]", "overrides: all", "clauses exclusive without overrides",
       "condition reads an output", "value reads an output", "clause that always applies",
       "chained comparison", "comparison In", "comparison NotIn", "null test", "and", "or", "not", "x if c else y"}
    | {f"operator {symbol}" for symbol in _OPERATORS.values()}
    | {f"function {name}" for name in ("days_between", "hours_between", "add_days", "add_months", "utc_date",
                                       "local_date", "local_days_between", "max", "min", "abs", "round_money",
                                       "prorate", "date", "year", "month", "day", "weekday")}
)


def _valid_and_small(generated: GeneratedPolicy) -> engine.Policy:
    policy, problems = load_with_problems(generated)
    assert policy is not None and not problems, "\n".join(f"{p.subject}: {p.message}" for p in problems) + "\n" + generated.yaml
    assert len(policy.facts) <= MAX_FACTS and len(policy.derived) <= MAX_DERIVED
    assert len(policy.outputs) <= MAX_OUTPUTS and len(policy.clauses) <= MAX_CLAUSES
    return policy


def test_generated_policies_all_validate_and_stay_small():
    count = collections.Counter()

    @sample(150)
    @given(policies())
    def check(generated):
        _valid_and_small(generated)
        count["valid"] += 1

    check()
    assert count["valid"] == 150  # not one was invalid: no filtering needed, the share is 100 %


def test_generated_policies_cover_every_kind_of_piece():
    seen = covering(policies(), lambda generated: policy_features(_valid_and_small(generated)), REQUIRED_FEATURES, 600)
    assert REQUIRED_FEATURES - seen == set()


def _outcomes(policy: engine.Policy, facts: dict, decision: engine.Decision) -> set[str]:
    """What deciding one case exercised."""
    seen = set()
    if any(name not in facts and not fact.has_default for name, fact in policy.facts.items()):
        seen.add("a fact left out")
    if any(name not in facts and fact.has_default for name, fact in policy.facts.items()):
        seen.add("a default used")
    if any(value is None for value in facts.values()):
        seen.add("a null fact")
    if decision.errors:
        seen.add("a run-time error")
    if any("beyond the limit of ±10^15" in error.message or "not a finite number" in error.message
           for error in decision.errors):
        seen.add("a computed number out of range")
    statuses = {result.status for result in decision.outputs.values()}
    seen |= {f"an output {status}" for status in statuses}
    if any(result.regardless_of for result in decision.outputs.values()):
        seen.add("an output decided regardless of a missing fact")
    effects = {event.effect for event in decision.events if event.effect}
    seen |= {f"a clause {effect}" for effect in effects}
    return seen


def _decide_without_raising(policy, facts) -> engine.Decision:
    case = engine.case_from_facts(policy, facts)  # raises CaseError if the strategy made a bad fact
    decision = engine.decide(policy, case)
    engine.decision_to_json(decision)  # what a differential test compares must render too
    assert set(decision.outputs) == set(policy.outputs)
    if any(result.status == "error" for result in decision.outputs.values()):
        assert decision.errors, "an output failed without an error in the decision"
    return decision


def test_todays_engine_decides_generated_cases_without_raising():
    # The smoke test: an evaluation failure must show as `decision.errors`, never as an exception.
    @sample(100)
    @given(policies_with_cases())
    def check(drawn):
        generated, facts_of_cases = drawn
        policy = load(generated)
        for facts in facts_of_cases:
            _decide_without_raising(policy, facts)

    check()


def test_generated_cases_reach_every_path_of_the_evaluator():
    wanted = {"a fact left out", "a default used", "a null fact", "a run-time error", "an output decided",
              "an output default", "an output undetermined", "an output error",
              "an output decided regardless of a missing fact", "a clause applied", "a clause not_applicable",
              "a clause overridden", "a clause undecided", "a clause error", "a computed number out of range"}

    def observe(drawn):
        generated, facts_of_cases = drawn
        policy = load(generated)
        return set().union(*(_outcomes(policy, facts, _decide_without_raising(policy, facts)) for facts in facts_of_cases))

    assert wanted - covering(policies_with_cases(), observe, wanted, 1500) == set()


BOUNDARY_SOURCE = "Rule one applies.\n"
BOUNDARY_POLICY = f"""\
policy: {{id: boundaries, version: 0.0.1, effective_from: '2024-01-01', title: Boundaries,
  source: {{file: source.txt, sha256: {hashlib.sha256(BOUNDARY_SOURCE.encode()).hexdigest()}}}}}
facts:
  count: {{type: int, minimum: 0, description: A count.}}
  amount: {{type: number, description: An amount.}}
  start: {{type: datetime, description: A start.}}
  end: {{type: datetime, nullable: true, description: An end.}}
  day: {{type: date, description: A day.}}
  kind: {{type: enum, values: [a, b], description: A kind.}}
outputs:
  ok: {{type: bool, default: false, description: Whether it holds.}}
clauses:
- id: rule-1
  title: The rule
  source: {{section: s, quote: Rule one applies.}}
  when: count <= 10 and amount >= 59.99 and end != None and hours_between(start, end) <= 12 and days_between(start, end) > 30
    and day < date('2026-03-15') and kind == 'a'
  then: {{ok: true}}
"""


def test_cases_sit_at_the_boundaries_the_policy_tests():
    policy = load(GeneratedPolicy(BOUNDARY_POLICY, BOUNDARY_SOURCE))
    assert {10, 12, 30, 59.99} <= set(policy_marks(policy).numbers)
    assert dt.date(2026, 3, 15) in policy_marks(policy).dates

    def observe(facts):
        engine.case_from_facts(policy, facts)  # every case is one the engine accepts
        seen = {f"count {facts.get('count')}", f"amount {facts.get('amount')}", f"day {facts.get('day')}"}
        seen |= {f"{name} left out" for name in policy.facts if name not in facts}
        seen |= {f"{name} null" for name, value in facts.items() if value is None}
        moments = {name: dt.datetime.fromisoformat(facts[name]) for name in ("start", "end") if facts.get(name)}
        for name, moment in moments.items():
            if moment.date() != moment.astimezone(dt.timezone.utc).date():
                seen.add(f"{name} on another local date than in UTC")  # around midnight
        if len(moments) == 2:
            start, end = moments["start"], moments["end"]
            seen.add(f"{round((end - start).total_seconds() / 60)} minutes apart")
            seen.add(f"{(end.astimezone(dt.timezone.utc).date() - start.astimezone(dt.timezone.utc).date()).days} days apart")
        return seen

    wanted = ({"count 9", "count 10", "count 11", "amount 59.98", "amount 59.99", "amount 60.0",
               "719 minutes apart", "720 minutes apart", "721 minutes apart", "30 days apart", "31 days apart",
               "day 2026-03-14", "day 2026-03-15", "day 2026-03-16", "end null",
               "start on another local date than in UTC", "end on another local date than in UTC"}
              | {f"{name} left out" for name in policy.facts})
    assert wanted - covering(cases(policy), observe, wanted, 2000) == set()


def test_aqara_cases_cover_its_requests_countries_variants_and_boundaries():
    policy_set = engine.require_policy_set(AQARA)

    def observe(facts):
        # Which terms apply, as evaluate selects them (deciding is for the smoke test below).
        pool = engine.selection.select(policy_set, engine.case_from_facts(policy_set, facts).facts).pool
        seen = {f"country {facts.get('country_of_purchase')}", f"request {facts.get('request')}"}
        if len(pool) == 1:  # the last file of the chain, e.g. `eu 2.1.2`
            seen.add(f"terms {pool[0].identity.chain_label().split(' → ')[-1]}")
        seen |= {f"{name} given" for name in facts} | {f"{name} left out" for name in set(policy_set.facts) - set(facts)}
        seen |= {f"{name} null" for name, value in facts.items() if value is None}
        return seen | _aqara_boundaries(facts)

    wanted = ({f"country {c}" for c in AQARA_COUNTRIES} | {f"request {r}" for r in AQARA_REQUESTS}
              | {f"terms aqara-returns {AQARA_VERSION}", "terms eu 2.0.2", "terms eu 2.1.2", "terms uk 2.0.2", "terms au 1.1.1"}
              | {f"{name} given" for name in policy_set.facts} | {f"{name} left out" for name in policy_set.facts}
              | {f"{name} null" for name in ("shipped_at", "delivered_at", "preferred_remedy", "cheapest_standard_shipping",
                                             "withdrawal_information_given_late_on", "return_received_or_evidenced_on")}
              | {"12 hours", "12 hours and a minute", "30 days", "31 days", "14 days from delivery",
                 "15 days from delivery", "12 months", "12 months and a day", "local date is not the UTC date"})
    # So every type is given (but `number`: the bundled policy's prices are amounts of money).
    assert {fact.type for fact in policy_set.facts.values()} == set(FACT_TYPES) - {"number"}
    assert wanted - covering(aqara_cases(), observe, wanted, 1600) == set()


def test_aqara_cases_satisfy_the_policys_constraints():
    # Their dates are consistent (ordered, then shipped, then delivered; asked about after the order),
    # by construction rather than by filtering: the other tests decide them, and a refusal decides nothing.
    policy_set = engine.require_policy_set(AQARA)
    assert policy_set.base.constraints

    @sample(300)
    @given(aqara_cases())
    def check(facts):
        case = engine.case_from_facts(policy_set, facts)
        for policy in engine.selection.select(policy_set, case.facts).pool:
            assert constraints.broken(policy, case.facts) == []

    check()


def test_todays_engine_decides_aqara_cases_without_raising():
    policy_set = engine.require_policy_set(AQARA)

    @sample(100)
    @given(aqara_cases())
    def check(facts):
        decision, policy = engine.decide_in_set(policy_set, engine.case_from_facts(policy_set, facts))
        engine.decision_to_json(decision)

    check()


def _aqara_boundaries(facts: dict) -> set[str]:
    found = set()
    moments = {name: dt.datetime.fromisoformat(facts[name]) for name in
               ("order_placed_at", "request_at", "delivered_at") if facts.get(name)}
    if any(m.date() != m.astimezone(dt.timezone.utc).date() for m in moments.values()):
        found.add("local date is not the UTC date")
    if "order_placed_at" in moments and "request_at" in moments:
        ordered, requested = moments["order_placed_at"], moments["request_at"]
        found |= {"12 hours"} if requested - ordered == dt.timedelta(hours=12) else set()
        found |= {"12 hours and a minute"} if requested - ordered == dt.timedelta(hours=12, minutes=1) else set()
        days = (requested.astimezone(dt.timezone.utc).date() - ordered.astimezone(dt.timezone.utc).date()).days
        found |= {f"{days} days"} if days in (30, 31) else set()
        order_day = ordered.astimezone(dt.timezone.utc).date()
        year_later = order_day.replace(year=order_day.year + 1) if (order_day.month, order_day.day) != (2, 29) \
            else dt.date(order_day.year + 1, 2, 28)
        request_day = requested.astimezone(dt.timezone.utc).date()
        found |= {"12 months"} if request_day == year_later else set()
        found |= {"12 months and a day"} if request_day == year_later + dt.timedelta(days=1) else set()
    if "delivered_at" in moments and "request_at" in moments:
        days = (moments["request_at"].date() - moments["delivered_at"].date()).days  # local dates, as the EU variant
        found |= {f"{days} days from delivery"} if days in (14, 15) else set()
    return found


def test_aqara_cases_without_variant_facts_fit_the_base_policy():
    policy = engine.load(AQARA).base

    @sample(30)
    @given(aqara_cases(variant_facts=False))
    def check(facts):
        assert not set(facts) & set(AQARA_VARIANT_FACTS)
        _decide_without_raising(policy, facts)

    check()


def test_generic_cases_fit_the_shipped_policy_set():
    # The differential tests may draw cases for the shipped policies with `cases` as well.
    policy_set = engine.require_policy_set(AQARA)

    def observe(facts):
        try:
            decision, policy = engine.decide_in_set(policy_set, engine.case_from_facts(policy_set, facts))
        except engine.CaseError as refusal:
            # Generic values know nothing of the policy's constraints (a delivery before its shipping):
            # such a case is refused for that, and for nothing else, and is neither outcome.
            assert {d.code for d in refusal.diagnostics} == {"constraint_broken"}, refusal.diagnostics
            return set()
        engine.decision_to_json(decision)
        return {"undetermined" if decision.missing_facts else "decided"}

    assert covering(cases(policy_set), observe, {"undetermined", "decided"}, 200) == {"undetermined", "decided"}

"""Why and why not: what decided each output, what would have granted more, and the smallest fact
changes that would have.

Built on a decision, its trace and its policy: the parts of conditions come from the trace where
evaluation reached them, and from the plan's probe mode otherwise (`evaluator.part_outcomes`);
counterfactuals decide again only the changed facts. Both keep the case's kind (`kind_facts`): a
clause about another kind of case (a cancellation, for a return) is no candidate, and no counterfactual
changes what the case asks. It never formats text itself.
"""

from __future__ import annotations

import ast
import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .cases import MAX_NUMBER, Case, within_dates
from .errors import CaseError
from .evaluator import evaluate, part_outcomes, probe
from .model import Clause, Decision, Policy, PolicySet, to_json_value
from .selection import decide as select_and_decide
from .trace import Op, Read

#: How many counterfactuals are reported, and how many candidate changes are tried at most.
MAX_COUNTERFACTUALS = 5
MAX_CANDIDATES = 400


@dataclass(frozen=True)
class FailedCondition:
    """A part of a clause's condition that did not hold, with what it read."""

    condition: str
    reads: tuple[Read, ...]
    result: str  # false or unknown
    gap: float = 0.0  # for a comparison: how far apart its two sides were (numbers, or days for dates)

    def to_dict(self) -> dict:
        return {"condition": self.condition, "result": self.result,
                "values": {r.name: (to_json_value(r.value) if r.known else None) for r in self.reads}}


@dataclass(frozen=True)
class WhyNot:
    """A clause that would have given a better value, and why it did not apply."""

    clause: Clause
    would_give: Any
    failed: tuple[FailedCondition, ...]
    overridden_by: str = ""

    def to_dict(self) -> dict:
        item = {"clause": self.clause.id, "title": self.clause.title, "would_give": to_json_value(self.would_give),
                "failed_conditions": [f.to_dict() for f in self.failed]}
        if self.clause.source:
            item["quotes"] = [q.text for q in self.clause.source.quotes]
        if self.clause.legal:
            item["legal"] = self.clause.legal.short()
        if self.overridden_by:
            item["overridden_by"] = self.overridden_by
        return item


@dataclass(frozen=True)
class Counterfactual:
    """Fact changes that would have given a better value of the output."""

    changes: tuple[tuple[str, Any, Any], ...]  # (fact, actual value, other value)
    value: Any
    clauses: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"changes": [{"fact": f, "from": to_json_value(a), "to": to_json_value(b)} for f, a, b in self.changes],
                "value": to_json_value(self.value), "decided_by": list(self.clauses)}


@dataclass(frozen=True)
class Why:
    """A clause that decided the output, with what it quotes and the values that made it hold."""

    clause: Clause
    reads: tuple[Read, ...]

    def to_dict(self) -> dict:
        item = {"clause": self.clause.id, "title": self.clause.title,
                "values": {r.name: to_json_value(r.value) for r in self.reads if r.known}}
        if self.clause.source:
            item["quotes"] = [q.text for q in self.clause.source.quotes]
        if self.clause.legal:
            item["legal"] = self.clause.legal.short()
        return item


@dataclass(frozen=True)
class Explanation:
    """For one output with a preference: what decided it, what would have given more, and what change would."""

    output: str
    value: Any
    why_not: tuple[WhyNot, ...] = ()
    counterfactuals: tuple[Counterfactual, ...] = ()
    best: bool = False  # the customer already got the best value
    why: tuple[Why, ...] = ()
    status: str = "decided"  # or undetermined, or unranked (a value outside `preference`)
    missing: tuple[str, ...] = ()
    # The case's kind (see `kind_facts`): the facts, with the case's values, that why_not and the
    # counterfactuals kept; clauses for other values of them were left out. Set only with why_not.
    kind: tuple[tuple[str, Any], ...] = ()

    def to_dict(self) -> dict:
        item = {"output": self.output, "value": to_json_value(self.value), "status": self.status,
                "best_outcome": self.best, "missing_facts": list(self.missing), "why": [w.to_dict() for w in self.why],
                "why_not": [w.to_dict() for w in self.why_not],
                "counterfactuals": [c.to_dict() for c in self.counterfactuals]}
        if self.kind:
            item["same_kind_of_case"] = {name: to_json_value(value) for name, value in self.kind}
        return item


def explain_in_set(policy_set: PolicySet, decision: Decision, variant: str | None = None,
                   as_of: dt.date | None = None) -> list[Explanation]:
    """`explain` for a decision made by `evaluate` on a policy set: each counterfactual is decided the
    way the case was, its variant and version selected again."""

    def decide_facts(changed: dict) -> Decision | None:
        try:
            return select_and_decide(policy_set, Case(decision.case_id, changed), variant, trace=False, as_of=as_of)
        except CaseError:
            return None

    return explain(decision.made_by, decision, decide_facts)


def explain(policy: Policy, decision: Decision, decide_facts: Callable[[dict], Decision | None] | None = None,
            kinds: tuple[str, ...] | None = None) -> list[Explanation]:
    """For each output with a `preference`: what decided it, why the case did not get a better value,
    and the smallest fact changes that would have.

    Only clauses that could apply to the same kind of case are candidates, and no counterfactual
    changes the kind: see `kind_facts`.

    :param decide_facts: decides changed facts the way the real decision was made (variant and
        version selection included); None when a change makes the case undecidable. By default the
        same policy decides.
    :param kinds: the facts that say what kind of case it is; by default `kind_facts(policy)`.
    """
    decide_facts = decide_facts or (lambda facts: evaluate(policy, facts, trace=False))
    kind = tuple((name, decision.facts[name]) for name in (kind_facts(policy) if kinds is None else kinds)
                 if name in decision.facts)
    reads = {e.subject: e.reads for e in decision.events if e.op is Op.CLAUSE and e.result == "true"}
    result = []
    for output in policy.outputs.values():
        if not output.preference:
            continue
        outcome = decision.outputs[output.name]
        why = tuple(Why(policy.clause(c), reads[c]) for c in outcome.clauses if c in reads)
        if outcome.status not in ("decided", "default"):
            result.append(Explanation(output.name, outcome.value, why=why, status=outcome.status, missing=outcome.missing))
            continue
        if outcome.value not in output.preference:
            result.append(Explanation(output.name, outcome.value, why=why, status="unranked"))
            continue
        rank = _rank(output.preference, outcome.value)
        if rank == 0:
            result.append(Explanation(output.name, outcome.value, best=True, why=why))
            continue
        better = [c for c in policy.clauses if _gives_better(c, output.name, output.preference, rank)
                  and could_apply(policy, c.condition.tree, dict(kind)) is not False]
        candidates = [w for w in (_why_not(policy, decision, c, output.name) for c in better) if w.failed or w.overridden_by]
        # The nearest misses: the clauses that fail on the fewest conditions (and those set aside by another).
        fewest = min((len(w.failed) for w in candidates if w.failed), default=0)
        nearest = tuple(w for w in candidates if len(w.failed) == fewest or not w.failed)
        counterfactuals = _counterfactuals(policy, decision, output.name, output.preference, rank, nearest, decide_facts,
                                           {name for name, _ in kind})
        result.append(Explanation(output.name, outcome.value, nearest, counterfactuals, why=why, kind=kind))
    return result


def kind_facts(policy: Policy) -> tuple[str, ...]:
    """The facts that say what kind of case a clause is about: each enum fact that some clause's
    condition opens with (`request == 'cancel_order' and ...`, `request in [...]`), in declared order.

    Why: a clause's first test is, by the convention the plan's index also follows, what the clause
    is about, and an enum says which of a few kinds of thing a case is (what the customer asks for).
    A case of one kind is not explained by clauses about another, and no counterfactual turns it into
    one (a refused return is not "eligible had it been a cancellation"). Facts tested only later in
    conditions, booleans and measures (dates, amounts) stay circumstances that a counterfactual may change.
    """
    opening: set[str] = set()
    for clause in policy.clauses:
        node = clause.condition.tree
        while isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
            node = node.values[0]
        atom = _enum_atom(policy, node)
        if atom is not None:
            opening.add(atom[0])
    return tuple(name for name in policy.facts if name in opening)


def _enum_atom(policy: Policy, node: ast.expr) -> tuple[str, Callable[[Any], bool]] | None:
    """(fact, test) for `fact == 'v'`, `fact != 'v'`, `fact in ['v', ...]`, `fact not in [...]` on an enum fact."""
    if not isinstance(node, ast.Compare) or len(node.ops) != 1 or not isinstance(node.left, ast.Name):
        return None
    fact = policy.facts.get(node.left.id)
    if fact is None or fact.type != "enum":
        return None
    right, operation = node.comparators[0], node.ops[0]
    if isinstance(right, ast.Constant) and isinstance(operation, (ast.Eq, ast.NotEq)):
        return fact.name, (lambda v, c=right.value, eq=isinstance(operation, ast.Eq): (v == c) is eq)
    if isinstance(right, (ast.List, ast.Tuple)) and all(isinstance(e, ast.Constant) for e in right.elts) \
            and isinstance(operation, (ast.In, ast.NotIn)):
        values = tuple(e.value for e in right.elts)
        return fact.name, (lambda v, c=values, inside=isinstance(operation, ast.In): (v in c) is inside)
    return None


def could_apply(policy: Policy, node: ast.expr, known: Mapping[str, Any], depth: int = 0) -> bool | None:
    """Whether a condition holds when only the facts in `known` are known: True, False, or None
    (it depends on other facts). Three-valued, like evaluation: `False and unknown` is False.
    Looks through derived values; reads only tests of an enum fact against constants, so it never
    errs and never reads a default."""
    if isinstance(node, ast.BoolOp):
        results = [could_apply(policy, value, known, depth) for value in node.values]
        if isinstance(node.op, ast.And):
            return False if False in results else (True if all(r is True for r in results) else None)
        return True if True in results else (False if all(r is False for r in results) else None)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = could_apply(policy, node.operand, known, depth)
        return None if inner is None else not inner
    if isinstance(node, ast.Name) and node.id in policy.derived and depth < 16:
        return could_apply(policy, policy.derived[node.id].expression.tree, known, depth + 1)
    atom = _enum_atom(policy, node)
    if atom is not None and atom[0] in known:
        return atom[1](known[atom[0]])
    return None


def _rank(preference: tuple[str, ...], value: Any) -> int:
    return preference.index(value) if value in preference else len(preference)


def _gives_better(clause: Clause, output: str, preference: tuple[str, ...], rank: int) -> bool:
    """Whether the clause sets a value ranked better; values outside `preference` are never better."""
    value = clause.value_for(output)
    return (value is not None and value.expression is None and value.literal in preference
            and _rank(preference, value.literal) < rank)


def _why_not(policy: Policy, decision: Decision, clause: Clause, output: str) -> WhyNot:
    effect = next((e for e in decision.events if e.op is Op.EFFECT and e.subject == clause.id), None)
    overridden = effect.by if effect is not None and effect.effect == "overridden" else ""
    failed = []
    for node, result, _, reads in part_outcomes(policy, decision, clause):
        if result in ("false", "unknown"):
            failed.append(FailedCondition(ast.unparse(node), reads, result, _gap(policy, decision.facts, node)))
    return WhyNot(clause, clause.value_for(output).literal, tuple(failed), overridden)


def _counterfactuals(policy: Policy, decision: Decision, output: str, preference: tuple[str, ...], rank: int,
                     why_not: tuple[WhyNot, ...], decide_facts, fixed: set[str]) -> tuple[Counterfactual, ...]:
    """The smallest sets of fact changes (one fact, then two) that give a better value; the facts in
    `fixed` (the case's kind) are never changed."""
    facts = dict(decision.facts)
    candidates: dict[str, list] = {}
    for item in why_not:
        conditions = list(item.failed)
        if item.overridden_by:  # making the overriding clause not apply is a way too
            winner = policy.clause(item.overridden_by)
            for node, result, _, reads in part_outcomes(policy, decision, winner):
                if result == "true":
                    conditions.append(FailedCondition(ast.unparse(node), reads, "true", _gap(policy, facts, node)))
        for failed in conditions:
            for name, gap in _facts_behind(policy, facts, failed).items():
                if name in fixed:
                    continue
                for value in _candidate_values(policy, name, facts.get(name), gap):
                    if value not in candidates.setdefault(name, []) and value != facts.get(name):
                        candidates[name].append(value)
    for name in candidates:  # the smallest change first, so the first that works is the one reported
        candidates[name].sort(key=lambda v: _distance(facts.get(name), v))
    found: list[Counterfactual] = []
    tried = 0
    for size in (1, 2):
        for names in itertools.combinations(sorted(candidates), size):
            for values in itertools.product(*(candidates[n] for n in names)):
                tried += 1
                if tried > MAX_CANDIDATES or len(found) >= MAX_COUNTERFACTUALS:
                    return tuple(found)
                changed = {**facts, **dict(zip(names, values))}
                if not _keeps_date_order(facts, changed, policy):
                    continue
                decided = decide_facts(changed)
                if decided is None:
                    continue
                result = decided.outputs[output]
                if result.status == "decided" and result.value in preference and _rank(preference, result.value) < rank:
                    found.append(Counterfactual(tuple((n, facts.get(n), v) for n, v in zip(names, values)),
                                                result.value, result.clauses))
                    break  # one (the smallest) change per set of facts
        if found:
            break
    return tuple(found)


def _distance(actual: Any, value: Any) -> float:
    try:
        difference = value - actual
    except TypeError:
        return 0.0
    if isinstance(difference, dt.timedelta):
        return abs(difference.total_seconds())
    return abs(difference) if isinstance(difference, (int, float)) else 0.0


def _keeps_date_order(facts: Mapping[str, Any], changed: Mapping[str, Any], policy: Policy) -> bool:
    """A change must not reorder the case's dates (an order placed after it shipped is no case)."""
    moments = [n for n in policy.facts if policy.facts[n].type in ("date", "datetime")
               and isinstance(facts.get(n), dt.date) and isinstance(changed.get(n), dt.date)]

    def point(value: dt.date) -> dt.datetime:  # a date counts as its midnight, UTC
        return value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time(), dt.timezone.utc)

    def order(a: dt.date, b: dt.date) -> int:
        return (point(a) > point(b)) - (point(a) < point(b))

    return all(order(facts[a], facts[b]) in (0, order(changed[a], changed[b]))
               for a, b in itertools.combinations(moments, 2))


def _gap(policy: Policy, facts: Mapping[str, Any], node: ast.expr, depth: int = 0) -> float:
    """How far apart the two sides of a comparison are (in days for dates), looking through boolean
    derived values; 0 when it cannot be told."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return _gap(policy, facts, node.operand, depth)
    if isinstance(node, ast.Name) and node.id in policy.derived and depth < 5:
        return _gap(policy, facts, policy.derived[node.id].expression.tree, depth + 1)
    if isinstance(node, ast.BoolOp):
        return max((_gap(policy, facts, v, depth) for v in node.values), default=0.0)
    if not isinstance(node, ast.Compare) or len(node.ops) != 1:
        return 0.0
    sides = []
    for side in (node.left, node.comparators[0]):
        result, value, _, _ = probe(policy, facts, side)
        if result != "value":
            return 0.0
        sides.append(value)
    left, right = sides
    if isinstance(left, (int, float)) and isinstance(right, (int, float)) and not isinstance(left, bool) and not isinstance(right, bool):
        return abs(left - right)
    if isinstance(left, dt.date) and isinstance(right, dt.date) and type(left) is type(right):
        return abs((left - right).total_seconds()) / 86400 if isinstance(left, dt.datetime) else abs((left - right).days)
    return 0.0


def _facts_behind(policy: Policy, facts: Mapping[str, Any], failed: FailedCondition) -> dict[str, float]:
    """The facts a failed condition depends on (through derived values), each with the gap between
    what the condition's sides were."""
    return dict.fromkeys(policy.facts_behind([r.name for r in failed.reads]), failed.gap)


def _shifted(actual: dt.date, shifts: list[dict]) -> list:
    """`actual` moved by each shift (`timedelta` arguments) that keeps it a date a case may give: a
    gap can be wider than the way from the date to either end of the calendar."""
    moved = []
    for shift in shifts:
        try:
            value = actual + dt.timedelta(**shift)
        except OverflowError:
            continue
        if within_dates(value):
            moved.append(value)
    return moved


def _candidate_values(policy: Policy, name: str, actual: Any, gap: float) -> list:
    fact = policy.facts[name]
    if fact.type == "bool":
        return [not actual] if isinstance(actual, bool) else [True, False]
    if fact.type == "enum":
        return [v for v in fact.values if v != actual]
    if actual is None:
        return []
    whole = float(int(gap))
    steps = sorted({gap, whole, whole + 1, 1.0} - {0.0})
    if fact.type == "datetime" and isinstance(actual, dt.datetime):
        return _shifted(actual, [{"days": sign * step} for step in steps for sign in (-1, 1)]
                        + [{"hours": sign * step} for step in steps for sign in (-1, 1)])
    if fact.type == "date" and isinstance(actual, dt.date):
        return _shifted(actual, [{"days": sign * int(step)} for step in steps for sign in (-1, 1)])
    if fact.type in ("int", "number") and isinstance(actual, (int, float)):
        # Only values a case may give: finite and within the limit (a gap can be as wide as a float).
        values = [v for v in (actual + sign * step for step in steps for sign in (-1, 1)) if abs(v) <= MAX_NUMBER]
        if fact.type == "int":
            values = [int(v) for v in values]
        low = fact.minimum if fact.minimum is not None else float("-inf")
        high = fact.maximum if fact.maximum is not None else float("inf")
        return [v for v in values if low <= v <= high]
    return []

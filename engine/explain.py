"""Why and why not: what decided each output, what would have granted more, and the smallest fact
changes that would have.

Built on a decision and its policy: it re-evaluates parts of conditions (`evaluator.probe`) and
whole cases with changed facts (`evaluator.evaluate`), and never formats text itself.
"""

from __future__ import annotations

import ast
import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any, Mapping

from .evaluator import evaluate, probe
from .expressions import CompiledExpression
from .model import Clause, Decision, Policy, to_json_value
from .trace import NullTracer, Op, Read

#: How many counterfactuals are reported, and how many candidate changes are tried at most.
MAX_COUNTERFACTUALS = 5
MAX_CANDIDATES = 400


@dataclass(frozen=True)
class FailedCondition:
    """A part of a clause's condition that did not hold, with what it read."""

    condition: str
    reads: tuple[Read, ...]
    result: str  # false or unknown

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
class Explanation:
    output: str
    value: Any
    why_not: tuple[WhyNot, ...] = ()
    counterfactuals: tuple[Counterfactual, ...] = ()
    best: bool = False  # the customer already got the best value

    def to_dict(self) -> dict:
        return {"output": self.output, "value": to_json_value(self.value), "best_outcome": self.best,
                "why_not": [w.to_dict() for w in self.why_not],
                "counterfactuals": [c.to_dict() for c in self.counterfactuals]}


def explain(policy: Policy, decision: Decision) -> list[Explanation]:
    """For each output with a `preference`, why the case did not get a better value, and what would."""
    result = []
    for output in policy.outputs.values():
        if not output.preference or decision.outputs[output.name].status not in ("decided", "default"):
            continue
        actual = decision.outputs[output.name].value
        rank = _rank(output.preference, actual)
        if rank == 0:
            result.append(Explanation(output.name, actual, best=True))
            continue
        better = [c for c in policy.clauses if _gives_better(c, output.name, output.preference, rank)]
        candidates = [w for w in (_why_not(policy, decision, c, output.name) for c in better) if w.failed or w.overridden_by]
        # The nearest misses: the clauses that fail on the fewest conditions (and those set aside by another).
        fewest = min((len(w.failed) for w in candidates if w.failed), default=0)
        nearest = tuple(w for w in candidates if len(w.failed) == fewest or not w.failed)
        counterfactuals = _counterfactuals(policy, decision, output.name, output.preference, rank, nearest)
        result.append(Explanation(output.name, actual, nearest, counterfactuals))
    return result


def _rank(preference: tuple[str, ...], value: Any) -> int:
    return preference.index(value) if value in preference else len(preference)


def _gives_better(clause: Clause, output: str, preference: tuple[str, ...], rank: int) -> bool:
    value = clause.value_for(output)
    return value is not None and value.expression is None and _rank(preference, value.literal) < rank


def _conjuncts(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        return [part for value in node.values for part in _conjuncts(value)]
    return [node]


def _why_not(policy: Policy, decision: Decision, clause: Clause, output: str) -> WhyNot:
    effect = next((e for e in decision.events if e.op is Op.EFFECT and e.subject == clause.id), None)
    overridden = effect.by if effect is not None and effect.effect == "overridden" else ""
    failed = []
    for part in _conjuncts(clause.condition.tree):
        text = ast.unparse(part)
        expression = CompiledExpression(text, part)
        result, value, reads, _ = probe(policy, decision.facts, expression)
        if result == "unknown" or (result == "value" and value is not True):
            failed.append(FailedCondition(text, reads, "unknown" if result == "unknown" else "false"))
    return WhyNot(clause, clause.value_for(output).literal, tuple(failed), overridden)


def _counterfactuals(policy: Policy, decision: Decision, output: str, preference: tuple[str, ...], rank: int,
                     why_not: tuple[WhyNot, ...]) -> tuple[Counterfactual, ...]:
    """The smallest sets of fact changes (one fact, then two) that give a better value."""
    facts = dict(decision.facts)
    candidates: dict[str, list] = {}
    for item in why_not:
        conditions = list(item.failed)
        if item.overridden_by:  # making the overriding clause not apply is a way too
            winner = policy.clause(item.overridden_by)
            for part in _conjuncts(winner.condition.tree):
                result, value, reads, _ = probe(policy, facts, CompiledExpression(ast.unparse(part), part))
                if result == "value" and value is True:
                    conditions.append(FailedCondition(ast.unparse(part), reads, "true"))
        for failed in conditions:
            for name, gap in _facts_behind(policy, facts, failed).items():
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
                result = evaluate(policy, changed, tracer=NullTracer()).outputs[output]
                if result.status == "decided" and _rank(preference, result.value) < rank:
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


def _facts_behind(policy: Policy, facts: Mapping[str, Any], failed: FailedCondition) -> dict[str, float]:
    """The facts a failed condition depends on (through derived values), each with the numeric gap
    between what it read and what the condition needed, when the condition compares with a number."""
    gap = _numeric_gap(failed)
    names: dict[str, float] = {}
    pending = [r.name for r in failed.reads]
    seen = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in policy.facts:
            names[name] = gap
        elif name in policy.derived:
            pending.extend(policy.derived[name].expression.names)
    return names


def _numeric_gap(failed: FailedCondition) -> float:
    numbers = [r.value for r in failed.reads if r.known and isinstance(r.value, (int, float)) and not isinstance(r.value, bool)]
    if len(numbers) >= 2:
        return abs(numbers[0] - numbers[1])
    return 0.0


def _candidate_values(policy: Policy, name: str, actual: Any, gap: float) -> list:
    fact = policy.facts[name]
    if fact.type == "bool":
        return [not actual] if isinstance(actual, bool) else [True, False]
    if fact.type == "enum":
        return [v for v in fact.values if v != actual]
    if actual is None:
        return []
    steps = sorted({gap, gap + 1, 1.0} - {0.0})
    if fact.type == "datetime" and isinstance(actual, dt.datetime):
        return [actual + sign * dt.timedelta(days=step) for step in steps for sign in (-1, 1)] + \
               [actual + sign * dt.timedelta(hours=step) for step in steps for sign in (-1, 1)]
    if fact.type == "date" and isinstance(actual, dt.date):
        return [actual + sign * dt.timedelta(days=int(step)) for step in steps for sign in (-1, 1)]
    if fact.type in ("int", "number") and isinstance(actual, (int, float)):
        values = [actual + sign * step for step in steps for sign in (-1, 1)]
        if fact.type == "int":
            values = [int(v) for v in values]
        low = fact.minimum if fact.minimum is not None else float("-inf")
        high = fact.maximum if fact.maximum is not None else float("inf")
        return [v for v in values if low <= v <= high]
    return []

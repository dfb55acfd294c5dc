"""Test coverage of a policy: which clauses, and which parts of their conditions, the tests made
true, false and unknown, for the base policy and each variant.

A clause is covered when some test made its condition true. A condition part (a conjunct of the
`when` expression) is measured on every test decided by a policy that contains the clause.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from .evaluator import part_outcomes
from .expressions import conjuncts
from .model import Policy, PolicySet
from .trace import Op

RESULTS = ("true", "false", "unknown")


@dataclass
class ClauseCoverage:
    """What the tests made one clause, and each part of its condition."""

    clause: str
    origin: str
    results: set[str] = field(default_factory=set)
    # condition text -> results seen
    conditions: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class PolicyCoverage:
    """Coverage of one compiled policy (the base, or a variant over it)."""

    label: str  # the policy or variant that defines the clauses
    clauses: dict[str, ClauseCoverage] = field(default_factory=dict)
    tests: int = 0  # tests decided by a policy that contains these clauses
    # Cases for the condition parts no test made true or false (`suggest.Suggestions`); None: not asked for.
    suggestions: Any = None

    def clauses_true(self) -> int:
        """How many clauses the tests made true."""
        return sum(1 for c in self.clauses.values() if "true" in c.results)

    def clause_percent(self) -> float:
        return 100.0 * self.clauses_true() / len(self.clauses) if self.clauses else 100.0

    def clause_percent_text(self) -> str:
        """The clause coverage as every output shows it: `96.7` for 30 of 31 (see `percent_text`)."""
        return percent_text(self.clauses_true(), len(self.clauses))

    def below(self, minimum: float) -> bool:
        """Whether fewer than `minimum` % of the clauses were made true, compared exactly (no rounding)."""
        return Fraction(100 * self.clauses_true(), len(self.clauses) or 1) < Fraction(str(minimum)) if self.clauses else False

    def condition_counts(self) -> dict[str, tuple[int, int]]:
        """For true, false and unknown: (condition parts that reached it, all condition parts)."""
        parts = [results for c in self.clauses.values() for results in c.conditions.values()]
        return {r: (sum(1 for p in parts if r in p), len(parts)) for r in RESULTS}


def percent_text(part: int, whole: int) -> str:
    """`part` of `whole` as a percentage with one decimal, cut (never rounded up) and without a trailing
    `.0`: 30 of 31 is `96.7` (96.77…), 29 of 30 `96.6` (96.66…), 999 of 1000 `99.9`, 1 of 1 `100`. The
    one way a coverage figure is written, in the table, the `--min-coverage` message and the JSON, so
    100 always means all and the same figure reads the same everywhere. An empty whole is `100`."""
    tenths = 1000 * part // whole if whole else 1000
    return str(tenths // 10) if tenths % 10 == 0 else f"{tenths // 10}.{tenths % 10}"


def measure(runs: list[tuple[PolicySet, list]]) -> list[PolicyCoverage]:
    """What each clause and condition part did in the tests: `runs` pairs each policy set with the
    results of its tests (`testing.run_test(..., trace=True)`), whose decisions are read, not made again.

    Each clause is counted where it is defined: the base policy's clauses in its table, each variant
    version's own clauses in that version's table, whichever policy (base or variant) decided the test.
    A condition part's result comes from the trace when the decision reached it, and from the plan's
    probe mode otherwise (`evaluator.part_outcomes`).
    """
    tables: dict[str, PolicyCoverage] = {}

    def entry(policy: Policy, clause) -> ClauseCoverage:
        label = label_of(policy, clause)
        table = tables.setdefault(label, PolicyCoverage(label))
        item = table.clauses.setdefault(clause.id, ClauseCoverage(clause.id, clause.origin or policy.id))
        for part in conjuncts(clause.condition.tree):
            item.conditions.setdefault(ast.unparse(part), set())
        return item

    for policy_set, results in runs:
        for policy in policy_set.compiled or (policy_set.base,):
            for clause in policy.clauses:
                entry(policy, clause)
        for result in results:
            decision, policy = result.decision, result.policy
            if decision is None:  # refused: nothing was decided
                continue
            for table in {id(t): t for t in (_table_of(tables, policy, c) for c in policy.clauses)}.values():
                table.tests += 1
            results_by_clause = {e.subject: e.result for e in decision.events if e.op is Op.CLAUSE}
            for clause in policy.clauses:
                item = entry(policy, clause)
                if results_by_clause.get(clause.id) in RESULTS:
                    item.results.add(results_by_clause[clause.id])
                for node, outcome, _, _ in part_outcomes(policy, decision, clause):
                    if outcome in RESULTS:
                        item.conditions[ast.unparse(node)].add(outcome)
    return [tables[key] for key in sorted(tables, key=lambda k: (k != next(iter(tables)), k))]


def label_of(policy: Policy, clause) -> str:
    """The file (and its version) that defines a clause: one table each, so eu 1.0.0 and eu 1.1.0
    are measured apart."""
    origin = clause.origin or policy.id
    chain = policy.identity.variant_chain or (policy.id,)
    versions = policy.identity.versions or (policy.identity.version,)
    return f"{origin} {versions[chain.index(origin)] if origin in chain else policy.identity.version}"


def _table_of(tables: dict, policy: Policy, clause) -> PolicyCoverage:
    return tables[label_of(policy, clause)]


def coverage_to_text(coverages: list[PolicyCoverage]) -> str:
    lines = []
    for coverage in coverages:
        counts = coverage.condition_counts()
        lines.append("")
        lines.append(f"coverage of the clauses of {coverage.label} ({coverage.tests} tests): clauses made true "
                     f"{coverage.clauses_true()}/{len(coverage.clauses)} "
                     f"({coverage.clause_percent_text()} %); condition parts made "
                     + ", ".join(f"{r} {counts[r][0]}/{counts[r][1]}" for r in RESULTS))
        width = max(len(c) for c in coverage.clauses) if coverage.clauses else 10
        lines.append(f"  {'clause'.ljust(width)}  true  false  unknown  condition parts true/false/unknown")
        for item in coverage.clauses.values():
            marks = "  ".join(("yes" if r in item.results else "NO").ljust(len(r)) for r in RESULTS)
            parts = list(item.conditions.values())
            per = "/".join(str(sum(1 for p in parts if r in p)) for r in RESULTS)
            lines.append(f"  {item.clause.ljust(width)}  {marks}  {per} of {len(parts)}")
        lines.extend(_suggestion_lines(coverage))
    return "\n".join(lines) + "\n"


def _suggestion_lines(coverage: PolicyCoverage) -> list[str]:
    """The cases `suggest.suggest` found for the table, as lines under it: each case's facts and the parts it
    makes true or false, then the parts no case can cover, with why."""
    if not coverage.suggestions:
        return []
    lines = ["  cases for the condition parts no test made true or false (found by the solver, replayed by the engine):"]
    for case in coverage.suggestions.cases:
        lines.extend(facts_lines(case.facts, "    "))
        for target in case.covers:
            lines.append(f"      makes `{target.part}` of {target.clause} {target.result}")
    for target, why in coverage.suggestions.none:
        lines.append(f"    no case makes `{target.part}` of {target.clause} {target.result}: {why}")
    return lines


def facts_lines(facts: dict, indent: str, width: int = 110) -> list[str]:
    """A case's facts as `name: value` pairs (values as JSON writes them), wrapped into lines of at most
    `width` characters, each fact whole."""
    lines = [indent]
    for name, value in facts.items():
        pair = f"{name}: {json.dumps(value, ensure_ascii=False)}"
        if lines[-1] != indent and len(lines[-1]) + len(pair) + 2 > width:
            lines[-1] += ","
            lines.append(indent)
        lines[-1] += (", " if lines[-1] != indent else "") + pair
    return lines


def coverage_to_dict(coverages: list[PolicyCoverage], minimum: float | None = None) -> list[dict]:
    """The coverage tables as data (`verdict test --format json`): for each policy or variant version,
    the tests that measured it, its clauses made true (`percent` as `percent_text` writes it, as a
    number), its condition parts made true, false and unknown, each clause's results and parts, and,
    with a `minimum`, whether it is under it."""
    tables = []
    for coverage in coverages:
        counts = coverage.condition_counts()
        table = {
            "label": coverage.label,
            "tests": coverage.tests,
            "clauses": {"true": coverage.clauses_true(), "total": len(coverage.clauses),
                        "percent": _number(coverage.clause_percent_text())},
            "condition_parts": {"total": counts["true"][1], **{r: counts[r][0] for r in RESULTS}},
            "per_clause": [
                {"clause": item.clause, "origin": item.origin, **{r: r in item.results for r in RESULTS},
                 "condition_parts": {"total": len(item.conditions),
                                     **{r: sum(1 for p in item.conditions.values() if r in p) for r in RESULTS}}}
                for item in coverage.clauses.values()
            ],
        }
        if coverage.suggestions is not None:
            table["suggestions"] = coverage.suggestions.to_dict()
        if minimum is not None:
            table["minimum"] = _number(f"{minimum:g}")
            table["below_minimum"] = coverage.below(minimum)
        tables.append(table)
    return tables


def _number(text: str) -> int | float:
    return float(text) if "." in text or "e" in text else int(text)

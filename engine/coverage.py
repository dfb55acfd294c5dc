"""Test coverage of a policy: which clauses, and which parts of their conditions, the tests made
true, false and unknown, for the base policy and each variant.

A clause is covered when some test made its condition true. A condition part (a conjunct of the
`when` expression) is measured on every test decided by a policy that contains the clause.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field

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

    def clause_percent(self) -> float:
        covered = sum(1 for c in self.clauses.values() if "true" in c.results)
        return 100.0 * covered / len(self.clauses) if self.clauses else 100.0

    def condition_counts(self) -> dict[str, tuple[int, int]]:
        """For true, false and unknown: (condition parts that reached it, all condition parts)."""
        parts = [results for c in self.clauses.values() for results in c.conditions.values()]
        return {r: (sum(1 for p in parts if r in p), len(parts)) for r in RESULTS}


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
        label = _label(policy, clause)
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


def _label(policy: Policy, clause) -> str:
    """The file (and its version) that defines a clause: one table each, so eu 1.0.0 and eu 1.1.0
    are measured apart."""
    origin = clause.origin or policy.id
    chain = policy.identity.variant_chain or (policy.id,)
    versions = policy.identity.versions or (policy.identity.version,)
    return f"{origin} {versions[chain.index(origin)] if origin in chain else policy.identity.version}"


def _table_of(tables: dict, policy: Policy, clause) -> PolicyCoverage:
    return tables[_label(policy, clause)]


def coverage_to_text(coverages: list[PolicyCoverage]) -> str:
    lines = []
    for coverage in coverages:
        counts = coverage.condition_counts()
        lines.append("")
        lines.append(f"coverage of the clauses of {coverage.label} ({coverage.tests} tests): clauses made true "
                     f"{sum(1 for c in coverage.clauses.values() if 'true' in c.results)}/{len(coverage.clauses)} "
                     f"({math.floor(coverage.clause_percent() * 10) / 10:g} %); condition parts made "
                     + ", ".join(f"{r} {counts[r][0]}/{counts[r][1]}" for r in RESULTS))
        width = max(len(c) for c in coverage.clauses) if coverage.clauses else 10
        lines.append(f"  {'clause'.ljust(width)}  true  false  unknown  condition parts true/false/unknown")
        for item in coverage.clauses.values():
            marks = "  ".join(("yes" if r in item.results else "NO").ljust(len(r)) for r in RESULTS)
            parts = list(item.conditions.values())
            per = "/".join(str(sum(1 for p in parts if r in p)) for r in RESULTS)
            lines.append(f"  {item.clause.ljust(width)}  {marks}  {per} of {len(parts)}")
    return "\n".join(lines) + "\n"

"""Cases that would cover what the tests did not (`verdict test --coverage`): for each part of a clause's
condition that no test made true, or none made false, a case that does, found by the solver, made
canonical and replayed through the engine.

The question for a part never made false, in a policy that has the clause: every fact given, within its
domain and the policy's constraints, selected by its country and date (so the case is one `verdict eval`
and a YAML test decide with that policy, as the tests did), the clause's other parts true and this one
false: the case where this part alone keeps the clause from applying (research/symbolic-reasoning.md,
§4e). When the other parts cannot all hold with it, the part alone is asked for. A part that compares
numbers, amounts or dates is taken to its boundary where it can be (`days > 30` false at `days` 30).
Only the policies the tests ran under are asked (a variant no test was decided under gets no
suggestions: every part of it is uncovered, and its tests are for its owner to write).

A case is kept only when the engine, deciding it, gives the part the result claimed; the engine's
decision then also says which other uncovered parts the same case covers, so one case stands for all
of them and a policy with few tests costs a few cases, not one per part. Where no case exists, the
suggestion says why (none, or the budget ran out).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from .coverage import PolicyCoverage, label_of
from .evaluator import part_outcomes
from .expressions import conjuncts
from .model import Clause, Policy, PolicySet

#: The budget of each question, in z3's deterministic resource units (as the clause checks').
RLIMIT = 2_000_000
#: The budget of all the questions about one policy set.
TOTAL_RLIMIT = 100 * RLIMIT


@dataclass(frozen=True)
class Target:
    """One part of one clause that no test made `result` (`true` or `false`)."""

    clause: str
    position: int
    part: str
    result: str

    def to_dict(self) -> dict:
        return {"clause": self.clause, "position": self.position, "part": self.part, "result": self.result}


@dataclass
class Case:
    """A suggested case: its facts (as a case file writes them), the policy that decides it, and the
    targets of one table it covers (as the engine decided it)."""

    policy: str
    facts: dict[str, Any]
    covers: list[Target] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"policy": self.policy, "facts": self.facts, "covers": [t.to_dict() for t in self.covers]}

    def file_name(self, label: str) -> str:
        """The case file `--suggest DIR` writes it to: the table, and the first part it covers."""
        first = self.covers[0]
        return f"{label.replace(' ', '-')}.{first.clause}.{first.position}.{first.result}.yaml"


@dataclass
class Suggestions:
    """A table's suggestions: the cases, and the targets no case covers, each with why."""

    cases: list[Case] = field(default_factory=list)
    none: list[tuple[Target, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.cases or self.none)

    def to_dict(self) -> dict:
        return {"cases": [c.to_dict() for c in self.cases],
                "without_case": [{**t.to_dict(), "why": why} for t, why in self.none]}


def suggest(coverages: list[PolicyCoverage], runs: list[tuple[PolicySet, list]], rlimit: int = RLIMIT) -> None:
    """Fill each table's `suggestions` (see the module's docstring); `runs` as `coverage.measure` takes them."""
    tables = {c.label: c for c in coverages}
    for coverage in coverages:
        coverage.suggestions = Suggestions()
    for policy_set, results in runs:
        targets = list(_targets(tables, policy_set, results))
        if targets:
            _cover(tables, policy_set, targets, rlimit)


def _targets(tables: dict[str, PolicyCoverage], policy_set: PolicySet, results: list):
    """(table label, target, the policies the tests ran under that have its clause under that label), in
    table, clause, part order; `true` before `false`. A table no test was decided under gets none: its
    cases are for the tests to choose, not a solver."""
    deciding = [r.policy for r in results if r.decision is not None and r.policy is not None]
    ordered = [p for p in policy_set.compiled or (policy_set.base,) if any(p is d for d in deciding)]
    for label, coverage in tables.items():
        for clause_id, item in coverage.clauses.items():
            having = [p for p in ordered if p.clause(clause_id) is not None and label_of(p, p.clause(clause_id)) == label]
            if not having:
                continue
            for position, part in enumerate(conjuncts(having[0].clause(clause_id).condition.tree)):
                text = ast.unparse(part)
                for result in ("true", "false"):
                    if result not in item.conditions.get(text, {result}):
                        yield label, Target(clause_id, position, text, result), having


def _cover(tables: dict[str, PolicyCoverage], policy_set: PolicySet, targets: list, rlimit: int) -> None:
    from .clausesolver import Session  # noqa: PLC0415 - z3 only when some part was never true or false

    session = Session(policy_set, rlimit, TOTAL_RLIMIT * rlimit // RLIMIT)
    done: set[tuple[str, Target]] = set()
    for label, target, having in targets:
        if (label, target) in done:
            continue
        found, why = _case(session, having, target)
        if found is None:
            tables[label].suggestions.none.append((target, why))
            done.add((label, target))
            continue
        policy, decision, facts = found
        # Every target this decision covers, in every table its policy's clauses count in.
        for other_label, other, _ in targets:
            clause = policy.clause(other.clause)
            if (other_label, other) in done or clause is None or label_of(policy, clause) != other_label:
                continue
            if part_outcomes(policy, decision, clause)[other.position][1] == other.result:
                done.add((other_label, other))
                cases = tables[other_label].suggestions.cases
                if not cases or cases[-1].facts is not facts:
                    cases.append(Case(policy.identity.chain_label(), facts))
                cases[-1].covers.append(other)


def _case(session, having: list[Policy], target: Target):
    """((policy, decision, facts), "") for a replayed case that gives the target's part its result, or
    (None, why not)."""
    from .clausesolver import SAT, UNKNOWN, NotEncodable, find_witness  # noqa: PLC0415
    from .symbolic_ops import Refused, load_z3, truth  # noqa: PLC0415

    z3 = load_z3()
    unknown = False
    for policy in having:
        form = session.form(policy)
        clause = policy.clause(target.clause)
        if isinstance(form, NotEncodable):
            unknown = True
            continue
        try:
            parts = [truth(form.expression(p)) for p in conjuncts(clause.condition.tree)]
        except Refused:
            unknown = True
            continue
        this = parts[target.position]
        holds = z3.And(this.ok, this.value if target.result == "true" else z3.Not(this.value))
        others = [z3.And(p.ok, p.value) for i, p in enumerate(parts) if i != target.position]

        def shown(decision, policy=policy, clause=clause) -> bool:
            return part_outcomes(policy, decision, clause)[target.position][1] == target.result

        for query in ([holds, *others], [holds]) if others else ([holds],):
            answer = session.check(policy, query, narrowed=True)
            unknown = unknown or answer == UNKNOWN
            if answer != SAT:
                continue
            for edge in _edges(form, clause, target.position):  # the boundary, where the case tests the most
                if session.check(policy, [*query, edge], narrowed=True) == SAT:
                    query = [*query, edge]
                    break
            found = find_witness(session, policy, query, shown, narrowed_only=True, trace=True)
            if found is not None:
                return (policy, found.decision, found.facts), ""
            unknown = True  # found, but not replayed as claimed: not shown
            break
    labels = " or ".join(sorted({p.identity.chain_label() for p in having}))
    return None, ("the solver could not find one within its budget" if unknown else
                  f"no case that {labels} decides makes it {target.result}")


def _edges(form, clause: Clause, position: int) -> list:
    """For a part that compares two numbers, amounts or dates (`days > 30`), the cases at its boundary, in
    order of preference: the two sides equal, then one unit apart either way (`days` 30, 31 or 29). A
    witness prefers them: `days` 30 tests `days > 30` better than `days` 0."""
    from .symbolic_ops import Refused  # noqa: PLC0415

    part = conjuncts(clause.condition.tree)[position]
    if not (isinstance(part, ast.Compare) and len(part.ops) == 1
            and isinstance(part.ops[0], (ast.Lt, ast.LtE, ast.Gt, ast.GtE))):
        return []
    try:
        left, right = form.expression(part.left), form.expression(part.comparators[0])
    except Refused:
        return []
    if left.kind != right.kind or left.kind not in ("int", "money", "date", "real") or left.value is None or right.value is None:
        return []
    return [left.value - right.value == d for d in (0, 1, -1)]


def case_file(case: Case, label: str) -> str:
    """The text of the case file `verdict test --coverage --suggest DIR` writes for a case: one `verdict
    eval` decides, and the `facts` of a YAML test once its `expect` is written."""
    from .witness import case_yaml  # noqa: PLC0415

    covers = "\n".join(f"  clause `{t.clause}`: `{t.part}` {t.result}" for t in case.covers)
    comment = (f"Suggested by verdict test --coverage ({label}; decided by {case.policy}): it makes\n{covers}\n"
               "which no test did. Found by the solver, replayed by the engine.")
    first = case.covers[0]
    return case_yaml(case.facts, f"{first.clause}-{first.position}-{first.result}", comment)

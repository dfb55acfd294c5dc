"""The static tables of a plan: names, condition parts, setters and overriders, and the schedule.

Everything here is computed once per policy version and never changes; the evaluator and the
code generator only read it. The tables are plain data (ints, strings, tuples), so a plan can be
written to disk and shipped to another process without pickling code.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from decimal import Decimal

from ..errors import SourceLocation
from ..expressions import CompiledExpression, conjuncts
from ..model import Policy
from .index import Index, find_indexes

# Kinds of names, in the order the trace names them.
FACT, PARAMETER, DERIVED, OUTPUT = "fact", "parameter", "derived", "output"


@dataclass(frozen=True)
class Part:
    """One condition part: an expression joined to its clause's other parts by the top-level `and`s."""

    id: int  # unique in the plan
    clause: int  # index of the clause
    position: int  # 0-based position in the clause's condition
    text: str = ""
    location: SourceLocation | None = None
    # The names read, in evaluation order, when the part reads each name exactly once whatever the
    # values (no `and`, `or` or `x if c else y` inside): the traced fast path then records only values.
    static_reads: tuple[int, ...] | None = None
    condition: CompiledExpression | None = field(default=None, repr=False, compare=False)  # the clause's

    @property
    def node(self) -> ast.expr:
        return conjuncts(self.condition.tree)[self.position]


@dataclass(frozen=True)
class ThenValue:
    """What a clause sets one output to: a literal, or an expression with its slot in the values array."""

    output: int
    literal: object = None
    slot: int = -1  # index into the per-case array of computed values; -1 for a literal
    static_reads: tuple[int, ...] | None = None
    expression: CompiledExpression | None = field(default=None, repr=False, compare=False)

    @property
    def node(self) -> ast.expr | None:
        return self.expression.tree if self.expression is not None else None


@dataclass
class Plan:
    """A policy compiled for evaluation. Built once per policy version by `build`."""

    policy: Policy
    names: tuple[tuple[str, str], ...]  # nid -> (name, kind)
    nid: dict[str, int]
    facts: tuple[str, ...]
    derived: tuple[str, ...]  # in dependency order: a derived value comes after those it reads
    outputs: tuple[str, ...]  # in declaration order
    clause_ids: tuple[str, ...]  # in policy order; a clause is known by its index
    parts: tuple[Part, ...]  # every part of every clause, by part id
    clause_parts: tuple[tuple[int, ...], ...]  # clause -> its part ids in order
    then: tuple[tuple[ThenValue, ...], ...]  # clause -> what it sets, in `then` order
    slots: int  # how many computed then-values a case can have
    setters: tuple[tuple[int, ...], ...]  # output -> clauses that set it, in clause order
    overriders: tuple[tuple[int, ...], ...]  # clause -> clauses that override it, sorted by id
    strata: tuple[tuple[int, ...], ...]  # clauses in evaluation order, stratum by stratum
    # After stratum k, the outputs that a clause of a later stratum reads are resolved.
    resolve_after: tuple[tuple[int, ...], ...]
    indexes: tuple[Index | None, ...]  # per stratum
    derived_reads: tuple[tuple[int, ...] | None, ...]  # static reads of each derived value, as for parts
    output_index: dict[str, int] = field(default_factory=dict)
    derived_index: dict[str, int] = field(default_factory=dict)
    clause_index: dict[str, int] = field(default_factory=dict)


def build(policy: Policy) -> Plan:
    """The tables of `policy`'s plan (the generated code is made from them by `codegen`)."""
    names: list[tuple[str, str]] = []
    for kind, table in ((FACT, policy.facts), (PARAMETER, policy.parameters), (DERIVED, policy.derived),
                        (OUTPUT, policy.outputs)):
        names.extend((name, kind) for name in table)
    nid = {name: i for i, (name, _) in enumerate(names)}
    derived = _dependency_order(policy)
    outputs = tuple(policy.outputs)
    output_index = {name: i for i, name in enumerate(outputs)}
    clause_ids = tuple(c.id for c in policy.clauses)
    clause_index = {cid: i for i, cid in enumerate(clause_ids)}

    parts: list[Part] = []
    clause_parts = []
    then = []
    slots = 0
    for ci, clause in enumerate(policy.clauses):
        ids = []
        nodes = conjuncts(clause.condition.tree)
        for position, node in enumerate(nodes):
            location = clause.part_locations[position] if position < len(clause.part_locations) else None
            parts.append(Part(len(parts), ci, position, ast.unparse(node), location, _static_reads(node, nid),
                              clause.condition))
            ids.append(len(parts) - 1)
        clause_parts.append(tuple(ids))
        values = []
        for output_name, spec in clause.sets:
            if spec.expression is None:
                values.append(ThenValue(output_index[output_name], spec.literal))
            else:
                node = spec.expression.tree
                values.append(ThenValue(output_index[output_name], None, slots, _static_reads(node, nid), spec.expression))
                slots += 1
        then.append(tuple(values))

    setters = tuple(tuple(clause_index[c] for c in policy.setters[name]) for name in outputs)
    overriders = tuple(tuple(clause_index[w] for w in sorted(policy.overridden_by.get(cid, ()))) for cid in clause_ids)
    strata, resolve_after = _schedule(policy, clause_ids, clause_index, outputs, setters, overriders)
    plan = Plan(
        policy=policy, names=tuple(names), nid=nid, facts=tuple(policy.facts), derived=derived, outputs=outputs,
        clause_ids=clause_ids, parts=tuple(parts), clause_parts=tuple(clause_parts), then=tuple(then), slots=slots,
        setters=setters, overriders=overriders, strata=strata, resolve_after=resolve_after, indexes=(),
        derived_reads=tuple(_static_reads(policy.derived[name].expression.tree, nid) for name in derived),
        output_index=output_index, derived_index={name: i for i, name in enumerate(derived)}, clause_index=clause_index,
    )
    plan.indexes = find_indexes(plan)
    return plan


def _dependency_order(policy: Policy) -> tuple[str, ...]:
    """Derived values so that each comes after the derived values it reads (the compiler refused cycles)."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        for other in sorted(policy.derived[name].expression.names):
            if other in policy.derived:
                visit(other)
        order.append(name)

    for name in policy.derived:
        visit(name)
    return tuple(order)


def _schedule(policy: Policy, clause_ids, clause_index, outputs, setters, overriders):
    """Strata of clauses such that every output a clause reads is resolved before the clause runs.

    An output can be resolved once its setters and their overriders have run; a clause that reads
    an output runs in a later stratum than all of those. The compiler has refused loops of output
    reads, so the levels are well defined. Within a stratum, clauses keep the policy's order.
    """
    output_of = {name: i for i, name in enumerate(outputs)}
    reads: list[set[int]] = []
    for clause in policy.clauses:
        names = set(clause.condition.names)
        for _, spec in clause.sets:
            if spec.expression is not None:
                names |= spec.expression.names
        reads.append({output_of[n] for n in names if n in output_of})
    needed = [set(setters[o]) | {w for c in setters[o] for w in overriders[c]} for o in range(len(outputs))]
    clause_level: dict[int, int] = {}
    output_level: dict[int, int] = {}

    def level_of_output(o: int) -> int:
        if o not in output_level:
            output_level[o] = max((level_of_clause(c) for c in needed[o]), default=0)
        return output_level[o]

    def level_of_clause(c: int) -> int:
        if c not in clause_level:
            clause_level[c] = 1 + max((level_of_output(o) for o in reads[c]), default=-1)
        return clause_level[c]

    for c in range(len(clause_ids)):
        level_of_clause(c)
    depth = max(clause_level.values(), default=0) + 1
    strata = tuple(tuple(c for c in range(len(clause_ids)) if clause_level[c] == k) for k in range(depth))
    read_somewhere = set().union(*reads) if reads else set()
    resolve_after = tuple(tuple(o for o in sorted(read_somewhere) if level_of_output(o) == k) for k in range(depth))
    return strata, resolve_after


def _static_reads(node: ast.expr, nid: dict[str, int]) -> tuple[int, ...] | None:
    """The names an expression reads, in evaluation order, when that order never depends on values.

    Without `and`, `or` and `x if c else y`, every operand is evaluated, left to right, so the
    reads are the names of the tree in order. Otherwise None: the reads must be recorded one by one.
    """
    found: list[int] = []

    def walk(n: ast.AST) -> bool:
        if isinstance(n, (ast.BoolOp, ast.IfExp)):
            return False
        if isinstance(n, ast.Name):
            found.append(nid[n.id])
            return True
        if isinstance(n, ast.Call):
            return all(walk(a) for a in n.args)
        if isinstance(n, ast.Compare):
            return all(walk(o) for o in (n.left, *n.comparators))
        return all(walk(child) for child in ast.iter_child_nodes(n))

    return tuple(found) if walk(node) else None


def uses_money(policy: Policy) -> bool:
    """Whether any value of the policy can be an amount of money (a `Decimal`): only a `money` fact,
    parameter or output brings one in (every function and operator gives an amount only from an
    amount). Without any, the plan keeps Python's own comparisons."""
    return (any(fact.type == "money" for fact in policy.facts.values())
            or any(output.type == "money" for output in policy.outputs.values())
            or any(type(parameter.value) is Decimal for parameter in policy.parameters.values()))

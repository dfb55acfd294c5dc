"""An index over discriminating atoms: which clauses a fact's value rules out before any is evaluated.

Many clauses open with a test of one fact against constants (`request == 'return'`, `x >= 10 and
x < 20`). For such a fact, the plan divides its values into buckets (each enum value; or the
intervals between the constants a number is compared with, and the constants themselves) and, per
bucket, keeps only the clauses whose opening atoms all hold. The others are certainly false with
only their opening atoms evaluated, so skipping them changes nothing but the time spent: the trace
still shows, for each, the opening parts and what they read (expanded when rendered).

Only opening atoms count: a clause `a and x == 1` must still evaluate `a` first (it may fail or
read a missing fact), so `x == 1` there decides nothing in advance.
"""

from __future__ import annotations

import ast
import bisect
import operator as op
from dataclasses import dataclass
from typing import Any, Callable

_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: op.eq, ast.NotEq: op.ne, ast.Lt: op.lt, ast.LtE: op.le, ast.Gt: op.gt, ast.GtE: op.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b, ast.Is: op.eq, ast.IsNot: op.ne,
}
_NO_CONSTANT = object()


class _Other:
    """A value of a text fact that no atom mentions: equal to nothing."""

    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__


@dataclass(frozen=True)
class Index:
    """One stratum's index: the fact, how its values map to buckets, and each bucket's clauses."""

    fact: str
    kind: str  # "values" (a dict from each value) or "ordered" (numbers, by bisection)
    indexed: tuple[int, ...]  # clauses with opening atoms on the fact
    leading: tuple[int, ...]  # for each indexed clause, how many opening parts are atoms on the fact
    buckets: tuple[tuple[int, ...], ...]  # bucket -> indexed clauses that survive, in clause order
    keys: tuple[tuple[Any, int], ...] = ()  # "values": (value, bucket)
    default_bucket: int = 0  # "values": a value no atom names
    bounds: tuple[Any, ...] = ()  # "ordered": the constants, sorted
    regions: tuple[int, ...] = ()  # "ordered": bucket of each region (2 × len(bounds) + 1 regions)

    def bucket_of(self, value: Any) -> int | None:
        """The bucket of a fact value, or None when the index cannot tell (a null or another type)."""
        if self.kind == "values":
            try:
                return dict(self.keys).get(value, self.default_bucket)
            except TypeError:
                return None
        if type(value) not in (int, float):
            return None
        return self.regions[region(self.bounds, value)]


def region(bounds: tuple, value: Any) -> int:
    """Region 2i is the open interval below bounds[i]; region 2i + 1 is bounds[i] itself."""
    i = bisect.bisect_left(bounds, value)
    return 2 * i + 1 if i < len(bounds) and bounds[i] == value else 2 * i


def find_indexes(plan) -> tuple[Index | None, ...]:
    """For each stratum, the best index (the fact that opens the most clauses), or None."""
    return tuple(_best_index(plan, stratum) for stratum in plan.strata)


def _best_index(plan, stratum: tuple[int, ...]) -> Index | None:
    policy = plan.policy
    by_fact: dict[str, list[tuple[int, list]]] = {}
    for clause in stratum:
        parts = [plan.parts[p] for p in plan.clause_parts[clause]]
        first = _atom(parts[0].node, plan) if parts else None
        if first is None:
            continue
        atoms = [first]
        for part in parts[1:]:
            atom = _atom(part.node, plan)
            if atom is None or atom[0] != first[0]:
                break
            atoms.append(atom)
        by_fact.setdefault(first[0], []).append((clause, atoms))
    candidates = [(len(entries), -list(policy.facts).index(fact), fact) for fact, entries in by_fact.items() if len(entries) >= 2]
    for _, _, fact in sorted(candidates, reverse=True):
        index = _index_for(policy.facts[fact], by_fact[fact])
        if index is not None:
            return index
    return None


def _atom(node: ast.expr, plan) -> tuple[str, Callable[[Any], bool], tuple] | None:
    """(fact, test of a value, constants it compares with) for `fact op constant` and friends."""
    policy = plan.policy
    if isinstance(node, ast.Name) and node.id in policy.facts and policy.facts[node.id].type == "bool":
        return node.id, lambda v: v, ()
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) and isinstance(node.operand, ast.Name)
            and node.operand.id in policy.facts and policy.facts[node.operand.id].type == "bool"):
        return node.operand.id, lambda v: not v, ()
    if not isinstance(node, ast.Compare) or len(node.ops) != 1:
        return None
    left, right, compare = node.left, node.comparators[0], _COMPARE[type(node.ops[0])]
    for fact_side, other, flipped in ((left, right, False), (right, left, True)):
        if isinstance(fact_side, ast.Name) and fact_side.id in policy.facts:
            constant = _constant(other, policy)
            if constant is _NO_CONSTANT:
                continue
            values = tuple(constant) if isinstance(constant, list) else (constant,)
            if flipped:
                return fact_side.id, (lambda v, c=constant, f=compare: f(c, v)), values
            return fact_side.id, (lambda v, c=constant, f=compare: f(v, c)), values
    return None


def _constant(node: ast.expr, policy) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in policy.parameters:
        value = policy.parameters[node.id].value
        return list(value) if isinstance(value, (list, tuple)) else value
    if isinstance(node, (ast.List, ast.Tuple)):
        values = [_constant(e, policy) for e in node.elts]
        return _NO_CONSTANT if any(v is _NO_CONSTANT or isinstance(v, list) for v in values) else values
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _constant(node.operand, policy)
        if type(inner) in (int, float):
            return -inner
    return _NO_CONSTANT


def _survivors(entries: list[tuple[int, list]], value: Any) -> tuple[int, ...] | None:
    """The clauses whose opening atoms all hold for `value`; None if an atom fails on it."""
    survivors = []
    for clause, atoms in entries:
        try:
            if all(test(value) is True for _, test, _ in atoms):
                survivors.append(clause)
        except Exception:  # the atom raises on such a value: the index cannot decide for it
            return None
    return tuple(survivors)


def _index_for(fact, entries: list[tuple[int, list]]) -> Index | None:
    constants = [c for _, atoms in entries for _, _, values in atoms for c in values]
    indexed = tuple(clause for clause, _ in entries)
    leading = tuple(len(atoms) for _, atoms in entries)
    buckets: dict[tuple[int, ...], int] = {}

    def bucket(value: Any) -> int | None:
        survivors = _survivors(entries, value)
        if survivors is None:
            return None
        return buckets.setdefault(survivors, len(buckets))

    if fact.type in ("bool", "enum", "string"):
        values: list[Any] = [False, True] if fact.type == "bool" else list(fact.values)
        if fact.type == "string":
            values = sorted({c for c in constants if isinstance(c, str)})
        if fact.nullable:
            values.append(None)
        keys = []
        for value in values:
            number = bucket(value)
            if number is None:
                return None
            keys.append((value, number))
        default = bucket(_Other())
        if default is None:
            return None
        return Index(fact.name, "values", indexed, leading, _ordered(buckets), tuple(keys), default)
    if fact.type in ("int", "number"):
        bounds = tuple(sorted({c for c in constants if type(c) in (int, float)}))
        if not bounds:
            return None
        representatives = []
        for i in range(len(bounds) + 1):
            low = bounds[i - 1] if i > 0 else None
            high = bounds[i] if i < len(bounds) else None
            inside = (low + high) / 2 if low is not None and high is not None else (high - 1 if low is None else low + 1)
            representatives.append(inside)
            if high is not None:
                representatives.append(high)
        regions = []
        for value in representatives:
            number = bucket(value)
            if number is None:
                return None
            regions.append(number)
        return Index(fact.name, "ordered", indexed, leading, _ordered(buckets), bounds=bounds, regions=tuple(regions))
    return None


def _ordered(buckets: dict[tuple[int, ...], int]) -> tuple[tuple[int, ...], ...]:
    return tuple(survivors for survivors, _ in sorted(buckets.items(), key=lambda item: item[1]))

"""Static analysis of conditions: can two clauses apply to the same case?

`exclusive(a, b)` answers "provably never both true" by looking for contradicting atoms: the
same subject compared with different enum values (`request == 'return'` against `request ==
'cancel_order'`), disjoint number ranges (`days <= 30` against `days > 30`), a boolean fact and
its negation, or an expression and its negation. It is sound but not complete: `False` means "not
proven exclusive", and the policy owner then declares which clause wins with `overrides`. That is
the price of never picking a silent winner.
"""

from __future__ import annotations

import ast
import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

_FLIP = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE, ast.Eq: ast.Eq, ast.NotEq: ast.NotEq}
_NEGATE = {ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
           ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}

_NO_CONSTANT = object()


@dataclass(frozen=True)
class _Atom:
    """`subject op constant` in normal form, or an opaque expression with a polarity."""

    subject: str  # ast.dump of the subject expression
    op: type | None  # comparison operator type; None for an opaque atom
    constant: Any = None
    positive: bool = True


# A condition in negation normal form: ("and", [...]) / ("or", [...]) / ("atom", _Atom)
_Tree = tuple


class ConditionAnalyzer:
    """Normalises conditions against the policy's constants (parameters) and boolean names."""

    def __init__(self, constants: dict[str, Any], is_boolean: Callable[[str], bool],
                 boolean_definitions: dict[str, ast.expr] | None = None):
        self._constants = constants
        self._is_boolean = is_boolean
        # Boolean derived values are looked through: `quality_claim` is analysed as its definition.
        self._definitions = boolean_definitions or {}
        self._expanding: set[str] = set()
        self._cache: dict[int, tuple[ast.expr, _Tree]] = {}

    def exclusive(self, a: ast.expr, b: ast.expr) -> bool:
        """True when the two conditions can never both hold."""
        return _exclusive(self._normal(a), self._normal(b))

    def _normal(self, node: ast.expr) -> _Tree:
        # Each condition is compared with many others: normalise it once. (Keyed by identity: the
        # trees belong to compiled clauses that outlive this analyzer.)
        key = id(node)
        if key not in self._cache:
            self._cache[key] = (node, self._nnf(node, False))
        return self._cache[key][1]

    # -- normal form -------------------------------------------------------------------------

    def _nnf(self, node: ast.expr, negate: bool) -> _Tree:
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return self._nnf(node.operand, not negate)
        if isinstance(node, ast.BoolOp):
            kind = "and" if isinstance(node.op, ast.And) else "or"
            if negate:
                kind = "or" if kind == "and" else "and"
            return (kind, [self._nnf(v, negate) for v in node.values])
        if isinstance(node, ast.Compare):
            parts = []
            left = node.left
            for operator, right in zip(node.ops, node.comparators):
                parts.append(self._compare_atom(left, operator, right, negate))
                left = right
            if len(parts) == 1:
                return parts[0]
            # a < b < c means (a < b) and (b < c); negated, one of them fails.
            return ("or" if negate else "and", parts)
        if isinstance(node, ast.Name) and node.id in self._definitions and node.id not in self._expanding:
            self._expanding.add(node.id)
            try:
                return self._nnf(self._definitions[node.id], negate)
            finally:
                self._expanding.discard(node.id)
        if isinstance(node, ast.Name) and self._is_boolean(node.id):
            return ("atom", _Atom(ast.dump(node), ast.Eq, not negate))
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return ("const", node.value != negate)
        return ("atom", _Atom(ast.dump(node), None, None, not negate))

    def _compare_atom(self, left: ast.expr, operator: ast.cmpop, right: ast.expr, negate: bool) -> _Tree:
        op_type = type(operator)
        left_value, right_value = self._constant(left), self._constant(right)
        if right_value is not _NO_CONSTANT and left_value is _NO_CONSTANT:
            subject, constant = left, right_value
        elif left_value is not _NO_CONSTANT and right_value is _NO_CONSTANT and op_type in _FLIP:
            subject, constant, op_type = right, left_value, _FLIP[op_type]
        else:
            return ("atom", _Atom(ast.dump(ast.Compare(left, [operator], [right])), None, None, not negate))
        if op_type in (ast.Is, ast.IsNot):
            op_type = ast.Eq if op_type is ast.Is else ast.NotEq
        if negate:
            op_type = _NEGATE[op_type]
        if op_type is ast.Eq and isinstance(constant, bool) and isinstance(subject, ast.Name) and self._is_boolean(subject.id):
            return ("atom", _Atom(ast.dump(subject), ast.Eq, constant))
        if op_type is ast.NotEq and isinstance(constant, bool) and isinstance(subject, ast.Name) and self._is_boolean(subject.id):
            return ("atom", _Atom(ast.dump(subject), ast.Eq, not constant))
        return ("atom", _Atom(ast.dump(subject), op_type, constant))

    def _constant(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name) and node.id in self._constants:
            return self._constants[node.id]
        if isinstance(node, (ast.List, ast.Tuple)):
            values = [self._constant(e) for e in node.elts]
            if any(v is _NO_CONSTANT for v in values):
                return _NO_CONSTANT
            try:
                return frozenset(values)
            except TypeError:
                return _NO_CONSTANT
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self._constant(node.operand)
            if isinstance(inner, (int, float)) and not isinstance(inner, bool):
                return -inner
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "date"
                and len(node.args) == 1 and isinstance(node.args[0], ast.Constant)):
            try:
                return dt.date.fromisoformat(node.args[0].value)
            except (TypeError, ValueError):
                return _NO_CONSTANT
        return _NO_CONSTANT


def _conjuncts(tree: _Tree) -> list[_Tree]:
    if tree[0] != "and":
        return [tree]
    return [leaf for part in tree[1] for leaf in _conjuncts(part)]


def _exclusive(a: _Tree, b: _Tree) -> bool:
    """True when `a and b` is unsatisfiable, judged by contradicting atoms (sound, not complete)."""
    if a[0] == "const":
        return not a[1]
    if b[0] == "const":
        return not b[1]
    if a[0] == "or":
        return all(_exclusive(part, b) for part in a[1])
    if b[0] == "or":
        return all(_exclusive(a, part) for part in b[1])
    a_parts, b_parts = _conjuncts(a), _conjuncts(b)
    if len(a_parts) == 1 and len(b_parts) == 1:
        return _atoms_contradict(a[1], b[1])
    # A disjunction among the conjuncts is weighed against the whole other side; atoms pairwise.
    for part in a_parts:
        if part[0] in ("or", "const") and _exclusive(part, b):
            return True
    for part in b_parts:
        if part[0] in ("or", "const") and _exclusive(a, part):
            return True
    return any(_atoms_contradict(x[1], y[1]) for x in a_parts if x[0] == "atom" for y in b_parts if y[0] == "atom")


def _atoms_contradict(a: _Atom, b: _Atom) -> bool:
    if a.subject != b.subject:
        return False
    if a.op is None or b.op is None:
        return a.op is None and b.op is None and a.positive != b.positive
    allowed_a, allowed_b = _allowed(a), _allowed(b)
    if allowed_a is not None and allowed_b is not None:
        return not (allowed_a & allowed_b)
    for allowed, other in ((allowed_a, b), (allowed_b, a)):
        if allowed is not None:
            excluded = _excluded(other)
            if excluded is not None:
                return allowed <= excluded
            interval = _interval(other)
            if interval is not None:
                return all(not _in_interval(v, interval) for v in allowed)
            return False
    first, second = _interval(a), _interval(b)
    if first is not None and second is not None:
        return _intervals_disjoint(first, second)
    return False


def _allowed(atom: _Atom) -> frozenset | None:
    if atom.op is ast.Eq:
        return _frozen({atom.constant})
    if atom.op is ast.In and isinstance(atom.constant, frozenset):
        return atom.constant
    return None


def _excluded(atom: _Atom) -> frozenset | None:
    if atom.op is ast.NotEq:
        return _frozen({atom.constant})
    if atom.op is ast.NotIn and isinstance(atom.constant, frozenset):
        return atom.constant
    return None


def _frozen(values: set) -> frozenset | None:
    try:
        return frozenset(values)
    except TypeError:
        return None


def _kind(value: Any) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "number"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    return None


def _interval(atom: _Atom) -> tuple | None:
    """(kind, low, low_inclusive, high, high_inclusive) for `subject < c` and friends; None is unbounded."""
    kind = _kind(atom.constant)
    if kind is None:
        return None
    c = atom.constant
    bounds = {
        ast.Lt: (None, False, c, False),
        ast.LtE: (None, False, c, True),
        ast.Gt: (c, False, None, False),
        ast.GtE: (c, True, None, False),
    }.get(atom.op)
    return (kind,) + bounds if bounds else None


def _in_interval(value: Any, interval: tuple) -> bool:
    kind, low, low_inc, high, high_inc = interval
    if _kind(value) != kind:
        return True  # not comparable: cannot prove it is outside
    above = low is None or value > low or (low_inc and value == low)
    below = high is None or value < high or (high_inc and value == high)
    return above and below


def _intervals_disjoint(a: tuple, b: tuple) -> bool:
    if a[0] != b[0]:
        return False

    def ends_before(first: tuple, second: tuple) -> bool:
        _, _, _, high, high_inc = first
        _, low, low_inc, _, _ = second
        if high is None or low is None:
            return False
        return high < low or (high == low and not (high_inc and low_inc))

    return ends_before(a, b) or ends_before(b, a)

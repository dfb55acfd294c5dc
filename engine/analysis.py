"""Static analysis of conditions: can two clauses apply to the same case?

`exclusive(a, b)` answers "provably never both true" by looking for contradicting atoms: the
same subject compared with different enum values (`request == 'return'` against `request ==
'cancel_order'`), disjoint number ranges (`days <= 30` against `days > 30`), a boolean fact and
its negation, or an expression and its negation. It is sound but not complete: `False` means "not
proven exclusive", and the policy owner then declares which clause wins with `overrides`. That is
the price of never picking a silent winner.

`unseparated_pairs` keeps the conflict check about linear: it splits many conditions by the
values they admit for one subject at a time, so that `exclusive` is asked only about the pairs
that no single pair of atoms keeps apart.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
from decimal import Decimal
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

_FLIP = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE, ast.Eq: ast.Eq, ast.NotEq: ast.NotEq}
_NEGATE = {ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
           ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}

_NO_CONSTANT = object()

#: The most atoms a derived value's definition may have, once the derived values it reads are
#: looked through, for the analysis to look through it (a chain that reads each link twice doubles
#: at every link).
MAX_EXPANDED_ATOMS = 2000


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
        # Each definition's normal form, once per polarity, with its size: definitions that read
        # each other many times would otherwise be expanded again at every read.
        self._expanded: dict[tuple[str, bool], tuple[_Tree, int]] = {}
        self._cache: dict[int, tuple[ast.expr, _Tree]] = {}
        self._splits: dict[int, dict[tuple, Any]] = {}

    def exclusive(self, a: ast.expr, b: ast.expr) -> bool:
        """True when the two conditions can never both hold."""
        return _exclusive(self._normal(a), self._normal(b))

    def unseparated_pairs(self, conditions: Sequence[ast.expr]) -> Iterator[tuple[int, int]]:
        """The pairs (i, j), i < j, in that order, of conditions that `exclusive` still has to judge.

        A pair is left out only when an atom among the top-level conjuncts of one contradicts such
        an atom of the other, and that alone makes `exclusive` true: asking `exclusive` about the
        pairs given is exactly as sound and as complete as asking it about every pair (`every_pair`).
        What it does not promise: that the pairs given are not exclusive. N conditions that one
        fact keeps apart (disjoint ranges, different enum values) give no pair at all, in about
        N log N steps.
        """
        splits = [self._split_keys(condition) for condition in conditions]
        for i, later in enumerate(_unseparated(splits)):
            for j in sorted(later):
                yield i, j

    @staticmethod
    def every_pair(conditions: Sequence[ast.expr]) -> Iterator[tuple[int, int]]:
        """Every pair (i, j), i < j, in order: what the conflict check asked before the grouping,
        kept as the reference that `unseparated_pairs` is tested against."""
        for i in range(len(conditions)):
            for j in range(i + 1, len(conditions)):
                yield i, j

    def _split_keys(self, node: ast.expr) -> dict[tuple, Any]:
        key = id(node)  # as in `_normal`: the trees outlive this analyzer
        if key not in self._splits:
            self._splits[key] = _split_keys(_conjuncts(self._normal(node)))
        return self._splits[key]

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
            key = (node.id, negate)
            if key not in self._expanded:
                self._expanding.add(node.id)
                try:
                    tree = self._nnf(self._definitions[node.id], negate)
                finally:
                    self._expanding.discard(node.id)
                size = _size(tree, self._expanded)
                # Past this size a definition is analysed as an opaque atom (sound: it only proves less).
                self._expanded[key] = (tree, size) if size <= MAX_EXPANDED_ATOMS else (None, 1)
            tree = self._expanded[key][0]
            if tree is not None:
                return tree
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
            return _exact(getattr(node, "amount", node.value))
        if isinstance(node, ast.Name) and node.id in self._constants:
            return _exact(self._constants[node.id])
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
            if isinstance(inner, (int, float, Decimal)) and not isinstance(inner, bool):
                return -inner
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "date"
                and len(node.args) == 1 and isinstance(node.args[0], ast.Constant)):
            try:
                return dt.date.fromisoformat(node.args[0].value)
            except (TypeError, ValueError):
                return _NO_CONSTANT
        return _NO_CONSTANT


def boolean_expression(node: ast.expr, is_boolean: Callable[[str], bool]) -> bool:
    """Whether an expression is always true or false (never null, never another value): a comparison,
    a `not`, booleans joined by `and`/`or`, a name `is_boolean` accepts, a boolean constant."""
    if isinstance(node, ast.Compare) or (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)):
        return True
    if isinstance(node, ast.BoolOp):
        return all(boolean_expression(v, is_boolean) for v in node.values)
    if isinstance(node, ast.Name):
        return is_boolean(node.id)
    return isinstance(node, ast.Constant) and isinstance(node.value, bool)


def _size(tree: _Tree, expanded: dict) -> int:
    """How many atoms a normal form holds; the forms of definitions already expanded count their
    stored size, so that this does not walk a shared form again at every read."""
    known = {id(entry[0]): entry[1] for entry in expanded.values() if entry[0] is not None}
    total = 0
    stack = [tree]
    while stack and total <= MAX_EXPANDED_ATOMS:
        current = stack.pop()
        if id(current) in known:
            total += known[id(current)]
        elif current[0] in ("and", "or"):
            stack.extend(current[1])
        else:
            total += 1
    return total


def _exact(value: Any) -> Any:
    """A float as the decimal it was written as (its shortest repr), so that it orders exactly
    against amounts of money (`Decimal`), as the operators compare them: `fee <= 1.05` and
    `fee > fee_cap` with `fee_cap` 1.05 are disjoint. The map keeps the order of floats, and
    their equality, so nothing changes between plain numbers."""
    if isinstance(value, float):
        # NaN orders against nothing (and a Decimal refuses to try): no constant to reason with.
        return Decimal(getattr(value, "written", None) or repr(float(value))) if not math.isnan(value) else _NO_CONSTANT
    return value


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
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
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
    return _ends_before(a[3], a[4], b[1], b[2]) or _ends_before(b[3], b[4], a[1], a[2])


def _ends_before(high: Any, high_inc: bool, low: Any, low_inc: bool) -> bool:
    """An interval that ends at `high` ends before one that starts at `low` (None: unbounded)."""
    if high is None or low is None:
        return False
    return high < low or (high == low and not (high_inc and low_inc))


# -- grouping conditions by what they admit ----------------------------------------------------
#
# Each condition's top-level atoms are read as what it admits for one subject, in one of three
# families, each with its own way of cutting a group of conditions into components such that any
# two conditions in different components have contradicting atoms (`_atoms_contradict`):
#   "values"   `s == c` / `s in [...]`: the admitted set (disjoint sets contradict);
#   "polarity" an opaque expression or its negation;
#   "range"    of one kind (number or date): the tightest lower and the tightest upper bound among
#              `s < c` and friends and the smallest and largest member of admitted sets. Each
#              bound comes from one atom, and two conditions are cut apart only where a bound of
#              one ends before a bound of the other starts, so those two atoms contradict.
# An atom left unread only costs pairs for `exclusive` to judge, never a wrong answer, so whatever
# is awkward (sets of mixed kinds, NaN bounds) is left unread.

_Bound = tuple  # (value, inclusive); None is unbounded


def _split_keys(parts: list[_Tree]) -> dict[tuple, Any]:
    """(subject, family) → what one condition admits there, from the atoms among its conjuncts."""
    keys: dict[tuple, Any] = {}
    for part in parts:
        if part[0] != "atom":
            continue
        atom = part[1]
        if atom.op is None:
            keys.setdefault((atom.subject, "polarity"), atom.positive)
            continue
        allowed = _allowed(atom)
        if allowed is not None:
            keys.setdefault((atom.subject, "values"), allowed)
        admitted = _admitted_range(atom, allowed)
        if admitted is not None:
            kind, low, high = admitted
            key = (atom.subject, "range", kind)
            old_low, old_high = keys.get(key, (None, None))
            keys[key] = (_tighter_low(old_low, low), _tighter_high(old_high, high))
    return keys


def _admitted_range(atom: _Atom, allowed: frozenset | None) -> tuple[str, _Bound | None, _Bound | None] | None:
    """(kind, low, high) of what one atom admits, when it is a range of numbers or of dates."""
    if allowed is not None:
        kind = _orderable_kind(allowed)
        return None if kind is None else (kind, (min(allowed), True), (max(allowed), True))
    interval = _interval(atom)
    if interval is None or _orderable_kind({atom.constant}) is None:
        return None
    kind, low, low_inc, high, high_inc = interval
    return kind, None if low is None else (low, low_inc), None if high is None else (high, high_inc)


def _orderable_kind(values: frozenset | set) -> str | None:
    """"number" or "date" when every value is one and they can be sorted (no NaN); else None."""
    kinds = {_kind(v) for v in values}
    if len(kinds) != 1 or not kinds & {"number", "date"}:
        return None
    if any(isinstance(v, float) and math.isnan(v) for v in values):
        return None
    return kinds.pop()


def _tighter_low(a: _Bound | None, b: _Bound | None) -> _Bound | None:
    # `> c` admits less than `>= c`; of two bounds, the one that admits less cuts more.
    if a is None or (b is not None and (b[0] > a[0] or (b[0] == a[0] and not b[1]))):
        return b
    return a


def _tighter_high(a: _Bound | None, b: _Bound | None) -> _Bound | None:
    if a is None or (b is not None and (b[0] < a[0] or (b[0] == a[0] and not b[1]))):
        return b
    return a


def _looser_high(a: _Bound | None, b: _Bound | None) -> _Bound | None:
    if a is None or b is None:
        return None
    return a if a[0] > b[0] or (a[0] == b[0] and a[1]) else b


def _unseparated(splits: list[dict[tuple, Any]]) -> list[list[int]]:
    """For each condition i, the later conditions j that no split keeps apart from it (unordered).

    Conditions are cut by the subject that leaves fewest pairs, then each component again, until
    no subject cuts: those pairs are all given. Conditions that do not test the chosen subject
    are grouped among themselves and paired with every condition that does.
    """
    partners: list[list[int]] = [[] for _ in splits]
    groups = [list(range(len(splits)))]
    # A work list, not recursion: a chain of cuts as deep as the policy is long must not overflow.
    while groups:
        group = groups.pop()
        cut = _best_cut(group, splits)
        if cut is None:
            ordered = sorted(group)
            for position, i in enumerate(ordered):
                partners[i].extend(ordered[position + 1:])
            continue
        components, untested = cut
        for i in untested:
            for component in components:
                for j in component:
                    partners[min(i, j)].append(max(i, j))
        groups.extend(c for c in components + [untested] if len(c) > 1)
    return partners


def _best_cut(group: list[int], splits: list[dict[tuple, Any]]) -> tuple[list[list[int]], list[int]] | None:
    """The cut of `group` by one (subject, family) that leaves fewest pairs: (components, the
    conditions it does not read); None when no cut separates any pair."""
    readers: dict[tuple, list[tuple[int, Any]]] = {}
    for i in group:
        for key, admitted in splits[i].items():
            readers.setdefault(key, []).append((i, admitted))
    size = len(group)
    best, best_pairs = None, size * (size - 1) // 2
    for key, read in readers.items():
        if len(read) < 2:
            continue
        components = _COMPONENTS[key[1]](read)
        untested = size - len(read)
        pairs = sum(len(c) * (len(c) - 1) // 2 for c in components) + untested * (untested - 1) // 2 + untested * len(read)
        if pairs < best_pairs:
            best, best_pairs = (key, components), pairs
    if best is None:
        return None
    key, components = best
    read = {i for component in components for i in component}
    return components, [i for i in group if i not in read]


def _value_components(read: list[tuple[int, frozenset]]) -> list[list[int]]:
    """Conditions linked by a value both admit (dict keys compare as set members do: 1 == 1.0 == True)."""
    parent = {i: i for i, _ in read}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[Any, int] = {}
    for i, values in read:
        for value in values:
            other = first_with.setdefault(value, i)
            parent[root(i)] = root(other)
    return _grouped(read, root)


def _polarity_components(read: list[tuple[int, bool]]) -> list[list[int]]:
    """An expression apart from its negation."""
    positive = dict(read)
    return _grouped(read, positive.__getitem__)


def _range_components(read: list[tuple[int, tuple]]) -> list[list[int]]:
    """Sorted by lower bound, a condition starts a new component when every condition before it
    ends before it starts (checked against the one that reaches furthest)."""
    def low_key(entry: tuple[int, tuple]) -> tuple:
        low = entry[1][0]
        # Unbounded first; at one value `>= c` before `> c`, which starts later.
        return (0,) if low is None else (1, low[0], not low[1])

    components: list[list[int]] = []
    reach: _Bound | None = None
    for i, (low, high) in sorted(read, key=low_key):
        if components and (reach is None or low is None or not _ends_before(reach[0], reach[1], low[0], low[1])):
            components[-1].append(i)
            reach = _looser_high(reach, high)
        else:
            components.append([i])
            reach = high
    return components


def _grouped(read: list[tuple[int, Any]], component_of: Callable[[int], Any]) -> list[list[int]]:
    components: dict[Any, list[int]] = {}
    for i, _ in read:
        components.setdefault(component_of(i), []).append(i)
    return list(components.values())


_COMPONENTS = {"values": _value_components, "polarity": _polarity_components, "range": _range_components}

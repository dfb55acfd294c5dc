"""Expressions as Python closures with three-valued logic: the general path of the evaluator.

A closure takes the run (which resolves names and records what is read) and returns the value,
raises `Unknown` (the value depends on missing facts) or raises any other exception (a failure,
which `describe_failure` turns into a message). When every value is known, no three-valued
machinery runs: the `try` blocks cost nothing until something raises.

The rules, the same as the reference interpreter's (tests/reference.py):
- `and`, `or`: Kleene logic. A deciding operand (False for `and`, True for `or`) wins even when
  another is unknown, but only a real boolean can: `unknown or 30` is unknown.
- `x if c else y` with `c` unknown is known only when both branches are known and equal.
- Any other operator, comparison, call or list evaluates every operand, left to right, even after
  an unknown one, so that the missing facts named are all of them.
"""

from __future__ import annotations

import ast
from typing import Any, Callable

from ..expressions import OPERATORS, Unknown
from ..functions import FUNCTIONS

Closure = Callable[[Any], Any]


def compile_closure(node: ast.expr, nid: dict[str, int], operators: dict = OPERATORS) -> Closure:
    """The closure of an expression tree whose names are all in `nid`. `operators` is
    `expressions.OPERATORS`, or `expressions.WITHOUT_MONEY` for a policy without amounts of money."""
    method = _COMPILERS.get(type(node))
    if method is None:  # the whitelist walk at load time refuses everything else
        raise ValueError(f"cannot compile {type(node).__name__}")
    return method(node, nid, operators)


def _constant(node: ast.Constant, nid, operators) -> Closure:
    value = getattr(node, "amount", node.value)  # a number written as an amount: its exact decimal
    return lambda run: value


def _name(node: ast.Name, nid, operators) -> Closure:
    index = nid[node.id]
    return lambda run: run.read(index)


def _all(closures: list[Closure]) -> Callable[[Any], list]:
    def evaluate(run) -> list:
        values = []
        for i, closure in enumerate(closures):
            try:
                values.append(closure(run))
            except Unknown as unknown:
                return _rest_unknown(run, closures, i + 1, set(unknown.missing))
        return values

    return evaluate


def _rest_unknown(run, closures: list[Closure], start: int, missing: set) -> list:
    """An operand was unknown: evaluate the others anyway, for the complete list of missing facts."""
    for closure in closures[start:]:
        try:
            closure(run)
        except Unknown as unknown:
            missing |= unknown.missing
    raise Unknown(frozenset(missing))


def _sequence(node: ast.List | ast.Tuple, nid, operators) -> Closure:
    return _all([compile_closure(e, nid, operators) for e in node.elts])


def _binop(node: ast.BinOp, nid, operators) -> Closure:
    operands = _all([compile_closure(node.left, nid, operators), compile_closure(node.right, nid, operators)])
    operation = operators[type(node.op)]

    def evaluate(run):
        left, right = operands(run)
        return operation(left, right)

    return evaluate


def _unaryop(node: ast.UnaryOp, nid, operators) -> Closure:
    operand = compile_closure(node.operand, nid, operators)
    operation = operators[type(node.op)]
    return lambda run: operation(operand(run))


def _compare(node: ast.Compare, nid, operators) -> Closure:
    operands = _all([compile_closure(o, nid, operators) for o in (node.left, *node.comparators)])
    operations = [operators[type(o)] for o in node.ops]

    def evaluate(run):
        values = operands(run)
        for operation, left, right in zip(operations, values, values[1:]):
            if not operation(left, right):
                return False
        return True

    return evaluate


def _call(node: ast.Call, nid, operators) -> Closure:
    arguments = _all([compile_closure(a, nid, operators) for a in node.args])
    function = FUNCTIONS[node.func.id]
    return lambda run: function(*arguments(run))


def boolean(operands: list[Closure], deciding: bool) -> Closure:
    """Kleene `and` (deciding False) or `or` (deciding True) over operand closures."""

    def evaluate(run):
        missing: set = set()
        value: Any = not deciding
        for operand in operands:
            try:
                value = operand(run)
            except Unknown as unknown:
                missing |= unknown.missing
                continue
            if bool(value) is deciding and (not missing or isinstance(value, bool)):
                return value
        if missing:
            raise Unknown(frozenset(missing))
        return value

    return evaluate


def _boolop(node: ast.BoolOp, nid, operators) -> Closure:
    return boolean([compile_closure(v, nid, operators) for v in node.values], isinstance(node.op, ast.Or))


def _ifexp(node: ast.IfExp, nid, operators) -> Closure:
    test, body, orelse = (compile_closure(n, nid, operators) for n in (node.test, node.body, node.orelse))

    def evaluate(run):
        try:
            condition = test(run)
        except Unknown as unknown:
            # Either branch might be taken: the value is known only when both branches agree.
            missing = set(unknown.missing)
            branches = []
            for branch in (body, orelse):
                try:
                    branches.append(branch(run))
                except Unknown as inner:
                    missing |= inner.missing
            if len(branches) == 2 and branches[0] == branches[1] and type(branches[0]) is type(branches[1]):
                return branches[0]
            raise Unknown(frozenset(missing)) from None
        return body(run) if condition else orelse(run)

    return evaluate


_COMPILERS: dict[type, Callable[[Any, dict, dict], Closure]] = {
    ast.Constant: _constant, ast.Name: _name, ast.List: _sequence, ast.Tuple: _sequence, ast.BinOp: _binop,
    ast.UnaryOp: _unaryop, ast.Compare: _compare, ast.Call: _call, ast.BoolOp: _boolop, ast.IfExp: _ifexp,
}

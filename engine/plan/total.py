"""Which expressions cannot fail: a conservative test, so that the fast path may skip them.

An expression is total when, for any values of the declared types of what it reads, evaluating it
raises nothing (a missing fact only makes it unknown, which is not a failure). The test is sound
and deliberately small: comparisons of like with like, boolean logic, equality, membership in a
list; never arithmetic (a huge whole number meeting a fraction overflows), a function call, or
anything that may be null where null would fail. "Not total" means "not proven total".

The fast path uses it for clauses that another clause sets aside: when such a clause is total, its
result can change no output and no error, so it need not run at all (see `codegen`).
"""

from __future__ import annotations

import ast

from ..kinds import DATE, DATETIME, MONEY, NULL, NUMBER, TEXT, Type
from ..typecheck import TypeChecker, literal_type
from ..values import static_type

_ORDERED = {NUMBER, MONEY, TEXT, DATE, DATETIME}  # kinds that order among themselves (numbers exactly, never overflowing)


class Totality:
    def __init__(self, policy) -> None:
        self.policy = policy
        self.types = TypeChecker(self._name_type)
        self._derived: dict[str, bool] = {}
        self._typing: set[str] = set()
        self._types: dict[str, Type] = {}  # each derived value's type, inferred once

    def _name_type(self, name: str) -> Type:
        policy = self.policy
        if name in policy.facts:
            return static_type(policy.facts[name].type, policy.facts[name].nullable)
        if name in policy.outputs:
            return static_type(policy.outputs[name].type, policy.outputs[name].nullable)
        if name in policy.parameters:
            return literal_type(policy.parameters[name].value)
        if name in self._types:
            return self._types[name]
        if name in self._typing:  # the compiler refused cycles; a type is still owed here
            return frozenset({"any"})
        self._typing.add(name)
        try:
            self._types[name] = self.types.infer(policy.derived[name].expression.tree, [])
        finally:
            self._typing.discard(name)
        return self._types[name]

    def kind(self, node: ast.expr) -> Type:
        """The node's static type (a set of kinds; see `kinds`)."""
        return self.types.infer(node, [])

    def total(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.Name):
            if node.id in self.policy.derived:
                if node.id not in self._derived:
                    self._derived[node.id] = False  # a cycle cannot be proven total
                    self._derived[node.id] = self.total(self.policy.derived[node.id].expression.tree)
                return self._derived[node.id]
            return True
        if isinstance(node, (ast.List, ast.Tuple)):
            return all(self.total(e) for e in node.elts)
        if isinstance(node, ast.BoolOp):
            return all(self.total(v) for v in node.values)
        if isinstance(node, ast.IfExp):
            return all(self.total(n) for n in (node.test, node.body, node.orelse))
        if isinstance(node, ast.UnaryOp):
            return isinstance(node.op, ast.Not) and self.total(node.operand)
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if not all(self.total(o) for o in operands):
                return False
            return all(self._compare_total(op, left, right) for op, left, right in zip(node.ops, operands, operands[1:]))
        return False  # arithmetic, calls, and anything else: not proven

    def _compare_total(self, op: ast.cmpop, left: ast.expr, right: ast.expr) -> bool:
        if isinstance(op, (ast.Eq, ast.NotEq, ast.Is, ast.IsNot)):
            return True
        if isinstance(op, (ast.In, ast.NotIn)):
            # Membership in a list never fails; in a text it fails for a left side that is not text.
            return isinstance(right, (ast.List, ast.Tuple)) or self.kind(right) == frozenset({"list"})
        kinds = (self.kind(left), self.kind(right))
        return kinds[0] == kinds[1] and kinds[0] in _ORDERED and NULL not in kinds[0]

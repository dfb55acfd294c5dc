"""Static types of expressions: what each part can be, and the mistakes that are sure to fail.

A type is a set of kinds (`kinds`): bool, number, text, date, datetime, list, null, or `any` when it
cannot be known (a derived value defined by a cycle, say). A call is checked against the signature
its function declares (`functions.REGISTRY`). Only definite mistakes are reported: comparing
a date with a number, adding texts and numbers, calling `days_between` on a number. Null is left to
run time, because conditions guard it (`shipped_at != None and ...`) in ways types do not follow.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable, Mapping

from .functions import REGISTRY, Function
from .kinds import ANY, BOOL, LIST, NULL, NUMBER, TEXT, Type, describe


@dataclass(frozen=True)
class TypeProblem:
    """A definite type mistake, at an offset of the expression."""

    offset: int
    message: str


class TypeChecker:
    """Infers types over a policy's names; `name_type` gives the type of a fact, parameter, derived
    value or output (it may call back into `infer` for derived values). Calls are checked against
    the signatures of `functions` (every declared function, unless a test passes its own)."""

    def __init__(self, name_type: Callable[[str], Type], functions: Mapping[str, Function] = REGISTRY):
        self._name_type = name_type
        self._functions = functions

    def infer(self, node: ast.expr, problems: list[TypeProblem]) -> Type:
        method = getattr(self, f"_{type(node).__name__}", None)
        return method(node, problems) if method else ANY

    def _Constant(self, node: ast.Constant, problems) -> Type:
        value = node.value
        if value is None:
            return NULL
        if isinstance(value, bool):
            return BOOL
        return NUMBER if isinstance(value, (int, float)) else TEXT

    def _List(self, node: ast.List, problems) -> Type:
        for element in node.elts:
            self.infer(element, problems)
        return LIST

    _Tuple = _List

    def _Name(self, node: ast.Name, problems) -> Type:
        return self._name_type(node.id)

    def _BoolOp(self, node: ast.BoolOp, problems) -> Type:
        kinds = [self.infer(v, problems) for v in node.values]
        return BOOL if all(k == BOOL for k in kinds) else frozenset().union(*kinds)

    def _UnaryOp(self, node: ast.UnaryOp, problems) -> Type:
        operand = self.infer(node.operand, problems)
        if isinstance(node.op, ast.Not):
            return BOOL
        self._expect(operand, NUMBER, node.operand, problems, "`-` and `+` take a number")
        return NUMBER

    def _BinOp(self, node: ast.BinOp, problems) -> Type:
        left, right = self.infer(node.left, problems), self.infer(node.right, problems)
        if isinstance(node.op, ast.Add) and _may_be(left, TEXT) and _may_be(right, TEXT):
            if _known(left) and _known(right) and left - NULL == TEXT and right - NULL == TEXT:
                return TEXT
            if not (_may_be(left, NUMBER) and _may_be(right, NUMBER)):
                return TEXT
        symbol = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%"}[type(node.op)]
        for side, kinds in ((node.left, left), (node.right, right)):
            self._expect(kinds, NUMBER, side, problems, f"`{symbol}` takes numbers")
        return NUMBER

    def _Compare(self, node: ast.Compare, problems) -> Type:
        operands = [node.left, *node.comparators]
        kinds = [self.infer(o, problems) for o in operands]
        for operation, (left, lk), (right, rk) in zip(node.ops, zip(operands, kinds), zip(operands[1:], kinds[1:])):
            if isinstance(operation, (ast.In, ast.NotIn)):
                self._expect(rk, LIST | TEXT, right, problems, "`in` looks inside a list or a text")
            elif isinstance(operation, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)):
                if _known(lk) and _known(rk) and not ((lk & rk) - NULL - BOOL - LIST):
                    problems.append(TypeProblem(right.col_offset, f"cannot order {describe(lk - NULL)} against {describe(rk - NULL)}"))
            elif not isinstance(operation, (ast.Is, ast.IsNot)):
                if _known(lk) and _known(rk) and not (lk & rk) and NULL not in lk | rk:
                    problems.append(TypeProblem(right.col_offset,
                                                f"{describe(lk)} is never equal to {describe(rk)}, so this is always the same"))
        return BOOL

    def _IfExp(self, node: ast.IfExp, problems) -> Type:
        self.infer(node.test, problems)
        return self.infer(node.body, problems) | self.infer(node.orelse, problems)

    def _Call(self, node: ast.Call, problems) -> Type:
        name = node.func.id if isinstance(node.func, ast.Name) else ""
        args = [self.infer(a, problems) for a in node.args]
        if name not in self._functions:
            return ANY  # not a function at all: compiling the expression already reported it
        signature = self._functions[name].signature
        if signature.one_or_more:
            return self._one_or_more(name, signature.result, node, args, problems)
        expected = signature.arguments
        if len(args) != len(expected):
            problems.append(TypeProblem(node.col_offset, f"`{name}` takes {len(expected)} argument(s), not {len(args)}"))
            return signature.result
        for position, (arg_node, kinds, wanted) in enumerate(zip(node.args, args, expected), start=1):
            self._expect(kinds, wanted, arg_node, problems, f"argument {position} of `{name}` must be {describe(wanted)}")
        return signature.result

    def _one_or_more(self, name: str, accepted: Type, node: ast.Call, args: list[Type], problems) -> Type:
        """`max` and `min`: one argument or more, all of one accepted kind, which is also the result's."""
        if not args:
            problems.append(TypeProblem(node.col_offset, f"`{name}` needs at least one argument"))
        result = accepted
        for position, (arg_node, kinds) in enumerate(zip(node.args, args), start=1):
            self._expect(kinds, accepted, arg_node, problems, f"argument {position} of `{name}` must be {describe(accepted)}")
            if _known(kinds) and kinds - NULL and kinds & accepted:
                if not result & kinds:  # no kind left that every argument so far may have
                    problems.append(TypeProblem(arg_node.col_offset,
                                                f"`{name}` cannot compare {describe(result)} with {describe(kinds - NULL)}"))
                    return accepted
                result &= kinds
        return result

    @staticmethod
    def _expect(kinds: Type, wanted: Type, node: ast.expr, problems: list[TypeProblem], message: str) -> None:
        if _known(kinds) and not (kinds - NULL) & wanted and kinds != NULL:
            problems.append(TypeProblem(getattr(node, "col_offset", 0), f"{message}, not {describe(kinds - NULL)}"))
        elif kinds == NULL:
            problems.append(TypeProblem(getattr(node, "col_offset", 0), f"{message}, not null"))


def _known(kinds: Type) -> bool:
    return "any" not in kinds


def _may_be(kinds: Type, wanted: Type) -> bool:
    return not _known(kinds) or bool(kinds & wanted)


def literal_type(value: object) -> Type:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, (int, float)):
        return NUMBER
    return TEXT if isinstance(value, str) else ANY

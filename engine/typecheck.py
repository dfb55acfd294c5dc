"""Static types of expressions: what each part can be, and the mistakes that are sure to fail.

A type is a set of kinds: bool, number, text, date, datetime, list, null, or `any` when it cannot
be known (a derived value defined by a cycle, say). Only definite mistakes are reported: comparing
a date with a number, adding texts and numbers, calling `days_between` on a number. Null is left to
run time, because conditions guard it (`shipped_at != None and ...`) in ways types do not follow.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable

Type = frozenset
ANY: Type = frozenset({"any"})
BOOL, NUMBER, TEXT = frozenset({"bool"}), frozenset({"number"}), frozenset({"text"})
DATE, DATETIME, LIST, NULL = frozenset({"date"}), frozenset({"datetime"}), frozenset({"list"}), frozenset({"null"})
MOMENT = DATE | DATETIME

_WORDS = {"bool": "true/false", "number": "a number", "text": "text", "date": "a date", "datetime": "a datetime",
          "list": "a list", "null": "null", "any": "anything"}

# name: (argument types, result type); None as the argument list means "one or more of the first".
_SIGNATURES: dict[str, tuple[tuple[Type, ...] | None, Type | None]] = {
    "days_between": ((MOMENT, MOMENT), NUMBER),
    "local_days_between": ((MOMENT, MOMENT), NUMBER),
    "local_date": ((MOMENT,), DATE),
    "hours_between": ((DATETIME, DATETIME), NUMBER),
    "utc_date": ((MOMENT,), DATE),
    "add_days": ((MOMENT, NUMBER), DATE),
    "add_months": ((MOMENT, NUMBER), DATE),
    "date": ((TEXT,), DATE),
    "round_money": ((NUMBER,), NUMBER),
    "prorate": ((NUMBER, NUMBER, NUMBER), NUMBER),
    "abs": ((NUMBER,), NUMBER),
    "max": (None, None),
    "min": (None, None),
}


def describe(kinds: Type) -> str:
    return " or ".join(_WORDS[k] for k in sorted(kinds))


@dataclass(frozen=True)
class TypeProblem:
    offset: int
    message: str


class TypeChecker:
    """Infers types over a policy's names; `name_type` gives the type of a fact, parameter, derived
    value or output (it may call back into `infer` for derived values)."""

    def __init__(self, name_type: Callable[[str], Type]):
        self._name_type = name_type

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
        if name not in _SIGNATURES:
            return ANY
        expected, result = _SIGNATURES[name]
        if expected is None:  # max / min: numbers, or dates, or datetimes, at least one
            if not args:
                problems.append(TypeProblem(node.col_offset, f"`{name}` needs at least one argument"))
            for arg_node, kinds in zip(node.args, args):
                self._expect(kinds, NUMBER | MOMENT, arg_node, problems, f"`{name}` compares numbers or dates")
            return frozenset().union(*args) - NULL if args else ANY
        if len(args) != len(expected):
            problems.append(TypeProblem(node.col_offset, f"`{name}` takes {len(expected)} argument(s), not {len(args)}"))
            return result or ANY
        for position, (arg_node, kinds, wanted) in enumerate(zip(node.args, args, expected), start=1):
            self._expect(kinds, wanted, arg_node, problems, f"argument {position} of `{name}` must be {describe(wanted)}")
        return result or ANY

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


def value_type(kind: str, nullable: bool) -> Type:
    """The type of a fact or output declared as `kind` (bool, int, number, string, enum, date, datetime, list)."""
    base = {"bool": BOOL, "int": NUMBER, "number": NUMBER, "string": TEXT, "enum": TEXT, "date": DATE,
            "datetime": DATETIME, "list": LIST}.get(kind, ANY)
    return base | NULL if nullable else base


def literal_type(value: object) -> Type:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, (int, float)):
        return NUMBER
    return TEXT if isinstance(value, str) else ANY

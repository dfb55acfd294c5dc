"""Static types of expressions: what each part can be, and the mistakes that are sure to fail.

A type is a set of kinds (`kinds`): bool, number, money, text, date, datetime, list, null, or `any`
when it cannot be known (a derived value defined by a cycle, say). A call is checked against the
signatures its function declares (`functions.REGISTRY`). Only definite mistakes are reported:
comparing a date with a number, adding texts and numbers, calling `days_between` on a number. Null
is followed apart (`NullGuards`): where it fails, a guard before it must rule it out
(`shipped_at != None and ...`).

Amounts of money and plain numbers are kept apart where mixing them is a mistake: adding a count of
days to a price, comparing a price with a rate, multiplying two prices, dividing a number by a
price. An amount times or divided by a number is an amount (`daily_fine * days_late`, `price / 2`);
an amount divided by an amount is a plain number (a ratio). A number *written in the expression*
next to an amount is an amount (`balance > 5.00`, `price - 3.05`, `refund if granted else 0`,
`max(refund, 0)`): the checker marks such literals (`amounts`), and every evaluator reads them as
exact decimals (`expressions.CompiledExpression.tree`). Factors and divisors stay numbers
(`price * 0.5`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable, Mapping

from . import money
from .functions import REGISTRY, Function, Signature
from .kinds import ANY, BOOL, DATE, DATETIME, LIST, MONEY, NULL, NUMBER, TEXT, Type, describe

_AMOUNT_HELP = ("a number written in the expression next to an amount is an amount (`price + 5.00`); "
                "to mix in a count, multiply: `daily_fine * days_late`")


@dataclass(frozen=True)
class TypeProblem:
    """A definite type mistake, at an offset of the expression, with advice when there is some."""

    offset: int
    message: str
    help: str = ""


class TypeChecker:
    """Infers types over a policy's names; `name_type` gives the type of a fact, parameter, derived
    value or output (it may call back into `infer` for derived values). Calls are checked against
    the signatures of `functions` (every declared function, unless a test passes its own)."""

    def __init__(self, name_type: Callable[[str], Type], functions: Mapping[str, Function] = REGISTRY):
        self._name_type = name_type
        self._functions = functions
        self._amounts: set[int] | None = None

    def infer(self, node: ast.expr, problems: list[TypeProblem], amounts: set[int] | None = None) -> Type:
        """The node's type. Numbers written next to an amount are typed as amounts; with `amounts`,
        they are also marked (their `col_offset` added to it and `amount` set on the node: see the
        module), for the expression to keep."""
        saved, self._amounts = self._amounts, amounts  # a nested call (a derived value's type) marks nothing
        try:
            return self._infer(node, problems)
        finally:
            self._amounts = saved

    def _infer(self, node: ast.expr, problems: list[TypeProblem]) -> Type:
        method = getattr(self, f"_{type(node).__name__}", None)
        return method(node, problems) if method else ANY

    def _Constant(self, node: ast.Constant, problems) -> Type:
        value = node.value
        if value is None:
            return NULL
        if isinstance(value, bool):
            return BOOL
        if getattr(node, "amount", None) is not None:
            return MONEY
        return NUMBER if isinstance(value, (int, float)) else TEXT

    # -- numbers written next to amounts ---------------------------------------------------------

    def adapt(self, node: ast.expr, other: Type, amounts: set[int] | None) -> bool:
        """`_adapt` from outside: a whole expression that must be an amount (a `money` output's
        `{expression: 0}`), marked into `amounts`."""
        saved, self._amounts = self._amounts, amounts
        try:
            return self._adapt(node, other)
        finally:
            self._amounts = saved

    def _adapt(self, node: ast.expr, other: Type) -> bool:
        """Whether `node` is a number written in the expression (or `x if c else y` of such) that
        meets an amount (`other` may be one); if so, it is marked as an amount."""
        literals = _written_numbers(node)
        if not literals or "money" not in other:
            return False
        for literal in literals:
            if self._amounts is not None:
                self._amounts.add(literal.col_offset)
                literal.amount = money.amount(literal.value)  # type: ignore[attr-defined]
        return True

    def _List(self, node: ast.List, problems) -> Type:
        for element in node.elts:
            self._infer(element, problems)
        return LIST

    _Tuple = _List

    def _Name(self, node: ast.Name, problems) -> Type:
        return self._name_type(node.id)

    def _BoolOp(self, node: ast.BoolOp, problems) -> Type:
        kinds = [self._infer(v, problems) for v in node.values]
        return BOOL if all(k == BOOL for k in kinds) else frozenset().union(*kinds)

    def _UnaryOp(self, node: ast.UnaryOp, problems) -> Type:
        operand = self._infer(node.operand, problems)
        if isinstance(node.op, ast.Not):
            return BOOL
        self._expect(operand, NUMBER | MONEY, node.operand, problems, "`-` and `+` take a number")
        if "money" not in operand:
            return NUMBER
        return MONEY | (NUMBER if _may_be(operand, NUMBER) else frozenset())

    def _BinOp(self, node: ast.BinOp, problems) -> Type:
        left, right = self._infer(node.left, problems), self._infer(node.right, problems)
        if isinstance(node.op, ast.Add) and _may_be(left, TEXT) and _may_be(right, TEXT):
            if _known(left) and _known(right) and left - NULL == TEXT and right - NULL == TEXT:
                return TEXT
            if not (_may_be(left, NUMBER | MONEY) and _may_be(right, NUMBER | MONEY)):
                return TEXT
        symbol = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%"}[type(node.op)]
        for side, kinds in ((node.left, left), (node.right, right)):
            self._expect(kinds, NUMBER | MONEY, side, problems, f"`{symbol}` takes numbers")
        if "money" not in left and "money" not in right:
            return NUMBER
        return self._money_arithmetic(node, symbol, left, right, problems)

    def _money_arithmetic(self, node: ast.BinOp, symbol: str, left: Type, right: Type, problems) -> Type:
        """`+ - * / // %` where a side may be an amount of money (see the module for the rules)."""
        operation = type(node.op)
        if operation in (ast.Add, ast.Sub):
            # A number written beside an amount is one: `price - 3.05`, `5 + fee`.
            if self._adapt(node.right, left):
                right = _as_amount(right)
            elif self._adapt(node.left, right):
                left = _as_amount(left)
            if (_amount(left) and _plain(right)) or (_plain(left) and _amount(right)):
                verb = "add a plain number to" if operation is ast.Add else "subtract a plain number and"
                problems.append(TypeProblem(node.col_offset, f"`{symbol}` cannot {verb} an amount of money",
                                            _AMOUNT_HELP))
            return MONEY | (NUMBER if _may_be(left, NUMBER) and _may_be(right, NUMBER) else frozenset())
        if operation is ast.Mult:
            if _amount(left) and _amount(right):
                problems.append(TypeProblem(node.col_offset, "`*` cannot multiply two amounts of money",
                                            "multiply an amount by a number: `price * 0.5`, `daily_fine * days_late`"))
            return MONEY | (NUMBER if _may_be(left, NUMBER) and _may_be(right, NUMBER) else frozenset())
        if operation is ast.Div:
            if _plain(left) and _amount(right):
                problems.append(TypeProblem(node.col_offset, "`/` cannot divide a number by an amount of money",
                                            "divide an amount by a number (`price / 2`), or by an amount for a ratio"))
            kinds = frozenset()
            if "money" in left and _may_be(right, NUMBER):
                kinds |= MONEY  # an amount shared out
            if ("money" in left and "money" in right) or (_may_be(left, NUMBER) and _may_be(right, NUMBER)):
                kinds |= NUMBER  # a ratio of amounts, or of numbers
            return kinds or NUMBER
        if _amount(left) or _amount(right):
            problems.append(TypeProblem(node.col_offset, f"`{symbol}` does not take amounts of money",
                                        "round with `round_money`, or share out with `prorate`"))
        return NUMBER

    def _Compare(self, node: ast.Compare, problems) -> Type:
        operands = [node.left, *node.comparators]
        kinds = [self._infer(o, problems) for o in operands]
        for index, operation in enumerate(node.ops):
            left, right = operands[index], operands[index + 1]
            if isinstance(operation, (ast.In, ast.NotIn)):
                if isinstance(right, (ast.List, ast.Tuple)) and "money" in kinds[index]:
                    for element in right.elts:  # `price in [5, 10]`: the numbers written are amounts
                        self._adapt(element, kinds[index])
            elif not isinstance(operation, (ast.Is, ast.IsNot)):
                # `balance > 5.00`, `5 == fee`: a number written beside an amount is one.
                if self._adapt(right, kinds[index]):
                    kinds[index + 1] = _as_amount(kinds[index + 1])
                elif self._adapt(left, kinds[index + 1]):
                    kinds[index] = _as_amount(kinds[index])
        for operation, (left, lk), (right, rk) in zip(node.ops, zip(operands, kinds), zip(operands[1:], kinds[1:])):
            if isinstance(operation, (ast.In, ast.NotIn)):
                self._expect(rk, LIST | TEXT, right, problems, "`in` looks inside a list or a text")
                for element in right.elts if isinstance(right, (ast.List, ast.Tuple)) else ():
                    ek = self._infer(element, [])
                    if (_amount(lk) and _plain(ek)) or (_plain(lk) and _amount(ek)):
                        problems.append(TypeProblem(element.col_offset, f"cannot compare {describe(lk - NULL)} with "
                                                    f"{describe(ek - NULL)}", "compare amounts with amounts: " + _AMOUNT_HELP))
            elif (_amount(lk) and _plain(rk)) or (_plain(lk) and _amount(rk)):
                problems.append(TypeProblem(right.col_offset, f"cannot compare {describe(lk - NULL)} with {describe(rk - NULL)}",
                                            "compare amounts with amounts: " + _AMOUNT_HELP))
            elif isinstance(operation, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)):
                if _known(lk) and _known(rk) and not ((lk & rk) - NULL - BOOL - LIST):
                    problems.append(TypeProblem(right.col_offset, f"cannot order {describe(lk - NULL)} against {describe(rk - NULL)}"))
            elif not isinstance(operation, (ast.Is, ast.IsNot)):
                if _known(lk) and _known(rk) and not (lk & rk) and NULL not in lk | rk:
                    problems.append(TypeProblem(right.col_offset,
                                                f"{describe(lk)} is never equal to {describe(rk)}, so this is always the same"))
        return BOOL

    def _IfExp(self, node: ast.IfExp, problems) -> Type:
        self._infer(node.test, problems)
        body, orelse = self._infer(node.body, problems), self._infer(node.orelse, problems)
        # `refund if granted else 0`: the number written is an amount.
        if self._adapt(node.orelse, body):
            orelse = _as_amount(orelse)
        elif self._adapt(node.body, orelse):
            body = _as_amount(body)
        if (_amount(body) and _plain(orelse)) or (_plain(body) and _amount(orelse)):
            problems.append(TypeProblem(node.col_offset, "one branch of `if` gives an amount of money and the other a "
                                                         "plain number", _AMOUNT_HELP))
        return body | orelse

    def _Call(self, node: ast.Call, problems) -> Type:
        name = node.func.id if isinstance(node.func, ast.Name) else ""
        args = [self._infer(a, problems) for a in node.args]
        if name not in self._functions:
            return ANY  # not a function at all: compiling the expression already reported it
        signatures = self._functions[name].signatures
        if signatures[0].one_or_more:
            return self._one_or_more(name, signatures[0].result, node, args, problems)
        candidates = [s for s in signatures if len(s.arguments) == len(args)]
        if not candidates:
            counts = " or ".join(str(count) for count in sorted({len(s.arguments) for s in signatures}))
            problems.append(TypeProblem(node.col_offset, f"`{name}` takes {counts} argument(s), not {len(args)}"))
            return frozenset().union(*(s.result for s in signatures))
        fitting = [s for s in candidates if all(_fits(kinds, wanted) for kinds, wanted in zip(args, s.arguments))]
        if fitting:
            return frozenset().union(*(s.result for s in fitting))
        before = len(problems)
        for position, (arg_node, kinds) in enumerate(zip(node.args, args), start=1):
            wanted = frozenset().union(*(s.arguments[position - 1] for s in candidates))
            self._expect(kinds, wanted, arg_node, problems, f"argument {position} of `{name}` must be {describe(wanted)}",
                         _help_for(wanted, kinds))
        if len(problems) == before:  # each argument fits some signature, but no signature fits them all
            problems.append(TypeProblem(node.col_offset, f"`{name}` cannot take {', '.join(describe(a - NULL) for a in args)}",
                                        "it takes " + "; or ".join(_words(s) for s in candidates)))
        return frozenset().union(*(s.result for s in candidates))

    def _one_or_more(self, name: str, accepted: Type, node: ast.Call, args: list[Type], problems) -> Type:
        """`max` and `min`: one argument or more, all of one accepted kind, which is also the result's."""
        if not args:
            problems.append(TypeProblem(node.col_offset, f"`{name}` needs at least one argument"))
        if "money" in accepted and any("money" in kinds for kinds in args):
            # `max(refund, 0)`: the numbers written beside an amount are amounts.
            args = [_as_amount(kinds) if self._adapt(arg_node, MONEY) else kinds for arg_node, kinds in zip(node.args, args)]
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
    def _expect(kinds: Type, wanted: Type, node: ast.expr, problems: list[TypeProblem], message: str,
                help_text: str = "") -> None:
        if _known(kinds) and not (kinds - NULL) & wanted and kinds != NULL:
            problems.append(TypeProblem(getattr(node, "col_offset", 0), f"{message}, not {describe(kinds - NULL)}", help_text))
        elif kinds == NULL:
            problems.append(TypeProblem(getattr(node, "col_offset", 0), f"{message}, not null"))


def _written_numbers(node: ast.expr) -> list[ast.Constant] | None:
    """The numbers of an expression that gives only numbers written in it, or null (`5`, `-3.05`,
    `0 if c else 1`, `5.00 if c else None`), or None when it gives anything else."""
    if isinstance(node, ast.Constant):
        value = node.value
        if value is None:
            return []
        return [node] if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _written_numbers(node.operand)
    if isinstance(node, ast.IfExp):
        body, orelse = _written_numbers(node.body), _written_numbers(node.orelse)
        return None if body is None or orelse is None else body + orelse
    return None


def _as_amount(kinds: Type) -> Type:
    """The type of numbers written, once read as amounts (a null among them stays)."""
    return (kinds - NUMBER) | MONEY


def _fits(kinds: Type, wanted: Type) -> bool:
    return not _known(kinds) or (kinds != NULL and bool((kinds - NULL) & wanted))


def _amount(kinds: Type) -> bool:
    """Certainly an amount of money (or null)."""
    return _known(kinds) and bool(kinds - NULL) and kinds - NULL <= MONEY


def _plain(kinds: Type) -> bool:
    """Certainly a plain number (or null). A number written beside an amount was typed as one already."""
    return _known(kinds) and bool(kinds - NULL) and kinds - NULL <= NUMBER


def _help_for(wanted: Type, kinds: Type) -> str:
    if wanted == DATE and _known(kinds) and kinds - NULL == DATETIME:
        return "take the datetime's date first: `utc_date(...)` (in UTC) or `local_date(...)` (in its own time zone)"
    if "money" not in wanted and "money" in kinds and "number" in wanted:
        return "for an amount of money, use `round_money`, `prorate` or the operators"
    return ""


def _words(signature: Signature) -> str:
    return f"{', '.join(describe(a) for a in signature.arguments)} → {describe(signature.result)}"


def _known(kinds: Type) -> bool:
    return "any" not in kinds


def _may_be(kinds: Type, wanted: Type) -> bool:
    return not _known(kinds) or bool(kinds & wanted)


def literal_type(value: object) -> Type:
    if isinstance(value, bool):
        return BOOL
    if money.is_amount(value):
        return MONEY
    if isinstance(value, (int, float)):
        return NUMBER
    return TEXT if isinstance(value, str) else ANY


# -- null: where it fails, and the guards that rule it out -------------------------------------


@dataclass(frozen=True)
class NullUse:
    """A value that may be null, used where null fails: `name` (None for a part that is not a
    name, such as `x if c else None`) read at `node`, by `operation` (`>`, argument 1 of
    `days_between`, the condition); `via` is the derived value through which it is read, if any."""

    node: ast.expr
    name: str | None
    operation: str
    via: str = ""


_ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
            ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.In: "in", ast.NotIn: "not in",
            ast.USub: "-", ast.UAdd: "+"}


class NullGuards:
    """Finds the values that may be null where null fails, unless a guard before them rules null out.

    Null fails in arithmetic, in an ordering (`<`), as the list of `in`, as a function's argument
    and as a part of a condition. A guard is what evaluation has already found true or false
    before it reaches a part: the operands to the left in `and` (true) and `or` (false), and the
    test of `x if test else y`. `x != None`, `x is not None`, `x == 5` and `x > 3` found true, and
    `x == None` found false, rule out null for `x`. A derived value is evaluated where it is read,
    so the names it needs not null (and does not guard itself) must be guarded where it is read.

    :param name_type: the static type of a name (as `TypeChecker` takes it).
    :param derived: the expression of a derived value by its name, or None for any other name.
    """

    def __init__(self, name_type: Callable[[str], Type], derived: Callable[[str], ast.expr | None]):
        self._name_type = name_type
        self._derived = derived
        self._needs: dict[str, tuple[NullUse, ...]] = {}
        self._guards: dict[tuple[str, bool], frozenset[str]] = {}

    def uses(self, node: ast.expr, guarded: frozenset[str] = frozenset(), condition: bool = False) -> list[NullUse]:
        """The unguarded uses of null in `node`, given the names already known not to be null.
        With `condition`, `node` is a condition: its value (and its parts') must not be null."""
        found: list[NullUse] = []
        self._walk(node, guarded, found, "the condition" if condition else None)
        return found

    def needs(self, derived: str) -> tuple[NullUse, ...]:
        """The uses of null of a derived value's expression that it does not guard itself."""
        if derived not in self._needs:
            self._needs[derived] = ()  # a cycle (refused by the compiler) needs nothing more
            tree = self._derived(derived)
            self._needs[derived] = tuple(self.uses(tree)) if tree is not None else ()
        return self._needs[derived]

    def _nullable(self, name: str) -> bool:
        return "null" in self._name_type(name)

    def _walk(self, node: ast.expr, guarded: frozenset[str], found: list[NullUse], strict: str | None) -> None:
        if isinstance(node, ast.Name):
            if self._derived(node.id) is not None:
                for use in self.needs(node.id):
                    if use.name is not None and use.name not in guarded:
                        found.append(NullUse(node, use.name, use.operation, use.via or node.id))
            if strict and node.id not in guarded and self._nullable(node.id):
                found.append(NullUse(node, node.id, strict))
        elif isinstance(node, ast.Constant):
            if strict and node.value is None:
                found.append(NullUse(node, None, strict))
        elif isinstance(node, ast.BoolOp):
            conjunction = isinstance(node.op, ast.And)
            known = guarded
            for value in node.values:
                self._walk(value, known, found, strict)
                known = known | self.guards(value, conjunction)
        elif isinstance(node, ast.UnaryOp):
            inner = None if isinstance(node.op, ast.Not) else f"`{_SYMBOLS[type(node.op)]}`"
            self._walk(node.operand, guarded, found, inner)
        elif isinstance(node, ast.BinOp):
            symbol = f"`{_SYMBOLS[type(node.op)]}`"
            self._walk(node.left, guarded, found, symbol)
            self._walk(node.right, guarded, found, symbol)
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            needs: list[str | None] = [None] * len(operands)
            for i, operation in enumerate(node.ops):
                if isinstance(operation, _ORDERING):
                    needs[i] = needs[i] or f"`{_SYMBOLS[type(operation)]}`"
                    needs[i + 1] = needs[i + 1] or f"`{_SYMBOLS[type(operation)]}`"
                elif isinstance(operation, (ast.In, ast.NotIn)):
                    needs[i + 1] = needs[i + 1] or f"`{_SYMBOLS[type(operation)]}`"
            for operand, need in zip(operands, needs):
                self._walk(operand, guarded, found, need)
        elif isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else ""
            for position, argument in enumerate(node.args, start=1):
                self._walk(argument, guarded, found, f"argument {position} of `{name}`")
        elif isinstance(node, ast.IfExp):
            self._walk(node.test, guarded, found, None)
            self._walk(node.body, guarded | self.guards(node.test, True), found, strict)
            self._walk(node.orelse, guarded | self.guards(node.test, False), found, strict)
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self._walk(child, guarded, found, None)

    def guards(self, node: ast.expr, truth: bool) -> frozenset[str]:
        """The names that cannot be null once `node` is found `truth` (true or false)."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return self.guards(node.operand, not truth)
        if isinstance(node, ast.BoolOp):
            every = isinstance(node.op, ast.And) == truth  # `and` found true, `or` found false: each operand was
            sets = [self.guards(value, truth) for value in node.values]
            return frozenset().union(*sets) if every else frozenset.intersection(*sets)
        if isinstance(node, ast.Name):
            tree = self._derived(node.id)
            if tree is None:
                return frozenset()
            key = (node.id, truth)
            if key not in self._guards:
                self._guards[key] = frozenset()  # a cycle guards nothing
                self._guards[key] = self.guards(tree, truth)
            return self._guards[key]
        if not isinstance(node, ast.Compare):
            return frozenset()
        names: set[str] = set()
        operands = [node.left, *node.comparators]
        for operation, left, right in zip(node.ops, operands, operands[1:]):
            for side, other in ((left, right), (right, left)):
                if isinstance(side, ast.Name) and _rules_out_null(operation, other, truth, side is left):
                    names.add(side.id)
        if not truth and len(node.ops) > 1:
            return frozenset()  # a chain found false: any one of its comparisons may be the false one
        return frozenset(names)


def _rules_out_null(operation: ast.cmpop, other: ast.expr, truth: bool, left: bool) -> bool:
    """Whether `name <operation> other` (or `other <operation> name`) found `truth` means name is not null."""
    is_none = isinstance(other, ast.Constant) and other.value is None
    if isinstance(operation, (ast.NotEq, ast.IsNot)):
        return truth and is_none
    if isinstance(operation, (ast.Eq, ast.Is)):
        return (not truth and is_none) or (truth and isinstance(other, ast.Constant) and not is_none)
    if isinstance(operation, _ORDERING):
        return truth
    if isinstance(operation, ast.In) and left:
        return truth and isinstance(other, (ast.List, ast.Tuple)) and not any(
            isinstance(e, ast.Constant) and e.value is None for e in other.elts)
    return False

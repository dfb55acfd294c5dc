"""Policy expressions: parsed and whitelisted once, at load time; what their operators mean.

Expressions use simpleeval's (Python-like) syntax. `compile_expression` parses the text once and
walks *every* node against a whitelist, so a forbidden construct is refused at load time even in
a branch that is never taken. The whitelist admits only constructs that simpleeval itself can
evaluate (its node table), with our stricter operators (`OPERATORS`) and only the functions of
`functions.FUNCTIONS`. Expressions are then evaluated by the policy's plan (`engine/plan/`), as
generated Python and as closures, never walked per case; the reference interpreter of the tests
(tests/reference.py) walks them through simpleeval, as the specification.

Missing facts are unknown, not false. Reading a name the case lacks raises `Unknown`; `and`,
`or` and `x if c else y` follow Kleene's logic (`False and unknown` is False, `True or unknown`
is True), and anything else that touches an unknown value is unknown.
"""

from __future__ import annotations

import ast
import decimal
import functools
import math
import operator as op
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from . import money
from .errors import did_you_mean
from .functions import FUNCTIONS, FunctionError, type_name

# Explicit limits on what a policy author may write.
MAX_EXPRESSION_LENGTH = 2000
MAX_EXPRESSION_NODES = 400
MAX_EXPRESSION_DEPTH = 40
MAX_STRING_LITERAL = 1000

#: Every number a policy writes or computes (a parameter, a number written in an expression, a
#: derived value, a computed output) is finite and at most this large in magnitude. Below 2**53, so
#: a JSON reader that reads numbers as binary floats (JavaScript) still reads every whole number
#: exactly; and bounded values keep every operation of an expression cheap (no derived value can
#: square a square of a square into a number of millions of digits).
MAX_NUMBER = 10**15
#: The longest text a derived value or an output may compute (`+` of texts): a chain of derived
#: values that doubles a text would otherwise grow it exponentially.
MAX_COMPUTED_TEXT = 10_000
#: How deep an expression may nest once each derived value it reads counts as deep as its own
#: expression (`d2 = d1 + 1` is two levels more than `d1`): evaluation recurses through derived
#: values, so this bounds the stack that loading and deciding need, whatever the chain.
MAX_DERIVED_DEPTH = 120

_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
    ast.IfExp, ast.Call, ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple,
)

_NODE_WORDS = {
    ast.Attribute: "attribute access (`a.b`)", ast.Subscript: "indexing (`a[0]`)", ast.Dict: "dictionaries",
    ast.Set: "sets", ast.ListComp: "comprehensions", ast.GeneratorExp: "comprehensions",
    ast.DictComp: "comprehensions", ast.SetComp: "comprehensions", ast.Lambda: "lambda",
    ast.JoinedStr: "f-strings", ast.Pow: "powers (`**`)", ast.NamedExpr: "assignment (`:=`)",
    ast.BitAnd: "bitwise operators", ast.BitOr: "bitwise operators", ast.BitXor: "bitwise operators",
    ast.LShift: "bit shifts", ast.RShift: "bit shifts", ast.Invert: "bitwise operators",
    ast.Starred: "unpacking (`*`)",
}

def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numeric(value: Any) -> bool:
    return _number(value) or type(value) is Decimal


def _arithmetic(symbol: str, operation: Callable[[Any, Any], Any], text_too: bool = False,
                amounts: Callable[[Any, Any], Any] | None = None) -> Callable[[Any, Any], Any]:
    """Arithmetic on numbers only (and `+` on two texts): no list or text repetition, no `%` formatting,
    so no expression can build a huge value from a case's numbers. An amount of money with an amount
    or a number goes to `amounts` (exact decimal arithmetic, `money`)."""

    def apply(left: Any, right: Any) -> Any:
        if _number(left) and _number(right):
            return operation(left, right)
        if _numeric(left) and _numeric(right):  # at least one is an amount of money
            if amounts is None:
                raise TypeError(f"`{symbol}` does not take amounts of money: use `round_money` or `prorate`")
            return amounts(left, right)
        if text_too and isinstance(left, str) and isinstance(right, str):
            return operation(left, right)
        raise TypeError(f"`{symbol}` needs numbers, not {type_name(left)} and {type_name(right)}")

    return apply


def _negate(value: Any) -> Any:
    if _number(value):
        return -value
    if type(value) is Decimal:
        return money.negate(value)
    raise TypeError(f"`-` needs a number, not {type_name(value)}")


def _plus(value: Any) -> Any:
    if _numeric(value):
        return value
    raise TypeError(f"`+` needs a number, not {type_name(value)}")


def _comparison(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    """A comparison where an amount meets a plain number as amounts (`money.compare`): Python would
    compare `Decimal('1.05')` with the binary 1.0500000000000000444 and find them different."""

    def apply(left: Any, right: Any) -> bool:
        if type(left) is Decimal or type(right) is Decimal:
            left, right = money.compare(left, right)
        return compare(left, right)

    return apply


def _among(item: Any, container: Any) -> bool:
    """`item in container`, where an amount in a list equals the plain number it is worth."""
    if isinstance(container, (list, tuple)) and (type(item) is Decimal or any(type(c) is Decimal for c in container)):
        equal = OPERATORS[ast.Eq]
        return any(equal(item, candidate) for candidate in container)
    return item in container


#: What each operator does, for every way of evaluating an expression (the plan's fast and general
#: paths, and the reference interpreter of the tests).
OPERATORS: dict[type, Callable[..., Any]] = {
    ast.Add: _arithmetic("+", op.add, text_too=True, amounts=money.add),
    ast.Sub: _arithmetic("-", op.sub, amounts=money.subtract),
    ast.Mult: _arithmetic("*", op.mul, amounts=money.multiply), ast.Div: _arithmetic("/", op.truediv, amounts=money.divide),
    ast.FloorDiv: _arithmetic("//", op.floordiv), ast.Mod: _arithmetic("%", op.mod),
    ast.Eq: _comparison(op.eq), ast.NotEq: _comparison(op.ne), ast.Gt: _comparison(op.gt), ast.Lt: _comparison(op.lt),
    ast.GtE: _comparison(op.ge), ast.LtE: _comparison(op.le), ast.Not: op.not_, ast.USub: _negate, ast.UAdd: _plus,
    ast.In: _among, ast.NotIn: lambda x, y: not _among(x, y),
    # `is` is allowed only with None (checked when compiling), where it means `==`.
    ast.Is: op.eq, ast.IsNot: op.ne,
}

#: The same operators for a policy that declares no amount of money: none of its values is ever a
#: `Decimal`, so comparisons and `in` are Python's own, at no cost. The plan picks this table for
#: such policies (`plan.kleene`); it gives what `OPERATORS` gives on every value they can meet.
WITHOUT_MONEY: dict[type, Callable[..., Any]] = {
    **OPERATORS,
    ast.Eq: op.eq, ast.NotEq: op.ne, ast.Gt: op.gt, ast.Lt: op.lt, ast.GtE: op.ge, ast.LtE: op.le,
    ast.In: lambda x, y: x in y, ast.NotIn: lambda x, y: x not in y,
}


class Unknown(Exception):
    """The value depends on facts the case does not give; `missing` names them."""

    def __init__(self, missing: frozenset[str]):
        super().__init__(", ".join(sorted(missing)))
        self.missing = missing


class EvaluationFailure(Exception):
    """An expression failed for a reason other than a missing fact (a type error, a bad argument...)."""


@dataclass(frozen=True)
class ExpressionProblem:
    """A compile-time problem; `offset` is the 0-based column inside the expression text."""

    code: str
    message: str
    offset: int = 0
    help: str = ""


@dataclass(frozen=True)
class CompiledExpression:
    """An expression checked once: its text, and the names and functions it refers to.

    `tree` is its parse, made once per object and kept: the compiler hands over the tree it
    checked; an expression read back from the plan cache is parsed only if something needs the
    tree (the fast path's generated code does not).
    """

    text: str
    names: frozenset[str] = frozenset()
    functions: frozenset[str] = frozenset()
    #: The numbers written in the expression that are amounts of money (`balance > 5.00`), by their
    #: column: the type checker decides which (`typecheck`), and the tree carries each as the exact
    #: decimal (`node.amount`) that every evaluator reads instead of the binary `node.value`.
    amounts: frozenset[int] = frozenset()

    @functools.cached_property
    def tree(self) -> ast.expr:
        return mark_amounts(ast.parse(self.text, mode="eval").body, self.amounts)


def mark_amounts(tree: ast.expr, amounts: frozenset[int]) -> ast.expr:
    """The tree with each number at a column of `amounts` carrying its exact decimal (`amount`)."""
    if amounts:
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.col_offset in amounts:
                node.amount = money.amount(node.value)  # type: ignore[attr-defined]
    return tree


def conjuncts(node: ast.expr) -> list[ast.expr]:
    """The parts of a condition joined by `and` (the condition itself when it has none)."""
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        return [part for value in node.values for part in conjuncts(value)]
    return [node]


#: The exceptions an expression may raise on bad values; anything else is a bug in Verdict.
FAILURES = (EvaluationFailure, FunctionError, TypeError, ValueError, ArithmeticError)


def describe_failure(exc: Exception) -> str:
    """The message of an expression's failure, as decisions and traces show it."""
    if isinstance(exc, (EvaluationFailure, FunctionError)):
        return str(exc)
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, decimal.DecimalException):
        return "an amount of money beyond what Verdict computes with"
    text = " ".join(str(exc).split())
    if isinstance(exc, TypeError) and "not supported between instances of" in text:
        return f"values of different types cannot be compared or combined ({text})"
    return text or type(exc).__name__


def compile_expression(text: object) -> tuple[CompiledExpression | None, list[ExpressionProblem]]:
    """Parse and whitelist an expression; returns the compiled form or the problems found."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        return None, [ExpressionProblem("expr_type", "an expression must be text")]
    source = str(text) if not isinstance(text, str) else text
    if len(source) > MAX_EXPRESSION_LENGTH:
        return None, [ExpressionProblem("expr_too_long", f"expression is longer than {MAX_EXPRESSION_LENGTH} characters")]
    if not source.strip():
        return None, [ExpressionProblem("expr_empty", "expression is empty")]
    if "\n" in source.strip():
        source = " ".join(source.split())
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        offset = max((exc.offset or 1) - 1, 0)
        return None, [ExpressionProblem("expr_syntax", f"expression does not parse: {exc.msg}", offset,
                                        help="expressions use Python syntax: `and`, `or`, `not`, `==`, `in [...]`")]
    problems: list[ExpressionProblem] = []
    names: set[str] = set()
    functions: set[str] = set()
    _walk(tree, 0, problems, names, functions)
    if sum(1 for _ in ast.walk(tree)) > MAX_EXPRESSION_NODES:
        problems.append(ExpressionProblem("expr_too_large", f"expression has more than {MAX_EXPRESSION_NODES} parts"))
    if problems:
        return None, problems
    compiled = CompiledExpression(source.strip(), frozenset(names), frozenset(functions))
    compiled.__dict__["tree"] = tree.body  # the tree just checked, so that it is not parsed twice
    return compiled, []


def out_of_range(value: Any) -> str | None:
    """Why a computed value is beyond what a policy may compute (`MAX_NUMBER`, `MAX_COMPUTED_TEXT`,
    not finite), or None when it is within the limits. Only numbers and texts can be."""
    kind = type(value)
    if kind is int or kind is float or kind is Decimal:
        if -MAX_NUMBER <= value <= MAX_NUMBER:  # false for NaN as well
            return None
        if kind is float and not math.isfinite(value):
            return f"gave `{value!r}`, not a finite number"
        return "gave a number beyond the limit of ±10^15 that a policy may compute"
    if kind is str and len(value) > MAX_COMPUTED_TEXT:
        return f"gave a text of {len(value)} characters, beyond the limit of {MAX_COMPUTED_TEXT}"
    return None


def may_exceed(node: ast.expr) -> bool:
    """Whether an expression's value may be out of range although every value it reads is within
    range: only arithmetic (and `round` to tens, `prorate`) makes values larger than those read."""
    return any(isinstance(n, ast.BinOp) or (isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                                            and n.func.id in ("round", "prorate"))
               for n in ast.walk(node))


def derived_depth(node: ast.expr, depth_of: Callable[[str], int]) -> int:
    """How deep `node` nests when each name counts `depth_of(name)` levels more (the depth of a
    derived value's expression; 0 for any other name). Iterative: the trees are at most
    `MAX_EXPRESSION_DEPTH` deep, but this is asked of every derived value."""
    deepest = 0
    stack = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, ast.Name):
            depth += depth_of(current.id)
        elif isinstance(current, ast.Call):
            stack.extend((arg, depth + 1) for arg in current.args)
            continue
        else:
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(current) if isinstance(child, ast.expr))
        deepest = max(deepest, depth)
    return deepest


def constant_problems(tree: ast.expr) -> list[ExpressionProblem]:
    """The parts of an expression that read no name, evaluated once at load: each one that fails
    (`1 / 0`, `date('2026-02-30')`) or gives a value out of range would fail in every case, so it
    is a mistake in the policy, reported where it is written. The outermost such parts are
    evaluated as evaluation would (`False and 1 / 0` is false); the tree is left as written (the
    trace shows the expression as the policy writes it)."""
    problems: list[ExpressionProblem] = []
    pending = [tree]
    while pending:
        node = pending.pop()
        if not _reads_a_name(node):
            problem = _constant_problem(node)
            if problem is not None:
                problems.append(problem)
        else:
            children = node.args if isinstance(node, ast.Call) else list(ast.iter_child_nodes(node))
            pending.extend(child for child in children if isinstance(child, ast.expr))
    return sorted(problems, key=lambda p: p.offset)


def _reads_a_name(node: ast.expr) -> bool:
    callees = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    return any(isinstance(n, ast.Name) and id(n) not in callees for n in ast.walk(node))


class _ConstantFailure(Exception):
    def __init__(self, node: ast.expr, cause: Exception):
        super().__init__(str(cause))
        self.node, self.cause = node, cause


def _constant_problem(node: ast.expr) -> ExpressionProblem | None:
    try:
        value = _constant_value(node)
    except _ConstantFailure as failure:
        return ExpressionProblem("expr_constant", f"`{ast.unparse(failure.node)}` reads no fact and fails in every case: "
                                                  f"{describe_failure(failure.cause)}", failure.node.col_offset)
    problem = out_of_range(value)
    if problem is not None:
        return ExpressionProblem("value_out_of_range", f"`{ast.unparse(node)}` {problem}", node.col_offset)
    return None


def _constant_value(node: ast.expr) -> Any:
    """The value of a part that reads no name, as every evaluator computes it without unknowns;
    a failure names the innermost part that failed."""
    if isinstance(node, ast.Constant):
        return getattr(node, "amount", node.value)
    if isinstance(node, ast.BoolOp):
        deciding = isinstance(node.op, ast.Or)
        value: Any = not deciding
        for operand in node.values:
            value = _constant_value(operand)
            if bool(value) is deciding:
                return value
        return value
    if isinstance(node, ast.IfExp):
        return _constant_value(node.body) if _constant_value(node.test) else _constant_value(node.orelse)
    operands = node.args if isinstance(node, ast.Call) else [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr)]
    values = [_constant_value(operand) for operand in operands]
    try:
        if isinstance(node, (ast.List, ast.Tuple)):
            return values
        if isinstance(node, ast.BinOp):
            return OPERATORS[type(node.op)](*values)
        if isinstance(node, ast.UnaryOp):
            return OPERATORS[type(node.op)](values[0])
        if isinstance(node, ast.Compare):
            return all(OPERATORS[type(o)](a, b) for o, a, b in zip(node.ops, values, values[1:]))
        if isinstance(node, ast.Call):
            return FUNCTIONS[node.func.id](*values)  # type: ignore[attr-defined]
    except FAILURES as failure:
        raise _ConstantFailure(node, failure) from None
    raise _ConstantFailure(node, EvaluationFailure(f"cannot evaluate {type(node).__name__}"))


def _evaluable() -> frozenset[type]:
    """The expression nodes simpleeval evaluates (plus the list literals our evaluators add)."""
    global _EVALUABLE
    if _EVALUABLE is None:
        import simpleeval  # noqa: PLC0415 - only when an expression is compiled, never on a cached load

        _EVALUABLE = frozenset(simpleeval.SimpleEval().nodes) | {ast.List, ast.Tuple}
    return _EVALUABLE


_EVALUABLE: frozenset[type] | None = None


def _short(number: int | float) -> str:
    """A number written in an expression, cut for a message when it is very long."""
    text = repr(number)
    return text if len(text) <= 40 else f"{text[:20]}…({len(text)} digits)"


def _walk(node: ast.AST, depth: int, problems: list[ExpressionProblem], names: set[str], functions: set[str]) -> None:
    offset = getattr(node, "col_offset", 0)
    if depth > MAX_EXPRESSION_DEPTH:
        problems.append(ExpressionProblem("expr_too_deep", f"expression nests deeper than {MAX_EXPRESSION_DEPTH}", offset))
        return
    if not isinstance(node, _ALLOWED_NODES) or (isinstance(node, ast.expr) and type(node) not in _evaluable()):
        what = _NODE_WORDS.get(type(node), type(node).__name__)
        problems.append(ExpressionProblem("expr_not_allowed", f"{what} is not allowed in policy expressions", offset))
        return
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            problems.append(ExpressionProblem("expr_not_allowed", "only named functions can be called", offset))
            return
        if node.keywords:
            problems.append(ExpressionProblem("expr_not_allowed", "functions take positional arguments only", offset))
        if node.func.id not in FUNCTIONS:
            problems.append(ExpressionProblem(
                "unknown_function", f"unknown function `{node.func.id}`", offset,
                help=did_you_mean(node.func.id, FUNCTIONS) or "available: " + ", ".join(sorted(FUNCTIONS))))
        functions.add(node.func.id)
        for arg in node.args:
            _walk(arg, depth + 1, problems, names, functions)
        return
    if isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        for operation, left, right in zip(node.ops, operands, operands[1:]):
            is_none = any(isinstance(side, ast.Constant) and side.value is None for side in (left, right))
            if isinstance(operation, (ast.Is, ast.IsNot)) and not is_none:
                problems.append(ExpressionProblem("expr_not_allowed", "`is` compares only with `None`", offset,
                                                  help="use `==` or `!=` to compare values"))
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            problems.append(ExpressionProblem("expr_not_allowed", f"names starting with `_` are not allowed: `{node.id}`", offset))
        names.add(node.id)
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (bytes, complex)) or node.value is Ellipsis:
            problems.append(ExpressionProblem("expr_not_allowed", f"literal `{node.value!r}` is not allowed", offset))
        elif isinstance(node.value, str) and len(node.value) > MAX_STRING_LITERAL:
            problems.append(ExpressionProblem("expr_too_long", f"text literal longer than {MAX_STRING_LITERAL} characters", offset))
        elif isinstance(node.value, (int, float)) and not isinstance(node.value, bool) and out_of_range(node.value):
            problems.append(ExpressionProblem(
                "value_out_of_range", f"the number `{_short(node.value)}` is beyond the limit of ±10^15 (or not finite)",
                offset))
        return
    for child in ast.iter_child_nodes(node):
        _walk(child, depth + 1, problems, names, functions)

"""Values, operators and functions of policy expressions as z3 terms: the vocabulary `symbolic` builds policies from.

Each encoder mirrors the engine's semantics (engine/expressions.py `OPERATORS`, engine/functions.py),
including where the engine fails: the `ok` flag of the result is false exactly there. Anything without
an exact encoding raises `Refused`, which `symbolic.encode` turns into a `NotEncodable` result.
"""

from __future__ import annotations

import ast
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from . import symbolic_calendar as calendar
from .symbolic_text import pattern_regex as pattern_regex
from .symbolic_calendar import DATE_HI as DATE_HI, DATE_LO as DATE_LO, EPOCH as EPOCH, PY_HI as PY_HI, PY_LO as PY_LO
from .symbolic_calendar import Definitions as Definitions, day_number as day_number, load_z3 as load_z3

MAX_NUMBER = 10**15  # engine.expressions.MAX_NUMBER: a derived or `then` value past it is an evaluation error


class CaseNotEncodable(ValueError):
    """A case's value that the terms cannot hold exactly (a datetime with fractions of a second)."""


class Refused(Exception):
    """A construct with no exact encoding: `symbolic.encode` collects each one as an `Unsupported`."""

    def __init__(self, construct: str, reason: str):
        super().__init__(construct, reason)
        self.construct, self.reason = construct, reason


@dataclass
class Term:
    """A value as terms: `value` (for a list, a dict item → Bool), `ok`, `null`, and for an enum
    its values, for a datetime its `offset`, for a text literal the `literal`. A datetime may also
    carry its UTC `day` and `second` of that day (`value` is `86400·day + second`): a fact's do, and
    its dates are then read without a division. A quotient (`prorate`) may carry `quotient`, `(x, y,
    above)` with `|value| = floor(x / y)`, `x >= 0` and `y > 0` wherever `ok`, and `above` a term at
    least `x` that is linear (or None): its limit is checked as `x < y·(limit + 1)`, which needs no
    reasoning about the division, or `above < y·(limit + 1)`, which implies it and needs none about
    the product inside `x` either."""

    kind: str  # bool int real money date datetime enum string list null
    value: Any
    ok: Any
    null: Any
    values: tuple = ()
    offset: Any = None
    literal: Any = None
    day: Any = None
    second: Any = None
    quotient: Any = None
    codes: Any = None  # for a text fact compared only for equality: its code registry (symbolic_text.Texts)


class Substitution:
    """Puts values for variables into many terms, as `z3.substitute(term, *pairs)` does. That function
    checks the sorts of every pair again on each call, in Python: with a case's few hundred facts and
    calendar parts, those checks were nine tenths of the time of a decision the solver settles. Here
    they are checked once, and the pairs kept as the arrays z3's C function takes."""

    def __init__(self, pairs: list):
        z3 = load_z3()
        for variable, value in pairs:
            if not variable.sort().eq(value.sort()):
                raise ValueError(f"cannot put {value} ({value.sort()}) for {variable} ({variable.sort()})")
        self.pairs = list(pairs)  # the arrays hold bare pointers: the terms must live as long as they do
        self.size = size = len(self.pairs)
        self.ctx = self.pairs[0][0].ctx if self.pairs else None
        self._from, self._to = (z3.Ast * size)(), (z3.Ast * size)()
        for i, (variable, value) in enumerate(self.pairs):
            self._from[i], self._to[i] = variable.as_ast(), value.as_ast()

    def __call__(self, term):
        if not self.size:
            return term
        z3 = load_z3()
        return z3.z3._to_expr_ref(z3.Z3_substitute(self.ctx.ref(), term.as_ast(), self.size, self._from, self._to),
                                  self.ctx)

    def __add__(self, other: "Substitution") -> "Substitution":
        return Substitution(self.pairs + other.pairs)


def to_seconds(value: dt.datetime) -> tuple[int, int]:
    if value.microsecond:
        raise CaseNotEncodable(f"`{value.isoformat()}` has fractions of a second, which the terms do not hold")
    offset = value.utcoffset()
    return int((value - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)).total_seconds()), int(offset.total_seconds())


def to_cents(amount: Decimal) -> int:
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise Refused(f"`{amount}`", "an amount with fractions of a cent")
    return int(cents)


def literal(value) -> Term:
    """A constant (a parameter, a literal of an expression, an engine value) as terms."""
    z3 = load_z3()
    true, false = z3.BoolVal(True), z3.BoolVal(False)
    if value is None:
        return Term("null", None, true, true)
    if isinstance(value, bool):
        return Term("bool", z3.BoolVal(value), true, false)
    if type(value) is Decimal:
        return Term("money", z3.IntVal(to_cents(value)), true, false)
    if isinstance(value, int):
        return Term("int", z3.IntVal(value), true, false)
    if isinstance(value, float):
        return Term("real", z3.RealVal(Fraction(value)), true, false)
    if isinstance(value, str):
        return Term("string", z3.StringVal(value), true, false, literal=value)
    if isinstance(value, dt.datetime):
        seconds, off = to_seconds(value)
        return Term("datetime", z3.IntVal(seconds), true, false, offset=z3.IntVal(off),
                    day=z3.IntVal(seconds // 86400), second=z3.IntVal(seconds % 86400))
    if isinstance(value, dt.date):
        return Term("date", z3.IntVal(day_number(value)), true, false)
    if isinstance(value, (list, tuple)):
        return Term("items", [literal(v) for v in value], true, false)
    raise Refused(f"`{value!r}`", "a value of a type with no encoding")




_FLOAT = "binary floating point, which exact rationals would only approximate"


def encode(form, node: ast.expr) -> Term:
    z3 = load_z3()
    if isinstance(node, ast.Constant):
        amount = getattr(node, "amount", None)
        return form._literal(amount if amount is not None else node.value)
    if isinstance(node, ast.Name):
        return form.name(node.id)
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [encode(form, n) for n in node.elts]
        return Term("items", items, z3.And([t.ok for t in items] + [True]), z3.BoolVal(False))
    if isinstance(node, ast.BoolOp):
        return _boolop(form, node)
    if isinstance(node, ast.UnaryOp):
        amount = getattr(node, "amount", None)
        if amount is not None:
            return form._literal(amount)
        return _unary(encode(form, node.operand), node.op)
    if isinstance(node, ast.BinOp):
        return _binop(encode(form, node.left), encode(form, node.right), node.op)
    if isinstance(node, ast.Compare):
        return _compare(form, node)
    if isinstance(node, ast.IfExp):
        return _ifexp(encode(form, node.test), encode(form, node.body), encode(form, node.orelse))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return call(node.func.id, [encode(form, a) for a in node.args], form.definitions)
    raise Refused(f"`{type(node).__name__}`", "an expression form with no encoding")


def truth(t: Term) -> Term:
    if t.kind != "bool":
        raise Refused(f"a {t.kind} read as a condition", "only booleans are encoded as conditions")
    z3 = load_z3()
    if z3.is_false(t.null):
        return t
    # A null read as a condition is false, as Python reads `None` (`not None` is true).
    return Term("bool", z3.And(z3.Not(t.null), t.value), t.ok, z3.BoolVal(False))


def _boolop(form, node: ast.BoolOp) -> Term:
    z3 = load_z3()
    terms = [truth(encode(form, v)) for v in node.values]
    # Python's order: a later operand is evaluated (and may fail) only when the ones before did not decide.
    ok, value = terms[-1].ok, terms[-1].value
    for t in reversed(terms[:-1]):
        decides = z3.Not(t.value) if isinstance(node.op, ast.And) else t.value
        ok = z3.And(t.ok, z3.Or(decides, ok))
        value = z3.And(t.value, value) if isinstance(node.op, ast.And) else z3.Or(t.value, value)
    return Term("bool", value, ok, z3.BoolVal(False))


def _not_null(*terms: Term):
    z3 = load_z3()
    return z3.And([t.ok for t in terms] + [z3.Not(t.null) for t in terms])


def _unary(t: Term, op) -> Term:
    z3 = load_z3()
    if isinstance(op, ast.Not):
        t = truth(t)
        return Term("bool", z3.Not(t.value), t.ok, z3.BoolVal(False))
    if t.kind not in ("int", "real", "money"):
        raise Refused(f"`{type(op).__name__}` of a {t.kind}", "not a number")
    value = -t.value if isinstance(op, ast.USub) else t.value
    return Term(t.kind, value, _not_null(t), z3.BoolVal(False))


def _binop(a: Term, b: Term, op) -> Term:
    z3 = load_z3()
    ok = _not_null(a, b)
    kinds = {a.kind, b.kind}
    symbol = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%"}.get(type(op), "?")
    if kinds == {"string"} and symbol == "+":
        return Term("string", z3.Concat(a.value, b.value), ok, z3.BoolVal(False))
    if kinds == {"int"}:
        if symbol in ("+", "-", "*"):
            value = {"+": a.value + b.value, "-": a.value - b.value, "*": a.value * b.value}[symbol]
            return Term("int", value, ok, z3.BoolVal(False))
        if symbol in ("//", "%"):
            x, y = a.value, b.value
            # z3's Int `/` is Euclidean; Python's `//` floors: they differ for a negative divisor.
            floor = z3.If(y > 0, x / y, (-x) / (-y))
            value = floor if symbol == "//" else x - y * floor
            return Term("int", value, z3.And(ok, y != 0), z3.BoolVal(False))
        raise Refused("`/` of numbers", "its quotient is " + _FLOAT)
    if "money" in kinds and symbol in ("+", "-") and kinds == {"money"}:
        value = a.value + b.value if symbol == "+" else a.value - b.value
        return Term("money", value, ok, z3.BoolVal(False))
    if kinds == {"money", "int"} and symbol == "*":
        return Term("money", a.value * b.value, ok, z3.BoolVal(False))
    if "money" in kinds:
        raise Refused(f"`{symbol}` of {a.kind} and {b.kind}",
                       "amounts divided or scaled by fractions are computed to 40 digits, not encoded yet")
    raise Refused(f"`{symbol}` of {a.kind} and {b.kind}", "arithmetic on numbers with fractions is " + _FLOAT)


def _comparable(a: Term, b: Term):
    """The two sides as terms of one sort, or a refusal."""
    z3 = load_z3()
    if a.kind == "enum" and b.kind == "string" and b.literal is not None:
        return a.value, z3.IntVal(a.values.index(b.literal)) if b.literal in a.values else z3.IntVal(-1)
    if b.kind == "enum" and a.kind == "string" and a.literal is not None:
        return _comparable(b, a)[::-1]
    if a.kind == b.kind == "string" and (a.codes is not None or b.codes is not None):
        return _codes(a, b)
    if a.kind == b.kind and a.kind != "enum" or a.kind == b.kind == "enum" and a.values == b.values:
        return a.value, b.value
    if {a.kind, b.kind} <= {"int", "real"}:
        return a.value, b.value
    if {a.kind, b.kind} == {"money", "int"}:  # an amount meets a whole number: as amounts (money.compare)
        return (a.value, b.value * 100) if a.kind == "money" else (a.value * 100, b.value)
    raise Refused(f"a comparison of {a.kind} with {b.kind}", "no encoding for these operands")


def _codes(a: Term, b: Term):
    """Two texts as codes: a coded fact and a written text (its code, or -1, which no fact holds,
    for a text the fact cannot hold), or two facts with the same codes."""
    z3 = load_z3()
    if a.codes is None:
        return _codes(b, a)[::-1]
    if b.codes is a.codes:
        return a.value, b.value
    if b.literal is not None:
        code = a.codes.code(b.literal)
        return a.value, z3.IntVal(-1 if code is None else code)
    raise Refused("a comparison of a coded text with a computed text", "not encoded")


def text_is(t: Term, text: str):
    """The Bool `t == text` for a text term (a coded fact's or a z3 string), `t` not null."""
    z3 = load_z3()
    if t.codes is not None:
        code = t.codes.code(text)
        return z3.BoolVal(False) if code is None else t.value == code
    return t.value == z3.StringVal(text)


def _fraction(value):
    """`value` as (whole-number term, positive constant denominator), or None: a whole number, a
    rational constant, a whole number made real, or one of these divided by a positive constant."""
    z3 = load_z3()
    if z3.is_int(value):
        return value, 1
    if z3.is_rational_value(value):
        return z3.IntVal(value.numerator_as_long()), value.denominator_as_long()
    if z3.is_to_real(value):
        return value.arg(0), 1
    if z3.is_div(value) and z3.is_rational_value(value.arg(1)) and value.arg(1).numerator_as_long() > 0:
        inner = _fraction(value.arg(0))
        if inner is not None:
            p, q = value.arg(1).numerator_as_long(), value.arg(1).denominator_as_long()
            return inner[0] * q, inner[1] * p
    return None


def _whole_sides(x, y):
    """Two numbers to compare as whole numbers where both are fractions with constant denominators
    (`hours_between` is seconds over 3600): `x/d <= y/e` is `x·e <= y·d`. Comparing whole numbers keeps
    the solver in integer arithmetic, which it decides faster than mixed real and integer terms."""
    fx, fy = _fraction(x), _fraction(y)
    if fx is None or fy is None:
        return x, y
    return fx[0] * fy[1], fy[0] * fx[1]


def _equal(a: Term, b: Term):
    z3 = load_z3()
    if a.kind == "null" or b.kind == "null":
        return (b if a.kind == "null" else a).null
    x, y = _comparable(a, b)
    if "real" in (a.kind, b.kind):
        x, y = _whole_sides(x, y)
    # None == None holds; None equals nothing else (Python's `==`, which never fails here).
    return z3.If(z3.Or(a.null, b.null), z3.And(a.null, b.null), x == y)


def _among(a: Term, b: Term):
    z3 = load_z3()
    if b.kind == "items":
        return z3.And([t.ok for t in b.value] + [True]), z3.Or([_equal(a, t) for t in b.value] + [False])
    if b.kind == "list" and a.kind == "string" and a.literal is not None:
        return z3.BoolVal(True), b.value.get(a.literal, z3.BoolVal(False))
    raise Refused(f"`in` of a {b.kind}", "only lists written in the expression and list outputs")


def _compare(form, node: ast.Compare) -> Term:
    z3 = load_z3()
    left = encode(form, node.left)
    first_ok = left.ok
    steps = []
    for op, right_node in zip(node.ops, node.comparators):
        right = encode(form, right_node)
        step_ok = right.ok
        if isinstance(op, (ast.Eq, ast.Is)):
            v = _equal(left, right)
        elif isinstance(op, (ast.NotEq, ast.IsNot)):
            v = z3.Not(_equal(left, right))
        elif isinstance(op, (ast.In, ast.NotIn)):
            items_ok, v = _among(left, right)
            step_ok = z3.And(step_ok, items_ok)
            v = v if isinstance(op, ast.In) else z3.Not(v)
        else:
            if left.kind in ("string", "bool") or right.kind in ("string", "bool"):
                raise Refused(f"an order comparison of {left.kind} and {right.kind}", "not encoded")
            x, y = _comparable(left, right)
            if "real" in (left.kind, right.kind):
                x, y = _whole_sides(x, y)
            v = {ast.Lt: x < y, ast.LtE: x <= y, ast.Gt: x > y, ast.GtE: x >= y}[type(op)]
            step_ok = z3.And(step_ok, z3.Not(left.null), z3.Not(right.null))  # `None < x` fails in Python
        steps.append((step_ok, v))
        left = right
    # A chain stops at the first comparison that does not hold: the later ones are not evaluated.
    ok, value = steps[-1]
    for step_ok, v in reversed(steps[:-1]):
        ok = z3.And(step_ok, z3.Implies(v, ok))
        value = z3.And(v, value)
    return Term("bool", value, z3.And(first_ok, ok), z3.BoolVal(False))


def _ifexp(test: Term, body: Term, orelse: Term) -> Term:
    z3 = load_z3()
    test = truth(test)
    ok = z3.And(test.ok, z3.If(test.value, body.ok, orelse.ok))
    null = z3.If(test.value, body.null, orelse.null)
    if body.kind == "null" or orelse.kind == "null":
        other = orelse if body.kind == "null" else body
        if other.kind == "null":
            return Term("null", None, ok, z3.BoolVal(True))
        return Term(other.kind, other.value, ok, null, other.values, other.offset, other.literal)
    x, y = (body.value, orelse.value) if body.kind == orelse.kind else _comparable(body, orelse)
    kind = body.kind if body.kind == orelse.kind else ("real" if {body.kind, orelse.kind} == {"int", "real"} else None)
    if kind is None:
        raise Refused(f"`if` giving {body.kind} or {orelse.kind}", "branches of different types")
    offset = day = second = None
    if body.offset is not None and orelse.offset is not None:
        offset = z3.If(test.value, body.offset, orelse.offset)
    if body.day is not None and orelse.day is not None:
        day, second = z3.If(test.value, body.day, orelse.day), z3.If(test.value, body.second, orelse.second)
    return Term(kind, z3.If(test.value, x, y), ok, null, body.values, offset, day=day, second=second)


# -- functions --------------------------------------------------------------------------------------

def _utc_day(t: Term):
    if t.kind == "datetime":
        return t.value / 86400 if t.day is None else t.day  # floor: correct before 1970 too
    if t.kind == "date":
        return t.value
    raise Refused(f"a {t.kind} given as a date", "not a date or datetime")


def _local_day(t: Term):
    """The wall-clock day where a datetime was written: its UTC day, or the day before or after when
    its offset (less than a day either way) carries its time of day past midnight."""
    z3 = load_z3()
    if t.kind != "datetime":
        return _utc_day(t)
    if t.day is None:
        return (t.value + t.offset) / 86400
    local = t.second + t.offset
    return t.day + z3.If(local < 0, -1, z3.If(local >= 86400, 1, 0))


def _within(value, low: int, high: int, definitions):
    """`low <= value <= high`, or true where the bounds of the terms already say so: a check the
    domain implies costs the solver a proof every time it meets it (5x on the EU variant's proofs)."""
    z3 = load_z3()
    known = calendar.bounds(value, definitions)
    if known is not None and low <= known[0] and known[1] <= high:
        return z3.BoolVal(True)
    return z3.And(value >= low, value <= high)


def within_limits(t: Term, definitions=None) -> Term:
    """`t` failing where the engine refuses a computed value (`expressions.out_of_range`): a number or
    an amount beyond ±10^15 (an amount in cents: ±10^17). The engine checks the value of a derived
    value or a `then` value that computes (`expressions.may_exceed`), never the steps inside it."""
    z3 = load_z3()
    if t.kind not in ("int", "real", "money") or t.value is None:
        return t
    limit = MAX_NUMBER * 100 if t.kind == "money" else MAX_NUMBER
    if t.quotient is not None:  # |floor(x / y)| <= limit exactly when x < y·(limit + 1)
        x, y, above = t.quotient
        inside = x < y * (limit + 1) if above is None else z3.Or(above < y * (limit + 1), x < y * (limit + 1))
    elif t.kind == "real":
        inside = z3.And(t.value >= -limit, t.value <= limit)
    else:
        inside = _within(t.value, -limit, limit, definitions)
    return Term(t.kind, t.value, z3.And(t.ok, z3.Or(t.null, inside)), t.null, t.values, t.offset, t.literal, t.day,
                t.second, t.quotient)


def _date(value, ok, definitions=None) -> Term:
    z3 = load_z3()
    return Term("date", value, z3.And(ok, _within(value, PY_LO, PY_HI, definitions)), z3.BoolVal(False))


def _whole(t: Term, function: str):
    if t.kind != "int":
        raise Refused(f"`{function}` of a {t.kind}", "a whole number is needed, and fractions are " + _FLOAT)
    return t.value


def call(name: str, args: list[Term], definitions: list | None = None) -> Term:
    """The terms of `name(*args)`, a function of engine/functions.py. `definitions` collects the
    constraints that define auxiliary variables (a date's year, month and day); they hold in every
    case, and a query asserts them with the facts' domains."""
    z3 = load_z3()
    ok = _not_null(*args)  # a null argument is an error, never zero
    false = z3.BoolVal(False)
    if name == "days_between":
        return Term("int", _utc_day(args[1]) - _utc_day(args[0]), ok, false)
    if name == "local_days_between":
        return Term("int", _local_day(args[1]) - _local_day(args[0]), ok, false)
    if name == "utc_date":
        return Term("date", _utc_day(args[0]), ok, false)
    if name == "local_date":
        return Term("date", _local_day(args[0]), ok, false)
    if name == "hours_between":
        if args[0].kind != "datetime" or args[1].kind != "datetime":
            raise Refused("`hours_between` of dates", "not datetimes")
        # Exact: the engine's float is this quotient correctly rounded (see the module docstring of `symbolic`).
        return Term("real", z3.ToReal(args[1].value - args[0].value) / 3600, ok, false)
    if name == "add_days":
        return _date(_utc_day(args[0]) + _whole(args[1], name), ok, definitions)
    if name == "add_months":
        day, year = calendar.add_months(_utc_day(args[0]), _whole(args[1], name), definitions)
        return _date(day, z3.And(ok, _within(year, 1, 9999, definitions)), definitions)
    if name == "date":
        if len(args) == 1:
            if args[0].literal is None:
                raise Refused("`date` of text that is not written in the expression", "not encoded")
            return Term("date", z3.IntVal(day_number(dt.date.fromisoformat(args[0].literal))), ok, false)
        y, m, d = (_whole(a, name) for a in args)
        year = calendar.split_year(y, definitions)
        valid = z3.And(y >= 1, y <= 9999, m >= 1, m <= 12, d >= 1, d <= calendar.days_in_month(m, year.leap()))
        return Term("date", calendar.day_of(year, m, d), z3.And(ok, valid), false)
    if name in ("year", "month", "day", "weekday"):
        if args[0].kind != "date":
            raise Refused(f"`{name}` of a {args[0].kind}", "takes a date")
        n = args[0].value
        if name == "weekday":
            return Term("int", (n + 3) % 7 + 1, ok, false)  # 1970-01-01 was a Thursday (ISO 4)
        civil = calendar.split(n, definitions)
        return Term("int", {"year": civil.year.value, "month": civil.month, "day": civil.day}[name], ok, false)
    if name == "round_money":
        if args[0].kind != "money":
            raise Refused("`round_money` of a number", "its argument is " + _FLOAT)
        # Every encodable amount is whole cents already.
        return Term("money", args[0].value, ok, false, quotient=args[0].quotient)
    if name == "prorate":
        if args[0].kind != "money":
            raise Refused("`prorate` of a number", "its result is " + _FLOAT)
        part, whole = (_whole(a, name) for a in args[1:])
        # In whole numbers: |value| = floor((2·|amount·part| + |whole|) / (2·|whole|)), half-up; negative
        # when the product and `whole` differ in sign. No reals: over rationals (ToInt of a quotient) the
        # solver's nonlinear search gave `unknown` after 15 s where this answers in a fraction of a second.
        product = args[0].value * part
        top, bottom = z3.If(product < 0, -product, product), z3.If(whole < 0, -whole, whole)
        cents = (2 * top + bottom) / (2 * bottom)  # both positive where `whole` is not 0: floor division
        value = z3.If(z3.Xor(product < 0, whole < 0), -cents, cents)
        # The amount's bounds (a fact's limits) give a linear term above the product: `|amount·part| <=
        # most·|part|`, so that a limit can be proved without reasoning about products (5x faster).
        amount = calendar.bounds(args[0].value, definitions)
        above = None
        if amount is not None:
            most = max(abs(amount[0]), abs(amount[1]))
            above = 2 * most * z3.If(part < 0, -part, part) + bottom
        return Term("money", value, z3.And(ok, whole != 0), false, quotient=(2 * top + bottom, 2 * bottom, above))
    if name in ("max", "min"):
        kinds = {a.kind for a in args}
        if len(kinds) != 1 or kinds & {"bool", "string", "enum"}:
            raise Refused(f"`{name}` of {', '.join(sorted(kinds))}", "arguments of one numeric or date kind only")
        best = args[0]
        value, offset = best.value, best.offset
        day, second = (best.day, best.second) if all(a.day is not None for a in args) else (None, None)
        for a in args[1:]:
            # Python's max/min keep the first of equal values.
            better = a.value > value if name == "max" else a.value < value
            value = z3.If(better, a.value, value)
            if offset is not None:
                offset = z3.If(better, a.offset, offset)
            if day is not None:
                day, second = z3.If(better, a.day, day), z3.If(better, a.second, second)
        return Term(best.kind, value, ok, false, offset=offset, day=day, second=second)
    if name == "abs":
        a = args[0]
        if a.kind not in ("int", "real", "money"):
            raise Refused(f"`abs` of a {a.kind}", "not a number")
        return Term(a.kind, z3.If(a.value < 0, -a.value, a.value), ok, false)
    if name == "round":
        raise Refused("`round`", "it rounds " + _FLOAT + " (ties to even on the binary value)")
    raise Refused(f"`{name}`", "a function with no encoding yet")

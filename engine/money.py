"""Amounts of money: exact decimals, and what the expression operators do with them.

An amount is a `decimal.Decimal`; no other engine value is one (numbers are `int` and `float`).
Facts, parameters and outputs of type `money` hold whole numbers of cents (at most two decimals);
in between, arithmetic is exact: `1.05 + 7.00 - 3.05` is `5.00`, never 5.000000000000001.
Every operation runs in this module's own context (`CONTEXT`), never the thread's, so a program
that changes `decimal.getcontext()` cannot change a decision.

A plain number meeting an amount (a literal `5` or `0.5` written in an expression) is read as
the decimal it was written as: a float through its shortest repr, which is the text a person wrote
for any number of up to 15 significant digits (`1.05` is 1.05, not 1.0500000000000000444).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any

#: Sums, differences and products of amounts within the case limits (10^12, two decimals) times
#: numbers of up to 17 significant digits stay exact; only quotients are rounded, to 40 digits. An
#: amount beyond 10^100 (a product of many large numbers) is an evaluation error (`Overflow`), so
#: every amount can be rounded to cents and written.
CONTEXT = Context(prec=40, Emax=100, Emin=-100, traps=[InvalidOperation, DivisionByZero, Overflow])
CENT = Decimal("0.01")
#: The largest amount a case or a policy may give (as for numbers).
MAX_AMOUNT = Decimal(10) ** 12


def is_amount(value: Any) -> bool:
    return type(value) is Decimal


def is_plain_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def amount(value: Any) -> Decimal:
    """A number as an amount: exact for whole numbers and for a float's shortest repr (or, for a
    number read from a file with more digits than a float keeps, the digits written: `written`)."""
    if type(value) is Decimal:
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"`{value!r}` cannot be an amount of money")
        return Decimal(getattr(value, "written", None) or repr(float(value)))
    return Decimal(int(value))


def whole_cents(value: Decimal) -> bool:
    """Whether the amount is a whole number of cents (at most two decimals, trailing zeros aside)."""
    return value.is_finite() and (value.as_tuple().exponent >= -2 or value == value.quantize(CENT, context=_WIDE))


def cents(value: Decimal) -> Decimal:
    """A whole number of cents, written with exactly two decimals (`10` → `10.00`, `-0` → `0.00`)."""
    result = value.quantize(CENT, context=_WIDE)
    return result if result else _ZERO  # no negative zero


# quantize fails when the result has more digits than the precision: a wide context never does
# for the amounts a case can reach.
_WIDE = Context(prec=200, traps=[InvalidOperation])
_ZERO = Decimal("0.00")


def canonical(value: Decimal) -> Decimal:
    """One form for each amount, so that equal amounts are written alike: whole cents with exactly
    two decimals (`5.0` and `5.000` are `5.00`), anything finer without trailing zeros."""
    if not value.is_finite():
        return value
    rounded = value.quantize(CENT, context=_WIDE)  # one quantize: deciding a case may call this often
    if rounded == value:
        return rounded if rounded else _ZERO
    return value.normalize(_WIDE)


def text(value: Decimal) -> str:
    """How an amount is written, in JSON and for people: at least two decimals, no trailing zeros
    beyond them, never an exponent (`5.00`, `59.99`, `29.995`, `1000000.00`)."""
    written = format(value, "f")
    whole, _, fraction = written.partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    if whole in ("-0", "-") and not fraction.strip("0"):
        whole = "0"  # no negative zero
    return f"{whole or '0'}.{fraction}"


def shortest(value: Decimal) -> int | float:
    """The amount as the plain JSON number that 0.2.0 wrote for it (`10` for 10.00, `59.99`), for
    digests that must not change: exact for amounts of up to 15 significant digits."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


# -- operators ---------------------------------------------------------------------------------
# Each takes two operands of which at least one is an amount; a plain number on the other side is
# read with `amount`. What is refused here is refused by the type checker too, where it can see it.


def add(left: Any, right: Any) -> Decimal:
    return CONTEXT.add(amount(left), amount(right))


def subtract(left: Any, right: Any) -> Decimal:
    return CONTEXT.subtract(amount(left), amount(right))


def multiply(left: Any, right: Any) -> Decimal:
    if is_amount(left) and is_amount(right):
        raise TypeError("`*` cannot multiply two amounts of money")
    return CONTEXT.multiply(amount(left), amount(right))


def divide(left: Any, right: Any) -> Decimal | float:
    """An amount divided by a number is an amount; an amount by an amount is a plain number (a ratio)."""
    if not is_amount(left):
        raise TypeError("`/` cannot divide a number by an amount of money")
    divisor = amount(right)
    if not divisor:
        raise ZeroDivisionError("division by zero")
    quotient = CONTEXT.divide(left, divisor)
    return float(quotient) if is_amount(right) else quotient


def negate(value: Decimal) -> Decimal:
    return CONTEXT.minus(value)


def compare(left: Any, right: Any) -> tuple[Any, Any]:
    """The two sides of a comparison, an amount and a plain number read as amounts; other values
    (text, dates, null) are left as they are, for the comparison to say what it says of them."""
    if is_amount(left) and is_plain_number(right):
        return left, _comparable(right)
    if is_amount(right) and is_plain_number(left):
        return _comparable(left), right
    return left, right


def _comparable(number: int | float) -> Any:
    # A non-finite float compares as itself (every amount is below infinity; nothing equals NaN).
    return amount(number) if not isinstance(number, float) or math.isfinite(number) else number


def round_half_up(value: Decimal) -> Decimal:
    """The amount rounded half-up (away from zero on a tie) to whole cents."""
    return cents(value.quantize(CENT, rounding=ROUND_HALF_UP, context=_WIDE))

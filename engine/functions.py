"""The functions a policy expression may call, each declared once with its exact semantics.

A declaration (`@declare`) gives the name used in expressions, the signature the type checker
enforces and the one-line description the README's function table shows; `REGISTRY` holds them
and `FUNCTIONS` the implementations by name. A declaration without a signature fails at import.

A function may have several signatures (`round_money` of an amount is an amount, of a number a
number; `date('2026-07-31')` and `date(2026, 7, 31)`): one name, one implementation, one description,
and the type checker picks the signature by the number and the types of the arguments.

Every function is pure and deterministic: none reads the clock. Dates are `datetime.date`;
datetimes are timezone-aware `datetime.datetime`; amounts of money are `decimal.Decimal` (see
`money`). A null (`None`) argument is an error, never silently treated as zero: guard it in the
condition (`shipped_at != None and ...`).
"""

from __future__ import annotations

import calendar
import datetime as dt
import inspect
import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Callable, TypeVar

from . import money
from .kinds import DATE, DATETIME, KINDS, MOMENT, MONEY, NUMBER, TEXT, Type


class FunctionError(Exception):
    """A function was called with arguments it cannot accept."""


class DeclarationError(TypeError):
    """A function is declared wrongly: a mistake in the engine itself, raised when this module is imported."""


@dataclass(frozen=True)
class Signature:
    """What a function takes and gives, in the type checker's kinds (`kinds`).

    With `one_or_more`, the function takes one argument or more, each of `arguments[0]` and all of
    one kind, and gives that same kind (`max` of dates is a date); `result` is then `arguments[0]`.
    `names` are the arguments' names in the function's usage (`date(year, month, day)`); without
    them, the implementation's parameters name them.
    """

    arguments: tuple[Type, ...]
    result: Type
    one_or_more: bool = False
    names: tuple[str, ...] = ()


def takes(*arguments: Type, gives: Type, names: tuple[str, ...] = ()) -> Signature:
    return Signature(tuple(arguments), gives, names=names)


def takes_one_or_more(kinds: Type) -> Signature:
    return Signature((kinds,), kinds, one_or_more=True)


@dataclass(frozen=True)
class Function:
    """A function as policies see it: `name(...)` in expressions, its signature (or signatures, a
    tuple of them) and its description."""

    name: str
    implementation: Callable[..., object]
    signature: Signature | tuple[Signature, ...]
    description: str

    @property
    def signatures(self) -> tuple[Signature, ...]:
        return self.signature if isinstance(self.signature, tuple) else (self.signature,)

    def __post_init__(self) -> None:
        signatures = self.signatures
        if not signatures or not all(isinstance(signature, Signature) for signature in signatures):
            # Without one the type checker could only say "anything", and would miss every mistake.
            raise DeclarationError(f"function `{self.name}` has no signature")
        parameters = inspect.signature(self.implementation).parameters.values()
        variadic = any(p.kind is p.VAR_POSITIONAL for p in parameters)
        positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        required = [p for p in positional if p.default is p.empty]
        for signature in signatures:
            for kinds in (*signature.arguments, signature.result):
                if not isinstance(kinds, frozenset) or not kinds or not kinds <= KINDS - {"any", "null"}:
                    raise DeclarationError(f"function `{self.name}`: `{kinds}` is not a type of the type checker "
                                           "(a set of kinds, without `any` or `null`)")
            if signature.one_or_more and (len(signature.arguments) != 1 or signature.result != signature.arguments[0]):
                raise DeclarationError(f"function `{self.name}`: a one-or-more signature has one argument type, "
                                       "which is also its result")
            count = len(signature.arguments)
            # One signature: exactly the implementation's parameters. Several: each a number of
            # arguments the implementation takes (the others have defaults).
            exact = len(positional) == count if len(signatures) == 1 else len(required) <= count <= len(positional)
            if signature.one_or_more != variadic or (not variadic and not exact):
                raise DeclarationError(f"function `{self.name}`: the signature does not match the parameters of "
                                       f"`{self.implementation.__name__}`")
            if signature.names and len(signature.names) != count:
                raise DeclarationError(f"function `{self.name}`: a signature names {len(signature.names)} argument(s) "
                                       f"and takes {count}")
        if len(signatures) > 1 and any(s.one_or_more for s in signatures):
            raise DeclarationError(f"function `{self.name}`: a one-or-more signature must be the only one")
        if not isinstance(self.description, str) or not self.description.strip() or "\n" in self.description:
            raise DeclarationError(f"function `{self.name}` needs a one-line description")

    def usages(self) -> tuple[str, ...]:
        """How a policy calls it, once per number of arguments: `days_between(start, end)`,
        `date(text)` and `date(year, month, day)`, or `max(value, ...)` for one or more."""
        parameters = list(inspect.signature(self.implementation).parameters)
        written: list[str] = []
        for signature in self.signatures:
            if signature.one_or_more:
                text = f"{self.name}(value, ...)"
            else:
                text = f"{self.name}({', '.join(signature.names or parameters[:len(signature.arguments)])})"
            if text not in written:
                written.append(text)
        return tuple(written)

    def usage(self) -> str:
        """`usages()` in one phrase: `date(text)` or `date(year, month, day)`."""
        return " or ".join(self.usages())


#: Every function a policy may call, by the name used in expressions, in declaration order.
REGISTRY: dict[str, Function] = {}

_Implementation = TypeVar("_Implementation", bound=Callable[..., object])


def declare(name: str, signature: Signature | tuple[Signature, ...],
            description: str) -> Callable[[_Implementation], _Implementation]:
    """Add the decorated implementation to `REGISTRY` as `name`, checking the declaration first.
    `signature` is one `Signature`, or a tuple of them tried in order (the first that fits the
    arguments gives the result's type)."""

    def register(implementation: _Implementation) -> _Implementation:
        function = Function(name, implementation, signature, description)
        if name in REGISTRY:
            raise DeclarationError(f"function `{name}` is declared twice")
        REGISTRY[name] = function
        return implementation

    return register


def _as_utc_date(name: str, position: int, value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).date()
    if isinstance(value, dt.date):
        return value
    raise FunctionError(f"argument {position} of `{name}` must be a date or datetime, not {type_name(value)}")


def _as_datetime(name: str, position: int, value: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    raise FunctionError(f"argument {position} of `{name}` must be a datetime, not {type_name(value)}")


def _as_int(name: str, position: int, value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise FunctionError(f"argument {position} of `{name}` must be a whole number, not {type_name(value)}")


def _as_number(name: str, position: int, value: object) -> int | float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raise FunctionError(f"argument {position} of `{name}` must be a number, not {type_name(value)}")


def _as_date(name: str, position: int, value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        raise FunctionError(f"argument {position} of `{name}` must be a date, not a datetime: take its date with "
                            f"`utc_date` or `local_date` first")
    if isinstance(value, dt.date):
        return value
    raise FunctionError(f"argument {position} of `{name}` must be a date, not {type_name(value)}")


def type_name(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", Decimal: "an amount of money", str: "text",
            list: "a list", tuple: "a list", dt.datetime: "a datetime", dt.date: "a date"}.get(type(value), type(value).__name__)


def cannot_hold(value: object, output: str) -> str:
    """Why an output cannot hold a value computed for it (the message of the evaluation error)."""
    if money.is_amount(value) and value.is_finite() and not money.whole_cents(value):
        return (f"gave `{money.text(value)}`, which is not a whole number of cents: `{output}` holds whole cents; "
                f"round it with `round_money`")
    return f"gave {type_name(value)}, which `{output}` cannot hold"


@declare("days_between", takes(MOMENT, MOMENT, gives=NUMBER),
         "calendar days from the UTC date of `start` to the UTC date of `end` (negative if `end` is earlier); "
         "times of day are ignored once in UTC")
def days_between(start: object, end: object) -> int:
    """Calendar days from the UTC date of `start` to the UTC date of `end` (negative if `end` is earlier).

    Times of day are ignored once both are turned into UTC dates, so an order at 23:59 UTC and a
    request at 00:01 UTC the next day are 1 day apart.
    """
    return (_as_utc_date("days_between", 2, end) - _as_utc_date("days_between", 1, start)).days


@declare("local_days_between", takes(MOMENT, MOMENT, gives=NUMBER),
         "calendar days from the date of `start` to the date of `end`, each read in its own time zone "
         "(the consumer's own calendar day, as statutory periods count it)")
def local_days_between(start: object, end: object) -> int:
    """Calendar days from the date of `start` to the date of `end`, each read in its own time zone
    (the date as the person there would write it). For statutory periods counted in the consumer's
    own days, where `days_between` (UTC dates) would shift a day around midnight."""
    return (_as_local_date("local_days_between", 2, end) - _as_local_date("local_days_between", 1, start)).days


def _as_local_date(name: str, position: int, value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise FunctionError(f"argument {position} of `{name}` must be a date or datetime, not {type_name(value)}")


@declare("local_date", takes(MOMENT, gives=DATE),
         "the calendar date of a datetime in its own time zone (a date is returned unchanged)")
def local_date(value: object) -> dt.date:
    return _as_local_date("local_date", 1, value)


@declare("hours_between", takes(DATETIME, DATETIME, gives=NUMBER),
         "exact elapsed hours from datetime `start` to datetime `end`, with fractions")
def hours_between(start: object, end: object) -> float:
    delta = _as_datetime("hours_between", 2, end) - _as_datetime("hours_between", 1, start)
    return delta.total_seconds() / 3600


@declare("utc_date", takes(MOMENT, gives=DATE),
         "the UTC calendar date of a datetime (a date is returned unchanged)")
def utc_date(value: object) -> dt.date:
    return _as_utc_date("utc_date", 1, value)


@declare("add_days", takes(MOMENT, NUMBER, gives=DATE),
         "the UTC date of `value` plus a whole number of `days`")
def add_days(value: object, days: object) -> dt.date:
    start, count = _as_utc_date("add_days", 1, value), _as_int("add_days", 2, days)
    try:
        return start + dt.timedelta(days=count)
    except OverflowError:  # Python's words ("int too large to convert to C int") would say nothing to a policy owner
        raise FunctionError("`add_days` went outside the years 1 to 9999") from None


@declare("add_months", takes(MOMENT, NUMBER, gives=DATE),
         "the UTC date of `value` plus whole calendar `months`, clamped to the end of a shorter month "
         "(31 Jan + 1 month = 28 Feb; 29 Feb 2024 + 12 months = 28 Feb 2025)")
def add_months(value: object, months: object) -> dt.date:
    """The UTC date of `value` plus whole calendar months, clamped to the end of a shorter month.

    2026-01-31 plus 1 month is 2026-02-28; 2024-02-29 plus 12 months is 2025-02-28. This is
    Catala's "round down" rule, chosen explicitly because "one month later" is otherwise ambiguous.
    """
    start = _as_utc_date("add_months", 1, value)
    total = start.year * 12 + (start.month - 1) + _as_int("add_months", 2, months)
    year, month = divmod(total, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise FunctionError("`add_months` went outside the years 1 to 9999")
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@declare("date", (takes(TEXT, gives=DATE, names=("text",)),
                  takes(NUMBER, NUMBER, NUMBER, gives=DATE, names=("year", "month", "day"))),
         "a date from `YYYY-MM-DD` text, for date literals: `date('2026-07-31')`; or from its year, month and day: "
         "`date(year(d) + 1, 1, 31)`; a day that does not exist (`date(year(d), 2, 29)` in a common year) is an evaluation error")
def date(text_or_year: object, month: object = None, day: object = None) -> dt.date:
    """A date from `YYYY-MM-DD` text (for date literals), or from its year, month and day (for
    dates computed from others: the 31 January after an order is `date(year(ordered) + 1, 1, 31)`)."""
    if month is None and day is None:
        text = text_or_year
        if not isinstance(text, str) or not _DATE_TEXT.match(text):
            raise FunctionError(f"`date` needs text of the form YYYY-MM-DD, not `{text}`")
        try:
            return dt.date.fromisoformat(text)
        except ValueError as exc:
            raise FunctionError(f"`date`: `{text}` is not a real date ({exc})") from None
    parts = [_as_int("date", position, value) for position, value in enumerate((text_or_year, month, day), start=1)]
    try:
        return dt.date(*parts)
    except (ValueError, OverflowError) as exc:
        raise FunctionError(f"`date({', '.join(map(str, parts))})` is not a real date: {exc}") from None


@declare("year", takes(DATE, gives=NUMBER),
         "the year of a date, such as 2026 (for a datetime, take its date first: `year(local_date(t))`)")
def year(value: object) -> int:
    return _as_date("year", 1, value).year


@declare("month", takes(DATE, gives=NUMBER),
         "the month of a date, from 1 (January) to 12 (December)")
def month(value: object) -> int:
    return _as_date("month", 1, value).month


@declare("day", takes(DATE, gives=NUMBER),
         "the day of the month of a date, from 1 to 31")
def day(value: object) -> int:
    return _as_date("day", 1, value).day


@declare("weekday", takes(DATE, gives=NUMBER),
         "the ISO day of the week of a date, from 1 (Monday) to 7 (Sunday)")
def weekday(value: object) -> int:
    return _as_date("weekday", 1, value).isoweekday()


@declare("round_money", (takes(MONEY, gives=MONEY), takes(NUMBER, gives=NUMBER)),
         "`value` rounded half-up to cents, computed in decimal (an amount stays an amount, a number a number)")
def round_money(value: object) -> float | Decimal:
    """The amount rounded half-up to cents (2.345 becomes 2.35), computed in decimal, not binary."""
    if money.is_amount(value):
        return money.round_half_up(value)
    number = _as_number("round_money", 1, value)
    text = repr(number)
    # The digits of the shortest repr are what the decimal rule rounds: rounding them as text gives
    # the same result without the decimal module (tests/test_functions.py checks it against
    # `decimal_round_money`), except for forms the text route leaves to it.
    whole, point, fraction = text.partition(".")
    if not point or "e" in fraction or len(whole) > 17 or not whole.lstrip("-").isdigit():
        return decimal_round_money(number)
    if len(fraction) <= 2:
        return float(text)
    cents = int(whole.lstrip("-") + fraction[:2]) + (fraction[2] >= "5")
    return float(f"{'-' if whole.startswith('-') else ''}{cents // 100}.{cents % 100:02d}")


def decimal_round_money(number: int | float) -> float:
    """`round_money` by the decimal module: the definition, and the way for what the text route leaves."""
    return float(Decimal(repr(number)).quantize(_CENT, rounding=ROUND_HALF_UP))


_CENT = Decimal("0.01")


@declare("prorate", (takes(MONEY, NUMBER, NUMBER, gives=MONEY), takes(NUMBER, NUMBER, NUMBER, gives=NUMBER)),
         "`amount × part ÷ whole`, computed exactly (no binary floating point) and rounded half-up to cents: "
         "`prorate(12.35, 183, 366)` is 6.18 (an amount gives an amount, a number a number)")
def prorate(amount: object, part: object, whole: object) -> float | Decimal:
    """`amount` × `part` ÷ `whole`, computed exactly (no binary rounding) and rounded half-up to cents.

    prorate(12.35, 183, 366) is 6.18, where 12.35 * 183 / 366 in floating point is 6.17499…
    """
    first = amount if money.is_amount(amount) else _as_number("prorate", 1, amount)
    values = [Fraction(money.amount(first))] + [Fraction(money.amount(_as_number("prorate", i, v)))
                                                for i, v in ((2, part), (3, whole))]
    if values[2] == 0:
        raise FunctionError("argument 3 of `prorate` (the whole) must not be zero")
    exact = values[0] * values[1] / values[2]
    cents = math.floor(abs(exact) * 100 + Fraction(1, 2))  # half-up, away from zero, as ROUND_HALF_UP
    if money.is_amount(amount):
        return money.cents(money.CONTEXT.scaleb(Decimal(-cents if exact < 0 else cents), -2))
    return math.copysign(cents / 100, exact) if exact else 0.0


def _comparable(name: str, values: tuple) -> tuple:
    if not values:
        raise FunctionError(f"`{name}` needs at least one argument")
    for i, value in enumerate(values, start=1):
        if value is None or isinstance(value, (bool, str, list, tuple)):
            raise FunctionError(f"argument {i} of `{name}` must be a number or a date, not {type_name(value)}")
    kinds = {dt.datetime if isinstance(v, dt.datetime) else dt.date if isinstance(v, dt.date)
             else Decimal if type(v) is Decimal else float for v in values}
    if len(kinds) > 1:
        if kinds == {Decimal, float}:
            # Amounts with plain numbers (`max(refund, 0)`): the numbers are read as amounts, as
            # operators read them, so that the result is an amount whichever is the largest.
            return tuple(money.amount(v) for v in values)
        raise FunctionError(f"`{name}` cannot compare numbers, dates and datetimes with each other")
    return values


@declare("max", takes_one_or_more(NUMBER | MONEY | DATE | DATETIME),
         "the largest of numbers or of amounts of money, or the latest of dates, or of datetimes")
def latest(*values: object) -> object:
    return max(_comparable("max", values))


@declare("min", takes_one_or_more(NUMBER | MONEY | DATE | DATETIME),
         "the smallest of numbers or of amounts of money, or the earliest of dates, or of datetimes")
def earliest(*values: object) -> object:
    return min(_comparable("min", values))


@declare("round", takes(NUMBER, NUMBER, gives=NUMBER),
         "`value` rounded to `digits` decimals as Python rounds binary numbers, ties to even: "
         "`round(2.675, 2)` is 2.67 (2.675 is stored as 2.67499…); for amounts of money use `round_money`")
def round_to(value: object, digits: object) -> int | float:
    number = _as_number("round", 1, value)
    places = _as_int("round", 2, digits)
    if not -MAX_ROUND_DIGITS <= places <= MAX_ROUND_DIGITS:
        raise FunctionError(f"argument 2 of `round` must be between -{MAX_ROUND_DIGITS} and {MAX_ROUND_DIGITS}, not {places}")
    return round(number, places)


#: `round` keeps at most this many decimals (or rounds to at most this many tens): beyond, no number
#: of a case changes, and a huge count would only cost time.
MAX_ROUND_DIGITS = 30


@declare("abs", (takes(MONEY, gives=MONEY), takes(NUMBER, gives=NUMBER)),
         "the absolute value of a number, or of an amount of money")
def absolute(value: object) -> int | float | Decimal:
    if money.is_amount(value):
        return money.CONTEXT.abs(value)
    return abs(_as_number("abs", 1, value))


#: The implementations by the name used in expressions (what simpleeval calls).
FUNCTIONS: dict[str, Callable[..., object]] = {name: f.implementation for name, f in REGISTRY.items()}

"""The functions a policy expression may call, with their exact semantics.

Every function is pure and deterministic: none reads the clock. Dates are `datetime.date`;
datetimes are timezone-aware `datetime.datetime`. A null (`None`) argument is an error, never
silently treated as zero: guard it in the condition (`shipped_at != None and ...`).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Callable


class FunctionError(Exception):
    """A function was called with arguments it cannot accept."""


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


def type_name(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "text", list: "a list", tuple: "a list",
            dt.datetime: "a datetime", dt.date: "a date"}.get(type(value), type(value).__name__)


def days_between(start: object, end: object) -> int:
    """Calendar days from the UTC date of `start` to the UTC date of `end` (negative if `end` is earlier).

    Times of day are ignored once both are turned into UTC dates, so an order at 23:59 UTC and a
    request at 00:01 UTC the next day are 1 day apart.
    """
    return (_as_utc_date("days_between", 2, end) - _as_utc_date("days_between", 1, start)).days


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


def local_date(value: object) -> dt.date:
    """The calendar date of a datetime in its own time zone (a date is returned unchanged)."""
    return _as_local_date("local_date", 1, value)


def hours_between(start: object, end: object) -> float:
    """Exact elapsed hours from `start` to `end` (both datetimes), as a number with fractions."""
    delta = _as_datetime("hours_between", 2, end) - _as_datetime("hours_between", 1, start)
    return delta.total_seconds() / 3600


def utc_date(value: object) -> dt.date:
    """The calendar date in UTC of a datetime (a date is returned unchanged)."""
    return _as_utc_date("utc_date", 1, value)


def add_days(value: object, days: object) -> dt.date:
    """The UTC date of `value` plus a whole number of days."""
    return _as_utc_date("add_days", 1, value) + dt.timedelta(days=_as_int("add_days", 2, days))


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


def date(text: object) -> dt.date:
    """A date from `YYYY-MM-DD` text, for writing date literals in expressions."""
    if not isinstance(text, str) or not _DATE_TEXT.match(text):
        raise FunctionError(f"`date` needs text of the form YYYY-MM-DD, not `{text}`")
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise FunctionError(f"`date`: `{text}` is not a real date ({exc})") from None


def round_money(value: object) -> float:
    """The amount rounded half-up to cents (2.345 becomes 2.35), computed in decimal, not binary."""
    number = _as_number("round_money", 1, value)
    return float(Decimal(repr(number)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def prorate(amount: object, part: object, whole: object) -> float:
    """`amount` × `part` ÷ `whole`, computed exactly (no binary rounding) and rounded half-up to cents.

    prorate(12.35, 183, 366) is 6.18, where 12.35 * 183 / 366 in floating point is 6.17499…
    """
    values = [Fraction(Decimal(repr(_as_number("prorate", i, v)))) for i, v in enumerate((amount, part, whole), start=1)]
    if values[2] == 0:
        raise FunctionError("argument 3 of `prorate` (the whole) must not be zero")
    exact = values[0] * values[1] / values[2]
    cents = math.floor(abs(exact) * 100 + Fraction(1, 2))  # half-up, away from zero, as ROUND_HALF_UP
    return math.copysign(cents / 100, exact) if exact else 0.0


def _comparable(name: str, values: tuple) -> tuple:
    if not values:
        raise FunctionError(f"`{name}` needs at least one argument")
    for i, value in enumerate(values, start=1):
        if value is None or isinstance(value, (bool, str, list, tuple)):
            raise FunctionError(f"argument {i} of `{name}` must be a number or a date, not {type_name(value)}")
    kinds = {dt.datetime if isinstance(v, dt.datetime) else dt.date if isinstance(v, dt.date) else float for v in values}
    if len(kinds) > 1:
        raise FunctionError(f"`{name}` cannot compare numbers, dates and datetimes with each other")
    return values


def latest(*values: object) -> object:
    """The largest of numbers, or the latest of dates (`max`)."""
    return max(_comparable("max", values))


def earliest(*values: object) -> object:
    """The smallest of numbers, or the earliest of dates (`min`)."""
    return min(_comparable("min", values))


def absolute(value: object) -> int | float:
    """The absolute value of a number (`abs`)."""
    return abs(_as_number("abs", 1, value))


#: The functions available to every policy, by the name used in expressions.
FUNCTIONS: dict[str, Callable[..., object]] = {
    "days_between": days_between,
    "local_days_between": local_days_between,
    "local_date": local_date,
    "hours_between": hours_between,
    "utc_date": utc_date,
    "add_days": add_days,
    "add_months": add_months,
    "date": date,
    "round_money": round_money,
    "prorate": prorate,
    "max": latest,
    "min": earliest,
    "abs": absolute,
}

"""The types a policy declares for facts and outputs, and the two ways an engine value is written.

`VALUE_TYPES` has one entry per declared type (`bool`, `int`, `number`, `money`, `string`, `enum`,
`date`, `datetime`, `list`): what the type checker knows of it, which engine values fit it, how a
policy or test file writes one, and how a message names it. A value is written for programs by
`to_json_value` (decisions, diffs, logs) and for people by `show_value`, the one formatter of every
text and Markdown renderer, so a list, a boolean or a date reads the same in all of them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Collection

from . import money
from .errors import did_you_mean
from .kinds import ANY, BOOL, DATE, DATETIME, LIST, MONEY, NULL, NUMBER, TEXT, Type

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$"
_DATE = re.compile(DATE_PATTERN)
_DATETIME = re.compile(DATETIME_PATTERN)


@dataclass(frozen=True)
class ValueType:
    """One declared type. `holds` is asked only about values that are not None (null is the
    declaration's `nullable`); `read` turns the written (JSON) form into an engine value and raises
    `ValueError` when it is not one, with a message when a plain "is not" would not say enough."""

    name: str
    static: Type
    words: str
    holds: Callable[[Any], bool]
    read: Callable[[Any], Any]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _accept(test: Callable[[Any], bool]) -> Callable[[Any], Any]:
    def read(raw: Any) -> Any:
        if not test(raw):
            raise ValueError
        return raw

    return read


def _read_date(raw: Any) -> dt.date:
    if not isinstance(raw, str) or not _DATE.match(raw):
        raise ValueError
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"`{raw}` is not a real date") from None


def _read_datetime(raw: Any) -> dt.datetime:
    if not isinstance(raw, str) or not _DATETIME.match(raw):
        raise ValueError
    try:
        return dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"`{raw}` is not a real datetime") from None


def _is_datetime(value: Any) -> bool:
    return isinstance(value, dt.datetime) and value.utcoffset() is not None


_AMOUNT_TEXT = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def read_amount(raw: Any) -> Decimal:
    """An amount of money as a file or a program writes it, exactly: a number (`59.99`, `10`) or
    text of digits (`"59.99"`); whole cents, within the limit. Raises `ValueError` (with a message
    when a plain "is not" would not say enough)."""
    if isinstance(raw, str) and _AMOUNT_TEXT.fullmatch(raw):
        value = Decimal(raw)
    elif isinstance(raw, (int, float, Decimal)) and not isinstance(raw, bool):
        try:
            value = money.amount(raw)
        except ValueError:
            raise ValueError(f"`{show_value(raw)}` is not a finite amount") from None
    else:
        raise ValueError
    written = raw if isinstance(raw, str) else money.text(value)
    if not money.whole_cents(value):
        raise ValueError(f"`{written}` has more than two decimals: an amount of money is a whole number of cents")
    if abs(value) > money.MAX_AMOUNT:
        raise ValueError(f"`{written}` is beyond the limit of 1e+12")
    return money.cents(value)


def _is_amount(value: Any) -> bool:
    return type(value) is Decimal and money.whole_cents(value)


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value)


def _read_list(raw: Any) -> tuple:
    if not isinstance(raw, list):
        raise ValueError
    return tuple(raw)  # a tuple, so a compiled policy holds no mutable value; the items are checked as choices


VALUE_TYPES: dict[str, ValueType] = {t.name: t for t in (
    ValueType("bool", BOOL, "true or false", lambda v: isinstance(v, bool), _accept(lambda v: isinstance(v, bool))),
    ValueType("int", NUMBER, "a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool),
              _accept(lambda v: isinstance(v, int) and not isinstance(v, bool))),
    ValueType("number", NUMBER, "a number", _number, _accept(_number)),
    ValueType("money", MONEY, "an amount of money (a number with at most two decimals)", _is_amount, read_amount),
    ValueType("string", TEXT, "text", lambda v: isinstance(v, str), _accept(lambda v: isinstance(v, str))),
    # An enum's values are checked apart (`choices`), so that a wrong one is named with its near misses.
    ValueType("enum", TEXT, "one of its values", lambda v: isinstance(v, str), _accept(lambda v: True)),
    ValueType("date", DATE, "a date (YYYY-MM-DD)", lambda v: isinstance(v, dt.date) and not isinstance(v, dt.datetime),
              _read_date),
    ValueType("datetime", DATETIME, "an ISO 8601 datetime", _is_datetime, _read_datetime),
    ValueType("list", LIST, "a list", _is_list, _read_list),
)}


def static_type(declared: str, nullable: bool) -> Type:
    """What the type checker knows of a fact or output declared as `declared` (`any` for a type it does not know)."""
    entry = VALUE_TYPES.get(declared)
    base = entry.static if entry else ANY
    return base | NULL if nullable else base


def fits(declared: str, nullable: bool, value: Any, choices: Collection[str] | None = None) -> bool:
    """Whether an engine value can be the value of a fact or output declared so. `choices` are an enum's
    or a list's values; None checks the type alone."""
    if value is None:
        return nullable
    if not VALUE_TYPES[declared].holds(value):
        return False
    if choices is None or declared not in ("enum", "list"):
        return True
    return all(item in choices for item in (value if declared == "list" else (value,)))


def read_value(subject: str, declared: str, raw: Any, choices: Collection[str] = (),
               index: frozenset[str] | None = None) -> tuple[Any, tuple[str, str] | None]:
    """A value written in a policy or test file (not null) as an engine value of `subject`'s type,
    or None and why it cannot be one, as (message, help); the help may be empty for the caller to fill.

    :param index: `choices` as a set, when the caller checks many values against many choices.
    """
    entry = VALUE_TYPES[declared]
    try:
        value = entry.read(raw)
    except ValueError as error:
        help_text = f"write `[{show_value(raw)}]`" if declared == "list" else ""  # one item, written bare
        return None, (str(error) or f"`{subject}` is {entry.words}, not `{show_value(raw)}`", help_text)
    for item in (value if declared == "list" else (value,) if declared == "enum" else ()):
        if not _among(item, choices if index is None else index):
            return None, (f"`{item}` is not a value of `{subject}`",
                          did_you_mean(str(item), choices) or f"values: {', '.join(choices)}")
    return value, None


def _among(item: Any, choices: Collection[str]) -> bool:
    try:
        return item in choices
    except TypeError:  # an unhashable item (a list where a value belongs) is no choice
        return False


def to_json_value(value: Any) -> Any:
    """The JSON form of an engine value: dates as YYYY-MM-DD, UTC datetimes with `Z`, tuples as lists,
    amounts of money as a `Decimal` in one form per amount (`money.canonical`: `5.00`), which
    `jsontext.dumps` writes as a JSON number with its two decimals (the `json` module cannot)."""
    if type(value) is Decimal:
        return money.canonical(value)
    if isinstance(value, dt.datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json_value(v) for k, v in value.items()}
    return value


def show_value(value: Any) -> str:
    """An engine value (or a value read from a file) for people: text as it is, `true`/`false`, `null`,
    numbers as in JSON, dates and datetimes as in JSON (2026-03-01, 2026-03-01T10:00:00Z), lists as
    `[a, b]` (`[]` when empty), mappings as `{key: value}`. Programs read `to_json_value` instead:
    here the text `null` and the value null look alike."""
    value = to_json_value(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{show_value(k)}: {show_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if type(value) is Decimal:
        return money.text(value)
    return str(value)

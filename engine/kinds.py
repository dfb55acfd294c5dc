"""The type checker's vocabulary: a static type is a set of kinds of value.

The kinds are bool, number, money, text, date, datetime, list and null, or `any` when a type cannot
be known. A `money` value is an amount (an exact decimal, see `money`); a `number` is a plain number
(a count of days, a rate). Function signatures (`functions`) and declared types (`values`) are
written in these words, so they live below both, apart from the checker that reads them (`typecheck`).
"""

from __future__ import annotations

Type = frozenset
ANY: Type = frozenset({"any"})
BOOL, NUMBER, TEXT = frozenset({"bool"}), frozenset({"number"}), frozenset({"text"})
MONEY = frozenset({"money"})
DATE, DATETIME, LIST, NULL = frozenset({"date"}), frozenset({"datetime"}), frozenset({"list"}), frozenset({"null"})
MOMENT = DATE | DATETIME

_WORDS = {"bool": "true/false", "number": "a number", "money": "an amount of money", "text": "text", "date": "a date",
          "datetime": "a datetime", "list": "a list", "null": "null", "any": "anything"}

#: Every kind a type may hold.
KINDS: frozenset[str] = frozenset(_WORDS)


def describe(kinds: Type) -> str:
    """`a date or a datetime`: a type in the words of a message."""
    return " or ".join(_WORDS[k] for k in sorted(kinds))

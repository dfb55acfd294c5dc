"""JSON text with amounts of money: `dumps` writes a `Decimal` as a JSON number with its two
decimals (`5.00`, `59.99`), which the `json` module cannot; `loads` reads such a number back so
that `dumps` gives the same bytes again.

`dumps` takes the options of `json.dumps` that the engine uses and gives the very same text for
anything without a `Decimal` (there it is `json.dumps`; tests/test_jsontext.py checks the rest
against it). `loads` reads a number in plain decimal notation with two or more decimals
(`5.00`, `29.995`, `0.125`) as a `Decimal`, and every other number as `json.loads` does: those
are the texts `dumps` writes for amounts, and the ones whose float would be written back with
other digits (`5.00` as `5.0`), so a record read and written again keeps its bytes.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any

from .money import text as amount_text

_PLAIN_DECIMAL = re.compile(r"-?\d+\.\d{2,}")
# An amount's place in the text json.dumps writes: a string of private-use characters and its index.
_MARK, _MARK_END = "\ue000\ue001", "\ue002"
_MARK_ASCII = "\\ue000\\ue001"
_MARKED = re.compile('"' + _MARK + r"(\d+)" + _MARK_END + '"')
_MARKED_ASCII = re.compile('"' + re.escape(_MARK_ASCII) + r"(\d+)" + re.escape("\\ue002") + '"')


class _HasAmount(Exception):
    """The document holds an amount: the `json` module cannot write it."""


def _refuse(value: Any) -> Any:
    if type(value) is Decimal:
        raise _HasAmount
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value: Any, *, indent: int | None = None, sort_keys: bool = False,
          separators: tuple[str, str] | None = None, ensure_ascii: bool = True) -> str:
    """`json.dumps(value, ...)`, with amounts (`Decimal`) written as `amount_text` writes them."""
    try:
        return json.dumps(value, indent=indent, sort_keys=sort_keys, separators=separators,
                          ensure_ascii=ensure_ascii, default=_refuse)
    except _HasAmount:
        pass
    # The json module writes the rest, each amount as a marked string put back as its number: a
    # decision holds few amounts among many values, and the module writes them ten times faster
    # than `_Writer`. A string of the document's own that looks like a marker sends it to `_Writer`.
    amounts: list[Decimal] = []

    def mark(value: Any) -> Any:
        if type(value) is Decimal:
            amounts.append(value)
            return f"{_MARK}{len(amounts) - 1}{_MARK_END}"
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    text = json.dumps(value, indent=indent, sort_keys=sort_keys, separators=separators, ensure_ascii=ensure_ascii,
                      default=mark)
    pattern = _MARKED_ASCII if ensure_ascii else _MARKED
    if text.count(_MARK_ASCII if ensure_ascii else _MARK) == len(amounts):
        return pattern.sub(lambda found: amount_text(amounts[int(found.group(1))]), text)
    if separators is None:
        separators = (",", ": ") if indent is not None else (", ", ": ")
    chunks: list[str] = []
    _Writer(chunks, indent, sort_keys, separators, encode_basestring_ascii if ensure_ascii else encode_basestring).write(value, 0)
    return "".join(chunks)


def _read_number(written: str) -> Decimal | float:
    return Decimal(written) if _PLAIN_DECIMAL.fullmatch(written) else float(written)


def loads(text: str | bytes) -> Any:
    """`json.loads`, with numbers such as `5.00` and `29.995` read as `Decimal` (see the module)."""
    return json.loads(text, parse_float=_read_number)


class _Writer:
    """What `json.dumps` writes, over the same values plus `Decimal`."""

    def __init__(self, chunks: list[str], indent: int | None, sort_keys: bool, separators: tuple[str, str],
                 string) -> None:
        self.out = chunks.append
        self.indent = " " * indent if isinstance(indent, int) else indent
        self.sort_keys = sort_keys
        self.item_separator, self.key_separator = separators
        self.string = string

    def write(self, value: Any, level: int) -> None:
        if isinstance(value, str):
            self.out(self.string(value))
        elif value is None:
            self.out("null")
        elif value is True:
            self.out("true")
        elif value is False:
            self.out("false")
        elif isinstance(value, int):
            self.out(int.__repr__(value))
        elif isinstance(value, float):
            self.out(_float(value))
        elif type(value) is Decimal:
            self.out(amount_text(value))
        elif isinstance(value, (list, tuple)):
            self._items(value, level)
        elif isinstance(value, dict):
            self._mapping(value, level)
        else:
            _refuse(value)

    def _open(self, bracket: str, level: int) -> str:
        """Writes the bracket and the first line break; gives the separator between items."""
        self.out(bracket)
        if self.indent is None:
            return self.item_separator
        newline = "\n" + self.indent * (level + 1)
        self.out(newline)
        return self.item_separator + newline

    def _close(self, bracket: str, level: int) -> None:
        if self.indent is not None:
            self.out("\n" + self.indent * level)
        self.out(bracket)

    def _items(self, items, level: int) -> None:
        if not items:
            self.out("[]")
            return
        separator = self._open("[", level)
        for position, item in enumerate(items):
            if position:
                self.out(separator)
            self.write(item, level + 1)
        self._close("]", level)

    def _mapping(self, mapping: dict, level: int) -> None:
        if not mapping:
            self.out("{}")
            return
        separator = self._open("{", level)
        pairs = list(mapping.items())
        if self.sort_keys:
            pairs.sort(key=lambda pair: pair[0])  # by the keys themselves, as `json.dumps` sorts
        for position, (key, item) in enumerate(pairs):
            key = _key(key)
            if position:
                self.out(separator)
            self.out(self.string(key))
            self.out(self.key_separator)
            self.write(item, level + 1)
        self._close("}", level)


def _key(key: Any) -> str:
    """A mapping's key as `json.dumps` writes it (text, or a number, boolean or null as text)."""
    if isinstance(key, str):
        return key
    if key is True or key is False or key is None:
        return json.dumps(key)
    if isinstance(key, int):
        return int.__repr__(key)
    if isinstance(key, float):
        return _float(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)

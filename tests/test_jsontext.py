"""JSON with amounts of money: `jsontext.dumps` is `json.dumps` plus amounts written with their two
decimals, and `jsontext.loads` reads what it wrote back to the same bytes."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import jsontext

# JSON values without amounts, with the keys and floats json writes in unusual ways.
plain = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6),
    lambda children: st.lists(children, max_size=4) | st.tuples(children, children)
    | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=20)
OPTIONS = [dict(), dict(indent=2), dict(indent=1, sort_keys=True), dict(sort_keys=True, separators=(",", ":")),
           dict(indent=2, ensure_ascii=False), dict(sort_keys=True, separators=(",", ":"), ensure_ascii=False), dict(indent=0)]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(plain, st.sampled_from(OPTIONS))
def test_without_amounts_it_is_json_dumps(value, options):
    assert jsontext.dumps(value, **options) == json.dumps(value, **options)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(plain, st.sampled_from(OPTIONS))
def test_the_writer_for_amounts_writes_everything_else_as_json_dumps(value, options):
    # Beside an amount, the rest of the document is written by the engine's own writer: the same text.
    # The amount comes first (in order and sorted), so only the first placeholder is the amount's: the
    # generated rest may hold the same text ({"\x00": null} did).
    wrapped = {"amount": Decimal("1.05"), "rest": value}
    expected = json.dumps({"amount": "\0", "rest": value}, **options).replace('"\\u0000"', "1.05", 1)
    assert jsontext.dumps(wrapped, **options) == expected


@pytest.mark.parametrize("amount, written", [
    (Decimal("5.00"), "5.00"), (Decimal("5"), "5.00"), (Decimal("59.99"), "59.99"), (Decimal("-3.05"), "-3.05"),
    (Decimal("29.995"), "29.995"), (Decimal("1E+6"), "1000000.00"), (Decimal("-0.00"), "0.00"), (Decimal("0.1"), "0.10"),
])
def test_an_amount_is_a_json_number_with_its_two_decimals(amount, written):
    assert jsontext.dumps({"refund": amount}) == f'{{"refund": {written}}}'
    assert json.loads(jsontext.dumps(amount)) == float(written)  # any JSON reader reads a number


@pytest.mark.parametrize("text", [
    '{"a": 5.00, "b": 5.0, "c": 1e-05, "d": 59.99, "e": 29.995, "f": 10, "g": -0.0, "h": 1.5e+20, "i": 0.125}',
    '[0.30000000000000004, 100.00, 123456.789]',
])
def test_what_is_read_is_written_back_to_the_same_bytes(text):
    # The decision log hashes records as written: reading one and writing it again must not change
    # a byte, whether a number was an amount (5.00) or a float (5.0, 1e-05).
    assert jsontext.dumps(jsontext.loads(text)) == text


def test_loads_reads_amounts_exactly_and_floats_as_floats():
    data = jsontext.loads('{"price": 59.99, "fee": 5.00, "rate": 2.5, "n": 3}')
    assert data == {"price": Decimal("59.99"), "fee": Decimal("5.00"), "rate": 2.5, "n": 3}
    assert type(data["rate"]) is float and type(data["n"]) is int


def test_a_value_json_cannot_write_is_refused_as_json_refuses_it():
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        jsontext.dumps({"a": {1}})
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        jsontext.dumps({"a": {1}, "b": Decimal("1")})


amounts = st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False, allow_infinity=False)
with_amounts = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | amounts | st.text(max_size=6)
    | st.sampled_from(["\ue000\ue0010\ue002", "\ue000\ue001", "\\ue000\\ue0010\\ue002"]),  # strings like the markers
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(with_amounts, st.sampled_from(OPTIONS))
def test_the_fast_path_for_amounts_writes_what_the_writer_writes(value, options):
    # dumps lets json.dumps write a document with amounts, each put back in its place; the engine's
    # own writer, which writes every value itself, is the reference.
    separators = options.get("separators") or ((",", ": ") if options.get("indent") is not None else (", ", ": "))
    chunks: list[str] = []
    string = json.encoder.encode_basestring if options.get("ensure_ascii") is False else json.encoder.encode_basestring_ascii
    jsontext._Writer(chunks, options.get("indent"), options.get("sort_keys", False), separators, string).write(value, 0)
    assert jsontext.dumps(value, **options) == "".join(chunks)

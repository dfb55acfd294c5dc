"""The static exclusivity analysis behind conflict detection."""

from __future__ import annotations

import ast

import pytest

from engine.analysis import ConditionAnalyzer

ANALYZER = ConditionAnalyzer(
    {"limit": 30}, lambda name: name in ("damaged", "corporate", "flag"),
    {"flag": ast.parse("kind == 'a'", mode="eval").body},
)


def exclusive(a: str, b: str) -> bool:
    return ANALYZER.exclusive(ast.parse(a, mode="eval").body, ast.parse(b, mode="eval").body)


@pytest.mark.parametrize("a, b", [
    ("r == 'return'", "r == 'cancel'"),
    ("r == 'return'", "r in ['cancel', 'modify']"),
    ("r in ['a', 'b']", "r not in ['a', 'b', 'c']"),
    ("d <= limit", "d > limit"),
    ("d < 30", "d >= 30"),
    ("30 >= d", "d > 30"),
    ("damaged", "not damaged"),
    ("damaged == True", "damaged == False"),
    ("x and r == 'a'", "y and r == 'b'"),
    ("r == 'a' or r == 'b'", "r == 'c'"),
    ("not (a > 1 and b)", "a > 1 and b"),
    ("s == None", "s != None and d > 1"),
    ("flag", "kind == 'b'"),
    ("0 < d <= 10", "d > 10"),
])
def test_provably_exclusive(a, b):
    assert exclusive(a, b)
    assert exclusive(b, a)


@pytest.mark.parametrize("a, b", [
    ("d <= 30", "d >= 30"),
    ("damaged", "corporate"),
    ("r == 'a' or x", "r == 'b'"),
    ("d > 10", "d > 20"),
    ("r != 'a'", "r != 'b'"),
    ("n", "n == 5"),  # n is not boolean: truthiness proves nothing
])
def test_not_provably_exclusive(a, b):
    assert not exclusive(a, b)

"""The static exclusivity analysis behind conflict detection."""

from __future__ import annotations

import ast

import pytest
from conftest import condition_analyzer, condition_strategy
from hypothesis import given, settings
from hypothesis import strategies as st

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


# -- grouping: which pairs still go to `exclusive` -------------------------------------------------

def unseparated(*conditions: str) -> list[tuple[int, int]]:
    return list(ANALYZER.unseparated_pairs([ast.parse(c, mode="eval").body for c in conditions]))


@pytest.mark.parametrize("a, b", [
    ("r == 'a'", "r == 'b'"),
    ("r in ['a', 'b']", "r in ['c']"),
    ("d < 30", "d >= 30"),
    ("d <= limit", "d > limit"),
    ("d >= 10 and d < 20", "d >= 20 and d < 30"),
    ("0 < d <= 10", "d > 10"),
    ("d >= 5 and d > 5", "d <= 5"),  # the tighter of two bounds at one value
    ("d <= 5 and d < 5", "d >= 5"),
    ("d in [1, 2]", "d > 2"),  # a set's hull against a range
    ("d in [1, 5] and d > 3", "d > 6"),  # bounds from a set and from a comparison, together
    ("d in [1, 5] and d > 3", "d <= 3"),
    ("d in [1, 3]", "d == 2"),  # set against set, though their hulls overlap
    ("damaged", "not damaged"),
    ("x > 1 and flag", "kind == 'b'"),  # `flag` is `kind == 'a'`
    ("f(x)", "not f(x)"),
    ("s == None", "s != None and s == 'a'"),
])
def test_atoms_that_contradict_keep_a_pair_from_exclusive(a, b):
    assert exclusive(a, b)
    assert unseparated(a, b) == []


@pytest.mark.parametrize("a, b", [
    ("d <= 30", "d >= 30"),  # both admit 30
    ("d < 30", "d < 20"),
    ("r == 1", "r == True"),  # equal as set members
    ("r != 'a'", "r == 'a'"),  # exclusive, but only `exclusive` says so
    ("d < nan", "d > nan"),
    ("r == 'a' or r == 'b'", "r == 'c'"),  # a disjunction has no top-level atom
    ("d in [1, 'a']", "d > 5"),  # mixed kinds: no hull
])
def test_pairs_the_grouping_cannot_separate_go_to_exclusive(a, b):
    assert unseparated(a, b) == [(0, 1)]


def test_pairs_come_in_the_order_of_the_pairwise_check():
    conditions = ["True", "x < 1", "x >= 1", "y", "x < 1 and y"]
    assert unseparated(*conditions) == [pair for pair in ANALYZER.every_pair(conditions) if pair != (1, 2) and pair != (2, 4)]


@settings(max_examples=400, deadline=None)
@given(st.lists(condition_strategy(), max_size=14))
def test_every_pair_left_out_is_exclusive(conditions):
    analyzer = condition_analyzer()
    trees = [ast.parse(c, mode="eval").body for c in conditions]
    pairs = list(analyzer.unseparated_pairs(trees))
    assert pairs == sorted(set(pairs)) and all(i < j for i, j in pairs)
    for i, j in set(analyzer.every_pair(trees)) - set(pairs):
        assert analyzer.exclusive(trees[i], trees[j]), (conditions[i], conditions[j])


RANGE_ATOMS = st.builds("d {} {}".format, st.sampled_from(["<", "<=", ">", ">=", "=="]), st.sampled_from(["0", "5", "5.0", "10"]))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(st.one_of(RANGE_ATOMS, st.just("d in [0, 5]")), min_size=1, max_size=2).map(" and ".join), max_size=10))
def test_every_pair_left_out_of_touching_ranges_is_exclusive(conditions):
    # Few atoms on one subject, so that equal bounds (`<= 5`, `> 5`, `>= 5`) meet often.
    trees = [ast.parse(c, mode="eval").body for c in conditions]
    pairs = set(ANALYZER.unseparated_pairs(trees))
    for i, j in set(ANALYZER.every_pair(trees)) - pairs:
        assert ANALYZER.exclusive(trees[i], trees[j]), (conditions[i], conditions[j])


def test_bounds_at_one_value_are_swept_in_the_order_they_start():
    # `> 5` starts after `>= 5`: swept the other way round, `x >= 5` would be cut from `x <= 5`.
    assert (0, 2) in unseparated("d <= 5", "d > 5", "d >= 5")


def _cut_work(monkeypatch, conditions: list[str]) -> int:
    """How many conditions the grouping looked at, summed over every group it tried to cut."""
    from engine import analysis

    seen = []
    original = analysis._best_cut
    monkeypatch.setattr(analysis, "_best_cut", lambda group, splits: seen.append(len(group)) or original(group, splits))
    assert list(ANALYZER.unseparated_pairs([ast.parse(c, mode="eval").body for c in conditions])) == []
    return sum(seen)


@pytest.mark.parametrize("shape", [
    lambda i: f"d >= {10 * i} and d < {10 * (i + 1)}",
    lambda i: f"r == 'k{i}' and d >= 0",
    lambda i: f"r == 'k{i // 10}' and d >= {10 * (i % 10)} and d < {10 * (i % 10 + 1)}",  # two facts, nested
], ids=["ranges", "enum", "enum-then-range"])
def test_grouping_work_grows_linearly(monkeypatch, shape):
    # Counted, not timed: every group handed to `_best_cut` costs about its size (times a log).
    work = {n: _cut_work(monkeypatch, [shape(i) for i in range(n)]) for n in (1000, 2000)}
    assert work[1000] <= 2 * 1000
    assert work[2000] <= 2.1 * work[1000]

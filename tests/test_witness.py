"""Witness cases (engine/witness.py): a model made canonical and into a case file that the engine decides
to what the solver said, under the variant and version the query selected."""

from __future__ import annotations

import functools

import pytest
import yaml
import z3

import engine
from conftest import AQARA_VERSION
from engine import symbolic, witness


@functools.lru_cache(maxsize=None)
def _policy_set():
    return engine.load("aqara-returns")


def _query(policy, *conditions):
    form = symbolic.encode(policy)
    s = symbolic.solver()
    s.add(form.domain + witness.complete(form) + witness.selecting(form, _policy_set(), policy) + form.constraints)
    return form, s


@pytest.mark.parametrize("chain", [f"aqara-returns {AQARA_VERSION}", f"aqara-returns {AQARA_VERSION} → au 1.1.1"])
def test_an_eligible_return_witness_is_canonical_and_replays(chain):
    policy = next(p for p in _policy_set().compiled if p.identity.chain_label() == chain)
    form, s = _query(policy)
    eligibility = form.output("eligibility")
    query = [form.facts["request"].term.value == 0, eligibility.ok, z3.Not(eligibility.null),
             eligibility.value == policy.outputs["eligibility"].values.index("eligible")]
    kept = witness.canonical(s, form, query)
    assert kept is not None and s.check(kept) == z3.sat
    facts = witness.case_facts(form, s.model())
    assert list(facts) == list(policy.facts)  # complete, in declaration order
    assert facts["request"] == "return"
    # Canonical: the first day of the version, ten in the morning UTC, the first enum values.
    assert facts["order_placed_at"] == f"{policy.identity.effective_from}T10:00:00Z"
    assert facts["sales_channel"] == "aqara_online_store"
    decision = witness.replay(_policy_set(), policy, facts)
    assert decision is not None and decision.outputs["eligibility"].value == "eligible"
    # The case file says the same.
    text = witness.case_yaml(facts, "eligible-return", "a witness")
    assert yaml.safe_load(text) == {"id": "eligible-return", "facts": facts}
    assert witness.canonical(s, form, query) == kept  # the same query, the same witness


def test_no_witness_for_an_unsatisfiable_query():
    policy = _policy_set().base
    form, s = _query(policy)
    request = form.facts["request"].term.value
    assert witness.canonical(s, form, [request == 0, request == 1]) is None


def test_a_witness_the_engine_would_not_select_is_not_replayed():
    policy_set = _policy_set()
    au = next(p for p in policy_set.compiled if "au" in p.identity.chain_label())
    facts = {"country_of_purchase": "US", "request": "return"}
    assert witness.replay(policy_set, au, facts) is None


@pytest.mark.parametrize("pattern,matches,not_matching", [
    ("^[A-Z]{2}$", "DE", "DEU"), ("^[A-Z]{2}-[0-9]{4}$", "KH-0844", "KH-84"), ("a(b|c)+d?", "abcd", "ad"),
    ("x{2,}", "xxx", "x"), ("[a-c_.]?z", "_z", "dz")])
def test_patterns_become_regular_expressions(pattern, matches, not_matching):
    from engine.symbolic_ops import pattern_regex

    regex = pattern_regex(pattern)
    for text, expected in ((matches, True), (not_matching, False)):
        s = z3.Solver()
        s.add(z3.InRe(z3.StringVal(text), regex))
        assert (s.check() == z3.sat) is expected, text


@pytest.mark.parametrize("pattern", [r"\d+", "[^a]", "(?i)a", "a**"])
def test_patterns_outside_the_subset_are_not_translated(pattern):
    from engine.symbolic_ops import pattern_regex

    assert pattern_regex(pattern) is None

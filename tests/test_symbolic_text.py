"""Text facts as terms (engine/symbolic_text.py): which texts become codes, that codes decide as texts
do (against the engine), and that a model's codes become texts matching the pattern that the engine
accepts and decides as the solver said."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re

import pytest
import z3

import engine
from engine import symbolic, symbolic_text, witness
from engine.expressions import compile_expression


@functools.lru_cache(maxsize=None)
def _policy_set():
    return engine.load("aqara-returns")


def _with_derived(policy, name, text):
    compiled, problems = compile_expression(text)
    assert not problems
    derived = {**policy.derived, name: dataclasses.replace(policy.derived[name], expression=compiled)}
    return dataclasses.replace(policy, derived=derived)


def test_the_countries_of_the_aqara_policy_are_codes():
    for policy in _policy_set().compiled:
        coded = symbolic_text.coded_facts(policy)
        assert coded == {"country_of_purchase": [], "product_location_country": []}, policy.identity.chain_label()
        form = symbolic.encode(policy)
        assert z3.is_int(form.facts["country_of_purchase"].raw.value)


@pytest.mark.parametrize("text, coded", [
    ("country_of_purchase in ['DE', 'FR'] and units_of_product > bulk_order_units", {"DE", "FR"}),
    ("country_of_purchase != None and 'GB' == country_of_purchase", {"GB"}),
    # Read any other way, the text is a z3 string, and so is every text compared with it.
    ("country_of_purchase + 'X' == 'DEX'", None),
    ("country_of_purchase < 'M'", None),
    ("country_of_purchase in [country_of_purchase]", None),
])
def test_a_text_is_a_code_only_where_it_is_compared_for_equality(text, coded):
    policy = _with_derived(_policy_set().base, "is_bulk_order", text)
    found = symbolic_text.coded_facts(policy)
    if coded is None:
        assert found == {}  # product_location_country is compared with it, so it is not one either
    else:
        assert set(found["country_of_purchase"]) == coded and found["product_location_country"] == []


def test_texts_of_a_pattern_match_it_in_a_fixed_order():
    assert list(itertools.islice(symbolic_text.texts("^[A-Z]{2}$"), 3)) == ["AA", "AB", "AC"]
    assert list(symbolic_text.texts("^(A|B)$")) == ["A", "B"]  # a pattern with few texts ends
    assert list(symbolic_text.texts("[a-c_.]?z")) == ["z", "az", "bz", "cz", "_z", ".z"]
    for pattern in ("^[A-Z]{2}-[0-9]{4}$", "a(b|c)+d?", "x{2,}", "^v[0-9]+\\.[0-9]+$", None):
        made = list(itertools.islice(symbolic_text.texts(pattern), 40))
        assert len(made) == len(set(made)) == 40
        assert all(pattern is None or re.fullmatch(pattern, t) for t in made), pattern


def _query(policy):
    form = symbolic.encode(policy)
    s = symbolic.solver()
    s.add(form.domain + witness.complete(form) + witness.selecting(form, _policy_set(), policy) + form.constraints)
    return form, s


def test_codes_no_text_was_given_become_texts_the_engine_accepts():
    policy = _policy_set().base
    form, s = _query(policy)
    countries = [form.facts[n].raw.value for n in ("country_of_purchase", "product_location_country")]
    registry = form.facts["country_of_purchase"].raw.codes
    # Two countries that differ, neither one any text has a code for (the variants' countries, US, …).
    unnamed = [c >= len(registry.written) for c in countries]
    assert s.check(*unnamed, countries[0] != countries[1]) == z3.sat
    facts = witness.case_facts(form, s.model())
    purchase, location = facts["country_of_purchase"], facts["product_location_country"]
    assert purchase != location and not {purchase, location} & set(registry.written)
    assert re.fullmatch("^[A-Z]{2}$", purchase) and re.fullmatch("^[A-Z]{2}$", location)
    decision = witness.replay(_policy_set(), policy, facts)
    assert decision is not None  # the base decides it: no variant covers either country


def test_a_text_the_fact_cannot_hold_is_never_its_value():
    form = symbolic.encode(_policy_set().base)
    assert z3.is_false(form.text_is("country_of_purchase", "Germany"))  # breaks `^[A-Z]{2}$`
    assert not z3.is_false(form.text_is("country_of_purchase", "DE"))


@pytest.mark.parametrize("purchase, location", [("DE", "DE"), ("DE", "FR"), ("QQ", "QQ"), ("QQ", "ZY"), ("US", "QQ")])
def test_codes_decide_as_texts_do(purchase, location):
    # The warranty is void abroad: the engine's answer, and the solver's with the case fixed, and free.
    policy = _policy_set().base
    facts = {"country_of_purchase": purchase, "product_location_country": location}
    form = symbolic.encode(policy)
    abroad = form.name("warranty_void_abroad")
    s = symbolic.solver()
    s.add(form.domain + form.fix(facts))
    assert s.check() == z3.sat
    assert z3.is_true(s.model().eval(abroad.value)) is (purchase != location)
    s = symbolic.solver()
    s.add(form.domain)
    same = z3.And(form.text_is("country_of_purchase", purchase), form.text_is("product_location_country", location))
    assert s.check(same, abroad.value == (purchase == location)) == z3.unsat


@pytest.mark.parametrize("pattern", ["^(yes|no)$", "^[0-9]$", r"^\d{2}$"])
def test_a_pattern_with_few_texts_or_outside_the_subset_keeps_its_facts_strings(pattern):
    base = _policy_set().base
    facts = {**base.facts, "country_of_purchase": dataclasses.replace(base.facts["country_of_purchase"], pattern=pattern),
             "product_location_country": dataclasses.replace(base.facts["product_location_country"], pattern=pattern)}
    policy = dataclasses.replace(base, facts=facts)
    assert symbolic_text.coded_facts(policy) == {}
    form = symbolic.encode(policy)
    assert z3.is_string(form.facts["country_of_purchase"].raw.value)

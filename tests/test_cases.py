"""Checking a case's facts: every bad fact is refused with its name, never guessed."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal

import pytest

import engine
from conftest import AQARA, BASE_FACTS


def refused(aqara, **changes):
    with pytest.raises(engine.CaseError) as caught:
        engine.case_from_facts(aqara, {**BASE_FACTS, **changes})
    return caught.value.diagnostics


@pytest.mark.parametrize("changes, subject, words", [
    ({"reqest": "return"}, "reqest", "`reqest` is not a fact of policy `aqara-returns`"),
    ({"units_of_product": "3"}, "units_of_product", "expected a whole number, got the text `3`"),
    ({"units_of_product": 2.5}, "units_of_product", "expected a whole number"),
    ({"units_of_product": 0}, "units_of_product", "must be at least 1, got `0`"),
    ({"product_damaged": "no"}, "product_damaged", "expected true or false"),
    ({"request": "retrun"}, "request", "`retrun` is not one of return, warranty_claim, cancel_order, modify_order (did you mean `return`?)"),
    ({"order_placed_at": "2026-02-30T10:00:00Z"}, "order_placed_at", "is not a real datetime"),
    ({"order_placed_at": "2026-03-01T10:00:00"}, "order_placed_at", "has no time zone"),
    ({"order_placed_at": "01/03/2026"}, "order_placed_at", "is not an ISO 8601 datetime"),
    ({"replaced_at": "2026-13-01"}, "replaced_at", "is not a real date"),
    ({"country_of_purchase": "USA"}, "country_of_purchase", "does not match the pattern"),
    ({"corporate_purchase": None}, "corporate_purchase", "null is not allowed"),
    ({"product_price": float("nan")}, "product_price", "`NaN` is not a finite amount"),
    ({"product_price": True}, "product_price", "expected an amount of money (a number with at most two decimals), got `true`"),
    ({"product_price": [59, 99]}, "product_price", "expected an amount of money (a number with at most two decimals), "
                                                   "got `[59, 99]`"),
    ({"product_price": 59.999}, "product_price", "`59.999` has more than two decimals: an amount of money is a whole "
                                                 "number of cents"),
    ({"product_price": "59.999"}, "product_price", "`59.999` has more than two decimals"),
    ({"product_price": "$59.99"}, "product_price", "expected an amount of money (a number with at most two decimals), "
                                                   "got the text `$59.99`"),
    ({"product_price": "5e1"}, "product_price", "got the text `5e1`"),
    ({"product_price": -0.01}, "product_price", "must be at least 0.00, got `-0.01`"),
    ({"product_price": 10**13}, "product_price", "`10000000000000.00` is beyond the limit of 1e+12"),
    ({"request": {"kind": "return"}}, "request", "expected one of return, warranty_claim, cancel_order, modify_order, "
                                                 "got `{kind: return}`"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_bad_facts_are_refused_naming_the_fact(aqara, changes, subject, words):
    problems = refused(aqara, **changes)
    assert len(problems) == 1
    assert problems[0].subject == subject
    assert words in problems[0].message


def test_typo_gets_a_suggestion(aqara):
    [problem] = refused(aqara, reqest="return")
    assert problem.help == "did you mean `request`?"


def test_every_problem_is_reported(aqara):
    problems = refused(aqara, units_of_product="x", request="retrun", colour="red")
    assert sorted(p.subject for p in problems) == ["colour", "request", "units_of_product"]


def test_null_is_known_and_absent_is_unknown(aqara):
    case = engine.case_from_facts(aqara, {**BASE_FACTS, "shipped_at": None})
    assert case.facts["shipped_at"] is None
    facts = dict(BASE_FACTS)
    del facts["shipped_at"]
    assert "shipped_at" not in engine.case_from_facts(aqara, facts).facts


def test_values_are_typed(aqara):
    case = engine.case_from_facts(aqara, {**BASE_FACTS, "replaced_at": "2026-05-01"})
    assert case.facts["replaced_at"] == dt.date(2026, 5, 1)
    assert case.facts["order_placed_at"] == dt.datetime(2026, 3, 1, 10, tzinfo=dt.timezone.utc)


def test_case_file_problems_carry_line_numbers(aqara, tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text("id: c1\nfacts:\n  request: retrun\n  units_of_product: 2\n  units_of_product: 3\n", encoding="utf-8")
    with pytest.raises(engine.CaseError) as caught:
        engine.load_case(path, aqara)
    [problem] = caught.value.diagnostics
    assert problem.code == "duplicate_key" and problem.location.line == 5 and problem.subject == "units_of_product"
    path.write_text("id: c1\nfacts:\n  request: retrun\n", encoding="utf-8")
    with pytest.raises(engine.CaseError) as caught:
        engine.load_case(path, aqara)
    [problem] = caught.value.diagnostics
    assert problem.one_line().startswith(f"{path}:3:12: request: `retrun` is not one of")


def test_country_code_no_stays_text(aqara, tmp_path):
    # YAML 1.1 would read NO (Norway) as false; Verdict reads scalars the YAML 1.2 way.
    path = tmp_path / "case.yaml"
    path.write_text("facts:\n  country_of_purchase: NO\n", encoding="utf-8")
    assert engine.load_case(path, aqara).facts == {"country_of_purchase": "NO"}


def test_json_case_file(aqara, tmp_path):
    path = tmp_path / "case.json"
    path.write_text('{"id": "j1", "facts": {"request": "return", "units_of_product": 2}}', encoding="utf-8")
    case = engine.load_case(path, aqara)
    assert case.id == "j1" and case.facts == {"request": "return", "units_of_product": 2}
    path.write_text('{"facts": {"request": "return",}}', encoding="utf-8")
    with pytest.raises(engine.CaseError) as caught:
        engine.load_case(path, aqara)
    assert caught.value.diagnostics[0].code in ("json_syntax", "yaml_syntax")


def test_case_without_facts_mapping(aqara, tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text("id: x\nfact:\n  request: return\n", encoding="utf-8")
    with pytest.raises(engine.CaseError) as caught:
        engine.load_case(path, aqara)
    messages = [p.message for p in caught.value.diagnostics]
    assert "unknown key `fact` in the case" in messages
    assert "the case has no `facts` mapping" in messages


def test_case_digest_is_stable(aqara):
    first = engine.case_from_facts(aqara, dict(BASE_FACTS))
    second = engine.case_from_facts(aqara, dict(reversed(list(BASE_FACTS.items()))))
    assert first.digest() == second.digest()


@pytest.mark.parametrize("written", [59.99, "59.99", 59.990, "59.990", Decimal("59.99"), "+59.99"],
                         ids=["number", "text", "trailing-zero", "text-trailing-zero", "decimal", "plus"])
def test_an_amount_of_money_is_read_exactly_as_written(aqara, written):
    case = engine.case_from_facts(aqara, {**BASE_FACTS, "product_price": written, "shipping_paid": 10})
    assert case.facts["product_price"] == Decimal("59.99") and type(case.facts["product_price"]) is Decimal
    assert str(case.facts["product_price"]) == "59.99" and str(case.facts["shipping_paid"]) == "10.00"


def test_a_number_written_with_more_digits_than_a_float_keeps_is_not_rounded_into_an_amount(aqara, tmp_path):
    # As a float, 5.000000000000000001 is 5.0: read as written, it is not whole cents.
    case_file = tmp_path / "case.yaml"
    facts = "\n".join(f"  {name}: {json.dumps(value)}" for name, value in BASE_FACTS.items() if name != "product_price")
    case_file.write_text(f"facts:\n{facts}\n  product_price: 5.000000000000000001\n", encoding="utf-8")
    with pytest.raises(engine.CaseError) as caught:
        engine.load_case(case_file, aqara)
    assert [d.message for d in caught.value.diagnostics] == [
        "`5.000000000000000001` has more than two decimals: an amount of money is a whole number of cents"]
    case_file.write_text(case_file.read_text(encoding="utf-8").replace("5.000000000000000001", "5.000"), encoding="utf-8")
    assert engine.load_case(case_file, aqara).facts["product_price"] == Decimal("5.00")


def test_the_case_digest_of_an_amount_does_not_depend_on_how_it_is_written(aqara):
    # 10, 10.0 and "10.00" are one amount: one digest, the one 0.2.0 gave for `10` (a plain number).
    digests = {engine.case_from_facts(aqara, {**BASE_FACTS, "shipping_paid": written}).digest()
               for written in (10, 10.0, "10.00", "10")}
    assert len(digests) == 1
    plain = {name: value for name, value in BASE_FACTS.items()}
    plain["shipping_paid"] = 10
    canonical = json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert digests == {hashlib.sha256(canonical.encode()).hexdigest()}


# -- the dates and numbers a case may give: every value accepted can be decided (issue 8) -----------

PLUS_14 = dt.timezone(dt.timedelta(hours=14))
MINUS_14 = dt.timezone(-dt.timedelta(hours=14))


@pytest.mark.parametrize("fact, value, message", [
    ("order_placed_at", "0001-01-01T00:00:00+14:00",
     "`0001-01-01T00:00:00+14:00` is before the earliest datetime Verdict handles, 1000-01-01T00:00:00Z"),
    ("order_placed_at", "9999-12-31T23:59:59-14:00",
     "`9999-12-31T23:59:59-14:00` is after the latest datetime Verdict handles, 8999-12-31T23:59:59.999999Z"),
    ("request_at", "9999-12-31T23:59:59Z",
     "`9999-12-31T23:59:59Z` is after the latest datetime Verdict handles, 8999-12-31T23:59:59.999999Z"),
    # The instant counts, not the date written: 9000-01-01 at +14:00 is still 8999 in UTC, but 1000-01-01
    # at +00:01 is 999 in UTC.
    ("request_at", "1000-01-01T00:00:00+00:01",
     "`1000-01-01T00:00:00+00:01` is before the earliest datetime Verdict handles, 1000-01-01T00:00:00Z"),
    ("replaced_at", "0999-12-31", "`0999-12-31` is before the earliest date Verdict handles, 1000-01-01"),
    ("replaced_at", "9000-01-01", "`9000-01-01` is after the latest date Verdict handles, 8999-12-31"),
    # From code that imports the engine, as Python values.
    ("order_placed_at", dt.datetime(1, 1, 1, tzinfo=PLUS_14),
     "`0001-01-01T00:00:00+14:00` is before the earliest datetime Verdict handles, 1000-01-01T00:00:00Z"),
    ("order_placed_at", dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=MINUS_14),
     "`9999-12-31T23:59:59-14:00` is after the latest datetime Verdict handles, 8999-12-31T23:59:59.999999Z"),
    ("replaced_at", dt.date.max, "`9999-12-31` is after the latest date Verdict handles, 8999-12-31"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 30 else None)
def test_dates_beyond_the_engine_range_are_refused_with_their_own_code(aqara, fact, value, message):
    [problem] = refused(aqara, **{fact: value})
    assert (problem.code, problem.subject, problem.message) == ("date_out_of_range", fact, message)


def test_the_range_is_the_documented_constants():
    assert (engine.cases.EARLIEST_DATE, engine.cases.LATEST_DATE) == (dt.date(1000, 1, 1), dt.date(8999, 12, 31))
    assert engine.cases.EARLIEST_DATETIME == dt.datetime(1000, 1, 1, tzinfo=dt.timezone.utc)
    assert engine.cases.LATEST_DATETIME == dt.datetime(8999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone.utc)


EDGES = [
    {"order_placed_at": "1000-01-01T00:00:00Z", "shipped_at": "1000-01-01T00:00:00Z", "delivered_at": "1000-01-01T13:59:59-14:00",
     "request_at": "1000-01-02T00:00:00Z"},
    {"order_placed_at": "9000-01-01T13:59:59+14:00", "shipped_at": "8999-12-31T23:59:59Z", "delivered_at": "8999-12-31T23:59:59Z",
     "request_at": "8999-12-31T23:59:59.999999Z", "replaced_at": "8999-12-31"},
    {"request_at": "8999-12-31T23:59:59Z"},  # a request eight thousand years after the purchase
    {"order_placed_at": "1000-01-01T00:00:00Z"},
]


@pytest.mark.parametrize("changes", EDGES, ids=["earliest", "latest", "late-request", "early-order"])
def test_the_first_and_last_moments_accepted_are_decided_explained_and_rendered(changes):
    policy_set = engine.load(AQARA)
    for country in ("US", "DE"):
        facts = {**BASE_FACTS, "country_of_purchase": country, "product_location_country": country, **changes}
        if changes["order_placed_at" if "order_placed_at" in changes else "request_at"].startswith("1000"):
            with pytest.raises(engine.CaseError, match="the case is dated before every version"):
                engine.evaluate(policy_set, facts)
        as_of = dt.date(2026, 6, 1)  # the versions in force then decide it, whatever its own dates
        decision = engine.evaluate(policy_set, facts, as_of=as_of)
        assert decision.errors == ()
        explanations = engine.explain.explain_in_set(policy_set, decision, as_of=as_of)
        for output_format in ("markdown", "html"):
            assert engine.report.render(engine.report.decision_blocks(decision, decision.made_by, explanations),
                                        output_format)
        # Counterfactuals move dates by the gaps the case shows; none leaves the range.
        for item in explanations:
            for counterfactual in item.counterfactuals:
                for _, _, value in counterfactual.changes:
                    assert not isinstance(value, dt.date) or engine.cases.within_dates(value)


def test_an_integer_of_thousands_of_digits_is_refused_without_being_read(aqara):
    [problem] = refused(aqara, units_of_product=10**5000)
    assert (problem.code, problem.message) == ("fact_value", "a whole number of about 5001 digits is beyond the limit of 1e+12")
    [problem] = refused(aqara, units_of_product=[10**5000])
    assert problem.message == "expected a whole number, got a value of type `list`"
    [problem] = refused(aqara, units_of_product=10**13)
    assert problem.message == "`10000000000000` is beyond the limit of 1e+12"


def test_digits_typed_past_the_limit_are_counted_not_read(aqara):
    case = engine.Case("c", {})
    with pytest.raises(engine.CaseError) as caught:
        engine.apply_fact_texts(case, ["units_of_product=" + "9" * 5000], aqara)
    [problem] = caught.value.diagnostics
    assert problem.code == "fact_value" and problem.subject == "units_of_product"
    assert problem.message == "a whole number of 5000 digits is beyond the limit of 1e+12"
    with pytest.raises(engine.CaseError) as caught:  # leading zeros are no digits of the value: read, it is -7
        engine.apply_fact_texts(case, ["units_of_product=-" + "0" * 5000 + "7"], aqara)
    assert caught.value.diagnostics[0].message == "must be at least 1, got `-7`"
    assert engine.apply_fact_texts(case, ["units_of_product=" + "0" * 5000 + "7"], aqara).facts == {"units_of_product": 7}
    number = engine.model.Fact("amount", "number", "A number.", engine.SourceLocation("test"))
    assert engine.coerce_text(number, "1" + "0" * 5000) == (None, "a whole number of 5001 digits is beyond the limit of 1e+12")
    assert engine.coerce_text(number, "1" + "0" * 12) == (10**12, None)
    assert engine.coerce_text(number, "1" + "0" * 5000 + ".5") == (None, "expected a finite number, got `Infinity`")


@pytest.mark.parametrize("facts, message", [
    (None, "the facts must be a mapping of fact names to values, not null"),
    ([("request", "return")], "the facts must be a mapping of fact names to values, not a `list`"),
    ("request=return", "the facts must be a mapping of fact names to values, not text"),
    ({1: "return"}, "a fact name must be text, not an `int` (`1`)"),
], ids=["none", "list", "text", "int-key"])
def test_facts_that_are_no_mapping_are_refused(aqara, facts, message):
    with pytest.raises(engine.CaseError) as caught:
        engine.case_from_facts(aqara, facts)
    [problem] = caught.value.diagnostics
    where = "case.facts.1" if isinstance(facts, dict) else "case.facts"  # a bad name is placed at itself
    assert (problem.code, problem.message, str(problem.location)) == ("case_shape", message, where)
    with pytest.raises(engine.CaseError) as caught:
        engine.evaluate(engine.load(AQARA), facts)
    assert [p.message for p in caught.value.diagnostics] == [message]


def test_a_case_id_that_is_no_text_is_refused(aqara):
    with pytest.raises(engine.CaseError) as caught:
        engine.case_from_facts(aqara, BASE_FACTS, None)
    [problem] = caught.value.diagnostics
    assert (problem.code, problem.message, str(problem.location)) == ("case_shape", "the case id must be text, not null", "case.id")

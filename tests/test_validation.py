"""Validation of policies: each mistake introduced into a copy gives one clear line with file and line."""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from conftest import ATOMS, CONDITION_DERIVED, CONDITION_FACTS, CONDITION_PARAMETERS, REPO, condition_strategy, tiny_clause
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine import conflicts
from engine.analysis import ConditionAnalyzer

sys.path.insert(0, str(REPO / "bench"))
import synthetic  # noqa: E402

LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<subject>[^:]+): (?P<message>.+)$")


def only_problem(copy, code: str):
    problems = copy.problems()
    assert [p.code for p in problems] == [code], [p.one_line() for p in problems]
    problem = problems[0]
    text = problem.one_line()
    assert "\n" not in text
    match = LINE.match(text)
    assert match, text
    assert match["file"].endswith("policy.yaml")
    return problem


def test_bundled_policy_is_valid(aqara):
    assert aqara.id == "aqara-returns"
    assert len(aqara.clauses) >= 25


def test_duplicate_key_is_an_error_at_the_second_key(policy_copy):
    policy_copy.replace("    title: Cancellation within 12 hours of ordering\n",
                        "    title: Cancellation within 12 hours of ordering\n    title: A second title\n")
    problem = only_problem(policy_copy, "duplicate_key")
    assert problem.subject == "cancel-within-12h"
    assert problem.location.line == policy_copy.line_of("title: A second title")
    assert problem.location.column == 5
    assert "duplicate key `title`" in problem.message


def test_unknown_fact_in_an_expression_names_it_and_suggests(policy_copy):
    policy_copy.replace("when: request == 'cancel_order' and hours_since_order <= cancellation_window_hours",
                        "when: requets == 'cancel_order' and hours_since_order <= cancellation_window_hours")
    problem = only_problem(policy_copy, "unknown_name")
    assert problem.subject == "cancel-within-12h"
    assert problem.location.line == policy_copy.line_of("requets ==")
    assert problem.location.column == policy_copy.text.splitlines()[problem.location.line - 1].index("requets") + 1
    assert "`requets`" in problem.message and problem.help == "did you mean `request`?"


def test_misspelled_enum_literal(policy_copy):
    policy_copy.replace("when: sales_channel == 'other_retailer'", "when: sales_channel == 'other_retailr'")
    problem = only_problem(policy_copy, "literal_type")
    assert problem.subject == "retailer-referral"
    assert "`'other_retailr'` is not a value of `sales_channel`" in problem.message
    assert problem.help == "did you mean `other_retailer`?"
    assert problem.location.line == policy_copy.line_of("other_retailr")


def test_misspelled_literal_in_a_list(policy_copy):
    policy_copy.replace("request in ['cancel_order', 'modify_order'] and shipped_at", "request in ['cancel_order', 'modfy_order'] and shipped_at")
    problem = only_problem(policy_copy, "literal_type")
    assert "`'modfy_order'`" in problem.message and problem.help == "did you mean `modify_order`?"


def test_expression_that_does_not_parse(policy_copy):
    policy_copy.replace("when: request == 'modify_order' and hours_since_order <= cancellation_window_hours",
                        "when: request == 'modify_order' and and hours_since_order <= cancellation_window_hours")
    problem = only_problem(policy_copy, "expr_syntax")
    assert problem.subject == "modify-within-12h"
    assert problem.location.line == policy_copy.line_of("and and")


def test_quote_not_in_the_source(policy_copy):
    policy_copy.replace("quote: If 30 days have passed since your purchase, we cannot offer a refund or exchange.",
                        "quote: If 30 days have passed since your purchase, we cannot offer a refund.")
    problem = only_problem(policy_copy, "quote_not_found")
    assert problem.subject == "no-refund-after-30-days"
    assert problem.location.line == policy_copy.line_of("we cannot offer a refund.")
    assert "we cannot offer a refund or exchange." in problem.help


def test_conflict_without_precedence_names_both_clauses(policy_copy):
    policy_copy.replace("    overrides: [money-back-guarantee]\n\n  - id: no-refund-after-30-days",
                        "\n  - id: no-refund-after-30-days")
    problem = only_problem(policy_copy, "conflict")
    assert "`money-back-guarantee`" in problem.message and "`bulk-or-corporate-may-refuse`" in problem.message
    assert "eligibility" in problem.message
    assert problem.help.startswith("add `overrides: [money-back-guarantee]`")
    assert problem.location.line == policy_copy.line_of("- id: bulk-or-corporate-may-refuse")


def test_exclusive_conditions_need_no_precedence(policy_copy):
    # cancel-within-12h and cancel-after-12h set eligibility differently but can never both apply.
    assert policy_copy.problems() == []


def test_all_errors_are_reported_at_once(policy_copy):
    policy_copy.replace("when: sales_channel == 'other_retailer'", "when: sales_channel == 'other_retailr'")
    policy_copy.replace("quote: Items must include original packaging;", "quote: Items must include the original packaging;")
    policy_copy.replace("units_of_product > bulk_order_units", "units_of_products > bulk_order_units")
    codes = sorted(p.code for p in policy_copy.problems())
    assert codes == ["literal_type", "quote_not_found", "unknown_name"]


def test_schema_errors_point_at_the_key(policy_copy):
    policy_copy.replace("    title: Bought from another retailer\n", "    title: Bought from another retailer\n    whne: true\n")
    problem = only_problem(policy_copy, "schema")
    assert "unknown key `whne`" in problem.message and problem.help == "did you mean `when`?"
    assert problem.subject == "retailer-referral"
    assert problem.location.line == policy_copy.line_of("whne: true")


def test_output_set_to_an_undeclared_value(policy_copy):
    policy_copy.replace("      eligibility: refer_to_retailer\n", "      eligibility: refer_to_reseller\n")
    problem = only_problem(policy_copy, "output_value")
    assert "`refer_to_reseller` is not a value of `eligibility`" in problem.message
    assert problem.help == "did you mean `refer_to_retailer`?"


@pytest.mark.parametrize("old, new, message, help_text", [
    ("refund_amount: {expression: product_price}", "refund_amount: product_price",
     "`refund_amount` is an amount of money (a number with at most two decimals), not `product_price`",
     "to compute it, write `{expression: product_price}`"),
    ("warranty_ends_on: {expression: warranty_end}", "warranty_ends_on: 2026-02-30",
     "`2026-02-30` is not a real date", ""),
    ("warranty_ends_on: {expression: warranty_end}", "warranty_ends_on: 20260230",
     "`warranty_ends_on` is a date (YYYY-MM-DD), not `20260230`", ""),
], ids=["expression-without-its-key", "unreal-date", "number-for-a-date"])
def test_output_literal_of_the_wrong_type(policy_copy, old, new, message, help_text):
    policy_copy.replace(old, new)
    problem = only_problem(policy_copy, "output_value")
    assert (problem.message, problem.help) == (message, help_text)


def test_duplicate_clause_id(policy_copy):
    policy_copy.replace("  - id: procedure-return-address\n", "  - id: procedure-contact-support\n")
    problem = only_problem(policy_copy, "duplicate_clause")
    second = policy_copy.text.index("  - id: procedure-contact-support", policy_copy.text.index("  - id: procedure-contact-support") + 1)
    assert problem.location.line == policy_copy.text[:second].count("\n") + 1
    assert "duplicate clause id `procedure-contact-support`" in problem.message


def test_function_not_allowed(policy_copy):
    policy_copy.replace("expression: hours_between(order_placed_at, request_at)", "expression: hours_betwen(order_placed_at, request_at)")
    problem = only_problem(policy_copy, "unknown_function")
    assert problem.help == "did you mean `hours_between`?"


def test_python_features_outside_the_whitelist(policy_copy):
    policy_copy.replace("expression: units_of_product > bulk_order_units", "expression: units_of_product.__class__ > bulk_order_units")
    problem = only_problem(policy_copy, "expr_not_allowed")
    assert "attribute access" in problem.message


def test_override_of_an_unknown_clause(policy_copy):
    policy_copy.replace("overrides: [cancel-after-12h]", "overrides: [cancel-after-12hours]")
    problem = only_problem(policy_copy, "unknown_clause")
    assert problem.subject == "courier-refusal-succeeded" and problem.help == "did you mean `cancel-after-12h`?"


def test_override_cycle(policy_copy):
    policy_copy.replace("  - id: money-back-guarantee\n", "  - id: money-back-guarantee\n    overrides: [bulk-or-corporate-may-refuse]\n")
    problem = only_problem(policy_copy, "override_cycle")
    assert "`money-back-guarantee`" in problem.message and "`bulk-or-corporate-may-refuse`" in problem.message


def test_sentence_neither_encoded_nor_informational(policy_copy):
    policy_copy.replace("  - quote: Our warehouse processes returns every two weeks.\n"
                        "    reason: a service-time expectation, not a condition of any decision\n", "")
    problem = only_problem(policy_copy, "sentence_not_covered")
    assert "Our warehouse processes returns every two weeks." in problem.message
    assert problem.message.startswith("sentence 46:124 of the source")


def test_changed_source_text_is_detected(policy_copy):
    source = policy_copy.folder / "aqara-return-refund-policy.txt"
    source.write_text(source.read_text(encoding="utf-8").replace("two weeks", "three weeks"), encoding="utf-8")
    codes = [p.code for p in policy_copy.problems()]
    assert "source_changed" in codes and "quote_not_found" in codes


def test_derived_cycle(policy_copy):
    policy_copy.replace("expression: units_of_product > bulk_order_units", "expression: is_bulk_order and units_of_product > bulk_order_units")
    problem = only_problem(policy_copy, "derived_cycle")
    assert "`is_bulk_order`" in problem.message


def test_enum_compared_with_a_number(policy_copy):
    policy_copy.replace("when: sales_channel == 'other_retailer'", "when: sales_channel == 3")
    problem = only_problem(policy_copy, "literal_type")
    assert "`3` is not a value of `sales_channel`" in problem.message


def test_yaml_syntax_error_has_a_location(policy_copy):
    policy_copy.replace("  - id: retailer-referral\n", "  - id: [retailer-referral\n")
    problems = policy_copy.problems()
    assert [p.code for p in problems] == ["yaml_syntax"]
    assert problems[0].location.line > 1


def test_validate_reports_a_missing_policy_file(tmp_path):
    policy, problems = engine.load_policy(tmp_path / "nothing.yaml")
    assert policy is None and [p.code for p in problems] == ["file_not_found"]


def test_nullable_boolean_is_three_valued_in_the_conflict_check(tiny_policy):
    from conftest import tiny_clause

    policy, problems = tiny_policy(
        "flag: {type: bool, nullable: true, description: A flag that may be null.}",
        "out: {type: enum, values: [a, b], nullable: true, default: null, description: The outcome.}",
        tiny_clause("when-null", "flag == None", "{out: a}") + tiny_clause("when-not", "not flag", "{out: b}"))
    assert [p.code for p in problems] == ["conflict"]


def test_list_output_compared_with_text(tiny_policy):
    from conftest import tiny_clause

    policy, problems = tiny_policy(
        "f: {type: bool, description: A flag.}",
        "items: {type: list, values: [x, y], description: Items.}\n"
        "out: {type: enum, values: [one, other], default: other, description: The outcome.}",
        tiny_clause("c1", "f", "{items: [x]}") + tiny_clause("c2", "items == 'x'", "{out: one}"))
    [problem] = problems
    assert problem.message == "`items` is a list, so it never equals `'x'`" and problem.help == "write `'x' in items`"


def test_list_outputs_are_read_as_lists(tiny_policy):
    from conftest import tiny_clause

    policy, problems = tiny_policy(
        "f: {type: bool, description: A flag.}",
        "items: {type: list, values: [x, y], description: Items.}\n"
        "out: {type: enum, values: [one, other], default: other, description: The outcome.}",
        tiny_clause("c1", "f", "{items: [x]}") + tiny_clause("c2", "items == ['x']", "{out: one}"))
    assert problems == []
    decision = engine.decide(policy, engine.case_from_facts(policy, {"f": True}))
    assert decision.outputs["out"].value == "one"


@pytest.mark.parametrize("old, new, words", [
    ("    value: 10\n    unit: units", "    value: \"10\"\n    unit: units", "cannot order a number against text"),
    ("warranty_ends_on: {expression: warranty_end}", "warranty_ends_on: {expression: product_price}",
     "`warranty_ends_on` must be a date or null, not an amount of money"),
    ("expression: days_between(order_placed_at, request_at)", "expression: days_between(product_price, request_at)",
     "argument 1 of `days_between` must be a date or a datetime, not an amount of money"),
    ("when: quality_claim and previously_fully_refunded", "when: product_price",
     "the condition must be true/false, not an amount of money"),
    ("expression: utc_date(request_at) <= warranty_end", "expression: request_at <= warranty_end",
     "cannot order a datetime against a date"),
    ("warranty_ends_on: {expression: warranty_end}", "warranty_ends_on: {expression: 'max(warranty_end, product_price)'}",
     "`max` cannot compare a date with an amount of money"),
], ids=["parameter-text", "output-type", "function-argument", "condition-not-bool", "date-vs-datetime", "max-of-mixed-kinds"])
def test_type_errors(policy_copy, old, new, words):
    policy_copy.replace(old, new)
    problem = only_problem(policy_copy, "type_error")
    assert words in problem.message


_AMOUNT_HELP = ("a number written in the expression next to an amount is an amount (`price + 5.00`); "
                "to mix in a count, multiply: `daily_fine * days_late`")


@pytest.mark.parametrize("old, new, message, help_text", [
    ("refund_amount: {expression: usage_partial_refund}", "refund_amount: {expression: product_price + units_of_product}",
     "`+` cannot add a plain number to an amount of money", _AMOUNT_HELP),
    ("refund_amount: {expression: usage_partial_refund}", "refund_amount: {expression: product_price - money_back_days}",
     "`-` cannot subtract a plain number and an amount of money", _AMOUNT_HELP),
    ("when: quality_claim and previously_fully_refunded", "when: product_price > money_back_days",
     "cannot compare an amount of money with a number", "compare amounts with amounts: " + _AMOUNT_HELP),
    ("when: quality_claim and previously_fully_refunded", "when: product_price in [5, money_back_days]",
     "cannot compare an amount of money with a number", "compare amounts with amounts: " + _AMOUNT_HELP),
    ("refund_amount: {expression: usage_partial_refund}", "refund_amount: {expression: product_price * shipping_paid}",
     "`*` cannot multiply two amounts of money", "multiply an amount by a number: `price * 0.5`, `daily_fine * days_late`"),
    ("refund_amount: {expression: usage_partial_refund}", "refund_amount: {expression: money_back_days / product_price}",
     "`/` cannot divide a number by an amount of money",
     "divide an amount by a number (`price / 2`), or by an amount for a ratio"),
    ("refund_amount: {expression: usage_partial_refund}", "refund_amount: {expression: product_price // 2}",
     "`//` does not take amounts of money", "round with `round_money`, or share out with `prorate`"),
    ("refund_amount: {expression: usage_partial_refund}", "refund_amount: {expression: units_of_product * 2}",
     "`refund_amount` must be an amount of money or null, not a number",
     "an amount times a number is one: `daily_fine * days_late`"),
    ("refund_amount: {expression: usage_partial_refund}",
     "refund_amount: {expression: 'product_price if is_bulk_order else units_of_product'}",
     "one branch of `if` gives an amount of money and the other a plain number", _AMOUNT_HELP),
    ("refund_amount: {expression: usage_partial_refund}", "refund_amount: {expression: 'round(product_price, 2)'}",
     "argument 1 of `round` must be a number, not an amount of money",
     "for an amount of money, use `round_money`, `prorate` or the operators"),
    ("expression: utc_date(request_at) <= warranty_end", "expression: year(request_at) <= year(warranty_end)",
     "argument 1 of `year` must be a date, not a datetime",
     "take the datetime's date first: `utc_date(...)` (in UTC) or `local_date(...)` (in its own time zone)"),
    ("expression: utc_date(request_at) <= warranty_end", "expression: weekday(units_of_product) == 7",
     "argument 1 of `weekday` must be a date, not a number", ""),
    ("expression: utc_date(request_at) <= warranty_end", "expression: utc_date(request_at) <= date(2026, 2)",
     "`date` takes 1 or 3 argument(s), not 2", ""),
    ("expression: utc_date(request_at) <= warranty_end", "expression: utc_date(request_at) <= date(2026, 'x', 1)",
     "argument 2 of `date` must be a number, not text", ""),
    ("expression: utc_date(request_at) <= warranty_end", "expression: utc_date(request_at) <= date(request_at)",
     "argument 1 of `date` must be text, not a datetime", ""),
], ids=["add-a-count", "subtract-a-count", "compare-with-a-count", "in-a-list-of-counts", "amount-times-amount", "number-over-amount",
        "floor-division", "money-output-from-a-count", "if-mixes-them", "binary-round", "year-of-a-datetime",
        "weekday-of-a-number", "date-of-two", "date-of-text-parts", "date-of-a-datetime"])
def test_money_and_calendar_type_errors(policy_copy, old, new, message, help_text):
    # Amounts and plain numbers are kept apart where mixing them is a mistake; calendar functions
    # take dates, not datetimes.
    policy_copy.replace(old, new)
    problem = only_problem(policy_copy, "type_error")
    assert (problem.message, problem.help) == (message, help_text)


@pytest.mark.parametrize("old, new", [
    ("refund_amount: {expression: usage_partial_refund}", "refund_amount: {expression: product_price + 5.00}"),
    ("refund_amount: {expression: usage_partial_refund}", "refund_amount: {expression: 'max(product_price - 3.05, 0)'}"),
    ("refund_amount: {expression: usage_partial_refund}", "refund_amount: {expression: 'product_price if is_bulk_order else 0'}"),
    ("refund_amount: {expression: usage_partial_refund}", "refund_amount: {expression: product_price * 0.5 / units_of_product}"),
    ("refund_amount: {expression: usage_partial_refund}", "refund_amount: {expression: '0'}"),
    ("refund_amount: {expression: usage_partial_refund}",
     "refund_amount: {expression: 'usage_partial_refund if product_price > 5 and product_price in [10, 20.5] else 0'}"),
    ("refund_amount: {expression: usage_partial_refund}",
     "refund_amount: {expression: 'usage_partial_refund if shipping_paid / product_price > 0.1 else product_price'}"),
    ("expression: utc_date(request_at) <= warranty_end",
     "expression: utc_date(request_at) <= date(year(warranty_end), month(warranty_end), day(warranty_end))"),
], ids=["plus-a-written-number", "max-of-written-numbers", "if-else-zero", "amount-times-number", "zero",
        "compare-with-written-numbers", "ratio-of-amounts", "calendar-round-trip"])
def test_amounts_with_the_numbers_written_beside_them_are_valid(policy_copy, old, new):
    policy_copy.replace(old, new)
    assert policy_copy.problems() == []


def test_columns_count_characters_not_bytes(policy_copy):
    policy_copy.replace("when: sales_channel == 'other_retailer'", "when: country_of_purchase != '€€' and sales_chanel == 'other_retailer'")
    problem = only_problem(policy_copy, "unknown_name")
    line = policy_copy.text.splitlines()[problem.location.line - 1]
    assert problem.location.column == line.index("sales_chanel") + 1


def test_locations_inside_folded_conditions(policy_copy):
    policy_copy.replace("and not product_damaged and not corporate_purchase and not is_bulk_order",
                        "and not product_damaged and not corporate_purchas and not is_bulk_order")
    problem = only_problem(policy_copy, "unknown_name")
    line = policy_copy.text.splitlines()[problem.location.line - 1]
    assert "corporate_purchas and" in line
    assert problem.location.column == line.index("corporate_purchas") + 1


def test_overrides_written_as_text(policy_copy):
    policy_copy.replace("    overrides: [cancel-after-12h]", "    overrides: cancel-after-12h")
    problem = only_problem(policy_copy, "schema")
    assert "a list of clause ids such as `[money-back-guarantee]`, or `all`" in problem.message


def test_misspelled_expression_key(policy_copy):
    policy_copy.replace("refund_amount: {expression: usage_partial_refund}", "refund_amount: {expresion: usage_partial_refund}")
    problem = only_problem(policy_copy, "schema")
    assert "unknown key `expresion`" in problem.message and problem.help == "did you mean `expression`?"


def test_overrides_list_naming_all_is_an_error(policy_copy):
    policy_copy.replace("    overrides: [cancel-after-12h]", "    overrides: [all]")
    problem = only_problem(policy_copy, "override_all")
    assert problem.subject == "courier-refusal-succeeded"


# -- the conflict check's analysis: grouped, against the pairwise reference --------------------------

def analysed(folder: Path) -> list:
    """What loading reports; for a policy that loads, the pairs the analysis leaves to the solver
    (engine/conflicts.py's first pass) as (output, first clause, second clause), policy by policy."""
    policy_set, problems = engine.load_policy_set(folder)
    if policy_set is None:
        return problems
    return [c.key for policy in policy_set.compiled for c in conflicts.candidates(policy)]


def load_synthetic(text: str) -> list:
    with tempfile.TemporaryDirectory() as folder:
        return analysed(synthetic.write_policy(Path(folder), text))


def problems_both_ways(text: str) -> tuple[list, list]:
    """The pairs a policy's analysis leaves open, and those left with every pair sent to `exclusive`."""
    with tempfile.TemporaryDirectory() as folder:
        synthetic.write_policy(Path(folder), text)
        return problems_of_folder_both_ways(Path(folder))


def problems_of_folder_both_ways(folder: Path) -> tuple[list, list]:
    grouped = analysed(folder)
    with mock.patch.object(ConditionAnalyzer, "unseparated_pairs", staticmethod(ConditionAnalyzer.every_pair)):
        pairwise = analysed(folder)
    return grouped, pairwise


def conditions_policy(clauses: list[dict]) -> str:
    outputs = {"out": {"type": "enum", "values": ["v0", "v1", "v2"], "default": "v0", "description": "The outcome."},
               "n": {"type": "number", "default": 0, "description": "A number."}}
    return synthetic.policy_text(CONDITION_FACTS, outputs, clauses, CONDITION_PARAMETERS, CONDITION_DERIVED)


@st.composite
def clause_lists(draw) -> list[dict]:
    count = draw(st.integers(1, 12))
    winner_of_all = draw(st.one_of(st.none(), st.integers(0, count - 1)))
    clauses = []
    for i in range(count):
        then = {"out": draw(st.sampled_from(["v0", "v1", "v2"]))}
        if draw(st.booleans()):
            then["n"] = draw(st.sampled_from([0, 1, 2.5]))
        clause = {"id": f"c{i}", "when": draw(condition_strategy()), "then": then}
        if i == winner_of_all:
            clause["overrides"] = "all"
        elif i and draw(st.integers(0, 3)) == 0:  # earlier clauses only: no cycles
            clause["overrides"] = sorted(set(draw(st.lists(st.sampled_from([f"c{j}" for j in range(i)]), min_size=1, max_size=2))))
        clauses.append(clause)
    return clauses


@settings(max_examples=150, deadline=None)
@given(clause_lists())
def test_grouped_conflict_check_reports_what_the_pairwise_one_does(clauses):
    grouped, pairwise = problems_both_ways(conditions_policy(clauses))
    assert grouped == pairwise


def test_grouped_conflict_check_on_a_policy_with_conflicts_of_every_kind():
    # Ranges touching at 5, enum sets, a nullable boolean, a parameter bound, a derived value and
    # a condition with no usable atom; some pairs apart, some in conflict, one settled by `overrides`.
    whens = ["x <= 5", "x >= 5", "x > 5 and k == 'a'", "k in ['b', 'c']", "k != 'a'", "nb == True", "nb == None",
             "not nb", "x < lo", "big", "(x > 1) or flag", "abs(x) > 3"]
    clauses = [{"id": f"c{i}", "when": when, "then": {"out": f"v{i % 3}"}} for i, when in enumerate(whens)]
    clauses[7]["overrides"] = ["c5"]
    grouped, pairwise = problems_both_ways(conditions_policy(clauses))
    assert grouped == pairwise
    pairs = [(second, first) for output, first, second in grouped if output == "out"]
    assert len(pairs) == len(grouped) and ("c6", "c0") not in pairs
    assert pairs == sorted(pairs, key=lambda pair: (int(pair[1][1:]), int(pair[0][1:])))
    assert ("c1", "c0") in pairs and ("c2", "c1") in pairs and ("c7", "c6") in pairs


def test_grouped_conflict_check_on_the_bundled_policy_without_its_overrides(policy_copy):
    policy_copy.file.write_text(re.sub(r"\n    overrides:(?: .*|(?:\n      - .*)+)", "", policy_copy.text), encoding="utf-8")
    grouped, pairwise = problems_of_folder_both_ways(policy_copy.folder)
    assert len(grouped) > 20 and all(isinstance(pair, tuple) for pair in grouped)
    assert grouped == pairwise


def test_the_vocabulary_of_conditions_compiles():
    # Each atom must compile, or the property tests above would only compare compile errors.
    clauses = [{"id": f"c{i}", "when": atom, "then": {"out": "v0"}} for i, atom in enumerate(ATOMS)]
    assert load_synthetic(conditions_policy(clauses)) == []


def count_exclusive_calls(monkeypatch, text: str) -> int:
    calls = []
    original = ConditionAnalyzer.exclusive
    monkeypatch.setattr(ConditionAnalyzer, "exclusive", lambda self, a, b: calls.append(1) or original(self, a, b))
    load_synthetic(text)
    return len(calls)


@pytest.mark.parametrize("by_kind", [False, True], ids=["ranges", "kind-and-ranges"])
def test_disjoint_clauses_need_no_pairwise_proof(monkeypatch, by_kind):
    # Counted, not timed: the pairwise check asked `exclusive` 499,500 times here.
    assert count_exclusive_calls(monkeypatch, synthetic.threshold_policy(1000, by_kind=by_kind)) == 0


def test_a_clause_the_grouping_cannot_read_costs_one_proof_per_other_clause(monkeypatch):
    clauses = synthetic.threshold_clauses(1000) + [{"id": "outside", "when": "x < 0 or x >= 100000", "then": {"out": "none"}}]
    facts = {"x": {"type": "number", "description": "A number."}}
    outputs = {"out": {"type": "enum", "values": [f"v{i}" for i in range(1000)] + ["none"], "default": "none",
                       "description": "The outcome."}}
    assert count_exclusive_calls(monkeypatch, synthetic.policy_text(facts, outputs, clauses)) == 1000


# -- cycles: a work list, against the recursive walk it replaced -------------------------------------

def recursive_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """The walk `_cycles` did before it became a work list: the reference for `_cycles_in`."""
    state: dict[str, int] = {}
    reported: set[frozenset] = set()
    found = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                cycle = trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    found.append(cycle)
            elif state.get(nxt) is None:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])
    return found


NODE = st.sampled_from("abcdefgh")


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(NODE, st.lists(NODE, max_size=4), max_size=8))
def test_cycles_are_found_as_the_recursive_walk_found_them(graph):
    from engine.compiler import _cycles_in

    assert _cycles_in(graph) == recursive_cycles(graph)


def test_a_chain_of_overrides_longer_than_the_python_stack_loads():
    # Each clause overrides the next one, so the walk goes 1,500 deep (Python's stack holds about
    # 1,000 calls); then the last one closes a cycle through all of them.
    facts = {"x": {"type": "number", "description": "A number."}}
    outputs = {"out": {"type": "number", "default": 0, "description": "The outcome."}}
    clauses = synthetic.threshold_clauses(1500, output="number")
    for clause, next_one in zip(clauses, clauses[1:]):
        clause["overrides"] = [next_one["id"]]
    assert load_synthetic(synthetic.policy_text(facts, outputs, clauses)) == []
    clauses[-1]["overrides"] = ["c0"]
    problems = load_synthetic(synthetic.policy_text(facts, outputs, clauses))
    assert [p.code for p in problems] == ["override_cycle"]
    assert problems[0].message == "clauses form a cycle: " + " → ".join(f"`c{i}`" for i in [*range(1500), 0])


# -- sentence coverage: bisected, against the scan of every span it replaced -------------------------

@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(1, 8)), max_size=8),
       st.lists(st.tuples(st.integers(0, 40), st.integers(0, 8)), max_size=8))
def test_uncovered_sentences_are_those_no_quote_overlaps(sentence_spans, quote_spans):
    from engine.compiler import _uncovered
    from engine.sourcetext import Sentence

    sentences = [Sentence("s", start, start + length, 1, start + 1) for start, length in sorted(sentence_spans)]
    spans = [(start, start + length) for start, length in quote_spans]
    expected = [s for s in sentences if not any(start < s.end and s.start < end for start, end in spans)]
    assert _uncovered(sentences, spans) == expected


def test_a_long_source_quoted_sentence_by_sentence_is_covered_but_for_one():
    facts = {"x": {"type": "number", "description": "A number."}}
    outputs = {"out": {"type": "number", "default": -1, "description": "The outcome."}}
    clauses = synthetic.threshold_clauses(300, output="number")
    for i, clause in enumerate(clauses):
        clause["source"] = {"section": "s", "quote": f"Rule number {i} applies here."}
    sentences = [f"Rule number {i} applies here." for i in range(300)]
    source = "\n".join(sentences[:150] + ["Nobody quotes this one."] + sentences[150:]) + "\n"
    with tempfile.TemporaryDirectory() as folder:
        synthetic.write_policy(Path(folder), synthetic.policy_text(facts, outputs, clauses, source=source), source)
        problems = engine.load_policy(Path(folder))[1]
    assert [p.message for p in problems] == [
        "sentence 151:1 of the source is neither encoded nor informational: `Nobody quotes this one.`"]


def test_a_list_given_to_an_enum_output_is_not_one_of_its_values(tiny_policy):
    from conftest import tiny_clause

    policy, problems = tiny_policy(
        "n: {type: int, description: A count.}",
        "out: {type: enum, values: [a, b], default: b, description: The outcome.}",
        tiny_clause("c1", "n > 1", "{out: [a]}"))
    assert [(p.code, p.message) for p in problems] == [("output_value", "`['a']` is not a value of `out`")]


def test_a_missing_closing_quote_is_reported_on_its_own_line(policy_copy, tmp_path):
    # The parser stops at the next quote, 13 lines later, with "did not find expected key": the
    # diagnostic names the line where the quoted value starts, and how to close it.
    policy_copy.replace("quote: within 30 days of purchase", 'quote: "within 30 days of purchase')
    [problem] = policy_copy.problems()
    line = policy_copy.line_of('quote: "within 30 days of purchase')
    assert (problem.code, problem.location.line, problem.location.column) == ("yaml_syntax", line, 14)
    next_quote = policy_copy.line_of('("as specified in our warranty policy")')
    assert problem.message == ('the double-quoted value that starts here has no closing `"` on this line: YAML reads on '
                               f'to the next `"`, on line {next_quote}')
    assert next_quote - line == 13
    assert problem.help == 'end the value with `"` on this line; inside double quotes, write a quote as `\\"`'


def test_two_clauses_giving_one_amount_written_two_ways_agree_and_different_amounts_are_named(tiny_policy):
    facts = "a: {type: bool, description: Fact a.}\nb: {type: bool, description: Fact b.}"
    outputs = "fee: {type: money, default: 0, description: The fee.}"
    policy, problems = tiny_policy(facts, outputs, tiny_clause("c1", "a", "{fee: 5}")
                                   + tiny_clause("c2", "b", "{fee: {expression: '5.00'}}"))
    assert problems == []  # 5 and 5.00 are one amount: no conflict to resolve
    _, problems = tiny_policy(facts, outputs, tiny_clause("c1", "a", "{fee: 5}") + tiny_clause("c2", "b", "{fee: 5.01}"))
    assert [p.message for p in problems] == [
        "clauses `c1` and `c2` can apply to the same case and set `fee` to different values (5.00 and 5.01) with no "
        "declared precedence"]

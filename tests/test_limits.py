"""Every limit the README's "Limits and safety" section documents, at its boundary: the largest input
within it is accepted, one step past it is refused with its own code, at the place it concerns.

Also the order of diagnostics (style rule 7: sorted by file, line, column), which no other test
would notice missing.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import json
import random

import pytest
from click.testing import CliRunner

import cli
import engine
from conftest import BASE_FACTS
from engine import batch, cases, expressions, loader
from engine.errors import Diagnostic, SourceLocation


def _parts(text: str) -> int:
    return sum(1 for _ in ast.walk(ast.parse(text, mode="eval")))


def _codes(text: str) -> list[str]:
    compiled, problems = expressions.compile_expression(text)
    assert (compiled is None) == bool(problems)
    return [p.code for p in problems]


# -- expressions --------------------------------------------------------------------------------------


def test_the_limits_are_the_documented_ones():
    # README, "Limits and safety": expressions over 2,000 characters, 400 parts or 40 levels of
    # nesting (text literals over 1,000 characters), files over 5 MiB, nesting deeper than 64, text
    # facts over 500 characters, numbers beyond 10^12.
    assert expressions.MAX_EXPRESSION_LENGTH == 2000 and expressions.MAX_EXPRESSION_NODES == 400
    assert expressions.MAX_EXPRESSION_DEPTH == 40 and expressions.MAX_STRING_LITERAL == 1000
    assert loader.MAX_DOCUMENT_BYTES == 5 * 1024 * 1024 and loader.MAX_NESTING_DEPTH == 64
    assert cases.MAX_TEXT_LENGTH == 500 and cases.MAX_NUMBER == 10**12


def test_an_expression_of_2000_characters_is_read_and_one_of_2001_is_refused():
    at_limit = "a + " * 20 + "a" + " " * (2000 - len("a + " * 20 + "a"))
    assert len(at_limit) == 2000 and _codes(at_limit) == []
    assert _codes(at_limit + "b") == ["expr_too_long"]


def test_an_expression_of_400_parts_is_read_and_one_of_401_is_refused():
    at_limit = "[" + ", ".join(["1"] * 397) + "]"  # the expression, the list, its context and 397 numbers
    assert _parts(at_limit) == 400 and _codes(at_limit) == []
    over = "[" + ", ".join(["1"] * 398) + "]"
    assert _parts(over) == 401 and _codes(over) == ["expr_too_large"]
    compiled, [problem] = expressions.compile_expression(over)
    assert problem.message == "expression has more than 400 parts"


def test_an_expression_nested_40_deep_is_read_and_41_deep_is_refused():
    # The expression is level 0; each call one level more, and its argument one more: 39 nested
    # calls put the innermost name at level 40.
    def nested(calls: int) -> str:
        return "abs(" * calls + "a" + ")" * calls

    assert _codes(nested(39)) == []
    assert _codes(nested(40)) == ["expr_too_deep"]
    compiled, [problem] = expressions.compile_expression("1 + " + nested(40))
    assert problem.message == "expression nests deeper than 40" and problem.offset == 4 + 4 * 39  # the 40th call, one level below the `+`


def test_a_text_literal_of_1000_characters_is_read_and_one_of_1001_is_refused():
    assert _codes("a == '" + "x" * 1000 + "'") == []
    compiled, [problem] = expressions.compile_expression("a == '" + "x" * 1001 + "'")
    assert (problem.code, problem.message, problem.offset) == ("expr_too_long", "text literal longer than 1000 characters", 5)


@pytest.mark.parametrize("expression, code", [
    ("a + " * 500 + "a", "expr_too_long"),
    ("[" + ", ".join(["1"] * 398) + "]", "expr_too_large"),
    ("abs(" * 40 + "a" + ")" * 40, "expr_too_deep"),
], ids=["length", "parts", "depth"])
def test_a_policy_with_an_expression_past_a_limit_is_refused_at_its_line(policy_copy, expression, code):
    policy_copy.replace("when: request == 'cancel_order' and hours_since_order <= cancellation_window_hours",
                        f"when: {json.dumps(expression)}")
    line = policy_copy.line_of(json.dumps(expression)[:30])
    problems = policy_copy.problems()
    assert [p.code for p in problems] == [code]
    assert problems[0].location.line == line and problems[0].location.file.endswith("policy.yaml")


# -- files ------------------------------------------------------------------------------------------


def test_a_policy_file_of_5_mib_is_read_and_one_byte_more_is_refused(policy_copy):
    text = policy_copy.text
    padding = loader.MAX_DOCUMENT_BYTES - len(text.encode()) - 1
    policy_copy.file.write_text(text + "#" + "x" * (padding - 1) + "\n", encoding="utf-8")
    assert policy_copy.file.stat().st_size == loader.MAX_DOCUMENT_BYTES
    assert policy_copy.problems() == []
    with policy_copy.file.open("a", encoding="utf-8") as handle:
        handle.write("#")
    [problem] = policy_copy.problems()
    assert problem.code == "file_too_large" and problem.location.line == 0
    assert problem.message == f"file is larger than the limit of {loader.MAX_DOCUMENT_BYTES} bytes"


def test_a_case_of_5_mib_on_standard_input_is_refused():
    runner = CliRunner()
    result = runner.invoke(cli.cli, ["eval", "-"], input=b"#" * (loader.MAX_DOCUMENT_BYTES + 1))
    assert result.exit_code == cli.EXIT_INVALID_CASE
    assert result.stderr.splitlines()[0] == f"<stdin>: input is {loader.MAX_DOCUMENT_BYTES + 1} bytes, more than the limit of {loader.MAX_DOCUMENT_BYTES}"


def _nested(depth: int) -> str:
    """A document whose innermost list is at nesting depth `depth` (the top mapping is depth 0)."""
    return "a: " + "[" * depth + "]" * depth + "\n"


def test_nesting_64_deep_is_read_and_65_deep_is_refused_where_it_starts():
    data, _, problems = loader.parse_yaml(_nested(64), "deep.yaml")
    assert problems == [] and data is not None
    _, _, [problem] = loader.parse_yaml(_nested(65), "deep.yaml")
    assert problem.code == "yaml_too_deep" and problem.message == "nesting is deeper than the limit of 64"
    assert (problem.location.line, problem.location.column) == (1, 4 + 64)


# -- case values --------------------------------------------------------------------------------------


def test_a_text_fact_of_500_characters_is_read_and_one_of_501_is_refused(aqara):
    fact = aqara.facts["country_of_purchase"]
    assert cases.coerce(fact, "x" * 500)[1] != "text is longer than the limit of 500 characters"
    assert cases.coerce(fact, "x" * 501) == (None, "text is longer than the limit of 500 characters")
    with pytest.raises(engine.CaseError) as refused:
        engine.case_from_facts(aqara, {**BASE_FACTS, "country_of_purchase": "x" * 501})
    [problem] = refused.value.diagnostics
    assert (problem.code, problem.subject) == ("fact_value", "country_of_purchase")


@pytest.mark.parametrize("kind, value", [("int", 10**12), ("int", -(10**12)), ("number", 1e12), ("number", -1e12)])
def test_numbers_up_to_10_to_the_12_are_read(aqara, kind, value):
    fact = dataclasses.replace(aqara.facts["units_of_product"], type=kind, minimum=None)
    assert cases.coerce(fact, value) == (value, None)


@pytest.mark.parametrize("kind, value", [("int", 10**12 + 1), ("int", -(10**12) - 1), ("number", 1.0000001e12),
                                         ("number", -1.0000001e12)])
def test_numbers_beyond_10_to_the_12_are_refused(aqara, kind, value):
    fact = dataclasses.replace(aqara.facts["units_of_product"], type=kind, minimum=None)
    converted, problem = cases.coerce(fact, value)
    assert converted is None and problem.endswith("is beyond the limit of 1e+12")


def test_a_case_with_a_number_beyond_10_to_the_12_is_refused_naming_the_fact(aqara):
    with pytest.raises(engine.CaseError) as refused:
        engine.case_from_facts(aqara, {**BASE_FACTS, "units_of_product": 10**12 + 1})
    [problem] = refused.value.diagnostics
    assert (problem.code, problem.subject) == ("fact_value", "units_of_product")
    assert problem.message == "`1000000000001` is beyond the limit of 1e+12"


def test_a_batch_line_of_1_mib_is_read_and_a_longer_one_is_refused():
    # The limit is on the line's text; its line break is not counted.
    line = json.dumps({**BASE_FACTS, "id": "x"})
    at_limit = line[:-1] + " " * (batch.MAX_LINE_BYTES - len(line)) + "}\n"
    assert len(at_limit.encode()) == batch.MAX_LINE_BYTES + 1
    over = at_limit[:-2] + " }\n"
    items = list(batch.read_items(io.BytesIO((at_limit + over + at_limit).encode()), "jsonl", "in.jsonl"))
    assert [item.problem is None for item in items] == [True, False, True]
    assert items[1].problem.code == "line_too_long" and items[1].problem.location == SourceLocation("in.jsonl", 2, 0)


# -- the order of diagnostics -----------------------------------------------------------------------


def test_diagnostics_are_sorted_by_file_line_and_column():
    made = [Diagnostic("x", f"m{i}", SourceLocation(file, line, column))
            for i, (file, line, column) in enumerate([("b.yaml", 1, 1), ("a.yaml", 10, 2), ("a.yaml", 10, 1),
                                                        ("a.yaml", 2, 9), ("a.yaml", 0, 0), ("b.yaml", 0, 0)])]
    expected = [("a.yaml", 0, 0), ("a.yaml", 2, 9), ("a.yaml", 10, 1), ("a.yaml", 10, 2), ("b.yaml", 0, 0), ("b.yaml", 1, 1)]
    for seed in range(5):
        shuffled = made[:]
        random.Random(seed).shuffle(shuffled)
        located = [(d.location.file, d.location.line, d.location.column) for d in engine.sorted_diagnostics(shuffled)]
        assert located == expected
        error = engine.PolicyError(shuffled)
        assert [(d.location.file, d.location.line) for d in error.diagnostics] == [(f, l) for f, l, _ in expected]
        assert str(error).splitlines()[0].startswith("a.yaml:")


def test_a_policy_reports_its_problems_in_file_order(policy_copy):
    # Found in this order: the duplicate key while loading (late in the file), then the schema's
    # unknown key (early in the file): the report lists them by line.
    policy_copy.replace("derived:\n", "derived:\n  days_since_purchase: {expression: '1', description: Twice.}\n")
    policy_copy.replace("facts:\n", "facts:\n  surprise: 1\n", 1)
    runner = CliRunner()
    result = runner.invoke(cli.cli, ["validate", str(policy_copy.folder), "--format", "json"])
    assert result.exit_code == cli.EXIT_INVALID_POLICY
    lines = [(d["file"], d["line"], d["column"]) for d in json.loads(result.stdout)["diagnostics"]]
    assert len(lines) >= 2 and lines == sorted(lines)
    text = runner.invoke(cli.cli, ["validate", str(policy_copy.folder)])
    numbers = [int(line.split(":")[1]) for line in text.output.splitlines() if ".yaml:" in line]
    assert len(numbers) >= 2 and numbers == sorted(numbers)

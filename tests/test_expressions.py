"""Expressions: parsed once, every node whitelisted, evaluated with three-valued logic."""

from __future__ import annotations

import pytest

from engine.expressions import EvaluationFailure, ExpressionEvaluator, Unknown, compile_expression


class Scope(dict):
    def __getitem__(self, name):
        if name not in self:
            raise Unknown(frozenset([name]))
        return dict.__getitem__(self, name)


def run(text, **names):
    compiled, problems = compile_expression(text)
    assert not problems, problems
    return ExpressionEvaluator(Scope(names)).evaluate(compiled)


def unknown(text, **names):
    with pytest.raises(Unknown) as caught:
        run(text, **names)
    return set(caught.value.missing)


def test_false_and_unknown_is_false():
    assert run("a and b", a=False) is False
    assert run("b and a", a=False) is False


def test_true_or_unknown_is_true():
    assert run("a or b", a=True) is True
    assert run("b or a", a=True) is True


def test_unknown_propagates_with_every_missing_name():
    assert unknown("a and b") == {"a", "b"}
    assert unknown("a or b", a=False) == {"b"}
    assert unknown("not a") == {"a"}
    assert unknown("x + 1 > 3") == {"x"}


def test_conditional_with_unknown_test_is_known_when_branches_agree():
    assert run("x if c else x", x=3) == 3
    assert unknown("x if c else y", x=1, y=2) == {"c"}


def test_names_and_functions_are_collected():
    compiled, _ = compile_expression("days_between(a, b) <= limit and c in ['x', 'y']")
    assert compiled.names == {"a", "b", "limit", "c"}
    assert compiled.functions == {"days_between"}


@pytest.mark.parametrize("text, words", [
    ("a.b", "attribute access"),
    ("a[0]", "indexing"),
    ("[x for x in y]", "comprehensions"),
    ("lambda: 1", "lambda"),
    ("2 ** 10", "powers"),
    ("open('f')", "unknown function `open`"),
    ("__import__('os')", "unknown function `__import__`"),
    ("f'{a}'", "f-strings"),
    ("{1: 2}", "dictionaries"),
    ("a if b else c if d else __x", "names starting with `_`"),
])
def test_forbidden_constructs_are_refused_at_compile_time(text, words):
    compiled, problems = compile_expression(text)
    assert compiled is None
    assert any(words in p.message for p in problems), problems


def test_forbidden_construct_in_a_branch_never_taken_is_still_refused():
    compiled, problems = compile_expression("1 if True else a.__class__")
    assert compiled is None and problems[0].code == "expr_not_allowed"


def test_syntax_error_has_an_offset():
    _, [problem] = compile_expression("a == == 1")
    assert problem.code == "expr_syntax" and problem.offset == 5


def test_type_errors_become_evaluation_failures():
    with pytest.raises(EvaluationFailure, match="different types"):
        run("a < 'x'", a=1)
    with pytest.raises(EvaluationFailure, match="division by zero"):
        run("a / 0", a=1)


def test_long_expressions_are_refused():
    compiled, problems = compile_expression("a + " * 600 + "a")
    assert compiled is None and problems[0].code == "expr_too_long"


def test_or_with_an_unknown_operand_is_unknown_unless_a_boolean_decides():
    # `unknown or 30` may be the unknown value itself: it is unknown, not 30.
    assert unknown("days <= (custom or 30)", days=20) == {"custom"}
    assert run("a or True") is True
    assert unknown("a and 5") == {"a"}


def test_every_missing_operand_is_reported():
    assert unknown("a != b") == {"a", "b"}
    assert unknown("days_between(a, b) > 3") == {"a", "b"}
    assert unknown("x + y > 1") == {"x", "y"}
    assert unknown("c in [a, b]", c=1) == {"a", "b"}


def test_is_only_with_none():
    compiled, problems = compile_expression("r is 'return'")
    assert compiled is None and problems[0].message == "`is` compares only with `None`"
    assert run("s is None", s=None) is True and run("s is not None", s=3) is True


@pytest.mark.parametrize("text", ["['x'] * n", "'ab' * n", "'%s' % n", "n * True"])
def test_no_repetition_or_formatting(text):
    with pytest.raises(EvaluationFailure, match="needs numbers"):
        run(text, n=999999999999)

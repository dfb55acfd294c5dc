"""Expressions: parsed once, every node whitelisted, evaluated with three-valued logic.

Each semantic test runs twice: through the engine's three-valued closures (`engine/plan/kleene.py`,
the evaluator's general path) and through the reference interpreter (tests/reference.py, simpleeval
with Kleene logic), which must agree. The generated fast path is checked against the reference on
whole policies (tests/test_differential.py).
"""

from __future__ import annotations

import pytest

import reference
from engine.expressions import FAILURES, EvaluationFailure, Unknown, compile_expression, describe_failure
from engine.plan.kleene import compile_closure

EVALUATORS = ["engine", "reference"]


class Scope(dict):
    def __getitem__(self, name):
        if name not in self:
            raise Unknown(frozenset([name]))
        return dict.__getitem__(self, name)


class _Run:
    """What a closure asks of a run: the value of a name, by its index."""

    def __init__(self, names: list[str], values: dict):
        self.names, self.values = names, values

    def read(self, index: int):
        name = self.names[index]
        if name not in self.values:
            raise Unknown(frozenset([name]))
        return self.values[name]


@pytest.fixture(params=EVALUATORS)
def evaluator(request):
    return request.param


def evaluate(evaluator: str, text: str, names: dict):
    compiled, problems = compile_expression(text)
    assert not problems, problems
    if evaluator == "reference":
        return reference.ExpressionEvaluator(Scope(names)).evaluate(compiled.tree)
    order = sorted(compiled.names)
    try:
        return compile_closure(compiled.tree, {n: i for i, n in enumerate(order)})(_Run(order, names))
    except Unknown:
        raise
    except FAILURES as failure:
        raise EvaluationFailure(describe_failure(failure)) from None


@pytest.fixture
def run(evaluator):
    return lambda text, **names: evaluate(evaluator, text, names)


@pytest.fixture
def unknown(run):
    def missing(text, **names):
        with pytest.raises(Unknown) as caught:
            run(text, **names)
        return set(caught.value.missing)

    return missing


def test_false_and_unknown_is_false(run, unknown):
    assert run("a and b", a=False) is False
    assert run("b and a", a=False) is False


def test_true_or_unknown_is_true(run, unknown):
    assert run("a or b", a=True) is True
    assert run("b or a", a=True) is True


def test_unknown_propagates_with_every_missing_name(run, unknown):
    assert unknown("a and b") == {"a", "b"}
    assert unknown("a or b", a=False) == {"b"}
    assert unknown("not a") == {"a"}
    assert unknown("x + 1 > 3") == {"x"}


def test_conditional_with_unknown_test_is_known_when_branches_agree(run, unknown):
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


def test_type_errors_become_evaluation_failures(run, unknown):
    with pytest.raises(EvaluationFailure, match="different types"):
        run("a < 'x'", a=1)
    with pytest.raises(EvaluationFailure, match="division by zero"):
        run("a / 0", a=1)


def test_long_expressions_are_refused():
    compiled, problems = compile_expression("a + " * 600 + "a")
    assert compiled is None and problems[0].code == "expr_too_long"


def test_or_with_an_unknown_operand_is_unknown_unless_a_boolean_decides(run, unknown):
    # `unknown or 30` may be the unknown value itself: it is unknown, not 30.
    assert unknown("days <= (custom or 30)", days=20) == {"custom"}
    assert run("a or True") is True
    assert unknown("a and 5") == {"a"}


def test_every_missing_operand_is_reported(run, unknown):
    assert unknown("a != b") == {"a", "b"}
    assert unknown("days_between(a, b) > 3") == {"a", "b"}
    assert unknown("x + y > 1") == {"x", "y"}
    assert unknown("c in [a, b]", c=1) == {"a", "b"}


def test_is_only_with_none(run):
    compiled, problems = compile_expression("r is 'return'")
    assert compiled is None and problems[0].message == "`is` compares only with `None`"
    assert run("s is None", s=None) is True and run("s is not None", s=3) is True


@pytest.mark.parametrize("text", ["['x'] * n", "'ab' * n", "'%s' % n", "n * True"])
def test_no_repetition_or_formatting(run, text):
    with pytest.raises(EvaluationFailure, match="needs numbers"):
        run(text, n=999999999999)


def test_a_deciding_boolean_wins_over_an_unknown_only_if_it_is_a_boolean(run, unknown):
    # Kleene's rule applies to booleans: after an unknown operand, a falsy number cannot decide an
    # `and` (the unknown might be the falsy value returned), nor a truthy text an `or`.
    assert unknown("a and 0 and b") == {"a", "b"}
    assert unknown("a or 'yes'") == {"a"}
    assert run("a and False", ) is False
    assert run("0 and a") == 0 and run("'yes' or a") == "yes"


def test_a_chained_comparison_reads_every_operand_before_comparing(unknown):
    # `a < b < c`: even when `a < b` is false, `c` is evaluated, so a missing `c` is named.
    assert unknown("a < b < c", a=2, b=1) == {"c"}


def test_a_construct_simpleeval_cannot_evaluate_is_refused_even_if_our_whitelist_admitted_it(monkeypatch):
    # simpleeval is the whitelist's authority: were our own list to admit sets, they would still be
    # refused, because the reference interpreter (simpleeval) could not evaluate them.
    import ast

    from engine import expressions

    monkeypatch.setattr(expressions, "_ALLOWED_NODES", expressions._ALLOWED_NODES + (ast.Set,))
    compiled, problems = compile_expression("a in {1, 2}")
    assert compiled is None and [p.code for p in problems] == ["expr_not_allowed"]
    assert problems[0].message == "sets is not allowed in policy expressions"

"""Constraints (issue 11, item 2): rules over facts that every case satisfies. A case whose facts
break one is refused, naming the facts; a constraint the case's facts do not decide is not judged."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import cli
import engine
from engine.evaluator import evaluate as evaluate_plan
import strategies
from engine import batch, constraints
from engine.plan import program_for
from engine.selection import select

SOURCE = "Rule one applies.\nA request comes after its order.\n"


def write_policy(folder: Path, constraints: str, variant_constraints: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "source.txt").write_text(SOURCE, encoding="utf-8")
    sha = hashlib.sha256(SOURCE.encode()).hexdigest()
    (folder / "policy.yaml").write_text(textwrap.dedent(f"""\
        policy: {{id: tiny, version: 0.0.1, effective_from: '2026-01-01', title: Tiny, source: {{file: source.txt, sha256: {sha}}}}}
        facts:
          ordered_at: {{type: date, description: When the order was placed.}}
          requested_at: {{type: date, description: When the request was made.}}
          shipped_at: {{type: date, nullable: true, description: When it was shipped; null before.}}
          delivered_at: {{type: date, nullable: true, description: When it was delivered; null before.}}
          country: {{type: string, description: Where it was bought.}}
          n: {{type: int, description: A count.}}
        parameters:
          limit: {{value: 10, description: A limit., source: {{section: s, quote: Rule one applies.}}}}
        derived:
          twice: {{expression: "n * 2", description: Twice the count.}}
        outputs:
          out: {{type: enum, values: [a, b], default: b, description: The outcome.}}
        """) + constraints + textwrap.dedent("""\
        clauses:
        - id: c1
          title: Clause c1
          source: {section: s, quote: Rule one applies.}
          when: "n > 1"
          then: {out: a}
        """) + ("variants:\n  select_by: country\n  files: [variants/xx.yaml]\n" if variant_constraints else ""),
        encoding="utf-8")
    if variant_constraints:
        (folder / "variants").mkdir(exist_ok=True)
        (folder / "variants" / "xx.yaml").write_text(textwrap.dedent("""\
            variant:
              id: xx
              extends: tiny
              version: 0.0.1
              effective_from: "2026-01-01"
              title: Country XX
              countries: [XX]
              legal_sources:
                law: {act: The XX Act, url: https://example.org/xx}
            """) + variant_constraints, encoding="utf-8")
    return folder


CONSTRAINTS = """\
constraints:
  request_after_order:
    expression: "requested_at >= ordered_at"
    message: a request comes after its order
    source: {section: s, quote: A request comes after its order.}
  delivered_after_shipping:
    expression: "shipped_at != None or delivered_at == None"
    message: nothing is delivered before it is shipped
"""
VARIANT = """\
constraints:
  few_units:
    expression: "n <= 10"
    message: an order in XX holds at most ten units
"""


@pytest.fixture
def policy_folder(tmp_path):
    return write_policy(tmp_path / "tiny", CONSTRAINTS, VARIANT)


def test_a_case_that_breaks_a_constraint_is_refused_naming_its_facts(policy_folder):
    policy_set = engine.load(policy_folder)
    with pytest.raises(engine.CaseError) as caught:
        engine.evaluate(policy_set, {"ordered_at": "2026-03-02", "requested_at": "2026-03-01", "n": 2, "country": "DE"})
    [problem] = caught.value.diagnostics
    assert (problem.code, problem.subject) == ("constraint_broken", "request_after_order")
    assert problem.message == ("the case breaks constraint `request_after_order`: a request comes after its order "
                               "(ordered_at = 2026-03-02, requested_at = 2026-03-01)")
    assert (Path(problem.location.file).name, problem.location.line) == ("policy.yaml", 16)
    # Null is a value given: shipped_at null with a delivery breaks the second one.
    with pytest.raises(engine.CaseError) as caught:
        engine.evaluate(policy_set, {"shipped_at": None, "delivered_at": "2026-03-05", "n": 2, "country": "DE"})
    assert [p.subject for p in caught.value.diagnostics] == ["delivered_after_shipping"]


def test_a_constraint_the_facts_do_not_decide_is_not_judged(policy_folder):
    policy_set = engine.load(policy_folder)
    decided = engine.evaluate(policy_set, {"requested_at": "2026-03-01", "n": 2, "country": "DE"})  # no ordered_at
    assert decided.outputs["out"].value == "a"
    # `or` decides with one operand known: shipped, so delivery is whatever it is.
    assert engine.evaluate(policy_set, {"shipped_at": "2026-03-01", "n": 2, "country": "DE"}).outputs["out"].value == "a"
    kept = engine.evaluate(policy_set, {"ordered_at": "2026-03-01", "requested_at": "2026-03-01", "n": 0, "country": "DE"})
    assert kept.outputs["out"].value == "b"


def test_a_variant_adds_constraints_for_the_cases_it_decides(policy_folder):
    policy_set = engine.load(policy_folder)
    assert engine.evaluate(policy_set, {"n": 20, "country": "DE"}).outputs["out"].value == "a"
    with pytest.raises(engine.CaseError) as caught:
        engine.evaluate(policy_set, {"n": 20, "country": "XX"})
    [problem] = caught.value.diagnostics
    assert problem.subject == "few_units" and Path(problem.location.file).name == "xx.yaml"
    # The base's constraints hold under the variant too.
    with pytest.raises(engine.CaseError) as caught:
        engine.evaluate(policy_set, {"ordered_at": "2026-03-02", "requested_at": "2026-03-01", "country": "XX"})
    assert [p.subject for p in caught.value.diagnostics] == ["request_after_order"]
    # Without the country, the case could be decided under either: only what both require is judged.
    assert engine.evaluate(policy_set, {"n": 20}).outputs["out"].status == "decided"


def test_eval_refuses_with_exit_3_and_batch_with_an_error_record(policy_folder, tmp_path):
    result = CliRunner().invoke(cli.cli, ["eval", "--policy", str(policy_folder), "--fact", "ordered_at=2026-03-02",
                                          "--fact", "requested_at=2026-03-01", "--fact", "country=DE"])
    assert result.exit_code == 3
    assert "the case breaks constraint `request_after_order`: a request comes after its order" in result.stderr
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"n": 2, "country": "DE"}\n{"n": 20, "country": "XX"}\n{"n": 3, "country": "XX"}\n', encoding="utf-8")
    for jobs in ("1", "2"):  # two jobs: the constraints travel to the workers with the compiled policy
        result = CliRunner().invoke(cli.cli, ["batch", str(cases), "--policy", str(policy_folder), "--jobs", jobs])
        assert result.exit_code == 3, result.output
        first, refused, third = (json.loads(line) for line in result.stdout.splitlines())
        assert first["outputs"]["out"] == "a" and third["outputs"]["out"] == "a"
        assert refused["line"] == 2 and [d["code"] for d in refused["refused"]] == ["constraint_broken"]


def test_constraints_survive_the_plan_cache_and_the_trip_to_a_worker(policy_folder, tmp_path):
    from engine import cache as plan_cache

    policy_set = engine.load(policy_folder)
    cache, problem = plan_cache.open_cache(tmp_path / "cache")
    assert problem == ""
    engine.load(policy_folder, cache=cache)  # stores the set, its plans and their generated code
    cached = engine.load(policy_folder, cache=cache)
    copy = batch.policy_set_from_bytes(batch.policy_set_bytes(policy_set))
    # Every fact given: the generated code read back with the plan judges the constraints itself.
    complete = {"ordered_at": "2026-03-01", "requested_at": "2026-03-02", "shipped_at": "2026-03-01",
                "delivered_at": "2026-03-02", "n": 2, "country": "XX"}
    for stored in (cached, copy):
        assert all("_stored_program" in p.__dict__ for p in stored.compiled)
        assert [list(p.constraints) for p in stored.compiled] == [list(p.constraints) for p in policy_set.compiled]
        for trace in (False, True):
            assert engine.evaluate(stored, complete, trace=trace).outputs["out"].value == "a"
            for broken, name in (({"n": 20}, "few_units"), ({"requested_at": "2026-02-27"}, "request_after_order")):
                with pytest.raises(engine.CaseError) as caught:
                    engine.evaluate(stored, {**complete, **broken}, trace=trace)
                assert [p.subject for p in caught.value.diagnostics] == [name]


@pytest.mark.parametrize("expression, code, words", [
    ("twice > 0", "name_not_allowed", "a constraint reads only facts"),
    ("n < limit", "name_not_allowed", "a constraint reads only facts"),
    ("n + 1", "type_error", "a constraint must be true/false, not a number"),
    ("count > 0", "unknown_name", "`count` is not a declared fact"),
    ("delivered_at > ordered_at", "null_unguarded", "`delivered_at` may be null"),
])
def test_a_constraint_is_a_condition_over_facts_alone(tmp_path, expression, code, words):
    folder = write_policy(tmp_path / "bad", f'constraints:\n  c:\n    expression: "{expression}"\n    message: a message\n')
    policy_set, problems = engine.load_policy_set(folder)
    assert policy_set is None
    [problem] = [p for p in problems if p.severity == "error"]
    assert problem.code == code and problem.subject == "c"
    assert words in problem.message or words in problem.help, problem
    assert problem.location.line == 17  # the line of its expression


def test_a_constraints_quote_is_checked_against_the_source(tmp_path):
    folder = write_policy(tmp_path / "q", 'constraints:\n  c:\n    expression: "n >= 0"\n    message: a message\n'
                                          "    source: {section: s, quote: A request comes before its order.}\n")
    _, problems = engine.load_policy_set(folder)
    assert any(p.code.startswith("quote") and p.subject == "c" for p in problems), problems


def test_a_variant_cannot_redefine_a_base_constraint(tmp_path):
    folder = write_policy(tmp_path / "r", CONSTRAINTS, 'constraints:\n  request_after_order:\n    expression: "n >= 0"\n'
                                                       "    message: another\n")
    policy_set, problems = engine.load_policy_set(folder)
    assert policy_set is None
    assert [p.code for p in problems if p.severity == "error"] == ["variant_redefines"]


def test_render_lists_the_constraints_and_diff_reports_their_changes(policy_folder, tmp_path):
    rendered = CliRunner().invoke(cli.cli, ["render", str(policy_folder), "--format", "markdown"])
    assert rendered.exit_code == 0, rendered.output
    assert "## Constraints every case satisfies" in rendered.stdout
    row = next(line for line in rendered.stdout.splitlines() if line.startswith("| request\\_after\\_order")
               or line.startswith("| request_after_order"))
    assert "a request comes after its order" in row and "A request comes after its order." in row
    changed = write_policy(tmp_path / "changed", CONSTRAINTS.replace('"requested_at >= ordered_at"', '"requested_at > ordered_at"')
                           .replace("message: nothing is delivered before it is shipped", "message: shipped first"), VARIANT)
    (changed / "policy.yaml").write_text((changed / "policy.yaml").read_text(encoding="utf-8").replace(
        "constraints:\n", 'constraints:\n  some_units:\n    expression: "n >= 0"\n    message: a count is never negative\n', 1),
        encoding="utf-8")
    result = CliRunner().invoke(cli.cli, ["diff", str(policy_folder), str(changed), "--format", "json"])
    changes = {(c["kind"], c["subject"]): c for c in json.loads(result.stdout)["changes"]}
    assert changes[("constraint_changed", "request_after_order")]["before"] == "requested_at >= ordered_at"
    assert changes[("constraint_changed", "request_after_order")]["after"] == "requested_at > ordered_at"
    assert changes[("constraint_changed", "delivered_after_shipping")]["detail"] == "message"
    assert changes[("constraint_added", "some_units")]["after"] == "n >= 0"
    text = CliRunner().invoke(cli.cli, ["diff", str(policy_folder), str(changed)]).stdout
    assert "constraint added: some_units = " in text and "constraint changed: request_after_order" in text


def test_a_yaml_test_can_expect_a_case_to_be_refused_by_its_constraints(policy_folder):
    tests = policy_folder / "tests"
    tests.mkdir()
    (tests / "constraints.yaml").write_text(textwrap.dedent("""\
        tests:
          - name: A request before its order is refused
            facts: {ordered_at: "2026-03-02", requested_at: "2026-03-01", n: 2, country: DE}
            expect_refused: [request_after_order]
          - name: Eleven units in XX are refused there
            facts: {n: 11, country: XX}
            expect_refused: [few_units]
          - name: A request on the day of the order is decided, so this expectation fails
            facts: {ordered_at: "2026-03-01", requested_at: "2026-03-01", n: 2, country: DE}
            expect_refused: [request_after_order]
          - name: The wrong constraint named fails too
            facts: {n: 11, country: XX}
            expect_refused: [request_after_order]
        """), encoding="utf-8")
    result = CliRunner().invoke(cli.cli, ["test", str(policy_folder), "--format", "json"])
    assert result.exit_code == 1, result.output
    outcomes = {t["name"]: t for t in json.loads(result.stdout)["tests"]}
    assert [outcomes[name]["status"] for name in outcomes] == ["passed", "passed", "failed", "failed"]
    failures = [m for t in outcomes.values() for m in t["differences"]]
    assert any("decided: expected the case to be refused for breaking request_after_order" in m["message"] for m in failures)
    assert any("expected the constraint(s) request_after_order to be broken, got: the case breaks constraint `few_units`"
               in m["message"] for m in failures)
    (tests / "constraints.yaml").write_text("tests:\n  - name: A typo in a name\n    facts: {n: 1}\n"
                                            "    expect_refused: [request_afer_order]\n", encoding="utf-8")
    result = CliRunner().invoke(cli.cli, ["test", str(policy_folder)])
    assert result.exit_code == 4, result.output
    assert "`request_afer_order` is not a constraint of policy `tiny`" in result.output
    assert "did you mean `request_after_order`?" in result.output


@pytest.mark.parametrize("facts", [
    {"ordered_at": "2026-03-02", "requested_at": "2026-03-01"},
    {"ordered_at": "2026-03-01", "requested_at": "2026-03-01"},
    {"shipped_at": None, "delivered_at": "2026-03-05"},
    {"shipped_at": None, "delivered_at": None},
    {"shipped_at": "2026-03-01", "delivered_at": "2026-02-05"},
], ids=["request-first", "same-day", "delivered-unshipped", "neither", "shipped"])
def test_the_solver_reads_each_constraint_as_the_engine_does(policy_folder, facts):
    from engine import constraints, symbolic

    policy = engine.load(policy_folder).base
    form = symbolic.encode(policy)
    assert isinstance(form, symbolic.SymbolicPolicy)
    case = engine.case_from_facts(policy, {"n": 1, "country": "DE", "ordered_at": "2026-01-01",
                                           "requested_at": "2026-01-02", **facts})
    fixed = form.fix(case.facts)
    for name, constraint in policy.constraints.items():
        s = symbolic.solver()
        s.add(form.domain + fixed)
        assert str(s.check(form.constraint(name))) == ("unsat" if constraints.holds(constraint, case.facts) is False else "sat"), name


# -- the plan's fast path against the oracle (engine/constraints.py) ---------------------------------

QUICK_FAILURES = dict(phases=[Phase.explicit, Phase.generate, Phase.shrink], report_multiple_bugs=False)


def outcome(decision: engine.Decision) -> tuple:
    """Everything a decision says, in a form where 1, 1.0 and True differ."""
    outputs = {name: (repr(r.value), r.status, r.clauses, r.missing, r.regardless_of) for name, r in decision.outputs.items()}
    return outputs, decision.missing_facts, [e.to_dict() for e in decision.errors]


def refusal(decide) -> list:
    """The diagnostics a decision is refused with ([] when it is decided)."""
    try:
        decide()
    except engine.CaseError as error:
        return list(error.diagnostics)
    return []


def clears(function, facts: dict) -> bool:
    """Whether a generated function of the plan decides the case itself (it raises to leave the fast path)."""
    try:
        function(facts)
    except Exception:  # noqa: BLE001 - any exception sends the evaluator to the general path
        return False
    return True


@settings(max_examples=150, deadline=None, derandomize=True, database=None, **QUICK_FAILURES,
          suppress_health_check=[HealthCheck.too_slow])
@given(strategies.policies_with_cases(cases_per_policy=4, constraints=True))
def test_the_plan_refuses_exactly_the_cases_the_oracle_refuses(drawn):
    # Generated policies with constraints over every type of fact, and cases with facts given, left
    # out (a default is no fact given) and null: the generated code tests each constraint two-valued
    # and leaves any doubt to the general path, which refuses by `constraints.broken`.
    generated, cases = drawn
    policy = strategies.load(generated)
    bare = dataclasses.replace(policy, constraints={})  # the same policy, with no constraint to judge
    program, bare_program = program_for(policy), program_for(bare)
    for raw in cases:
        case = engine.case_from_facts(policy, raw)
        expected = constraints.broken(policy, case.facts)
        # The evaluator's own semantics (settle=False): the solver, which assumes the constraints for
        # the facts a case lacks, decides more (tests/test_settle.py).
        def decide(p, trace):
            return evaluate_plan(p, case.facts, case.id, trace, "test", p.constraints, settle=False)

        for trace in (False, True):
            refused = refusal(lambda: decide(policy, trace))
            assert refused == expected
            if not refused:  # decided as if there were no constraints, whichever path decided it
                decision, plain = decide(policy, trace), decide(bare, trace)
                assert outcome(decision) == outcome(plain)
                assert engine.decision_to_json(decision) == engine.decision_to_json(plain)
        # The fast path decides a case only when every constraint holds, and the constraints never
        # send one that satisfies them, with every fact they read given, to the general path.
        verdicts = [constraints.holds(c, case.facts) for c in policy.constraints.values()]
        cleared = clears(program.fast, case.facts)
        assert clears(program.traced, case.facts) == cleared
        if cleared:
            assert verdicts == [True] * len(verdicts)
        read = {name for c in policy.constraints.values() for name in c.expression.names}
        if verdicts == [True] * len(verdicts) and read <= set(case.facts):
            assert cleared == clears(bare_program.fast, case.facts)


_DAYS = st.sampled_from(("2026-03-01", "2026-03-02", "2026-03-05"))
tiny_facts = st.fixed_dictionaries({}, optional={
    "ordered_at": _DAYS, "requested_at": _DAYS, "shipped_at": st.none() | _DAYS, "delivered_at": st.none() | _DAYS,
    "n": st.sampled_from((0, 2, 10, 11)), "country": st.sampled_from(("DE", "XX"))})


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    return engine.load(write_policy(tmp_path_factory.mktemp("tiny") / "tiny", CONSTRAINTS, VARIANT))


@settings(max_examples=200, deadline=None, derandomize=True, database=None, **QUICK_FAILURES,
          suppress_health_check=[HealthCheck.too_slow])
@given(facts=tiny_facts)
def test_a_set_refuses_what_the_oracle_refuses_for_every_candidate(tiny_set, facts):
    # With the country given, one policy decides and all its constraints are judged; without it,
    # the base and the variant may, and only what both require is (`constraints.check`).
    case = engine.case_from_facts(tiny_set, facts)
    expected = refusal(lambda: constraints.check(select(tiny_set, case.facts).pool, case.facts))
    for trace in (False, True):
        assert refusal(lambda: engine.evaluate(tiny_set, case, trace=trace)) == expected

"""The clause checks of `verdict validate` (engine/conflicts.py, engine/clausesolver.py): conflicts judged by
the analysis and then the solver, with witness cases the engine replays; clauses that never apply or never
win; findings kept in the plan cache."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import cli
import engine
from conftest import CONDITION_DERIVED, CONDITION_FACTS, CONDITION_PARAMETERS, REPO, condition_strategy
from engine import clausesolver, conflicts, validation
from engine.cache import open_cache

sys.path.insert(0, str(REPO / "bench"))
import synthetic  # noqa: E402

SOURCE = "Rule one applies.\n"


def write(folder: Path, clauses: str, facts: str = "", derived: str = "", constraints: str = "",
          variant: str = "") -> Path:
    """A small policy: facts `n` (int) and `flag` (bool) and whatever `facts` adds, output `out` (a, b, c)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "source.txt").write_text(SOURCE, encoding="utf-8")
    sha = hashlib.sha256(SOURCE.encode()).hexdigest()
    text = textwrap.dedent(f"""\
        policy: {{id: tiny, version: 0.0.1, effective_from: '2026-01-01', title: Tiny, source: {{file: source.txt, sha256: {sha}}}}}
        facts:
          n: {{type: int, description: A count.}}
          flag: {{type: bool, description: A flag.}}
        """) + textwrap.indent(textwrap.dedent(facts), "  ")
    if derived:
        text += "derived:\n" + textwrap.indent(textwrap.dedent(derived), "  ")
    text += constraints and "constraints:\n" + textwrap.indent(textwrap.dedent(constraints), "  ")
    text += "outputs:\n  out: {type: enum, values: [a, b, c], default: c, description: The outcome.}\nclauses:\n"
    for line in textwrap.dedent(clauses).strip().splitlines():
        clause_id, when, value, *overrides = [part.strip() for part in line.split("|")]
        text += (f"  - id: {clause_id}\n    title: Clause {clause_id}\n    source: {{section: s, quote: Rule one applies.}}\n"
                 f"    when: \"{when}\"\n    then: {{out: {value}}}\n")
        if overrides:
            text += f"    overrides: [{overrides[0]}]\n"
    if variant:
        text += "variants:\n  select_by: country\n  files: [variants/xx.yaml]\n"
        (folder / "variants").mkdir(exist_ok=True)
        (folder / "variants" / "xx.yaml").write_text(textwrap.dedent(variant), encoding="utf-8")
    (folder / "policy.yaml").write_text(text, encoding="utf-8")
    return folder


def checked(folder: Path, **options) -> conflicts.Check:
    policy_set, problems = engine.load_policy_set(folder)
    assert policy_set is not None and problems == [], [p.one_line() for p in problems]
    return conflicts.check(policy_set, **options)


def codes(check: conflicts.Check) -> list[tuple[str, str]]:
    return [(d.code, d.subject) for d in check.diagnostics]


# -- conflicts --------------------------------------------------------------------------------------

def test_a_conflict_the_analysis_cannot_judge_is_confirmed_with_a_witness_the_engine_replays(tmp_path):
    # `twice > 10` says nothing the analysis can compare with `n < 3 or flag`: it leaves the pair open, and
    # the solver finds the case where both apply.
    folder = write(tmp_path / "p", """
        c1 | twice > 10 | a
        c2 | n < 3 or flag | b
        """, derived="twice: {expression: 'n * 2', description: Twice the count.}\n")
    policy_set = engine.load_policy_set(folder)[0]
    assert [c.key for c in conflicts.candidates(policy_set.base)] == [("out", "c1", "c2")]
    check = checked(folder)
    [problem] = check.diagnostics
    assert (problem.code, problem.subject, problem.severity) == ("conflict", "c2", "error")
    assert problem.message == ("clauses `c1` and `c2` can apply to the same case and set `out` to different values "
                               "('a' and 'b') with no declared precedence")
    found = problem.details["witness"]
    assert problem.details["solver"] == "confirmed"
    # Canonical: the smallest count above 5, and `flag` true because `n < 3` cannot hold with it.
    assert found["facts"] == {"n": 6, "flag": True} and found["policy"] == "tiny 0.0.1" and "select" not in found
    assert found["decided"] == {"output": "out", "status": "error", "message":
                                "while deciding output `out`: conflict: clauses `c1`, `c2` set `out` to different values"}
    # The witness is a case `verdict eval` accepts, and decides as shown.
    decision = engine.evaluate(policy_set, found["facts"])
    assert decision.outputs["out"].status == "error"
    assert problem.to_dict()["witness"] == found
    assert conflicts.witness_lines(problem) == [
        "  a case where both apply (tiny 0.0.1):", "    n: 6, flag: true",
        "  the engine decides it: `out` is an error: while deciding output `out`: conflict: clauses `c1`, `c2` set `out` "
        "to different values"]


def test_a_pair_apart_through_a_derived_value_is_no_conflict(tmp_path):
    folder = write(tmp_path / "p", """
        c1 | twice > 10 | a
        c2 | n < 5 | b
        """, derived="twice: {expression: 'n * 2', description: Twice the count.}\n")
    assert [c.key for c in conflicts.candidates(engine.load_policy_set(folder)[0].base)] == [("out", "c1", "c2")]
    assert checked(folder, reachability=False).diagnostics == []


def test_a_pair_apart_through_a_constraint_is_no_conflict(tmp_path):
    constraints = "few: {expression: 'm <= n', message: m is at most n}\n"
    facts = "m: {type: int, description: Another count.}\n"
    clauses = """
        c1 | n < 3 | a
        c2 | m > 5 | b
        """
    folder = write(tmp_path / "p", clauses, facts=facts, constraints=constraints)
    assert [c.key for c in conflicts.candidates(engine.load_policy_set(folder)[0].base)] == [("out", "c1", "c2")]
    assert checked(folder, reachability=False).diagnostics == []
    # Without the constraint, the same pair is a conflict.
    assert codes(checked(write(tmp_path / "q", clauses, facts=facts), reachability=False)) == [("conflict", "c2")]


def test_clauses_that_agree_or_are_ordered_are_not_asked_about(tmp_path, monkeypatch):
    asked = []
    monkeypatch.setattr(clausesolver.Session, "check", lambda *a, **k: asked.append(a) or clausesolver.SAT)
    folder = write(tmp_path / "p", """
        c1 | n > 1 | a
        c2 | flag and n <= 2 | a
        c3 | n > 2 | b | c1
        """)
    assert checked(folder, reachability=False) == conflicts.Check()
    assert asked == []


def test_one_question_per_clause_when_its_partners_are_all_apart(tmp_path, monkeypatch):
    # c0 meets every other clause in the analysis (it reads `twice`), and the solver proves each pair
    # apart with one question for c0, not one per pair.
    lines = ["c0 | twice > 100 | a"] + [f"c{i} | n == {i} | b" for i in range(1, 9)]
    folder = write(tmp_path / "p", "\n".join(lines), derived="twice: {expression: 'n * 2', description: Twice.}\n")
    asked = []
    original = clausesolver.Session.check
    monkeypatch.setattr(clausesolver.Session, "check", lambda self, *a, **k: asked.append(1) or original(self, *a, **k))
    assert checked(folder, reachability=False).diagnostics == []
    assert len(asked) == 1


def test_a_conflict_the_solver_cannot_decide_is_reported_as_before_and_says_so(tmp_path):
    folder = write(tmp_path / "p", """
        c1 | twice > 10 | a
        c2 | n < 5 | b
        """, derived="twice: {expression: 'n * 2', description: Twice the count.}\n")
    [problem] = checked(folder, reachability=False, rlimit=1).diagnostics
    assert problem.code == "conflict" and problem.details["solver"] == "unknown"
    assert problem.message.endswith("with no declared precedence (not proven: the solver could not decide it within its "
                                    "budget of 1 resource units)")
    assert "witness" not in problem.to_dict()


def test_a_policy_the_solver_cannot_encode_keeps_the_analysis_answer(tmp_path):
    facts = "x: {type: number, description: A number.}\n"
    folder = write(tmp_path / "p", """
        c1 | third > 1 | a
        c2 | x < 0 | b
        """, facts=facts, derived="third: {expression: 'x / 3', description: A third.}\n")
    [problem] = checked(folder, reachability=False).diagnostics
    assert problem.details["solver"] == "unknown"
    assert "(not proven: the solver cannot judge tiny 0.0.1: " in problem.message and "has no exact encoding" in problem.message


VARIANT = """\
    variant:
      id: xx
      extends: tiny
      version: 0.0.1
      effective_from: "2026-01-01"
      title: Country XX
      countries: [XX]
      legal_sources:
        law: {act: The XX Act, url: https://example.org/xx}
    clauses:
      - id: xx-home
        title: Buyers from elsewhere
        legal: {source: law, article: "s. 1", quote: A buyer from elsewhere gets b.}
        when: "country != 'XX' and n > 1"
        then: {out: b}
    """


def test_a_conflict_only_a_named_variant_meets_has_a_witness_that_names_it(tmp_path):
    # In variant XX, `xx-home` needs a country other than XX: no case XX selects meets it, but a caller who
    # names the variant (`--policy tiny:xx@2026-01-01`) decides any case with it, and meets the conflict.
    facts = "country: {type: string, description: Where it was bought.}\n"
    folder = write(tmp_path / "p", "c1 | n > 3 | a", facts=facts, variant=VARIANT)
    [problem] = checked(folder, reachability=False).diagnostics
    found = problem.details["witness"]
    assert found["policy"] == "tiny 0.0.1 → xx 0.0.1"
    assert found["select"] == {"policy": "tiny", "variant": "xx", "as_of": "2026-01-01"}
    assert found["facts"]["n"] == 4 and found["facts"]["country"] != "XX"
    decision = engine.evaluate(engine.load_policy_set(folder)[0], found["facts"], variant="xx",
                               as_of=engine.load_policy_set(folder)[0].compiled[1].identity.effective_from)
    assert decision.outputs["out"].status == "error"
    assert "named as `tiny:xx@2026-01-01`" in conflicts.witness_lines(problem)[0]


# -- clauses that never apply, or never win ---------------------------------------------------------

def test_a_clause_whose_parts_contradict_never_applies(tmp_path):
    folder = write(tmp_path / "p", """
        c1 | n > 5 and flag and n < 3 | a
        c2 | flag | a
        """)
    [problem] = checked(folder).diagnostics
    assert (problem.code, problem.subject, problem.severity) == ("clause_never_applies", "c1", "warning")
    assert problem.message == "clause `c1` never applies: `n > 5` and `n < 3` never hold together"
    assert problem.details["reason"] == [{"kind": "condition", "part": "n > 5", "position": 0},
                                         {"kind": "condition", "part": "n < 3", "position": 2}]


def test_a_clause_that_contradicts_a_constraint_never_applies_and_says_which(tmp_path):
    facts = "m: {type: int, minimum: 0, description: Another count.}\n"
    constraints = "few: {expression: 'm <= n', message: m is at most n}\n"
    folder = write(tmp_path / "p", """
        c1 | n < 0 | a
        c2 | flag | a
        """, facts=facts, constraints=constraints)
    [problem] = checked(folder).diagnostics
    assert problem.code == "clause_never_applies"
    assert problem.message == ("clause `c1` never applies: `n < 0` contradicts constraint `few` (m is at most n) and "
                               "the declared values of `m`")


def test_a_clause_always_overridden_is_a_warning_naming_the_overrider(tmp_path):
    folder = write(tmp_path / "p", """
        c1 | n > 5 | a
        c2 | n > 3 | b | c1
        """)
    [problem] = checked(folder).diagnostics
    assert (problem.code, problem.subject, problem.severity) == ("clause_always_overridden", "c1", "warning")
    assert problem.message == "clause `c1` never decides anything: whenever it applies, `c2` applies too and overrides it"
    assert problem.details["overridden_by"] == ["c2"]


def test_warnings_alone_leave_validate_at_exit_0(tmp_path):
    folder = write(tmp_path / "p", """
        c1 | n > 5 | a
        c2 | n > 3 | b | c1
        """)
    result = CliRunner().invoke(cli.cli, ["--no-cache", "validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert ": warning: c1: clause `c1` never decides anything" in result.stderr


def test_clauses_the_tests_reach_are_not_asked_about(tmp_path, monkeypatch):
    folder = write(tmp_path / "p", """
        c1 | n > 5 | a
        c2 | n < 3 | b
        """)
    (folder / "tests").mkdir()
    (folder / "tests" / "t.yaml").write_text(textwrap.dedent("""\
        tests:
          - name: big
            facts: {n: 6, flag: false}
            expect: {out: a}
          - name: small
            facts: {n: 1, flag: false}
            expect: {out: b}
        """), encoding="utf-8")
    asked = []
    monkeypatch.setattr(clausesolver.Session, "check", lambda *a, **k: asked.append(a) or clausesolver.SAT)
    report = validation.validate_paths([folder])
    assert report.diagnostics == [] and asked == [] and report.policies[0]["solver"] is None


# -- the cache --------------------------------------------------------------------------------------

def test_a_second_validate_of_the_same_bytes_asks_the_solver_nothing(tmp_path, monkeypatch):
    folder = write(tmp_path / "p", """
        c1 | twice > 10 | a
        c2 | n < 3 or flag | b
        """, derived="twice: {expression: 'n * 2', description: Twice the count.}\n")
    cache, _ = open_cache(tmp_path / "cache")
    asked = []
    original = clausesolver.Session.check
    monkeypatch.setattr(clausesolver.Session, "check", lambda self, *a, **k: asked.append(1) or original(self, *a, **k))
    first = validation.validate_paths([folder], cache=cache)
    questions = len(asked)
    assert questions > 0 and first.policies[0]["solver"]["cached"] is False
    second = validation.validate_paths([folder], cache=cache)
    assert len(asked) == questions  # not one more
    assert second.policies[0]["solver"] == {**first.policies[0]["solver"], "cached": True}
    assert [d.to_dict() for d in second.diagnostics] == [d.to_dict() for d in first.diagnostics]
    # The same bytes elsewhere are the same findings; other bytes are asked again.
    copy = write(tmp_path / "elsewhere", """
        c1 | twice > 10 | a
        c2 | n < 3 or flag | b
        """, derived="twice: {expression: 'n * 2', description: Twice the count.}\n")
    assert validation.validate_paths([copy], cache=cache).policies[0]["solver"]["cached"] is True
    # Another budget is another key.
    monkeypatch.setattr(conflicts, "RLIMIT", conflicts.RLIMIT + 1)
    assert validation.validate_paths([copy], cache=cache).policies[0]["solver"]["cached"] is True  # default unchanged
    policy_set = engine.load_policy_set(copy)[0]
    assert conflicts.check(policy_set, cache=cache, rlimit=conflicts.RLIMIT).solver["cached"] is False


def test_validate_json_carries_the_witness_and_the_budget(tmp_path):
    folder = write(tmp_path / "p", """
        c1 | twice > 10 | a
        c2 | n < 3 or flag | b
        """, derived="twice: {expression: 'n * 2', description: Twice the count.}\n")
    result = CliRunner().invoke(cli.cli, ["--no-cache", "validate", "--format", "json", str(folder)])
    assert result.exit_code == 4
    document = json.loads(result.stdout)
    [problem] = document["diagnostics"]
    assert problem["solver"] == "confirmed" and problem["witness"]["facts"] == {"n": 6, "flag": True}
    solver = document["policies"][0]["solver"]
    assert solver["rlimit"] == conflicts.RLIMIT and solver["total_rlimit"] == conflicts.TOTAL_RLIMIT
    assert solver["z3"] and solver["queries"] > 0 and solver["cached"] is False
    text = CliRunner().invoke(cli.cli, ["--no-cache", "validate", str(folder)])
    lines = text.stderr.splitlines()
    at = next(i for i, line in enumerate(lines) if ": c2: clauses `c1` and `c2`" in line)
    assert lines[at + 1:at + 3] == ["  a case where both apply (tiny 0.0.1):", "    n: 6, flag: true"]


def test_validating_the_bundled_policy_with_its_tests_never_loads_the_solver():
    # Every pair proven apart by the analysis, every clause made effective by a test: nothing to ask.
    program = ("import sys, pathlib, engine.validation as v\n"
               "report = v.validate_paths([pathlib.Path('policies/aqara-returns')])\n"
               "assert report.diagnostics == [], report.diagnostics\n"
               "assert report.policies[0]['solver'] is None\n"
               "assert 'z3' not in sys.modules, 'validate loaded z3'\n")
    done = subprocess.run([sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


# -- the analysis against the solver ----------------------------------------------------------------

@pytest.mark.parametrize("first, second", [
    ("n <= 5", "n > 5"), ("n in [1, 2]", "n == 3"), ("flag", "not flag"), ("n < 3 and flag", "n >= 3"),
    ("not (n > 2)", "n > 2"), ("twice > 10 and flag", "not flag"),
], ids=str)
def test_what_the_analysis_proves_apart_the_solver_proves_too(tmp_path, first, second):
    folder = write(tmp_path / "p", f"c1 | {first} | a\nc2 | {second} | b",
                   derived="twice: {expression: 'n * 2', description: Twice the count.}\n")
    policy_set = engine.load_policy_set(folder)[0]
    assert conflicts.candidates(policy_set.base) == []  # the analysis proves them apart
    session = clausesolver.Session(policy_set, conflicts.RLIMIT, conflicts.TOTAL_RLIMIT)
    assert clausesolver.conflicts(session, policy_set.base, [("out", "c1", "c2")]) == {("out", "c1", "c2"): "unsat"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(condition_strategy(), st.data())
def test_the_analysis_never_proves_apart_what_the_solver_finds_together(first, data):
    # The analysis is the first pass: a pair it proves apart never reaches the solver, so it must be
    # sound. Every pair it proves apart, the solver finds no case for either. (The second condition is
    # often built against the first, so that many pairs are apart.)
    second = data.draw(st.one_of(condition_strategy(), condition_strategy().map(lambda c: f"not ({first}) and ({c})"),
                                 st.just(f"not ({first})")))
    clauses = [{"id": "c1", "when": first, "then": {"out": "v1"}}, {"id": "c2", "when": second, "then": {"out": "v2"}}]
    outputs = {"out": {"type": "enum", "values": ["v0", "v1", "v2"], "default": "v0", "description": "The outcome."}}
    with tempfile.TemporaryDirectory() as folder:
        policy_set, problems = engine.load_policy_set(synthetic.write_policy(
            Path(folder), synthetic.policy_text(CONDITION_FACTS, outputs, clauses, CONDITION_PARAMETERS, CONDITION_DERIVED)))
    assume(policy_set is not None)
    policy = policy_set.base
    assume(conflicts.candidates(policy) == [])  # proven apart (or agreeing: they never do here)
    session = clausesolver.Session(policy_set, conflicts.RLIMIT, conflicts.TOTAL_RLIMIT)
    assume(not isinstance(session.form(policy), clausesolver.NotEncodable))
    form = session.form(policy)
    event("asked the solver")
    assert session.check(policy, [form.clause_applies("c1"), form.clause_applies("c2")]) in ("unsat", "unknown")


LOWER_LIMIT = """\
    variant:
      id: xx
      extends: tiny
      version: 0.0.1
      effective_from: "2026-01-01"
      title: Country XX
      countries: [XX]
      legal_sources:
        law: {act: The XX Act, url: https://example.org/xx}
    parameters:
      limit:
        value: 2
        description: The limit in XX.
        legal: {source: law, article: "s. 2", quote: The limit is two.}
    """


def test_a_pair_apart_in_the_base_and_together_in_a_variant_is_a_conflict_of_the_variant(tmp_path):
    facts = "country: {type: string, description: Where it was bought.}\n"
    text = "limit: {value: 10, description: The limit., origin: a test}\n"
    folder = write(tmp_path / "p", """
        c1 | twice > limit | a
        c2 | n < 3 | b
        """, facts=facts, derived="twice: {expression: 'n * 2', description: Twice the count.}\n", variant=LOWER_LIMIT)
    policy_text = (folder / "policy.yaml").read_text(encoding="utf-8")
    (folder / "policy.yaml").write_text(policy_text.replace("derived:\n", "parameters:\n  " + text + "derived:\n"), encoding="utf-8")
    [problem] = checked(folder, reachability=False).diagnostics
    # In the base, `n * 2 > 10` and `n < 3` never meet; in XX, `n * 2 > 2` and `n < 3` meet at n = 2.
    assert problem.details["solver"] == "confirmed"
    assert problem.details["witness"]["policy"] == "tiny 0.0.1 → xx 0.0.1"
    assert problem.details["witness"]["facts"]["n"] == 2 and problem.details["witness"]["facts"]["country"] == "XX"

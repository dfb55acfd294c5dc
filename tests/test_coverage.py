"""`verdict test --coverage` and `--min-coverage`."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

import cli
import engine
from conftest import AQARA, AQARA_VERSION, BASE_FACTS, REPO
from engine.evaluator import part_outcomes


def run(*args):
    # Coverage is of the YAML tests: the properties `verdict test` also proves are tests/test_prove.py's.
    args = list(args)
    if args[:1] == ["test"]:
        args.insert(1, "--no-properties")
    return CliRunner().invoke(cli.cli, args, catch_exceptions=False)


def test_the_shipped_policies_reach_full_clause_coverage():
    result = run("test", "--coverage", "--min-coverage", "100")
    assert result.exit_code == 0, result.output + result.stderr
    for origin, clauses in ((f"aqara-returns {AQARA_VERSION}", 30), ("eu 2.0.2", 10), ("eu 2.1.2", 10), ("uk 2.0.2", 10), ("au 1.1.1", 3)):
        assert f"coverage of the clauses of {origin} (" in result.output
        assert f"clauses made true {clauses}/{clauses} (100 %)" in result.output
    assert "  money-back-guarantee" in result.output


def test_min_coverage_fails_below_the_threshold(tmp_path, policy_copy):
    tests = policy_copy.folder / "tests"
    tests.mkdir()
    (tests / "one.yaml").write_text(
        "base_facts:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in BASE_FACTS.items()) +
        "tests:\n  - name: a single return\n    expect: {eligibility: eligible}\n", encoding="utf-8")
    low = run("test", str(policy_copy.folder), "--min-coverage", "50")
    assert low.exit_code == 1
    assert "1 passed, 0 failed" in low.output
    assert f"verdict: clause coverage of aqara-returns {AQARA_VERSION} is" in low.stderr and "under --min-coverage 50" in low.stderr
    table = run("test", str(policy_copy.folder), "--coverage")
    assert table.exit_code == 0
    assert "  retailer-referral                  NO    yes    NO" in table.output


def test_the_readme_coverage_table_is_what_the_tests_reach():
    # The README's table is a regression test: coverage (per clause, and per condition part made
    # true, false and unknown) must not move when the engine changes how it evaluates.
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\S+ \d+\.\d+\.\d+) \| (\d+) \| (\d+/\d+) \| (\d+/\d+) \| (\d+/\d+) \| (\d+/\d+) \|$", readme, re.M)
    assert len(rows) == 5, rows
    output = run("test", "--coverage").output
    for label, tests, clauses, true, false, unknown in rows:
        assert (f"coverage of the clauses of {label} ({tests} tests): clauses made true {clauses} (100 %); "
                f"condition parts made true {true}, false {false}, unknown {unknown}") in output


# -- suggested cases for what the tests did not cover (engine/suggest.py) -----------------------------

def write_tested_policy(folder: Path, when: str, tests: str, extra_clause: str = "") -> Path:
    """A policy with facts `n` (int, at least 0), `flag`, `day`, one clause `c1` with condition `when`
    (and `extra_clause`, a second one), and its tests."""
    source = "Rule one applies.\n"
    folder.mkdir(parents=True)
    (folder / "source.txt").write_text(source, encoding="utf-8")
    sha = hashlib.sha256(source.encode()).hexdigest()
    clause = "  - id: {id}\n    title: A clause\n    source: {{section: s, quote: Rule one applies.}}\n    when: \"{when}\"\n    then: {{out: a}}\n"
    (folder / "policy.yaml").write_text(
        f"policy: {{id: tiny, version: 0.0.1, effective_from: '2026-01-01', title: Tiny, source: {{file: source.txt, sha256: {sha}}}}}\n"
        "facts:\n  n: {type: int, minimum: 0, description: A count.}\n  flag: {type: bool, description: A flag.}\n"
        "  day: {type: date, description: A day.}\n"
        "outputs:\n  out: {type: enum, values: [a, b], default: b, description: The outcome.}\n"
        "clauses:\n" + clause.format(id="c1", when=when) + (clause.format(id="c2", when=extra_clause) if extra_clause else ""),
        encoding="utf-8")
    (folder / "tests").mkdir()
    (folder / "tests" / "t.yaml").write_text(textwrap.dedent(tests), encoding="utf-8")
    return folder


ONE_TEST = """\
    tests:
      - name: all true
        facts: {n: 6, flag: true, day: "2026-03-05"}
        expect: {out: a}
    """


def test_each_part_never_false_gets_a_case_at_its_boundary_that_the_engine_replays(tmp_path):
    folder = write_tested_policy(tmp_path / "p", "n > 5 and flag and day >= date('2026-03-01')", ONE_TEST)
    result = run("--no-cache", "test", str(folder), "--coverage", "--format", "json")
    [table] = json.loads(result.stdout)["coverage"]
    cases = table["suggestions"]["cases"]
    assert table["suggestions"]["without_case"] == []
    # The other parts true, this one false, at its boundary: n 5, the day before the first of March.
    assert [(c["facts"], c["covers"]) for c in cases] == [
        ({"n": 5, "flag": True, "day": "2026-03-01"}, [{"clause": "c1", "position": 0, "part": "n > 5", "result": "false"}]),
        ({"n": 6, "flag": False, "day": "2026-03-01"}, [{"clause": "c1", "position": 1, "part": "flag", "result": "false"}]),
        ({"n": 6, "flag": True, "day": "2026-02-28"},
         [{"clause": "c1", "position": 2, "part": "day >= date('2026-03-01')", "result": "false"}])]
    policy_set = engine.load_policy_set(folder)[0]
    for case in cases:  # each is a case the engine decides: the clause does not apply, for that part
        decision = engine.evaluate(policy_set, case["facts"])
        assert decision.outputs["out"].value == "b" and case["policy"] == "tiny 0.0.1"
        [target] = case["covers"]
        assert part_outcomes(policy_set.base, decision, policy_set.base.clause("c1"))[target["position"]][1] == "false"
    text = run("--no-cache", "test", str(folder), "--coverage").output
    assert ("  cases for the condition parts no test made true or false (found by the solver, replayed by the engine):\n"
            '    n: 5, flag: true, day: "2026-03-01"\n'
            "      makes `n > 5` of c1 false\n") in text


def test_one_case_covers_every_part_it_decides_and_a_part_that_cannot_be_false_says_why(tmp_path):
    # `n >= 0` holds for every count (the fact's minimum is 0); `flag` is never false in the tests, in
    # either clause, and one case makes it false in both.
    folder = write_tested_policy(tmp_path / "p", "n >= 0 and flag", ONE_TEST, extra_clause="flag and n > 1")
    result = run("--no-cache", "test", str(folder), "--coverage", "--format", "json")
    [table] = json.loads(result.stdout)["coverage"]
    [case] = table["suggestions"]["cases"]
    # (n is 0 in it, the count it prefers: so it makes `n > 1` of c2 false too, which no test did either.)
    assert [(t["clause"], t["part"], t["result"]) for t in case["covers"]] == [
        ("c1", "flag", "false"), ("c2", "flag", "false"), ("c2", "n > 1", "false")]
    assert table["suggestions"]["without_case"] == [
        {"clause": "c1", "position": 0, "part": "n >= 0", "result": "false", "why": "no case that tiny 0.0.1 decides makes it false"}]
    text = run("--no-cache", "test", str(folder), "--coverage").output
    assert "    no case makes `n >= 0` of c1 false: no case that tiny 0.0.1 decides makes it false\n" in text


def test_suggest_writes_case_files_that_verdict_eval_decides(tmp_path):
    folder = write_tested_policy(tmp_path / "p", "n > 5 and flag", ONE_TEST)
    result = run("--no-cache", "test", str(folder), "--suggest", str(tmp_path / "cases"))
    assert result.exit_code == 0, result.output
    assert "cases for the condition parts" in result.output  # --suggest implies --coverage
    written = sorted(p.name for p in (tmp_path / "cases").iterdir())
    assert written == ["tiny-0.0.1.c1.0.false.yaml", "tiny-0.0.1.c1.1.false.yaml"]
    text = (tmp_path / "cases" / written[0]).read_text(encoding="utf-8")
    assert text.startswith("# Suggested by verdict test --coverage (tiny 0.0.1; decided by tiny 0.0.1): it makes\n"
                           "#   clause `c1`: `n > 5` false\n")
    decided = run("--no-cache", "eval", str(tmp_path / "cases" / written[0]), "--policy", str(folder), "--format", "json")
    assert decided.exit_code == 0 and json.loads(decided.stdout)["outputs"] == {"out": "b"}  # the default: c1 did not apply


def test_full_part_coverage_needs_no_solver(tmp_path):
    tests = textwrap.dedent(ONE_TEST) + '  - name: small\n    facts: {n: 1, flag: false, day: "2026-03-05"}\n    expect: {out: b}\n'
    folder = write_tested_policy(tmp_path / "p", "n > 5 and flag", tests)
    program = ("import sys, json\nfrom click.testing import CliRunner\nimport cli\n"
               f"result = CliRunner().invoke(cli.cli, ['--no-cache', 'test', {str(folder)!r}, '--coverage', '--format', 'json'])\n"
               "assert json.loads(result.stdout)['coverage'][0]['suggestions'] == {'cases': [], 'without_case': []}\n"
               "assert 'z3' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_a_subset_of_the_aqara_tests_gets_cases_for_what_it_left_out():
    # The money-back tests alone leave parts of the base policy's warranty and procedure clauses never
    # true or never false: each gets a case, and each case gives every part it claims the result claimed.
    run_ = engine.testing.run_file(AQARA / "tests" / "money-back.yaml", {}, (), trace=True)
    merged = engine.testing.merge_runs([run_])
    tables = [t for t in engine.coverage.measure(merged) if t.label == f"aqara-returns {AQARA_VERSION}"]
    counts = tables[0].condition_counts()
    assert counts["true"][0] < counts["true"][1] and counts["false"][0] < counts["false"][1]
    engine.suggest.suggest(tables, merged)
    suggestions = tables[0].suggestions
    covered = {(t.clause, t.position, t.result) for case in suggestions.cases for t in case.covers}
    missing = {(clause, position, result) for clause, item in tables[0].clauses.items()
               for position, text in enumerate(item.conditions) for result in ("true", "false")
               if result not in item.conditions[text]}
    assert covered | {(t.clause, t.position, t.result) for t, _ in suggestions.none} == missing
    policy_set = merged[0][0]
    for case in suggestions.cases:
        decision = engine.evaluate(policy_set, case.facts)
        assert decision.made_by.identity.chain_label() == case.policy == f"aqara-returns {AQARA_VERSION}"
        for target in case.covers:
            clause = decision.made_by.clause(target.clause)
            assert part_outcomes(decision.made_by, decision, clause)[target.position][1] == target.result, target

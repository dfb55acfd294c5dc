"""`verdict test --coverage` and `--min-coverage`."""

from __future__ import annotations

import json

from click.testing import CliRunner

import cli
from conftest import AQARA_VERSION, BASE_FACTS


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

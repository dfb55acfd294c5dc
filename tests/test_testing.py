"""`verdict test` and `engine.testing`: choosing tests (-k), failures and their reasons, invalid files,
`excludes:`, one coverage figure, and the JSON and JUnit XML outputs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest
from click.testing import CliRunner

import cli
from conftest import AQARA, AQARA_VERSION, BASE_FACTS, REPO
from engine import coverage, testing
from engine.loader import display_path

POLICY = AQARA / "policy.yaml"


def run(*args):
    # `verdict test` here runs YAML tests; the properties it also proves are tests/test_prove.py's.
    args = [str(a) for a in args]
    if args[:1] == ["test"]:
        args.insert(1, "--no-properties")
    return CliRunner().invoke(cli.cli, ["--no-cache", *args], catch_exceptions=False)


def write_tests(folder, name: str, tests: str, policy=POLICY, base=BASE_FACTS):
    """A test file `folder/tests/name` over the bundled policy (or `policy`), with the base case's facts."""
    (folder / "tests").mkdir(parents=True, exist_ok=True)
    path = folder / "tests" / name
    path.write_text((f"policy: {policy}\n" if policy else "")
                    + "base_facts:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in base.items())
                    + "tests:\n" + tests, encoding="utf-8")
    return path


DAY_31 = ('  - name: day 31 is refused\n    facts: {request_at: "2026-04-01T00:01:00Z"}\n'
          '    expect: {eligibility: not_eligible}\n'
          '    expect_decided_by: {eligibility: [no-refund-after-30-days, non-quality-window-expired]}\n')
# Wrong under the bundled policy, which refunds on day 10 (money-back-guarantee).
WRONG = ('  - name: day 10 is wrongly refused\n    expect: {eligibility: not_eligible}\n'
         '    expect_decided_by: {eligibility: [no-refund-after-30-days, non-quality-window-expired]}\n')
DAY_10 = "  - name: day 10 is a refund\n    expect: {eligibility: eligible, remedies: [full_refund]}\n"
DAY_10_CANCEL = "  - name: Day 10 cancellation is allowed\n    facts: {request: cancel_order}\n    expect: {remedies: [cancel_order]}\n"


def in_order(text: str, expected: list[str]) -> None:
    """Each of `expected` is a whole line of `text`, in this order."""
    lines = text.splitlines()
    position = 0
    for line in expected:
        assert line in lines[position:], f"{line!r} not found after line {position}:\n{text}"
        position = lines.index(line, position) + 1


# -- -k ------------------------------------------------------------------------------------------


@pytest.fixture
def two_files(tmp_path):
    write_tests(tmp_path, "a.yaml", DAY_10 + DAY_10_CANCEL)
    write_tests(tmp_path, "b.yaml", DAY_10.replace("day 10 is a refund", "day 10 again"))
    return tmp_path


@pytest.mark.parametrize("patterns, ran", [
    (["DAY 10 IS"], ["day 10 is a refund"]),  # a part of the name, ignoring case
    (["CANCELLATION"], ["Day 10 cancellation is allowed"]),
    (["a.yaml::"], ["day 10 is a refund", "Day 10 cancellation is allowed"]),  # FILE::NAME, the file without folders
    (["b.yaml::day"], ["day 10 again"]),
    (["refund", "again"], ["day 10 is a refund", "day 10 again"]),  # repeated: any of them
], ids=["name", "name-2", "file", "file-and-name", "repeated"])
def test_k_runs_the_tests_whose_name_or_file_and_name_contains_the_pattern(two_files, patterns, ran):
    args = [a for p in patterns for a in ("-k", p)]
    result = run("test", two_files, "-v", *args)
    assert result.exit_code == 0, result.stdout
    assert [line[8:] for line in result.stdout.splitlines() if line.startswith("  ok    ")] == ran
    assert result.stdout.splitlines()[-1] == f"{len(ran)} passed, 0 failed, {3 - len(ran)} deselected by -k"


def test_k_hides_the_files_it_leaves_out(two_files):
    result = run("test", two_files, "-k", "again")
    assert result.stdout.splitlines() == [f"{display_path(two_files / 'tests' / 'b.yaml')}  (aqara-returns {AQARA_VERSION})",
                                          "1 passed, 0 failed, 2 deselected by -k"]


@pytest.mark.parametrize("patterns, message", [
    (["nothing like it"], "Invalid value for -k: no test name (or FILE::NAME) contains `nothing like it` (3 tests in 2 file(s))"),
    (["xx", "zz"], "Invalid value for -k: no test name (or FILE::NAME) contains `xx` or `zz` (3 tests in 2 file(s))"),
    ([" "], "Invalid value for -k: the pattern is empty"),
])
def test_k_that_matches_nothing_is_a_usage_error(two_files, patterns, message):
    result = run("test", two_files, *[a for p in patterns for a in ("-k", p)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == f"Error: {message}"
    assert "Traceback" not in result.output


def test_selected_is_a_plain_substring_of_file_and_name(tmp_path):
    path = tmp_path / "tests" / "eu.yaml"
    assert testing.test_id(path, "day 13") == "eu.yaml::day 13"
    assert testing.selected(path, "day 13", ())
    assert testing.selected(path, "day 13", ["U.YAML::DAY"])
    assert not testing.selected(path, "day 13", ["tests/eu.yaml"])  # no folders
    assert not testing.selected(path, "day 13", ["not day"])  # no expressions: `not` is text
    assert not testing.selected(path, "day 13", ["day*"])  # nor wildcards


# -- failures: the default line and --show-failures ----------------------------------------------


@pytest.fixture
def longer_window(policy_copy):
    """The money-back window changed from 30 to 45 days, with a test that still expects 30."""
    policy_copy.replace("  money_back_days:\n    value: 30", "  money_back_days:\n    value: 45")
    write_tests(policy_copy.folder, "window.yaml", DAY_31 + DAY_10, policy=None)
    return policy_copy


def test_a_failure_line_names_the_clauses_that_decided_what_it_got(longer_window):
    result = run("test", longer_window.folder)
    assert result.exit_code == 1
    where = display_path(longer_window.folder / "tests" / "window.yaml")
    assert result.stdout.splitlines() == [
        f"{where}  (aqara-returns {AQARA_VERSION})",
        f"  FAIL  day 31 is refused  ({where}:25:5)",
        "          eligibility: expected not_eligible, got eligible (decided by money-back-guarantee)",
        "          eligibility decided by: expected [no-refund-after-30-days, non-quality-window-expired], "
        "got [money-back-guarantee]",
        "(--show-failures adds the clauses that decided each difference and the values they read)",
        "1 passed, 1 failed",
    ]


def test_show_failures_gives_the_reasons_of_what_decided_and_why_not_the_expected_clauses(longer_window):
    result = run("test", longer_window.folder, "--show-failures")
    assert result.exit_code == 1
    policy_line = longer_window.line_of("money_back_request and days_since_purchase > money_back_days")
    in_order(result.stdout, [
        "          eligibility: expected not_eligible, got eligible (decided by money-back-guarantee)",
        "          what decided it:",
        "            money-back-guarantee: 30-day money-back guarantee for undamaged products",
        "              decided eligibility, remedies, refund_amount",
        "              because money_back_request = true; reason_category = non_quality; days_since_purchase = 31;",
        "              money_back_days = 45; product_damaged = false",
        "          why not the clauses expected:",
        "            [14] no-refund-after-30-days: not applicable",
        "                when   money_back_request and days_since_purchase > money_back_days",
        f"                  1. money_back_request → true  (policy.yaml:{policy_line}:11)",
        "                     read money_back_request = true  (derived)",
        f"                  2. days_since_purchase > money_back_days → false  (policy.yaml:{policy_line}:34)",
        "                     read days_since_purchase = 31  (derived)",
        "                     read money_back_days = 45  (parameter)",
        "                result false",
        "            [15] non-quality-window-expired: not applicable",
        "1 passed, 1 failed",
    ])
    assert "--show-failures adds" not in result.stdout


def test_show_failures_reuses_the_reasons_of_verdict_eval(longer_window, tmp_path):
    # The reasons are `verdict eval`'s REASONS entries, indented: one renderer, not two.
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"facts": {**BASE_FACTS, "request_at": "2026-04-01T00:01:00Z"}}), encoding="utf-8")
    evaluated = run("eval", case, "--policy", longer_window.folder, "--trace", "none").stdout.splitlines()
    start = evaluated.index("  money-back-guarantee: 30-day money-back guarantee for undamaged products")
    end = next(i for i in range(start + 1, len(evaluated)) if not evaluated[i].startswith("    "))
    shown = run("test", longer_window.folder, "--show-failures").stdout
    in_order(shown, ["          " + line for line in evaluated[start:end]])


def test_an_output_that_no_clause_set_says_so(tmp_path):
    write_tests(tmp_path, "t.yaml", "  - name: no warranty on a return\n    expect: {warranty_ends_on: '2027-03-05'}\n")
    result = run("test", tmp_path, "--show-failures")
    in_order(result.stdout, [
        "          warranty_ends_on: expected 2027-03-05, got null (no clause set it: the output's default)",
        "          what decided it:",
        "            warranty_ends_on: no clause set it, so its default null stands",
    ])


def test_a_wrong_expect_decided_by_alone_shows_both_sides(tmp_path):
    write_tests(tmp_path, "t.yaml", "  - name: day 10\n    expect: {eligibility: eligible}\n"
                "    expect_decided_by: {eligibility: [quality-return-in-window]}\n")
    result = run("test", tmp_path, "--show-failures")
    in_order(result.stdout, [
        "          eligibility decided by: expected [quality-return-in-window], got [money-back-guarantee]",
        "          what decided it:",
        "            money-back-guarantee: 30-day money-back guarantee for undamaged products",
        "          why not the clauses expected:",
    ])
    assert "] quality-return-in-window: not applicable" in result.stdout
    assert "                     read quality_claim = false  (derived)" in result.stdout.splitlines()


# -- invalid files --------------------------------------------------------------------------------


def test_an_invalid_file_is_reported_while_the_others_run(tmp_path):
    write_tests(tmp_path, "a-invalid.yaml", "  - name: a typo\n    expect: {eligibility: eligble}\n")
    write_tests(tmp_path, "b-failing.yaml", WRONG)
    write_tests(tmp_path, "c-passing.yaml", DAY_10)
    (tmp_path / "tests" / "d-syntax.yaml").write_text('tests:\n  - name: "unclosed\n', encoding="utf-8")
    result = run("test", tmp_path)
    # Invalid files come first in the exit code: 4, although a test failed too.
    assert result.exit_code == 4
    where = {name: display_path(tmp_path / "tests" / name) for name in ("a-invalid.yaml", "b-failing.yaml", "c-passing.yaml",
                                                                        "d-syntax.yaml")}
    lines = result.stdout.splitlines()
    assert lines[0] == f"{where['a-invalid.yaml']}  INVALID (1 problem(s), on standard error): none of its tests ran"
    assert lines[1] == f"{where['b-failing.yaml']}  (aqara-returns {AQARA_VERSION})"
    assert f"{where['c-passing.yaml']}  (aqara-returns {AQARA_VERSION})" in lines
    assert f"{where['d-syntax.yaml']}  INVALID (1 problem(s), on standard error): none of its tests ran" in lines
    assert lines[-1] == "1 passed, 1 failed, 2 invalid test file(s)"
    assert result.stderr.splitlines() == [
        f"{where['a-invalid.yaml']}:27:27: a typo: `eligble` is not a value of `eligibility`; did you mean `eligible`?",
        f"{where['d-syntax.yaml']}:2:11: the double-quoted value that starts here has no closing `\"` on this line: it "
        "runs to the end of the file; end the value with `\"` on this line; inside double quotes, write a quote as `\\\"`",
        "verdict: 2 invalid test file(s) or policy: their tests did not run",
    ]


def test_an_invalid_policy_is_reported_once_for_all_its_test_files(policy_copy):
    policy_copy.replace("when: sales_channel == 'other_retailer'", "when: sales_channel == 'other_retailr'")
    write_tests(policy_copy.folder, "a.yaml", DAY_10, policy=None)
    write_tests(policy_copy.folder, "b.yaml", DAY_10, policy=None)
    result = run("test", policy_copy.folder)
    assert result.exit_code == 4
    problems = [line for line in result.stderr.splitlines() if "other_retailr" in line]
    assert len(problems) == 1 and "retailer-referral: `'other_retailr'` is not a value of `sales_channel`" in problems[0]
    assert result.stdout.splitlines()[-1] == "0 passed, 0 failed, 2 invalid test file(s)"


def test_old_test_files_keep_working():
    # The shipped files predate `excludes`: every one still loads and passes.
    result = run("test")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1].endswith(" passed, 0 failed")


# -- excludes -------------------------------------------------------------------------------------


def test_excludes_checks_that_a_list_lacks_items(tmp_path):
    write_tests(tmp_path, "t.yaml",
                "  - name: a return within the window is not warranty service\n"
                "    excludes: {remedies: [warranty_service, repair]}\n"
                "  - name: wrongly excludes the refund\n"
                "    excludes: {remedies: [warranty_service, full_refund]}\n"
                "  - name: with expect, on day 40 without a reason\n"
                "    facts: {request_at: '2026-04-10T09:30:00Z'}\n"
                "    without: [reason_category]\n"
                "    expect: {eligibility: undetermined}\n"
                "    excludes: {remedies: [cancel_order]}\n")
    result = run("test", tmp_path, "-v")
    assert result.exit_code == 1
    in_order(result.stdout, [
        "  ok    a return within the window is not warranty service",
        "          remedies: expected to exclude [warranty_service, full_refund], got [full_refund] "
        "(full_refund from money-back-guarantee)",
        "          remedies: expected to exclude [cancel_order], got null (undetermined, needs reason_category)",
        "1 passed, 2 failed",
    ])


def test_excludes_is_checked_when_the_file_loads(tmp_path):
    path = write_tests(tmp_path, "t.yaml",
                       "  - name: on a single value\n    excludes: {eligibility: [eligible]}\n"
                       "  - name: typos\n    excludes: {remedies: [ful_refund], remedys: [full_refund]}\n"
                       "  - name: both ways\n    expect: {remedies: [full_refund]}\n    excludes: {remedies: [full_refund]}\n"
                       "  - name: neither\n    facts: {units_of_product: 2}\n")
    result = run("test", tmp_path)
    assert result.exit_code == 4
    first = 26  # the line of the first test
    where = display_path(path)
    assert result.stderr.splitlines()[:-1] == [
        f"{where}:{first + 7}:5: neither: tests[3]: missing required key `expect`; give `expect` (the values of outputs), "
        "`excludes` (items list outputs must not hold), or both",
    ]
    # Once the schema holds, the values are checked against the policy's outputs.
    path.write_text(path.read_text(encoding="utf-8").replace("  - name: neither\n    facts: {units_of_product: 2}\n", ""),
                    encoding="utf-8")
    result = run("test", tmp_path)
    assert result.stderr.splitlines()[:-1] == [
        f"{where}:{first + 1}:29: on a single value: `eligibility` is not a list output, so `excludes` cannot apply to it; "
        "check its value with `expect: {eligibility: ...}`",
        f"{where}:{first + 3}:26: typos: `ful_refund` is not a value of `remedies`; did you mean `full_refund`?",
        f"{where}:{first + 3}:40: typos: `remedys` is not an output of policy `aqara-returns`; did you mean `remedies`?",
        f"{where}:{first + 6}:26: both ways: `full_refund` is both expected in `remedies` and excluded from it",
    ]


def test_the_schema_takes_excludes_and_needs_expect_or_excludes():
    schema = json.loads((REPO / "schemas" / "policy-test.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"tests": [{"name": "old", "expect": {"eligibility": "eligible"}}]})
    assert validator.is_valid({"tests": [{"name": "new", "excludes": {"remedies": ["full_refund"]}}]})
    assert validator.is_valid({"tests": [{"name": "both", "expect": {"a": 1}, "excludes": {"remedies": ["x"]}}]})
    assert not validator.is_valid({"tests": [{"name": "neither"}]})
    assert not validator.is_valid({"tests": [{"name": "bare", "excludes": {"remedies": "full_refund"}}]})
    assert not validator.is_valid({"tests": [{"name": "empty", "excludes": {"remedies": []}}]})


# -- one coverage figure --------------------------------------------------------------------------


@pytest.mark.parametrize("part, whole, text", [
    (30, 31, "96.7"), (29, 30, "96.6"), (2, 30, "6.6"), (2, 3, "66.6"), (999, 1000, "99.9"), (1, 1, "100"),
    (1, 2, "50"), (0, 7, "0"), (0, 0, "100"), (1, 8, "12.5"),
])
def test_percent_text_cuts_never_rounds_up(part, whole, text):
    assert coverage.percent_text(part, whole) == text


def test_the_table_and_the_min_coverage_message_show_the_same_figure(tmp_path):
    # A cancellation makes 2 of the 30 clauses true: 6.66… %, which rounding would show as 6.7.
    write_tests(tmp_path, "t.yaml", "  - name: a cancellation\n    facts: {request: cancel_order}\n    expect: {remedies: []}\n")
    result = run("test", tmp_path, "--coverage", "--min-coverage", "6.7")
    assert result.exit_code == 1
    assert "clauses made true 2/30 (6.6 %)" in result.stdout
    assert f"verdict: clause coverage of aqara-returns {AQARA_VERSION} is 6.6 %, under --min-coverage 6.7" in result.stderr
    figures = json.loads(run("test", tmp_path, "--format", "json", "--min-coverage", "6.6").stdout)["coverage"]
    assert figures[0]["clauses"] == {"true": 2, "total": 30, "percent": 6.6}
    assert figures[0]["minimum"] == 6.6 and figures[0]["below_minimum"] is False  # 6.66… is not under 6.6


# -- --format json ----------------------------------------------------------------------------------


def test_json_lists_every_test_the_invalid_files_and_the_totals(tmp_path):
    write_tests(tmp_path, "a.yaml", WRONG + DAY_10.replace("day 10", "day 10 (CRD Art. 9)").replace(
        "    expect:", "    article: CRD Art. 9(1)\n    expect:"))
    write_tests(tmp_path, "b.yaml", "  - name: a typo\n    expect: {eligibility: eligble}\n  - name: fine\n"
                "    expect: {eligibility: eligible}\n")
    result = run("test", tmp_path, "--format", "json")
    assert result.exit_code == 4
    document = json.loads(result.stdout)  # nothing else on standard output
    a, b = (display_path(tmp_path / "tests" / name) for name in ("a.yaml", "b.yaml"))
    assert document["format_version"] == 1
    assert document["totals"] == {"passed": 1, "failed": 1, "invalid": 2, "deselected": 0, "files": 2, "invalid_files": 1}
    failed, passed, typo, fine = document["tests"]
    assert failed == {
        "file": a, "line": 26, "name": "day 10 is wrongly refused", "id": "a.yaml::day 10 is wrongly refused", "status": "failed",
        "policy": f"aqara-returns {AQARA_VERSION}",
        "differences": [
            {"kind": "value", "output": "eligibility", "expected": "not_eligible", "got": "eligible", "status": "decided",
             "clauses": ["money-back-guarantee"],
             "message": "eligibility: expected not_eligible, got eligible (decided by money-back-guarantee)"},
            {"kind": "decided_by", "output": "eligibility", "expected": ["no-refund-after-30-days", "non-quality-window-expired"],
             "got": ["money-back-guarantee"], "status": "decided", "clauses": ["money-back-guarantee"],
             "message": "eligibility decided by: expected [no-refund-after-30-days, non-quality-window-expired], "
                        "got [money-back-guarantee]"},
        ],
    }
    assert passed["status"] == "passed" and passed["article"] == "CRD Art. 9(1)" and passed["differences"] == []
    typo_problem = {"code": "expect_value", "message": "`eligble` is not a value of `eligibility`", "file": b, "line": 27,
                    "column": 27, "severity": "error", "subject": "a typo", "help": "did you mean `eligible`?"}
    assert typo == {"file": b, "line": 26, "name": "a typo", "id": "b.yaml::a typo", "status": "invalid",
                    "differences": [], "diagnostics": [typo_problem]}
    assert fine["status"] == "invalid" and fine["diagnostics"] == []
    assert document["invalid_files"] == [{"file": b, "diagnostics": [typo_problem]}]
    assert "coverage" not in document


def test_json_is_the_same_whatever_else_is_asked(tmp_path):
    write_tests(tmp_path, "a.yaml", WRONG + DAY_10)
    plain = run("test", tmp_path, "--format", "json")
    assert plain.exit_code == 1
    shown = run("test", tmp_path, "--format", "json", "--show-failures", "-v")
    assert shown.stdout == plain.stdout
    with_coverage = json.loads(run("test", tmp_path, "--format", "json", "--coverage").stdout)
    assert with_coverage["tests"] == json.loads(plain.stdout)["tests"]
    table = with_coverage["coverage"][0]
    assert table["label"] == f"aqara-returns {AQARA_VERSION}" and table["tests"] == 2 and "minimum" not in table
    [money_back] = [c for c in table["per_clause"] if c["clause"] == "money-back-guarantee"]
    assert money_back == {"clause": "money-back-guarantee", "origin": "aqara-returns", "true": True, "false": False,
                          "unknown": False, "condition_parts": {"total": 4, "true": 4, "false": 0, "unknown": 0}}


def test_json_of_the_shipped_tests_has_their_articles():
    document = json.loads(run("test", "--format", "json").stdout)
    assert document["totals"]["failed"] == 0 and document["totals"]["invalid_files"] == 0
    assert all(t["status"] == "passed" for t in document["tests"])
    assert any(t.get("article", "").startswith("CRD Art.") for t in document["tests"])


# -- --junit-xml ------------------------------------------------------------------------------------


def test_junit_xml_has_a_testcase_per_test_failures_and_invalid_files_as_errors(tmp_path):
    folder = tmp_path / "p"
    write_tests(folder, "a.yaml", WRONG + DAY_10.replace("    expect:", "    article: CRD Art. 9(1)\n    expect:"))
    write_tests(folder, "b.yaml", "  - name: a typo\n    expect: {eligibility: eligble}\n")
    report = tmp_path / "junit.xml"
    result = run("test", folder, "--junit-xml", report)
    assert result.exit_code == 4
    assert result.stdout.splitlines()[-1] == "1 passed, 1 failed, 1 invalid test file(s)"
    root = ET.parse(report).getroot()
    assert (root.tag, root.get("tests"), root.get("failures"), root.get("errors")) == ("testsuites", "3", "1", "1")
    a, b = (display_path(folder / "tests" / name) for name in ("a.yaml", "b.yaml"))
    suites = {s.get("name"): s for s in root}
    assert list(suites) == [a, b]
    refused, refund = suites[a].findall("testcase")
    assert refused.get("name") == "day 10 is wrongly refused" and refused.get("file") == a and refused.get("line") == "26"
    assert refused.get("classname") == a.removesuffix(".yaml").strip("/").replace("/", ".")
    failure = refused.find("failure")
    assert failure.get("message") == ("eligibility: expected not_eligible, got eligible (decided by money-back-guarantee); "
                                      "eligibility decided by: expected [no-refund-after-30-days, non-quality-window-expired], "
                                      "got [money-back-guarantee]")
    body = failure.text.splitlines()
    assert body[:3] == ["eligibility: expected not_eligible, got eligible (decided by money-back-guarantee)",
                        "eligibility decided by: expected [no-refund-after-30-days, non-quality-window-expired], "
                        "got [money-back-guarantee]", "what decided it:"]
    assert "  [14] no-refund-after-30-days: not applicable" in body
    assert refund.find("failure") is None and float(refund.get("time")) >= 0
    assert refund.find("properties/property").attrib == {"name": "article", "value": "CRD Art. 9(1)"}
    [invalid] = suites[b].findall("testcase")
    assert invalid.get("name") == "invalid test file" and suites[b].get("errors") == "1"
    error = invalid.find("error")
    assert error.get("message") == "invalid test file: 1 problem(s); its tests did not run"
    assert error.text == f"{b}:27:27: a typo: `eligble` is not a value of `eligibility`; did you mean `eligible`?"


def test_junit_xml_holds_any_test_name(tmp_path):
    # XML 1.0 cannot carry some control characters at all, even escaped; YAML can.
    write_tests(tmp_path / "p", "a.yaml", '  - name: "a <b> & \\x07 bell"\n    expect: {eligibility: not_eligible}\n')
    report = tmp_path / "junit.xml"
    run("test", tmp_path / "p", "--junit-xml", report)
    [case] = ET.parse(report).getroot().iter("testcase")
    assert case.get("name") == "a <b> & \ufffd bell"


def test_junit_xml_that_cannot_be_written_is_one_message(tmp_path):
    write_tests(tmp_path, "a.yaml", DAY_10)
    result = run("test", tmp_path, "--junit-xml", tmp_path / "no-such-folder" / "junit.xml")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (f"verdict: cannot write the JUnit XML file {tmp_path / 'no-such-folder' / 'junit.xml'}: "
                                              "No such file or directory")

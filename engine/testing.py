"""Policy tests written in YAML by policy owners: loading them, running them, and the differences.

A test file sits in a `tests/` folder beside its policy. Each test gives facts and the outputs it
expects, the items list outputs must not contain (`excludes`), optionally the clauses expected to
decide them and the facts expected to be missing. Results are data (`Mismatch`, `TestResult`,
`FileRun`); the CLI and pytest present them, and `run_to_dict` and `junit_xml` write them for programs.
"""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

from . import schema
from .api import POLICY_FILE, decide_in_set, load_policy_set
from .selection import unknown_variant
from .cases import Case, check_facts
from .errors import CaseError, Diagnostic, SourceLocation, did_you_mean, sorted_diagnostics
from .loader import TEST, SourceMap, display_path, load_document
from .model import Decision, Output, Policy, PolicySet, to_json_value
from .render import reason_lines, trace_lines
from .values import read_amount, read_value, show_value


@dataclass(frozen=True)
class TestCase:
    """One YAML test: the facts, and what it expects of the decision."""

    name: str
    location: SourceLocation
    facts: dict[str, Any]
    expect: dict[str, Any]
    expect_decided_by: dict[str, list[str]] = field(default_factory=dict)
    expect_missing_facts: list[str] | None = None
    variant: str | None = None  # decide under this variant instead of the one the facts select
    article: str = ""  # the provision that decides the case, for variant tests
    excludes: dict[str, list] = field(default_factory=dict)  # list output -> items it must not contain
    expect_refused: tuple[str, ...] | None = None  # the constraints the case must break, exactly

    __test__ = False  # not a pytest class


@dataclass(frozen=True)
class TestFile:
    """A loaded test file and the policy set its tests run on."""

    path: Path
    policy: PolicySet
    cases: tuple[TestCase, ...]

    __test__ = False


@dataclass(frozen=True)
class Mismatch:
    """One way a decision differs from what its test expects.

    `kind` is `value` (an `expect`ed output), `excludes` (a list output holds an item it must not),
    `decided_by`, `missing_facts`, `refused` (the case could not be decided) or `error` (a clause
    failed). `expected` and `got` are JSON values; for `excludes`, `expected` lists the items that
    must be absent. `status` and `clauses` say how the output got its value: the clauses that decided
    it (for `excludes`, those that gave the unwanted items), `missing` the facts it waits for.
    `message` is the one line shown by default.
    """

    kind: str
    message: str
    output: str = ""
    expected: Any = None
    got: Any = None
    status: str = ""
    clauses: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        item: dict[str, Any] = {"kind": self.kind}
        if self.kind not in ("refused", "error"):
            if self.output:
                item["output"] = self.output
            item.update(expected=self.expected, got=self.got)
        if self.status:
            item.update(status=self.status, clauses=list(self.clauses))
            if self.missing:
                item["missing_facts"] = list(self.missing)
        item["message"] = self.message
        return item


@dataclass(frozen=True)
class TestResult:
    """A test run: how the decision differs from what it expected (nothing when it passed)."""

    case: TestCase
    mismatches: tuple[Mismatch, ...]
    # The decision made (None when the case was refused), and the policy whose trace it carries,
    # for coverage and the decision log: a test's case is decided once.
    decision: Decision | None = field(default=None, compare=False)
    policy: Policy | None = field(default=None, compare=False)

    __test__ = False

    @property
    def passed(self) -> bool:
        return not self.mismatches

    @property
    def differences(self) -> tuple[str, ...]:
        """The one-line messages of the mismatches, in order."""
        return tuple(m.message for m in self.mismatches)


def discover_test_files(paths: list[Path]) -> list[Path]:
    """Test files under the paths: a file is taken as is; a folder is searched for `tests/*.yaml`."""
    found: list[Path] = []
    for path in paths:
        if path.is_file() and path.name == POLICY_FILE:
            found.extend(sorted(p for p in (path.parent / "tests").glob("*.y*ml") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            found.extend(sorted(p for p in path.rglob("tests/*.y*ml") if p.is_file()))
    return found


def load_test_file(path: Path, policies: dict[Path, tuple[PolicySet | None, list]] | None = None) -> tuple[TestFile | None, list[Diagnostic]]:
    """Load a test file and its policy; every problem in either is returned."""
    document, problems = load_document(path, TEST)
    if document is None:
        return None, problems
    name = _subject_of(document.data)
    loader_problems = [p.with_subject(name(p.path)) for p in problems]
    problems = [replace(p, help=_EXPECT_OR_EXCLUDES) if p.message.endswith("missing required key `expect`") else p
                for p in schema.check("policy-test", document.data, document.source_map, name)]
    if problems or loader_problems:
        return None, loader_problems + problems
    data = document.data
    policy_path = (path.parent / data["policy"]) if "policy" in data else path.parent.parent / POLICY_FILE
    cache = policies if policies is not None else {}
    key = policy_path.resolve()
    if key not in cache:
        cache[key] = load_policy_set(policy_path)
    policy, policy_problems = cache[key]
    if policy is None:
        return None, policy_problems or [Diagnostic("policy_not_found", f"cannot load the policy `{policy_path}`",
                                                    document.source_map.locate(("policy",)))]
    cases, problems = _cases(data, document.source_map, policy)
    if problems:
        return None, problems
    return TestFile(path, policy, tuple(cases)), []


# A test needs `expect` or `excludes`; the schema's own message names only the first.
_EXPECT_OR_EXCLUDES = "give `expect` (the values of outputs), `excludes` (items list outputs must not hold), or both"


def _subject_of(data: Any):
    def subject(path: tuple) -> str:
        if len(path) >= 2 and path[0] == "tests" and isinstance(path[1], int):
            try:
                return str(data["tests"][path[1]].get("name", f"test {path[1] + 1}"))
            except (KeyError, IndexError, TypeError, AttributeError):
                return f"test {path[1] + 1}"
        return ""

    return subject


def _cases(data: dict, source_map: SourceMap, policy_set: PolicySet) -> tuple[list[TestCase], list[Diagnostic]]:
    problems: list[Diagnostic] = []
    policy = policy_set.base
    clause_ids = [c.id for p in (policy, *policy_set.variants.values()) for c in p.clauses]
    every_fact = policy_set.facts
    base = data.get("base_facts") or {}
    base_values, base_problems = check_facts(base, policy_set, lambda n, key=False: source_map.locate(("base_facts", n), key=key))
    problems.extend(base_problems)
    cases = []
    for index, spec in enumerate(data["tests"]):
        path = ("tests", index)
        name = spec["name"]
        own, own_problems = check_facts(spec.get("facts") or {}, policy_set,
                                        lambda n, key=False: source_map.locate(path + ("facts", n), key=key))
        problems.extend(Diagnostic(d.code, d.message, d.location, name, d.help) for d in own_problems)
        facts = {**base_values, **own}
        for position, fact in enumerate(spec.get("without", [])):
            if fact not in every_fact:
                problems.append(Diagnostic("unknown_fact", f"`{fact}` is not a fact of policy `{policy.id}`",
                                           source_map.locate(path + ("without", position)), name,
                                           did_you_mean(fact, every_fact)))
            facts.pop(fact, None)
        expect = spec.get("expect") or {}
        for output, expected in expect.items():
            if output not in policy.outputs:
                problems.append(Diagnostic("unknown_output", f"`{output}` is not an output of policy `{policy.id}`",
                                           source_map.locate(path + ("expect", output), key=True), name,
                                           did_you_mean(output, policy.outputs)))
                continue
            problem = _expected_value_problem(policy.outputs[output], expected)
            if problem:
                problems.append(Diagnostic("expect_value", problem[0], source_map.locate(path + ("expect", output)),
                                           name, problem[1]))
        for output, items in (spec.get("excludes") or {}).items():
            problem = _excludes_problem(policy, output, items, expect.get(output))
            if problem:
                code, message, help_text = problem
                problems.append(Diagnostic(code, message, source_map.locate(path + ("excludes", output),
                                                                            key=code == "unknown_output"), name, help_text))
        for output, expected_ids in (spec.get("expect_decided_by") or {}).items():
            if output not in policy.outputs:
                problems.append(Diagnostic("unknown_output", f"`{output}` is not an output of policy `{policy.id}`",
                                           source_map.locate(path + ("expect_decided_by", output), key=True), name,
                                           did_you_mean(output, policy.outputs)))
            for position, clause_id in enumerate(expected_ids):
                if clause_id not in clause_ids:
                    problems.append(Diagnostic("unknown_clause", f"`{clause_id}` is not a clause of policy `{policy.id}`",
                                               source_map.locate(path + ("expect_decided_by", output, position)), name,
                                               did_you_mean(clause_id, clause_ids)))
        for position, fact in enumerate(spec.get("expect_missing_facts") or []):
            if fact not in every_fact:
                problems.append(Diagnostic("unknown_fact", f"`{fact}` is not a fact of policy `{policy.id}`",
                                           source_map.locate(path + ("expect_missing_facts", position)), name,
                                           did_you_mean(fact, every_fact)))
        constraint_names = {name for p in (policy_set.compiled or (policy_set.base,)) for name in p.constraints}
        for position, constraint in enumerate(spec.get("expect_refused") or []):
            if constraint not in constraint_names:
                problems.append(Diagnostic("unknown_constraint", f"`{constraint}` is not a constraint of policy `{policy.id}`",
                                           source_map.locate(path + ("expect_refused", position)), name,
                                           did_you_mean(constraint, constraint_names)))
        variant = spec.get("variant", data.get("variant"))
        wrong = unknown_variant(policy_set, variant, source_map.locate(path + ("variant",) if "variant" in spec else ("variant",)))
        if wrong is not None:
            problems.append(Diagnostic(wrong.code, wrong.message, wrong.location, name, wrong.help))
        cases.append(TestCase(name, source_map.locate(path), facts, expect,
                              spec.get("expect_decided_by") or {}, spec.get("expect_missing_facts"),
                              variant, spec.get("article", ""), spec.get("excludes") or {},
                              tuple(spec["expect_refused"]) if "expect_refused" in spec else None))
    return cases, problems


def _excludes_problem(policy: Policy, output: str, items: list, expected: Any) -> tuple[str, str, str] | None:
    """Why `excludes: {output: items}` can never be checked, as (code, message, help), or None: the
    output must be a list output, and the items values it may hold that are not also expected."""
    if output not in policy.outputs:
        return "unknown_output", f"`{output}` is not an output of policy `{policy.id}`", did_you_mean(output, policy.outputs)
    declared = policy.outputs[output]
    if not declared.collects:
        return ("excludes_not_a_list", f"`{output}` is not a list output, so `excludes` cannot apply to it",
                f"check its value with `expect: {{{output}: ...}}`")
    problem = _expected_value_problem(declared, items)
    if problem:
        return "expect_value", problem[0], problem[1]
    both = [item for item in items if isinstance(expected, list) and item in expected]
    if both:
        return "excludes_expected", f"`{both[0]}` is both expected in `{output}` and excluded from it", ""
    return None


def _expected_value_problem(output: Output, expected: Any) -> tuple[str, str] | None:
    """Why an expected value can never be what the output gives, or None. Null is always possible:
    it is how an undetermined output shows."""
    if expected is None:
        return None
    _, problem = read_value(output.name, output.type, expected, output.values)
    if problem and isinstance(expected, str):
        # `refund_amount: "59.99"`: the value is right, the quotes make it text.
        unquoted = _unquoted(expected)
        if unquoted is not None and not read_value(output.name, output.type, unquoted, output.values)[1]:
            return problem[0], "write it without quotes"
    return problem


def _unquoted(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def run_test(policy_set: PolicySet, case: TestCase, trace: bool = False) -> TestResult:
    """Decide the test's case and list every way the decision differs from what it expects.

    :param trace: record the decision's trace, for coverage, a decision log or `failure_lines`.
    """
    try:
        decision, policy = decide_in_set(policy_set, Case(case.name, case.facts), case.variant, trace=trace)
    except CaseError as error:
        if case.expect_refused is not None:
            broken = sorted(d.subject for d in error.diagnostics if d.code == "constraint_broken")
            others = [d for d in error.diagnostics if d.code != "constraint_broken"]
            if not others and broken == sorted(case.expect_refused):
                return TestResult(case, ())
            return TestResult(case, (Mismatch("refused", f"refused: expected the constraint(s) "
                                              f"{', '.join(sorted(case.expect_refused))} to be broken, got: "
                                              + "; ".join(d.message for d in error.diagnostics)),))
        return TestResult(case, tuple(Mismatch("refused", f"refused: {d.message}") for d in error.diagnostics))
    if case.expect_refused is not None:
        return TestResult(case, (Mismatch("refused", f"decided: expected the case to be refused for breaking "
                                          f"{', '.join(sorted(case.expect_refused))}"),))
    # A decision with run-time errors never passes, whatever the outputs happen to be.
    found = [Mismatch("error", f"evaluation error: {error.message}") for error in decision.errors]
    for output, expected in case.expect.items():
        result = decision.outputs[output]
        actual = to_json_value(result.value)
        if not _equal(expected, actual):
            found.append(Mismatch("value", f"{output}: expected {show_value(expected)}, got {show_value(actual)} "
                                  f"({_how(result)})", output, expected, actual, result.status, result.clauses,
                                  result.missing))
    for output, unwanted in case.excludes.items():
        result = decision.outputs[output]
        actual = to_json_value(result.value)
        present = [item for item in unwanted if isinstance(actual, list) and item in actual]
        if not present and result.status in ("decided", "default"):
            continue  # an undetermined list may yet hold them, a failed one is no answer
        # Name the clauses that gave the unwanted items, where a clause writes its list out.
        givers = tuple(c for c in result.clauses if _gives_any(policy, c, output, present)) or result.clauses
        how = (f"{', '.join(present)} from {', '.join(givers)}" if present and result.status == "decided"
               else _how(result))
        found.append(Mismatch("excludes", f"{output}: expected to exclude {show_value(list(unwanted))}, got "
                              f"{show_value(actual)} ({how})", output, list(unwanted), actual, result.status,
                              givers if present else result.clauses, result.missing))
    for output, expected_clauses in case.expect_decided_by.items():
        result = decision.outputs[output]
        if list(result.clauses) != list(expected_clauses):
            found.append(Mismatch("decided_by", f"{output} decided by: expected {show_value(list(expected_clauses))}, "
                                  f"got {show_value(list(result.clauses))}", output, list(expected_clauses),
                                  list(result.clauses), result.status, result.clauses, result.missing))
    if case.expect_missing_facts is not None and list(decision.missing_facts) != list(case.expect_missing_facts):
        found.append(Mismatch("missing_facts", f"missing facts: expected {show_value(list(case.expect_missing_facts))}, "
                              f"got {show_value(list(decision.missing_facts))}", "", list(case.expect_missing_facts),
                              list(decision.missing_facts)))
    return TestResult(case, tuple(found), decision, policy)


def _how(result) -> str:
    """How an output got its value, in the words of a failure line: which clauses decided it."""
    if result.status == "decided":
        return f"decided by {', '.join(result.clauses)}"
    if result.status == "undetermined":
        return f"undetermined, needs {', '.join(result.missing)}"
    if result.status == "default":
        return "no clause set it: the output's default"
    return "a clause failed" if result.status == "error" else result.status


def _gives_any(policy: Policy, clause_id: str, output: str, items: list) -> bool:
    clause = policy.clause(clause_id)
    value = clause.value_for(output) if clause else None
    if value is None or value.expression is not None:
        return False
    literal = to_json_value(value.literal)
    return isinstance(literal, list) and any(item in literal for item in items)


def _equal(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if type(actual) is Decimal:  # an amount of money: exactly the amount written (`5.00` is `5`)
        try:
            return read_amount(expected) == actual
        except ValueError:
            return False
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return abs(expected - actual) < 1e-9
    return expected == actual


# -- choosing tests, running files, and writing results for people and programs --------------------


def test_id(path: Path, name: str) -> str:
    """`money-back.yaml::day 31 is outside the window`: a test as `-k` and the JSON name it (the file's
    name without its folders, two colons, the test's name)."""
    return f"{path.name}::{name}"


def selected(path: Path, name: str, patterns: tuple[str, ...] | list[str]) -> bool:
    """`-k`: with no pattern every test; otherwise the tests of which some pattern, ignoring case, is a
    part of `test_id` (so of the name, or of `FILE::NAME`). Nothing else is special: no `and`, `or`,
    `not` or wildcards."""
    if not patterns:
        return True
    key = test_id(path, name).casefold()
    return any(pattern.casefold() in key for pattern in patterns)


@dataclass(frozen=True)
class FileRun:
    """One test file's run: the results of its selected tests, or why none of them could run.

    `problems` is not empty when the file (or its policy) is invalid: then no test of it ran, and
    `invalid_tests` names its selected tests, with their places, when the file could be read at all.
    `deselected` counts the tests `-k` left out.
    """

    path: Path
    policy: PolicySet | None = None
    results: tuple[TestResult, ...] = ()
    problems: tuple[Diagnostic, ...] = ()
    invalid_tests: tuple[tuple[str, SourceLocation], ...] = ()
    deselected: int = 0
    seconds: tuple[float, ...] = field(default=(), compare=False)  # each result's run time, for JUnit

    __test__ = False


def run_file(path: Path, policies: dict | None = None, patterns: tuple[str, ...] = (), trace: bool = False) -> FileRun:
    """Load a test file and run its tests that `patterns` select (see `selected`); an invalid file is
    a `FileRun` with its problems, never an exception, so that the other files still run.

    :param policies: the cache of loaded policies that `load_test_file` takes, shared between files.
    """
    loaded, problems = load_test_file(path, policies)
    if loaded is None:
        named = _named_tests(path)
        chosen = tuple((name, where) for name, where in named if selected(path, name, patterns))
        problems = problems or [Diagnostic("invalid_test_file", "the test file cannot be used", SourceLocation(display_path(path)))]
        return FileRun(path, problems=tuple(sorted_diagnostics(problems)), invalid_tests=chosen,
                       deselected=len(named) - len(chosen))
    results, seconds = [], []
    for case in loaded.cases:
        if selected(path, case.name, patterns):
            start = time.perf_counter()
            results.append(run_test(loaded.policy, case, trace))
            seconds.append(time.perf_counter() - start)
    return FileRun(path, loaded.policy, tuple(results), deselected=len(loaded.cases) - len(results), seconds=tuple(seconds))


def _named_tests(path: Path) -> list[tuple[str, SourceLocation]]:
    """The names of the tests of a file that could not be used, with their places, as far as it reads."""
    document, _ = load_document(path)
    tests = document.data.get("tests") if document is not None and isinstance(document.data, dict) else None
    if not isinstance(tests, list):
        return []
    return [(spec["name"], document.source_map.locate(("tests", index))) for index, spec in enumerate(tests)
            if isinstance(spec, dict) and isinstance(spec.get("name"), str)]


def failure_reasons(result: TestResult) -> list[str]:
    """Why a test failed, for `verdict test --show-failures`: the clauses that decided the outputs that
    differ, with their reasons as `verdict eval` gives them (quote, interpretation, the values they
    read: `render.reason_lines`); a line for an output no clause set or one left undetermined; and,
    for each clause a test expected to decide an output that it did not, its trace: why it did not
    apply (`render.trace_lines`). Lines are indented by two spaces; [] for a passed or refused test.
    """
    decision, policy = result.decision, result.policy
    if result.passed or decision is None or policy is None:
        return []
    if decision.trace is None:
        return ["  (decided without a trace, so without reasons)"]
    outputs = list(dict.fromkeys(m.output for m in result.mismatches if m.output))
    if any(m.kind == "missing_facts" for m in result.mismatches):
        outputs += [name for name, r in decision.outputs.items() if r.status == "undetermined" and name not in outputs]
    deciding = list(dict.fromkeys(c for m in result.mismatches if m.output for c in m.clauses))
    lines = reason_lines(decision, policy, deciding)
    for output in outputs:
        outcome = decision.outputs[output]
        if outcome.status == "default":
            lines.append(f"  {output}: no clause set it, so its default {show_value(outcome.value)} stands")
        elif outcome.status == "undetermined":
            lines.append(f"  {output} is undetermined: the case does not give {', '.join(outcome.missing)}")
    lines = ["what decided it:", *lines] if lines else []
    expected = list(dict.fromkeys(c for m in result.mismatches if m.kind == "decided_by" for c in m.expected
                                  if c not in m.got))
    if expected:
        lines.append("why not the clauses expected:")
        known = {d.clause for d in policy.disabled} | {c.id for c in policy.clauses}
        lines.extend(f"  {c}: not a clause of {policy.identity.chain_label()}, which decided this test"
                     for c in expected if c not in known)
        lines.extend(trace_lines(decision, policy, expected))
    return lines


def totals(runs: list[FileRun]) -> dict[str, int]:
    """passed, failed, invalid (selected tests of invalid files), deselected (by `-k`), files, invalid_files."""
    results = [r for run in runs for r in run.results]
    return {"passed": sum(1 for r in results if r.passed), "failed": sum(1 for r in results if not r.passed),
            "invalid": sum(len(run.invalid_tests) for run in runs), "deselected": sum(run.deselected for run in runs),
            "files": len(runs), "invalid_files": sum(1 for run in runs if run.problems)}


#: The version of `verdict test --format json`'s document; a change that removes or renames a key raises it.
REPORT_FORMAT_VERSION = 1


def run_to_dict(runs: list[FileRun], coverage: list[dict] | None = None) -> dict:
    """`verdict test --format json`: every selected test (file, line, name, id, status `passed`,
    `failed` or `invalid`, the policy chain that decided it, its article and variant if any, and its
    differences as `Mismatch.to_dict`), the invalid files with their diagnostics (`Diagnostic.to_dict`),
    the totals, and the coverage tables when measured."""
    tests = []
    for run in runs:
        file = display_path(run.path)
        for result in run.results:
            case = result.case
            item: dict[str, Any] = {"file": file, "line": case.location.line, "name": case.name,
                                    "id": test_id(run.path, case.name), "status": "passed" if result.passed else "failed"}
            if result.decision is not None:
                item["policy"] = result.decision.policy.chain_label()
            if case.variant:
                item["variant"] = case.variant
            if case.article:
                item["article"] = case.article
            item["differences"] = [m.to_dict() for m in result.mismatches]
            tests.append(item)
        for name, where in run.invalid_tests:
            tests.append({"file": file, "line": where.line, "name": name, "id": test_id(run.path, name), "status": "invalid",
                          "differences": [], "diagnostics": [d.to_dict() for d in run.problems if d.subject == name]})
    document = {
        "format_version": REPORT_FORMAT_VERSION,
        "tests": tests,
        "invalid_files": [{"file": display_path(run.path), "diagnostics": [d.to_dict() for d in run.problems]}
                          for run in runs if run.problems],
        "totals": totals(runs),
    }
    if coverage is not None:
        document["coverage"] = coverage
    return document


# Characters XML 1.0 cannot hold at all, even escaped: a test name could carry one.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def junit_xml(runs: list[FileRun], properties: Iterable[dict] = ()) -> str:
    """JUnit XML as CI systems read it: a `testsuite` per test file that ran or was invalid, a `testcase`
    per selected test (`classname` the file's path in dots, as pytest writes modules; `file`, `line`;
    the article as a property), a `failure` per failed test whose message is its difference lines
    joined by `; ` and whose text adds `failure_reasons` when the decision was traced, and for an
    invalid file one `testcase` named `invalid test file` holding an `error` with every diagnostic.

    :param properties: the outcomes of proving the policies' properties, as `verdict prove --format
        json` writes each (`prove_render.outcome_to_dict`): a `testsuite` named `properties`, a
        `testcase` per property and policy, a `failure` when refuted, an `error` for an internal
        error, `skipped` when neither proved nor refuted."""

    def clean(text: str) -> str:
        return _NOT_XML.sub("\ufffd", text)

    counts = totals(runs)
    root = ET.Element("testsuites", {"name": "verdict test", "tests": str(counts["passed"] + counts["failed"] + counts["invalid_files"]),
                                     "failures": str(counts["failed"]), "errors": str(counts["invalid_files"])})
    for run in runs:
        if not run.results and not run.problems:
            continue  # every test of the file deselected
        file = display_path(run.path)
        classname = clean(Path(file).with_suffix("").as_posix().strip("/").replace("/", "."))
        failed = sum(1 for r in run.results if not r.passed)
        suite = ET.SubElement(root, "testsuite", {
            "name": clean(file), "tests": str(len(run.results) + (1 if run.problems else 0)), "failures": str(failed),
            "errors": str(1 if run.problems else 0), "skipped": "0", "time": f"{sum(run.seconds):.6f}"})
        if run.problems:
            case = ET.SubElement(suite, "testcase", {"classname": classname, "name": "invalid test file", "file": clean(file),
                                                     "time": "0"})
            error = ET.SubElement(case, "error", {"type": "invalid_test_file", "message": clean(
                f"invalid test file: {len(run.problems)} problem(s); its tests did not run")})
            error.text = clean("\n".join(d.one_line() for d in run.problems))
        for result, seconds in zip(run.results, run.seconds or (0.0,) * len(run.results)):
            case = ET.SubElement(suite, "testcase", {"classname": classname, "name": clean(result.case.name), "file": clean(file),
                                                     "line": str(result.case.location.line), "time": f"{seconds:.6f}"})
            if result.case.article:
                ET.SubElement(ET.SubElement(case, "properties"), "property", {"name": "article", "value": clean(result.case.article)})
            if not result.passed:
                failure = ET.SubElement(case, "failure", {"type": "failed", "message": clean("; ".join(result.differences))})
                failure.text = clean("\n".join([*result.differences, *failure_reasons(result)]))
    _junit_properties(root, list(properties), clean)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _junit_properties(root, rows: list[dict], clean) -> None:
    if not rows:
        return
    failed = sum(1 for r in rows if r["status"] == "refuted")
    errors = sum(1 for r in rows if r["status"] == "encoding_mismatch")
    skipped = sum(1 for r in rows if r["status"] in ("unknown", "not_encodable"))
    root.set("tests", str(int(root.get("tests", "0")) + len(rows)))
    root.set("failures", str(int(root.get("failures", "0")) + failed))
    root.set("errors", str(int(root.get("errors", "0")) + errors))
    suite = ET.SubElement(root, "testsuite", {"name": "properties", "tests": str(len(rows)), "failures": str(failed),
                                              "errors": str(errors), "skipped": str(skipped), "time": "0"})
    for row in rows:
        case = ET.SubElement(suite, "testcase", {"classname": clean(row["policy"]), "name": clean(row["property"]), "time": "0"})
        example = row["counterexample"]
        if row["status"] == "refuted" and example is not None:
            reads = ", ".join(f"{name} = {show_value(value)}" for name, value in example["reads"].items())
            failure = ET.SubElement(case, "failure", {"type": "refuted", "message": clean(
                f"{row['description']}: the assertion is {example['assert']} in a counterexample ({reads})")})
            failure.text = clean("\n".join(f"{name}: {show_value(value)}" for name, value in example["facts"].items()))
        elif row["status"] == "encoding_mismatch":
            ET.SubElement(case, "error", {"type": "encoding_mismatch", "message": clean(row["detail"] or "")})
        elif row["status"] != "proved":
            ET.SubElement(case, "skipped", {"message": clean(f"{row['status']}: {row['detail'] or ''}")})


def merge_runs(runs: list) -> list:
    """One entry per policy set, with the test results of every file that uses it (for coverage)."""
    merged: dict[int, tuple] = {}
    for run in runs:
        if run.policy is not None:
            merged.setdefault(id(run.policy), (run.policy, []))[1].extend(run.results)
    return list(merged.values())

"""Policy tests written in YAML by policy owners: loading them, running them, and the differences.

A test file sits in a `tests/` folder beside its policy. Each test gives facts and the outputs it
expects, optionally the clauses expected to decide them and the facts expected to be missing.
Results are data; the CLI and pytest present them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import schema
from .api import POLICY_FILE, decide_in_set, load_policy_set
from .cases import Case, check_facts
from .errors import CaseError, Diagnostic, SourceLocation, did_you_mean
from .loader import SourceMap, load_document
from .model import Decision, Output, Policy, PolicySet, to_json_value
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

    __test__ = False  # not a pytest class


@dataclass(frozen=True)
class TestFile:
    """A loaded test file and the policy set its tests run on."""

    path: Path
    policy: PolicySet
    cases: tuple[TestCase, ...]

    __test__ = False


@dataclass(frozen=True)
class TestResult:
    """A test run: the differences from what it expected (none when it passed)."""

    case: TestCase
    differences: tuple[str, ...]
    # The decision made (None when the case was refused), and the policy whose trace it carries,
    # for coverage and the decision log: a test's case is decided once.
    decision: Decision | None = field(default=None, compare=False)
    policy: Policy | None = field(default=None, compare=False)

    __test__ = False

    @property
    def passed(self) -> bool:
        return not self.differences


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
    document, problems = load_document(path)
    if document is None:
        return None, problems
    name = _subject_of(document.data)
    loader_problems = [p.with_subject(name(p.path)) for p in problems]
    problems = schema.check("policy-test", document.data, document.source_map, name)
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
    variants = [policy_set.id, *policy_set.variants]
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
        for output, expected in spec["expect"].items():
            if output not in policy.outputs:
                problems.append(Diagnostic("unknown_output", f"`{output}` is not an output of policy `{policy.id}`",
                                           source_map.locate(path + ("expect", output), key=True), name,
                                           did_you_mean(output, policy.outputs)))
                continue
            problem = _expected_value_problem(policy.outputs[output], expected)
            if problem:
                problems.append(Diagnostic("expect_value", problem[0], source_map.locate(path + ("expect", output)),
                                           name, problem[1]))
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
        variant = spec.get("variant", data.get("variant"))
        if variant is not None and variant not in variants:
            problems.append(Diagnostic("unknown_variant", f"`{variant}` is not a variant of `{policy.id}`",
                                       source_map.locate(path + ("variant",) if "variant" in spec else ("variant",)), name,
                                       did_you_mean(variant, variants) or f"known: {', '.join(variants)}"))
        cases.append(TestCase(name, source_map.locate(path), facts, spec["expect"],
                              spec.get("expect_decided_by") or {}, spec.get("expect_missing_facts"),
                              variant, spec.get("article", "")))
    return cases, problems


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
    """Decide the test's case and list every difference from what it expects.

    :param trace: record the decision's trace, for coverage or a decision log.
    """
    try:
        decision, policy = decide_in_set(policy_set, Case(case.name, case.facts), case.variant, trace=trace)
    except CaseError as error:
        return TestResult(case, tuple(f"refused: {d.message}" for d in error.diagnostics))
    # A decision with run-time errors never passes, whatever the outputs happen to be.
    differences = [f"evaluation error: {error.message}" for error in decision.errors]
    for output, expected in case.expect.items():
        result = decision.outputs[output]
        actual = to_json_value(result.value)
        if not _equal(expected, actual):
            why = (f"decided by {', '.join(result.clauses)}" if result.status == "decided" else
                   f"undetermined, needs {', '.join(result.missing)}" if result.status == "undetermined" else result.status)
            differences.append(f"{output}: expected {show_value(expected)}, got {show_value(actual)} ({why})")
    for output, expected_clauses in case.expect_decided_by.items():
        actual_clauses = list(decision.outputs[output].clauses)
        if actual_clauses != list(expected_clauses):
            differences.append(f"{output} decided by: expected {show_value(list(expected_clauses))}, got {show_value(actual_clauses)}")
    if case.expect_missing_facts is not None and list(decision.missing_facts) != list(case.expect_missing_facts):
        differences.append(f"missing facts: expected {show_value(list(case.expect_missing_facts))}, got {show_value(list(decision.missing_facts))}")
    return TestResult(case, tuple(differences), decision, policy)


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

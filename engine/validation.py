"""`verdict validate`: the policies and test files under some paths checked, with every problem and
a summary of what was checked, as data for the CLI (or CI) to print.

Besides loading (schema, names, types, quotes), each policy gets the clause checks of engine/conflicts.py
(conflicts, clauses that never apply or never win), with the solver where the analysis leaves a
question open. The YAML tests of the policy, those validated and those beside its file, are its first
witnesses: a clause some test case makes effective is not asked about."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import conflicts, release, testing
from .api import POLICY_FILE, load_policy_set
from .constraints import check as check_constraints
from .errors import Diagnostic, EngineError, sorted_diagnostics
from .evaluator import evaluate
from .loader import display_path
from .model import PolicySet
from .selection import select


class NothingToValidate(ValueError):
    """A path that does not exist, or paths that hold no policy or test file."""


@dataclass
class ValidationReport:
    """What was checked (`policies`, `test_files`: summaries) and every problem found, warnings included."""

    policies: list[dict] = field(default_factory=list)
    test_files: list[dict] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity != "warning"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    def to_dict(self) -> dict:
        """The document of `verdict validate --format json`."""
        return {"valid": not self.errors, "errors": len(self.errors), "warnings": len(self.warnings),
                "diagnostics": [d.to_dict() for d in self.diagnostics], "policies": self.policies,
                "test_files": self.test_files}


def validate_paths(targets: list[Path], cache=None) -> ValidationReport:
    """Check every policy file (with its variants, versions and releases) and every test file in
    `targets` (files, or folders searched for both). Raises `NothingToValidate`.

    :param cache: a plan cache (`cache.open_cache`) where the solver's findings are kept between runs.
    """
    problems: list[Diagnostic] = []
    policies, tests = [], []
    for target in targets:
        if not target.exists():
            raise NothingToValidate(f"`{target}` does not exist")
        if target.is_dir():
            # Kept copies of released versions are checked through their lock, not as policies of their own.
            policies.extend(sorted(f for f in target.rglob(POLICY_FILE) if not release.is_released_copy(f)))
            tests.extend(testing.discover_test_files([target]))
        elif target.parent.name == "tests":
            tests.append(target)
        else:
            policies.append(target)
    if not policies and not tests:
        raise NothingToValidate(f"no policy files ({POLICY_FILE}) found in {', '.join(map(str, targets))}")
    report = ValidationReport()
    loaded: dict = {}
    checked: list[tuple[Path, PolicySet, dict]] = []  # (file, its set, its summary)
    for file in policies:
        policy_set, found = load_policy_set(file)
        loaded[file.resolve()] = (policy_set, found)
        problems.extend(found)
        if policy_set:
            # What lies around the policy file: variant files it does not list, the lock of its releases.
            problems.extend(release.folder_problems(file, policy_set, display_path(file)))
            policy = policy_set.base
            report.policies.append({
                "file": display_path(file), "id": policy.id, "version": policy.identity.version,
                "clauses": len(policy.clauses),
                "variants": [{"id": variant_id, "chain": list(variant.identity.variant_chain), "clauses": len(variant.clauses),
                              "countries": len(variant.countries)} for variant_id, variant in sorted(policy_set.variants.items())],
                "solver": None})
            checked.append((file, policy_set, report.policies[-1]))
    cases: dict[int, list] = {}  # id of a policy set -> its test cases
    for file in tests:
        test_file, found = testing.load_test_file(file, loaded)
        if test_file:
            report.test_files.append({"file": display_path(file), "tests": len(test_file.cases)})
            cases.setdefault(id(test_file.policy), []).extend(test_file.cases)
        elif found and not any(d in problems for d in found):
            problems.extend(found)
    for file, policy_set, summary in checked:
        beside = [f for f in testing.discover_test_files([file]) if f not in tests]
        for extra in beside:  # not validated here (not asked for), only read for what they reach
            test_file, _ = testing.load_test_file(extra, loaded)
            if test_file is not None:
                cases.setdefault(id(test_file.policy), []).extend(test_file.cases)
        clause_checks = conflicts.check(policy_set, seen=seen_by_tests(policy_set, cases.get(id(policy_set), [])), cache=cache)
        problems.extend(clause_checks.diagnostics)
        summary["solver"] = clause_checks.solver or None
    report.diagnostics = sorted_diagnostics(problems)
    return report


def seen_by_tests(policy_set: PolicySet, cases: list) -> conflicts.Seen:
    """The clauses the test cases make effective (they apply and nothing sets them aside), under the
    policies that select them: each is shown reachable by a case, and needs no question to the solver.

    Read from the clauses that decide each decided output, so the cases are decided untraced (the fast
    path) and without settling missing facts by the solver."""
    effective = set()
    for case in cases:
        try:
            pool = select(policy_set, case.facts, case.variant).pool
            if pool and pool[0].constraints:
                check_constraints(pool, case.facts)
        except EngineError:  # refused, or a variant the set lacks: nothing applied
            continue
        for policy in pool:
            for result in evaluate(policy, case.facts, case.name, trace=False, settle=False).outputs.values():
                if result.status == "decided":
                    effective.update(result.clauses)
    return conflicts.Seen(frozenset(effective), frozenset(effective))

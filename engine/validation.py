"""`verdict validate`: the policies and test files under some paths checked, with every problem and
a summary of what was checked, as data for the CLI (or CI) to print."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import release, testing
from .api import POLICY_FILE, load_policy_set
from .errors import Diagnostic, sorted_diagnostics
from .loader import display_path


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


def validate_paths(targets: list[Path]) -> ValidationReport:
    """Check every policy file (with its variants, versions and releases) and every test file in
    `targets` (files, or folders searched for both). Raises `NothingToValidate`."""
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
    cache: dict = {}
    for file in policies:
        policy_set, found = load_policy_set(file)
        cache[file.resolve()] = (policy_set, found)
        problems.extend(found)
        if policy_set:
            # What lies around the policy file: variant files it does not list, the lock of its releases.
            problems.extend(release.folder_problems(file, policy_set, display_path(file)))
            policy = policy_set.base
            report.policies.append({
                "file": display_path(file), "id": policy.id, "version": policy.identity.version,
                "clauses": len(policy.clauses),
                "variants": [{"id": variant_id, "chain": list(variant.identity.variant_chain), "clauses": len(variant.clauses),
                              "countries": len(variant.countries)} for variant_id, variant in sorted(policy_set.variants.items())]})
    for file in tests:
        loaded, found = testing.load_test_file(file, cache)
        if loaded:
            report.test_files.append({"file": display_path(file), "tests": len(loaded.cases)})
        elif found and not any(d in problems for d in found):
            problems.extend(found)
    report.diagnostics = sorted_diagnostics(problems)
    return report

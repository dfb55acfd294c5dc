"""The policy owners' YAML tests, run by pytest too: one pytest test per YAML test."""

from __future__ import annotations

import pytest

from conftest import REPO
from engine import testing

FILES = testing.discover_test_files([REPO / "policies"])
_CACHE: dict = {}


def _collect():
    params = []
    for path in FILES:
        loaded, problems = testing.load_test_file(path, _CACHE)
        if loaded is None:
            params.append(pytest.param(path, None, problems, id=f"{path.name}::invalid"))
            continue
        for case in loaded.cases:
            params.append(pytest.param(path, case, (), id=f"{path.parent.parent.name}/{path.name}::{case.name}"))
    return params


def test_every_policy_ships_tests():
    policies = sorted(p.parent.name for p in (REPO / "policies").glob("*/policy.yaml"))
    with_tests = sorted({p.parent.parent.name for p in FILES})
    assert policies == with_tests


@pytest.mark.parametrize("path, case, problems", _collect())
def test_yaml_policy_test(path, case, problems):
    assert not problems, "\n".join(p.one_line() for p in problems)
    loaded, _ = testing.load_test_file(path, _CACHE)
    result = testing.run_test(loaded.policy, case)
    assert result.passed, f"{case.location}: {case.name}\n" + "\n".join(result.differences)


def test_every_clause_decides_in_some_yaml_test():
    decided: dict[str, set[str]] = {}
    for path in FILES:
        loaded, _ = testing.load_test_file(path, _CACHE)
        for case in loaded.cases:
            decision = testing.run_test(loaded.policy, case).decision
            decision_clauses = {c for result in decision.outputs.values() for c in result.clauses} if decision else set()
            decided.setdefault(loaded.policy.id, set()).update(decision_clauses)
    for path in FILES:
        loaded, _ = testing.load_test_file(path, _CACHE)
        every = {c.id for p in (loaded.policy.base, *loaded.policy.variants.values()) for c in p.clauses}
        never = sorted(every - decided[loaded.policy.id])
        assert never == [], f"clauses of {loaded.policy.id} that no YAML test exercises: {never}"

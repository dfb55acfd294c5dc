"""Shared fixtures: the bundled Aqara policy, a complete base case, and editable policy copies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import engine

REPO = Path(__file__).resolve().parent.parent
AQARA = REPO / "policies" / "aqara-returns"

BASE_FACTS = {
    "request": "return",
    "sales_channel": "aqara_online_store",
    "country_of_purchase": "US",
    "product_location_country": "US",
    "order_placed_at": "2026-03-01T10:00:00Z",
    "request_at": "2026-03-11T09:30:00Z",
    "shipped_at": "2026-03-02T08:00:00Z",
    "delivered_at": "2026-03-05T15:00:00Z",
    "tracking_number_issued": True,
    "units_of_product": 1,
    "corporate_purchase": False,
    "reason_category": "non_quality",
    "product_damaged": False,
    "all_accessories_included": True,
    "promotional_gifts_included": True,
    "original_packaging_included": True,
    "product_price": 59.99,
    "shipping_paid": 4.99,
    "replaceable": True,
    "previously_fully_refunded": False,
    "is_replacement_unit": False,
    "courier_refusal": "not_attempted",
}


@pytest.fixture(scope="session")
def aqara() -> engine.Policy:
    return engine.require_policy(AQARA)


@pytest.fixture
def decide(aqara):
    """Decide a variant of the base case: `decide(request_at=..., without=("reason_category",))`."""

    def run(without: tuple[str, ...] = (), **changes):
        facts = {**BASE_FACTS, **changes}
        for name in without:
            facts.pop(name)
        return engine.decide(aqara, engine.case_from_facts(aqara, facts, "test"))

    return run


class PolicyCopy:
    """A copy of the Aqara policy folder whose policy.yaml a test may edit."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.file = folder / "policy.yaml"

    @property
    def text(self) -> str:
        return self.file.read_text(encoding="utf-8")

    def replace(self, old: str, new: str, count: int = 1) -> None:
        text = self.text
        assert text.count(old) >= count, f"{old!r} is not in the policy"
        self.file.write_text(text.replace(old, new, count), encoding="utf-8")

    def line_of(self, needle: str) -> int:
        """The 1-based line of the first occurrence of `needle` in the (edited) policy."""
        for number, line in enumerate(self.text.splitlines(), start=1):
            if needle in line:
                return number
        raise AssertionError(f"{needle!r} not found")

    def problems(self) -> list:
        policy, problems = engine.load_policy(self.folder)
        assert policy is None or not problems
        return problems


@pytest.fixture
def policy_copy(tmp_path) -> PolicyCopy:
    folder = tmp_path / "aqara-returns"
    shutil.copytree(AQARA, folder, ignore=shutil.ignore_patterns("tests"))
    return PolicyCopy(folder)


TINY_SOURCE = "Rule one applies.\n"


@pytest.fixture
def tiny_policy(tmp_path):
    """Write a minimal policy from YAML fragments; returns (policy or None, problems)."""
    import hashlib
    import textwrap

    def build(facts: str, outputs: str, clauses: str):
        folder = tmp_path / "tiny"
        folder.mkdir(exist_ok=True)
        (folder / "source.txt").write_text(TINY_SOURCE, encoding="utf-8")
        sha = hashlib.sha256(TINY_SOURCE.encode()).hexdigest()
        text = (
            "policy: {id: tiny, version: 0.0.1, effective_from: '2026-01-01', title: Tiny,"
            f" source: {{file: source.txt, sha256: {sha}}}}}\n"
            "facts:\n" + textwrap.indent(textwrap.dedent(facts).strip(), "  ") + "\n"
            "outputs:\n" + textwrap.indent(textwrap.dedent(outputs).strip(), "  ") + "\n"
            "clauses:\n" + textwrap.indent(textwrap.dedent(clauses).strip(), "  ") + "\n"
        )
        (folder / "policy.yaml").write_text(text, encoding="utf-8")
        return engine.load_policy(folder)

    return build


def tiny_clause(clause_id: str, when: str, then: str) -> str:
    return (f"- id: {clause_id}\n  title: Clause {clause_id}\n  source: {{section: s, quote: Rule one applies.}}\n"
            f"  when: \"{when}\"\n  then: {then}\n")

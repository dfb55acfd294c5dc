"""Shared fixtures: the bundled Aqara policy, a complete base case, and editable policy copies."""

from __future__ import annotations

import os
import re
import shutil
import signal
from pathlib import Path

import pytest

import cli  # noqa: F401 - imported here once, so that the handler below replaces its own
import engine

# Importing `cli` installs the program's Ctrl-C handler (exit 130 at once): a test run keeps
# pytest's own, which stops the run with its summary.
signal.signal(signal.SIGINT, signal.default_int_handler)

REPO = Path(__file__).resolve().parent.parent
AQARA = REPO / "policies" / "aqara-returns"
#: The bundled policy's current version, as its file says: a test that means "the version in force"
#: names this, so that releasing the policy again changes no test.
AQARA_VERSION = re.search(r"^  version: (\S+)$", (AQARA / "policy.yaml").read_text(encoding="utf-8"), re.M).group(1)

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


@pytest.fixture(autouse=True, scope="session")
def _a_plan_cache_of_the_tests_own(tmp_path_factory):
    """The CLI caches compiled plans; the tests' go to a folder of their own, never the user's."""
    os.environ["VERDICT_CACHE_DIR"] = str(tmp_path_factory.mktemp("plan-cache"))


@pytest.fixture(scope="session")
def aqara() -> engine.Policy:
    return engine.load(AQARA).base  # the base policy itself: US cases, without variant selection


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
    # Without its releases: a test that edits the copy checks what it edits, not the lock (test_release does).
    shutil.copytree(AQARA, folder, ignore=shutil.ignore_patterns("tests", "released", "policy.lock"))
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


# -- conditions for the conflict check's property tests ------------------------------------------

# Facts, parameters and derived values that the atoms below read (see `policy_with_conditions`).
CONDITION_FACTS = {
    "k": {"type": "enum", "values": ["a", "b", "c"], "nullable": True, "description": "A kind."},
    "x": {"type": "number", "description": "A number."},
    "d": {"type": "date", "description": "A date."},
    "flag": {"type": "bool", "description": "A flag."},
    "nb": {"type": "bool", "nullable": True, "description": "A flag that may be null."},
}
# No NaN among them: a parameter that is not a finite number is refused when the policy loads.
CONDITION_PARAMETERS = {"lo": 5, "hi": 10}
CONDITION_DERIVED = {"big": "x > 50", "small_flag": "x <= 50 and flag"}

# Atoms the grouping reads (enum values and sets, ranges with equal and open bounds, hulls of
# number sets, dates, booleans, parameters as bounds) and atoms it must leave to `exclusive`
# (`!=`, `not in`, nullable booleans, calls). A nullable boolean is tested, not read bare: null
# would fail as a part of a condition, so validation asks for `nb == True` (or a guard).
ATOMS = (
    "k == 'a'", "k == 'b'", "k != 'a'", "k in ['a', 'b']", "k in ['b', 'c']", "k not in ['a']", "k == None",
    "k != None", "x < 5", "x <= 5", "x > 5", "x >= 5", "x == 5", "x != 5", "x in [0, 5.0]", "x in [7.5, 10]",
    "x >= lo", "x < hi", "lo <= x", "x > hi", "x == 10", "0 < x <= 10", "x > 7.5", "x <= 0",
    "d < date('2026-01-01')", "d >= date('2026-01-01')", "d == date('2026-06-01')",
    "flag", "not flag", "flag == True", "flag != True", "nb == True", "not nb", "nb == None", "nb == False",
    "big", "not big", "small_flag", "abs(x) > 3", "abs(x) <= 3",
)


def condition_strategy():
    """A hypothesis strategy of conditions: conjunctions of ATOMS, constants, disjunctions, negations."""
    from hypothesis import strategies as st

    conjunction = st.lists(st.sampled_from(ATOMS), min_size=1, max_size=3).map(" and ".join)
    return st.one_of(
        conjunction, conjunction, conjunction,
        st.sampled_from(["True", "False"]),
        st.tuples(conjunction, conjunction).map(lambda ab: f"({ab[0]}) or ({ab[1]})"),
        conjunction.map(lambda c: f"not ({c})"),
    )


def condition_analyzer():
    """A `ConditionAnalyzer` that sees the names of CONDITION_FACTS as the compiler does."""
    import ast

    from engine.analysis import ConditionAnalyzer

    return ConditionAnalyzer(CONDITION_PARAMETERS, lambda name: name in ("flag", "big", "small_flag"),
                             {name: ast.parse(text, mode="eval").body for name, text in CONDITION_DERIVED.items()})

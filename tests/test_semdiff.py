"""`verdict diff A B --witness` (engine/semdiff.py, engine/semregion.py): for each output two versions can
decide differently, a witness case the engine decides differently under each, and where the output differs."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import cli
import engine
from conftest import REPO
from engine import semdiff

DRAFT = REPO / "examples" / "impact" / "draft-thresholds"
CORPUS = REPO / "examples" / "impact" / "corpus.jsonl"
SOURCE = "Returns are refunded within 30 days of the order. Orders of more than 10 units are bulk orders.\n"


def write_shop(folder: Path, window: int = 30, bulk: int = 10) -> Path:
    """A small returns policy: a refund for an undamaged return within `window` days of the order (days
    counted by a derived value), a bulk note above `bulk` units; a request comes after its order."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "source.txt").write_text(SOURCE, encoding="utf-8")
    sha = hashlib.sha256(SOURCE.encode()).hexdigest()
    (folder / "policy.yaml").write_text(textwrap.dedent(f"""\
        policy: {{id: shop, version: 1.0.{window}, effective_from: '2026-01-01', title: Shop, source: {{file: source.txt, sha256: {sha}}}}}
        facts:
          request: {{type: enum, values: [return, repair], description: What the customer asks for.}}
          ordered_at: {{type: datetime, description: When the order was placed.}}
          requested_at: {{type: datetime, description: When the customer asked.}}
          damaged: {{type: bool, description: Whether the product is damaged.}}
          units: {{type: int, minimum: 1, description: Units ordered.}}
        parameters:
          window_days: {{value: {window}, unit: days, description: The refund window., origin: the owner}}
          bulk_units: {{value: {bulk}, unit: units, description: Above this an order is bulk., origin: the owner}}
        derived:
          days_since_order:
            expression: days_between(ordered_at, requested_at)
            description: Calendar days from the order to the request.
          bulk:
            expression: units > bulk_units
            description: A bulk order.
        constraints:
          requested_after_order:
            expression: requested_at >= ordered_at
            message: a request comes after its order
        outputs:
          refund: {{type: enum, values: [full, none], default: none, description: The refund.}}
          note: {{type: enum, values: [standard, bulk], default: standard, description: How the order is handled.}}
        clauses:
        - id: refund-in-window
          title: An undamaged return within the window is refunded
          source: {{section: s, quote: Returns are refunded within 30 days of the order.}}
          when: "request == 'return' and not damaged and days_since_order <= window_days"
          then: {{refund: full}}
        - id: bulk-note
          title: A bulk order is handled as such
          source: {{section: s, quote: Orders of more than 10 units are bulk orders.}}
          when: bulk
          then: {{note: bulk}}
        """), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def shops(tmp_path_factory):
    root = tmp_path_factory.mktemp("semdiff")
    return {"30": write_shop(root / "shop30"), "45": write_shop(root / "shop45", window=45),
            "45-20": write_shop(root / "shop45-20", window=45, bulk=20), "copy": write_shop(root / "copy")}


def compare(before: Path, after: Path, **options) -> semdiff.SemanticDiff:
    return semdiff.semantic_diff(semdiff.Side(engine.load(before)), semdiff.Side(engine.load(after)), **options)


def decide(folder: Path, facts: dict):
    return engine.evaluate(engine.load(folder), facts, trace=False)


# -- a known region ------------------------------------------------------------------------------------

def test_a_window_raised_from_30_to_45_days_differs_on_days_31_to_45(shops):
    result = compare(shops["30"], shops["45"])
    (pair,) = result.pairs
    refund, note = pair.outputs
    assert (note.output, note.status) == ("note", "cannot_differ")
    assert refund.output == "refund" and refund.status == "differs"
    # One piece holds every case that differs, proved: undamaged returns on days 31 to 45.
    (piece,) = refund.pieces
    assert refund.coverage == "all"
    assert piece.finite == (("request", ("return",)), ("damaged", ("false",)))
    (days,) = piece.measures
    assert (days.name, days.varied, days.runs, days.checked) == ("days_since_order", "requested_at", ((31, 45, False, False),), True)
    assert piece.description() == "request return, damaged false, days_since_order 31–45"
    # The witness is canonical (the first day of the window's edge, ten in the morning) and the engine
    # decides it differently under each version.
    assert piece.facts == {"request": "return", "ordered_at": "2026-01-01T10:00:00Z", "requested_at": "2026-02-01T10:00:00Z",
                           "damaged": False, "units": 1}
    assert (piece.before, piece.after) == ("none", "full")
    assert decide(shops["30"], piece.facts).outputs["refund"].value == "none"
    assert decide(shops["45"], piece.facts).outputs["refund"].value == "full"


def test_two_changes_give_two_outputs_each_with_its_region(shops):
    result = compare(shops["30"], shops["45-20"])
    refund, note = result.pairs[0].outputs
    assert refund.status == note.status == "differs"
    (piece,) = note.pieces
    assert piece.description() == "units 11–20"
    assert (piece.before, piece.after) == ("bulk", "standard")
    assert note.coverage == "all"


def test_identical_policies_have_no_witness(shops):
    result = compare(shops["30"], shops["copy"])
    assert [(o.output, o.status, o.pieces) for o in result.pairs[0].outputs] == [
        ("refund", "cannot_differ", ()), ("note", "cannot_differ", ())]
    text = semdiff.semantic_to_text(result)
    assert "refund: cannot differ: both versions compute it alike (the same terms)" in text
    assert "e.g." not in text


def test_the_same_question_gives_the_same_answer(shops):
    first = compare(shops["30"], shops["45-20"]).to_dict()
    engine.load(shops["45"])  # other terms made in between change nothing: each output has its own context
    compare(shops["45"], shops["30"])
    assert compare(shops["30"], shops["45-20"]).to_dict() == first


def test_a_fact_whose_type_changed_leaves_the_pair_not_compared(shops, tmp_path):
    numbers = write_shop(tmp_path / "numbers")
    text = (numbers / "policy.yaml").read_text(encoding="utf-8")
    (numbers / "policy.yaml").write_text(text.replace("units: {type: int, minimum: 1,", "units: {type: number, minimum: 1,"),
                                         encoding="utf-8")
    (pair,) = compare(shops["30"], numbers).pairs
    assert [(o.output, o.status) for o in pair.outputs] == [("refund", "not_compared"), ("note", "not_compared")]
    assert pair.outputs[0].reason == "fact `units` is int before and number after: no value is both"


def write_factors(folder: Path, when: str) -> Path:
    """Two factors whose product is a prime (1000003) in one version: no case, but hard to prove (nonlinear)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "source.txt").write_text("Two factors.\n", encoding="utf-8")
    sha = hashlib.sha256(b"Two factors.\n").hexdigest()
    (folder / "policy.yaml").write_text(textwrap.dedent(f"""\
        policy: {{id: factors, version: 1.0.0, effective_from: '2026-01-01', title: Factors, source: {{file: source.txt, sha256: {sha}}}}}
        facts:
          a: {{type: int, minimum: 2, maximum: 1000000000, description: One factor.}}
          b: {{type: int, minimum: 2, maximum: 1000000000, description: The other.}}
        outputs:
          hit: {{type: bool, default: false, description: Whether the product is the number.}}
        clauses:
        - id: product
          title: The product is the number
          source: {{section: s, quote: Two factors.}}
          when: "{when}"
          then: {{hit: true}}
        """), encoding="utf-8")
    return folder


def test_an_unknown_is_reported_as_such_never_as_an_answer(tmp_path):
    before = write_factors(tmp_path / "before", "a * b == 1000003")
    after = write_factors(tmp_path / "after", "a * b == 1000003 and a > 1000000000")
    result = compare(before, after, rlimit=2_000_000)
    (hit,) = result.pairs[0].outputs
    assert (hit.status, hit.reason, hit.pieces) == ("unknown", "the solver's budget ran out", ())
    text = semdiff.semantic_to_text(result)
    assert "  hit: unknown: the solver's budget ran out" in text and "e.g." not in text


# -- the command ------------------------------------------------------------------------------------------

@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli.cli, list(args), catch_exceptions=False)

    return invoke


def test_the_command_prints_the_region_the_witness_and_both_values(run, shops):
    result = run("diff", str(shops["30"]), str(shops["45"]), "--witness")
    assert result.exit_code == 0, result.output
    text = result.output
    assert "parameter changed: window_days: 30 → 45" in text  # the structural diff comes first, unchanged
    assert "before shop 1.0.30, after shop 1.0.45 (cases of any date):" in text
    assert "  refund: differs" in text
    assert "    1. where request return, damaged false, days_since_order 31–45:" in text
    assert ("       none → full, e.g. {request: return, ordered_at: 2026-01-01T10:00:00Z, requested_at: "
            "2026-02-01T10:00:00Z, damaged: false, units: 1}") in text
    assert "every case that differs is in one of these pieces" in text
    assert "  note: cannot differ: both versions compute it alike (the same terms)" in text
    assert run("diff", str(shops["30"]), str(shops["45"]), "--witness").output == text


def test_the_json_contract(run, shops):
    result = run("diff", str(shops["30"]), str(shops["45-20"]), "--witness", "--format", "json")
    document = json.loads(result.output)
    assert {"before", "after", "summary", "changes"} <= set(document)  # what diff gave before, unchanged
    semantic = document["semantic"]
    assert set(semantic) == {"solver", "pairs", "unpaired"}
    assert semantic["solver"]["name"] == "z3" and semantic["solver"]["rlimit"] == semdiff.RLIMIT
    (pair,) = semantic["pairs"]
    assert set(pair) == {"before", "after", "dates", "notes", "outputs"}
    assert pair["dates"] == {"from": None, "until": None} and pair["notes"] == []
    refund, note = pair["outputs"]
    assert set(refund) == {"output", "status", "witness", "description", "region"}
    assert refund["witness"]["before"] == "none" and refund["witness"]["after"] == "full"
    assert refund["description"] == "request return, damaged false, days_since_order 31–45"
    assert refund["region"]["coverage"] == "all"
    (piece,) = refund["region"]["pieces"]
    assert piece["finite"] == {"request": ["return"], "damaged": ["false"]}
    assert piece["measures"] == [{"name": "days_since_order", "varied": "requested_at",
                                  "runs": [{"from": 31, "to": 45}], "gaps_checked": True}]
    assert note["description"] == "units 11–20"


def test_witness_files_are_cases_each_version_decides_differently(run, shops, tmp_path):
    out = tmp_path / "witnesses"
    result = run("diff", str(shops["30"]), str(shops["45-20"]), "--witness-dir", str(out))
    assert result.exit_code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["01-shop.note.1.yaml", "01-shop.refund.1.yaml"]
    for name, output in (("01-shop.refund.1.yaml", "refund"), ("01-shop.note.1.yaml", "note")):
        case = yaml.safe_load((out / name).read_text(encoding="utf-8"))
        assert case["id"] == name.removesuffix(".yaml")
        before = run("eval", str(out / name), "--policy", str(shops["30"]), "--format", "json")
        after = run("eval", str(out / name), "--policy", str(shops["45-20"]), "--format", "json")
        assert json.loads(before.output)["outputs"][output] != json.loads(after.output)["outputs"][output]


def test_a_witness_dir_that_is_a_file_is_a_usage_error(shops, tmp_path):
    (tmp_path / "taken").write_text("", encoding="utf-8")
    result = CliRunner().invoke(cli.cli, ["diff", str(shops["30"]), str(shops["45"]), "--witness-dir", str(tmp_path / "taken")])
    assert result.exit_code == 2
    assert "is a file" in result.output


def test_diff_without_witness_never_loads_the_solver(shops):
    program = ("import sys, cli\n"
               f"sys.argv = ['verdict', 'diff', {str(shops['30'])!r}, {str(shops['45'])!r}]\n"
               "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
               "assert 'z3' not in sys.modules, 'verdict diff loaded z3'\n")
    done = subprocess.run([sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "parameter changed: window_days: 30 → 45" in done.stdout


# -- the acceptance: the bundled policy against the hypothetical draft ----------------------------------

@pytest.fixture(scope="module")
def acceptance():
    """`verdict diff policies/aqara-returns examples/impact/draft-thresholds --witness --format json`,
    once for the tests below (every variant and dated version: about two minutes)."""
    result = CliRunner().invoke(cli.cli, ["diff", str(REPO / "policies" / "aqara-returns"), str(DRAFT), "--witness",
                                          "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0
    return json.loads(result.output)["semantic"]


def _changed_in_corpus() -> dict[tuple[str, str], set[str]]:
    """The outputs the example corpus sees change, per pair of policies that decided its cases."""
    before, after = engine.load("aqara-returns"), engine.load(DRAFT)
    changed: dict[tuple[str, str], set[str]] = {}
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        facts = json.loads(line)["facts"]
        try:
            a, b = engine.evaluate(before, facts, trace=False), engine.evaluate(after, facts, trace=False)
        except engine.EngineError:
            continue
        for name, result in a.outputs.items():
            other = b.outputs[name]
            if {result.status, other.status} <= {"decided", "default"} and result.value != other.value:
                key = (a.made_by.identity.chain_label(), b.made_by.identity.chain_label())
                changed.setdefault(key, set()).add(name)
    return changed


def test_every_output_that_changes_has_a_witness(acceptance):
    outputs = {(p["before"], p["after"]): {o["output"]: o for o in p["outputs"]} for p in acceptance["pairs"]}
    # The base and every variant (both EU versions) against their drafts, nothing unpaired.
    assert len(outputs) == 5 and acceptance["unpaired"] == []
    changed = _changed_in_corpus()
    assert changed  # the corpus does see changes (33 cases)
    for pair, names in changed.items():
        for name in names:
            assert outputs[pair][name]["status"] == "differs", (pair, name, outputs[pair][name])
    # An output whose terms are the same in both is proved unchanged; nothing is left unconfirmed.
    statuses = {o["status"] for per in outputs.values() for o in per.values()}
    assert statuses <= {"differs", "cannot_differ", "unknown"}
    assert all(per["refund_due_by"]["status"] == "cannot_differ" for per in outputs.values())


def test_every_witness_decided_under_both_differs(acceptance):
    before, after = engine.load("aqara-returns"), engine.load(DRAFT)
    shown = 0
    for pair in acceptance["pairs"]:
        for item in pair["outputs"]:
            for piece in item.get("region", {}).get("pieces", []):
                a = engine.evaluate(before, {k: v for k, v in piece["facts"].items() if k in before.facts})
                b = engine.evaluate(after, {k: v for k, v in piece["facts"].items() if k in after.facts})
                assert (a.made_by.identity.chain_label(), b.made_by.identity.chain_label()) == (pair["before"], pair["after"])
                values = [json.loads(engine.decision_to_json(d, "none"))["outputs"][item["output"]] for d in (a, b)]
                assert values[0] != values[1], (pair["before"], item["output"], piece["facts"])
                assert values == [piece["before"], piece["after"]]
                shown += 1
    assert shown >= 20


def test_the_base_policy_differs_on_money_back_days_31_to_45(acceptance):
    base = next(p for p in acceptance["pairs"] if "→" not in p["before"])
    eligibility = next(o for o in base["outputs"] if o["output"] == "eligibility")
    descriptions = [p["description"] for p in eligibility["region"]["pieces"]]
    assert any("days_since_purchase 31–45" in d for d in descriptions), descriptions
    assert any("units_of_product 11–20" in d for d in descriptions), descriptions

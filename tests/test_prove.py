"""Properties and `verdict prove` (issue 11, item 4): each promise proved over every complete case of every
variant and version, or refuted with a counterexample that `verdict eval` decides to the violation."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import cli
import engine
from engine import prove

SOURCE = "Rule one applies.\nRefunds never exceed the price.\n"

PROPERTIES = """\
properties:
- id: refund-within-price
  description: A refund never exceeds the price.
  source: {section: s, quote: Refunds never exceed the price.}
  assert: "refund == None or refund <= price"
- id: damaged-never-a
  description: A damaged item never gets a.
  assume: damaged
  assert: "out != 'a'"
"""
FALSE = """\
- id: small-is-a
  description: A small order gets a (it does not).
  assume: "n <= limit"
  assert: "out == 'a'"
"""
VARIANT = """\
properties:
- id: refund-within-price
  description: A refund never exceeds the price and a euro.
  legal: {source: law, article: "s. 1", quote: damaged items get a}
  assert: "refund == None or refund <= price + 1.00"
- id: damaged-is-a
  description: A damaged item gets a in XX.
  assume: damaged
  assert: "out == 'a'"
drops_properties:
- property: damaged-never-a
  reason: XX gives damaged items a.
"""


def write_policy(folder: Path, properties: str = PROPERTIES, variant: str | None = None, derived: str = "",
                 when: str = "n > limit and not damaged") -> Path:
    """A policy with three facts, a clause that sets `out` and `refund`, its properties and, with
    `variant`, a variant for country XX that adds a clause for damaged items and the given text."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "source.txt").write_text(SOURCE, encoding="utf-8")
    sha = hashlib.sha256(SOURCE.encode()).hexdigest()
    (folder / "policy.yaml").write_text(textwrap.dedent(f"""\
        policy: {{id: tiny, version: 0.0.1, effective_from: '2026-01-01', title: Tiny, source: {{file: source.txt, sha256: {sha}}}}}
        facts:
          country: {{type: string, pattern: "^[A-Z]{{2}}$", examples: [US], description: Where it was bought.}}
          n: {{type: int, minimum: 0, description: A count.}}
          price: {{type: money, minimum: 0, description: The price.}}
          damaged: {{type: bool, description: Damaged.}}
        parameters:
          limit: {{value: 10, description: A limit., source: {{section: s, quote: Rule one applies.}}}}
        """) + derived + textwrap.dedent(f"""\
        outputs:
          out: {{type: enum, values: [a, b], default: b, description: The outcome.}}
          refund: {{type: money, nullable: true, default: null, description: The refund.}}
        clauses:
        - id: c1
          title: Clause c1
          source: {{section: s, quote: Rule one applies.}}
          when: "{when}"
          then: {{out: a, refund: {{expression: price}}}}
        informational:
        - {{quote: Refunds never exceed the price., reason: a promise the properties check}}
        """) + properties + ("variants:\n  select_by: country\n  files: [variants/xx.yaml]\n" if variant is not None else ""),
        encoding="utf-8")
    if variant is not None:
        (folder / "variants").mkdir(exist_ok=True)
        (folder / "variants" / "xx.yaml").write_text(textwrap.dedent("""\
            variant:
              id: xx
              extends: tiny
              version: 0.0.1
              effective_from: "2026-01-01"
              title: Country XX
              countries: [XX]
              legal_sources:
                law: {act: The XX Act, url: https://example.org/xx}
            clauses:
            - id: xx-damaged
              title: Damaged items get a in XX
              legal: {source: law, article: "s. 1", quote: damaged items get a}
              when: damaged
              then: {out: a, refund: {expression: "price + 1.00"}}
            """) + variant, encoding="utf-8")
    return folder


def run(*args):
    return CliRunner().invoke(cli.cli, [str(a) for a in args])


def test_every_property_proved_exits_0(tmp_path):
    folder = write_policy(tmp_path / "tiny")
    result = run("prove", folder)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "tiny 0.0.1  (in force from 2026-01-01)",
        "  proved  refund-within-price: A refund never exceeds the price.",
        "  proved  damaged-never-a: A damaged item never gets a.",
        "2 proved, 0 refuted, 0 unknown (budget: 20000000 resource units per solver check)"]
    assert str(engine.symbolic.DEFAULT_RLIMIT) in run("prove", "--help").output  # the help says the default


def test_a_false_property_gives_a_counterexample_file_that_eval_decides_to_the_violation(tmp_path):
    folder = write_policy(tmp_path / "tiny", PROPERTIES + FALSE)
    result = run("prove", folder, "--counterexamples", tmp_path / "cx", "--format", "json")
    assert result.exit_code == 1, result.output
    [refuted] = [r for r in json.loads(result.output)["results"] if r["status"] == "refuted"]
    assert refuted["property"] == "small-is-a"
    example = refuted["counterexample"]
    assert example["assert"] == "false" and example["reads"] == {"out": "b"}
    assert Path(example["file"]) == tmp_path / "cx" / "small-is-a.yaml"
    case = yaml.safe_load((tmp_path / "cx" / "small-is-a.yaml").read_text(encoding="utf-8"))
    assert case == {"id": "small-is-a", "facts": example["facts"]}
    assert case["facts"]["n"] <= 10  # the assumption holds
    decided = run("eval", tmp_path / "cx" / "small-is-a.yaml", "--policy", folder, "--format", "json")
    assert decided.exit_code == 0, decided.output
    assert json.loads(decided.output)["outputs"]["out"] == "b"  # the violation: `out == 'a'` is false


def test_a_property_whose_assertion_fails_to_evaluate_is_broken_there(tmp_path):
    # `q` divides by zero at n = 5: clause c1 fails, so `out` is in error and the assertion cannot be true.
    folder = write_policy(tmp_path / "tiny", "properties:\n- id: out-decided\n  description: out is always decided.\n"
                          "  assert: \"out == 'a' or out == 'b'\"\n",
                          derived="derived:\n  q: {expression: \"n // (n - 5)\", description: A quotient.}\n",
                          when="q > 0 and n > limit and not damaged")
    result = run("prove", folder, "--counterexamples", tmp_path / "cx")
    assert result.exit_code == 1, result.output
    assert "assert `out == 'a' or out == 'b'` fails: output `out` could not be decided" in result.output
    decided = run("eval", tmp_path / "cx" / "out-decided.yaml", "--policy", folder)
    assert decided.exit_code == 5  # the engine reports the clause that failed
    assert "division by zero" in decided.output


def test_a_budget_too_small_is_unknown_never_proved(tmp_path):
    folder = write_policy(tmp_path / "tiny")
    result = run("prove", folder, "--rlimit", "1", "--property", "refund-within-price", "--format", "json")
    assert result.exit_code == 6, result.output
    [row] = json.loads(result.output)["results"]
    assert row["status"] == "unknown" and row["rlimit"] == 1
    assert row["detail"].startswith("the solver gave up within the budget of 1 resource units on the cases where")
    text = run("prove", folder, "--rlimit", "1")
    assert text.exit_code == 6 and "UNKNOWN  refund-within-price" in text.output and "proved  " not in text.output


def test_a_policy_without_an_exact_encoding_is_not_encodable(tmp_path):
    folder = write_policy(tmp_path / "tiny", derived="derived:\n  third: {expression: \"round(n / 3, 0) > 1\", "
                          "description: A rounded third.}\n", when="n > limit and not damaged and (third or n > 0)")
    result = run("prove", folder, "--format", "json")
    assert result.exit_code == 6, result.output
    rows = json.loads(result.output)["results"]
    assert {r["status"] for r in rows} == {"not_encodable"}
    assert rows[0]["detail"].startswith("derived `third`: `/` of numbers")


@pytest.mark.parametrize("assertion,column,message", [
    ("refnd == None", 12, "`refnd` is not a declared fact, parameter, derived value or output; did you mean `refund`?"),
    ("n + 1", 12, "`assert` must be true/false"),
    ("out == 'a' and refund <= price", 27, "`refund` may be null here"),
])
def test_an_invalid_property_is_an_invalid_policy_with_its_place(tmp_path, assertion, column, message):
    folder = write_policy(tmp_path / "tiny", f"properties:\n- id: broken\n  description: Broken.\n  assert: \"{assertion}\"\n")
    result = run("prove", folder)
    assert result.exit_code == 4
    [line] = [line for line in result.stderr.splitlines() if "broken:" in line]
    assert line.startswith(f"{folder / 'policy.yaml'}:23:{column}: broken: ")  # where in the assertion
    assert message in line


def test_duplicate_property_ids_are_refused(tmp_path):
    folder = write_policy(tmp_path / "tiny", PROPERTIES + PROPERTIES.split("\n", 1)[1])
    result = run("prove", folder)
    assert result.exit_code == 4 and "duplicate property id `refund-within-price`" in result.stderr


def test_the_property_option_selects_and_an_unknown_id_is_a_usage_error(tmp_path):
    folder = write_policy(tmp_path / "tiny", PROPERTIES + FALSE)
    only = run("prove", folder, "--property", "damaged-never-a", "--property", "refund-within-price")
    assert only.exit_code == 0 and "small-is-a" not in only.output and "2 proved" in only.output
    unknown = run("prove", folder, "--property", "small-is")
    assert unknown.exit_code == 2
    assert "`small-is` is not a property of" in unknown.output and "did you mean `small-is-a`?" in unknown.output


def test_json_output_shape(tmp_path):
    folder = write_policy(tmp_path / "tiny", PROPERTIES + FALSE, VARIANT)
    document = json.loads(run("prove", folder, "--format", "json").output)
    assert list(document) == ["policy", "reference", "rlimit", "results", "totals"]
    assert document["totals"] == {"proved": 4, "refuted": 2, "unknown": 0, "not_encodable": 0, "encoding_mismatch": 0}
    row = document["results"][0]
    assert list(row) == ["property", "description", "origin", "policy", "variant", "effective_from", "effective_until",
                         "status", "rlimit", "rlimit_used", "detail", "counterexample"]
    assert [(r["variant"], r["property"], r["status"]) for r in document["results"]] == [
        ("tiny", "refund-within-price", "proved"), ("tiny", "damaged-never-a", "proved"), ("tiny", "small-is-a", "refuted"),
        ("xx", "refund-within-price", "proved"), ("xx", "small-is-a", "refuted"), ("xx", "damaged-is-a", "proved")]
    assert list(document["results"][2]["counterexample"]) == ["facts", "reads", "assert", "file"]


def test_a_variant_replaces_drops_and_adds_properties(tmp_path):
    folder = write_policy(tmp_path / "tiny", PROPERTIES, VARIANT)
    policy_set = engine.load(folder)
    xx = policy_set.variants["xx"]
    assert [(p.id, p.origin) for p in xx.properties] == [("refund-within-price", "xx"), ("damaged-is-a", "xx")]
    assert [(d.property, d.variant) for d in xx.dropped_properties] == [("damaged-never-a", "xx")]
    assert [p.id for p in policy_set.base.properties] == ["refund-within-price", "damaged-never-a"]
    [outcome] = prove.prove(policy_set, [xx], ["refund-within-price"])
    assert outcome.status == "proved" and outcome.property.description == "A refund never exceeds the price and a euro."
    result = run("prove", f"{folder}:xx")
    assert result.exit_code == 0 and result.output.startswith("tiny 0.0.1 → xx 0.0.1")
    assert "damaged-never-a" not in result.output
    # Render and diff show them.
    rendered = run("render", folder, "--variant", "xx").output
    assert "| damaged-never-a | xx | XX gives damaged items a. |" in rendered
    diff = run("diff", folder, f"{folder}:xx").output
    assert "property removed: damaged-never-a (was out != 'a' when damaged): dropped by xx: XX gives damaged items a." in diff
    assert "property changed: refund-within-price: refund == None or refund <= price → refund == None or refund <= price + 1.00" in diff


def test_the_base_promise_refuted_under_the_variant_names_its_counterexample_files(tmp_path):
    # Without the variant's replacement, the base's promise is refuted in XX too: each file has its own name.
    folder = write_policy(tmp_path / "tiny", PROPERTIES + FALSE, VARIANT.replace("id: refund-within-price", "id: refund-small"))
    result = run("prove", folder, "--counterexamples", tmp_path / "cx")
    assert result.exit_code == 1
    assert sorted(p.name for p in (tmp_path / "cx").iterdir()) == [
        "refund-within-price.yaml", "small-is-a.yaml", "small-is-a@xx@2026-01-01.yaml"]
    case = yaml.safe_load((tmp_path / "cx" / "refund-within-price.yaml").read_text(encoding="utf-8"))
    assert case["facts"]["country"] == "XX" and case["facts"]["damaged"] is True
    decided = json.loads(run("eval", tmp_path / "cx" / "refund-within-price.yaml", "--policy", folder, "--format", "json").output)
    assert decided["outputs"]["refund"] > decided["facts"]["price"]


def test_dropping_an_unknown_property_is_refused(tmp_path):
    folder = write_policy(tmp_path / "tiny", PROPERTIES, VARIANT.replace("property: damaged-never-a", "property: damaged-nevr-a"))
    result = run("prove", folder)
    assert result.exit_code == 4
    assert "drops `damaged-nevr-a`, which is not a property of `tiny`" in result.stderr
    assert "did you mean `damaged-never-a`?" in result.stderr


def test_a_witness_the_engine_does_not_reproduce_is_an_internal_error_never_a_counterexample(tmp_path):
    policy_set = engine.load(write_policy(tmp_path / "tiny", PROPERTIES + FALSE))
    policy = policy_set.base
    promise = policy.property_named("damaged-never-a")
    facts = {"country": "US", "n": 20, "price": "5.00", "damaged": True}  # `out` is `b` here: the promise holds
    outcome = prove._replayed(policy_set, policy, promise, facts, 100, 0)
    assert outcome.status == prove.MISMATCH and outcome.counterexample is None
    assert outcome.detail == ("the solver's counterexample satisfies `assert` in the engine: the symbolic encoding and "
                              "the engine disagree (a bug in Verdict; please report it)")
    outside = prove._replayed(policy_set, policy, promise, {**facts, "damaged": False}, 100, 0)
    assert outside.status == prove.MISMATCH and "does not satisfy `assume` in the engine (false)" in outside.detail
    refused = prove._replayed(policy_set, policy, promise, {**facts, "n": -1}, 100, 0)
    assert refused.status == prove.MISMATCH and "refused by the engine" in refused.detail


def test_two_runs_give_the_same_bytes(tmp_path):
    folder = write_policy(tmp_path / "tiny", PROPERTIES + FALSE, VARIANT)
    first = run("prove", folder, "--format", "json", "--counterexamples", tmp_path / "one")
    second = run("prove", folder, "--format", "json", "--counterexamples", tmp_path / "two")
    assert first.output.replace("/one/", "/two/") == second.output
    for name in ("small-is-a.yaml", "small-is-a@xx@2026-01-01.yaml"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert run("prove", folder).output == run("prove", folder).output
    # A property's answer does not depend on which others were asked before it.
    alone = json.loads(run("prove", folder, "--format", "json", "--property", "damaged-is-a").output)["results"]
    together = [r for r in json.loads(first.output)["results"] if r["property"] == "damaged-is-a"]
    assert alone == together


def test_verdict_test_proves_the_properties_too(tmp_path):
    folder = write_policy(tmp_path / "tiny", PROPERTIES + FALSE)
    (folder / "tests").mkdir()
    (folder / "tests" / "basic.yaml").write_text(textwrap.dedent("""\
        policy: ../policy.yaml
        tests:
          - name: a big order gets a
            facts: {country: US, n: 20, price: 5, damaged: false}
            expect: {out: a}
        """), encoding="utf-8")
    result = run("test", folder)
    assert result.exit_code == 1, result.output  # the tests pass; a property is refuted
    assert "  REFUTED  small-is-a: A small order gets a (it does not)." in result.output
    assert "refund-within-price" not in result.output  # proved: listed with -v
    assert result.output.splitlines()[-2:] == ["properties: 2 proved, 1 refuted, 0 unknown", "1 passed, 0 failed"]
    assert "  proved   refund-within-price" in run("test", folder, "-v").output
    assert run("test", folder, "--no-properties").exit_code == 0
    assert run("test", folder, "-k", "big order").exit_code == 0  # -k selects properties by id too
    document = json.loads(run("test", folder, "--format", "json").output)
    assert document["properties"]["totals"]["refuted"] == 1
    assert [r["property"] for r in document["properties"]["results"]] == ["refund-within-price", "damaged-never-a", "small-is-a"]
    report = tmp_path / "junit.xml"
    run("test", folder, "--junit-xml", report)
    assert '<testsuite name="properties" tests="3" failures="1" errors="0" skipped="0"' in report.read_text(encoding="utf-8")
    unknown = run("test", folder, "-k", "refund", "--rlimit", "1")
    assert unknown.exit_code == 0, unknown.output  # neither proved nor refuted: a warning, not a failure
    assert "UNKNOWN  refund-within-price" in unknown.output
    assert "verdict: warning: 1 property neither proved nor refuted" in unknown.stderr


def test_verdict_test_on_a_policy_without_properties_does_not_load_the_solver(tmp_path):
    import subprocess
    import sys

    folder = write_policy(tmp_path / "tiny", "")
    (folder / "tests").mkdir()
    (folder / "tests" / "basic.yaml").write_text("policy: ../policy.yaml\ntests:\n  - name: small gives b\n    facts: {country: US, n: 1, "
                                                "price: 5, damaged: false}\n    expect: {out: b}\n", encoding="utf-8")
    code = ("import sys, cli\nsys.argv = ['verdict', 'test', sys.argv[1]]\ntry:\n    cli.main()\nexcept SystemExit as e:\n"
            "    assert not e.code, e.code\nassert 'z3' not in sys.modules, 'z3 was loaded'\n")
    done = subprocess.run([sys.executable, "-c", code, str(folder)], cwd=Path(cli.__file__).parent, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_share_of_an_amount_is_proved_within_it(tmp_path):
    # `prorate` is nonlinear: the solver is told what its terms imply (a share is within its amount).
    folder = write_policy(tmp_path / "tiny", "properties:\n- id: refund-within-price\n  description: Within the price.\n"
                          "  assert: \"refund == None or refund <= price\"\n",
                          derived="derived:\n  share: {expression: \"prorate(price, n, 365)\", description: A share.}\n",
                          when="n > limit and n <= 365 and not damaged")
    (folder / "policy.yaml").write_text((folder / "policy.yaml").read_text(encoding="utf-8").replace(
        "refund: {expression: price}", "refund: {expression: share}"), encoding="utf-8")
    policy_set = engine.load(folder)
    form = engine.symbolic.encode(policy_set.base)
    assert len(prove.implied_lemmas(policy_set.base, form)) == 1
    [outcome] = prove.prove(policy_set, prove.selected(policy_set))
    assert outcome.status == "proved"


def test_a_reference_selects_the_variants_and_versions_proved(tmp_path):
    folder = write_policy(tmp_path / "tiny", PROPERTIES, VARIANT)
    policy_set = engine.load(folder)
    assert [p.identity.chain_label() for p in prove.selected(policy_set)] == ["tiny 0.0.1", "tiny 0.0.1 → xx 0.0.1"]
    assert [p.identity.chain_label() for p in prove.selected(policy_set, "tiny")] == ["tiny 0.0.1"]
    assert prove.selected(policy_set, "xx", dt.date(2025, 12, 31)) == []
    result = run("prove", f"{folder}:xx@2026-03-01", "--format", "json")
    assert {r["variant"] for r in json.loads(result.output)["results"]} == {"xx"}
    early = run("prove", f"{folder}@2025-01-01")
    assert early.exit_code == 2 and "no version of `tiny` is in force on 2025-01-01" in early.output


# -- the bundled policy (issue 11's acceptance) ------------------------------------------------------


def test_verdict_prove_proves_every_property_of_the_bundled_policy():
    result = run("prove", "aqara-returns", "--format", "json")
    document = json.loads(result.output)
    assert result.exit_code == 0, [(r["policy"], r["property"], r["status"], r["detail"]) for r in document["results"]
                                   if r["status"] != "proved"]
    assert document["totals"]["proved"] == len(document["results"]) == 23
    by_variant = {}
    for row in document["results"]:
        by_variant.setdefault(row["variant"], set()).add(row["property"])
    common = {"other-retailer-referred", "refund-within-price", "cancel-within-12-hours"}
    assert by_variant["aqara-returns"] == common | {"damaged-non-quality-never-eligible", "non-quality-refund-ends-after-30-days"}
    assert by_variant["au"] == by_variant["aqara-returns"] | {"au-major-failure-refund-or-replacement"}
    assert by_variant["eu"] == common | {"eu-withdrawal-within-14-days"}  # both EU versions
    assert by_variant["uk"] == common | {"uk-cancellation-within-14-days"}
    eu = [r for r in document["results"] if r["variant"] == "eu" and r["property"] == "refund-within-price"]
    assert {r["origin"] for r in eu} == {"eu"} and {r["effective_from"] for r in eu} == {"2024-01-01", "2026-07-31"}


FALSE_AQARA = """\
  - id: every-return-in-30-days-eligible
    description: Every return within 30 days of the purchase is eligible (the text says undamaged products only).
    assume: "sales_channel == 'aqara_online_store' and request == 'return' and days_since_purchase <= money_back_days"
    assert: "eligibility == 'eligible'"
"""


def test_a_false_property_in_a_copy_of_the_bundled_policy_gives_a_case_eval_decides_to_the_violation(policy_copy, tmp_path):
    policy_copy.replace("  - id: cancel-within-12-hours\n", FALSE_AQARA + "  - id: cancel-within-12-hours\n")
    result = run("prove", f"{policy_copy.folder}:aqara-returns", "--property", "every-return-in-30-days-eligible",
                 "--counterexamples", tmp_path / "cx", "--format", "json")
    assert result.exit_code == 1, result.output
    [row] = json.loads(result.output)["results"]
    assert row["status"] == "refuted" and row["counterexample"]["assert"] == "false"
    case_file = tmp_path / "cx" / "every-return-in-30-days-eligible.yaml"
    assert Path(row["counterexample"]["file"]) == case_file
    facts = yaml.safe_load(case_file.read_text(encoding="utf-8"))["facts"]
    assert facts["request"] == "return" and facts["sales_channel"] == "aqara_online_store"
    decided = run("eval", case_file, "--policy", policy_copy.folder, "--format", "json")
    assert decided.exit_code == 0, decided.output
    eligibility = json.loads(decided.output)["outputs"]["eligibility"]
    assert eligibility == row["counterexample"]["reads"]["eligibility"] != "eligible"

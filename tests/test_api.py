"""The public Python API decides as `verdict eval` does: `load`, `evaluate`, `decision_to_json`."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import AQARA, BASE_FACTS, REPO

import cli
import engine

README = REPO / "README.md"
EXAMPLES = sorted((REPO / "examples" / "cases").glob("*.yaml"))


def test_the_readme_python_example_runs():
    text = README.read_text(encoding="utf-8")
    block = text.split("From Python, the same decision as `verdict eval`")[1].split("```python\n")[1].split("```")[0]
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - the README's own example, asserts included
    assert namespace["decision"].outputs["eligibility"].value == "eligible"
    assert namespace["fast"].trace is None and namespace["fast"].outputs == namespace["decision"].outputs


def cli_json(case_file: Path, *options: str) -> str:
    result = CliRunner().invoke(cli.cli, ["eval", str(case_file), "--format", "json", *options])
    assert result.exit_code in (0, 5), result.output
    return result.stdout


@pytest.mark.parametrize("case_file", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_evaluate_gives_the_bytes_of_verdict_eval_for_every_example(case_file):
    policy_set = engine.load("aqara-returns")
    case = engine.load_case(case_file, policy_set)
    assert engine.decision_to_json(engine.evaluate(policy_set, case)) == cli_json(case_file)
    # From a plain mapping too: the case file's facts as YAML reads them, the id given.
    facts = yaml.safe_load(case_file.read_text(encoding="utf-8"))["facts"]
    assert engine.decision_to_json(engine.evaluate(policy_set, facts, case_id=case.id)) == cli_json(case_file)


def yaml_test_cases() -> list[tuple[str, dict, str | None]]:
    found = []
    for file in sorted((AQARA / "tests").glob("*.yaml")):
        document = yaml.safe_load(file.read_text(encoding="utf-8"))
        for test in document["tests"]:
            facts = {**(document.get("base_facts") or {}), **(test.get("facts") or {})}
            for name in test.get("without", ()):
                facts.pop(name, None)
            found.append((f"{file.stem}::{test['name']}", facts, test.get("variant", document.get("variant"))))
    return found


def test_evaluate_gives_the_bytes_of_verdict_eval_for_every_test_case(tmp_path):
    policy_set = engine.load("aqara-returns")
    cases = yaml_test_cases()
    assert len(cases) > 150
    for number, (name, facts, variant) in enumerate(cases):
        case_file = tmp_path / f"case-{number}.json"
        case_file.write_text(json.dumps({"id": f"case-{number}", "facts": facts}), encoding="utf-8")
        options = ("--variant", variant) if variant else ()
        try:
            mine = engine.decision_to_json(engine.evaluate(policy_set, facts, variant=variant, case_id=f"case-{number}"))
        except engine.CaseError:
            result = CliRunner().invoke(cli.cli, ["eval", str(case_file), *options])
            assert result.exit_code == 3, name  # refused alike
            continue
        assert mine == cli_json(case_file, *options), name


def test_evaluate_selects_the_variant_and_the_version():
    policy_set = engine.load(AQARA)
    facts = {**BASE_FACTS, "country_of_purchase": "DE", "product_location_country": "DE", "order_placed_at": "2026-03-01T10:00:00Z",
             "delivered_at": "2026-03-21T14:00:00Z", "request_at": "2026-04-03T11:00:00Z", "withdrawal_information_given": True}
    decision = engine.evaluate(policy_set, facts)
    assert decision.outputs["eligibility"].value == "eligible" and decision.policy.variant_chain == ("aqara-returns", "eu")
    assert decision.made_by.identity == decision.policy
    # as_of picks the version in force then: the EU 2.1 terms from 31 July 2026.
    later = engine.evaluate(policy_set, facts, as_of=dt.date(2026, 8, 1))
    assert later.policy.versions[-1] == policy_set.variants["eu"].identity.versions[-1]
    assert "the version in force on 2026-08-01, the date given" in later.selection


def test_a_wrong_variant_or_fact_is_an_error_with_a_message():
    policy_set = engine.load("aqara-returns")
    with pytest.raises(engine.SelectionError) as wrong:
        engine.evaluate(policy_set, BASE_FACTS, variant="eux")
    assert str(wrong.value) == "eux: eux: `eux` is not a variant of `aqara-returns`; did you mean `eu`?"
    with pytest.raises(engine.CaseError) as bad:
        engine.evaluate(policy_set, {**BASE_FACTS, "units_of_product": "many"})
    assert [d.subject for d in bad.value.diagnostics] == ["units_of_product"]


def test_decide_refuses_a_base_policy_that_has_variants():
    policy = engine.require_policy(AQARA)
    case = engine.case_from_facts(policy, BASE_FACTS)
    with pytest.raises(engine.PolicyError) as refused:
        engine.decide(policy, case)
    assert str(refused.value) == (
        "aqara-returns: policy `aqara-returns` has regional variants (au, eu, uk): deciding with its base alone would "
        "ignore them; decide with engine.evaluate(engine.load(ID_OR_PATH), facts), which selects the variant and the "
        "version as `verdict eval` does")
    # The base of a loaded set is the base policy itself, decided without selection on purpose.
    assert engine.decide(engine.load(AQARA).base, case).outputs["eligibility"].value == "eligible"


def test_the_old_rendering_signature_still_works_with_a_warning():
    policy_set = engine.load("aqara-returns")
    decision = engine.evaluate(policy_set, BASE_FACTS)
    with pytest.warns(DeprecationWarning, match=r"decision_to_json\(decision, policy, \.\.\.\) is deprecated"):
        old = engine.decision_to_json(decision, decision.made_by, "summary")
    assert old == engine.decision_to_json(decision, "summary")
    with pytest.warns(DeprecationWarning, match="decision_to_text"):
        assert engine.decision_to_text(decision, decision.made_by) == engine.decision_to_text(decision)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        engine.decision_to_dict(decision, "none")  # the current form warns nothing


def test_text_with_explanations_puts_them_before_the_trace():
    policy_set = engine.load("aqara-returns")
    decision = engine.evaluate(policy_set, {**BASE_FACTS, "request_at": "2026-04-10T09:30:00Z"})
    explanations = engine.explain.explain_in_set(policy_set, decision)
    text = engine.decision_to_text(decision, "summary", explanations)
    assert text.index("\nREASONS") < text.index("\nWHY NOT BETTER") < text.index("\nTRACE (summary")

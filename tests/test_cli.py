"""The `verdict` command: in-process through click's CliRunner, and as the installed command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

import cli
from conftest import AQARA_VERSION, BASE_FACTS, REPO, tiny_clause

EXAMPLE = str(REPO / "examples" / "cases" / "return-day-10.yaml")
VERDICT = Path(sys.executable).parent / "verdict"


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(cli.cli, list(args), input=input, catch_exceptions=False)

    return invoke


def test_eval_text_leads_with_the_decision(run):
    result = run("eval", EXAMPLE)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "DECISION  eligibility = eligible"
    assert result.output.index("REASONS") < result.output.index("TRACE")
    assert "money-back-guarantee: 30-day money-back guarantee for undamaged products" in result.output
    assert "“Undamaged products can be returned for a full refund" in result.output


def test_eval_json_has_the_contract_keys_and_matches_the_schema(run):
    result = run("eval", EXAMPLE, "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.output)
    for key in ("policy", "facts", "outputs", "missing_facts", "trace"):
        assert key in document
    schema = json.loads((REPO / "schemas" / "decision.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(document)
    assert document["outputs"]["eligibility"] == "eligible"
    assert document["outputs"]["refund_amount"] == 59.99
    assert document["policy"]["id"] == "aqara-returns" and len(document["policy"]["content_sha256"]) == 64
    assert document["engine"]["version"]


def test_eval_json_writes_amounts_of_money_with_their_two_decimals(run):
    result = run("eval", EXAMPLE, "--format", "json", "--fact", "product_price=10", "--fact", "shipping_paid=0")
    assert result.exit_code == 0
    assert '"refund_amount": 10.00,' in result.output and '"shipping_paid": 0.00,' in result.output
    assert '"product_price": 10.00,' in result.output
    assert json.loads(result.output)["outputs"]["refund_amount"] == 10  # a JSON number, for any reader


def test_an_amount_with_a_fraction_of_a_cent_is_refused(run):
    result = run("eval", EXAMPLE, "--fact", "product_price=59.999")
    assert result.exit_code == 3
    assert ("product_price: `59.999` has more than two decimals: an amount of money is a whole number of cents"
            in result.stderr)


def test_eval_json_twice_is_byte_identical(run):
    first = run("eval", EXAMPLE, "--format", "json").output
    second = run("eval", EXAMPLE, "--format", "json").output
    assert first == second


@pytest.mark.parametrize("level", ["full", "summary", "none"])
def test_trace_levels(run, level):
    document = json.loads(run("eval", EXAMPLE, "--format", "json", "--trace", level).output)
    if level == "none":
        assert document["trace"] is None
        return
    clauses = document["trace"]["clauses"]
    if level == "full":
        assert len(clauses) == 30 and "derived" in document["trace"]
    else:
        assert all(c["effect"] != "not_applicable" for c in clauses) and 0 < len(clauses) < 30


def test_fact_option_overrides_the_case_file(run):
    document = json.loads(run("eval", EXAMPLE, "--format", "json", "--fact", "request_at=2026-04-04T09:00:00Z").output)
    assert document["outputs"]["eligibility"] == "not_eligible"
    assert document["facts"]["request_at"] == "2026-04-04T09:00:00Z"


def test_undetermined_decision_lists_missing_facts(run, tmp_path):
    facts = {k: v for k, v in BASE_FACTS.items() if k != "reason_category"}
    facts["request_at"] = "2026-04-10T09:30:00Z"  # day 40: a quality issue would keep the warranty
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"id": "no-reason", "facts": facts}), encoding="utf-8")
    result = run("eval", str(case), "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert document["outputs"]["eligibility"] == "undetermined"
    assert document["missing_facts"] == ["reason_category"]


def test_case_from_standard_input(run):
    result = run("eval", "-", "--format", "json", input=json.dumps({"facts": BASE_FACTS}))
    assert result.exit_code == 0 and json.loads(result.output)["case"]["id"] == "<stdin>"


@pytest.mark.parametrize("args, code, words", [
    (["--fact", "reqest=return"], 3, "--fact reqest: reqest: `reqest` is not a fact of policy `aqara-returns`; did you mean `request`?"),
    (["--fact", "units_of_product=many"], 3, "expected a whole number, got `many`"),
    (["--fact", "request=retrun"], 3, "(did you mean `return`?)"),
    (["--fact", "request_at=2026-04-31T09:00:00Z"], 3, "is not a real datetime"),
    (["--fact", "request_at"], 2, "is not NAME=VALUE"),
    (["--format", "xml"], 2, "'xml' is not one of"),
    (["--policy", "aqara-retruns"], 4, "no policy file or policy id `aqara-retruns`; did you mean `aqara-returns`?"),
])
def test_bad_input_exit_codes_and_messages(run, args, code, words):
    result = run("eval", EXAMPLE, *args)
    assert result.exit_code == code
    assert words in result.output + (result.stderr or "")
    assert "Traceback" not in result.output


def test_missing_case_file(run):
    result = run("eval", "no-such-case.yaml")
    assert result.exit_code == 3
    assert "no-such-case.yaml: no such file" in result.stderr


def test_invalid_policy_exit_code(run, policy_copy):
    policy_copy.replace("when: sales_channel == 'other_retailer'", "when: sales_channel == 'other_retailr'")
    result = run("eval", EXAMPLE, "--policy", str(policy_copy.folder))
    assert result.exit_code == 4
    assert "retailer-referral: `'other_retailr'` is not a value of `sales_channel`" in result.stderr


def test_validate_ok_and_errors(run, policy_copy):
    ok = run("validate", str(REPO / "policies"))
    assert ok.exit_code == 0 and "ok  " in ok.output
    policy_copy.replace("quote: Items must include original packaging;", "quote: Items must include the original packaging;")
    bad = run("validate", str(policy_copy.file))
    assert bad.exit_code == 4
    [line] = [l for l in bad.stderr.splitlines() if "quote" in l and "policy.yaml:" in l]
    assert ": non-quality-original-packaging: the quote is not in the source text" in line


def test_show_a_clause(run):
    result = run("show", "money-back-guarantee")
    assert result.exit_code == 0
    assert "“Undamaged products can be returned for a full refund" in result.output
    assert "overridden by    bulk-or-corporate-may-refuse, non-quality-incomplete-may-reject" in result.output
    unknown = run("show", "money-back")
    assert unknown.exit_code == 2 and "did you mean `money-back-guarantee`?" in unknown.stderr


def test_list_policies(run):
    result = run("list", "--format", "json")
    [entry] = [e for e in json.loads(result.output) if e["id"] == "aqara-returns"]
    assert entry["version"] == AQARA_VERSION and entry["valid"] and entry["clauses"] == 30


def test_schema_of_the_case_validates_a_case(run):
    schema = json.loads(run("schema", "case").output)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate({"id": "x", "facts": BASE_FACTS})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate({"facts": {**BASE_FACTS, "request": "retrun"}})
    assert schema["properties"]["facts"]["properties"]["shipped_at"]["anyOf"][1] == {"type": "null"}


@pytest.mark.parametrize("kind", ["policy", "variant", "decision", "test"])
def test_schema_documents_are_valid_schemas(run, kind):
    jsonschema.Draft202012Validator.check_schema(json.loads(run("schema", kind).output))


def test_test_command_passes_on_the_bundled_policy(run):
    result = run("test", "--no-properties")  # the properties: tests/test_prove.py
    assert result.exit_code == 0
    assert result.output.strip().splitlines()[-1].endswith(", 0 failed")


def test_test_command_shows_a_diff_and_fails(run, tmp_path):
    tests = tmp_path / "aqara" / "tests"
    tests.mkdir(parents=True)
    (tests / "wrong.yaml").write_text(
        f"policy: {REPO / 'policies' / 'aqara-returns' / 'policy.yaml'}\n"
        "base_facts:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in BASE_FACTS.items()) +
        "tests:\n  - name: day 10 is wrongly expected to be refused\n    expect: {eligibility: not_eligible, remedies: []}\n",
        encoding="utf-8")
    result = run("test", str(tmp_path), "--no-properties")
    assert result.exit_code == 1
    assert "FAIL  day 10 is wrongly expected to be refused" in result.output
    assert "eligibility: expected not_eligible, got eligible (decided by money-back-guarantee)" in result.output
    assert "remedies: expected [], got [full_refund] (decided by money-back-guarantee)" in result.output
    assert "0 passed, 1 failed" in result.output


def test_installed_command_runs_in_a_subprocess():
    assert VERDICT.exists(), f"the verdict command is not installed beside {sys.executable}"
    first = subprocess.run([str(VERDICT), "eval", EXAMPLE, "--format", "json"], capture_output=True, text=True, check=False)
    second = subprocess.run([str(VERDICT), "eval", EXAMPLE, "--format", "json"], capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert json.loads(first.stdout)["outputs"]["eligibility"] == "eligible"


def test_installed_command_bad_input_has_no_traceback():
    result = subprocess.run([str(VERDICT), "eval", EXAMPLE, "--fact", "units_of_product=-1"], capture_output=True, text=True, check=False)
    assert result.returncode == 3
    assert "units_of_product: must be at least 1, got `-1`" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_folder_named_like_a_policy_id_does_not_shadow_it(run, tmp_path, monkeypatch):
    (tmp_path / "aqara-returns").mkdir()
    monkeypatch.chdir(tmp_path)
    result = run("eval", EXAMPLE, "--format", "json", "--trace", "none")
    assert result.exit_code == 0 and json.loads(result.output)["policy"]["id"] == "aqara-returns"


def test_a_test_with_a_run_time_error_fails(run, tmp_path, policy_copy):
    policy_copy.replace("prorate(product_price, warranty_days_left, warranty_days_total)",
                        "prorate(product_price, warranty_days_left, warranty_days_total - warranty_days_total)")
    tests = policy_copy.folder / "tests"
    tests.mkdir()
    (tests / "t.yaml").write_text(
        "base_facts:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in BASE_FACTS.items()) +
        "tests:\n  - name: only the eligibility is checked\n"
        "    facts: {request: warranty_claim, reason_category: quality, replaceable: false, request_at: '2026-06-01T10:00:00Z'}\n"
        "    expect: {eligibility: eligible}\n", encoding="utf-8")
    result = run("test", str(policy_copy.folder), "--no-properties")
    assert result.exit_code == 1
    assert "evaluation error: while computing derived value `usage_partial_refund`" in result.output


def test_expected_values_are_checked_when_the_test_file_loads(run, tmp_path):
    tests = tmp_path / "aqara" / "tests"
    tests.mkdir(parents=True)
    (tests / "typos.yaml").write_text(
        f"policy: {REPO / 'policies' / 'aqara-returns' / 'policy.yaml'}\n"
        "tests:\n  - name: typos in the expectations\n"
        "    facts: {request: return}\n"
        "    expect: {eligibility: eligble, remedies: full_refund, refund_amount: 59.999, warranty_ends_on: '2026-02-30'}\n"
        "  - name: words where a number goes\n"
        "    facts: {request: return}\n"
        "    expect: {refund_amount: 'all of it', next_steps: [contact_suport]}\n", encoding="utf-8")
    result = run("test", str(tmp_path))
    assert result.exit_code == 4
    lines = result.stderr.splitlines()
    assert any("typos in the expectations: `eligble` is not a value of `eligibility`; did you mean `eligible`?" in l for l in lines)
    assert any(l.endswith("typos in the expectations: `remedies` is a list, not `full_refund`; write `[full_refund]`")
               for l in lines)
    assert any(l.endswith("typos in the expectations: `59.999` has more than two decimals: an amount of money is a whole "
                          "number of cents") for l in lines)
    assert any(l.endswith("typos in the expectations: `2026-02-30` is not a real date") for l in lines)
    assert any(l.endswith("words where a number goes: `refund_amount` is an amount of money (a number with at most two "
                          "decimals), not `all of it`") for l in lines)
    assert any("words where a number goes: `contact_suport` is not a value of `next_steps`; did you mean `contact_support`?"
               in l for l in lines)


def test_a_quoted_number_for_a_number_output_is_met_with_write_it_without_quotes(run, tiny_policy, tmp_path):
    # The bundled policy's amounts take text ("59.99" is an amount); a plain number output does not.
    policy, problems = tiny_policy("f: {type: bool, description: Fact f.}",
                                   "rate: {type: number, default: 0, description: A rate.}",
                                   tiny_clause("c1", "f", "{rate: 2.5}"))
    assert problems == []
    tests = tmp_path / "tiny" / "tests"
    tests.mkdir()
    (tests / "t.yaml").write_text("tests:\n  - name: quoted\n    facts: {f: true}\n    expect: {rate: '2.5'}\n",
                                  encoding="utf-8")
    result = run("test", str(tmp_path / "tiny"))
    assert result.exit_code == 4
    assert any(l.endswith("quoted: `rate` is a number, not `2.5`; write it without quotes") for l in result.stderr.splitlines())


def test_test_command_takes_a_policy_file(run):
    result = run("test", str(REPO / "policies" / "aqara-returns" / "policy.yaml"), "--no-properties")
    assert result.exit_code == 0 and ", 0 failed" in result.output


# -- issue 8, rows 9 and 10: dates and integers a case cannot decide are refused, never exit 70 ----

@pytest.mark.parametrize("fact, more, line", [
    ("order_placed_at=0001-01-01T00:00:00+14:00", [], "--fact order_placed_at: order_placed_at: "
     "`0001-01-01T00:00:00+14:00` is before the earliest datetime Verdict handles, 1000-01-01T00:00:00Z"),
    ("order_placed_at=9999-12-31T23:59:59-14:00", [], "--fact order_placed_at: order_placed_at: "
     "`9999-12-31T23:59:59-14:00` is after the latest datetime Verdict handles, 8999-12-31T23:59:59.999999Z"),
    ("request_at=9999-12-31T23:59:59Z", ["--explain"], "--fact request_at: request_at: "
     "`9999-12-31T23:59:59Z` is after the latest datetime Verdict handles, 8999-12-31T23:59:59.999999Z"),
    ("request_at=9999-12-31T23:59:59Z", ["--format", "html"], "--fact request_at: request_at: "
     "`9999-12-31T23:59:59Z` is after the latest datetime Verdict handles, 8999-12-31T23:59:59.999999Z"),
    ("request_at=9999-12-31T23:59:59Z", ["--format", "markdown"], "--fact request_at: request_at: "
     "`9999-12-31T23:59:59Z` is after the latest datetime Verdict handles, 8999-12-31T23:59:59.999999Z"),
    ("units_of_product=" + "9" * 5000, [], "--fact units_of_product: units_of_product: "
     "a whole number of 5000 digits is beyond the limit of 1e+12"),
], ids=["earliest", "latest", "explain", "html", "markdown", "digits"])
def test_values_no_decision_could_use_exit_3_with_one_line(run, fact, more, line):
    result = run("eval", EXAMPLE, "--fact", fact, *more)
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [line, "verdict: the case is invalid"]


@pytest.mark.parametrize("more", [["--explain"], ["--format", "html"], ["--format", "markdown"], ["--format", "json"]])
def test_the_latest_moment_accepted_is_decided_explained_and_rendered(run, more):
    result = run("eval", EXAMPLE, "--fact", "request_at=8999-12-31T23:59:59.999999Z", *more)
    assert result.exit_code == 0, result.stderr
    assert "8999-12-31T23:59:59.999999Z" in result.output

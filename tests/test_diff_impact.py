"""`verdict diff` and `verdict impact` on the shipped example (a hypothetical draft of the thresholds)."""

from __future__ import annotations

import hashlib
import json

from click.testing import CliRunner

import cli
import engine
from conftest import AQARA_VERSION, REPO, tiny_clause
from engine import jsontext
from engine.diff import diff_policies, diff_to_text

DRAFT = str(REPO / "examples" / "impact" / "draft-thresholds")
CORPUS = str(REPO / "examples" / "impact" / "corpus.jsonl")


def run(*args):
    return CliRunner().invoke(cli.cli, list(args), catch_exceptions=False)


def test_diff_of_the_draft_names_the_changed_thresholds():
    result = run("diff", "aqara-returns", DRAFT)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith(f"--- aqara-returns {AQARA_VERSION}") and lines[1].startswith("+++ aqara-returns 1.3.0")
    assert lines[2:] == [
        "parameter changed: bulk_order_units: 10 → 20",
        "quote changed: parameter bulk_order_units: § 2. Return & Refund Policy: “Ordering more than 10 units of a product "
        "will be considered a bulk order.” → origin: EXAMPLE ONLY: a proposed threshold of 20 units, not in the published "
        "text (which says 10)",
        "parameter changed: money_back_days: 30 → 45",
        "quote changed: parameter money_back_days: § 2. Return & Refund Policy: “within 30 days of purchase” → origin: "
        "EXAMPLE ONLY: a proposed 45-day window, not in the published text (which says 30 days)",
    ]  # the draft copies the source text unchanged: no source change


def test_diff_json():
    document = json.loads(run("diff", "aqara-returns", DRAFT, "--format", "json").output)
    assert document["summary"] == {"parameter_changed": 2, "quote_changed": 2}
    assert {"kind": "parameter_changed", "subject": "money_back_days", "before": 30, "after": 45} in document["changes"]
    assert {"kind": "quote_changed", "subject": "money_back_days", "detail": "parameter",
            "before": {"section": "2. Return & Refund Policy", "quotes": ["within 30 days of purchase"]},
            "after": {"origin": "EXAMPLE ONLY: a proposed 45-day window, not in the published text (which says 30 days)"}} \
        in document["changes"]
    assert document["before"]["version"] == AQARA_VERSION and document["after"]["version"] == "1.3.0"


def test_diff_of_a_variant_shows_added_disabled_and_overridden_clauses():
    document = json.loads(run("diff", "aqara-returns", "aqara-returns:eu", "--format", "json").output)
    kinds = {(c["kind"], c["subject"]) for c in document["changes"]}
    assert ("clause_added", "eu-withdrawal") in kinds
    assert ("clause_disabled", "bulk-or-corporate-may-refuse") in kinds
    assert ("override_gained", "money-back-guarantee") in kinds
    assert ("parameter_added", "withdrawal_days") in kinds
    assert document["after"]["variant_chain"] == ["aqara-returns", "eu"]


def test_diff_finds_changed_conditions_and_outcomes(policy_copy):
    policy_copy.replace("when: quality_claim and previously_fully_refunded", "when: quality_claim and (previously_fully_refunded)")
    policy_copy.replace("when: quality_claim and warranty_void_abroad", "when: quality_claim and warranty_void_abroad and units_of_product > 1")
    policy_copy.replace("      eligibility: refer_to_retailer\n", "      eligibility: not_eligible\n")
    base = engine.require_policy(REPO / "policies" / "aqara-returns")
    changed = engine.require_policy(policy_copy.folder)
    changes = [(c.kind, c.subject, c.detail) for c in diff_policies(base, changed).changes]
    assert ("condition_changed", "warranty-void-abroad", "") in changes
    assert ("outcome_changed", "retailer-referral", "output `eligibility`") in changes
    assert "outcome changed: retailer-referral output `eligibility`: refer_to_retailer → not_eligible" in \
        diff_to_text(diff_policies(base, changed)).splitlines()
    assert not any(subject == "warranty-void-after-refund" for _, subject, _ in changes)  # brackets change nothing


def test_impact_of_the_draft_reports_changes_and_exits_1():
    result = run("impact", "aqara-returns", DRAFT, "--cases", CORPUS)
    assert result.exit_code == 1
    first = result.output.splitlines()[0]
    assert first.startswith("impact of aqara-returns → ") and first.endswith("cases change") and " of 300 " in first
    assert "changes per output: eligibility " in result.output
    # The corpus gives only the base policy's facts: for a German return after the 14 days, whether
    # the withdrawal information was given (CRD Art. 10) is open today; in the draft's 45 days the
    # money-back refund is offered either way.
    assert ("  case-0013: remedies: undetermined → [full_refund, repair, replacement]  "
            "(by undetermined → quality-return-in-window, eu-legal-guarantee)") in result.output.splitlines()


def test_impact_json_counts_per_output():
    result = run("impact", "aqara-returns", DRAFT, "--cases", CORPUS, "--format", "json")
    document = json.loads(result.output)
    assert document["cases"] == 300 and document["changed_cases"] > 0
    assert sum(document["changes_per_output"].values()) == len(document["changes"])
    change = document["changes"][0]
    assert set(change) == {"case", "output", "before", "after", "status_before", "status_after", "decided_by_before",
                           "decided_by_after"}


def test_impact_without_change_exits_0():
    result = run("impact", "aqara-returns", "aqara-returns", "--cases", CORPUS)
    assert result.exit_code == 0 and "0 of 300 cases change" in result.output


def test_impact_on_a_folder_of_case_files():
    result = run("impact", "aqara-returns", "aqara-returns:eu", "--cases", str(REPO / "examples" / "cases"), "--format", "json")
    document = json.loads(result.output)
    assert result.exit_code == 1
    # Under EU law the US return of day 10 is a withdrawal: the outbound shipping is refunded, the
    # packaging is no condition, and the refund has a deadline (not fixed before the goods are back).
    assert [(c["case"], c["output"]) for c in document["changes"]] == [
        ("return-day-10", "refund_amount"), ("return-day-10", "return_requirements"), ("return-day-10", "refund_due_by")]
    assert document["changes"][2]["status_before"] == "default" and document["changes"][2]["after"] is None


def test_impact_refuses_a_bad_corpus_line(tmp_path):
    corpus = tmp_path / "cases.jsonl"
    corpus.write_text('{"id": "a", "facts": {"request": "return"}}\n{"id": "b", "facts": {"request": "retrun"}}\nnot json\n',
                      encoding="utf-8")
    result = run("impact", "aqara-returns", DRAFT, "--cases", str(corpus))
    assert result.exit_code == 3
    assert ":2:" in result.stderr and "`retrun` is not one of" in result.stderr
    assert ":3:1: invalid JSON" in result.stderr


def test_diff_between_two_dated_versions_of_a_variant():
    result = run("diff", "aqara-returns:eu@2026-07-30", "aqara-returns:eu@2026-07-31")
    lines = result.output.splitlines()
    assert lines[0].startswith(f"--- aqara-returns {AQARA_VERSION} → eu 2.0.2")
    assert lines[1].startswith(f"+++ aqara-returns {AQARA_VERSION} → eu 2.1.2")
    assert lines[2] == "parameter added: repair_extension_months = 12"
    assert lines[3] == ("derived value changed: liability_end: legal_guarantee_end → add_months(legal_guarantee_end, "
                        "repair_extension_months) if preferred_remedy == 'repair' else legal_guarantee_end")
    assert lines[4] == ("citation changed: eu-legal-guarantee: Directive (EU) 2019/771, Art. 10(1), 13(2), 14(1) → "
                        "Directive (EU) 2019/771, Art. 10(1), 10(2a), 13(2), 14(1)")
    assert len(lines) == 5
    wrong = run("diff", "aqara-returns:eu@2020-01-01", "aqara-returns:eu")
    assert wrong.exit_code == 2 and "no version of `eu` is in force on 2020-01-01" in wrong.stderr


def test_diff_finds_changed_facts_outputs_and_clause_order(policy_copy):
    policy_copy.replace("    values: [return, warranty_claim, cancel_order, modify_order]",
                        "    values: [return, warranty_claim, cancel_order, modify_order, exchange]")
    policy_copy.replace("  refund_amount:\n    type: money\n    nullable: true\n    default: null",
                        "  refund_amount:\n    type: money\n    nullable: true\n    default: 0")
    text = policy_copy.text
    first = text.index("  - id: procedure-return-address")
    second = text.index("  - id: procedure-tracking-number")
    third = text.index("  - id: procedure-refund-after-inspection")
    policy_copy.file.write_text(text[:first] + text[second:third] + text[first:second] + text[third:], encoding="utf-8")
    base = engine.require_policy(REPO / "policies" / "aqara-returns")
    result = diff_policies(base, engine.require_policy(policy_copy.folder))
    changes = {(c.kind, c.subject, c.detail) for c in result.changes}
    assert ("fact_changed", "request", "`values`") in changes
    assert ("output_changed", "refund_amount", "`default`") in changes
    lines = diff_to_text(result).splitlines()
    assert ("fact changed: request `values`: [return, warranty_claim, cancel_order, modify_order] → "
            "[return, warranty_claim, cancel_order, modify_order, exchange]") in lines
    assert "output changed: refund_amount `default`: null → 0.00" in lines  # an amount, with its cents
    assert ("clause_moved", "procedure-tracking-number", "list outputs collect items in clause order") in changes


def test_impact_refuses_an_empty_corpus_and_a_corpus_nobody_can_decide(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run("impact", "aqara-returns", DRAFT, "--cases", str(tmp_path / "empty"))
    assert result.exit_code == 3 and "no cases found" in result.stderr
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n\n", encoding="utf-8")
    assert run("impact", "aqara-returns", DRAFT, "--cases", str(blank)).exit_code == 3
    old = tmp_path / "old.jsonl"
    old.write_text('{"id": "x", "facts": {"request": "return", "order_placed_at": "2023-01-01T10:00:00Z"}}\n', encoding="utf-8")
    result = run("impact", "aqara-returns", DRAFT, "--cases", str(old))
    assert result.exit_code == 3 and "1 case(s) could not be decided under either policy" in result.stderr
    contradictory = tmp_path / "contradictory.jsonl"  # a request 28 days before its order: refused by both
    contradictory.write_text('{"id": "y", "facts": {"request": "return", "order_placed_at": "2026-03-01T10:00:00Z", '
                             '"request_at": "2026-02-01T10:00:00Z"}}\n', encoding="utf-8")
    result = run("impact", "aqara-returns", DRAFT, "--cases", str(contradictory))
    assert result.exit_code == 3 and ("1 case(s) could not be decided under either policy (no version in force on their "
                                      "date, or facts that break a constraint): y") in " ".join(result.stderr.split())
    dated = run("impact", "aqara-returns@2023-01-01", "aqara-returns", "--cases", CORPUS)
    assert dated.exit_code == 2 and "no version of `aqara-returns` is in force on 2023-01-01" in dated.stderr


def test_impact_shows_the_status_of_undetermined_outputs(tmp_path):
    from conftest import BASE_FACTS

    facts = {k: v for k, v in BASE_FACTS.items() if k != "reason_category"}
    facts["request_at"] = "2026-04-10T09:30:00Z"  # day 40: open today without the reason, inside the draft's 45 days
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"id": "no-reason", "facts": facts}) + "\n", encoding="utf-8")
    document = json.loads(run("impact", "aqara-returns", DRAFT, "--cases", str(corpus), "--format", "json").output)
    [change] = [c for c in document["changes"] if c["output"] == "eligibility"]
    assert change["status_before"] == "undetermined" and change["before"] == "undetermined"
    assert change["status_after"] == "decided" and change["after"] == "eligible"
    text = run("impact", "aqara-returns", DRAFT, "--cases", str(corpus)).output
    assert "no-reason: eligibility: undetermined → eligible  (by undetermined → " in text


def test_the_committed_draft_is_the_generated_one(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_draft", REPO / "examples" / "impact" / "make_draft.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.make(tmp_path / "draft")
    committed = REPO / "examples" / "impact" / "draft-thresholds"
    generated = {p.relative_to(tmp_path / "draft"): p.read_bytes() for p in (tmp_path / "draft").rglob("*") if p.is_file()}
    assert {p.relative_to(committed): p.read_bytes() for p in committed.rglob("*") if p.is_file()} == generated, \
        "run examples/impact/make_draft.py after changing the policy"


def test_impact_refuses_repeated_case_ids(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": "a", "facts": {"request": "return"}}\n{"id": "a", "facts": {"request": "return"}}\n', encoding="utf-8")
    result = run("impact", "aqara-returns", DRAFT, "--cases", str(corpus))
    assert result.exit_code == 3 and "case ids used more than once" in result.stderr


def test_diff_reports_the_changed_source_text_sentence_by_sentence_and_the_changed_quotes(tmp_path):
    from small_policies import LIBRARY_POLICY, LIBRARY_SOURCE, write_library

    write_library(tmp_path / "before")
    source = (LIBRARY_SOURCE.replace("$2.00/day late", "$2.50/day late")
              .replace("Fines are counted per day late.\n", "")
              + "Fines over $20.00 are sent to collection.\n")
    policy = (LIBRARY_POLICY.replace("version: 1.0.0", "version: 1.1.0").replace("value: 2.0", "value: 2.5")
              .replace("quote: $2.00/day}", "quote: $2.50/day}").replace("Books are fined $2.00/day late.", "Books are fined $2.50/day late.")
              .replace("    source: {{section: Fines, quote: Fines are counted per day late.}}\n", "")
              .replace("  - {{quote: Library fines., reason: the title}}",
                       "  - {{quote: Library fines., reason: the title}}\n  - {{quote: Fines over $20.00 are sent to collection., reason: not decided here}}"))
    write_library(tmp_path / "after", source, policy)
    result = run("diff", str(tmp_path / "before"), str(tmp_path / "after"))
    assert result.exit_code == 0, result.output
    old_sha = hashlib.sha256(LIBRARY_SOURCE.encode()).hexdigest()[:16]
    new_sha = hashlib.sha256(source.encode()).hexdigest()[:16]
    assert result.output.splitlines()[2:] == [
        "parameter changed: book_daily_fine: 2.0 → 2.5",
        "quote changed: parameter book_daily_fine: § Fines: “$2.00/day” → § Fines: “$2.50/day”",
        "quote changed: derived value fine_due: § Fines: “Fines are counted per day late.” → nothing",
        "quote changed: clause late-fine: § Fines: “Books are fined $2.00/day late.” → § Fines: “Books are fined $2.50/day late.”",
        f"source text changed: source.txt: sha256 {old_sha} → {new_sha}",
        "  sentence changed (line 2 → line 2): “Books are fined $2.00/day late.” → “Books are fined $2.50/day late.”",
        "  sentence removed (line 3 of the old text): “Fines are counted per day late.”",
        "  sentence added (line 5 of the new text): “Fines over $20.00 are sent to collection.”",
    ]
    readme = (REPO / "README.md").read_text(encoding="utf-8").split("its book rate raised):\n\n```text\n")[1].split("```")[0]
    assert readme.splitlines() == result.output.splitlines()[-4:], "the README shows this diff"
    document = json.loads(run("diff", str(tmp_path / "before"), str(tmp_path / "after"), "--format", "json").output)
    assert document["summary"] == {"parameter_changed": 1, "quote_changed": 3, "source_changed": 1, "sentence_changed": 1,
                                   "sentence_removed": 1, "sentence_added": 1}
    assert {"kind": "sentence_removed", "subject": "line 3", "before": "Fines are counted per day late.", "after": None,
            "detail": "line 3 of the old text"} in document["changes"]
    [changed] = [c for c in document["changes"] if c["kind"] == "source_changed"]
    assert changed == {"kind": "source_changed", "subject": "source.txt", "before": hashlib.sha256(LIBRARY_SOURCE.encode()).hexdigest(),
                       "after": hashlib.sha256(source.encode()).hexdigest()}


def test_without_both_texts_diff_compares_the_source_by_its_hash_only(tmp_path):
    from small_policies import LIBRARY_POLICY, LIBRARY_SOURCE, write_library

    before = engine.require_policy(write_library(tmp_path / "before"))
    after = engine.require_policy(write_library(tmp_path / "after", LIBRARY_SOURCE + "Be kind.\n",
                                                LIBRARY_POLICY.replace("reason: the title}}", "reason: the title}}\n  - {{quote: Be kind., reason: advice}}")))
    lines = diff_to_text(diff_policies(before, after, LIBRARY_SOURCE, None)).splitlines()
    assert lines[2:] == [f"source text changed: source.txt: sha256 {before.identity.source_sha256[:16]} → "
                         f"{after.identity.source_sha256[:16]}  (the two texts were not both available: sentences not compared)"]
    assert diff_to_text(diff_policies(before, after, LIBRARY_SOURCE, LIBRARY_SOURCE + "Be kind.\n")).splitlines()[3:] == [
        "  sentence added (line 6 of the new text): “Be kind.”"]


def test_diff_shows_amounts_of_money_with_their_cents(tiny_policy):
    facts = "f: {type: bool, description: Fact f.}"
    outputs = ("fee: {type: money, default: 0, description: The fee.}\n"
               "fee_cap: {type: money, nullable: true, default: null, description: The cap.}")
    before, problems = tiny_policy(facts, outputs, tiny_clause("c1", "f", "{fee: 10}"))
    assert problems == []
    after, problems = tiny_policy(facts, outputs.replace("default: 0,", "default: 1.5,"), tiny_clause("c1", "f", "{fee: 12.5}"))
    assert problems == []
    result = diff_policies(before, after)
    lines = diff_to_text(result).splitlines()
    assert "output changed: fee `default`: 0.00 → 1.50" in lines
    assert any(line.startswith("outcome changed: c1") and "10.00 → 12.50" in line for line in lines), lines
    text = jsontext.dumps(result.to_dict())
    assert '"kind": "output_changed", "subject": "fee", "before": 0.00, "after": 1.50' in text  # amounts, as numbers
    assert '"kind": "outcome_changed", "subject": "c1", "before": "10.00", "after": "12.50"' in text  # outcomes are text


def test_impact_streams_a_corpus_over_the_old_cap_on_workers_as_in_process(tmp_path):
    # 2,000 cases of 2.7 KB (5.4 MB, over the 5 MiB a file may have elsewhere), on two workers.
    lines = (REPO / "examples" / "impact" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    corpus = tmp_path / "big.jsonl"
    with open(corpus, "w", encoding="utf-8") as out:
        for number in range(2000):
            case = json.loads(lines[number % len(lines)])
            case["id"], case["description"] = f"case-{number}", "padding " * 330
            out.write(json.dumps(case) + "\n")
    assert corpus.stat().st_size > 5 * 1024 * 1024
    one = run("impact", "aqara-returns", DRAFT, "--cases", str(corpus), "--format", "json", "--jobs", "1")
    two = run("impact", "aqara-returns", DRAFT, "--cases", str(corpus), "--format", "json", "--jobs", "2")
    assert one.exit_code == two.exit_code == 1 and one.stdout == two.stdout
    document = json.loads(one.stdout)
    assert document["cases"] == 2000 and document["changed_cases"] > 100


def test_impact_takes_a_decision_log_as_its_corpus(tmp_path):
    log = tmp_path / "decisions.jsonl"
    cases = sorted((REPO / "examples" / "cases").glob("*.yaml"))
    for case in cases:
        assert run("eval", str(case), "--log", str(log), "--trace", "none").exit_code == 0
    from_log = json.loads(run("impact", "aqara-returns", DRAFT, "--cases", str(log), "--format", "json").stdout)
    from_files = json.loads(run("impact", "aqara-returns", DRAFT, "--cases", str(REPO / "examples" / "cases"),
                                "--format", "json").stdout)
    assert from_log == from_files and from_log["cases"] == len(cases)


def test_impact_logs_each_case_under_a_then_under_b(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(line + "\n" for line in (REPO / "examples" / "impact" / "corpus.jsonl")
                              .read_text(encoding="utf-8").splitlines()[:3]), encoding="utf-8")
    log = tmp_path / "impact.log"
    result = run("impact", "aqara-returns", DRAFT, "--cases", str(corpus), "--log", str(log))
    assert result.exit_code in (0, 1)
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [(r["decision"]["case"]["id"], r["decision"]["policy"]["version"]) for r in records] == [
        (case_id, version) for case_id in ("case-0000", "case-0001", "case-0002") for version in (AQARA_VERSION, "1.3.0")]
    verified = CliRunner().invoke(cli.cli, ["log", "verify", str(log)])
    assert verified.exit_code == 0, verified.output


def test_a_corpus_line_with_a_number_python_will_not_read_is_reported_and_the_rest_compared(tmp_path):
    corpus = tmp_path / "c.jsonl"
    lines = (REPO / "examples" / "impact" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[:2]
    corpus.write_text(lines[0] + "\n" + '{"facts": {"units_of_product": ' + "9" * 5000 + "}}\n" + lines[1] + "\n",
                      encoding="utf-8")
    result = run("impact", "aqara-returns", DRAFT, "--cases", str(corpus), "--format", "json")
    assert result.exit_code == 3, result.output
    assert "c.jsonl:2:0: a number of over 4300 digits is beyond the limit of 1e+12" in result.stderr
    assert json.loads(result.stdout)["cases"] == 2

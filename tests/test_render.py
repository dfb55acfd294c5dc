"""Renderers, on a tiny policy: golden text, and JSON that follows the decision schema."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jsonschema
import pytest

import engine
from engine.report import decision_blocks, to_markdown
from small_policies import write_library

SOURCE = "Shipping.\nMembers ship free. Orders over 50 ship free. Others pay 5.\n"

POLICY = """\
policy:
  id: tiny-shipping
  version: 1.2.3
  effective_from: "2026-01-01"
  title: Tiny shipping policy
  source: {{file: source.txt, sha256: {sha}}}
facts:
  member: {{type: bool, description: The customer is a member.}}
  total: {{type: number, minimum: 0, description: Order total.}}
parameters:
  free_over: {{value: 50, description: Free shipping above this total., source: {{section: all, quote: over 50}}}}
outputs:
  fee:
    type: number
    default: 5
    description: The shipping fee.
  reason:
    type: list
    values: [member, large_order]
    description: Why shipping is free.
clauses:
  - id: members-free
    title: Members ship free
    source: {{section: all, quote: Members ship free.}}
    when: member
    then: {{fee: 0, reason: [member]}}
  - id: large-orders-free
    title: Large orders ship free
    source: {{section: all, quote: Orders over 50 ship free.}}
    when: total > free_over
    then: {{fee: 0, reason: [large_order]}}
  - id: others-pay
    title: Others pay
    source: {{section: all, quote: Others pay 5.}}
    when: not member and total <= free_over
    then: {{fee: 5}}
informational:
  - {{quote: Shipping., reason: title}}
"""


@pytest.fixture
def tiny(tmp_path) -> engine.Policy:
    (tmp_path / "source.txt").write_text(SOURCE, encoding="utf-8")
    sha = hashlib.sha256(SOURCE.encode()).hexdigest()
    (tmp_path / "policy.yaml").write_text(POLICY.format(sha=sha), encoding="utf-8")
    return engine.require_policy(tmp_path)


def decide(policy, **facts):
    return engine.decide(policy, engine.case_from_facts(policy, facts, "c1"))


GOLDEN_TRACE = """\
TRACE (clauses in evaluation order)
  parameter free_over = 50
      § all (line 2): “over 50”
  [1] members-free: applied
      § all (line 2): “Members ship free.”
      when   member
        1. member → true  (policy.yaml:25:11)
           read member = true  (fact)
      result true
  [2] large-orders-free: undecided because total is missing
      § all (line 2): “Orders over 50 ship free.”
      when   total > free_over
        1. total > free_over → unknown  (policy.yaml:30:11)
           read total = unknown (missing: total)  (fact)
           read free_over = 50  (parameter)
      result unknown
  [3] others-pay: not applicable
      § all (line 2): “Others pay 5.”
      when   not member and total <= free_over
        1. not member → false  (policy.yaml:35:11)
           read member = true  (fact)
      result false
"""


def test_golden_text_trace(tiny):
    text = engine.decision_to_text(decide(tiny, member=True))
    assert text.startswith("DECISION  fee = 0\ncase      c1  facts sha256 ")
    assert "  fee     0\n  reason  (undetermined: needs total)" in text.replace("null  (undetermined", "(undetermined")
    assert text.endswith(GOLDEN_TRACE)


def decision_to_markdown(decision, policy) -> str:
    return to_markdown(decision_blocks(decision, policy))


def test_values_read_the_same_in_every_renderer(tiny):
    both = decide(tiny, member=True, total=60)
    neither = decide(tiny, member=False, total=10)
    assert "  reason  [member, large_order]\n" in engine.decision_to_text(both)
    assert "  reason  []  (default)\n" in engine.decision_to_text(neither)
    assert "because member = false; total = 10; free_over = 50" in engine.decision_to_text(neither)
    # Brackets escaped, as every value in Markdown (they could make a link): a viewer shows [member, large_order].
    assert "| reason | \\[member, large_order\\] | decided |" in decision_to_markdown(both, tiny)
    assert "| reason | \\[\\] | default |" in decision_to_markdown(neither, tiny)
    assert "then   reason = [member]" in engine.clause_to_text(tiny.clause("members-free"), tiny)


def test_known_clauses_decide_even_when_another_is_unknown(tiny):
    decision = decide(tiny, member=True)
    assert decision.outputs["fee"].value == 0  # both free-shipping clauses give 0: the unknown one cannot change it
    assert decision.outputs["reason"].status == "undetermined"
    assert decision.missing_facts == ("total",)


def test_json_follows_the_decision_schema(tiny):
    schema = json.loads((Path(engine.BUNDLED_POLICIES).parent / "schemas" / "decision.schema.json").read_text(encoding="utf-8"))
    for facts in ({"member": True}, {"member": False, "total": 10}, {}):
        document = engine.decision_to_dict(decide(tiny, **facts))
        jsonschema.Draft202012Validator(schema).validate(document)
    document = engine.decision_to_dict(decide(tiny, member=False, total=10))
    assert document["outputs"] == {"fee": 5, "reason": []}
    assert document["decided_by"]["fee"] == {"status": "decided", "clauses": ["others-pay"], "missing_facts": []}
    assert document["policy"]["version"] == "1.2.3"
    [others] = [c for c in document["trace"]["clauses"] if c["id"] == "others-pay"]
    assert others["reads"] == [{"name": "member", "kind": "fact", "value": False},
                               {"name": "total", "kind": "fact", "value": 10},
                               {"name": "free_over", "kind": "parameter", "value": 50,
                                "source": {"section": "all", "quotes": [{"text": "over 50", "line": 2, "column": 27}]}}]
    assert others["source"]["quotes"] == [{"text": "Others pay 5.", "line": 2, "column": 46}]


def test_default_when_nothing_applies(tiny):
    document = engine.decision_to_dict(decide(tiny))
    assert document["outputs"]["fee"] is None
    assert document["missing_facts"] == ["member", "total"]


def test_show_clause_text(tiny):
    text = engine.clause_to_text(tiny.clause("others-pay"), tiny)
    assert text.splitlines()[0] == "others-pay: Others pay"
    assert "when   not member and total <= free_over" in text and "then   fee = 5" in text


# -- the case's facts, undetermined outputs, and the text behind parameters and derived values -------


def test_text_lists_the_facts_given_absent_and_defaulted(tiny, tmp_path):
    text = engine.decision_to_text(decide(tiny, member=True))
    assert "\nFACTS\n  member  true\n  total   (absent)\n\nREASONS\n" in text
    library = engine.require_policy(write_library(tmp_path / "library"))
    decision = engine.decide(library, engine.case_from_facts(library, RENEW_LATE, "renew-late"))
    facts = engine.decision_to_text(decision).split("\nFACTS\n")[1].split("\n\n")[0]
    assert facts.splitlines() == [
        "  request     renew",
        "  item_kind   book",
        "  days_late   3",
        "  renewals    2",
        "  first_fine  true",
        "  branch      main  (default: the case does not give it)",
    ]


def test_text_says_which_clauses_the_missing_facts_would_decide(tiny):
    text = engine.decision_to_text(decide(tiny, member=True), trace="none")
    assert text.endswith(
        "  reason is undetermined: the case does not give total\n"
        "    large-orders-free would set reason = [large_order] if it applies; it needs total\n")


RENEW_LATE = {"request": "renew", "item_kind": "book", "days_late": 3, "renewals": 2, "first_fine": True}


@pytest.fixture
def library(tmp_path) -> engine.Policy:
    return engine.require_policy(write_library(tmp_path / "library"))


def test_the_reasons_show_the_quoted_rate_behind_a_fine(library):
    decision = engine.decide(library, engine.case_from_facts(library, RENEW_LATE, "renew-late"))
    text = engine.decision_to_text(decision)
    reasons = text.split("\nREASONS\n")[1].split("\n\nTRACE")[0]
    assert reasons.splitlines() == [
        "  late-fine: Late items are fined per day",
        "    decided fine",
        "    § Fines (line 2): “Books are fined $2.00/day late.”",
        "    § Fines (line 2): “DVDs are fined $1.00/day late.”",
        "    because days_late = 3",
        "    computed from fine_due = 6.0",
        "    where fine_due = 6.0  <- days_late * daily_fine  § Fines (line 3): “Fines are counted per day",
        "            late.”",
        "          daily_fine = 2.0  <- book_daily_fine if item_kind == 'book' else dvd_daily_fine",
        "          book_daily_fine = 2.0  § Fines (line 2): “$2.00/day”",
    ]
    trace = text.split("TRACE (clauses in evaluation order)\n")[1]
    assert trace.startswith(
        "  parameter book_daily_fine = 2.0\n"
        "      § Fines (line 2): “$2.00/day”\n"
        "  parameter max_renewals = 2\n"
        "      § Renewals (line 4): “renewed twice”\n"
        "  derived daily_fine = 2.0    <- book_daily_fine if item_kind == 'book' else dvd_daily_fine\n"
        "  derived fine_due = 6.0    <- days_late * daily_fine\n"
        "      § Fines (line 3): “Fines are counted per day late.”\n"
        "  [1] late-fine: applied\n")


def test_json_reads_carry_the_quotes_of_parameters_and_derived_values(library):
    schema = json.loads((Path(engine.BUNDLED_POLICIES).parent / "schemas" / "decision.schema.json").read_text(encoding="utf-8"))
    decision = engine.decide(library, engine.case_from_facts(library, RENEW_LATE, "renew-late"))
    document = engine.decision_to_dict(decision)
    jsonschema.Draft202012Validator(schema).validate(document)
    fines = {"section": "Fines", "quotes": [{"text": "Fines are counted per day late.", "line": 3, "column": 1}]}
    [late] = [c for c in document["trace"]["clauses"] if c["id"] == "late-fine"]
    assert late["value_reads"] == [{"name": "fine_due", "kind": "derived", "value": 6.0, "source": fines}]
    derived = {d["name"]: d for d in document["trace"]["derived"]}
    assert derived["fine_due"]["source"] == fines
    assert derived["fine_due"]["interpretation"] == "Every day after the due date counts, the return day included."
    assert "source" not in derived["daily_fine"] and "interpretation" not in derived["daily_fine"]
    assert derived["daily_fine"]["reads"][1] == {
        "name": "book_daily_fine", "kind": "parameter", "value": 2.0,
        "source": {"section": "Fines", "quotes": [{"text": "$2.00/day", "line": 2, "column": 17}]}}
    [renewal] = [c for c in document["trace"]["clauses"] if c["id"] == "renewal"]
    assert renewal["parts"][1]["reads"][1]["source"]["quotes"][0]["text"] == "renewed twice"
    # The same decision gives the same bytes, and the summary trace keeps the quotes of what it shows.
    assert engine.decision_to_json(decision) == engine.decision_to_json(decision)
    summary = engine.decision_to_dict(decision, "summary")
    jsonschema.Draft202012Validator(schema).validate(summary)
    assert summary["trace"]["clauses"][0]["value_reads"][0]["source"] == fines


def test_a_parameter_read_cites_its_law_or_its_origin():
    policy_set = engine.require_policy_set(Path(engine.BUNDLED_POLICIES) / "aqara-returns")
    eu = policy_set.variants["eu"]
    read = engine.decision_to_dict(engine.decide(eu, engine.case_from_facts(eu, EU_FACTS, "eu")))
    # The EU variant reads the withdrawal period through a derived value (the period's end).
    reads = [r for entry in read["trace"]["clauses"] + read["trace"]["derived"] for r in entry["reads"]]
    [withdrawal] = {r["name"]: r for r in reads if r["name"] == "withdrawal_days"}.values()
    assert withdrawal["legal"]["act"] == "Directive 2011/83/EU" and withdrawal["legal"]["article"] == "Art. 9(1)"
    assert "source" not in withdrawal and "origin" not in withdrawal
    base = policy_set.base
    decision = engine.decide(base, engine.case_from_facts(base, {**EU_FACTS, "reason_category": "quality"}, "q"))
    months = [r for d in engine.decision_to_dict(decision)["trace"]["derived"] for r in d["reads"]
              if r["name"] == "warranty_months"]
    assert months and months[0]["origin"].startswith("Aqara's separate warranty policy")


EU_FACTS = {"request": "return", "sales_channel": "aqara_online_store", "country_of_purchase": "DE",
            "product_location_country": "DE", "order_placed_at": "2026-03-01T10:00:00Z", "request_at": "2026-03-20T09:30:00Z",
            "shipped_at": "2026-03-02T08:00:00Z", "delivered_at": "2026-03-05T15:00:00Z", "tracking_number_issued": True,
            "units_of_product": 1, "corporate_purchase": False, "reason_category": "non_quality", "product_damaged": False,
            "all_accessories_included": True, "promotional_gifts_included": True, "original_packaging_included": True,
            "product_price": 59.99, "shipping_paid": 4.99, "replaceable": True, "previously_fully_refunded": False,
            "is_replacement_unit": False, "courier_refusal": "not_attempted"}


# -- --brief, and `make demo` on one screen ------------------------------------------------------


def test_make_demo_fits_on_one_screen_with_the_decision_its_reasons_and_how_to_see_the_trace():
    import shlex

    from click.testing import CliRunner

    import cli

    repo = Path(engine.BUNDLED_POLICIES).parent
    makefile = (repo / "Makefile").read_text(encoding="utf-8").split("\ndemo: setup\n")[1]
    command = shlex.split(makefile.splitlines()[0].strip())
    assert command[0] == "$(BIN)/verdict"
    result = CliRunner().invoke(cli.cli, [a.replace("examples/", str(repo / "examples") + "/") for a in command[1:]])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) + 1 <= 40  # and make's echo of the command
    assert lines[0] == "DECISION  eligibility = eligible"
    assert lines[-1] == ("The case's facts and the full trace: the same command without --brief; why not better: "
                         "--explain")
    reasons = lines[lines.index("REASONS") + 1:-2]
    assert reasons[:2] == [
        "  money-back-guarantee  decided eligibility, remedies, refund_amount",
        "    “Undamaged products can be returned for a full refund, regardless of the reason, wit…” (line 15)"]
    assert reasons[10:12] == ["    these 5 because money_back_request = true; reason_category = non_quality;",
                              "    days_since_purchase = 10; money_back_days = 30; product_damaged = false"]
    assert reasons[-1] == "    because request = return; eligibility = eligible; refund_amount = 59.99"
    assert all(len(line) <= 100 for line in reasons)


def test_brief_is_text_only(tiny):
    from click.testing import CliRunner

    import cli

    result = CliRunner().invoke(cli.cli, ["eval", "--fact", "request=return", "--brief", "--format", "json"])
    assert result.exit_code == 2 and "--brief is a short text: it goes with neither --format json" in result.output
    text = engine.render.decision_to_brief_text(decide(tiny, member=True))
    assert text.splitlines()[-5:] == [
        "REASONS",
        "  members-free  decided fee",
        "    “Members ship free.” (line 2)",
        "    because member = true",
        "  reason is undetermined: the case does not give total",
    ]
